"""ODPS export: every example, in every environment, is a descriptor the official ODPS JSON Schema of
the version it declares accepts, and it says what the request says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from infra.contract import data_contract
from infra.odps import ODPS_API_VERSION, data_product
from infra.standard_schemas import ODPS_SCHEMAS, STANDARDS_DIR
from infra.validation import load_spec

EXAMPLES = ("sales-orders", "finance-payroll", "marketing-campaigns")


def _descriptor(examples_dir: Path, example: str, env: str | None = None) -> tuple[Any, dict[str, Any]]:
    spec, _, platform = load_spec(
        examples_dir / "products" / f"{example}.yaml", platform_path=None, environment=env
    )
    # Through YAML, as a file would carry it.
    return spec, yaml.safe_load(yaml.safe_dump(data_product(spec, platform.config), sort_keys=False))


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("example", EXAMPLES)
def test_each_example_is_valid_odps_for_the_version_it_declares(
    examples_dir: Path, example: str, env: str
) -> None:
    _, document = _descriptor(examples_dir, example, env)
    schema = json.loads((STANDARDS_DIR / ODPS_SCHEMAS[document["apiVersion"]]).read_text())

    errors = sorted(jsonschema.Draft201909Validator(schema).iter_errors(document), key=lambda e: list(e.path))

    assert not errors, f"{example}/{env}: " + "; ".join(f"{list(e.path)}: {e.message}" for e in errors)
    assert (document["apiVersion"], document["kind"]) == (ODPS_API_VERSION, "DataProduct")


def test_ports_reference_their_odcs_contracts_and_the_owner_is_the_support(examples_dir: Path) -> None:
    spec, document = _descriptor(examples_dir, "sales-orders", "prod")
    _, loaded, platform = load_spec(
        examples_dir / "products" / "sales-orders.yaml", platform_path=None, environment="prod"
    )
    contract = data_contract(spec, platform.config, request=loaded.request)

    assert [p["name"] for p in document["outputPorts"]] == ["order_lines", "daily_revenue"]
    for port in document["outputPorts"]:
        assert (port["contractId"], port["version"]) == (contract.id, contract.version)
    readers = {
        p["name"]: next(c["value"] for c in p["customProperties"] if c["property"] == "readers")
        for p in document["outputPorts"]
    }
    assert readers == {"order_lines": ["finance", "marketing"], "daily_revenue": ["finance"]}
    assert document["inputPorts"] == [
        {
            "name": "support/tickets:tickets",
            "contractId": "acme.support.tickets",
            "customProperties": [
                {"property": "meshProduct", "value": "support/tickets"},
                {"property": "meshPort", "value": "tickets"},
            ],
        }
    ]
    assert document["team"]["members"][0] == {"username": "sales-data@example.com", "role": "owner"}
    assert document["support"][0]["url"] == "mailto:sales-data@example.com"
    custom = {c["property"]: c["value"] for c in document["customProperties"]}
    assert custom["slo"] == {"freshnessHours": 24}
    assert (custom["retentionDays"], custom["meshClassification"]) == (365, "confidential")


def test_a_product_without_inputs_or_slo_leaves_them_out(examples_dir: Path) -> None:
    _, document = _descriptor(examples_dir, "finance-payroll")
    _, gcp = _descriptor(examples_dir, "marketing-campaigns")

    assert "inputPorts" not in document
    assert {c["property"]: c["value"] for c in document["customProperties"]}["slo"] == {"freshnessHours": 744}
    assert gcp["tags"] == ["internal", "gcp"]
