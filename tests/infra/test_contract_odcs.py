"""ODCS export: every example, in every environment, becomes a contract the official JSON Schema
of the version it declares accepts (the copy kept in infra/standards/, not the models package's
own), and the contract says what the request says."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from infra.contract import ODCS_API_VERSION, data_contract, logical_type
from infra.model.spec import ProductSpec
from infra.standard_schemas import STANDARDS_DIR, odcs_schema_file
from infra.validation import load_spec

EXAMPLES = ("sales-orders", "finance-payroll", "marketing-campaigns")
ENVIRONMENTS = ("dev", "prod")


def _contract(examples_dir: Path, example: str, env: str | None = None) -> tuple[ProductSpec, dict[str, Any]]:
    spec, loaded, platform = load_spec(
        examples_dir / "products" / f"{example}.yaml", platform_path=None, environment=env
    )
    document = yaml.safe_load(data_contract(spec, platform.config, request=loaded.request).to_yaml())
    return spec, document


def test_mesh_writes_the_latest_released_odcs_version_whose_official_schema_it_keeps() -> None:
    assert ODCS_API_VERSION == "v3.1.0"
    schema = json.loads((STANDARDS_DIR / "odcs-json-schema-v3.1.0.json").read_text())
    # The kept copy is the strict v3.1.0 line: an Athena server must name its stagingDir.
    athena = json.dumps(schema)
    assert '"stagingDir"' in athena and schema["properties"]["apiVersion"]["enum"][:1] != ["v3.2.0"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("example", EXAMPLES)
def test_each_example_exports_a_contract_valid_for_the_version_it_declares(
    examples_dir: Path, example: str, env: str
) -> None:
    spec, document = _contract(examples_dir, example, env)
    schema_file = odcs_schema_file(document["apiVersion"])
    assert schema_file == "odcs-json-schema-v3.1.0.json"
    schema = json.loads((STANDARDS_DIR / schema_file).read_text())

    errors = sorted(jsonschema.Draft201909Validator(schema).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, f"{example}/{env}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors)
    assert document["apiVersion"] == ODCS_API_VERSION and document["kind"] == "DataContract"
    assert document["id"] == f"acme.{spec.domain}.{spec.product}"
    assert document["version"] == spec.version
    assert document["domain"] == spec.domain
    assert "dataProduct" not in document  # deprecated since v3.1.0
    assert document["team"]["members"][0] == {"username": spec.owner, "role": "owner"}


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_schema_is_the_requests_ports_columns_and_partitioning(examples_dir: Path, example: str) -> None:
    spec, document = _contract(examples_dir, example)
    request = yaml.safe_load((examples_dir / "products" / f"{example}.yaml").read_text())
    declared = {p["name"]: [c["name"] for c in p["schema"]] for p in request["spec"]["outputPorts"]}

    objects = {o["name"]: o for o in document["schema"]}
    assert list(objects) == [p.name for p in spec.ports], example
    for port in spec.ports:
        properties = {p["name"]: p for p in objects[port.name]["properties"]}
        assert objects[port.name]["physicalName"] == port.table
        # In the request's column order, whatever order the catalog keeps them in.
        assert [p["name"] for p in objects[port.name]["properties"]] == declared[port.name]
        assert sorted((p["name"], p["physicalType"]) for p in objects[port.name]["properties"]) == sorted(
            (c.name, c.type) for c in port.all_columns
        ), f"{example}/{port.name}"
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
            "stagingDir": f"s3://{aws.bucket}/athena-results/producer/",
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
    want: str


@pytest.mark.parametrize(
    "case",
    [
        Case("a parametric Glue type", "decimal(12,2)", "number"),
        Case("a BigQuery type in capitals", "NUMERIC(12,2)", "number"),
        Case("a Glue integer", "bigint", "integer"),
        Case("BigQuery's integer", "INT64", "integer"),
        Case("a complex Glue type", "array<string>", "array"),
        Case("a BigQuery struct", "STRUCT<a INT64>", "object"),
        Case("a Glue map is an object (v3.1.0 has no map)", "map<string,int>", "object"),
        Case("BigQuery's DATETIME", "DATETIME", "timestamp"),
        Case("varchar", "varchar(20)", "string"),
        Case("binary is carried as a string; the physical type stays exact", "binary", "string"),
        Case("GEOGRAPHY is an object", "GEOGRAPHY", "object"),
        Case("JSON is an object", "JSON", "object"),
    ],
    ids=lambda c: c.reason,
)
def test_logical_types(case: Case) -> None:
    assert logical_type(case.given) == case.want, case.reason
