"""`mesh health` on a GCP product: declared as not read yet, a warning naming each signal, no AWS call."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from infra import health
from infra.clouds import supports
from infra.model.capability import HEALTH_SIGNALS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOW = "2026-03-02T06:00:00Z"
runner = CliRunner()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the examples; any attempt to open AWS clients fails the test."""
    folder = tmp_path / "repo"
    shutil.copytree(EXAMPLES, folder)

    def no_aws(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("mesh health opened AWS clients for a GCP product")

    monkeypatch.setattr(health, "open_clients", no_aws)
    return folder


def _report(*args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["health", *args, "--now", NOW, "--output", "json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def test_health_signals_are_declared_per_cloud() -> None:
    assert all(supports("aws", signal) for signal in HEALTH_SIGNALS)
    assert not any(supports("gcp", signal) for signal in HEALTH_SIGNALS)


def test_a_gcp_product_is_a_warning_that_names_each_signal_not_read(repo: Path) -> None:
    code, report = _report(str(repo / "products" / "marketing-campaigns.yaml"), "--env", "dev")

    assert code == 0, "a warning alone does not fail the run"
    product = report["products"]["marketing/campaign-performance"]
    assert product["verdict"] == "warn"
    assert [(r["level"], r["kind"], r["message"]) for r in product["reasons"]] == [
        ("warn", "unreadable", f"{what}: not read — mesh does not read GCP health signals yet")
        for what in ("freshness of port campaign_daily", "transform runs", "access logs")
    ]
    assert product["unreadable"] == [
        "freshness of port campaign_daily (not read on gcp yet)",
        "transform runs (not read on gcp yet)",
        "access logs (not read on gcp yet)",
    ]
    assert product["ports"] == [
        {"name": "campaign_daily", "state": "unknown", "newest": None, "objects": 0, "ageHours": None}
    ]
    assert (product["access"], product["runs"]) == (None, {"job": None, "last": []})
    assert product["topic"] == "acme-dev-marketing-campaign-performance-signals"
    assert "firstData.campaign_daily" in product["timeToData"]["missing"]
    assert any("not read on gcp yet" in n for n in product["timeToData"]["notes"])
    assert report["summary"] == {"ok": 0, "warn": 1, "breach": 0} and report["skipped"] == []


def test_an_environment_without_aws_checks_its_gcp_products_without_aws(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = yaml.safe_load((repo / "mesh.yaml").read_text())
    platform["environments"]["analytics"] = {"gcp": {"project": "acme-analytics", "region": "europe-west1"}}
    (repo / "mesh.yaml").write_text(yaml.safe_dump(platform, sort_keys=False))
    monkeypatch.chdir(repo)  # no request named: every request of the repository

    code, report = _report("--env", "analytics")

    assert code == 0
    assert list(report["products"]) == ["marketing/campaign-performance"]
    assert report["products"]["marketing/campaign-performance"]["verdict"] == "warn"
    skipped = {Path(s["file"]).name: s["reason"] for s in report["skipped"]}
    assert (
        skipped["sales-orders.yaml"]
        == skipped["finance-payroll.yaml"]
        == ("on aws; environment analytics has no aws section")
    )


def test_the_table_says_gcp_signals_are_not_read(repo: Path) -> None:
    result = runner.invoke(
        app, ["health", str(repo / "products" / "marketing-campaigns.yaml"), "--env", "dev", "--now", NOW]
    )
    flat = " ".join(result.stdout.split())
    assert result.exit_code == 0
    assert (
        "warn marketing/campaign-performance: access logs: not read — mesh does not read GCP health signals yet"
        in flat
    )
    assert "0 ok, 1 warn, 0 breach in dev." in flat


def test_help_states_what_gcp_products_get() -> None:
    result = runner.invoke(app, ["health", "--help"], env={"COLUMNS": "200"})
    flat = " ".join(result.stdout.split())
    assert result.exit_code == 0
    assert "mesh does not read GCP health signals yet, so a GCP product is reported as warn" in flat
