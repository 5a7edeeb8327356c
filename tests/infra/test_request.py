"""The request model on its own: shapes, single-field rules, defaults and the document it writes back."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from infra.model.request import Classification, Cloud, DataProductRequest, Format


@dataclass
class Case:
    reason: str
    given: Any
    want: Any


def _set(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `document` with the dotted `path` (list indexes as numbers) set, or removed for `...`."""
    out = copy.deepcopy(document)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    target: Any = out
    for part in parents:
        target = target[part]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return out


def test_minimal_request_gets_its_defaults(minimal_request: dict[str, Any]) -> None:
    request = DataProductRequest.model_validate(minimal_request)

    port = request.spec.output_ports[0]
    assert request.metadata.version == "1.0.0"
    assert request.spec.cloud is Cloud.AWS
    assert request.spec.classification is Classification.INTERNAL
    assert port.format is Format.PARQUET
    assert [c.name for c in port.columns] == ["order_id", "order_date"]
    assert port.partitioned_by == ["order_date"]
    assert request.spec.compute.query.bytes_scanned_limit_gb == 10
    assert request.spec.compute.transform is None
    assert request.spec.input_ports == []
    assert request.spec.slo is None


@pytest.mark.parametrize(
    "case",
    [
        Case("a domain of 20 characters", ("metadata.domain", "a" * 20), "a" * 20),
        Case("a product with hyphens", ("metadata.name", "campaign-performance"), "campaign-performance"),
        Case("a product of 40 characters", ("metadata.name", "p" * 40), "p" * 40),
        Case("a plus address", ("metadata.owner", "team+data@example.co.uk"), "team+data@example.co.uk"),
        Case("a version", ("metadata.version", "10.0.12"), "10.0.12"),
        Case("gcp", ("spec.cloud", "gcp"), "gcp"),
        Case("retention at its upper bound", ("spec.retentionDays", 36_500), 36_500),
        Case("iceberg", ("spec.outputPorts.0.format", "iceberg"), "iceberg"),
        Case("an slo of one year", ("spec.slo", {"freshnessHours": 8784}), {"freshnessHours": 8784}),
        Case(
            "a transform",
            ("spec.compute", {"transform": {"schedule": "0 2 * * *", "entrypoint": "jobs/x.py"}}),
            {
                "query": {"bytesScannedLimitGb": 10},
                "transform": {"schedule": "0 2 * * *", "entrypoint": "jobs/x.py"},
            },
        ),
        Case(
            "lineage",
            ("spec.inputPorts", [{"product": "crm/customer-master", "port": "customers"}]),
            [{"product": "crm/customer-master", "port": "customers"}],
        ),
    ],
    ids=lambda c: c.reason,
)
def test_valid_values(minimal_request: dict[str, Any], case: Case) -> None:
    path, value = case.given

    request = DataProductRequest.model_validate(_set(minimal_request, path, value))

    written: Any = request.to_document()
    for part in path.split("."):
        written = written[int(part) if part.isdigit() else part]
    assert written == case.want, case.reason


@pytest.mark.parametrize(
    "case",
    [
        Case("wrong apiVersion", ("apiVersion", "mesh/v2"), ("apiVersion", "literal_error")),
        Case("wrong kind", ("kind", "Platform"), ("kind", "literal_error")),
        Case("missing metadata", ("metadata", ...), ("metadata", "missing")),
        Case(
            "domain with a hyphen",
            ("metadata.domain", "sales-eu"),
            ("metadata.domain", "string_pattern_mismatch"),
        ),
        Case(
            "domain of one letter", ("metadata.domain", "s"), ("metadata.domain", "string_pattern_mismatch")
        ),
        Case(
            "domain of 21 characters",
            ("metadata.domain", "a" * 21),
            ("metadata.domain", "string_pattern_mismatch"),
        ),
        Case(
            "product in capitals", ("metadata.name", "Orders"), ("metadata.name", "string_pattern_mismatch")
        ),
        Case(
            "product with an underscore",
            ("metadata.name", "order_lines"),
            ("metadata.name", "string_pattern_mismatch"),
        ),
        Case(
            "product with a double hyphen",
            ("metadata.name", "a--b"),
            ("metadata.name", "string_pattern_mismatch"),
        ),
        Case(
            "product ending in a hyphen",
            ("metadata.name", "orders-"),
            ("metadata.name", "string_pattern_mismatch"),
        ),
        Case("product of 41 characters", ("metadata.name", "p" * 41), ("metadata.name", "string_too_long")),
        Case("product of one letter", ("metadata.name", "p"), ("metadata.name", "string_too_short")),
        Case(
            "owner not an email", ("metadata.owner", "sales"), ("metadata.owner", "string_pattern_mismatch")
        ),
        Case("empty description", ("metadata.description", ""), ("metadata.description", "string_too_short")),
        Case(
            "version not semver", ("metadata.version", "1.0"), ("metadata.version", "string_pattern_mismatch")
        ),
        Case("unknown metadata field", ("metadata.team", "x"), ("metadata.team", "extra_forbidden")),
        Case("unknown cloud", ("spec.cloud", "azure"), ("spec.cloud", "enum")),
        Case("unknown classification", ("spec.classification", "secret"), ("spec.classification", "enum")),
        Case("zero retention", ("spec.retentionDays", 0), ("spec.retentionDays", "greater_than_equal")),
        Case(
            "retention beyond a century",
            ("spec.retentionDays", 36_501),
            ("spec.retentionDays", "less_than_equal"),
        ),
        Case("retention as words", ("spec.retentionDays", "a year"), ("spec.retentionDays", "int_parsing")),
        Case("no output ports", ("spec.outputPorts", []), ("spec.outputPorts", "too_short")),
        Case(
            "port name with a hyphen",
            ("spec.outputPorts.0.name", "order-lines"),
            ("spec.outputPorts.0.name", "string_pattern_mismatch"),
        ),
        Case("unknown format", ("spec.outputPorts.0.format", "xml"), ("spec.outputPorts.0.format", "enum")),
        Case("empty schema", ("spec.outputPorts.0.schema", []), ("spec.outputPorts.0.schema", "too_short")),
        Case(
            "column in capitals",
            ("spec.outputPorts.0.schema.0.name", "OrderId"),
            ("spec.outputPorts.0.schema.0.name", "string_pattern_mismatch"),
        ),
        Case(
            "empty column type",
            ("spec.outputPorts.0.schema.0.type", ""),
            ("spec.outputPorts.0.schema.0.type", "string_too_short"),
        ),
        Case(
            "pii as words",
            ("spec.outputPorts.0.schema.0.pii", "maybe"),
            ("spec.outputPorts.0.schema.0.pii", "bool_parsing"),
        ),
        Case(
            "a consumer without ports",
            ("spec.access.consumers.0.ports", []),
            ("spec.access.consumers.0.ports", "too_short"),
        ),
        Case(
            "a scan limit of zero",
            ("spec.compute", {"query": {"bytesScannedLimitGb": 0}}),
            ("spec.compute.query.bytesScannedLimitGb", "greater_than_equal"),
        ),
        Case(
            "an absolute entrypoint",
            ("spec.compute", {"transform": {"schedule": "0 2 * * *", "entrypoint": "/jobs/x.py"}}),
            ("spec.compute.transform.entrypoint", "string_pattern_mismatch"),
        ),
        Case(
            "an entrypoint that is not python",
            ("spec.compute", {"transform": {"schedule": "0 2 * * *", "entrypoint": "jobs/x.sh"}}),
            ("spec.compute.transform.entrypoint", "string_pattern_mismatch"),
        ),
        Case(
            "input port without a domain",
            ("spec.inputPorts", [{"product": "customers", "port": "c"}]),
            ("spec.inputPorts.0.product", "string_pattern_mismatch"),
        ),
        Case(
            "freshness of zero hours",
            ("spec.slo", {"freshnessHours": 0}),
            ("spec.slo.freshnessHours", "greater_than_equal"),
        ),
    ],
    ids=lambda c: c.reason,
)
def test_invalid_values(minimal_request: dict[str, Any], case: Case) -> None:
    path, value = case.given

    with pytest.raises(ValidationError) as caught:
        DataProductRequest.model_validate(_set(minimal_request, path, value))

    found = {(".".join(str(p) for p in e["loc"]), e["type"]) for e in caught.value.errors()}
    assert case.want in found, f"{case.reason}: {found}"


def test_requests_are_frozen(minimal_request: dict[str, Any]) -> None:
    request = DataProductRequest.model_validate(minimal_request)

    with pytest.raises(ValidationError):
        request.metadata.name = "other"  # type: ignore[misc]


def test_to_document_is_what_a_user_writes(minimal_request: dict[str, Any]) -> None:
    document = DataProductRequest.model_validate(minimal_request).to_document()

    assert list(document) == ["apiVersion", "kind", "metadata", "spec"]
    assert document["metadata"] == {**minimal_request["metadata"], "version": "1.0.0"}
    spec: Any = document["spec"]
    assert spec["retentionDays"] == 30
    assert "slo" not in spec, "unset optional sections are left out"
    assert spec["outputPorts"][0]["schema"][1] == {
        "name": "order_date",
        "type": "date",
        "required": False,
        "pii": False,
    }
    assert "description" not in spec["outputPorts"][0]


def test_to_document_round_trips_through_yaml(minimal_request: dict[str, Any]) -> None:
    request = DataProductRequest.model_validate(minimal_request)

    again = DataProductRequest.model_validate(yaml.safe_load(yaml.safe_dump(request.to_document())))

    assert again == request
    assert again.to_document() == request.to_document()
