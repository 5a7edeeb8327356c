#!/usr/bin/env python3
"""Run a LocalStack community server for mesh's emulator tests, without Docker.

LocalStack community is installed from the ``localstack-core`` PyPI package into a
dedicated Python 3.13 virtual environment (``localstack-core`` does not import on
Python 3.11 or 3.12) and started in the background, bound to 127.0.0.1 only, with
the services mesh's AWS components use: S3, IAM, STS and KMS.

Commands::

    python localstack/mesh_localstack.py start [--port N] [--timeout S]
    python localstack/mesh_localstack.py status [--port N]
    python localstack/mesh_localstack.py stop [--timeout S]
    python localstack/mesh_localstack.py env [--port N]

Everything it creates lives under ``<repo>/.mesh/`` (git-ignored): the virtual
environment ``localstack-venv/``, the server log ``localstack.log``, the install log
``localstack-install.log``, the pid and port files ``localstack.pid`` and
``localstack.port``, and LocalStack's data directory ``localstack-data/``.

Environment variables:

``MESH_PYTHON313``
    Path of the Python 3.13 interpreter used to create the virtual environment.
    Otherwise ``python3.13`` on PATH is tried, then pyenv's ``versions/3.13.*``.
    ``none`` behaves as on a machine without Python 3.13 (an existing venv is not
    used either): ``start`` exits 3 with the install advice, and the test suite skips
    the LocalStack tests with that reason.
``MESH_LOCALSTACK_VENV``
    Where the virtual environment lives (default ``<repo>/.mesh/localstack-venv``).
``MESH_LOCALSTACK_STATE_DIR``
    Where the log, pid/port files and data directory live (default ``<repo>/.mesh``).

Standard library only, so that it runs on the project's Python (3.11+) before
anything else is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

# --------------------------------------------------------------------------------------
# What gets installed and how it is started (each pin was verified on Python 3.13.0)
# --------------------------------------------------------------------------------------

LOCALSTACK_VERSION = "2026.3.0"

#: Installed with ``pip install`` into the dedicated venv. The ``runtime`` extra brings
#: the service providers (moto-ext, rolo, twisted). The other pins were each needed:
#: cbor2 6.x dropped ``cbor2._decoder`` (every AWS service fails to import);
#: pyOpenSSL >= 24.3 removed ``X509.add_extensions`` (the TLS certificate LocalStack
#: generates at start-up fails); pyOpenSSL 24.2 needs cryptography < 44, which in turn
#: needs joserfc < 1.1 and service_identity < 24.3; and service_identity must be
#: installed at all, or twisted's TLS support (the gateway) does not import.
PINS: tuple[str, ...] = (
    f"localstack-core[runtime]=={LOCALSTACK_VERSION}",
    "cbor2<5.7",
    "pyopenssl<24.3",
    "cryptography<44",
    "joserfc<1.1",
    "service_identity<24.3",
)

HOST = "127.0.0.1"
DEFAULT_PORT = 4566
SERVICES: tuple[str, ...] = ("s3", "iam", "sts", "kms")
HEALTH_PATH = "/_localstack/health"
READY_STATES = frozenset({"available", "running"})

DEFAULT_START_TIMEOUT = 90.0
DEFAULT_STOP_TIMEOUT = 20.0
DEFAULT_INSTALL_TIMEOUT = 900.0
PROGRESS_EVERY = 5.0
LOG_TAIL_LINES = 30

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_NO_PYTHON313 = 3

#: The process is started through this tiny bootstrap instead of a bare
#: ``python -m localstack.runtime.main``: LocalStack's default gateway server (twisted)
#: ignores the host part of GATEWAY_LISTEN for IPv4 and listens on 0.0.0.0. The patch
#: gives twisted's TCP4 server endpoints a loopback interface whenever none is asked
#: for, so the server is reachable from this machine only. (GATEWAY_SERVER=hypercorn
#: binds correctly but never exits on SIGTERM in this LocalStack version.)
BOOTSTRAP = (
    "import runpy\n"
    "from twisted.internet import endpoints as _e\n"
    "_tcp4 = _e.TCP4ServerEndpoint\n"
    "def _loopback(reactor, port, backlog=50, interface=''):\n"
    f"    return _tcp4(reactor, port, backlog=backlog, interface=interface or {HOST!r})\n"
    "_e.TCP4ServerEndpoint = _loopback\n"
    "runpy.run_module('localstack.runtime.main', run_name='__main__', alter_sys=True)\n"
)

#: A string found in the command line of the server process (it is part of BOOTSTRAP);
#: checked before signalling a pid from the pid file, so a recycled pid is never killed.
PROCESS_MARKER = "localstack.runtime.main"

#: Variables that would make the 3.13 interpreter load the caller's packages.
_STRIPPED_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "__PYVENV_LAUNCHER__")

PYTHON313_HELP = (
    "The LocalStack tests need Python 3.13: the localstack-core package does not import "
    "on Python 3.11 or 3.12.\n"
    "Install it, for example with `pyenv install 3.13` (then this script finds "
    "$(pyenv root)/versions/3.13.*/bin/python3.13), your OS packages (python3.13 and "
    "python3.13-venv), or python.org; or set MESH_PYTHON313=/path/to/python3.13."
)


# --------------------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paths:
    """Where the venv, log, pid file and data directory live."""

    repo: Path
    state: Path
    venv: Path

    @property
    def log(self) -> Path:
        """The LocalStack server log."""
        return self.state / "localstack.log"

    @property
    def install_log(self) -> Path:
        """The pip log of the last install into the venv."""
        return self.state / "localstack-install.log"

    @property
    def pid(self) -> Path:
        """The pid file of the running server (its process group leader)."""
        return self.state / "localstack.pid"

    @property
    def port(self) -> Path:
        """The port the server recorded in the pid file was started on."""
        return self.state / "localstack.port"

    @property
    def data(self) -> Path:
        """LocalStack's FILESYSTEM_ROOT (tmp, cache, state; cleared tmp on each start)."""
        return self.state / "localstack-data"

    @property
    def stamp(self) -> Path:
        """Records the pin list installed into the venv, so reinstalls are skipped."""
        return self.venv / "mesh-localstack-pins.txt"

    @property
    def venv_python(self) -> Path:
        """The venv's interpreter."""
        return self.venv / "bin" / "python"


def resolve_paths(env: Mapping[str, str] | None = None) -> Paths:
    """Compute the paths from the script location and the override variables."""
    env = os.environ if env is None else env
    repo = Path(__file__).resolve().parent.parent
    state = Path(env.get("MESH_LOCALSTACK_STATE_DIR") or repo / ".mesh").expanduser()
    venv = Path(env.get("MESH_LOCALSTACK_VENV") or repo / ".mesh" / "localstack-venv").expanduser()
    return Paths(repo=repo, state=state.resolve(), venv=venv.resolve())


def endpoint_url(port: int) -> str:
    """The endpoint URL clients use (always loopback)."""
    return f"http://{HOST}:{port}"


def _display(path: Path, repo: Path) -> str:
    """A path relative to the repository when it is inside it."""
    try:
        return str(path.relative_to(repo))
    except ValueError:
        return str(path)


def say(message: str = "") -> None:
    """Print one progress line immediately."""
    print(message, flush=True)


def warn(message: str) -> None:
    """Print one line on stderr."""
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Finding Python 3.13
# --------------------------------------------------------------------------------------


def _clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without variables that leak its Python packages."""
    env = {k: v for k, v in os.environ.items() if k not in _STRIPPED_ENV}
    if extra:
        env.update(extra)
    return env


def python_minor(executable: str | os.PathLike[str]) -> str | None:
    """Return "3.13" style version of an interpreter that can create venvs, else None.

    The interpreter must run (a pyenv shim for a version that is not selected exits
    127) and have ``venv`` and ``ensurepip`` (Debian splits those into python3.X-venv).
    """
    probe = "import sys, venv, ensurepip; print('%d.%d' % sys.version_info[:2])"
    try:
        done = subprocess.run(
            [os.fspath(executable), "-c", probe],
            capture_output=True,
            text=True,
            timeout=30,
            env=_clean_env(),
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def _pyenv_roots() -> list[Path]:
    """Candidate pyenv roots: $PYENV_ROOT, `pyenv root`, ~/.pyenv."""
    roots: list[Path] = []
    if os.environ.get("PYENV_ROOT"):
        roots.append(Path(os.environ["PYENV_ROOT"]))
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=15, check=False)
            if out.returncode == 0 and out.stdout.strip():
                roots.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    roots.append(Path.home() / ".pyenv")
    unique: list[Path] = []
    for root in roots:
        if root not in unique:
            unique.append(root)
    return unique


def _version_key(path: Path) -> tuple[int, ...]:
    """Sort key for pyenv version directories like 3.13.0 (newest last)."""
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.parent.name))


def find_python313() -> Path | None:
    """Locate a Python 3.13 interpreter: MESH_PYTHON313, python3.13 on PATH, then pyenv.

    Raises ``SystemExit`` with a clear message when MESH_PYTHON313 is set but is not a
    working Python 3.13; returns None when nothing was found.
    """
    override = os.environ.get("MESH_PYTHON313")
    if override:
        if python_minor(override) == "3.13":
            return Path(override)
        warn(f"MESH_PYTHON313={override} is not a working Python 3.13 with venv and ensurepip.")
        warn(PYTHON313_HELP)
        raise SystemExit(EXIT_NO_PYTHON313)

    on_path = shutil.which("python3.13")
    if on_path and python_minor(on_path) == "3.13":
        return Path(on_path)

    for root in _pyenv_roots():
        candidates = sorted(root.glob("versions/3.13*/bin/python3.13"), key=_version_key)
        for candidate in reversed(candidates):
            if python_minor(candidate) == "3.13":
                return candidate
    return None


# --------------------------------------------------------------------------------------
# The virtual environment
# --------------------------------------------------------------------------------------


def stamp_text() -> str:
    """The content of the stamp file for the current pin list."""
    return "\n".join(PINS) + "\n"


def venv_is_current(paths: Paths) -> bool:
    """True when the venv exists, its interpreter runs 3.13 and the pins match the stamp."""
    if not paths.venv_python.exists():
        return False
    try:
        if paths.stamp.read_text(encoding="utf-8") != stamp_text():
            return False
    except OSError:
        return False
    return python_minor(paths.venv_python) == "3.13"


def _run_with_heartbeat(
    cmd: Sequence[str], log: Path, timeout: float, what: str, env: Mapping[str, str]
) -> int:
    """Run ``cmd`` with its output appended to ``log``, printing a line every 15 s.

    Returns the exit code, or -1 after killing it on timeout.
    """
    started = time.monotonic()
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        proc = subprocess.Popen(
            list(cmd), stdout=out, stderr=subprocess.STDOUT, env=dict(env), start_new_session=True
        )
        next_beat = started + 15
        while True:
            try:
                return proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if now - started > timeout:
                _terminate_group(proc.pid, grace=5, child=proc)
                return -1
            if now >= next_beat:
                say(f"  … still {what} ({now - started:.0f} s)")
                next_beat = now + 15


def ensure_venv(paths: Paths, install_timeout: float) -> bool:
    """Create the venv and install the pins unless the stamp says they are there.

    Returns False (after printing why) when it could not; raises SystemExit with the
    Python 3.13 message when no interpreter exists to create it.
    """
    if os.environ.get("MESH_PYTHON313") == "none":
        warn(PYTHON313_HELP)
        raise SystemExit(EXIT_NO_PYTHON313)
    if venv_is_current(paths):
        say(
            f"LocalStack {LOCALSTACK_VERSION} venv ready: {_display(paths.venv, paths.repo)} (pins unchanged)"
        )
        return True

    paths.state.mkdir(parents=True, exist_ok=True)
    paths.install_log.write_text(f"# mesh LocalStack install {time.ctime()}\n", encoding="utf-8")
    started = time.monotonic()

    if python_minor(paths.venv_python) != "3.13":
        if paths.venv.exists() and any(paths.venv.iterdir()) and not (paths.venv / "pyvenv.cfg").exists():
            warn(f"{paths.venv} exists, is not empty and is not a virtual environment; refusing to touch it.")
            warn("Remove it or set MESH_LOCALSTACK_VENV to another directory.")
            return False
        python313 = find_python313()
        if python313 is None:
            warn(PYTHON313_HELP)
            raise SystemExit(EXIT_NO_PYTHON313)
        say(f"Creating the LocalStack venv {_display(paths.venv, paths.repo)} with {python313} …")
        paths.venv.parent.mkdir(parents=True, exist_ok=True)
        code = _run_with_heartbeat(
            [str(python313), "-m", "venv", "--clear", str(paths.venv)],
            paths.install_log,
            timeout=300,
            what="creating the venv",
            env=_clean_env(),
        )
        if code != 0:
            warn(f"Creating the venv failed (exit {code}); see {paths.install_log}:")
            _print_tail(paths.install_log)
            return False

    say(f"Installing {' '.join(PINS)} into the venv (about a minute the first time) …")
    paths.stamp.unlink(missing_ok=True)
    code = _run_with_heartbeat(
        [
            str(paths.venv_python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
            *PINS,
        ],
        paths.install_log,
        timeout=install_timeout,
        what="installing LocalStack",
        env=_clean_env({"PIP_DISABLE_PIP_VERSION_CHECK": "1", "VIRTUAL_ENV": str(paths.venv)}),
    )
    if code != 0:
        reason = "timed out" if code == -1 else f"failed (exit {code})"
        warn(f"pip install {reason}; last lines of {paths.install_log}:")
        _print_tail(paths.install_log)
        return False
    paths.stamp.write_text(stamp_text(), encoding="utf-8")
    say(f"Installed in {time.monotonic() - started:.0f} s.")
    return True


# --------------------------------------------------------------------------------------
# Processes and health
# --------------------------------------------------------------------------------------


_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch_health(port: int, timeout: float = 3.0) -> tuple[dict[str, Any] | None, str]:
    """GET the health endpoint on loopback (never through a proxy).

    Returns (parsed JSON, "") or (None, reason).
    """
    url = endpoint_url(port) + HEALTH_PATH
    try:
        with _NO_PROXY_OPENER.open(url, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        return None, f"HTTP {exc.code} from {url}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"nothing answers at {url} ({reason})"
    try:
        data = json.loads(body)
    except ValueError:
        return None, f"{url} did not return JSON (is it LocalStack?)"
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        return None, f"{url} did not return a LocalStack health document"
    return data, ""


def not_ready_services(health: Mapping[str, Any]) -> list[str]:
    """The required services whose state is not available/running, as "name=state"."""
    states = health.get("services", {})
    return [
        f"{name}={states.get(name, 'missing')}" for name in SERVICES if states.get(name) not in READY_STATES
    ]


def port_in_use(port: int) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((HOST, port)) == 0


def _process_state(pid: int) -> str | None:
    """The /proc state letter of a pid ("Z" for zombie), or None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[0]


def is_alive(pid: int) -> bool:
    """True when the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _process_state(pid) != "Z"


def _command_line(pid: int) -> str:
    """The command line of a pid ("" when it cannot be read)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return raw.replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        pass
    try:
        out = subprocess.run(
            ["ps", "-p", str(pid), "-o", "command="],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def read_pid(paths: Paths) -> int | None:
    """The pid from the pid file, or None when there is none (or it is garbage)."""
    try:
        text = paths.pid.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def recorded_port(paths: Paths) -> int | None:
    """The port written by ``start`` next to the pid file, or None.

    Falls back to GATEWAY_LISTEN in the environment of the recorded process (Linux).
    """
    try:
        text = paths.port.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    if text.isdigit():
        return int(text)
    pid = read_pid(paths)
    if pid is None:
        return None
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in environ:
        if item.startswith(b"GATEWAY_LISTEN="):
            match = re.search(rb":(\d+)$", item.split(b",")[0])
            return int(match.group(1)) if match else None
    return None


def default_port(paths: Paths) -> int:
    """The port of the server this script started when it is alive, else 4566."""
    if our_server_pid(paths) is not None:
        return recorded_port(paths) or DEFAULT_PORT
    return DEFAULT_PORT


def _forget_server(paths: Paths) -> None:
    """Remove the pid and port files."""
    paths.pid.unlink(missing_ok=True)
    paths.port.unlink(missing_ok=True)


def our_server_pid(paths: Paths) -> int | None:
    """The pid of a live LocalStack process recorded in the pid file, else None."""
    pid = read_pid(paths)
    if pid is None or not is_alive(pid):
        return None
    if PROCESS_MARKER not in _command_line(pid):
        return None
    return pid


def our_pid_on(paths: Paths, port: int) -> int | None:
    """The pid of our live server when it was started for ``port``, else None."""
    pid = our_server_pid(paths)
    if pid is not None and recorded_port(paths) in (None, port):
        return pid
    return None


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group led by ``pid`` (or to ``pid`` alone)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _terminate_group(pid: int, grace: float, child: subprocess.Popen[bytes] | None = None) -> bool:
    """SIGTERM the group, wait up to ``grace`` seconds, then SIGKILL it.

    Returns True when it exited on SIGTERM. ``child`` is reaped when given.
    """
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if child is not None and child.poll() is not None:
            return True
        if child is None and not is_alive(pid):
            return True
        time.sleep(0.2)
    _signal_group(pid, signal.SIGKILL)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=10)
    else:
        deadline = time.monotonic() + 10
        while is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    return False


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of a text file ([] when missing)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return [line.rstrip("\n") for line in deque(handle, maxlen=lines)]
    except OSError:
        return []


def _print_tail(path: Path, lines: int = LOG_TAIL_LINES, stream: TextIO | None = None) -> None:
    """Print the last lines of a log, indented."""
    stream = sys.stderr if stream is None else stream
    print(f"----- last {lines} lines of {path} -----", file=stream)
    for line in _tail(path, lines):
        print(f"  {line}", file=stream)
    print("-----", file=stream, flush=True)


def server_env(paths: Paths, port: int) -> dict[str, str]:
    """The environment LocalStack runs with: loopback only, no phoning home."""
    return _clean_env(
        {
            "GATEWAY_LISTEN": f"{HOST}:{port}",
            # The loopback patch in BOOTSTRAP is for twisted (the default server).
            "GATEWAY_SERVER": "twisted",
            # URLs LocalStack hands back point at loopback, no DNS needed.
            "LOCALSTACK_HOST": f"{HOST}:{port}",
            "SERVICES": ",".join(SERVICES),
            "EAGER_SERVICE_LOADING": "1",
            # No DNS server (it would bind port 53).
            "DNS_ADDRESS": "0",
            # No usage events/analytics to localstack.cloud.
            "DISABLE_EVENTS": "1",
            # Use a self-signed certificate; do not try to download one.
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            # Host mode even inside a container: data under FILESYSTEM_ROOT, not /var/lib.
            "OVERRIDE_IN_DOCKER": "0",
            "FILESYSTEM_ROOT": str(paths.data),
            "PYTHONUNBUFFERED": "1",
            "VIRTUAL_ENV": str(paths.venv),
        }
    )


# --------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------


def _wait_ready(
    port: int, timeout: float, proc: subprocess.Popen[bytes] | None, paths: Paths
) -> tuple[bool, str]:
    """Poll the health endpoint until the required services are ready.

    Returns (True, "") when ready, else (False, reason).
    """
    started = time.monotonic()
    next_progress = started + PROGRESS_EVERY
    reason = "not polled yet"
    while True:
        if proc is not None and proc.poll() is not None:
            return False, f"the LocalStack process exited with code {proc.returncode}"
        health, reason = fetch_health(port, timeout=2.0)
        if health is not None:
            missing = not_ready_services(health)
            if not missing:
                return True, ""
            reason = "services not ready yet: " + ", ".join(missing)
        now = time.monotonic()
        if now - started >= timeout:
            return False, f"not ready after {timeout:.0f} s ({reason})"
        if now >= next_progress:
            say(
                f"  … waiting for {endpoint_url(port)} ({now - started:.0f} s; log: {_display(paths.log, paths.repo)})"
            )
            next_progress = now + PROGRESS_EVERY
        time.sleep(0.5)


def cmd_start(args: argparse.Namespace) -> int:
    """Install if needed, start LocalStack in the background, wait until it is ready."""
    paths = resolve_paths()
    port: int = args.port if args.port is not None else DEFAULT_PORT
    endpoint = endpoint_url(port)
    overall = time.monotonic()

    health, _ = fetch_health(port)
    if health is not None and not not_ready_services(health):
        pid = our_pid_on(paths, port)
        who = f"pid {pid}" if pid else "not started by this script: no live pid file"
        say(f"LocalStack is already running and healthy at {endpoint} ({who}).")
        return EXIT_OK

    pid = our_server_pid(paths)
    running_port = recorded_port(paths)
    if pid is not None and running_port not in (None, port):
        warn(
            f"LocalStack from this checkout is already running on port {running_port} (pid {pid}); "
            f"use --port {running_port}, or stop it first."
        )
        return EXIT_FAIL
    if pid is not None:
        say(f"LocalStack (pid {pid}) is running but not healthy at {endpoint}; waiting for it …")
        ok, reason = _wait_ready(port, args.timeout, None, paths)
        if ok:
            say(f"LocalStack is ready at {endpoint} (pid {pid}).")
            return EXIT_OK
        warn(f"LocalStack (pid {pid}) is {reason}. Stop it with `stop` and start again.")
        _print_tail(paths.log)
        return EXIT_FAIL
    if read_pid(paths) is not None:
        say(f"Removing stale pid file {_display(paths.pid, paths.repo)}.")
        _forget_server(paths)

    if port_in_use(port):
        warn(
            f"Port {port} on {HOST} is in use by something that is not a healthy LocalStack; "
            "free it or pick another port with --port."
        )
        return EXIT_FAIL

    if not ensure_venv(paths, args.install_timeout):
        return EXIT_FAIL

    paths.state.mkdir(parents=True, exist_ok=True)
    paths.data.mkdir(parents=True, exist_ok=True)
    say(f"Starting LocalStack {LOCALSTACK_VERSION} on {endpoint} (services: {','.join(SERVICES)}) …")
    launched = time.monotonic()
    with paths.log.open("w", encoding="utf-8") as log:
        log.write(f"# mesh LocalStack {LOCALSTACK_VERSION} on {endpoint}, started {time.ctime()}\n")
        log.flush()
        proc = subprocess.Popen(
            [str(paths.venv_python), "-c", BOOTSTRAP],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=paths.state,
            env=server_env(paths, port),
            start_new_session=True,
        )
    paths.pid.write_text(f"{proc.pid}\n", encoding="utf-8")
    paths.port.write_text(f"{port}\n", encoding="utf-8")

    ok, reason = _wait_ready(port, args.timeout, proc, paths)
    if ok:
        say(
            f"LocalStack is ready at {endpoint} (pid {proc.pid}) after "
            f"{time.monotonic() - launched:.1f} s (total {time.monotonic() - overall:.1f} s)."
        )
        say(f"Log: {paths.log}   Stop it with: python {_display(Path(__file__).resolve(), paths.repo)} stop")
        return EXIT_OK

    warn(f"LocalStack did not become ready: {reason}.")
    _print_tail(paths.log)
    if proc.poll() is None:
        warn(f"Stopping it (pid {proc.pid}) …")
        _terminate_group(proc.pid, grace=args.stop_timeout, child=proc)
    _forget_server(paths)
    return EXIT_FAIL


def cmd_status(args: argparse.Namespace) -> int:
    """Report whether LocalStack answers, with its pid and the services' states."""
    paths = resolve_paths()
    port: int = args.port if args.port is not None else default_port(paths)
    endpoint = endpoint_url(port)
    pid = our_pid_on(paths, port)
    health, reason = fetch_health(port)
    if health is None:
        say(f"LocalStack is not running at {endpoint}: {reason}.")
        other = our_server_pid(paths)
        if other is not None:
            where = recorded_port(paths)
            on = f"started for port {where}" if where else "port unknown"
            say(
                f"  (the LocalStack process in {_display(paths.pid, paths.repo)} is alive: pid {other}, {on})"
            )
        else:
            say("  Start it with: python localstack/mesh_localstack.py start")
        return EXIT_FAIL

    missing = not_ready_services(health)
    state = "running" if not missing else "running but NOT ready"
    who = f"pid {pid}" if pid else "pid unknown: not started by this script"
    say(f"LocalStack is {state} at {endpoint} ({who}), version {health.get('version', '?')}.")
    say(f"Endpoint: {endpoint}")
    say("Services:")
    for name, svc_state in sorted(health["services"].items()):
        if svc_state != "disabled" or name in SERVICES:
            say(f"  {name:<10} {svc_state}")
    if missing:
        say("Not ready: " + ", ".join(missing))
        return EXIT_FAIL
    return EXIT_OK


def cmd_stop(args: argparse.Namespace) -> int:
    """Stop the server started by ``start`` (SIGTERM, bounded wait, SIGKILL)."""
    paths = resolve_paths()
    recorded = read_pid(paths)
    if recorded is None:
        say(f"LocalStack is not running (no pid file at {_display(paths.pid, paths.repo)}).")
        return EXIT_OK
    pid = our_server_pid(paths)
    if pid is None:
        say(f"LocalStack is not running (pid {recorded} is gone); removing the stale pid file.")
        _forget_server(paths)
        return EXIT_OK
    say(f"Stopping LocalStack (pid {pid}) …")
    started = time.monotonic()
    graceful = _terminate_group(pid, grace=args.timeout)
    _forget_server(paths)
    how = "gracefully" if graceful else f"with SIGKILL after {args.timeout:.0f} s"
    say(f"Stopped {how} in {time.monotonic() - started:.1f} s.")
    return EXIT_OK


def env_lines(port: int) -> list[str]:
    """The shell lines that point AWS SDKs and CLIs at the local server."""
    return [
        f"export AWS_ENDPOINT_URL={endpoint_url(port)}",
        "export AWS_ACCESS_KEY_ID=test",
        "export AWS_SECRET_ACCESS_KEY=test",
        "export AWS_DEFAULT_REGION=us-east-1",
    ]


def cmd_env(args: argparse.Namespace) -> int:
    """Print export lines for AWS_ENDPOINT_URL and the dummy credentials."""
    port: int = args.port if args.port is not None else default_port(resolve_paths())
    for line in env_lines(port):
        print(line)
    return EXIT_OK


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def _port(text: str) -> int:
    """argparse type for a TCP port."""
    value = int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (1-65535)")
    return value


def _seconds(text: str) -> float:
    """argparse type for a positive duration."""
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser with one sub-command per action."""
    parser = argparse.ArgumentParser(
        prog="mesh_localstack.py",
        description=(
            "Run LocalStack community (S3, IAM, STS, KMS) on 127.0.0.1 without Docker, "
            "for mesh's emulator tests. It installs localstack-core "
            f"{LOCALSTACK_VERSION} into a dedicated Python 3.13 venv under .mesh/ on "
            "first use."
        ),
        epilog=(
            "typical use:\n"
            "  python localstack/mesh_localstack.py start\n"
            '  eval "$(python localstack/mesh_localstack.py env)"   # point boto3/aws at it\n'
            "  MESH_LOCALSTACK_ENDPOINT=http://127.0.0.1:4566 pytest tests/emulator -m localstack\n"
            "  python localstack/mesh_localstack.py stop\n"
            "\n"
            "or let the tests start and stop it: MESH_LOCALSTACK=1 pytest tests/emulator -m localstack\n"
            "\n"
            "environment: MESH_PYTHON313 (interpreter for the venv), MESH_LOCALSTACK_VENV,\n"
            "MESH_LOCALSTACK_STATE_DIR (log, pid file, data; default <repo>/.mesh)\n"
            "exit codes: 0 ok, 1 failed / not running, 2 usage, 3 Python 3.13 missing"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    port_help = f"TCP port on {HOST} (default {DEFAULT_PORT})"
    seen_port_help = (
        f"TCP port on {HOST} (default: the port `start` used, if its server is alive, else {DEFAULT_PORT})"
    )

    start = sub.add_parser(
        "start",
        help="install if needed, start in the background and wait until ready",
        description=(
            "Create the Python 3.13 venv and install the pinned packages (skipped when "
            "already done), start LocalStack in the background bound to 127.0.0.1, and "
            "wait until S3, IAM, STS and KMS report ready. Exits 0 at once if it is "
            "already running and healthy. On timeout prints the end of the log, stops "
            "the process and exits 1."
        ),
    )
    start.add_argument("--port", type=_port, default=None, help=port_help)
    start.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_START_TIMEOUT,
        help=f"seconds to wait for readiness after launch (default {DEFAULT_START_TIMEOUT:.0f})",
    )
    start.add_argument(
        "--install-timeout",
        type=_seconds,
        default=DEFAULT_INSTALL_TIMEOUT,
        help=f"seconds allowed for pip install (default {DEFAULT_INSTALL_TIMEOUT:.0f})",
    )
    start.add_argument("--stop-timeout", type=_seconds, default=DEFAULT_STOP_TIMEOUT, help=argparse.SUPPRESS)
    start.set_defaults(func=cmd_start)

    status = sub.add_parser(
        "status",
        help="is it running? pid, endpoint and service states; exit 0 when healthy",
        description="Query the health endpoint. Exit 0 when S3, IAM, STS and KMS are ready, 1 otherwise.",
    )
    status.add_argument("--port", type=_port, default=None, help=seen_port_help)
    status.set_defaults(func=cmd_status)

    stop = sub.add_parser(
        "stop",
        help="stop the server started by `start` (exit 0 even if not running)",
        description=(
            "Send SIGTERM to the process group recorded in the pid file, wait, then "
            "SIGKILL; remove the pid file. Exit 0 even when nothing was running."
        ),
    )
    stop.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_STOP_TIMEOUT,
        help=f"seconds to wait after SIGTERM before SIGKILL (default {DEFAULT_STOP_TIMEOUT:.0f})",
    )
    stop.set_defaults(func=cmd_stop)

    env = sub.add_parser(
        "env",
        help="print export lines for AWS_ENDPOINT_URL and the test credentials",
        description='Print shell export lines; use as: eval "$(python localstack/mesh_localstack.py env)"',
    )
    env.add_argument("--port", type=_port, default=None, help=seen_port_help)
    env.set_defaults(func=cmd_env)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except KeyboardInterrupt:
        warn("Interrupted.")
        return 130
    except BrokenPipeError:
        # Output piped into e.g. `head`: not an error of ours. Silence the flush at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAIL
    return result


if __name__ == "__main__":
    sys.exit(main())
