"""`mesh doctor`: one line per check, a fix for each failure, bounded and offline."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from infra import pulumi_cli

runner = CliRunner()


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"services": {"s3": "running", "kms": "available"}}'
        self.send_response(200 if self.path == "/_localstack/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def localstack() -> Iterator[str]:
    """A loopback server that answers LocalStack's health route."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _platform(workdir: Path, endpoint: str) -> Path:
    path = workdir / "mesh.yaml"
    config = yaml.safe_load(path.read_text())
    config["environments"]["local"]["aws"]["endpoints"] = {"s3": endpoint, "kms": endpoint}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Pulumi CLI anywhere, no network, no AWS credentials."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("MESH_HOME", str(tmp_path / "mesh-home"))
    monkeypatch.setattr(pulumi_cli, "network_reachable", lambda *a, **k: False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))


def _fake_pulumi(folder: Path) -> None:
    """A `pulumi` that knows `version` and `plugin ls --json`, with the plugins the SDKs want."""
    plugins = [
        {"name": "aws", "kind": "resource", "version": version("pulumi_aws")},
        {"name": "gcp", "kind": "resource", "version": version("pulumi_gcp")},
    ]
    folder.mkdir(parents=True)
    script = folder / "pulumi"
    script.write_text(
        f"#!/bin/sh\nif [ \"$1\" = version ]; then echo v3.272.0; exit 0; fi\necho '{json.dumps(plugins)}'\n"
    )
    script.chmod(0o755)


def test_an_offline_machine_without_pulumi_fails_with_a_fix_per_check(
    offline: None, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workdir)
    _platform(workdir, f"http://127.0.0.1:{_closed_port()}")
    started = time.monotonic()

    result = runner.invoke(app, ["doctor", "--output", "json"])

    assert time.monotonic() - started < 15
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    checks = {c["check"]: c for c in document["checks"]}
    assert document["ok"] is False
    assert checks["Python"]["status"] == "pass"
    assert checks["Pulumi CLI"]["status"] == "fail"
    assert "curl -fsSL https://get.pulumi.com | sh" in checks["Pulumi CLI"]["fix"]
    assert checks["Provider plugins"]["status"] == "skip"
    assert (
        checks["AWS credentials"]["status"] == "fail" and "aws sso login" in checks["AWS credentials"]["fix"]
    )
    assert checks["State backend (dev)"]["status"] == "pass"
    assert checks["State backend (prod)"]["status"] == "skip"
    assert "not checked offline" in checks["State backend (prod)"]["detail"]
    assert checks["LocalStack (local)"]["status"] == "fail"
    assert "mesh_localstack.py start" in checks["LocalStack (local)"]["fix"]


def test_a_ready_machine_passes(
    offline: None, workdir: Path, tmp_path: Path, localstack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workdir)
    _platform(workdir, localstack)
    _fake_pulumi(tmp_path / "bin")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    (tmp_path / "gcloud").mkdir()
    (tmp_path / "gcloud" / "application_default_credentials.json").write_text("{}")

    result = runner.invoke(app, ["doctor"])

    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "✓ pass Pulumi CLI v3.272.0" in text
    assert f"aws v{version('pulumi_aws')}" in text
    assert "found (env)" in text
    assert "GCP credentials" in text and "application_default_credentials.json" in text
    assert "LocalStack (local)" in text and "kms available, s3 running" in text
    assert "Ready to provision." in text


def test_outside_a_mesh_repository_the_machine_is_still_checked(
    offline: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = runner.invoke(app, ["doctor"])

    assert result.exit_code == 1
    assert "no mesh.yaml here or above" in result.output
    assert "fix:" in result.output


def test_doctor_without_mesh_yaml_says_so(
    offline: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = runner.invoke(app, ["doctor"])

    assert "No mesh.yaml here or above" in result.stderr
    assert "names a cloud" not in result.output
    assert "no mesh.yaml, so no cloud to check plugins for" in result.stdout
