"""Output at 80 columns, piped (the GitHub Actions log): no physical name, ARN, header or
fix instruction is cut, and the review's table view keeps each block under its heading."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli import console
from cli.app import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
runner = CliRunner()


@pytest.fixture(autouse=True)
def columns_80(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    # rich fixes the width at import when COLUMNS was already set; make it read COLUMNS again.
    monkeypatch.setattr(console.out, "_width", None)


def _physical_names(plan: dict[str, Any]) -> set[str]:
    names = set()
    for resource in plan["resources"]:
        for key in ("bucket", "name", "key", "role"):
            value = resource["inputs"].get(key)
            if isinstance(value, str) and value and not resource["type"].startswith("mesh:"):
                names.add(value)
                break
    return names


def _whole(name: str, output: str) -> bool:
    """`name` appears on one line, not cut by an ellipsis or a line break."""
    return any(name in line for line in output.splitlines())


@pytest.mark.parametrize("request_file", ["sales-orders.yaml", "marketing-campaigns.yaml"])
@pytest.mark.parametrize("view", ["table", "tree"])
def test_plan_never_cuts_a_physical_name(view: str, request_file: str) -> None:
    file = str(EXAMPLES / "products" / request_file)
    plan = json.loads(runner.invoke(app, ["plan", file, "-o", "json"]).output)
    shown = runner.invoke(app, ["plan", file, "-o", view])
    assert shown.exit_code == 0, shown.output
    names = _physical_names(plan)
    assert "acme-dev-sales-orders" in names or "acme-dev-marketing-campaign-performance" in names
    for name in sorted(names):
        assert _whole(name, shown.output), f"{view}: {name} is cut in\n{shown.output}"
    assert "…" not in shown.output


def test_prove_headers_and_principals_are_whole() -> None:
    shown = runner.invoke(app, ["prove", str(EXAMPLES / "products" / "sales-orders.yaml")])
    assert shown.exit_code == 0, shown.output
    assert "…" not in shown.output
    for word in ("read", "list", "write", "del", "policy", "catalog", "order_lines", "daily_revenue"):
        assert word in shown.output.split(), f"{word} missing or cut"
    for principal in ("producer", "marketing", "finance", "support", "anonymous"):
        assert any(line.split()[:1] == [principal] for line in shown.output.splitlines()), principal


@pytest.fixture
def changed_repo(tmp_path: Path) -> Path:
    """sales/orders committed, then changed: a column retyped (breaking), finance loses a port."""
    shutil.copy(EXAMPLES / "mesh.yaml", tmp_path / "mesh.yaml")
    shutil.copytree(EXAMPLES / "products" / "jobs", tmp_path / "jobs")
    request = yaml.safe_load((EXAMPLES / "products" / "sales-orders.yaml").read_text())
    (tmp_path / "orders.yaml").write_text(yaml.safe_dump(request, sort_keys=False))
    git = ["git", "-c", "user.name=mesh", "-c", "user.email=mesh@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=tmp_path, check=True)
    for column in request["spec"]["outputPorts"][0]["schema"]:
        if column["name"] == "amount":
            column["type"] = "decimal(18,4)"
    request["spec"]["access"]["consumers"].append({"domain": "support", "ports": ["daily_revenue"]})
    (tmp_path / "orders.yaml").write_text(yaml.safe_dump(request, sort_keys=False))
    return tmp_path


def test_review_table_view_keeps_headings_and_whole_names(changed_repo: Path) -> None:
    file = str(changed_repo / "orders.yaml")
    document = json.loads(runner.invoke(app, ["review", file, "-o", "json"]).output)
    shown = runner.invoke(app, ["review", file])
    assert shown.exit_code == 1, shown.output
    text = shown.output
    assert "…" not in text
    # Each collapsed block of the markdown is a heading here, naming the resource it belongs to.
    for resource in document["resources"]:
        assert _whole(resource["name"], text), resource["name"]
        for policy in resource["policies"]:
            heading = f"▸ {resource['name']} {policy['document']}:"
            assert heading in text, f"{heading!r} missing"
    # Long lines wrap at spaces; nothing is dropped: the fix instruction and every principal ARN.
    flowing = " ".join(line.strip() for line in text.splitlines())
    assert "raise metadata.version to 2.0.0 and tell finance, marketing" in flowing
    support = "AWS:arn:aws:iam::111122223333:role/mesh/acme-dev-sales-orders-support-consumer"
    assert _whole(support, text)
    assert _whole("AWS:arn:aws:iam::111122223333:root", text)
    for line in text.splitlines():
        assert len(line) <= 80 or len(line.split()) == 1 or line.lstrip().startswith(("AWS:", "arn:")), line


def test_gcp_review_shows_columns_and_bindings(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "mesh.yaml", tmp_path / "mesh.yaml")
    request = yaml.safe_load((EXAMPLES / "products" / "marketing-campaigns.yaml").read_text())
    (tmp_path / "campaigns.yaml").write_text(yaml.safe_dump(request, sort_keys=False))
    base = runner.invoke(app, ["plan", str(tmp_path / "campaigns.yaml"), "-o", "json"])
    (tmp_path / "base.json").write_text(base.output)
    schema = request["spec"]["outputPorts"][0]["schema"]
    for column in schema:
        if column["name"] == "spend":
            column["type"] = "NUMERIC(14,2)"
    schema.append({"name": "clicks", "type": "INT64"})
    request["spec"]["access"]["consumers"].append({"domain": "finance", "ports": ["campaign_daily"]})
    (tmp_path / "campaigns.yaml").write_text(yaml.safe_dump(request, sort_keys=False))
    args = ["review", str(tmp_path / "campaigns.yaml"), "--base-plan", str(tmp_path / "base.json")]
    document = json.loads(runner.invoke(app, [*args, "-o", "json"]).output)

    table = next(r for r in document["resources"] if r["type"] == "gcp:bigquery/table:Table")
    paths = {c["path"]: (c["before"], c["after"]) for c in table["inputs"]}
    assert paths["schema[spend].precision"] == ("12", "14")
    assert paths["schema[clicks].type"] == (None, "INTEGER")
    assert not any(path == "schema" for path in paths), "the schema must not be one escaped string"

    bindings = {
        r["type"]: r["policies"][0]["granted"]
        for r in document["resources"]
        if r["change"] == "added" and r["policies"]
    }
    viewer = bindings["gcp:bigquery/iamMember:IamMember"]
    assert len(viewer) == 1
    assert viewer[0].startswith(
        "Allow roles/bigquery.dataViewer on bigquery:acme-data-dev.acme_dev_marketing_campaign_performance.campaign_daily to serviceAccount:"
    )
    assert bindings["gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"][0].startswith(
        "Allow roles/cloudkms.cryptoKeyDecrypter"
    )
    storage = bindings["gcp:storage/bucketIAMMember:BucketIAMMember"][0]
    assert "on gs://acme-dev-marketing-campaign-performance" in storage and "data/campaign_daily/" in storage

    markdown = runner.invoke(app, [*args, "-o", "markdown"]).output
    assert '`schema[spend].precision`: `"12"` → `"14"`' in markdown
    assert "IAM binding: 1 granted, 0 revoked</summary>" in markdown
    assert "IAM bindings under Resources" in markdown
