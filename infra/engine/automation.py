"""The real workspaces, over `pulumi.automation`: the only module of mesh that imports it.

Also here, because they read `pulumi.automation`'s types: the reader that turns engine
events into progress records, the translation of its errors into `MeshError`s, and
finding (or installing) the Pulumi CLI.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import threading
from collections.abc import Mapping
from datetime import UTC
from pathlib import Path
from typing import Any

import pulumi.automation as auto
from pulumi.automation import errors as auto_errors
from pulumi.automation import events as auto_events

from infra import pulumi_cli
from infra.engine.failures import EngineFailed, ResourceFailed, StackLocked, StackMissing
from infra.engine.target import ConfigEntry, Program, StackTarget, WorkspaceSettings, prepare
from infra.engine.workspace import (
    SECRET_MASK,
    OnEvent,
    PlannedStep,
    StackHandle,
    StackListing,
    UpdateInfo,
    Workspace,
    WorkspaceFactory,
)
from infra.model.errors import MeshError
from infra.progress import CliInstall, EngineMessage, ProgressSink, ResourceStep, Stage, StepStatus, ignore

#: Errors of the Automation API that `translate` turns into `MeshError`s.
ENGINE_ERRORS = (auto_errors.CommandError, auto_errors.InvalidVersionError, FileNotFoundError)


# --- Engine events → progress records --------------------------------------------------------

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
    """Whether a step is on a cloud resource (not the stack, a provider or a component)."""
    if meta.type.startswith("pulumi:"):
        return False
    state = meta.new or meta.old
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


# --- Error translation -------------------------------------------------------------------------

_LOCK = re.compile(
    r"^\s*(?P<url>\S+): created by (?P<user>[^@\s]+)@(?P<host>\S+) \(pid (?P<pid>\d+)\) at (?P<at>\S+)",
    re.MULTILINE,
)
_URN = re.compile(r"urn:pulumi:[^\s\"'()\[\]]+")
_DIAGNOSTIC_HEADER = re.compile(r"^ {2}(?P<type>\S+:\S+) \((?P<name>[^)]+)\):\s*$")
_ERROR_LINE = re.compile(r"^\s*error:\s*(?P<text>.*)$")
_GENERIC_ERRORS = ("update failed", "preview failed", "destroy failed", "refresh failed")
MESSAGE_LIMIT = 700


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` on one line, without Pulumi's "1 error occurred:" preamble, cut at `limit`."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"^\d+ errors? occurred: (\* )?", "", text)
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


_RESULT_PREFIX = re.compile(r"^\s*(?:code: -?\d+\s*$|stdout: ?|stderr: ?)")


def output_of(e: BaseException) -> str:
    """Pulumi's stdout and stderr from an Automation API error, without `CommandResult`'s labels.

    `CommandError` keeps only `str(CommandResult)`: "\\n code: N\\n stdout: ...\\n stderr: ...",
    where each stream's first line shares its label's line.
    """
    return "\n".join(_RESULT_PREFIX.sub("", line) for line in str(e).splitlines())


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
    text = output_of(e)
    holders = [f"{m['user']}@{m['host']} (pid {m['pid']}) since {m['at']}" for m in _LOCK.finditer(text)]
    if holders:
        who = f"another update holds it: {'; '.join(holders)}"
    elif "[409]" in text or "Conflict" in text:
        who = "another update is in progress (the Pulumi Cloud backend reports a conflict)"
    else:
        who = "another update holds it"
    return StackLocked(
        f"Stack {target.stack} is locked: {who}.",
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
                reason = "; ".join(messages) if messages else first_error(output_of(e))
                return ResourceFailed(
                    f"{_verb(stage)} stack {target.stack} failed at {type_} {name}: {shorten(reason)}",
                    hint=hint,
                    urn=urn,
                )
    text = output_of(e)
    diagnostics = diagnostics_from_text(text)
    if diagnostics:
        type_, name, message = diagnostics[0]
        urns = [u for u in _URN.findall(text) if resource_of(u)[1] == name]
        return ResourceFailed(
            f"{_verb(stage)} stack {target.stack} failed at {type_} {name}: {shorten(clean(message))}",
            hint=hint,
            urn=urns[0] if urns else "",
        )
    for line in text.splitlines():
        match = _ERROR_LINE.match(line)
        urn_match = _URN.search(line) if match else None
        if match and urn_match:
            urn = urn_match.group(0).rstrip(":.,")
            type_, name = resource_of(urn)
            reason = clean(match["text"]).replace(urn, name)
            return ResourceFailed(
                f"{_verb(stage)} stack {target.stack} failed at {type_} {name}: {shorten(reason)}",
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
        text = output_of(e)
        if isinstance(e, auto_errors.InlineSourceRuntimeError):
            marker = re.search(r"inline source runtime error:?\s*(?P<cause>.+)", text)
            cause = marker["cause"] if marker else first_error(text)
            return EngineFailed(
                f"The Pulumi program of stack {target.stack} failed: {shorten(clean(cause))}",
                hint="This is a bug in mesh's stacks or components, not in your request; run with --debug and report it.",
            )
        failure = _resource_failure(e, target, stage, reader)
        if failure is not None:
            return failure
        for needles, what, hint in _KNOWN_CAUSES:
            if any(n.lower() in text.lower() for n in needles):
                return EngineFailed(
                    f"{_verb(stage)} stack {target.stack} failed: {what} ({shorten(first_error(text), 300)}).",
                    hint=hint,
                )
        return EngineFailed(
            f"{_verb(stage)} stack {target.stack} failed: {shorten(first_error(text))}",
            hint="Run with --debug for Pulumi's full output.",
        )
    return EngineFailed(f"{_verb(stage)} stack {target.stack} failed: {type(e).__name__}: {e}")


# --- The real workspaces ---------------------------------------------------------------------


def op_counts(summary: Mapping[Any, int] | None) -> dict[str, int]:
    """A change summary keyed by operation name (`create`, ...), zero counts left out."""
    return {str(getattr(op, "value", op)): int(n) for op, n in (summary or {}).items() if n}


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

    def tags(self) -> Mapping[str, str]:
        """`pulumi stack tag ls`."""
        return dict(self._stack.list_tags())

    def preview(self, *, on_event: OnEvent) -> Mapping[str, int]:
        """`pulumi preview`."""
        return op_counts(self._stack.preview(on_event=on_event, color="never").change_summary)

    def up(self, *, on_event: OnEvent) -> tuple[Mapping[str, int], Mapping[str, Any]]:
        """`pulumi up`."""
        result = self._stack.up(on_event=on_event, color="never")
        return op_counts(result.summary.resource_changes), _plain_outputs(result.outputs)

    def destroy(self, *, on_event: OnEvent) -> Mapping[str, int]:
        """`pulumi destroy`."""
        return op_counts(self._stack.destroy(on_event=on_event, color="never").summary.resource_changes)

    def refresh(self, *, on_event: OnEvent) -> Mapping[str, int]:
        """`pulumi refresh`."""
        return op_counts(self._stack.refresh(on_event=on_event, color="never").summary.resource_changes)

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
        prepare(settings)
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

    def remove_stack(self, name: str) -> None:
        """`pulumi stack rm`."""
        self._local().remove_stack(name)


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
