"""`mesh review` on pairs of requests: each kind of change shows in the markdown and the JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


def _base_request() -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / "products" / "sales-orders.yaml").read_text())


def _add_port(r: dict[str, Any]) -> None:
    r["spec"]["outputPorts"].append(
        {
            "name": "returns",
            "format": "parquet",
            "schema": [
                {"name": "order_id", "type": "string", "required": True},
                {"name": "reason", "type": "string"},
            ],
        }
    )


def _drop_column(r: dict[str, Any]) -> None:
    schema = r["spec"]["outputPorts"][0]["schema"]
    schema[:] = [c for c in schema if c["name"] != "customer_email"]


def _retype_with_major(r: dict[str, Any]) -> None:
    for column in r["spec"]["outputPorts"][0]["schema"]:
        if column["name"] == "amount":
            column["type"] = "decimal(18,4)"
    r["metadata"]["version"] = "2.0.0"


def _new_consumer(r: dict[str, Any]) -> None:
    r["spec"]["access"]["consumers"].append({"domain": "support", "ports": ["daily_revenue"]})


@dataclass
class Case:
    reason: str
    change: Callable[[dict[str, Any]], None]
    exit_code: int
    markdown: list[str]
    check: Callable[[dict[str, Any]], bool]


SUPPORT = "arn:aws:iam::111122223333:role/mesh/acme-dev-sales-orders-support-consumer"
CASES = [
    Case(
        "a pure addition", _add_port, 0,
        ["✅ nothing blocks", "output port returns is new", "sales-orders-catalog-table-returns"],
        lambda d: {c["change"] for c in d["contract"]} == {"port-added"} and not d["blocked"]
        and {r["change"] for r in d["resources"]} >= {"added"},
    ),
    Case(
        "a dropped column blocks", _drop_column, 1,
        ["⛔ blocked", "column customer_email (string) is removed", "raise metadata.version to 2.0.0", "finance, marketing",
         '`storageDescriptor.columns[customer_email].type`: `"string"` → `null`'],
        lambda d: d["blocked"] and d["contract"][0]["breaking"] and d["contract"][0]["affectedConsumers"] == ["finance", "marketing"],
    ),
    Case(
        "a retyped column with a raised major version passes, flagged", _retype_with_major, 0,
        ["✅ nothing blocks", "column amount changes type decimal(12,2) → decimal(18,4)", "**yes**", "version 2.0.0",
         '`storageDescriptor.columns[amount].type`: `"decimal(12,2)"` → `"decimal(18,4)"`'],
        lambda d: not d["blocked"] and d["contract"][0]["change"] == "column-retyped" and d["contract"][0]["breaking"],
    ),
    Case(
        "a new consumer adds a grant", _new_consumer, 0,
        ["➕ domain `support` may now read `daily_revenue`",
         f"+ Allow s3:GetObject, s3:GetObjectVersion on arn:aws:s3:::acme-dev-sales-orders/data/daily_revenue, arn:aws:s3:::acme-dev-sales-orders/data/daily_revenue/* to AWS:{SUPPORT}\n"],
        lambda d: d["grants"] == [{"domain": "support", "port": "daily_revenue", "change": "added"}]
        and any(r["change"] == "added" and r["type"] == "aws:iam/role:Role" for r in d["resources"])
        and f"Allow s3:GetObject on arn:aws:s3:::acme-dev-sales-orders/data/daily_revenue/* to AWS:{SUPPORT}"
        in next(r for r in d["resources"] if r["name"].endswith("bucket-policy"))["policies"][0]["granted"],
    ),
]  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding mesh.yaml and the sales/orders request, committed."""
    shutil.copy(EXAMPLES / "mesh.yaml", tmp_path / "mesh.yaml")
    shutil.copytree(EXAMPLES / "products" / "jobs", tmp_path / "jobs")
    (tmp_path / "orders.yaml").write_text(yaml.safe_dump(_base_request(), sort_keys=False))
    git = ["git", "-c", "user.name=mesh", "-c", "user.email=mesh@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=tmp_path, check=True)
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.reason)
def test_review_against_git_base(case: Case, repo: Path) -> None:
    request = _base_request()
    case.change(request)
    (repo / "orders.yaml").write_text(yaml.safe_dump(request, sort_keys=False))
    markdown = runner.invoke(
        app, ["review", str(repo / "orders.yaml"), "--base", "HEAD", "--output", "markdown"]
    )
    assert markdown.exit_code == case.exit_code, markdown.output
    for text in case.markdown:
        assert text in markdown.output, f"{case.reason}: {text!r} missing"
    assert "<details>" in markdown.output
    document = runner.invoke(app, ["review", str(repo / "orders.yaml"), "--output", "json"])
    assert document.exit_code == case.exit_code
    assert case.check(json.loads(document.output)), case.reason


def test_widened_policy_blocks_on_guardrail(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from components.aws import policies

    saved = runner.invoke(app, ["plan", str(repo / "orders.yaml"), "--output", "json"])
    (repo / "base.json").write_text(saved.output)

    original = policies.producer_policy

    def widened(spec: Any, key_arn: Any) -> dict[str, Any]:
        document = original(spec, key_arn)
        document["Statement"].append({"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"})
        return document

    monkeypatch.setattr(policies, "producer_policy", widened)
    base = ["--base-plan", str(repo / "base.json")]
    markdown = runner.invoke(app, ["review", str(repo / "orders.yaml"), *base, "--output", "markdown"])
    assert markdown.exit_code == 1, markdown.output
    assert "guardrail MESH-IAM-NO-ADMIN failed" in markdown.output
    assert "+ Allow * on *" in markdown.output
    data = json.loads(
        runner.invoke(app, ["review", str(repo / "orders.yaml"), *base, "--output", "json"]).output
    )
    assert data["blocked"] and any("MESH-IAM-NO-ADMIN" in b for b in data["blockers"])
    policy = next(r for r in data["resources"] if r["name"].endswith("producer-policy"))
    assert "Allow * on *" in policy["policies"][0]["granted"]


def test_review_against_a_saved_plan(repo: Path) -> None:
    saved = runner.invoke(app, ["plan", str(repo / "orders.yaml"), "--output", "json"])
    (repo / "base.json").write_text(saved.output)
    request = _base_request()
    _new_consumer(request)
    (repo / "orders.yaml").write_text(yaml.safe_dump(request, sort_keys=False))
    result = runner.invoke(
        app, ["review", str(repo / "orders.yaml"), "--base-plan", str(repo / "base.json"), "--output", "json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["grants"][0]["domain"] == "support"


def test_review_of_a_new_file_says_what_to_do(repo: Path) -> None:
    shutil.copy(repo / "orders.yaml", repo / "new.yaml")
    result = runner.invoke(app, ["review", str(repo / "new.yaml")])
    assert result.exit_code == 1
    assert "does not exist at HEAD" in result.output
    assert "mesh plan" in result.output
