"""Fixtures for tests that talk to a LocalStack server.

``localstack_endpoint`` (session scope) gives the endpoint URL:

* ``MESH_LOCALSTACK_ENDPOINT=http://127.0.0.1:4566`` — use that server (CI starts it
  with ``python localstack/mesh_localstack.py start``); its health is checked with a
  bounded wait (``MESH_LOCALSTACK_WAIT`` seconds, default 60).
* ``MESH_LOCALSTACK=1`` — start LocalStack with ``localstack/mesh_localstack.py``
  (installing it into ``.mesh/localstack-venv`` on first use) and stop it at the end
  of the session; a server that was already running is reused and left running.
  Its progress (the first start builds LocalStack's environment, about 100 s) is
  printed as it happens. Without Python 3.13 (or with ``MESH_PYTHON313=none``, which
  simulates that) the tests are skipped with the script's reason, not errored.
* neither — every test that uses the fixture is skipped, with the reason.

Tests that use the fixture are marked ``@pytest.mark.localstack``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "localstack" / "mesh_localstack.py"
STARTED_ENDPOINT = "http://127.0.0.1:4566"
REQUIRED_SERVICES = ("s3", "iam", "sts", "kms")
READY_STATES = frozenset({"available", "running"})

#: The first start creates a venv and pip-installs LocalStack (about 1.5 minutes);
#: the script bounds the install at 900 s and readiness at 90 s.
START_BUDGET_S = 1200.0
STOP_BUDGET_S = 60.0
#: `mesh_localstack.py start` exits with this when no Python 3.13 can be found.
EXIT_NO_PYTHON313 = 3

SKIP_REASON = (
    "LocalStack not running: set MESH_LOCALSTACK=1 to start it with "
    "localstack/mesh_localstack.py, or MESH_LOCALSTACK_ENDPOINT=http://127.0.0.1:4566 "
    "to use a server that is already running (needs Python 3.13; see localstack/README.md)"
)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker (pyproject.toml does too; registering twice is harmless)."""
    config.addinivalue_line("markers", "localstack: needs a LocalStack server")


def _health(endpoint: str) -> tuple[bool, str]:
    """Ask ``endpoint``'s health route once: (ready, reason when not)."""
    url = endpoint.rstrip("/") + "/_localstack/health"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=3) as response:
            data = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return False, f"{url}: {getattr(exc, 'reason', exc)}"
    services = data.get("services", {}) if isinstance(data, dict) else {}
    missing = [
        f"{name}={services.get(name, 'missing')}"
        for name in REQUIRED_SERVICES
        if services.get(name) not in READY_STATES
    ]
    if missing:
        return False, f"{url}: services not ready: {', '.join(missing)}"
    return True, ""


def _wait_healthy(endpoint: str, budget_s: float) -> tuple[bool, str]:
    """Poll the health route until ready or ``budget_s`` has passed."""
    deadline = time.monotonic() + budget_s
    while True:
        ok, reason = _health(endpoint)
        if ok or time.monotonic() >= deadline:
            return ok, reason
        time.sleep(1.0)


def _script(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run localstack/mesh_localstack.py with this interpreter, output captured."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )


def _start_with_progress(config: pytest.Config) -> tuple[int, str]:
    """Run `mesh_localstack.py start`, echoing each line it prints to the terminal as it
    comes (pytest would hold it back), and return its exit code and its whole output."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    lines: list[str] = []
    with subprocess.Popen(
        [sys.executable, "-u", str(SCRIPT), "start", "--port", "4566", "--timeout", "90"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
    ) as proc:
        assert proc.stdout is not None
        if reporter is not None:
            reporter.write_line("")
        for line in proc.stdout:
            lines.append(line)
            if reporter is not None:
                reporter.write_line(f"localstack: {line.rstrip()}")
        code = proc.wait(timeout=START_BUDGET_S)
    return code, "".join(lines)


def _stop() -> None:
    """Stop the server the fixture started (bounded)."""
    try:
        _script("stop", timeout=STOP_BUDGET_S)
    except subprocess.TimeoutExpired:
        sys.stderr.write("localstack_endpoint: `mesh_localstack.py stop` timed out\n")


@pytest.fixture(scope="session")
def localstack_endpoint(pytestconfig: pytest.Config) -> Iterator[str]:
    """The URL of a healthy LocalStack (S3, IAM, STS, KMS), or skip when none is configured."""
    given = os.environ.get("MESH_LOCALSTACK_ENDPOINT", "").strip()
    if given:
        endpoint = given.rstrip("/")
        wait_s = float(os.environ.get("MESH_LOCALSTACK_WAIT", "60"))
        ok, reason = _wait_healthy(endpoint, wait_s)
        if not ok:
            pytest.fail(
                f"MESH_LOCALSTACK_ENDPOINT={endpoint} is not a healthy LocalStack after "
                f"{wait_s:.0f} s ({reason}). Start it with `python localstack/mesh_localstack.py start`.",
                pytrace=False,
            )
        yield endpoint
        return

    if os.environ.get("MESH_LOCALSTACK", "").strip().lower() not in {"1", "true", "yes"}:
        pytest.skip(SKIP_REASON)

    if _script("status", "--port", "4566", timeout=30).returncode == 0:
        # Already running (started by hand or by an earlier session): reuse, leave running.
        yield STARTED_ENDPOINT
        return

    try:
        code, output = _start_with_progress(pytestconfig)
    except subprocess.TimeoutExpired as exc:
        _stop()
        pytest.fail(f"`mesh_localstack.py start` took over {START_BUDGET_S:.0f} s: {exc}", pytrace=False)
    if code == EXIT_NO_PYTHON313:
        advice = " ".join(output.split())
        pytest.skip(f"LocalStack tests skipped: {advice}")
    if code != 0:
        _stop()
        pytest.fail(f"`mesh_localstack.py start` failed (exit {code}):\n{output}", pytrace=False)
    try:
        yield STARTED_ENDPOINT
    finally:
        _stop()
