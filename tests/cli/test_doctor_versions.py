"""`mesh doctor` on a Pulumi CLI whose version the Automation SDK would refuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from infra import pulumi_cli

runner = CliRunner()


def _pulumi(folder: Path, version: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "pulumi"
    script.write_text(f'#!/bin/sh\nif [ "$1" = version ]; then echo {version}; exit 0; fi\necho "[]"\n')
    script.chmod(0o755)


@pytest.mark.parametrize(
    ("version", "status", "detail"),
    [
        ("v3.272.0", "pass", "v3.272.0 at"),
        ("v3.1.0", "pass", "v3.1.0 at"),
        ("v2.25.2", "fail", "older than v3.1.0, the oldest the Automation SDK accepts"),
        (
            "v4.0.1",
            "fail",
            "a newer major version than the Automation SDK supports (v3.1.0 up to, not including, v4.0.0)",
        ),
        ("v3.x-dev", "fail", "cannot be read"),
    ],
    ids=["pinned", "oldest accepted", "too old", "next major", "unreadable"],
)
def test_doctor_reports_a_cli_outside_the_sdks_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str, status: str, detail: str
) -> None:
    _pulumi(tmp_path / "bin", version)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("MESH_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(pulumi_cli, "network_reachable", lambda *a, **k: False)
    monkeypatch.chdir(tmp_path)

    result = runner.invoke(app, ["doctor", "--output", "json"])

    checks = {c["check"]: c for c in json.loads(result.stdout)["checks"]}
    cli = checks["Pulumi CLI"]
    assert cli["status"] == status, cli
    assert detail in cli["detail"], cli
    if status == "fail":
        assert result.exit_code == 1
        assert "Install Pulumi v3.272.0" in cli["fix"] and "get.pulumi.com" in cli["fix"]
        assert checks["Provider plugins"]["status"] == "skip", "plugins are not listed with a refused CLI"
