"""ODCS export: every example becomes a contract the standard's own JSON Schema accepts, and
the contract says what the request says."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard

from infra.contract import ODCS_API_VERSION, data_contract, logical_type, request_from_contract
from infra.model.spec import ProductSpec
from infra.scaffold import dump_request
from infra.validation import load_spec

EXAMPLES = ("sales-orders", "finance-payroll", "marketing-campaigns")
ODCS_SCHEMA = json.loads(resources.files("open_data_contract_standard").joinpath("schema.json").read_text())


def _contract(examples_dir: Path, example: str, env: str | None = None) -> tuple[ProductSpec, dict[str, Any]]:
    spec, _, loaded = load_spec(
        examples_dir / "products" / f"{example}.yaml", platform_path=None, environment=env
    )
    document = yaml.safe_load(data_contract(spec, loaded.config).to_yaml())
    return spec, document


@pytest.mark.parametrize("example", EXAMPLES)
def test_each_example_exports_a_contract_the_odcs_schema_accepts(examples_dir: Path, example: str) -> None:
    spec, document = _contract(examples_dir, example)

    errors = sorted(
        jsonschema.Draft201909Validator(ODCS_SCHEMA).iter_errors(document), key=lambda e: list(e.path)
    )
    assert not errors, f"{example}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors)
    assert document["apiVersion"] == ODCS_API_VERSION and document["kind"] == "DataContract"
    assert document["id"] == f"acme.{spec.domain}.{spec.product}"
    assert document["version"] == spec.version
    assert document["domain"] == spec.domain
    assert document["team"]["members"][0] == {"username": spec.owner, "role": "owner"}


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_schema_is_the_requests_ports_columns_and_partitioning(examples_dir: Path, example: str) -> None:
    spec, document = _contract(examples_dir, example)

    objects = {o["name"]: o for o in document["schema"]}
    assert list(objects) == [p.name for p in spec.ports], example
    for port in spec.ports:
        properties = {p["name"]: p for p in objects[port.name]["properties"]}
        assert objects[port.name]["physicalName"] == port.table
        assert [(p["name"], p["physicalType"]) for p in objects[port.name]["properties"]] == [
            (c.name, c.type) for c in port.all_columns
        ], f"{example}/{port.name}"
        for column in port.all_columns:
            prop = properties[column.name]
            assert prop.get("required", False) == column.required, f"{example}/{port.name}.{column.name}"
            assert ("pii" in prop.get("tags", [])) == column.pii, f"{example}/{port.name}.{column.name}"
            if column.pii:
                assert prop["classification"] == spec.classification
        keys = [c.name for c in port.partition_keys] or (
            [port.partition_column] if port.partition_column else []
        )
        assert [
            p["name"]
            for p in sorted(properties.values(), key=lambda p: p.get("partitionKeyPosition", 0))
            if p.get("partitioned")
        ] == keys, f"{example}/{port.name}"


def test_an_aws_product_is_served_by_athena_and_each_consumer_is_a_read_role(examples_dir: Path) -> None:
    spec, document = _contract(examples_dir, "sales-orders", "prod")
    aws = spec.require_aws()

    assert document["servers"] == [
        {
            "server": "prod-athena",
            "type": "athena",
            "description": f"Glue catalog database {aws.glue_database}; data under s3://{aws.bucket}/data/",
            "environment": "prod",
            "catalog": "awsdatacatalog",
            "regionName": "eu-west-1",
            "schema": aws.glue_database,
        }
    ]
    roles = {r["role"]: r for r in document["roles"]}
    assert set(roles) == {aws.role_arn(g.aws_role) for g in spec.grants}
    finance = roles[aws.role_arn(next(g.aws_role for g in spec.grants if g.domain == "finance"))]
    assert finance["access"] == "read"
    properties = {p["property"]: p["value"] for p in finance["customProperties"]}
    assert properties["meshPorts"] == ["order_lines", "daily_revenue"]
    assert properties["meshAthenaResults"] == f"s3://{aws.bucket}/athena-results/finance/"
    sla = {s["property"]: s for s in document["slaProperties"]}
    assert (sla["latency"]["value"], sla["latency"]["unit"]) == (24, "h")
    assert (sla["retention"]["value"], sla["retention"]["unit"]) == (365, "d")
    assert sla["frequency"]["schedule"] == "0 2 * * *"


def test_a_gcp_product_is_served_by_bigquery(examples_dir: Path) -> None:
    spec, document = _contract(examples_dir, "marketing-campaigns")
    assert spec.gcp is not None

    (server,) = document["servers"]
    assert (server["type"], server["project"], server["dataset"]) == (
        "bigquery",
        spec.gcp.project,
        spec.gcp.dataset,
    )
    assert all(r["role"].startswith("serviceAccount:") for r in document.get("roles", []))


@dataclass
class Case:
    reason: str
    given: str
    want: str | None


@pytest.mark.parametrize(
    "case",
    [
        Case("a parametric Glue type", "decimal(12,2)", "number"),
        Case("a BigQuery type in capitals", "NUMERIC(12,2)", "number"),
        Case("a Glue integer", "bigint", "integer"),
        Case("BigQuery's integer", "INT64", "integer"),
        Case("a complex Glue type", "array<string>", "array"),
        Case("a BigQuery struct", "STRUCT<a INT64>", "object"),
        Case("a Glue map", "map<string,int>", "map"),
        Case("BigQuery's DATETIME", "DATETIME", "timestamp"),
        Case("varchar", "varchar(20)", "string"),
        Case("binary has no ODCS logical type", "binary", None),
        Case("nor has GEOGRAPHY", "GEOGRAPHY", None),
    ],
    ids=lambda c: c.reason,
)
def test_logical_types(case: Case) -> None:
    assert logical_type(case.given) == case.want, case.reason


# --- ODCS → request ----------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES)
def test_an_exported_contract_imports_back_to_the_same_product(
    examples_dir: Path, example: str, tmp_path: Path
) -> None:
    spec, _, loaded = load_spec(
        examples_dir / "products" / f"{example}.yaml", platform_path=None, environment=None
    )
    contract = OpenDataContractStandard.model_validate(
        yaml.safe_load(data_contract(spec, loaded.config).to_yaml())
    )

    document, notes = request_from_contract(contract)

    assert notes == [], f"{example}: mesh's own export needs no assumption: {notes}"
    shutil.copytree(examples_dir / "products" / "jobs", tmp_path / "jobs")
    path = tmp_path / f"{example}.yaml"
    path.write_text(dump_request(document))
    again, _, _ = load_spec(path, platform_path=examples_dir / "mesh.yaml", environment=spec.environment)
    assert again.contract() == spec.contract(), example
    assert (again.owner, again.description, again.retention_days, again.freshness_hours) == (
        spec.owner, spec.description, spec.retention_days, spec.freshness_hours,
    )  # fmt: skip
    assert (again.query_limit_bytes, again.inputs) == (spec.query_limit_bytes, spec.inputs), example
    assert (again.transform and again.transform.schedule) == (spec.transform and spec.transform.schedule)


FOREIGN = """
apiVersion: v3.0.2
kind: DataContract
id: 53581432-6c55-4ba2-a65f-72344a91553a
version: 2.1.0
status: active
domain: marketing
dataProduct: marketing/web-sessions
description: {purpose: One row per web session.}
servers:
  - {server: prod, type: bigquery, project: acme-analytics, dataset: sessions}
team:
  - {username: web-analytics@example.com, role: Data Steward}
slaProperties:
  - {property: latency, value: 2, unit: d}
  - {property: retention, value: 1, unit: y}
schema:
  - name: Sessions
    physicalName: sessions
    properties:
      - {name: session_id, logicalType: string, physicalType: varchar(36), required: true}
      - {name: started, logicalType: timestamp, physicalType: TIMESTAMP}
      - {name: visitor_email, logicalType: string, tags: [pii]}
      - {name: day, logicalType: date, physicalType: DATE, partitioned: true, partitionKeyPosition: 1}
roles:
  - {role: bq-readers, access: read}
"""


def test_a_foreign_contract_is_drafted_with_every_assumption_listed() -> None:
    document, notes = request_from_contract(OpenDataContractStandard.model_validate(yaml.safe_load(FOREIGN)))

    assert document["metadata"] == {
        "domain": "marketing",
        "name": "web-sessions",
        "owner": "web-analytics@example.com",
        "description": "One row per web session.",
        "version": "2.1.0",
    }
    spec = document["spec"]
    assert isinstance(spec, dict)
    assert (spec["cloud"], spec["classification"], spec["retentionDays"], spec["slo"]) == (
        "gcp", "internal", 365, {"freshnessHours": 48},
    )  # fmt: skip
    assert spec["outputPorts"] == [
        {
            "name": "sessions",
            "format": "parquet",
            "partitionedBy": ["day"],
            "schema": [
                {"name": "session_id", "type": "STRING", "required": True},
                {"name": "started", "type": "TIMESTAMP"},
                {"name": "visitor_email", "type": "STRING", "pii": True},
                {"name": "day", "type": "DATE"},
            ],
        }
    ]
    assert notes == [
        "no classification in the contract: internal assumed",
        "sessions.session_id: physicalType varchar(36) is not a gcp column type; logicalType string gives STRING",
        "sessions.visitor_email: physicalType (none) is not a gcp column type; logicalType string gives STRING",
        "role bq-readers: not a mesh consumer grant; add it under spec.access.consumers if needed",
    ]
