"""Finding the Pulumi CLI, and saying exactly how to get one when there is none.

The Automation API drives the `pulumi` binary. mesh looks for it, in order: on PATH,
then installed by mesh under `~/.mesh/pulumi/<version>` (`MESH_HOME` moves `~/.mesh`).
When neither exists, `infra.engine` installs the pinned version there, but only after
a bounded reachability check of the download host: without network, mesh fails in
seconds with instructions instead of hanging on a download. This module does not
import Pulumi; `infra.engine.automation` (the only module that imports `pulumi.automation`) does
the install itself.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from infra.model.errors import MeshError

#: The CLI version mesh installs; the same release as the `pulumi` SDK pinned in pyproject.toml.
PULUMI_VERSION = "3.272.0"
INSTALL_HOST = "get.pulumi.com"
PROBE_TIMEOUT_S = 3.0
#: Bounds a download that started (the host answered) but stalls.
INSTALL_TIMEOUT_S = 300.0
PLUGIN_LIST_TIMEOUT_S = 20.0

INSTALL_HELP = (
    "Install the Pulumi CLI and put `pulumi` on PATH: "
    "`curl -fsSL https://get.pulumi.com | sh` (Linux, macOS), `brew install pulumi/tap/pulumi` (macOS), "
    "`winget install pulumi` or `choco install pulumi` (Windows); "
    f"or unpack the v{PULUMI_VERSION} archive from https://github.com/pulumi/pulumi/releases "
    f"into {{root}} so that {{root}}/bin/pulumi exists. "
    "See https://www.pulumi.com/docs/iac/download-install/."
)

T = TypeVar("T")


class PulumiCliMissing(MeshError):
    """No Pulumi CLI here, and mesh could not install one."""


@dataclass(frozen=True)
class CliLocation:
    """A usable `pulumi` binary: `root` is the install folder (`root/bin/pulumi`), None when on PATH."""

    binary: Path
    root: Path | None

    @property
    def source(self) -> str:
        """`PATH` or `mesh` (installed by mesh)."""
        return "PATH" if self.root is None else "mesh"


def mesh_home() -> Path:
    """mesh's per-user folder: `MESH_HOME`, default `~/.mesh`."""
    return Path(os.environ.get("MESH_HOME") or Path.home() / ".mesh").expanduser()


def install_root(version: str = PULUMI_VERSION) -> Path:
    """Where mesh installs (and looks for) its own copy of the CLI."""
    return mesh_home() / "pulumi" / version


def find_cli(version: str = PULUMI_VERSION) -> CliLocation | None:
    """The `pulumi` on PATH, else mesh's own installed copy, else None."""
    on_path = shutil.which("pulumi")
    if on_path:
        return CliLocation(binary=Path(on_path), root=None)
    root = install_root(version)
    binary = root / "bin" / ("pulumi.exe" if os.name == "nt" else "pulumi")
    if binary.is_file() and os.access(binary, os.X_OK):
        return CliLocation(binary=binary, root=root)
    return None


def bounded(fn: Callable[[], T], *, timeout: float, what: str) -> T:
    """Run `fn` in a daemon thread and give up after `timeout` seconds.

    Raises `TimeoutError` naming `what`; the thread is left to finish on its own (DNS
    lookups and downloads cannot be interrupted), which a daemon thread may.
    """
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as e:  # handed to the caller's thread below
            failure.append(e)

    worker = threading.Thread(target=run, name=f"mesh-{what}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"{what} did not finish within {timeout:.0f} s")
    if failure:
        raise failure[0]
    return result[0]


def _probe_address(host: str) -> tuple[str, int]:
    """Where a connection to `host` really goes: the HTTPS proxy when one is configured."""
    proxy = urllib.request.getproxies().get("https")
    if proxy and not urllib.request.proxy_bypass(host):
        parsed = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if parsed.hostname:
            return parsed.hostname, parsed.port or 80
    return host, 443


def network_reachable(host: str = INSTALL_HOST, *, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to `host` (or the HTTPS proxy) opens within `timeout` seconds, DNS included."""
    address = _probe_address(host)

    def connect() -> bool:
        with socket.create_connection(address, timeout=timeout):
            return True

    try:
        return bounded(connect, timeout=timeout, what=f"connecting to {address[0]}")
    except (OSError, TimeoutError):
        return False


def missing(reason: str, *, version: str = PULUMI_VERSION) -> PulumiCliMissing:
    """The error for "no CLI and it cannot be installed", with every way to get one."""
    root = install_root(version)
    return PulumiCliMissing(
        "The Pulumi CLI is needed for this command (the engine commands read and write stack "
        f"state), and none was found on PATH or in {root}; "
        f"mesh could not install v{version}: {reason}",
        hint=INSTALL_HELP.format(root=root),
    )


def cli_version(binary: Path, *, timeout: float = 10.0) -> str | None:
    """`pulumi version` of `binary` (None when it does not run)."""
    try:
        done = subprocess.run(
            [str(binary), "version"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
            env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip().removeprefix("v") or None


@dataclass(frozen=True)
class PluginInfo:
    """An installed Pulumi plugin."""

    name: str
    kind: str
    version: str


def installed_plugins(binary: Path, *, timeout: float = PLUGIN_LIST_TIMEOUT_S) -> list[PluginInfo]:
    """`pulumi plugin ls --json`; raises `OSError`/`subprocess.SubprocessError`/`ValueError` on failure."""
    done = subprocess.run(
        [str(binary), "plugin", "ls", "--json"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
        env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
    )
    rows = json.loads(done.stdout or "[]") or []
    return [
        PluginInfo(
            name=str(r.get("name", "")), kind=str(r.get("kind", "")), version=str(r.get("version", ""))
        )
        for r in rows
    ]
