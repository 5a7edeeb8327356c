"""ODCS import: contracts are checked against their version's schema first, read as far as mesh can,
and every assumption is a note located in the contract."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.contract import (
    check_draft,
    data_contract,
    draft_request,
    read_contract,
    render_draft,
)
from infra.model.errors import DocumentInvalid, Severity
from infra.model.platform import PlatformConfig
from infra.validation import load_platform, load_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PRODUCTS = ("sales-orders", "finance-payroll", "marketing-campaigns")


@pytest.fixture
def platform() -> PlatformConfig:
    return load_platform(EXAMPLES / "mesh.yaml").config


def _write(tmp_path: Path, text: str, name: str = "c.odcs.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


FOREIGN = """\
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
  - {property: availability, value: 99.9%}
schema:
  - name: Sessions
    physicalName: sessions
    properties:
      - {name: session_id, logicalType: string, physicalType: varchar(36), required: true}
      - {name: amount, logicalType: number, physicalType: "decimal(12,2)"}
      - {name: visitor_email, logicalType: string, tags: [pii], classification: restricted}
      - {name: day, logicalType: date, physicalType: DATE, partitioned: true, partitionKeyPosition: 1}
      - name: country
        physicalType: varchar(2)
        quality: [{type: library, metric: nullValues, mustBe: 0}]
roles:
  - {role: bq-readers, access: read}
"""


def test_a_foreign_contract_is_drafted_losslessly_with_every_assumption_located(tmp_path: Path) -> None:
    path = _write(tmp_path, FOREIGN)

    draft = draft_request(read_contract(path))

    assert draft.document["metadata"] == {
        "domain": "marketing",
        "name": "web-sessions",
        "owner": "web-analytics@example.com",
        "description": "One row per web session.",
        "version": "2.1.0",
    }
    spec = draft.document["spec"]
    # The strictest column classification is the product's; a day of latency is 24 hours.
    assert (spec["cloud"], spec["classification"], spec["retentionDays"], spec["slo"]) == (
        "gcp", "restricted", 365, {"freshnessHours": 48},
    )  # fmt: skip
    assert spec["outputPorts"] == [
        {
            "name": "sessions",
            "format": "parquet",
            "partitionedBy": ["day"],
            "schema": [
                {"name": "session_id", "type": "STRING(36)", "required": True},
                {"name": "amount", "type": "NUMERIC(12,2)"},
                {"name": "visitor_email", "type": "STRING", "pii": True},
                {"name": "day", "type": "DATE"},
                {"name": "country", "type": "STRING(2)"},
            ],
        }
    ]
    notes = {n.path: (n.line, n.message) for n in draft.notes}
    assert all(n.severity is Severity.WARNING and n.file == str(path) for n in draft.notes)
    assert notes["slaProperties[2]"] == (
        16,
        "service level 'availability' is not enforced by mesh (kept as comments)",
    )
    assert notes["schema[0].properties[4].quality"][1].endswith(
        "quality rules are not checked by mesh (kept as comments)"
    )
    assert notes["servers[0]"][1].startswith("server 'prod' (bigquery) is not provisioned")
    assert notes["roles[0]"][1].startswith("role 'bq-readers': not a mesh consumer grant")
    assert notes["schema[0]"][1] == "port sessions: no file format (a tag parquet|iceberg|json|csv): parquet"


def test_what_mesh_does_not_provision_is_kept_in_the_draft_as_comments(tmp_path: Path) -> None:
    draft = draft_request(read_contract(_write(tmp_path, FOREIGN)))

    text = render_draft(draft, source="c.odcs.yaml")

    body, _, comments = text.partition(
        "# Kept from the contract; mesh does not provision or enforce these:\n"
    )
    assert all(line.startswith("# ") for line in comments.splitlines())
    kept = yaml.safe_load("\n".join(line[2:] for line in comments.splitlines()))
    assert kept == {
        "quality": {"sessions.country": [{"type": "library", "metric": "nullValues", "mustBe": 0}]},
        "slaProperties": [{"property": "availability", "value": "99.9%"}],
        "servers": [
            {"server": "prod", "type": "bigquery", "project": "acme-analytics", "dataset": "sessions"}
        ],
    }
    assert yaml.safe_load(body) == draft.document


@pytest.mark.parametrize("example", PRODUCTS)
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_export_then_import_gives_back_the_request_field_for_field(
    example: str, env: str, tmp_path: Path, platform: PlatformConfig
) -> None:
    source = EXAMPLES / "products" / f"{example}.yaml"
    spec, loaded, _ = load_spec(source, platform_path=None, environment=env)
    exported = _write(tmp_path, data_contract(spec, platform, request=loaded.request).to_yaml())

    draft = draft_request(read_contract(exported), platform=platform)

    # Equal as documents: no default added, no partition or column moved.
    assert draft.document == yaml.safe_load(source.read_text()), example
    assert draft.notes == [] and draft.kept == {}


def test_partition_and_column_order_survive_a_round_trip(tmp_path: Path, platform: PlatformConfig) -> None:
    request = (EXAMPLES / "products" / "finance-payroll.yaml").read_text()
    # A partition column in the middle, and partitions in another order than the columns.
    request = request.replace("partitionedBy: [pay_month, country]", "partitionedBy: [country, employee_id]")
    source = _write(tmp_path, request, "payroll.yaml")
    spec, loaded, _ = load_spec(source, platform_path=EXAMPLES / "mesh.yaml", environment=None)
    exported = _write(tmp_path, data_contract(spec, platform, request=loaded.request).to_yaml())

    draft = draft_request(read_contract(exported), platform=platform)

    assert draft.document == yaml.safe_load(request)


def test_overrides_win_and_names_are_made_valid(tmp_path: Path, platform: PlatformConfig) -> None:
    text = FOREIGN.replace("dataProduct: marketing/web-sessions\n", "name: Web Sessions (EU)\n")
    read = read_contract(_write(tmp_path, text))

    derived = draft_request(read, platform=platform)
    overridden = draft_request(
        read, domain="sales", name="sessions", owner="web@example.com", platform=platform
    )

    assert derived.document["metadata"]["name"] == "web-sessions-eu"
    assert any(
        "'Web Sessions (EU)' is not a product name: web-sessions-eu" in n.message for n in derived.notes
    )
    assert {k: overridden.document["metadata"][k] for k in ("domain", "name", "owner")} == {
        "domain": "sales", "name": "sessions", "owner": "web@example.com",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("given", "want"),
    [
        ({"domain": "Sales & Marketing"}, "salesmarketing"),
        ({"dataProduct": "crm/customers"}, "crm"),
        ({"dataProduct": "my_quantum"}, "myquantum"),
        ({"team": {"name": "data-platform", "members": []}}, "dataplatform"),
    ],
)
def test_the_domain_comes_from_domain_then_data_product_then_team(
    tmp_path: Path, given: dict[str, Any], want: str
) -> None:
    data: dict[str, Any] = {
        "apiVersion": "v3.1.0", "kind": "DataContract", "id": "x1", "version": "1.0.0", "status": "active",
        "schema": [{"name": "t", "properties": [{"name": "a", "logicalType": "string"}]}],
        **given,
    }  # fmt: skip

    draft = draft_request(read_contract(_write(tmp_path, yaml.safe_dump(data))))

    assert draft.document["metadata"]["domain"] == want


def test_the_owner_is_a_team_member_with_an_email_else_the_domains_owner(
    tmp_path: Path, platform: PlatformConfig
) -> None:
    members = """team:
  name: ops
  members:
    - {username: ada, role: Data Product Owner}
    - {username: left@example.com, role: owner, dateOut: "2020-01-01"}
    - {username: grace@example.com, role: Data Steward}
"""
    base = "apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1.0.0\nstatus: active\n"
    base += "schema: [{name: t, properties: [{name: a, logicalType: string}]}]\n"

    with_email = draft_request(
        read_contract(_write(tmp_path, base + members)), domain="sales", platform=platform
    )
    without = draft_request(
        read_contract(_write(tmp_path, base + "team: {members: [{username: ada}]}\n", "b.yaml")),
        domain="sales",
        platform=platform,
    )

    assert with_email.document["metadata"]["owner"] == "grace@example.com"
    assert without.document["metadata"]["owner"] == "sales-data@example.com"
    assert any("sales's registered owner" in n.message for n in without.notes)


def test_long_texts_are_shortened_with_a_note(tmp_path: Path) -> None:
    long = "x" * 1500
    text = FOREIGN.replace("{purpose: One row per web session.}", f"{{purpose: {long}}}")

    draft = draft_request(read_contract(_write(tmp_path, text)))

    description = draft.document["metadata"]["description"]
    assert len(description) == 1000 and description.endswith("…")
    assert any(n.path == "description.purpose" and "1500 characters" in n.message for n in draft.notes)


def test_a_schema_invalid_contract_is_read_with_located_notes(tmp_path: Path) -> None:
    # No `status` (required by every v3 schema) and a string where v3.0.2 wants a boolean.
    text = FOREIGN.replace("status: active\n", "").replace("required: true}", "required: 'yes'}")
    path = _write(tmp_path, text)

    read = read_contract(path)

    messages = {p.path: (p.line, p.message) for p in read.problems}
    assert messages[""] == (1, "not valid ODCS v3.0.2: 'status' is required")
    assert messages["schema[0].properties[0].required"] == (
        20, "not valid ODCS v3.0.2: \"yes\" is not of type boolean",
    )  # fmt: skip
    assert all(p.severity is Severity.WARNING for p in read.problems)
    assert draft_request(read).document["spec"]["outputPorts"][0]["name"] == "sessions"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apiVersion: v2.2.2\nkind: DataContract\n", "apiVersion 'v2.2.2' — mesh reads ODCS v3.0.0, v3.0.1"),
        ("apiVersion: mesh/v1\nkind: DataProduct\n", "kind 'DataProduct' — expected 'DataContract' (ODCS)"),
    ],
)
def test_what_is_not_an_odcs_v3_contract_is_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DocumentInvalid) as refused:
        read_contract(_write(tmp_path, text))

    assert message in refused.value.message


def test_a_later_v3_minor_is_read_with_the_newest_schema_and_a_note(tmp_path: Path) -> None:
    read = read_contract(_write(tmp_path, FOREIGN.replace("v3.0.2", "v3.3.0")))

    assert read.schema_file == "odcs-json-schema-v3.2.0.json"
    assert any(p.path == "apiVersion" and "checked as v3.2.0" in p.message for p in read.problems)


def test_a_draft_problem_is_located_at_the_contract_field_it_came_from(
    tmp_path: Path, platform: PlatformConfig
) -> None:
    path = _write(tmp_path, FOREIGN.replace("domain: marketing\n", "domain: logistics\n"))
    read = read_contract(path)
    draft = draft_request(read, platform=platform)
    shutil.copy(path, tmp_path / "copy.yaml")

    problems = check_draft(
        draft,
        read,
        text=render_draft(draft, source=path.name),
        target=tmp_path / "draft.yaml",
        platform=load_platform(EXAMPLES / "mesh.yaml"),
    )

    (problem,) = [p for p in problems if p.severity is Severity.ERROR]
    assert (problem.file, problem.line, problem.column, problem.path) == (str(path), 6, 9, "domain")
    assert problem.message.startswith("domain 'logistics' is not registered")
    assert problem.message.endswith("(drafted as metadata.domain)")


def test_an_aws_export_imported_for_gcp_gets_bigquery_types(tmp_path: Path, platform: PlatformConfig) -> None:
    spec, loaded, _ = load_spec(
        EXAMPLES / "products" / "finance-payroll.yaml", platform_path=None, environment=None
    )
    exported = _write(tmp_path, data_contract(spec, platform, request=loaded.request).to_yaml())

    draft = draft_request(read_contract(exported), cloud="gcp", platform=platform)

    port = draft.document["spec"]["outputPorts"][0]
    assert {c["name"]: c["type"] for c in port["schema"]} == {
        "employee_id": "STRING",
        "gross": "NUMERIC(12,2)",
        "net": "NUMERIC(12,2)",
        "iban": "STRING(34)",
        "allowances": "ARRAY<STRUCT<code STRING, amount NUMERIC(10,2)>>",
        "pay_month": "STRING",
        "country": "STRING(2)",
    }
    # BigQuery partitions by one date or integer column: string partitions are dropped, with a note.
    assert "partitionedBy" not in port
    assert any("not partitioned by pay_month, country" in n.message for n in draft.notes)


def test_a_service_level_mesh_cannot_read_is_kept_not_lost(tmp_path: Path) -> None:
    text = FOREIGN.replace(
        "{property: retention, value: 1, unit: y}", "{property: retention, value: 1, unit: '%'}"
    )
    text = text.replace("{property: latency, value: 2, unit: d}", "{property: freshness, value: 3, unit: h}")

    draft = draft_request(read_contract(_write(tmp_path, text)))

    spec = draft.document["spec"]
    assert (spec["retentionDays"], spec["slo"]) == (365, {"freshnessHours": 3})
    assert {"property": "retention", "value": 1, "unit": "%"} in draft.kept["slaProperties"]
