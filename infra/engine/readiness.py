"""`mesh doctor`: everything `mesh provision` needs on this machine, checked without cloud calls.

Each check says pass, fail or skip, what it found, and how to fix a failure. Network
use is bounded and local: a TCP probe of the Pulumi download host, LocalStack's
health route on loopback addresses (2 s), and a credential lookup that reads files
and the environment (no STS call).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from infra import pulumi_cli
from infra.engine.target import backend_url, file_backend_path
from infra.model.platform import PlatformConfig

if TYPE_CHECKING:
    from infra.validation import LoadedPlatform


class CheckStatus(StrEnum):
    """The outcome of one readiness check."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    """One thing mesh needs, whether it is there, and how to fix it when not."""

    name: str
    status: CheckStatus
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        """`{"check", "status", "detail", "fix"}`."""
        return {"check": self.name, "status": str(self.status), "detail": self.detail, "fix": self.fix}


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
HEALTH_TIMEOUT_S = 2.0
READY_STATES = frozenset({"running", "available"})
CREDENTIALS_TIMEOUT_S = 3.0


def _check_python() -> Check:
    # mesh does not import below 3.11 (pyproject.toml), so reaching here means the version fits.
    version = ".".join(str(p) for p in sys.version_info[:3])
    return Check("Python", CheckStatus.PASS, f"Python {version} ({sys.executable})")


def _check_cli() -> tuple[Check, pulumi_cli.CliLocation | None]:
    location = pulumi_cli.find_cli()
    if location is None:
        reachable = pulumi_cli.network_reachable()
        detail = f"not on PATH nor in {pulumi_cli.install_root()}; " + (
            f"mesh installs v{pulumi_cli.PULUMI_VERSION} on first provision"
            if reachable
            else f"{pulumi_cli.INSTALL_HOST} is unreachable, so mesh cannot install it"
        )
        fix = "" if reachable else pulumi_cli.INSTALL_HELP.format(root=pulumi_cli.install_root())
        return Check("Pulumi CLI", CheckStatus.PASS if reachable else CheckStatus.FAIL, detail, fix), None
    version = pulumi_cli.cli_version(location.binary)
    if version is None:
        return (
            Check(
                "Pulumi CLI",
                CheckStatus.FAIL,
                f"{location.binary} does not run",
                pulumi_cli.INSTALL_HELP.format(root=pulumi_cli.install_root()),
            ),
            None,
        )
    supported = _version_support(version)
    if supported is not None:
        return (
            Check(
                "Pulumi CLI",
                CheckStatus.FAIL,
                f"v{version} at {location.binary} ({location.source}): {supported}",
                f"Install Pulumi v{pulumi_cli.PULUMI_VERSION}, the release mesh is built with. "
                + pulumi_cli.INSTALL_HELP.format(root=pulumi_cli.install_root()),
            ),
            None,
        )
    return Check(
        "Pulumi CLI", CheckStatus.PASS, f"v{version} at {location.binary} ({location.source})"
    ), location


def _version_key(version: str) -> tuple[int, int, int] | None:
    core = version.strip().removeprefix("v").split("-", 1)[0].split("+", 1)[0]
    parts = core.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def _version_support(version: str) -> str | None:
    """Why the Automation SDK mesh uses would refuse CLI `version` (None when it accepts it)."""
    from infra.engine.automation import supported_cli_versions  # noqa: PLC0415 - imports Pulumi; doctor only

    lowest, refused = supported_cli_versions()
    found, low, high = _version_key(version), _version_key(lowest), _version_key(refused)
    if found is None or low is None or high is None:
        return f"the version {version!r} cannot be read, so the Automation SDK would refuse it"
    if found < low:
        return f"older than v{lowest}, the oldest the Automation SDK accepts (it supports v{lowest} up to, not including, v{refused})"
    if found >= high:
        return f"a newer major version than the Automation SDK supports (v{lowest} up to, not including, v{refused})"
    return None


def _package_version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415 - doctor only

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _check_plugins(location: pulumi_cli.CliLocation | None, clouds: set[str]) -> Check:
    if not clouds:
        return Check("Provider plugins", CheckStatus.SKIP, "no environment in mesh.yaml names a cloud")
    if location is None:
        return Check("Provider plugins", CheckStatus.SKIP, "needs the Pulumi CLI to list them")
    try:
        plugins = pulumi_cli.installed_plugins(location.binary)
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        return Check(
            "Provider plugins",
            CheckStatus.FAIL,
            f"`pulumi plugin ls` failed: {e}",
            "Run `pulumi plugin ls` to see why.",
        )
    have = {(p.name, p.version.removeprefix("v")) for p in plugins if p.kind == "resource"}
    missing: list[str] = []
    found: list[str] = []
    for cloud in sorted(clouds):
        wanted = _package_version(f"pulumi_{cloud}")
        if wanted and (cloud, wanted) in have:
            found.append(f"{cloud} v{wanted}")
        else:
            missing.append(f"{cloud} v{wanted or '?'}")
    if missing:
        commands = "; ".join(f"pulumi plugin install resource {m}" for m in missing)
        return Check(
            "Provider plugins",
            CheckStatus.FAIL,
            f"missing: {', '.join(missing)}" + (f" (installed: {', '.join(found)})" if found else ""),
            f"Pulumi downloads them on first use when online; or install now: {commands}.",
        )
    return Check("Provider plugins", CheckStatus.PASS, ", ".join(found))


def _aws_credentials() -> str | None:
    import boto3  # noqa: PLC0415 - doctor only

    credentials = boto3.Session().get_credentials()
    return getattr(credentials, "method", "found") if credentials is not None else None


def _check_aws_credentials(config: PlatformConfig | None) -> Check:
    real = [n for n, e in (config.environments.items() if config else ()) if e.aws and not e.aws.endpoints]
    if config is not None and not real:
        return Check(
            "AWS credentials", CheckStatus.SKIP, "no environment targets real AWS (emulators use test keys)"
        )
    try:
        method = pulumi_cli.bounded(
            _aws_credentials, timeout=CREDENTIALS_TIMEOUT_S, what="looking up AWS credentials"
        )
    except Exception as e:  # botocore raises many kinds here (bad profile, bad config file)
        return Check(
            "AWS credentials", CheckStatus.FAIL, f"lookup failed: {e}", "Fix ~/.aws/config or AWS_PROFILE."
        )
    if method is None:
        return Check(
            "AWS credentials",
            CheckStatus.FAIL,
            "none found (environment, profile, SSO or instance role)"
            + (f"; needed by {', '.join(real)}" if real else ""),
            "Run `aws sso login` or `aws configure`, or set AWS_PROFILE / AWS_ACCESS_KEY_ID.",
        )
    return Check("AWS credentials", CheckStatus.PASS, f"found ({method}); not verified against AWS")


def _check_gcp_credentials(config: PlatformConfig | None) -> Check | None:
    if config is None or not any(e.gcp for e in config.environments.values()):
        return None
    explicit = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    well_known = (
        Path(os.environ.get("CLOUDSDK_CONFIG") or Path.home() / ".config" / "gcloud")
        / "application_default_credentials.json"
    )
    for candidate in (Path(explicit) if explicit else None, well_known):
        if candidate is not None and candidate.is_file():
            return Check(
                "GCP credentials", CheckStatus.PASS, f"found ({candidate}); not verified against GCP"
            )
    return Check(
        "GCP credentials",
        CheckStatus.FAIL,
        "no application default credentials",
        "Run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS.",
    )


def _writable_folder(path: Path) -> bool:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK | os.X_OK)


def _check_backends(platform: LoadedPlatform) -> list[Check]:
    checks: list[Check] = []
    for name, env in platform.config.environments.items():
        url = backend_url(env.backend, platform.path.parent)
        folder = file_backend_path(url)
        label = f"State backend ({name})"
        if folder is None:
            checks.append(
                Check(label, CheckStatus.SKIP, f"{url}: not checked offline (mesh doctor calls no cloud API)")
            )
        elif _writable_folder(folder):
            later = "" if folder.exists() else " (created on first provision)"
            checks.append(Check(label, CheckStatus.PASS, f"{folder} is writable{later}"))
        else:
            checks.append(
                Check(
                    label,
                    CheckStatus.FAIL,
                    f"{folder} is not writable",
                    f"Make {folder} writable, or set another backend for {name}.",
                )
            )
    return checks


def _health(base: str, services: set[str]) -> tuple[bool, str]:
    """Ask LocalStack's health route; ready when every configured service it knows is up."""
    url = base.rstrip("/") + "/_localstack/health"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=HEALTH_TIMEOUT_S) as response:
            body = json.loads(response.read(262144).decode("utf-8", "replace") or "{}")
    except (OSError, ValueError) as e:
        return False, f"{url}: {getattr(e, 'reason', e)}"
    states = body.get("services", {}) if isinstance(body, dict) else {}
    known = {s: str(states[s]) for s in sorted(services) if s in states}
    down = [s for s, state in known.items() if state not in READY_STATES]
    missing = sorted(services - set(states))
    detail = f"{base}: " + ", ".join(f"{s} {state}" for s, state in known.items())
    if missing:
        detail += f"; not offered: {', '.join(missing)}"
    return not down, detail


def _check_emulators(platform: LoadedPlatform) -> list[Check]:
    checks: list[Check] = []
    bases: dict[str, tuple[set[str], set[str]]] = {}  # base URL -> (environments, services)
    for name, env in platform.config.environments.items():
        for service, url in env.aws.endpoints.items() if env.aws else ():
            parts = urllib.parse.urlsplit(url)
            envs, services = bases.setdefault(f"{parts.scheme}://{parts.netloc}", (set(), set()))
            envs.add(name)
            services.add(str(service))
    for base, (envs, services) in bases.items():
        label = f"LocalStack ({', '.join(sorted(envs))})"
        host = urllib.parse.urlsplit(base).hostname or ""
        if host not in LOOPBACK_HOSTS:
            checks.append(Check(label, CheckStatus.SKIP, f"{base} is not on this machine; not checked"))
            continue
        ok, detail = _health(base, services)
        fix = (
            ""
            if ok
            else "Start it: `python localstack/mesh_localstack.py start` (or the docker-compose file in localstack/)."
        )
        checks.append(Check(label, CheckStatus.PASS if ok else CheckStatus.FAIL, detail, fix))
    return checks


def readiness_checks(platform: LoadedPlatform | None) -> list[Check]:
    """Everything `mesh provision` needs on this machine, checked without calling a cloud API."""
    checks = [_check_python()]
    cli, location = _check_cli()
    checks.append(cli)
    config = platform.config if platform else None
    clouds = {c for e in (config.environments.values() if config else ()) for c in e.clouds()}
    checks.append(
        _check_plugins(location, clouds)
        if platform is not None
        else Check("Provider plugins", CheckStatus.SKIP, "no mesh.yaml, so no cloud to check plugins for")
    )
    checks.append(_check_aws_credentials(config))
    gcp = _check_gcp_credentials(config)
    if gcp is not None:
        checks.append(gcp)
    if platform is None:
        checks.append(
            Check(
                "Platform config",
                CheckStatus.SKIP,
                "no mesh.yaml here or above; backends and emulators not checked",
                fix="Run mesh doctor in the repository that holds mesh.yaml, pass --platform PATH, "
                "or write one with mesh init.",
            )
        )
        return checks
    checks.append(Check("Platform config", CheckStatus.PASS, str(platform.path)))
    checks += _check_backends(platform)
    checks += _check_emulators(platform)
    return checks
