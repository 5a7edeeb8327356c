"""`mesh schema`: the JSON Schema editors use, which must agree with what `mesh validate` accepts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app


@dataclass
class Case:
    reason: str
    given: Any
    want: Any


def _schema(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["schema", *args])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "the request by default",
            [],
            (
                "https://mesh.dev/schemas/v1/request.json",
                "mesh data product request (mesh/v1 DataProduct)",
                ["apiVersion", "kind", "metadata", "spec"],
            ),
        ),
        Case(
            "the platform config on demand",
            ["--kind", "platform"],
            (
                "https://mesh.dev/schemas/v1/platform.json",
                "mesh platform config (mesh.yaml)",
                ["apiVersion", "kind", "organization", "domains", "environments"],
            ),
        ),
    ],
    ids=lambda c: c.reason,
)
def test_schema_header(case: Case) -> None:
    schema = _schema(*case.given)

    schema_id, title, required = case.want
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", case.reason
    assert (schema["$id"], schema["title"]) == (schema_id, title), case.reason
    assert schema["required"] == required, case.reason
    assert schema["additionalProperties"] is False, case.reason


def test_the_request_schema_uses_the_names_users_write() -> None:
    defs = _schema()["$defs"]

    assert set(defs["Spec"]["properties"]) == {
        "cloud",
        "classification",
        "retentionDays",
        "outputPorts",
        "inputPorts",
        "compute",
        "access",
        "slo",
    }
    assert "schema" in defs["OutputPort"]["properties"]
    assert "partitionedBy" in defs["OutputPort"]["properties"]
    assert defs["Cloud"]["enum"] == ["aws", "gcp"]


def test_an_unknown_kind_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["schema", "--kind", "contract"])

    assert result.exit_code == 2
    assert "'contract' is not one of" in result.stderr


def test_the_output_is_plain_json() -> None:
    result = CliRunner().invoke(app, ["schema"])

    assert "\x1b[" not in result.stdout, "no colour codes for machines"
    assert result.stdout.endswith("}\n")


@pytest.mark.parametrize(
    "case",
    [
        Case("sales/orders", "products/sales-orders.yaml", []),
        Case("marketing/campaign-performance", "products/marketing-campaigns.yaml", []),
        Case("finance/payroll", "products/finance-payroll.yaml", []),
        Case(
            "a misspelt field",
            ("products/sales-orders.yaml", "retentionDays", "retentionDay"),
            ["'retentionDay' was unexpected", "'retentionDays' is a required property"],
        ),
        Case("an unknown cloud", ("products/sales-orders.yaml", "cloud: aws", "cloud: azure"), ["azure"]),
        Case(
            "a product name in capitals",
            ("products/sales-orders.yaml", "name: orders", "name: Orders"),
            ["Orders"],
        ),
    ],
    ids=lambda c: c.reason,
)
def test_the_schema_agrees_with_the_examples(examples_dir: Path, case: Case) -> None:
    jsonschema = pytest.importorskip(
        "jsonschema", reason="jsonschema comes with moto[server]; without it the schema is not checked"
    )
    file, *edit = case.given if isinstance(case.given, tuple) else (case.given,)
    text = (examples_dir / file).read_text(encoding="utf-8")
    if edit:
        text = text.replace(edit[0], edit[1], 1)
    validator = jsonschema.Draft202012Validator(_schema())

    errors = [e.message for e in validator.iter_errors(yaml.safe_load(text))]

    assert len(errors) == len(case.want), f"{case.reason}: {errors}"
    for fragment in case.want:
        assert any(fragment in message for message in errors), f"{case.reason}: {fragment} not in {errors}"


def test_the_platform_schema_accepts_the_example(platform_path: Path) -> None:
    jsonschema = pytest.importorskip(
        "jsonschema", reason="jsonschema comes with moto[server]; without it the schema is not checked"
    )
    validator = jsonschema.Draft202012Validator(_schema("--kind", "platform"))

    errors = [
        e.message for e in validator.iter_errors(yaml.safe_load(platform_path.read_text(encoding="utf-8")))
    ]

    assert errors == []
