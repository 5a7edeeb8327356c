"""Fixtures for engine tests: the real `mesh provision` through the Automation API.

They need two things this kind of machine usually lacks, and skip with the reason
when either is missing:

* a `pulumi` CLI on PATH (checked first: without it nothing else matters);
* a LocalStack server, named by `MESH_LOCALSTACK_ENDPOINT` (for example
  `http://127.0.0.1:4566`, started with `python localstack/mesh_localstack.py start`),
  that answers its health route.

Provider plugins are downloaded by Pulumi on first use; without network and without
the plugin installed, the tests skip and say which plugin to install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from importlib.metadata import version

import pytest

from infra import pulumi_cli

ENDPOINT_VARIABLE = "MESH_LOCALSTACK_ENDPOINT"
HEALTH_TIMEOUT_S = 5.0


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker (pyproject.toml does too; registering twice is harmless)."""
    config.addinivalue_line("markers", "engine: needs the Pulumi CLI on PATH")


def _aws_plugin_available(pulumi: str) -> bool:
    wanted = version("pulumi_aws")
    try:
        listed = subprocess.run(
            [pulumi, "plugin", "ls", "--json"], capture_output=True, text=True, timeout=30, check=True
        )
        plugins = json.loads(listed.stdout or "[]") or []
    except (OSError, subprocess.SubprocessError, ValueError):
        return False
    return any(p.get("name") == "aws" and str(p.get("version", "")).lstrip("v") == wanted for p in plugins)


@pytest.fixture(scope="session")
def engine_localstack() -> str:
    """The LocalStack endpoint to provision against (skips when the engine cannot run here)."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        pytest.skip(
            "engine tests need the Pulumi CLI on PATH and none was found: install it "
            "(curl -fsSL https://get.pulumi.com | sh) to run them"
        )
    endpoint = os.environ.get(ENDPOINT_VARIABLE, "").rstrip("/")
    if not endpoint:
        pytest.skip(
            f"engine tests need a running LocalStack: set {ENDPOINT_VARIABLE}=http://127.0.0.1:4566 "
            "(start one with python localstack/mesh_localstack.py start)"
        )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{endpoint}/_localstack/health", timeout=HEALTH_TIMEOUT_S) as response:
            response.read()
    except (OSError, urllib.error.URLError) as e:
        pytest.skip(f"{ENDPOINT_VARIABLE}={endpoint} does not answer /_localstack/health: {e}")
    if not _aws_plugin_available(pulumi) and not pulumi_cli.network_reachable():
        pytest.skip(
            f"the Pulumi aws plugin v{version('pulumi_aws')} is not installed and cannot be downloaded "
            f"offline: pulumi plugin install resource aws v{version('pulumi_aws')}"
        )
    return endpoint
