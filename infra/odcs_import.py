"""Drafting a `mesh/v1` request from an ODCS contract, as contracts are written in the wild.

`read_contract` reads a contract file and checks it against the official JSON Schema of
the `apiVersion` it declares. Many published contracts break their schema somewhere
harmless, so violations come back as located warnings; the import refuses only what mesh
cannot read at all (not a contract, not ODCS v3, no schema objects with properties).

`draft_request` turns the contract into a request document. It derives a valid product
name (from `name`, `dataProduct` or `id`), the domain (`domain`, `dataProduct`, the team's
name) and the owner (a team member with an email, else the domain's registered owner),
unless the caller overrides them; it maps column types losslessly where the cloud has an
equivalent (`infra.odcs_types`), takes the strictest classification of any column for the
product, shortens texts the request limits, and lists every assumption as a note located
in the contract. What mesh does not provision (quality rules, other service levels,
foreign servers) is noted and kept with the draft, which renders it as YAML comments.

`locate_in_contract` maps a problem found in the draft back to the contract field it came
from, so a user fixes the file they have rather than a draft that was never written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.clouds import supports
from infra.model import names
from infra.model.capability import Capability
from infra.model.coltypes import BIGQUERY_PARTITION_TYPES, is_primitive
from infra.model.document import Document, FieldPath, format_path, non_finite_numbers, read_document
from infra.model.errors import DocumentInvalid, Problem, Severity
from infra.model.files import MAX_CONTRACT_BYTES
from infra.model.platform import PlatformConfig
from infra.model.request import EMAIL_PATTERN, SEMVER_PATTERN
from infra.odcs_types import column_type
from infra.scaffold import dump_request
from infra.standard_schemas import NEWEST_ODCS, ODCS_SCHEMAS, odcs_schema_file, violations
from infra.validation import LoadedPlatform, load_request

TEXT_MAX = 1000  # a description in a request
DEFAULT_VERSION = "1.0.0"
DEFAULT_QUERY_LIMIT_GB = 10
_SERVER_CLOUDS = {"athena": "aws", "glue": "aws", "s3": "aws", "redshift": "aws", "bigquery": "gcp"}
_LEVELS = ("public", "internal", "confidential", "restricted")
# Classification words seen in published contracts, by the mesh level they mean.
_LEVEL_OF = {
    "public": "public", "open": "public",
    "internal": "internal", "private": "internal", "general": "internal",
    "confidential": "confidential", "sensitive": "confidential", "pii": "confidential",
    "personal": "confidential",
    "restricted": "restricted", "secret": "restricted", "highly-confidential": "restricted",
    "highly_confidential": "restricted", "highly confidential": "restricted",
    "strictly confidential": "restricted", "top secret": "restricted",
}  # fmt: skip
_FORMATS = ("parquet", "iceberg", "json", "csv")
_HOURS = {"m": 1 / 60, "min": 1 / 60, "minute": 1 / 60, "minutes": 1 / 60, "h": 1, "hr": 1, "hour": 1,
          "hours": 1, "d": 24, "day": 24, "days": 24, "w": 168, "week": 168, "weeks": 168}  # fmt: skip
_DAYS = {"d": 1, "day": 1, "days": 1, "w": 7, "week": 7, "weeks": 7, "m": 30, "month": 30, "months": 30,
         "y": 365, "yr": 365, "year": 365, "years": 365}  # fmt: skip
_MESH_SLAS = ("retention", "latency")
_NO_SCHEMA_HINT = (
    "mesh makes one output port per schema object: add a `schema` list with at least one object "
    "that has `properties` (its columns), then import again."
)


@dataclass(frozen=True)
class ContractFile:
    """A contract as read: its data with positions, the schema that judged it, and what it broke."""

    document: Document
    api_version: str
    schema_file: str
    problems: list[Problem]

    @property
    def data(self) -> dict[str, Any]:
        """The contract's top-level mapping."""
        data: dict[str, Any] = self.document.data
        return data


@dataclass
class Draft:
    """A request document drafted from a contract, with what the draft could not carry."""

    document: dict[str, Any]
    notes: list[Problem] = field(default_factory=list)
    kept: dict[str, Any] = field(default_factory=dict)  # not provisioned; rendered as comments
    sources: dict[str, FieldPath | str] = field(default_factory=dict)  # draft path → contract path / option


def _hint_refuse(what: str) -> str:
    return f"{what} Pass an ODCS v3 data contract (YAML or JSON); `mesh contract export` writes one."


def read_contract(path: Path) -> ContractFile:
    """Read an ODCS contract and check it against its version's official schema.

    Raises `DocumentInvalid` only when the file is not an ODCS v3 contract at all; schema
    violations come back as located warnings in `ContractFile.problems`."""
    doc = read_document(path, limit=MAX_CONTRACT_BYTES)
    kind = doc.data.get("kind")
    if kind != "DataContract":
        found = "missing" if kind is None else repr(kind)
        raise DocumentInvalid(
            [doc.problem(("kind",), f"kind {found} — expected 'DataContract' (ODCS)")],
            hint=_hint_refuse("This is not a data contract."),
        )
    if problems := non_finite_numbers(doc):
        raise DocumentInvalid(problems)
    declared = doc.data.get("apiVersion")
    notes = []
    if declared is None:
        api_version = "v3.1.0"
        notes.append(doc.problem(("apiVersion",), "no apiVersion: read as ODCS v3.1.0"))
    else:
        api_version = str(declared)
    schema_file = odcs_schema_file(api_version)
    if schema_file is None:
        readable = ", ".join(ODCS_SCHEMAS)
        raise DocumentInvalid(
            [doc.problem(("apiVersion",), f"apiVersion {api_version!r} — mesh reads ODCS {readable}")],
            hint=_hint_refuse("Convert the contract to ODCS v3 first."),
        )
    if api_version not in ODCS_SCHEMAS:
        notes.append(
            doc.problem(("apiVersion",), f"{api_version} is newer than mesh knows: checked as {NEWEST_ODCS}")
        )
    try:
        broken = violations(doc.data, schema_file)
    except RecursionError as e:
        raise DocumentInvalid(
            [doc.problem((), "nested too deeply to check against the ODCS schema")],
            hint=_hint_refuse("A contract needs only a few levels of nesting."),
        ) from e
    for violation in broken:
        problem = doc.problem(
            violation.path, f"not valid ODCS {api_version}: {violation.message}", key=not violation.path
        )
        notes.append(_warning(problem))
    return ContractFile(document=doc, api_version=api_version, schema_file=schema_file, problems=notes)


def _warning(problem: Problem) -> Problem:
    return Problem(
        file=problem.file,
        path=problem.path,
        message=problem.message,
        line=problem.line,
        column=problem.column,
        severity=Severity.WARNING,
    )


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _custom(items: Any) -> dict[str, Any]:
    return {
        str(c["property"]): c.get("value")
        for c in _list(items)
        if isinstance(c, Mapping) and c.get("property")
    }


def _identifier(text: str) -> str:
    """`Order Lines` → `order_lines`: a port or column name the request accepts (≤ 64 characters)."""
    word = re.sub(r"[^a-z0-9_]+", "_", text.strip().lower()).strip("_")
    word = word if word[:1].isalpha() else f"c_{word}"
    return names.fit(word, 64, sep="_")


def _product_name(text: str) -> str:
    """`Order Events` → `order-events`: a product name (lowercase, digits, single hyphens, 2–40)."""
    word = re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-")
    if not word[:1].isalpha():
        word = f"p-{word}".rstrip("-")
    if len(word) < 2:
        word = f"{word}-product"
    return names.fit(word, 40).strip("-")


def _domain_name(text: str) -> str:
    """`Sales & Marketing` → `salesmarketing`: a domain name (2–20 lowercase letters and digits)."""
    word = re.sub(r"[^a-z0-9]+", "", text.strip().lower())
    if not word[:1].isalpha():
        word = f"d{word}"
    return word[:20] if len(word) >= 2 else f"{word}domain"


def _shorten(text: str, where: FieldPath, contract: ContractFile, notes: list[Problem]) -> str:
    if len(text) <= TEXT_MAX:
        return text
    notes.append(_note(contract, where, f"{len(text)} characters; shortened to the request's {TEXT_MAX}"))
    return text[: TEXT_MAX - 1].rstrip() + "…"


def _note(contract: ContractFile, where: FieldPath, message: str) -> Problem:
    return _warning(contract.document.problem(where, message))


@dataclass
class _Context:
    contract: ContractFile
    cloud: str
    from_mesh: bool = False  # mesh's own export: types are kept exactly as the request wrote them
    notes: list[Problem] = field(default_factory=list)
    sources: dict[str, FieldPath | str] = field(default_factory=dict)
    kept: dict[str, Any] = field(default_factory=dict)

    def note(self, where: FieldPath, message: str) -> None:
        self.notes.append(_note(self.contract, where, message))

    def keep(self, section: str, key: str, value: Any) -> None:
        self.kept.setdefault(section, {})[key] = value

    def keep_item(self, section: str, value: Any) -> None:
        self.kept.setdefault(section, []).append(value)


def _team_members(data: Mapping[str, Any]) -> list[tuple[FieldPath, Mapping[str, Any]]]:
    team = data.get("team")
    if isinstance(team, Mapping):
        return [
            (("team", "members", i), m)
            for i, m in enumerate(_list(team.get("members")))
            if isinstance(m, Mapping)
        ]
    return [(("team", i), m) for i, m in enumerate(_list(team)) if isinstance(m, Mapping)]


def _email(value: Any) -> str | None:
    text = _text(value)
    if text and text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    return text if text and re.fullmatch(EMAIL_PATTERN.strip("^$"), text) else None


def _owner(ctx: _Context, platform: PlatformConfig | None, domain: str) -> tuple[str, FieldPath | str]:
    candidates: list[tuple[int, FieldPath, str]] = []
    for where, member in _team_members(ctx.contract.data):
        if member.get("dateOut"):
            continue  # left the team
        for key in ("username", "email", "name", "id"):
            email = _email(member.get(key))
            if email:
                owner_role = "owner" in str(member.get("role") or "").lower()
                candidates.append((0 if owner_role else 1, (*where, key), email))
                break
    if candidates:
        _, where, email = min(candidates, key=lambda c: c[0])
        return email, where
    registered = platform.domains.get(domain) if platform else None
    if registered is not None and registered.owners:
        owner = str(registered.owners[0])
        ctx.note(
            ("team",), f"no team member with an email: owner {owner}, domain {domain}'s registered owner"
        )
        return owner, "the platform config"
    ctx.note(("team",), "no team member with an email: pass --owner")
    return "", ("team",)


def _derive_name(ctx: _Context, override: str | None) -> tuple[str, FieldPath | str]:
    if override:
        return override, "--name"
    data = ctx.contract.data
    # `sales/orders` (as mesh writes it) names the product after the slash; without one,
    # dataProduct is the product's own name.
    data_product = str(data.get("dataProduct") or "")
    product_part = data_product.partition("/")[2] if "/" in data_product else data_product
    for where, raw in (
        (("name",), data.get("name")),
        (("dataProduct",), product_part),
        (("id",), data.get("id")),
    ):
        text = _text(raw)
        if text:
            name = _product_name(text)
            if name != text:
                ctx.note(where, f"{text!r} is not a product name: {name} (pass --name to choose)")
            return name, where
    ctx.note((), "no name, dataProduct or id: pass --name")
    return "", ()


def _derive_domain(ctx: _Context, override: str | None) -> tuple[str, FieldPath | str]:
    if override:
        return override, "--domain"
    data = ctx.contract.data
    product = str(data.get("dataProduct") or "")
    team = data.get("team")
    team_name = team.get("name") if isinstance(team, Mapping) else None
    for where, raw in (
        (("domain",), data.get("domain")),
        (("dataProduct",), product.partition("/")[0] if "/" in product else product),
        (("team", "name"), team_name),
    ):
        text = _text(raw)
        if text:
            domain = _domain_name(text)
            if where != ("domain",) or domain != text:
                ctx.note(
                    where, f"domain {domain} from {format_path(where)} {text!r} (pass --domain to choose)"
                )
            return domain, where
    ctx.note((), "no domain, dataProduct or team name: pass --domain")
    return "", ()


def _level(label: Any) -> str | None:
    return _LEVEL_OF.get(str(label).strip().lower()) if label is not None else None


def _amount(sla: Mapping[str, Any], units: Mapping[str, float]) -> int | None:
    value = sla.get("value")
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value.strip()):
        value = float(value)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        return None
    unit = str(sla.get("unit") or sla.get("valueExt") or next(iter(units))).strip().lower()
    factor = units.get(unit)
    if factor is None:
        return None
    amount = value * factor
    return max(1, int(amount) if amount == int(amount) else int(amount) + 1)


def _port(
    ctx: _Context, index: int, obj: Mapping[str, Any], taken: set[str], port_index: int
) -> dict[str, Any] | None:
    where: FieldPath = ("schema", index)
    raw_name = _text(obj.get("name")) or _text(obj.get("physicalName"))
    if raw_name is None:
        ctx.note(where, "a schema object without a name: skipped")
        return None
    props = [(j, p) for j, p in enumerate(_list(obj.get("properties"))) if isinstance(p, Mapping)]
    if not props:
        ctx.note(where, f"schema object {raw_name!r} has no properties (columns): skipped")
        return None
    name = _identifier(raw_name)
    if name in taken:
        name = _identifier(f"{name}_{index + 1}")
        ctx.note((*where, "name"), f"{raw_name!r} repeats a port name: {name}")
    taken.add(name)
    draft_where = f"spec.outputPorts[{port_index}]"
    ctx.sources[draft_where] = where
    ctx.sources[f"{draft_where}.name"] = (*where, "name")
    port: dict[str, Any] = {"name": name}
    description = _text(obj.get("description"))
    if description:
        port["description"] = _shorten(description, (*where, "description"), ctx.contract, ctx.notes)
        ctx.sources[f"{draft_where}.description"] = (*where, "description")
    tags = [str(t).lower() for t in _list(obj.get("tags"))]
    fmt = next((t for t in tags if t in _FORMATS), None)
    if fmt is None:
        fmt = "parquet"
        ctx.note(where, f"port {name}: no file format (a tag parquet|iceberg|json|csv): parquet")
    port["format"] = fmt

    columns: list[dict[str, Any]] = []
    keys: list[tuple[int, int, str]] = []
    seen: set[str] = set()
    for j, prop in props:
        pwhere: FieldPath = (*where, "properties", j)
        raw = _text(prop.get("name")) or _text(prop.get("physicalName"))
        if raw is None:
            ctx.note(pwhere, "a property without a name: skipped")
            continue
        column_name = _identifier(raw)
        if column_name in seen:
            column_name = _identifier(f"{column_name}_{j + 1}")
            ctx.note((*pwhere, "name"), f"{raw!r} repeats a column name: {column_name}")
        seen.add(column_name)
        type_notes: list[str] = []
        declared = column_type(prop, ctx.cloud, type_notes, verbatim=ctx.from_mesh)
        for message in type_notes:
            ctx.note(pwhere, f"{name}.{column_name}: {message}")
        draft_column = f"{draft_where}.schema[{len(columns)}]"
        ctx.sources[draft_column] = pwhere
        ctx.sources[f"{draft_column}.name"] = (*pwhere, "name")
        ctx.sources[f"{draft_column}.type"] = (*pwhere, "physicalType") if "physicalType" in prop else pwhere
        column: dict[str, Any] = {"name": column_name, "type": declared}
        if prop.get("required") is True:
            column["required"] = True
        tags = [str(t).lower() for t in _list(prop.get("tags"))]
        if "pii" in tags or str(prop.get("classification") or "").lower() == "pii":
            column["pii"] = True
        column_description = _text(prop.get("description"))
        if column_description:
            column["description"] = _shorten(
                column_description, (*pwhere, "description"), ctx.contract, ctx.notes
            )
        columns.append(column)
        if prop.get("partitioned") is True:
            position = prop.get("partitionKeyPosition")
            rank = position if isinstance(position, int) and not isinstance(position, bool) else 10**6
            keys.append((rank, j, column_name))
        if prop.get("quality"):
            ctx.note(
                (*pwhere, "quality"),
                f"{name}.{column_name}: quality rules are not checked by mesh (kept as comments)",
            )
            ctx.keep("quality", f"{name}.{column_name}", prop["quality"])
    if not columns:
        ctx.note(where, f"schema object {raw_name!r} has no usable properties: skipped")
        taken.discard(name)
        for key in [k for k in ctx.sources if k.startswith(draft_where)]:
            del ctx.sources[key]
        return None
    if obj.get("quality"):
        ctx.note(
            (*where, "quality"), f"port {name}: quality rules are not checked by mesh (kept as comments)"
        )
        ctx.keep("quality", name, obj["quality"])
    partitioned = [n for _, _, n in sorted(keys)]
    partitioned = _partitions_for_cloud(ctx, where, name, partitioned, columns)
    if partitioned:
        port["partitionedBy"] = partitioned
    port["schema"] = columns
    return port


def _partitions_for_cloud(
    ctx: _Context, where: FieldPath, port: str, keys: list[str], columns: list[dict[str, Any]]
) -> list[str]:
    types = {c["name"]: c["type"] for c in columns}
    usable = [k for k in keys if is_primitive(types[k], cloud=ctx.cloud)]
    if ctx.cloud == "gcp":
        usable = [k for k in usable if types[k].upper() in BIGQUERY_PARTITION_TYPES][:1]
    dropped = [k for k in keys if k not in usable]
    if dropped:
        rule = (
            "BigQuery partitions a table by one DATE, TIMESTAMP, DATETIME or INT64 column"
            if ctx.cloud == "gcp"
            else "Glue partitions by scalar columns only"
        )
        ctx.note(where, f"port {port}: not partitioned by {', '.join(dropped)} ({rule})")
    return usable


def _classification(ctx: _Context, custom: Mapping[str, Any]) -> tuple[str, FieldPath | None]:
    data = ctx.contract.data
    found: list[tuple[str, FieldPath]] = []
    mesh_level = custom.get("meshClassification")
    if mesh_level in _LEVELS:
        index = next(
            i for i, c in enumerate(_list(data.get("customProperties")))
            if isinstance(c, Mapping) and c.get("property") == "meshClassification"
        )  # fmt: skip
        found.append((str(mesh_level), ("customProperties", index, "value")))
    for i, tag in enumerate(_list(data.get("tags"))):
        if str(tag).lower() in _LEVELS:
            found.append((str(tag).lower(), ("tags", i)))
    for i, obj in enumerate(_list(data.get("schema"))):
        if not isinstance(obj, Mapping):
            continue
        stack: list[tuple[FieldPath, Mapping[str, Any]]] = [(("schema", i), obj)]
        while stack:
            where, element = stack.pop()
            label = element.get("classification")
            if label is not None:
                level = _level(label)
                if level is None:
                    ctx.note(
                        (*where, "classification"),
                        f"classification {label!r} is not one of {', '.join(_LEVELS)}: ignored",
                    )
                else:
                    found.append((level, (*where, "classification")))
            for j, child in enumerate(_list(element.get("properties"))):
                if isinstance(child, Mapping):
                    stack.append(((*where, "properties", j), child))
    if not found:
        ctx.note((), "no classification in the contract: internal assumed")
        return "internal", None
    level, where = max(found, key=lambda f: (_LEVELS.index(f[0]), [str(p) for p in f[1]]))
    return level, where


def _contains_pii(ports: list[dict[str, Any]]) -> bool:
    return any(c.get("pii") for p in ports for c in p["schema"])


def draft_request(
    contract: ContractFile,
    *,
    cloud: str | None = None,
    domain: str | None = None,
    name: str | None = None,
    owner: str | None = None,
    platform: PlatformConfig | None = None,
) -> Draft:
    """A `mesh/v1` request drafted from `contract`; overrides win over what the contract says.

    Raises `DocumentInvalid` (located in the contract) when it has no schema object with
    properties: mesh would have no port to provision. The draft still goes through
    request validation before it is written."""
    data = contract.data
    doc = contract.document
    custom = _custom(data.get("customProperties"))
    is_mesh = "meshStack" in custom  # mesh's own export: its server and roles are mesh's
    servers = [(i, s) for i, s in enumerate(_list(data.get("servers"))) if isinstance(s, Mapping)]
    served = next(
        (_SERVER_CLOUDS[str(s.get("type"))] for _, s in servers if str(s.get("type")) in _SERVER_CLOUDS), None
    )
    target = cloud or served
    # Types of mesh's own export are kept as written, unless the product moves to the other cloud.
    ctx = _Context(contract=contract, cloud=target or "aws", from_mesh=is_mesh and target == served)
    if target is None:
        ctx.note(
            ("servers",) if servers else (),
            "no AWS or GCP server in the contract: cloud aws (pass --cloud gcp to choose)",
        )

    objects = [(i, o) for i, o in enumerate(_list(data.get("schema"))) if isinstance(o, Mapping)]
    if not objects:
        raise DocumentInvalid(
            [
                doc.problem(
                    ("schema",),
                    "no schema objects — the contract describes no table, so there is no output port to provision",
                )
            ],
            hint=_NO_SCHEMA_HINT,
        )
    ports: list[dict[str, Any]] = []
    taken: set[str] = set()
    for index, obj in objects:
        port = _port(ctx, index, obj, taken, len(ports))
        if port is not None:
            ports.append(port)
    if not ports:
        raise DocumentInvalid(
            [doc.problem(("schema",), "no schema object has properties — there is no column to provision")],
            hint=_NO_SCHEMA_HINT,
        )

    product, name_source = _derive_name(ctx, name)
    domain_name, domain_source = _derive_domain(ctx, domain)
    owner_email, owner_source = (owner, "--owner") if owner else _owner(ctx, platform, domain_name)

    description_value = data.get("description")
    purpose: str | None = None
    purpose_where: FieldPath = ("description",)
    if isinstance(description_value, Mapping):
        for key in ("purpose", "usage", "limitations"):
            if _text(description_value.get(key)):
                purpose, purpose_where = _text(description_value.get(key)), ("description", key)
                break
    elif _text(description_value):
        purpose = _text(description_value)
    if purpose is None:
        purpose = f"{product or 'This product'}, imported from an ODCS contract."
        ctx.note(("description",) if "description" in data else (), f"no description.purpose: {purpose!r}")
    else:
        purpose = _shorten(purpose, purpose_where, contract, ctx.notes)

    classification, classification_where = _classification(ctx, custom)
    if classification == "public" and _contains_pii(ports):
        ctx.note(classification_where or (), "a public product cannot hold PII columns: internal")
        classification = "internal"

    slas = [(i, s) for i, s in enumerate(_list(data.get("slaProperties"))) if isinstance(s, Mapping)]
    by_property: dict[str, tuple[int, Mapping[str, Any]]] = {}
    for i, sla in slas:
        by_property.setdefault(str(sla.get("property") or "").lower(), (i, sla))
    # `freshness` is how datacontract-cli and ODCS v2 name what v3 calls latency.
    latency = by_property.get("latency") or by_property.get("freshness")
    retention_sla = by_property.get("retention")
    retention = _amount(retention_sla[1], _DAYS) if retention_sla else None
    freshness = _amount(latency[1], _HOURS) if latency else None
    entrypoint = custom.get("meshTransformEntrypoint")
    frequency = by_property.get("frequency")
    schedule = frequency[1].get("schedule") if frequency else None
    uses_transform = isinstance(entrypoint, str) and isinstance(schedule, str)
    read_rows: set[int] = set()  # the service levels mesh turned into request fields
    if retention_sla and retention is not None:
        read_rows.add(retention_sla[0])
    if latency and freshness is not None:
        read_rows.add(latency[0])
    if frequency and uses_transform:
        read_rows.add(frequency[0])
    if retention is None:
        retention = 365
        ctx.note(
            ("slaProperties",) if slas else (),
            "no retention service level in days or years: retentionDays 365 assumed",
        )
    for i, sla in slas:
        if i not in read_rows:
            ctx.note(
                ("slaProperties", i),
                f"service level {sla.get('property')!r} is not enforced by mesh (kept as comments)",
            )
            ctx.keep_item("slaProperties", dict(sla))
    if not is_mesh:
        for i, server in servers:
            label = server.get("server") or i
            ctx.note(
                ("servers", i),
                f"server {label!r} ({server.get('type')}) is not provisioned: mesh creates the product's own storage (kept as comments)",
            )
            ctx.keep_item("servers", dict(server))

    consumers = []
    for i, role in enumerate(_list(data.get("roles"))):
        if not isinstance(role, Mapping):
            continue
        props = _custom(role.get("customProperties"))
        domain_of, granted = props.get("meshConsumerDomain"), props.get("meshPorts")
        if (
            isinstance(domain_of, str)
            and isinstance(granted, list)
            and (role.get("access") or "read") == "read"
        ):
            consumers.append({"domain": domain_of, "ports": [str(p) for p in granted]})
        else:
            ctx.note(
                ("roles", i),
                f"role {role.get('role')!r}: not a mesh consumer grant; add it under spec.access.consumers if needed",
            )

    inputs = []
    for item in _list(custom.get("meshInputPorts")):
        source, _, port_name = str(item).rpartition(":")
        if source and port_name:
            inputs.append({"product": source, "port": port_name})

    metadata: dict[str, Any] = {
        "domain": domain_name,
        "name": product,
        "owner": owner_email,
        "description": purpose,
    }
    version = _text(data.get("version"))
    if version:
        semver = re.match(SEMVER_PATTERN.rstrip("$"), version)
        if semver is None:
            ctx.note(("version",), f"version {version!r} is not MAJOR.MINOR.PATCH: {DEFAULT_VERSION}")
        elif semver.group(0) != DEFAULT_VERSION:
            if semver.group(0) != version:
                ctx.note(("version",), f"version {version!r} read as {semver.group(0)}")
            metadata["version"] = semver.group(0)
    spec: dict[str, Any] = {
        "cloud": ctx.cloud,
        "classification": classification,
        "retentionDays": retention,
        "outputPorts": ports,
    }
    if inputs:
        spec["inputPorts"] = inputs
    compute: dict[str, Any] = {}
    limit = custom.get("meshBytesScannedLimitGb")
    if isinstance(limit, int) and not isinstance(limit, bool) and limit != DEFAULT_QUERY_LIMIT_GB:
        if supports(ctx.cloud, Capability.QUERY_LIMIT):
            compute["query"] = {"bytesScannedLimitGb": limit}
        else:
            ctx.note(
                ("customProperties",),
                f"meshBytesScannedLimitGb {limit}: mesh has no per-product query limit on {ctx.cloud}; left out",
            )
    if uses_transform:
        if supports(ctx.cloud, Capability.TRANSFORM):
            compute["transform"] = {"schedule": schedule, "entrypoint": entrypoint}
        else:
            ctx.note(
                ("customProperties",),
                f"meshTransformEntrypoint {entrypoint}: mesh runs no transform on {ctx.cloud}; left out",
            )
    if compute:
        spec["compute"] = compute
    if consumers:
        spec["access"] = {"consumers": consumers}
    if freshness:
        spec["slo"] = {"freshnessHours": freshness}

    sources = ctx.sources
    sources.update(
        {"metadata.domain": domain_source, "metadata.name": name_source, "metadata.owner": owner_source}
    )
    sources["metadata.description"] = purpose_where
    sources["metadata.version"] = ("version",)
    if classification_where:
        sources["spec.classification"] = classification_where
    if retention_sla:
        sources["spec.retentionDays"] = ("slaProperties", retention_sla[0])
    if latency:
        sources["spec.slo"] = ("slaProperties", latency[0])
    sources["spec.access"] = ("roles",)
    sources["spec.inputPorts"] = ("customProperties",)
    sources["spec.compute"] = ("customProperties",)
    notes = sorted(ctx.notes, key=lambda p: (p.line, p.column, p.path, p.message))
    return Draft(
        document={"apiVersion": "mesh/v1", "kind": "DataProduct", "metadata": metadata, "spec": spec},
        notes=notes,
        kept=ctx.kept,
        sources=sources,
    )


def render_draft(draft: Draft, *, source: str) -> str:
    """The draft as request YAML, with what mesh does not provision kept below as comments."""
    text = f"# Drafted by `mesh contract import` from {_one_line(source)}; review it before provisioning.\n"
    text += dump_request(draft.document)
    if draft.kept:
        kept = yaml.safe_dump(draft.kept, sort_keys=False, allow_unicode=True, width=100)
        text += "\n# Kept from the contract; mesh does not provision or enforce these:\n"
        text += "".join(f"# {line}\n" for line in kept.splitlines())
    return text


def _one_line(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f\u0085\u2028\u2029]", "?", text)


def locate_in_contract(problem: Problem, draft: Draft, contract: ContractFile) -> Problem:
    """`problem` (found in the draft) located at the contract field the drafted value came from."""
    path = problem.path
    probe = path
    while probe and probe not in draft.sources:
        probe = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", probe)
    origin = draft.sources.get(probe) if probe else None
    detail = f"{problem.message} (drafted as {path})" if path else problem.message
    if isinstance(origin, str):
        return Problem(
            file=contract.document.file, path="", message=f"{origin}: {detail}", severity=problem.severity
        )
    located = contract.document.problem(origin or (), detail)
    return Problem(
        file=located.file,
        path=located.path,
        message=located.message,
        line=located.line,
        column=located.column,
        severity=problem.severity,
    )


def check_draft(
    draft: Draft, contract: ContractFile, *, text: str, target: Path, platform: LoadedPlatform | None
) -> list[Problem]:
    """The draft's validation problems (as `mesh validate` would find them in `target`),
    each located in the contract; empty when the draft is a valid request."""
    try:
        loaded = load_request(target, platform, text=text)
    except DocumentInvalid as e:
        return [locate_in_contract(p, draft, contract) for p in e.problems]
    return [locate_in_contract(p, draft, contract) for p in loaded.warnings]
