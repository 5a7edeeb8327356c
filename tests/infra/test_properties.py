"""Property tests of reading requests: nothing a user can put in a file crashes mesh, and valid requests
survive a round trip through YAML unchanged.

The number of examples comes from the hypothesis profile in tests/conftest.py: a few
hundred in CI, `MESH_HYPOTHESIS_EXAMPLES=10000` for a long run.
"""

from __future__ import annotations

import copy
import shutil
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from infra.model.coltypes import BIGQUERY_PARTITION_TYPES
from infra.model.document import parse_document
from infra.model.errors import DocumentInvalid, Problem, Severity
from infra.model.names import RULES
from infra.model.request import DataProductRequest
from infra.model.spec import resolve
from infra.validation import (
    LoadedPlatform,
    LoadedRequest,
    _aliases,
    default_environment,
    load_platform,
    load_request,
)

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = {  # examples/mesh.yaml
    "sales": ["sales-data@example.com"],
    "marketing": ["marketing-analytics@example.com"],
    "finance": ["finance-data@example.com", "controller@example.com"],
    "support": ["support-ops@example.com"],
}
AWS_TYPES = [
    "string", "int", "bigint", "smallint", "tinyint", "double", "float", "boolean", "date", "timestamp",
    "binary", "decimal(12,2)", "decimal(38)", "varchar(34)", "char(2)", "BIGINT",
    "array<string>", "map<string,int>", "struct<a:int,b:array<string>>",
]  # fmt: skip
AWS_SCALARS = [t for t in AWS_TYPES if "<" not in t]
GCP_TYPES = [
    "STRING", "STRING(10)", "BYTES", "INT64", "INTEGER", "FLOAT64", "NUMERIC", "NUMERIC(12,2)", "BIGNUMERIC",
    "BOOL", "DATE", "DATETIME", "TIME", "TIMESTAMP", "GEOGRAPHY", "JSON", "date",
    "ARRAY<STRING>", "STRUCT<a INT64, b ARRAY<STRING>>",
]  # fmt: skip
SCHEDULES = ["0 2 * * *", "*/15 * * * *", "30 6 1 * *", "0 8 * * 1-5", "0 0 * * */2", "5,35 9-17 * 1,7 *"]
KEYS = sorted(_aliases(DataProductRequest))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the whole module (hypothesis reruns a test body many times in one fixture scope)."""
    path = tmp_path_factory.mktemp("properties")
    shutil.copy(ROOT / "examples" / "mesh.yaml", path / "mesh.yaml")
    (path / "jobs").mkdir()
    (path / "jobs" / "orders.py").write_text("print('orders')\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def platform(folder: Path) -> LoadedPlatform:
    return load_platform(folder / "mesh.yaml")


# --- strategies ---------------------------------------------------------------------------


def _word(alphabet: str, min_size: int, max_size: int) -> st.SearchStrategy[str]:
    tail = st.text(alphabet, min_size=min_size - 1, max_size=max_size - 1)
    return st.builds(str.__add__, st.sampled_from(string.ascii_lowercase), tail)


identifiers = _word(string.ascii_lowercase + string.digits + "_", 1, 64)
products = (
    st.lists(_word(string.ascii_lowercase + string.digits, 1, 8), min_size=1, max_size=5)
    .map("-".join)
    .filter(lambda p: 2 <= len(p) <= 40)
)
emails = st.builds(
    "{}@{}.{}".format,
    st.text(string.ascii_letters + string.digits + "._%+-", min_size=1, max_size=20),
    st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=20),
    st.text(string.ascii_lowercase, min_size=2, max_size=6),
)
free_text = st.text(min_size=1, max_size=200).filter(lambda t: len(t) <= 1000)


@st.composite
def columns(draw: st.DrawFn, cloud: str) -> list[dict[str, Any]]:
    names = draw(st.lists(identifiers, min_size=1, max_size=6, unique=True))
    out = []
    for name in names:
        column: dict[str, Any] = {
            "name": name,
            "type": draw(st.sampled_from(AWS_TYPES if cloud == "aws" else GCP_TYPES)),
        }
        for flag in ("required", "pii"):
            if draw(st.booleans()):
                column[flag] = draw(st.booleans())
        if draw(st.booleans()):
            column["description"] = draw(free_text)
        out.append(column)
    return out


@st.composite
def output_ports(draw: st.DrawFn, cloud: str) -> list[dict[str, Any]]:
    ports = []
    for name in draw(st.lists(identifiers, min_size=1, max_size=3, unique=True)):
        schema = draw(columns(cloud))
        if cloud == "aws":
            scalars = [c["name"] for c in schema if c["type"] in AWS_SCALARS]
            keys = (
                draw(st.lists(st.sampled_from(scalars), unique=True, max_size=len(schema) - 1))
                if scalars and len(schema) > 1
                else []
            )
        else:
            candidates = [c["name"] for c in schema if c["type"].upper() in BIGQUERY_PARTITION_TYPES]
            keys = draw(st.lists(st.sampled_from(candidates), max_size=1)) if candidates else []
        port: dict[str, Any] = {"name": name}
        if draw(st.booleans()):
            port["description"] = draw(free_text)
        if draw(st.booleans()):
            port["format"] = draw(st.sampled_from(["parquet", "iceberg", "json", "csv"]))
        if keys or draw(st.booleans()):
            port["partitionedBy"] = keys
        port["schema"] = schema
        ports.append(port)
    return ports


@st.composite
def valid_requests(draw: st.DrawFn) -> dict[str, Any]:
    """Requests that pass every rule against examples/mesh.yaml (owners may draw a warning)."""
    domain = draw(st.sampled_from(sorted(DOMAINS)))
    name = draw(products)
    cloud = draw(st.sampled_from(["aws", "gcp"]))
    ports = draw(output_ports(cloud))
    has_pii = any(c.get("pii") for p in ports for c in p["schema"])
    classification = draw(
        st.sampled_from(
            ["internal", "confidential", "restricted"]
            if has_pii
            else ["public", "internal", "confidential", "restricted"]
        )
    )
    metadata: dict[str, Any] = {
        "domain": domain,
        "name": name,
        "owner": draw(st.sampled_from(DOMAINS[domain]) | emails),
        "description": draw(free_text),
    }
    if draw(st.booleans()):
        metadata["version"] = "{}.{}.{}".format(*draw(st.tuples(*[st.integers(0, 999)] * 3)))
    spec: dict[str, Any] = {
        "cloud": cloud,
        "classification": classification,
        "retentionDays": draw(st.integers(1, 36_500)),
        "outputPorts": ports,
    }
    others = [d for d in sorted(DOMAINS) if d != domain]
    if draw(st.booleans()):
        spec["inputPorts"] = [
            {"product": f"{d}/{p}", "port": port}
            for d, p, port in draw(
                st.lists(st.tuples(st.sampled_from(others), products, identifiers), max_size=2)
            )
        ]
    if cloud == "aws" and draw(st.booleans()):  # GCP implements neither field (mesh validate refuses them)
        compute: dict[str, Any] = {}
        if draw(st.booleans()):
            compute["query"] = {"bytesScannedLimitGb": draw(st.integers(1, 10_000))}
        if draw(st.booleans()):
            compute["transform"] = {
                "schedule": draw(st.sampled_from(SCHEDULES)),
                "entrypoint": "jobs/orders.py",
            }
        spec["compute"] = compute
    if classification != "restricted" and draw(st.booleans()):
        port_names = [p["name"] for p in ports]
        spec["access"] = {
            "consumers": [
                {"domain": d, "ports": draw(st.lists(st.sampled_from(port_names), min_size=1, unique=True))}
                for d in draw(st.lists(st.sampled_from(others), unique=True, max_size=3))
            ]
        }
    if draw(st.booleans()):
        spec["slo"] = {"freshnessHours": draw(st.integers(1, 24 * 366))}
    return {"apiVersion": "mesh/v1", "kind": "DataProduct", "metadata": metadata, "spec": spec}


keys = st.sampled_from(KEYS) | st.text(max_size=12)
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.sampled_from(["aws", "gcp", "sales", "strng", "mesh/v1", "DataProduct", "0 2 * * *", "jobs/orders.py"])
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=25,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


@st.composite
def mutated_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A valid request with one to four fields deleted, replaced, misspelt or added."""
    document = copy.deepcopy(draw(valid_requests()))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_paths(document)[1:]))
        parent: Any = document
        for part in path[:-1]:
            parent = parent[part]
        last, current = path[-1], parent[path[-1]]
        action = draw(st.sampled_from(["delete", "replace", "misspell", "add"]))
        if action == "delete":
            del parent[last]
        elif action == "replace":
            parent[last] = draw(values)
        elif action == "misspell" and isinstance(current, str):
            at = draw(st.integers(0, len(current)))
            parent[last] = (
                current[:at] + draw(st.sampled_from(["", "x", "-", "_", "A", " "])) + current[at + 1 :]
            )
        elif isinstance(current, dict):
            current[draw(keys)] = draw(values)
        elif isinstance(current, list):
            current.append(draw(values))
    return document


# --- checks -------------------------------------------------------------------------------


def _write(folder: Path, document: Any) -> Path:
    # Non-ASCII text is written escaped: with allow_unicode=True, PyYAML's emitter turns a
    # NEL (U+0085) in a plain or single-quoted scalar into a line break, which reads back as a space.
    path = folder / "request.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _assert_located(problems: list[Problem], path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n") + 1
    assert problems, "an invalid document must say why"
    for problem in problems:
        assert problem.file == str(path), problem
        assert problem.message.strip(), problem
        assert 1 <= problem.line <= lines and problem.column >= 1, f"not located in the file: {problem}"


def _validate(path: Path, platform: LoadedPlatform) -> LoadedRequest | None:
    """The request when valid (then it must also resolve and name everything within the rules)."""
    try:
        loaded = load_request(path, platform)
    except DocumentInvalid as e:
        _assert_located(e.problems, path)
        assert any(p.severity is Severity.ERROR for p in e.problems), e.problems
        return None
    config = platform.config
    environment = default_environment(config, str(loaded.request.spec.cloud))
    spec = resolve(loaded.request, config, environment, request_dir=path.parent)
    resolved = [spec.stack, *(p.table for p in spec.ports)]
    resolved += [spec.aws.bucket, spec.aws.producer_role, spec.aws.glue_database] if spec.aws else []
    resolved += [spec.gcp.bucket, spec.gcp.dataset, spec.gcp.producer_service_account] if spec.gcp else []
    assert all(name for name in resolved)
    assert all(RULES["gcp_label"].check(v) for v in spec.labels.values()), spec.labels
    return loaded


def _contains(whole: Any, part: Any) -> bool:
    """Whether everything in `part` is in `whole` (which may add defaults)."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(k in whole and _contains(whole[k], v) for k, v in part.items())
    if isinstance(part, list):
        return isinstance(whole, list) and len(whole) == len(part) and all(map(_contains, whole, part))
    return bool(whole == part)


@given(document=valid_requests())
def test_property_valid_requests_round_trip_through_yaml(
    folder: Path, platform: LoadedPlatform, document: dict[str, Any]
) -> None:
    loaded = _validate(_write(folder, document), platform)
    assert loaded is not None, "the strategy makes valid requests only"
    assert all(w.severity is Severity.WARNING for w in loaded.warnings)
    written = loaded.request.to_document()
    assert _contains(written, document), "to_document() lost something the user wrote"

    again = _validate(_write(folder, written), platform)

    assert again is not None
    assert again.request == loaded.request
    assert again.request.to_document() == written


@given(document=mutated_requests())
def test_property_mutated_requests_fail_only_with_located_problems(
    folder: Path, platform: LoadedPlatform, document: dict[str, Any]
) -> None:
    _validate(_write(folder, document), platform)


@given(
    document=values
    | st.fixed_dictionaries(
        {"apiVersion": st.just("mesh/v1"), "kind": st.just("DataProduct")},
        optional={
            "metadata": st.dictionaries(keys, values, max_size=6),
            "spec": st.dictionaries(keys, values, max_size=8),
        },
    )
)
def test_property_arbitrary_documents_fail_only_with_located_problems(
    folder: Path, platform: LoadedPlatform, document: Any
) -> None:
    _validate(_write(folder, document), platform)


@given(data=st.data())
def test_property_corrupted_yaml_text_fails_only_with_located_problems(
    folder: Path, platform: LoadedPlatform, data: st.DataObject
) -> None:
    text = yaml.safe_dump(data.draw(valid_requests()), sort_keys=False)
    at = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 3))
    insert = data.draw(
        st.sampled_from(
            ["", ":", "-", "[", "{", "}", "\t", "'", '"', "&a", "*a", "!!python/name:os.system", "\n  ", "? "]
        )
    )
    path = folder / "request.yaml"
    path.write_text(text[:at] + insert + text[at + cut :], encoding="utf-8")

    _validate(path, platform)


@given(content=st.text() | st.binary())
def test_property_any_file_content_is_a_problem_not_a_crash(
    folder: Path, platform: LoadedPlatform, content: str | bytes
) -> None:
    path = folder / "request.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")

    try:
        load_request(path, platform)
    except DocumentInvalid as e:
        assert e.problems and all(p.file == str(path) and p.message for p in e.problems)


@given(text=st.text())
def test_property_parse_document_raises_only_document_invalid(text: str) -> None:
    try:
        doc = parse_document(text, file="x.yaml")
    except DocumentInvalid as e:
        assert all(p.file == "x.yaml" for p in e.problems)
    else:
        assert isinstance(doc.data, dict)
        assert all(line >= 1 and column >= 1 for line, column in doc.positions.values())
