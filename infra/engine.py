"""The engine: running stacks through the Pulumi Automation API.

This is the only module that imports `pulumi.automation`. It is built around a small
interface, `Workspace` and `StackHandle`, holding the few operations mesh uses; the
real implementation (`AutomationWorkspace`) wraps `pulumi.automation`, and tests
inject a fake with the same methods.

What mesh decides here, once, for every stack:

- **Project and stack**: one Pulumi project per organisation (`mesh-<org>`); a stack
  per product and environment (`<domain>.<product>.<env>`) and one platform stack per
  environment (`platform.<env>`). Programs are inline (from `stacks/`).
- **State backend**: the environment's `backend`. `file://` paths are relative to the
  folder of `mesh.yaml` and become absolute; `s3://` and `gs://` pass through.
- **Secrets provider**: `awskms://` / `gcpkms://` pass through. `passphrase` reads
  `PULUMI_CONFIG_PASSPHRASE` (or `PULUMI_CONFIG_PASSPHRASE_FILE`), then
  `MESH_PASSPHRASE`; otherwise mesh generates one once and keeps it in
  `<repo>/.mesh/passphrase` (mode 0600, in a folder git ignores). The passphrase is
  handed to Pulumi as a file path and never printed or logged.
- **Stack config**: `aws:region`; for an environment with `endpoints` (LocalStack)
  the endpoint of each configured service, path-style S3, no credential, account or
  metadata checks, and the emulator's `test` keys; `gcp:project` and `gcp:region`.
  mesh owns this config: it is rewritten before every operation.
- **Stack tags**: `mesh:domain`, `mesh:product`, `mesh:owner`, `mesh:environment` and
  the rest of the spec's tags. A backend that cannot keep tags yields a warning.
- **Workspace folders**: `<repo>/.mesh/workspaces/<project>/<stack>` (Pulumi writes
  its project and stack files there), so parallel stacks never share one.

Every `pulumi.automation` error is translated here into a `MeshError` that names the
stack, the resource and what to do (`raise ... from e`). Progress is reported as
records from `infra.progress`; nothing here prints.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pulumi.automation as auto
from pulumi.automation import errors as auto_errors
from pulumi.automation import events as auto_events

from infra import pulumi_cli
from infra.errors import MeshError
from infra.platform import EnvironmentConfig, PlatformConfig
from infra.progress import (
    CliInstall,
    EngineMessage,
    ProgressRecord,
    ProgressSink,
    ResourceStep,
    Stage,
    StageFinished,
    StageStarted,
    StepStatus,
    ignore,
)
from infra.spec import TAG_DOMAIN, TAG_ENVIRONMENT, TAG_OWNER, TAG_PRODUCT, ProductSpec

if TYPE_CHECKING:
    from infra.validation import LoadedPlatform

Program = Callable[[], None]
OnEvent = Callable[[auto_events.EngineEvent], None]

MESH_DIR = ".mesh"
PASSPHRASE_FILE = "passphrase"
DEFAULT_BACKEND = "file://.mesh/state"
PASSPHRASE_PROVIDER = "passphrase"
EMULATOR_KEY = "test"
STACK_TAG_KEYS = (TAG_DOMAIN, TAG_PRODUCT, TAG_OWNER, TAG_ENVIRONMENT)
SECRET_MASK = "[secret]"

#: Resources whose replacement or deletion loses data or makes data unreadable.
STATEFUL_TYPES = frozenset(
    {
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:kms/key:Key",
        "aws:glue/catalogDatabase:CatalogDatabase",
        "aws:glue/catalogTable:CatalogTable",
        "gcp:storage/bucket:Bucket",
        "gcp:bigquery/dataset:Dataset",
        "gcp:bigquery/table:Table",
        "gcp:kms/cryptoKey:CryptoKey",
    }
)
DESTRUCTIVE_OPS = frozenset({"replace", "delete", "create-replacement", "delete-replaced"})
NO_CHANGE_OPS = frozenset({"same", "read", "refresh"})


# --- Errors ---------------------------------------------------------------------------


class StackLocked(MeshError):
    """Another update holds the stack's lock."""


class StackMissing(MeshError):
    """The stack does not exist in the backend (nothing was provisioned)."""


class ResourceFailed(MeshError):
    """A resource operation failed; the message names the resource and the provider's reason."""

    def __init__(self, message: str, *, hint: str | None = None, urn: str = "") -> None:
        super().__init__(message, hint=hint)
        self.urn = urn


class DestructiveChangeBlocked(MeshError):
    """The preview replaces or deletes stateful resources in an environment that is not a preview."""

    def __init__(self, message: str, *, hint: str | None = None, steps: Sequence[PlannedStep] = ()) -> None:
        super().__init__(message, hint=hint)
        self.steps = tuple(steps)


class GuardrailsBlocked(MeshError):
    """The offline plan failed a mandatory guardrail."""


class EngineFailed(MeshError):
    """A Pulumi operation failed for a reason mesh has no closer words for."""


# --- What mesh builds for each stack ----------------------------------------------------


@dataclass(frozen=True)
class ConfigEntry:
    """One stack config value; `path` marks a key like `aws:endpoints[0].s3` (set with `--path`)."""

    value: str
    secret: bool = False
    path: bool = False


@dataclass(frozen=True)
class WorkspaceSettings:
    """Where and how Pulumi runs for one project in one environment.

    `env_vars` may hold a passphrase (from `MESH_PASSPHRASE`); it is left out of `repr`.
    """

    project: str
    backend_url: str
    secrets_provider: str
    work_dir: Path
    env_vars: Mapping[str, str] = field(default_factory=dict, repr=False)
    pulumi_home: str | None = None


@dataclass(frozen=True)
class StackTarget:
    """One stack to work on: its settings, config, tags and program, and where it came from."""

    stack: str
    environment: str
    settings: WorkspaceSettings
    config: Mapping[str, ConfigEntry]
    tags: Mapping[str, str]
    program: Program | None
    source: str  # the request file, or "platform"
    protected: bool = False
    preview_environment: bool = False
    planned_resources: int | None = None

    def command(self, verb: str) -> str:
        """The mesh command line that runs `verb` on this stack (for hints)."""
        if self.source == "platform":
            return f"mesh platform {verb} --env {self.environment}"
        return f"mesh {verb} {self.source} --env {self.environment}"


def mesh_folder(platform_dir: Path) -> Path:
    """`<repo>/.mesh`, created with a `.gitignore` so nothing in it is ever committed."""
    folder = platform_dir / MESH_DIR
    folder.mkdir(parents=True, exist_ok=True)
    ignore_file = folder / ".gitignore"
    if not ignore_file.exists():
        ignore_file.write_text("# mesh's local state, workspaces and passphrase: never commit.\n*\n")
    return folder


def backend_url(backend: str, platform_dir: Path) -> str:
    """The environment's state backend as Pulumi wants it: `file://` made absolute, others unchanged."""
    if not backend.startswith("file://"):
        return backend
    rest = backend.removeprefix("file://") or DEFAULT_BACKEND.removeprefix("file://")
    path = Path(rest).expanduser()
    if not path.is_absolute():
        path = platform_dir / path
    return "file://" + path.resolve().as_posix()


def file_backend_path(url: str) -> Path | None:
    """The folder of a `file://` backend (None for other backends)."""
    return Path(url.removeprefix("file://")) if url.startswith("file://") else None


def passphrase_env(platform_dir: Path) -> dict[str, str]:
    """What Pulumi needs to find the passphrase, without putting it anywhere new.

    `PULUMI_CONFIG_PASSPHRASE(_FILE)` in the environment wins (Pulumi inherits it);
    then `MESH_PASSPHRASE`; then `<repo>/.mesh/passphrase`, generated on first use.
    """
    if os.environ.get("PULUMI_CONFIG_PASSPHRASE") or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        return {}
    given = os.environ.get("MESH_PASSPHRASE")
    if given:
        return {"PULUMI_CONFIG_PASSPHRASE": given}
    return {"PULUMI_CONFIG_PASSPHRASE_FILE": str(passphrase_file(platform_dir))}


def passphrase_file(platform_dir: Path) -> Path:
    """`<repo>/.mesh/passphrase`: created once with a random passphrase, readable by its owner only."""
    path = mesh_folder(platform_dir) / PASSPHRASE_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return path
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32))
    return path


def stack_config(env: EnvironmentConfig, cloud: str) -> dict[str, ConfigEntry]:
    """The provider config of a stack on `cloud` in `env`."""
    if cloud == "gcp":
        if env.gcp is None:
            raise ValueError("environment has no gcp section")
        return {"gcp:project": ConfigEntry(env.gcp.project), "gcp:region": ConfigEntry(env.gcp.region)}
    if env.aws is None:
        raise ValueError("environment has no aws section")
    config = {"aws:region": ConfigEntry(env.aws.region)}
    if env.aws.endpoints:
        # An emulator: only the services configured (each endpoint slows the provider down).
        for service, url in sorted(env.aws.endpoints.items()):
            config[f"aws:endpoints[0].{service}"] = ConfigEntry(url.rstrip("/"), path=True)
        config |= {
            "aws:s3UsePathStyle": ConfigEntry("true"),
            "aws:skipCredentialsValidation": ConfigEntry("true"),
            "aws:skipRequestingAccountId": ConfigEntry("true"),
            "aws:skipMetadataApiCheck": ConfigEntry("true"),
            "aws:accessKey": ConfigEntry(EMULATOR_KEY, secret=True),
            "aws:secretKey": ConfigEntry(EMULATOR_KEY, secret=True),
        }
    return config


def workspace_settings(
    config: PlatformConfig, environment: str, *, platform_dir: Path, project: str, folder: str
) -> WorkspaceSettings:
    """Backend, secrets provider and environment variables of `project` in `environment`."""
    env = config.environments[environment]
    env_vars = {"PULUMI_SKIP_UPDATE_CHECK": "true"}
    if env.secrets_provider == PASSPHRASE_PROVIDER:
        env_vars |= passphrase_env(platform_dir)
    return WorkspaceSettings(
        project=project,
        backend_url=backend_url(env.backend, platform_dir),
        secrets_provider=env.secrets_provider,
        work_dir=mesh_folder(platform_dir) / "workspaces" / project / folder,
        env_vars=env_vars,
        pulumi_home=os.environ.get("MESH_PULUMI_HOME") or None,
    )


def _stack_tags(tags: Mapping[str, str]) -> dict[str, str]:
    ordered = {k: tags[k] for k in STACK_TAG_KEYS if k in tags}
    return ordered | {k: v for k, v in tags.items() if k not in ordered}


def product_target(
    spec: ProductSpec, platform: LoadedPlatform, *, source: str, planned_resources: int | None = None
) -> StackTarget:
    """The stack of a resolved product request."""
    from stacks.product import product_program  # noqa: PLC0415 - stacks import pulumi; only when a stack runs

    env = platform.config.environments[spec.environment]
    return StackTarget(
        stack=spec.stack,
        environment=spec.environment,
        settings=workspace_settings(
            platform.config,
            spec.environment,
            platform_dir=platform.path.parent,
            project=spec.project,
            folder=spec.stack,
        ),
        config=stack_config(env, spec.cloud),
        tags=_stack_tags(spec.tags),
        program=product_program(spec),
        source=source,
        protected=env.protected,
        preview_environment=env.preview,
        planned_resources=planned_resources,
    )


def platform_target(platform: LoadedPlatform, environment: str) -> StackTarget:
    """The platform stack of `environment` (AWS only)."""
    from stacks.platform import platform_program, resolve_platform  # noqa: PLC0415 - as above

    config = platform.config
    env = config.environments[environment]
    if env.aws is None:
        raise MeshError(
            f"Environment {environment} has no shared platform resources: they exist for AWS only.",
            hint="GCP products need no platform stack; provision them directly.",
        )
    spec = resolve_platform(config, environment)
    return StackTarget(
        stack=spec.stack,
        environment=environment,
        settings=workspace_settings(
            config, environment, platform_dir=platform.path.parent, project=spec.project, folder=spec.stack
        ),
        config=stack_config(env, "aws"),
        tags=_stack_tags(spec.tags),
        program=platform_program(spec),
        source="platform",
        protected=env.protected,
        preview_environment=env.preview,
        planned_resources=11,  # the PlatformShared component's cloud resources
    )


# --- Results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedStep:
    """A resource operation the engine announced (in a preview, what an update would do)."""

    urn: str
    type: str
    name: str
    op: str

    def as_dict(self) -> dict[str, str]:
        """`{"urn", "type", "name", "op"}`."""
        return {"urn": self.urn, "type": self.type, "name": self.name, "op": self.op}


@dataclass
class PreviewReport:
    """What an update of one stack would change."""

    stack: str
    changes: dict[str, int]
    steps: list[PlannedStep] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        """Anything other than unchanged resources."""
        return any(n for op, n in self.changes.items() if op not in NO_CHANGE_OPS)

    def destructive(self) -> list[PlannedStep]:
        """Stateful resources the update would replace or delete (one entry per resource)."""
        found: dict[str, PlannedStep] = {}
        for step in self.steps:
            if step.op in DESTRUCTIVE_OPS and step.type in STATEFUL_TYPES:
                # A replacement is announced as several steps; name it by "replace" when present.
                if step.urn not in found or step.op in ("replace", "delete"):
                    found[step.urn] = step
        return list(found.values())


@dataclass
class UpdateReport:
    """What an update, destroy or refresh of one stack changed, and the stack's outputs after it."""

    stack: str
    stage: Stage
    changes: dict[str, int]
    outputs: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StackListing:
    """A stack as `pulumi stack ls` shows it."""

    name: str
    last_update: datetime | None = None
    update_in_progress: bool | None = None
    resource_count: int | None = None


@dataclass(frozen=True)
class UpdateInfo:
    """The last operation on a stack."""

    kind: str
    result: str
    start_time: datetime | None = None
    end_time: datetime | None = None


@dataclass(frozen=True)
class StackStatus:
    """One stack for `mesh status`."""

    name: str
    environment: str
    last_update: datetime | None
    kind: str
    result: str
    resource_count: int | None
    in_progress: bool

    def age_seconds(self, now: datetime | None = None) -> float | None:
        """Seconds since the last update (None when there never was one)."""
        if self.last_update is None:
            return None
        moment = now or datetime.now(UTC)
        last = self.last_update if self.last_update.tzinfo else self.last_update.replace(tzinfo=UTC)
        return max(0.0, (moment - last).total_seconds())

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """The documented JSON shape of one stack's status."""
        return {
            "stack": self.name,
            "environment": self.environment,
            "lastUpdate": self.last_update.isoformat() if self.last_update else None,
            "ageSeconds": self.age_seconds(now),
            "kind": self.kind,
            "result": self.result,
            "resourceCount": self.resource_count,
            "inProgress": self.in_progress,
        }


# --- The interface mesh needs from Pulumi ------------------------------------------------


class StackHandle(Protocol):
    """One selected stack. Methods raise `pulumi.automation` errors; `Engine` translates them."""

    def set_all_config(self, config: Mapping[str, ConfigEntry]) -> None:
        """Replace the stack's config with `config`."""
        ...

    def set_tag(self, key: str, value: str) -> None:
        """Set one stack tag."""
        ...

    def preview(self, *, on_event: OnEvent) -> Mapping[str, int]:
        """Dry-run an update; the change summary by operation."""
        ...

    def up(self, *, on_event: OnEvent) -> tuple[Mapping[str, int], Mapping[str, Any]]:
        """Update; the changes by operation and the stack outputs (secrets masked)."""
        ...

    def destroy(self, *, on_event: OnEvent) -> Mapping[str, int]:
        """Delete every resource of the stack; the changes by operation."""
        ...

    def refresh(self, *, on_event: OnEvent) -> Mapping[str, int]:
        """Read the real state of every resource into the stack's state."""
        ...

    def outputs(self) -> Mapping[str, Any]:
        """The stack outputs of the last update (secrets masked)."""
        ...

    def cancel(self) -> None:
        """Cancel the update in progress (for a DIY backend: remove its lock)."""
        ...

    def info(self) -> UpdateInfo | None:
        """The last operation, None when the stack never ran one."""
        ...


class Workspace(Protocol):
    """A project in one backend."""

    def create_or_select_stack(self, name: str) -> StackHandle:
        """The stack `name`, created when it does not exist."""
        ...

    def select_stack(self, name: str) -> StackHandle:
        """The existing stack `name` (`StackNotFoundError` when absent)."""
        ...

    def list_stacks(self) -> list[StackListing]:
        """Every stack of the project in this backend."""
        ...


class WorkspaceFactory(Protocol):
    """Opens workspaces; `ready` raises a `MeshError` when they cannot run here (no Pulumi CLI)."""

    def ready(self) -> None:
        """Make sure workspaces can be opened (may install the Pulumi CLI)."""
        ...

    def open(self, settings: WorkspaceSettings, program: Program | None) -> Workspace:
        """A workspace for `settings`, running `program` for updates."""
        ...


# --- Engine events → progress records ----------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|<\{%[a-z]+%\}>")


def clean(text: str) -> str:
    """Engine text without colour codes and surrounding space."""
    return _ANSI.sub("", text).strip()


def resource_of(urn: str) -> tuple[str, str]:
    """(type, name) of a URN: `urn:pulumi:<stack>::<project>::<parent$...$type>::<name>`."""
    parts = urn.split("::")
    if len(parts) < 4:
        return "", urn
    return parts[2].rsplit("$", 1)[-1], "::".join(parts[3:])


def _custom(meta: auto_events.StepEventMetadata) -> bool:
    state = meta.new or meta.old
    if meta.type.startswith("pulumi:"):
        return False  # the stack itself and provider instances
    if state is not None and state.custom is not None:
        return bool(state.custom)
    return not meta.type.startswith("mesh:")


class EventReader:
    """Turns one operation's engine events into progress records, and remembers what it needs.

    Keeps the announced steps (the replace guard reads them) and the error messages by
    resource (a failed update names the resource from them). Never raises: it runs on
    the Automation API's event thread.
    """

    def __init__(self, stack: str, stage: Stage, sink: ProgressSink) -> None:
        self.stack = stack
        self.stage = stage
        self.sink = sink
        self.steps: list[PlannedStep] = []
        self.errors: list[tuple[str, str]] = []  # (urn or "", message)
        self.failed_urns: list[str] = []
        self.warnings: list[str] = []

    def __call__(self, event: auto_events.EngineEvent) -> None:
        with contextlib.suppress(Exception):
            self._read(event)

    def _step(self, meta: auto_events.StepEventMetadata, status: StepStatus) -> None:
        type_, name = resource_of(meta.urn)
        self.sink(
            ResourceStep(
                stack=self.stack,
                stage=self.stage,
                urn=meta.urn,
                type=meta.type or type_,
                name=name,
                op=str(getattr(meta.op, "value", meta.op)),
                status=status,
            )
        )

    def _read(self, event: auto_events.EngineEvent) -> None:
        if event.resource_pre_event is not None:
            meta = event.resource_pre_event.metadata
            if _custom(meta):
                op = str(getattr(meta.op, "value", meta.op))
                _, name = resource_of(meta.urn)
                self.steps.append(PlannedStep(urn=meta.urn, type=meta.type, name=name, op=op))
                self._step(meta, StepStatus.STARTED)
        elif event.res_outputs_event is not None:
            meta = event.res_outputs_event.metadata
            if _custom(meta):
                self._step(meta, StepStatus.DONE)
        elif event.res_op_failed_event is not None:
            meta = event.res_op_failed_event.metadata
            self.failed_urns.append(meta.urn)
            if _custom(meta):
                self._step(meta, StepStatus.FAILED)
        elif event.diagnostic_event is not None:
            diag = event.diagnostic_event
            severity = str(diag.severity or "")
            if diag.ephemeral or severity not in ("error", "warning"):
                return
            message = clean(diag.message)
            if not message:
                return
            urn = diag.urn or ""
            if severity == "error":
                self.errors.append((urn, message))
            else:
                self.warnings.append(message)
            self.sink(EngineMessage(stack=self.stack, severity=severity, message=message, urn=urn or None))


# --- Error translation -------------------------------------------------------------------

_LOCK = re.compile(
    r"^\s*(?P<url>\S+): created by (?P<user>[^@\s]+)@(?P<host>\S+) \(pid (?P<pid>\d+)\) at (?P<at>\S+)",
    re.MULTILINE,
)
_URN = re.compile(r"urn:pulumi:[^\s\"'()\[\]]+")
_DIAGNOSTIC_HEADER = re.compile(r"^ {2}(?P<type>\S+:\S+) \((?P<name>[^)]+)\):\s*$")
_ERROR_LINE = re.compile(r"^\s*error:\s*(?P<text>.*)$")
_GENERIC_ERRORS = ("update failed", "preview failed", "destroy failed", "refresh failed")
MESSAGE_LIMIT = 700


def _shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_generic(message: str) -> bool:
    return message.lower().rstrip(".") in _GENERIC_ERRORS or message.startswith("update failed")


def diagnostics_from_text(text: str) -> list[tuple[str, str, str]]:
    """(type, name, message) for each resource in the `Diagnostics:` section of Pulumi's output."""
    found: list[tuple[str, str, str]] = []
    lines = text.splitlines()
    current: tuple[str, str] | None = None
    buffer: list[str] = []

    def flush() -> None:
        if current and buffer and not current[0].startswith("pulumi:pulumi:Stack"):
            message = " ".join(buffer)
            if not _is_generic(message):
                found.append((current[0], current[1], message))

    in_diagnostics = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("Diagnostics:"):
            in_diagnostics = True
            continue
        if not in_diagnostics:
            continue
        header = _DIAGNOSTIC_HEADER.match(line)
        if header:
            flush()
            current, buffer = (header["type"], header["name"]), []
            continue
        if line and not line.startswith(" "):
            flush()
            current, buffer, in_diagnostics = None, [], stripped.startswith("Diagnostics:")
            continue
        if current is not None and stripped:
            error = _ERROR_LINE.match(line)
            if error:
                buffer.append(error["text"])
            elif buffer:
                buffer.append(stripped.lstrip("* "))
    flush()
    return found


def first_error(text: str) -> str:
    """The first meaningful `error:` line of Pulumi's output, or its last non-empty line."""
    for line in text.splitlines():
        match = _ERROR_LINE.match(line)
        if match and match["text"] and not _is_generic(match["text"]):
            return clean(match["text"])
    meaningful = [
        clean(line)
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith(("code:", "stdout:", "stderr:"))
    ]
    return meaningful[-1] if meaningful else text.strip()


def _verb(stage: Stage | str) -> str:
    return {
        "preview": "Previewing",
        "update": "Updating",
        "destroy": "Destroying",
        "refresh": "Refreshing",
    }.get(str(stage), f"Working on ({stage})")


def _locked(e: auto_errors.CommandError, target: StackTarget) -> StackLocked:
    text = str(e)
    holders = [f"{m['user']}@{m['host']} (pid {m['pid']}) since {m['at']}" for m in _LOCK.finditer(text)]
    if holders:
        who = f"another update by {', '.join(holders)}"
    elif "[409]" in text or "Conflict" in text:
        who = "another update in progress (the Pulumi Cloud backend reports a conflict)"
    else:
        who = "another update"
    return StackLocked(
        f"Stack {target.stack} is locked by {who}.",
        hint=(
            "Wait for that update to finish. If it is gone (crashed or killed), release the lock with "
            f"`{target.command('cancel')}` (or `pulumi cancel --stack {target.stack}`) and run again; "
            "if resources were left pending, repair the state with "
            f"`pulumi stack export --stack {target.stack} --file state.json`, remove the pending operations, "
            f"then `pulumi stack import --stack {target.stack} --file state.json`."
        ),
    )


def _apply_command(target: StackTarget) -> str:
    return target.command("up" if target.source == "platform" else "provision")


def _resource_failure(
    e: auto_errors.CommandError, target: StackTarget, stage: Stage | str, reader: EventReader | None
) -> ResourceFailed | None:
    hint = (
        f"Fix the cause named above, then run `{_apply_command(target)}` "
        "again: what was created is kept, and the next run continues from it."
        if stage in (Stage.UPDATE, Stage.PREVIEW)
        else f"Fix the cause named above and run the command again; `pulumi stack --stack {target.stack}` shows what is left."
    )
    if reader is not None:
        by_urn = [(urn, message) for urn, message in reader.errors if urn and not _is_generic(message)]
        urns = reader.failed_urns or [urn for urn, _ in by_urn]
        for urn in urns:
            messages = [m for u, m in by_urn if u == urn]
            if messages or urn in reader.failed_urns:
                type_, name = resource_of(urn)
                if type_.startswith("pulumi:pulumi:Stack"):
                    continue
                reason = "; ".join(messages) if messages else first_error(str(e))
                return ResourceFailed(
                    f"{_verb(stage)} stack {target.stack} failed at {type_} {name}: {_shorten(reason)}",
                    hint=hint,
                    urn=urn,
                )
    text = str(e)
    diagnostics = diagnostics_from_text(text)
    if diagnostics:
        type_, name, message = diagnostics[0]
        urns = [u for u in _URN.findall(text) if resource_of(u)[1] == name]
        return ResourceFailed(
            f"{_verb(stage)} stack {target.stack} failed at {type_} {name}: {_shorten(clean(message))}",
            hint=hint,
            urn=urns[0] if urns else "",
        )
    for line in text.splitlines():
        match = _ERROR_LINE.match(line)
        urn_match = _URN.search(line) if match else None
        if match and urn_match:
            urn = urn_match.group(0).rstrip(":.,")
            type_, name = resource_of(urn)
            return ResourceFailed(
                f"{_verb(stage)} stack {target.stack} failed at {type_} {name}: {_shorten(clean(match['text']))}",
                hint=hint,
                urn=urn,
            )
    return None


_KNOWN_CAUSES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("incorrect passphrase", "passphrase must be set", "failed to decrypt"),
        "the passphrase does not unlock the stack's secrets",
        "Use the passphrase the stack was created with: set PULUMI_CONFIG_PASSPHRASE or MESH_PASSPHRASE, "
        "or restore <repo>/.mesh/passphrase from where it was kept.",
    ),
    (
        (
            "NoCredentialProviders",
            "no valid credential sources",
            "failed to refresh cached credentials",
            "could not find default credentials",
        ),
        "no cloud credentials were found",
        "Log in (`aws sso login`, `aws configure`, or set AWS_PROFILE; for GCP `gcloud auth application-default login`), then run `mesh doctor`.",
    ),
    (
        (
            "could not load plugin",
            "failed to download plugin",
            "no resource plugin",
            "error downloading plugin",
        ),
        "a Pulumi provider plugin is missing and could not be downloaded",
        "Pulumi downloads provider plugins on first use and needs internet for it; `mesh doctor` lists what is installed.",
    ),
    (
        ("NoSuchBucket", "failed to open bucket", "unable to open bucket", "AccessDenied: Access Denied"),
        "the state backend cannot be read",
        "Check that the environment's backend bucket exists and your credentials may read and write it (`mesh doctor`).",
    ),
)


def translate(
    e: Exception, target: StackTarget, stage: Stage | str, reader: EventReader | None = None
) -> MeshError:
    """The `MeshError` a person should read for an Automation API error on `target`."""
    if isinstance(e, auto_errors.ConcurrentUpdateError):
        return _locked(e, target)
    if isinstance(e, auto_errors.StackNotFoundError):
        where = target.settings.backend_url
        return StackMissing(
            f"Stack {target.stack} does not exist in {where}: nothing has been provisioned for "
            f"{target.source} in {target.environment}.",
            hint=f"Provision it first with `{_apply_command(target)}`.",
        )
    if isinstance(e, auto_errors.InvalidVersionError):
        return EngineFailed(
            f"The Pulumi CLI cannot be used by this version of mesh: {e}",
            hint=f"Install Pulumi v{pulumi_cli.PULUMI_VERSION} or later. {pulumi_cli.INSTALL_HELP.format(root=pulumi_cli.install_root())}",
        )
    if isinstance(e, FileNotFoundError):
        return pulumi_cli.missing(f"running it failed: {e}")
    if isinstance(e, auto_errors.CommandError):
        text = str(e)
        if isinstance(e, auto_errors.InlineSourceRuntimeError):
            return EngineFailed(
                f"The Pulumi program of stack {target.stack} failed: {_shorten(first_error(text))}",
                hint="This is a bug in mesh's stacks or components, not in your request; run with --debug and report it.",
            )
        failure = _resource_failure(e, target, stage, reader)
        if failure is not None:
            return failure
        for needles, what, hint in _KNOWN_CAUSES:
            if any(n.lower() in text.lower() for n in needles):
                return EngineFailed(
                    f"{_verb(stage)} stack {target.stack} failed: {what} ({_shorten(first_error(text), 300)}).",
                    hint=hint,
                )
        return EngineFailed(
            f"{_verb(stage)} stack {target.stack} failed: {_shorten(first_error(text))}",
            hint="Run with --debug for Pulumi's full output.",
        )
    return EngineFailed(f"{_verb(stage)} stack {target.stack} failed: {type(e).__name__}: {e}")


# --- The engine ---------------------------------------------------------------------------


class Engine:
    """Preview, update, destroy, refresh, outputs, list and cancel stacks.

    Safe to use from several threads at once (one stack per thread). Every method
    returns a typed result or raises a `MeshError`.
    """

    def __init__(
        self, *, workspaces: WorkspaceFactory | None = None, on_progress: ProgressSink = ignore
    ) -> None:
        self._on_progress = on_progress
        self._workspaces = workspaces if workspaces is not None else default_workspaces(on_progress)
        self._handles: dict[tuple[str, str], StackHandle] = {}
        self._lock = threading.Lock()

    def ready(self) -> None:
        """Raise a `MeshError` now when no stack could run (no Pulumi CLI, and none can be installed)."""
        self._workspaces.ready()

    def _emit(self, record: ProgressRecord) -> None:
        with contextlib.suppress(Exception):
            self._on_progress(record)

    def _open(self, target: StackTarget, *, create: bool) -> StackHandle:
        key = (target.settings.backend_url, target.stack)
        with self._lock:
            cached = self._handles.get(key)
        if cached is not None:
            return cached
        try:
            workspace = self._workspaces.open(target.settings, target.program)
            handle = (
                workspace.create_or_select_stack(target.stack)
                if create
                else workspace.select_stack(target.stack)
            )
            handle.set_all_config(target.config)
        except (auto_errors.CommandError, auto_errors.InvalidVersionError, FileNotFoundError) as e:
            raise translate(e, target, "select") from e
        with self._lock:
            self._handles[key] = handle
        return handle

    def _tag(self, handle: StackHandle, target: StackTarget) -> list[str]:
        for key, value in target.tags.items():
            try:
                handle.set_tag(key, value)
            except auto_errors.CommandError as e:
                if "not supported" in str(e):
                    return [
                        f"the state backend of {target.environment} does not keep stack tags; resources are tagged all the same"
                    ]
                raise translate(e, target, "tag") from e
        return []

    @contextlib.contextmanager
    def _stage(self, target: StackTarget, stage: Stage, reader: EventReader) -> Iterator[dict[str, Any]]:
        """Report the stage's start and end, and translate what it raises."""
        self._emit(StageStarted(stack=target.stack, stage=stage, planned=target.planned_resources))
        started = time.monotonic()
        result: dict[str, Any] = {"changes": {}}
        ok = False
        try:
            yield result
            ok = True
        except (auto_errors.CommandError, auto_errors.InvalidVersionError, FileNotFoundError) as e:
            raise translate(e, target, stage, reader) from e
        finally:
            result["seconds"] = time.monotonic() - started
            self._emit(
                StageFinished(
                    stack=target.stack,
                    stage=stage,
                    ok=ok,
                    changes=dict(result["changes"]),
                    seconds=result["seconds"],
                )
            )

    def preview(self, target: StackTarget) -> PreviewReport:
        """What `up` would change (the stack is created when new, with its config and tags)."""
        reader = EventReader(target.stack, Stage.PREVIEW, self._on_progress)
        with self._stage(target, Stage.PREVIEW, reader) as result:
            handle = self._open(target, create=True)
            warnings = self._tag(handle, target)
            result["changes"] = _changes(handle.preview(on_event=reader))
        return PreviewReport(
            stack=target.stack,
            changes=result["changes"],
            steps=reader.steps,
            warnings=warnings + reader.warnings,
        )

    def up(self, target: StackTarget) -> UpdateReport:
        """Create or update the stack's resources; its outputs after."""
        reader = EventReader(target.stack, Stage.UPDATE, self._on_progress)
        with self._stage(target, Stage.UPDATE, reader) as result:
            handle = self._open(target, create=True)
            changes, outputs = handle.up(on_event=reader)
            result["changes"] = _changes(changes)
        return UpdateReport(
            stack=target.stack,
            stage=Stage.UPDATE,
            changes=result["changes"],
            outputs=dict(outputs),
            seconds=result["seconds"],
            warnings=reader.warnings,
        )

    def destroy(self, target: StackTarget) -> UpdateReport:
        """Delete every resource of an existing stack (`StackMissing` when there is none)."""
        reader = EventReader(target.stack, Stage.DESTROY, self._on_progress)
        with self._stage(target, Stage.DESTROY, reader) as result:
            handle = self._open(target, create=False)
            result["changes"] = _changes(handle.destroy(on_event=reader))
        return UpdateReport(
            stack=target.stack,
            stage=Stage.DESTROY,
            changes=result["changes"],
            seconds=result["seconds"],
            warnings=reader.warnings,
        )

    def refresh(self, target: StackTarget) -> UpdateReport:
        """Read the real state of an existing stack's resources."""
        reader = EventReader(target.stack, Stage.REFRESH, self._on_progress)
        with self._stage(target, Stage.REFRESH, reader) as result:
            handle = self._open(target, create=False)
            result["changes"] = _changes(handle.refresh(on_event=reader))
        return UpdateReport(
            stack=target.stack,
            stage=Stage.REFRESH,
            changes=result["changes"],
            seconds=result["seconds"],
            warnings=reader.warnings,
        )

    def outputs(self, target: StackTarget) -> dict[str, Any]:
        """The outputs of an existing stack (secrets masked)."""
        handle = self._open(target, create=False)
        try:
            return dict(handle.outputs())
        except auto_errors.CommandError as e:
            raise translate(e, target, "outputs") from e

    def cancel(self, target: StackTarget) -> None:
        """Cancel the update running on an existing stack (or release a dead one's lock)."""
        handle = self._open(target, create=False)
        try:
            handle.cancel()
        except auto_errors.CommandError as e:
            raise translate(e, target, "cancel") from e

    def list_stacks(self, settings: WorkspaceSettings, *, environment: str) -> list[StackListing]:
        """Every stack of the project in `settings`' backend."""
        try:
            return self._workspaces.open(settings, None).list_stacks()
        except (auto_errors.CommandError, FileNotFoundError) as e:
            raise EngineFailed(
                f"Listing the stacks of {environment} in {settings.backend_url} failed: {_shorten(first_error(str(e)))}",
                hint="Check the backend and your credentials with `mesh doctor`.",
            ) from e

    def last_update(self, settings: WorkspaceSettings, stack: str) -> UpdateInfo | None:
        """The last operation on `stack`."""
        try:
            return self._workspaces.open(settings, None).select_stack(stack).info()
        except auto_errors.CommandError as e:
            raise EngineFailed(
                f"Reading the history of {stack} failed: {_shorten(first_error(str(e)))}"
            ) from e


def _changes(summary: Mapping[Any, int]) -> dict[str, int]:
    return {str(getattr(op, "value", op)): int(n) for op, n in summary.items() if n}


def check_destructive(target: StackTarget, preview: PreviewReport, *, allow_replace: bool) -> None:
    """Refuse a preview that replaces or deletes stateful resources, unless allowed.

    Allowed in preview environments and with `allow_replace`. When the engine reported
    destructive operations without saying on which resources, mesh refuses too.
    """
    if allow_replace or target.preview_environment:
        return
    risky = preview.destructive()
    unexplained = not preview.steps and any(preview.changes.get(op) for op in DESTRUCTIVE_OPS)
    if not risky and not unexplained:
        return
    if risky:
        listed = "; ".join(f"{s.type} {s.name} ({s.op})" for s in risky)
        what = f"would replace or delete stateful resources: {listed}"
    else:
        what = "would replace or delete resources, and the engine did not say which"
    raise DestructiveChangeBlocked(
        f"Stack {target.stack} in {target.environment} {what}. The data they hold would be lost.",
        hint=(
            "If this is intended, back up the data and run again with --allow-replace. "
            "Otherwise undo the change to the request that forces the replacement (often a renamed product, port or bucket)."
        ),
        steps=risky,
    )


# --- Many stacks: plan, preview, confirm, apply -----------------------------------------


class RunStatus(StrEnum):
    """Where one stack is in `provision_stacks`."""

    READY = "ready"
    BLOCKED = "blocked"
    FAILED = "failed"
    UNCHANGED = "unchanged"
    DECLINED = "declined"
    SUCCEEDED = "succeeded"


@dataclass
class StackRun:
    """One request (or the platform) on its way to a provisioned stack."""

    source: str
    target: StackTarget | None = None
    status: RunStatus = RunStatus.READY
    preview: PreviewReport | None = None
    update: UpdateReport | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    error: MeshError | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def stack(self) -> str:
        """The stack name ("" when the request never resolved)."""
        return self.target.stack if self.target else ""

    def fail(self, error: MeshError, status: RunStatus = RunStatus.FAILED) -> None:
        """Record why this stack stops here."""
        self.status, self.error = status, error

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape of one stack in `mesh provision --output json`."""
        return {
            "source": self.source,
            "stack": self.stack or None,
            "status": str(self.status),
            "plannedResources": self.target.planned_resources if self.target else None,
            "preview": self.preview.changes if self.preview else None,
            "changes": self.update.changes if self.update else None,
            "seconds": round(self.update.seconds, 1) if self.update else None,
            "outputs": self.outputs,
            "error": {"message": self.error.message, "hint": self.error.hint} if self.error else None,
            "warnings": self.warnings,
        }


@dataclass
class ProvisionReport:
    """Every stack of one `mesh provision` run."""

    environment: str
    runs: list[StackRun]
    confirmed: bool | None = None  # None: nothing needed confirming

    @property
    def ok(self) -> bool:
        """Every stack was applied or already up to date."""
        return bool(self.runs) and all(
            r.status in (RunStatus.SUCCEEDED, RunStatus.UNCHANGED) for r in self.runs
        )

    def by_status(self, *statuses: RunStatus) -> list[StackRun]:
        """The runs in one of `statuses`."""
        return [r for r in self.runs if r.status in statuses]

    def as_dict(self) -> dict[str, Any]:
        """`{"environment", "ok", "confirmed", "stacks": [...], "succeeded": [...], "failed": [...]}`."""
        label = lambda r: r.stack or r.source  # noqa: E731 - a one-line key function reads best inline
        return {
            "environment": self.environment,
            "ok": self.ok,
            "confirmed": self.confirmed,
            "stacks": [r.as_dict() for r in self.runs],
            "succeeded": [label(r) for r in self.by_status(RunStatus.SUCCEEDED, RunStatus.UNCHANGED)],
            "failed": [label(r) for r in self.by_status(RunStatus.FAILED, RunStatus.BLOCKED)],
            "notApplied": [label(r) for r in self.by_status(RunStatus.DECLINED)],
        }


def run_parallel(runs: Sequence[StackRun], work: Callable[[StackRun], None], *, parallel: int) -> None:
    """Run `work` on each run, at most `parallel` at a time; a failure marks only its own run.

    A `MeshError` is kept as the run's error; anything else (a bug) is kept as an
    "unexpected" error so that the other stacks still finish.
    """

    def guarded(run: StackRun) -> None:
        try:
            work(run)
        except DestructiveChangeBlocked as e:
            run.fail(e, RunStatus.BLOCKED)
        except MeshError as e:
            run.fail(e)
        except Exception as e:  # a bug must not cancel the other stacks' updates
            run.fail(
                EngineFailed(
                    f"Unexpected {type(e).__name__} on stack {run.stack}: {e}",
                    hint="Run with --debug and report it.",
                )
            )

    if not runs:
        return
    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="mesh-stack") as pool:
        list(pool.map(guarded, runs))


def plan_product_runs(
    files: Sequence[Path], *, platform_path: Path | None, environment: str
) -> list[StackRun]:
    """Validate, resolve and plan each request offline; a failing request fails only its own run."""
    from infra.plan import plan_request  # noqa: PLC0415 - synthesis imports the cloud SDKs
    from infra.validation import load_platform, locate_platform  # noqa: PLC0415 - keep this module's import light

    runs: list[StackRun] = []
    platforms: dict[Path, LoadedPlatform] = {}
    seen: dict[str, str] = {}
    for file in files:
        run = StackRun(source=str(file))
        runs.append(run)
        try:
            plan = plan_request(file, platform_path=platform_path, environment=environment)
            where = locate_platform(platform_path, near=file)
            if where not in platforms:
                platforms[where] = load_platform(where)
            run.target = product_target(
                plan.spec,
                platforms[where],
                source=str(file),
                planned_resources=len(plan.graph.cloud_resources()),
            )
        except MeshError as e:
            run.fail(e)
            continue
        run.warnings += [str(w) for w in plan.warnings]
        if plan.blocked:
            rules = ", ".join(sorted({r.id for r in plan.guardrails.blocking}))
            run.fail(
                GuardrailsBlocked(
                    f"{file} fails mandatory guardrails in {environment}: {rules}.",
                    hint=f"See why with `mesh plan {file} --env {environment}`; mandatory guardrails cannot be disabled.",
                ),
                RunStatus.BLOCKED,
            )
            continue
        if run.stack in seen:
            run.fail(
                MeshError(
                    f"{file} resolves to stack {run.stack}, like {seen[run.stack]}: one stack cannot be provisioned twice in one run.",
                    hint="Give each request its own domain/name, or provision them separately.",
                )
            )
            continue
        seen[run.stack] = str(file)
    return runs


def provision_stacks(
    runs: Sequence[StackRun],
    *,
    engine: Engine,
    environment: str,
    parallel: int,
    allow_replace: bool,
    confirm: Callable[[ProvisionReport], bool],
) -> ProvisionReport:
    """Preview every ready stack, ask `confirm` once, then update the stacks with changes.

    At most `parallel` stacks run at a time; each stack's failure is its own. `confirm`
    sees the report after the previews and returns whether to apply. A missing Pulumi
    CLI raises before any stack starts (it would fail them all the same way).
    """
    report = ProvisionReport(environment=environment, runs=list(runs))
    ready = report.by_status(RunStatus.READY)
    if not ready:
        return report
    engine.ready()

    def preview(run: StackRun) -> None:
        assert run.target is not None
        run.preview = engine.preview(run.target)
        run.warnings += run.preview.warnings
        check_destructive(run.target, run.preview, allow_replace=allow_replace)

    run_parallel(ready, preview, parallel=parallel)
    to_apply = [r for r in ready if r.status is RunStatus.READY and r.preview and r.preview.has_changes]
    for run in ready:
        if run.status is RunStatus.READY and run not in to_apply:
            run.status = RunStatus.UNCHANGED
    if to_apply:
        report.confirmed = confirm(report)
        if not report.confirmed:
            for run in to_apply:
                run.status = RunStatus.DECLINED
            to_apply = []

    def apply(run: StackRun) -> None:
        assert run.target is not None
        run.update = engine.up(run.target)
        run.outputs = run.update.outputs
        run.warnings += run.update.warnings
        run.status = RunStatus.SUCCEEDED

    run_parallel(to_apply, apply, parallel=parallel)

    def read_outputs(run: StackRun) -> None:
        assert run.target is not None
        run.outputs = engine.outputs(run.target)

    unchanged = report.by_status(RunStatus.UNCHANGED)
    run_parallel(unchanged, read_outputs, parallel=parallel)
    for run in unchanged:
        if run.status is RunStatus.FAILED and run.error is not None:
            # The stack is fine; only its outputs could not be read.
            run.warnings.append(f"outputs not read: {run.error.message}")
            run.status, run.error = RunStatus.UNCHANGED, None
    return report


# --- Status -----------------------------------------------------------------------------


@dataclass
class StatusReport:
    """Every stack of the project, per environment, and the environments that could not be read."""

    stacks: list[StackStatus] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (environment, message)

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """`{"stacks": [...], "problems": [{"environment", "message"}]}`."""
        return {
            "stacks": [s.as_dict(now) for s in self.stacks],
            "problems": [{"environment": e, "message": m} for e, m in self.problems],
        }


def _environment_of(stack: str, environments: Sequence[str]) -> str:
    for name in environments:
        if stack.endswith(f".{name}"):
            return name
    return ""


def stack_statuses(
    platform: LoadedPlatform, *, engine: Engine, environment: str | None = None
) -> StatusReport:
    """Every stack of the organisation's project in each environment's backend (or one environment's)."""
    from infra.spec import project_name  # noqa: PLC0415 - avoids a cycle at import time

    config = platform.config
    names = [environment] if environment else list(config.environments)
    report = StatusReport()
    engine.ready()
    project = project_name(config.organization)
    listed: dict[str, list[StackListing]] = {}
    for env_name in names:
        settings = workspace_settings(
            config, env_name, platform_dir=platform.path.parent, project=project, folder="_status"
        )
        try:
            if settings.backend_url not in listed:
                listed[settings.backend_url] = engine.list_stacks(settings, environment=env_name)
        except MeshError as e:
            report.problems.append((env_name, e.message))
            continue
        for listing in listed[settings.backend_url]:
            owner = _environment_of(listing.name, list(config.environments))
            if owner != env_name:
                continue
            try:
                info = engine.last_update(settings, listing.name)
            except MeshError as e:
                report.problems.append((env_name, e.message))
                info = None
            report.stacks.append(
                StackStatus(
                    name=listing.name,
                    environment=env_name,
                    last_update=listing.last_update or (info.end_time if info else None),
                    kind=info.kind if info else "",
                    result="in-progress"
                    if listing.update_in_progress
                    else (info.result if info else "never"),
                    resource_count=listing.resource_count,
                    in_progress=bool(listing.update_in_progress),
                )
            )
    return report


# --- The real workspaces: pulumi.automation ---------------------------------------------


def _plain_outputs(outputs: Mapping[str, auto.OutputValue]) -> dict[str, Any]:
    return {k: (SECRET_MASK if v.secret else v.value) for k, v in outputs.items()}


class AutomationStack:
    """`StackHandle` over a `pulumi.automation.Stack`."""

    def __init__(self, stack: auto.Stack) -> None:
        self._stack = stack

    def set_all_config(self, config: Mapping[str, ConfigEntry]) -> None:
        """Replace the stack config: mesh owns it, so stale keys (a removed endpoint) go."""
        current = self._stack.get_all_config()
        if current:
            self._stack.remove_all_config(list(current))
        plain = {k: auto.ConfigValue(v.value, secret=v.secret) for k, v in config.items() if not v.path}
        paths = {k: auto.ConfigValue(v.value, secret=v.secret) for k, v in config.items() if v.path}
        if plain:
            self._stack.set_all_config(plain)
        if paths:
            self._stack.set_all_config(paths, path=True)

    def set_tag(self, key: str, value: str) -> None:
        """Set one stack tag."""
        self._stack.set_tag(key, value)

    def preview(self, *, on_event: OnEvent) -> Mapping[str, int]:
        """`pulumi preview`."""
        return self._stack.preview(on_event=on_event, color="never").change_summary

    def up(self, *, on_event: OnEvent) -> tuple[Mapping[str, int], Mapping[str, Any]]:
        """`pulumi up`."""
        result = self._stack.up(on_event=on_event, color="never")
        return result.summary.resource_changes or {}, _plain_outputs(result.outputs)

    def destroy(self, *, on_event: OnEvent) -> Mapping[str, int]:
        """`pulumi destroy`."""
        return self._stack.destroy(on_event=on_event, color="never").summary.resource_changes or {}

    def refresh(self, *, on_event: OnEvent) -> Mapping[str, int]:
        """`pulumi refresh`."""
        return self._stack.refresh(on_event=on_event, color="never").summary.resource_changes or {}

    def outputs(self) -> Mapping[str, Any]:
        """`pulumi stack output`."""
        return _plain_outputs(self._stack.outputs())

    def cancel(self) -> None:
        """`pulumi cancel`."""
        self._stack.cancel()

    def info(self) -> UpdateInfo | None:
        """The last entry of `pulumi stack history`."""
        summary = self._stack.info(show_secrets=False)
        if summary is None:
            return None
        return UpdateInfo(
            kind=summary.kind, result=summary.result, start_time=summary.start_time, end_time=summary.end_time
        )


class AutomationWorkspace:
    """`Workspace` over `pulumi.automation`'s local workspaces, for one project and backend."""

    def __init__(
        self, settings: WorkspaceSettings, program: Program | None, command: auto.PulumiCommand
    ) -> None:
        self._settings = settings
        self._program = program
        self._command = command

    def _options(self) -> auto.LocalWorkspaceOptions:
        settings = self._settings
        settings.work_dir.mkdir(parents=True, exist_ok=True)
        state = file_backend_path(settings.backend_url)
        if state is not None:
            state.mkdir(parents=True, exist_ok=True)  # Pulumi's file backend wants the folder to exist
        return auto.LocalWorkspaceOptions(
            work_dir=str(settings.work_dir),
            pulumi_home=settings.pulumi_home,
            env_vars=dict(settings.env_vars),
            secrets_provider=settings.secrets_provider,
            project_settings=auto.ProjectSettings(
                name=settings.project,
                runtime="python",
                backend=auto.ProjectBackend(url=settings.backend_url),
            ),
            pulumi_command=self._command,
        )

    def _local(self) -> auto.LocalWorkspace:
        options = self._options()
        return auto.LocalWorkspace(
            work_dir=options.work_dir,
            pulumi_home=options.pulumi_home,
            env_vars=options.env_vars,
            secrets_provider=options.secrets_provider,
            project_settings=options.project_settings,
            pulumi_command=options.pulumi_command,
        )

    def create_or_select_stack(self, name: str) -> StackHandle:
        """`pulumi stack select --create`, with the inline program."""
        if self._program is None:
            raise ValueError("creating a stack needs its program")
        return AutomationStack(
            auto.create_or_select_stack(
                name, project_name=self._settings.project, program=self._program, opts=self._options()
            )
        )

    def select_stack(self, name: str) -> StackHandle:
        """`pulumi stack select`."""
        if self._program is None:
            return AutomationStack(auto.Stack.select(name, self._local()))
        return AutomationStack(
            auto.select_stack(
                name, project_name=self._settings.project, program=self._program, opts=self._options()
            )
        )

    def list_stacks(self) -> list[StackListing]:
        """`pulumi stack ls`."""
        return [
            StackListing(
                name=s.name,
                last_update=s.last_update.replace(tzinfo=UTC) if s.last_update else None,
                update_in_progress=s.update_in_progress,
                resource_count=s.resource_count,
            )
            for s in self._local().list_stacks()
        ]


def _install_cli(root: Path) -> auto.PulumiCommand:
    from semver import VersionInfo  # noqa: PLC0415 - only needed to install

    return auto.PulumiCommand.install(root=str(root), version=VersionInfo.parse(pulumi_cli.PULUMI_VERSION))


def resolve_command(on_progress: ProgressSink = ignore) -> auto.PulumiCommand:
    """The Pulumi CLI to run: on PATH, else mesh's copy, else installed now — or a `PulumiCliMissing`.

    The install is attempted only when the download host answers within a few
    seconds, and is itself bounded, so an offline machine fails fast.
    """
    location = pulumi_cli.find_cli()
    if location is not None:
        try:
            return auto.PulumiCommand(root=str(location.root) if location.root else None)
        except auto_errors.InvalidVersionError as e:
            raise EngineFailed(
                f"The Pulumi CLI at {location.binary} cannot be used: {e}",
                hint=f"Install Pulumi v{pulumi_cli.PULUMI_VERSION}. {pulumi_cli.INSTALL_HELP.format(root=pulumi_cli.install_root())}",
            ) from e
        except (OSError, subprocess.SubprocessError) as e:
            raise pulumi_cli.missing(f"{location.binary} does not run ({e})") from e
    root = pulumi_cli.install_root()
    if not pulumi_cli.network_reachable():
        raise pulumi_cli.missing(
            f"{pulumi_cli.INSTALL_HOST} cannot be reached (no network, or a proxy is needed: set HTTPS_PROXY)"
        )
    on_progress(CliInstall(version=pulumi_cli.PULUMI_VERSION, root=str(root)))
    try:
        command = pulumi_cli.bounded(
            lambda: _install_cli(root), timeout=pulumi_cli.INSTALL_TIMEOUT_S, what="installing the Pulumi CLI"
        )
    except Exception as e:  # any failure of the download or the install script means "no CLI"
        raise pulumi_cli.missing(f"the install failed ({type(e).__name__}: {e})") from e
    finally:
        on_progress(CliInstall(version=pulumi_cli.PULUMI_VERSION, root=str(root), done=True))
    return command


class AutomationWorkspaces:
    """The real `WorkspaceFactory`: finds (or installs) the Pulumi CLI once, then opens local workspaces."""

    def __init__(self, on_progress: ProgressSink = ignore) -> None:
        self._on_progress = on_progress
        self._command: auto.PulumiCommand | None = None
        self._lock = threading.Lock()

    def _resolve(self) -> auto.PulumiCommand:
        with self._lock:
            if self._command is None:
                self._command = resolve_command(self._on_progress)
            return self._command

    def ready(self) -> None:
        """Find or install the Pulumi CLI."""
        self._resolve()

    def open(self, settings: WorkspaceSettings, program: Program | None) -> Workspace:
        """A local workspace for `settings`."""
        return AutomationWorkspace(settings, program, self._resolve())


def default_workspaces(on_progress: ProgressSink = ignore) -> WorkspaceFactory:
    """The workspaces `Engine` uses when given none (tests replace this function)."""
    return AutomationWorkspaces(on_progress)


# --- Readiness (`mesh doctor`) --------------------------------------------------------------


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
CREDENTIALS_TIMEOUT_S = 3.0


def _check_python() -> Check:
    version = ".".join(str(p) for p in sys.version_info[:3])
    if sys.version_info >= (3, 11):
        return Check("Python", CheckStatus.PASS, f"Python {version}")
    return Check("Python", CheckStatus.FAIL, f"Python {version}", "Use Python 3.11 or later.")


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
    return Check(
        "Pulumi CLI", CheckStatus.PASS, f"v{version} at {location.binary} ({location.source})"
    ), location


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
        commands = "; ".join(f"pulumi plugin install resource {m.replace(' v', ' v', 1)}" for m in missing)
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
            checks.append(Check(label, CheckStatus.PASS, f"{folder} is writable"))
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


def _health(base: str) -> tuple[bool, str]:
    url = base.rstrip("/") + "/_localstack/health"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=HEALTH_TIMEOUT_S) as response:
            body = response.read(65536).decode("utf-8", "replace")
    except (OSError, ValueError) as e:
        return False, f"{url}: {getattr(e, 'reason', e)}"
    return True, f"{url} answers" + (f" ({body[:80]}…)" if len(body) > 80 else f" ({body})" if body else "")


def _check_emulators(platform: LoadedPlatform) -> list[Check]:
    checks: list[Check] = []
    bases: dict[str, list[str]] = {}
    for name, env in platform.config.environments.items():
        for url in env.aws.endpoints.values() if env.aws else ():
            parts = urllib.parse.urlsplit(url)
            bases.setdefault(f"{parts.scheme}://{parts.netloc}", []).append(name)
    for base, envs in bases.items():
        label = f"LocalStack ({', '.join(sorted(set(envs)))})"
        host = urllib.parse.urlsplit(base).hostname or ""
        if host not in LOOPBACK_HOSTS:
            checks.append(Check(label, CheckStatus.SKIP, f"{base} is not on this machine; not checked"))
            continue
        ok, detail = _health(base)
        checks.append(
            Check(
                label,
                CheckStatus.PASS if ok else CheckStatus.FAIL,
                detail,
                ""
                if ok
                else "Start it: `python localstack/mesh_localstack.py start` (or the docker-compose file in localstack/).",
            )
        )
    return checks


def readiness(platform: LoadedPlatform | None) -> list[Check]:
    """Everything `mesh provision` needs on this machine, checked without calling a cloud API."""
    checks = [_check_python()]
    cli, location = _check_cli()
    checks.append(cli)
    config = platform.config if platform else None
    clouds = {c for e in (config.environments.values() if config else ()) for c in e.clouds()}
    checks.append(_check_plugins(location, clouds))
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
            )
        )
        return checks
    checks.append(Check("Platform config", CheckStatus.PASS, str(platform.path)))
    checks += _check_backends(platform)
    checks += _check_emulators(platform)
    return checks
