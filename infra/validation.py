"""Turning files into validated models, with every problem located in its file.

`load_platform` and `load_request` raise `DocumentInvalid` carrying all the problems
of a file at once: shape errors from pydantic, then the rules that span fields, files
and the platform config. Messages name the field and say what to write instead.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from infra.clouds import unsupported_fields
from infra.model.coltypes import BIGQUERY_PARTITION_TYPES, check_type, is_primitive
from infra.model.document import Document, FieldPath, format_path, parse_document, read_document
from infra.model.errors import (
    DocumentInvalid,
    MeshError,
    PlatformConfigNotFound,
    Problem,
    Severity,
    UnknownEnvironment,
)
from infra.model.platform import PLATFORM_FILE, PlatformConfig, find_platform_file
from infra.model.request import (
    API_VERSION,
    KIND,
    PATTERN_HELP,
    Classification,
    Cloud,
    Column,
    Consumer,
    DataProductRequest,
    DomainName,
    Email,
    InputPort,
    OutputPort,
    ProductName,
    TransformCompute,
)
from infra.model.schedule import parse_schedule
from infra.model.spec import Ephemeral, ProductSpec, resolve


@dataclass
class LoadedPlatform:
    """A valid platform config and where it came from."""

    config: PlatformConfig
    document: Document
    path: Path


@dataclass
class LoadedRequest:
    """A valid request, its source, and any warnings (which never block)."""

    request: DataProductRequest
    document: Document
    path: Path
    warnings: list[Problem] = field(default_factory=list)


def _aliases(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    # `seen`: models such as ODCS's schema properties contain themselves.
    seen = set() if seen is None else seen
    seen.add(model)
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(info.alias or name)
        for arg in _model_args(info.annotation):
            if arg not in seen:
                names |= _aliases(arg, seen)
    return names


def _model_args(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()):
        found += _model_args(arg)
    return found


def _suggestion(word: str, vocabulary: set[str] | list[str]) -> str:
    close = difflib.get_close_matches(word, sorted(vocabulary), n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""


def _message(error: Any, vocabulary: set[str]) -> str:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return f"required field '{error['loc'][-1]}' is missing"
    if kind == "extra_forbidden":
        return f"unknown field '{error['loc'][-1]}'{_suggestion(str(error['loc'][-1]), vocabulary)}"
    if kind == "string_pattern_mismatch":
        meaning = PATTERN_HELP.get(ctx.get("pattern", ""), f"match {ctx.get('pattern')}")
        return f"'{value}' is not valid: use {meaning}"
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", ""))
        choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",") if c.strip(" '")]
        hint = _suggestion(str(value), choices) if isinstance(value, str) else ""
        return f"'{value}' is not allowed: use {expected}{hint}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "model_type":
        # pydantic names the model class ("instance of Metadata"), which users never see.
        what = "a list" if isinstance(value, list) else repr(value)
        return f"expected a mapping of fields (key: value lines), got {what}"
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        # YAML reads 111122223333 or 1.0 as a number (and 000000000000 as 0).
        return f"{error['msg']} (got {value!r}) — put the value in quotes so YAML keeps it as text"
    if isinstance(value, (dict, list)):
        return str(error["msg"])
    return f"{error['msg']} (got {value!r})"


def problems_from_pydantic(e: ValidationError, doc: Document, model: type[BaseModel]) -> list[Problem]:
    """One located problem per pydantic error, in file order."""
    vocabulary = _aliases(model)
    problems = []
    for error in e.errors():
        loc = tuple(error["loc"])
        on_key = error["type"] == "extra_forbidden" or (loc and loc[-1] == "[key]")
        path: FieldPath = tuple(p for p in loc if p != "[key]")
        if error["type"] == "missing":
            # A missing field has no position of its own: point at the mapping it belongs in.
            at_parent = doc.problem(path[:-1], _message(error, vocabulary))
            problems.append(replace(at_parent, path=format_path(path)))
            continue
        problems.append(doc.problem(path, _message(error, vocabulary), key=bool(on_key)))
    return sorted(problems, key=lambda p: (p.line, p.column))


def _check_header(doc: Document, kind: str) -> list[Problem]:
    problems = []
    version = doc.data.get("apiVersion")
    if version != API_VERSION:
        what = "missing" if version is None else f"'{version}' is not supported"
        problems.append(doc.problem(("apiVersion",), f"apiVersion {what} — use '{API_VERSION}'"))
    found = doc.data.get("kind")
    if found != kind:
        what = "missing" if found is None else f"'{found}'"
        extra = ""
        if found == "Platform":
            extra = " (this is a platform config; pass it with --platform)"
        elif found == KIND:
            extra = " (this is a data product request, not the platform config)"
        problems.append(doc.problem(("kind",), f"kind {what} — expected '{kind}'{extra}"))
    return problems


def load_platform(path: Path) -> LoadedPlatform:
    """Read and validate `mesh.yaml`."""
    doc = read_document(path)
    problems = _check_header(doc, "Platform")
    if problems:
        raise DocumentInvalid(problems)
    try:
        config = PlatformConfig.model_validate(doc.data, by_name=False)
    except ValidationError as e:
        raise DocumentInvalid(problems_from_pydantic(e, doc, PlatformConfig)) from e
    problems = _disabled_guardrail_rules(config, doc) + _backend_rules(config, doc, path.parent)
    if problems:
        raise DocumentInvalid(problems)
    return LoadedPlatform(config=config, document=doc, path=path)


def _disabled_guardrail_rules(config: PlatformConfig, doc: Document) -> list[Problem]:
    """Each id in `guardrails.disabled` and `environments.<env>.disabledGuardrails` must name an
    advisory rule: an unknown id (a typo would silently keep nothing off) and a mandatory
    one (which can never be disabled) are located errors."""
    lists: list[tuple[FieldPath, list[str]]] = [(("guardrails", "disabled"), config.guardrails.disabled)]
    lists += [
        (("environments", name, "disabledGuardrails"), env.disabled_guardrails)
        for name, env in config.environments.items()
    ]
    if not any(ids for _, ids in lists):
        return []  # the rule modules are imported only when there is an id to check
    from infra.guardrails import check_disabled  # noqa: PLC0415 - only a disable list needs the rules

    return [
        doc.problem((*where, i), message)
        for where, ids in lists
        for i, rule_id in enumerate(ids)
        for message in check_disabled([rule_id])
    ]


def _backend_rules(config: PlatformConfig, doc: Document, root: Path) -> list[Problem]:
    """A relative `file://` backend stays inside the repository that holds mesh.yaml.

    An absolute (or `~`) path is the platform team's explicit choice and is kept as written.
    """
    problems = []
    for name, env in config.environments.items():
        rest = env.backend.removeprefix("file://")
        if not env.backend.startswith("file://") or not rest or rest.startswith(("/", "~")):
            continue
        if not _inside((root / rest).resolve(), root.resolve()):
            problems.append(
                doc.problem(
                    ("environments", name, "backend"),
                    f"'{env.backend}' leaves the folder of {PLATFORM_FILE} ({root.resolve()}); a relative "
                    "state folder must stay inside it — write an absolute path to keep state elsewhere",
                )
            )
    return problems


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def require_environment(config: PlatformConfig, environment: str, *, source: Path | str) -> None:
    """Raise `UnknownEnvironment` unless `config` (read from `source`) defines `environment`."""
    if environment not in config.environments:
        raise UnknownEnvironment(
            f"environment '{environment}' is not defined in {source}",
            hint=f"Use one of: {', '.join(sorted(config.environments))}.",
        )


def locate_platform(explicit: Path | None, *, near: Path) -> Path:
    """The platform config to use: `--platform` if given, else the nearest `mesh.yaml`."""
    if explicit is not None:
        if not explicit.is_file():
            what = "does not exist"
            if explicit.is_dir():
                what = "is a directory"
            elif explicit.exists():
                what = "is not a regular file (a device, FIFO or socket)"
            raise PlatformConfigNotFound(
                f"--platform {explicit} {what}",
                hint=f"Pass the path of a {PLATFORM_FILE} file, or leave --platform out to use the "
                "nearest one.",
            )
        return explicit
    found = find_platform_file(near)
    if found is None:
        raise PlatformConfigNotFound(
            f"no {PLATFORM_FILE} found in {near if near.is_dir() else near.parent} or any parent folder",
            hint=f"Pass --platform PATH, or create {PLATFORM_FILE} at the root of the repository "
            "that holds requests (see examples/mesh.yaml).",
        )
    return found


# Why these caps: the largest request they allow (5 ports of 1,000 columns, 450 KiB)
# validates in 72 MB and plans in 122 MB into 1.5 MB of JSON (about 300 bytes per
# column); the 100 ports of 1,000 aliased columns that once planned into 22 MB of JSON
# are refused. BigQuery allows 10,000 columns per table; a real product has a few hundred.
# Figures and how they were measured: 'Input limits' in the README.
MAX_PORTS = 50
MAX_COLUMNS_PER_PORT = 1_000
MAX_COLUMNS = 5_000
MAX_CONSUMERS = 100
MAX_INPUT_PORTS = 200


def _size_rules(doc: Document) -> list[Problem]:
    """Problems for a request larger than mesh plans (checked first, so nothing big is validated)."""
    spec = _mapping(doc.data.get("spec"))
    problems = []
    ports = _items(spec.get("outputPorts"))
    if len(ports) > MAX_PORTS:
        problems.append(
            doc.problem(
                ("spec", "outputPorts"), f"{len(ports):,} output ports; a product has at most {MAX_PORTS}"
            )
        )
    total = 0
    for i, raw in ports:
        columns = len(_items(_mapping(raw).get("schema")))
        total += columns
        if columns > MAX_COLUMNS_PER_PORT:
            problems.append(
                doc.problem(
                    ("spec", "outputPorts", i, "schema"),
                    f"{columns:,} columns; a port has at most {MAX_COLUMNS_PER_PORT:,}",
                )
            )
    if total > MAX_COLUMNS:
        problems.append(
            doc.problem(
                ("spec", "outputPorts"),
                f"{total:,} columns over all ports; a product has at most {MAX_COLUMNS:,}",
            )
        )
    consumers = _items(_mapping(spec.get("access")).get("consumers"))
    if len(consumers) > MAX_CONSUMERS:
        problems.append(
            doc.problem(
                ("spec", "access", "consumers"),
                f"{len(consumers):,} consumers; a product has at most {MAX_CONSUMERS}",
            )
        )
    inputs = _items(spec.get("inputPorts"))
    if len(inputs) > MAX_INPUT_PORTS:
        problems.append(
            doc.problem(
                ("spec", "inputPorts"),
                f"{len(inputs):,} input ports; a product has at most {MAX_INPUT_PORTS}",
            )
        )
    return problems


@dataclass
class _Parts:
    """The pieces of a request that are individually valid, so that cross-field rules can
    still run (and report) when some other part of the file is broken."""

    domain: str | None = None
    name: str | None = None
    owner: str | None = None
    cloud: str | None = None
    classification: str | None = None
    ports: list[tuple[int, OutputPort]] = field(default_factory=list)
    port_names: set[str] = field(default_factory=set)
    consumers: list[tuple[int, Consumer]] = field(default_factory=list)
    inputs: list[tuple[int, InputPort]] = field(default_factory=list)
    transform: TransformCompute | None = None


def _valid(annotation: Any, value: Any) -> Any:
    try:
        return TypeAdapter(annotation).validate_python(value, by_name=False)
    except ValidationError:
        return None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[tuple[int, Any]]:
    return list(enumerate(value)) if isinstance(value, list) else []


def _lenient_port(raw: Any) -> OutputPort | None:
    """The port if valid; else its valid columns and partition keys, so their rules still run."""
    port = _valid(OutputPort, raw)
    if port is not None or not isinstance(raw, dict):
        return port
    columns = [c for _, item in _items(raw.get("schema")) if (c := _valid(Column, item)) is not None]
    if len(columns) != len(_items(raw.get("schema"))):
        return None  # positions would no longer match the file
    keys = [k for _, k in _items(raw.get("partitionedBy")) if isinstance(k, str)]
    return OutputPort.model_construct(name=str(raw.get("name")), columns=columns, partitioned_by=keys)


def _parts(data: dict[str, Any]) -> _Parts:
    meta, spec = _mapping(data.get("metadata")), _mapping(data.get("spec"))
    cloud = _valid(Cloud, spec.get("cloud"))
    classification = _valid(Classification, spec.get("classification"))
    raw_ports = _items(spec.get("outputPorts"))
    access = _mapping(spec.get("access"))
    transform = _mapping(_mapping(spec.get("compute")).get("transform"))
    return _Parts(
        domain=_valid(DomainName, meta.get("domain")),
        name=_valid(ProductName, meta.get("name")),
        owner=_valid(Email, meta.get("owner")),
        cloud=str(cloud) if cloud else None,
        classification=str(classification) if classification else None,
        ports=[(i, p) for i, raw in raw_ports if (p := _lenient_port(raw)) is not None],
        port_names={str(_mapping(raw).get("name")) for _, raw in raw_ports},
        consumers=[
            (i, c) for i, raw in _items(access.get("consumers")) if (c := _valid(Consumer, raw)) is not None
        ],
        inputs=[
            (i, x) for i, raw in _items(spec.get("inputPorts")) if (x := _valid(InputPort, raw)) is not None
        ],
        transform=_valid(TransformCompute, transform) if transform else None,
    )


def _port_rules(index: int, port: OutputPort, parts: _Parts, doc: Document) -> list[Problem]:
    problems: list[Problem] = []
    where = ("spec", "outputPorts", index)
    cloud = parts.cloud
    columns = {c.name: c for c in port.columns}
    for name, count in Counter(c.name for c in port.columns).items():
        if count > 1:
            last = max(j for j, c in enumerate(port.columns) if c.name == name)
            problems.append(
                doc.problem(
                    (*where, "schema", last, "name"),
                    f"column '{name}' appears {count} times in port '{port.name}'",
                )
            )
    for j, column in enumerate(port.columns):
        if cloud is not None:
            verdict = check_type(column.type, cloud=cloud)
            if not verdict.ok:
                problems.append(doc.problem((*where, "schema", j, "type"), verdict.message))
        if column.pii and parts.classification == "public":
            problems.append(
                doc.problem(
                    (*where, "schema", j, "pii"),
                    f"column '{column.name}' is personal data, so the product cannot be classified 'public' — use 'internal' or higher, or drop the column",
                )
            )
    for k, key in enumerate(port.partitioned_by):
        at = (*where, "partitionedBy", k)
        if key not in columns:
            problems.append(
                doc.problem(
                    at,
                    f"partition column '{key}' is not in the schema of port '{port.name}'{_suggestion(key, set(columns))}",
                )
            )
            continue
        ctype = columns[key].type
        if cloud is None or not check_type(ctype, cloud=cloud).ok:
            continue
        if not is_primitive(ctype, cloud=cloud):
            problems.append(
                doc.problem(
                    at,
                    f"partition column '{key}' has the complex type '{ctype}'; partition by a scalar column",
                )
            )
        elif cloud == "gcp" and ctype.upper() not in BIGQUERY_PARTITION_TYPES:
            problems.append(
                doc.problem(
                    at,
                    f"BigQuery partitions only by a DATE, TIMESTAMP, DATETIME or INT64 column; '{key}' is {ctype}",
                )
            )
    if cloud == "gcp" and len(port.partitioned_by) > 1:
        problems.append(
            doc.problem(
                (*where, "partitionedBy"), "BigQuery tables have at most one partition column — keep one"
            )
        )
    if len(set(port.partitioned_by)) < len(port.partitioned_by):
        problems.append(doc.problem((*where, "partitionedBy"), "a partition column is listed twice"))
    if cloud == "aws" and port.partitioned_by and set(port.partitioned_by) >= set(columns):
        problems.append(
            doc.problem(
                (*where, "partitionedBy"),
                "every column is a partition column; a Glue table needs at least one data column",
            )
        )
    return problems


def _entrypoint_rules(entrypoint: str, doc: Document, request_dir: Path, root: Path) -> list[Problem]:
    """The transform script must be a regular file inside `root` (the repository that holds
    mesh.yaml) once `..` and symbolic links are resolved: mesh uploads it to the product's
    bucket, so anything else would let a request publish any file on the machine."""
    at: FieldPath = ("spec", "compute", "transform", "entrypoint")
    script = request_dir / entrypoint
    try:
        resolved = script.resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # ValueError: a NUL character in the path
        return [
            doc.problem(
                at,
                f"'{entrypoint}' does not exist (looked for {script}); paths are relative to the request file",
            )
        ]
    if not _inside(resolved, root.resolve()):
        return [
            doc.problem(
                at,
                f"'{entrypoint}' resolves to {resolved}, outside {root.resolve()} (the repository that "
                f"holds {PLATFORM_FILE} and the request); keep job scripts in it, with no '..' or "
                "links out of it",
            )
        ]
    if not resolved.is_file():
        return [doc.problem(at, f"'{entrypoint}' is not a regular file ({resolved}); name a Python script")]
    return []


def _request_rules(parts: _Parts, doc: Document, request_dir: Path, root: Path) -> list[Problem]:
    """Rules within one request that span fields."""
    problems: list[Problem] = []
    names = Counter(p.name for _, p in parts.ports)
    for index, port in parts.ports:
        if names[port.name] > 1 and index == max(i for i, p in parts.ports if p.name == port.name):
            problems.append(
                doc.problem(
                    ("spec", "outputPorts", index, "name"),
                    f"port name '{port.name}' is used {names[port.name]} times — port names must be unique",
                )
            )
        problems += _port_rules(index, port, parts, doc)

    seen: dict[str, int] = {}
    for i, consumer in parts.consumers:
        at = ("spec", "access", "consumers", i)
        if consumer.domain == parts.domain:
            problems.append(
                doc.problem(
                    (*at, "domain"),
                    f"'{consumer.domain}' is the product's own domain, which can always read it — remove this entry",
                )
            )
        if consumer.domain in seen:
            problems.append(
                doc.problem(
                    (*at, "domain"),
                    f"domain '{consumer.domain}' is already listed at consumers[{seen[consumer.domain]}] — merge the two entries",
                )
            )
        seen.setdefault(consumer.domain, i)
        for j, port_name in enumerate(consumer.ports):
            if port_name not in parts.port_names:
                problems.append(
                    doc.problem(
                        (*at, "ports", j),
                        f"'{port_name}' is not an output port of this product{_suggestion(port_name, parts.port_names)}",
                    )
                )

    for i, source in parts.inputs:
        if source.product == f"{parts.domain}/{parts.name}":
            problems.append(
                doc.problem(("spec", "inputPorts", i, "product"), "a product cannot be its own input")
            )

    if parts.transform is not None:
        job: FieldPath = ("spec", "compute", "transform")
        try:
            parse_schedule(parts.transform.schedule)
        except ValueError as e:
            problems.append(doc.problem((*job, "schedule"), str(e)))
        problems += _entrypoint_rules(parts.transform.entrypoint, doc, request_dir, root)
    return problems


def _account_root_trust(parts: _Parts, doc: Document, loaded: LoadedPlatform) -> list[Problem]:
    """Warnings for domains whose roles would trust the whole account (no `principals.aws`)."""
    domains = loaded.config.domains
    roles: list[tuple[FieldPath, str, str]] = []
    if parts.domain in domains:
        roles.append((("metadata", "domain"), parts.domain, "producer role"))
    roles += [
        (("spec", "access", "consumers", i, "domain"), c.domain, "consumer role")
        for i, c in parts.consumers
        if c.domain in domains
    ]
    return [
        replace(
            doc.problem(
                path,
                f"domain '{domain}' lists no principals.aws in {loaded.path}, so its {role} trusts the "
                f"account root: anyone the account's IAM lets call sts:AssumeRole may use it — name the "
                f"roles that may, under domains.{domain}.principals.aws",
            ),
            severity=Severity.WARNING,
        )
        for path, domain, role in roles
        if domain is not None and not domains[domain].principals.aws
    ]


def _platform_rules(
    parts: _Parts, doc: Document, loaded: LoadedPlatform, environment: str | None
) -> list[Problem]:
    """Rules that check a request against the platform config."""
    problems: list[Problem] = []
    platform = loaded.config
    registered = set(platform.domains)
    where = f"registered in {loaded.path}"

    if parts.domain is not None and parts.domain not in registered:
        problems.append(
            doc.problem(
                ("metadata", "domain"),
                f"domain '{parts.domain}' is not {where}{_suggestion(parts.domain, registered)} (registered: {', '.join(sorted(registered))})",
            )
        )
    elif parts.domain is not None and parts.owner is not None:
        owners = platform.domains[parts.domain].owners
        if parts.owner not in owners:
            message = (
                f"'{parts.owner}' is not among the owners of domain '{parts.domain}' ({', '.join(owners)})"
            )
            problems.append(replace(doc.problem(("metadata", "owner"), message), severity=Severity.WARNING))
    for i, consumer in parts.consumers:
        if consumer.domain not in registered:
            problems.append(
                doc.problem(
                    ("spec", "access", "consumers", i, "domain"),
                    f"domain '{consumer.domain}' is not {where}{_suggestion(consumer.domain, registered)}",
                )
            )
    if parts.cloud == "aws":
        problems += _account_root_trust(parts, doc, loaded)
    others = [c for _, c in parts.consumers if c.domain != parts.domain]
    if parts.classification == "restricted" and others and not platform.guardrails.allow_restricted_sharing:
        problems.append(
            doc.problem(
                ("spec", "access", "consumers"),
                f"restricted data cannot be granted outside domain '{parts.domain}' — remove the consumers, lower the classification, or set guardrails.allowRestrictedSharing in {loaded.path}",
            )
        )

    if environment is not None:
        require_environment(platform, environment, source=loaded.path)
        if parts.cloud is not None and parts.cloud not in platform.environments[environment].clouds():
            problems.append(
                doc.problem(
                    ("spec", "cloud"),
                    f"environment '{environment}' has no '{parts.cloud}' section in {loaded.path}",
                )
            )
    elif parts.cloud is not None and not any(
        parts.cloud in env.clouds() for env in platform.environments.values()
    ):
        problems.append(
            doc.problem(("spec", "cloud"), f"no environment in {loaded.path} has a '{parts.cloud}' section")
        )
    return problems


def load_request(
    path: Path, platform: LoadedPlatform | None, *, environment: str | None = None, text: str | None = None
) -> LoadedRequest:
    """Read and validate a request, against `platform` when given. Raises with all problems.

    `text`, when given, is the request's content at another revision (`mesh review`): it
    is validated as if it were `path`, so relative entrypoints still resolve.
    """
    doc = read_document(path) if text is None else parse_document(text, file=str(path))
    problems = _check_header(doc, KIND)
    if problems:
        raise DocumentInvalid(problems)
    problems = _size_rules(doc)
    if problems:
        raise DocumentInvalid(problems, hint="See 'Input limits' in the README.")
    problems = []
    request: DataProductRequest | None = None
    try:
        # Files take only the camelCase spelling that `mesh schema` documents (by_name=False);
        # code may still build models by field name.
        request = DataProductRequest.model_validate(doc.data, by_name=False)
    except ValidationError as e:
        problems = problems_from_pydantic(e, doc, DataProductRequest)
    parts = _parts(doc.data)
    # Job scripts stay inside the repository that holds mesh.yaml; a request outside it
    # (no platform config yet, or --platform from elsewhere) confines them to its own folder.
    root = path.parent
    if platform is not None and _inside(path.resolve(), platform.path.parent.resolve()):
        root = platform.path.parent
    problems += _request_rules(parts, doc, path.parent, root)
    if parts.cloud is not None:
        problems += [doc.problem(at, message) for at, message in unsupported_fields(parts.cloud, doc.data)]
    if platform is not None:
        problems += _platform_rules(parts, doc, platform, environment)
    problems.sort(key=lambda p: (p.line, p.column, p.path))
    if request is None or any(p.severity is Severity.ERROR for p in problems):
        raise DocumentInvalid(problems)
    return LoadedRequest(request=request, document=doc, path=path, warnings=problems)


def load_spec(
    path: Path,
    *,
    platform_path: Path | None,
    environment: str | None,
    text: str | None = None,
    ephemeral: Ephemeral | None = None,
) -> tuple[ProductSpec, LoadedRequest, LoadedPlatform]:
    """Validate a request and resolve it in `environment` (default: the first one with its cloud).

    `text` replaces the file's content (see `load_request`)."""
    platform = load_platform(locate_platform(platform_path, near=path))
    loaded = load_request(path, platform, environment=environment, text=text)
    env = environment or default_environment(platform.config, str(loaded.request.spec.cloud))
    spec = resolve(loaded.request, platform.config, env, request_dir=path.parent, ephemeral=ephemeral)
    return spec, loaded, platform


def default_environment(platform: PlatformConfig, cloud: str) -> str:
    """The first non-preview environment that hosts `cloud` (validation guarantees one exists)."""
    candidates = [name for name, env in platform.environments.items() if cloud in env.clouds()]
    regular = [name for name in candidates if not platform.environments[name].preview]
    return (regular or candidates)[0]


@dataclass
class FileReport:
    """The outcome for one file: the request when valid, and every problem found."""

    file: str
    request: DataProductRequest | None
    problems: list[Problem]

    @property
    def valid(self) -> bool:
        """No problem of error severity."""
        return self.request is not None and not any(p.severity is Severity.ERROR for p in self.problems)


@dataclass
class ValidationReport:
    """`mesh validate`'s result: the platform config used and one report per file."""

    platform: str | None
    files: list[FileReport]

    @property
    def valid(self) -> bool:
        """Every file valid."""
        return all(f.valid for f in self.files)

    def as_dict(self) -> dict[str, object]:
        """The stable JSON shape documented in the README."""
        return {
            "valid": self.valid,
            "platform": self.platform,
            "files": [
                {"file": f.file, "valid": f.valid, "problems": [p.as_dict() for p in f.problems]}
                for f in self.files
            ],
        }


def validate_files(
    paths: list[Path], *, platform_path: Path | None, environment: str | None = None
) -> ValidationReport:
    """Validate each request against the platform config; one file's problems never hide another's.

    An invalid platform config is reported as a file of its own (no request can be checked
    without it); one that cannot be found raises `PlatformConfigNotFound` (a usage error),
    and an unknown `environment` raises `UnknownEnvironment`.
    """
    platform_file = locate_platform(platform_path, near=paths[0])
    try:
        platform = load_platform(platform_file)
    except DocumentInvalid as e:
        return ValidationReport(
            platform=str(platform_file), files=[FileReport(str(platform_file), None, e.problems)]
        )
    except MeshError as e:
        problem = Problem(file=str(platform_file), path="", message=e.message)
        return ValidationReport(
            platform=str(platform_file), files=[FileReport(str(platform_file), None, [problem])]
        )
    if environment is not None:
        require_environment(platform.config, environment, source=platform_file)
    reports = []
    for path in paths:
        try:
            loaded = load_request(path, platform, environment=environment)
            reports.append(FileReport(str(path), loaded.request, loaded.warnings))
        except DocumentInvalid as e:
            reports.append(FileReport(str(path), None, e.problems))
        except MeshError as e:
            reports.append(FileReport(str(path), None, [Problem(file=str(path), path="", message=e.message)]))
    return ValidationReport(platform=str(platform_file), files=reports)
