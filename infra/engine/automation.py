"""The real workspaces, over `pulumi.automation`: the only module of mesh that imports it.

Also here, because they read `pulumi.automation`'s types: the reader that turns engine
events into progress records, engine events as JSON lines both ways (mesh writes the
event logs of its runs from the API's parsed events and reads saved logs back), the
translation of its errors into `MeshError`s, the CLI versions the SDK accepts, and
finding (or installing) the Pulumi CLI.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi.automation as auto
from pulumi.automation import errors as auto_errors
from pulumi.automation import events as auto_events

from infra import pulumi_cli
from infra.engine import history
from infra.engine.causes import GENERIC_FAILURES, explain, failure_hint, find_cause
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
    holds_data,
)
from infra.model.errors import MeshError
from infra.progress import (
    CliInstall,
    EngineMessage,
    EngineSummary,
    ProgressSink,
    ResourceStep,
    Stage,
    StepStatus,
    ignore,
)

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


#: Steps the engine takes as halves of another (a replacement, a discarded state); it counts only the whole.
NON_LOGICAL_OPS = frozenset(
    {
        "create-replacement",
        "delete-replaced",
        "discard-replaced",
        "remove-pending-replace",
        "read-replacement",
    }
)


def _op(meta: auto_events.StepEventMetadata) -> str:
    return str(getattr(meta.op, "value", meta.op))


def _custom(meta: auto_events.StepEventMetadata) -> bool:
    """Whether a step is on a cloud resource (not the stack, a provider or a component)."""
    if meta.type.startswith("pulumi:"):
        return False
    state = meta.new or meta.old
    if state is not None and state.custom is not None:
        return bool(state.custom)
    return not meta.type.startswith("mesh:")


def _logical(meta: auto_events.StepEventMetadata) -> bool:
    """Whether the engine counts this step in its summary (older engines do not say; infer it)."""
    if meta.logical is not None:
        return bool(meta.logical)
    return _op(meta) not in NON_LOGICAL_OPS


def _protected(meta: auto_events.StepEventMetadata) -> bool:
    return any(state is not None and bool(state.protect) for state in (meta.old, meta.new))


class EventReader:
    """Turns one operation's engine events into progress records, and remembers what it needs.

    Keeps the announced steps (the replace guard reads them) and the error messages by
    resource (a failed update names the resource from them). Every resource step is
    reported, the stack's and components' too (marked `custom=False`), so that a ledger
    can count them as the engine does. Never raises: it runs on the Automation API's
    event thread.
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
            self.read(event)

    def _step(self, meta: auto_events.StepEventMetadata, status: StepStatus) -> None:
        type_, name = resource_of(meta.urn)
        type_ = meta.type or type_
        self.sink(
            ResourceStep(
                stack=self.stack,
                stage=self.stage,
                urn=meta.urn,
                type=type_,
                name=name,
                op=_op(meta),
                status=status,
                custom=_custom(meta),
                logical=_logical(meta),
                holds_data=holds_data(type_),
                protected=_protected(meta),
            )
        )

    def read(self, event: auto_events.EngineEvent) -> None:
        """Report one event (raises on a malformed one; the live path calls the instance instead)."""
        if event.resource_pre_event is not None:
            meta = event.resource_pre_event.metadata
            if _custom(meta):
                _, name = resource_of(meta.urn)
                self.steps.append(PlannedStep(urn=meta.urn, type=meta.type, name=name, op=_op(meta)))
            self._step(meta, StepStatus.STARTED)
        elif event.res_outputs_event is not None:
            self._step(event.res_outputs_event.metadata, StepStatus.DONE)
        elif event.res_op_failed_event is not None:
            meta = event.res_op_failed_event.metadata
            self.failed_urns.append(meta.urn)
            self._step(meta, StepStatus.FAILED)
        elif event.summary_event is not None:
            summary = event.summary_event
            self.sink(
                EngineSummary(
                    stack=self.stack,
                    changes=op_counts(summary.resource_changes),
                    seconds=int(summary.duration_seconds or 0),
                    maybe_corrupt=bool(summary.maybe_corrupt),
                )
            )
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


# --- Engine events as JSON lines, both ways --------------------------------------------------

#: The kinds of event this version of the Automation API reads; others (newer engines) are skipped.
EVENT_KINDS = (
    "cancelEvent",
    "stdoutEvent",
    "diagnosticEvent",
    "preludeEvent",
    "summaryEvent",
    "resourcePreEvent",
    "resOutputsEvent",
    "resOpFailedEvent",
    "policyEvent",
    "startDebuggingEvent",
)
STEP_KINDS = ("resourcePreEvent", "resOutputsEvent", "resOpFailedEvent")
_OPS = frozenset(op.value for op in auto_events.OpType)
_DIFF_KINDS = frozenset(kind.value for kind in auto_events.DiffKind)


def event_problem(data: Any) -> str | None:
    """Why one decoded log line is not an engine event this reader understands (None when it is)."""
    if not isinstance(data, dict):
        return f"expected a JSON object (an engine event), found {type(data).__name__}"
    kinds = [k for k in data if k.endswith("Event")]
    if not kinds:
        return "no event in this object (expected a key such as resourcePreEvent or summaryEvent)"
    if len(kinds) > 1:
        return f"several events in one line ({', '.join(sorted(kinds))}); the engine writes one per line"
    kind = kinds[0]
    body = data[kind]
    if not isinstance(body, dict):
        return f"{kind} is not an object"
    if kind in STEP_KINDS:
        meta = body.get("metadata")
        if not isinstance(meta, dict):
            return f"{kind} has no metadata"
        if not isinstance(meta.get("urn"), str) or not meta.get("urn"):
            return f"{kind} names no resource (metadata.urn)"
        if meta.get("op") not in _OPS:
            return f"{kind} of {meta['urn']} has an unknown operation {meta.get('op')!r}"
        for side in ("old", "new"):
            if meta.get(side) is not None and not isinstance(meta[side], dict):
                return f"{kind} of {meta['urn']}: metadata.{side} is not an object"
        diff = meta.get("detailedDiff") or {}
        if not isinstance(diff, dict) or any(
            not isinstance(v, dict) or v.get("diffKind") not in _DIFF_KINDS for v in diff.values()
        ):
            return f"{kind} of {meta['urn']}: metadata.detailedDiff is malformed"
    if kind == "summaryEvent" and not isinstance(body.get("resourceChanges") or {}, dict):
        return "summaryEvent.resourceChanges is not an object"
    if kind == "diagnosticEvent" and not isinstance(body.get("message", ""), str):
        return "diagnosticEvent.message is not text"
    return None


def parse_event(data: dict[str, Any]) -> auto_events.EngineEvent | None:
    """The `EngineEvent` of one log line already checked by `event_problem` (None for a kind this SDK does not read)."""
    kinds = [k for k in data if k in EVENT_KINDS]
    if not kinds:
        return None
    kind = kinds[0]
    body = dict(data[kind])
    if kind == "stdoutEvent":  # the SDK passes these bodies as keyword arguments
        body = {"message": str(body.get("message", "")), "color": str(body.get("color", ""))}
    elif kind == "preludeEvent":
        body = {"config": body.get("config") or {}}
    return auto_events.EngineEvent.from_json(
        {"sequence": data.get("sequence", 0), "timestamp": data.get("timestamp", 0), kind: body}
    )


def _present(pairs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in pairs.items() if v is not None}


def _state_json(state: auto_events.StepEventStateMetadata | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return _present(
        {
            "type": state.type,
            "urn": state.urn,
            "custom": state.custom,
            "delete": state.delete,
            "id": state.id,
            "parent": state.parent,
            "protect": state.protect,
            "retainOnDelete": state.retain_on_delete,
            "inputs": state.inputs,
            "outputs": state.outputs,
            "initErrors": state.init_errors,
            "taint": state.taint,
            "provider": state.provider,
        }
    )


def _metadata_json(meta: auto_events.StepEventMetadata) -> dict[str, Any]:
    diff = {
        key: {"diffKind": str(getattr(d.diff_kind, "value", d.diff_kind)), "inputDiff": d.input_diff}
        for key, d in (meta.detailed_diff or {}).items()
    }
    return _present(
        {
            "op": _op(meta),
            "urn": meta.urn,
            "type": meta.type,
            "old": _state_json(meta.old),
            "new": _state_json(meta.new),
            "keys": meta.keys,
            "diffs": meta.diffs,
            "detailedDiff": diff or None,
            "logical": meta.logical,
            "provider": meta.provider,
        }
    )


def event_json(event: auto_events.EngineEvent) -> dict[str, Any]:
    """One engine event in the JSON shape `pulumi up --event-log` writes (what `parse_event` reads back).

    The Automation API hands mesh parsed events, not the engine's lines, so mesh writes
    them back from every field the API keeps.
    """
    line: dict[str, Any] = {"sequence": event.sequence, "timestamp": event.timestamp}
    if event.cancel_event is not None:
        line["cancelEvent"] = {}
    elif event.stdout_event is not None:
        line["stdoutEvent"] = {"message": event.stdout_event.message, "color": event.stdout_event.color}
    elif event.diagnostic_event is not None:
        d = event.diagnostic_event
        line["diagnosticEvent"] = _present(
            {
                "urn": d.urn,
                "prefix": d.prefix,
                "message": d.message,
                "color": d.color,
                "severity": d.severity,
                "streamId": d.stream_id,
                "ephemeral": d.ephemeral,
            }
        )
    elif event.prelude_event is not None:
        line["preludeEvent"] = {"config": dict(event.prelude_event.config)}
    elif event.summary_event is not None:
        summary = event.summary_event
        line["summaryEvent"] = {
            "maybeCorrupt": summary.maybe_corrupt,
            "durationSeconds": summary.duration_seconds,
            "resourceChanges": {
                str(getattr(op, "value", op)): n for op, n in (summary.resource_changes or {}).items()
            },
            "PolicyPacks": dict(summary.policy_packs or {}),
        }
    elif event.resource_pre_event is not None:
        line["resourcePreEvent"] = _present(
            {
                "metadata": _metadata_json(event.resource_pre_event.metadata),
                "planning": event.resource_pre_event.planning,
            }
        )
    elif event.res_outputs_event is not None:
        line["resOutputsEvent"] = _present(
            {
                "metadata": _metadata_json(event.res_outputs_event.metadata),
                "planning": event.res_outputs_event.planning,
            }
        )
    elif event.res_op_failed_event is not None:
        failed = event.res_op_failed_event
        line["resOpFailedEvent"] = {
            "metadata": _metadata_json(failed.metadata),
            "status": failed.status,
            "steps": failed.steps,
        }
    elif event.policy_event is not None:
        p = event.policy_event
        line["policyEvent"] = _present(
            {
                "resourceUrn": p.resource_urn,
                "message": p.message,
                "color": p.color,
                "policyName": p.policy_name,
                "policyPackName": p.policy_pack_name,
                "policyPackVersion": p.policy_pack_version,
                "policyPackVersionTag": p.policy_pack_version_tag,
                "enforcementLevel": p.enforcement_level,
            }
        )
    elif event.start_debugging_event is not None:
        line["startDebuggingEvent"] = {"config": dict(event.start_debugging_event.config)}
    return line


# --- Error translation -------------------------------------------------------------------------

_LOCK = re.compile(
    r"^\s*(?P<url>\S+): created by (?P<user>[^@\s]+)@(?P<host>\S+) \(pid (?P<pid>\d+)\) at (?P<at>\S+)",
    re.MULTILINE,
)
_URN = re.compile(r"urn:pulumi:[^\s\"'()\[\]]+")
_DIAGNOSTIC_HEADER = re.compile(r"^ {2}(?P<type>\S+:\S+) \((?P<name>[^)]+)\):\s*$")
_ERROR_LINE = re.compile(r"^\s*error:\s*(?P<text>.*)$")
MESSAGE_LIMIT = 700


def shorten(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` on one line, without Pulumi's "1 error occurred:" preamble, cut at `limit`."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"^\d+ errors? occurred: (\* )?", "", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_generic(message: str) -> bool:
    return bool(GENERIC_FAILURES.match(message.strip()))


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
    def hint(reason: str, urn: str) -> str:
        return failure_hint(
            reason,
            stack=target.stack,
            urn=urn,
            apply=_apply_command(target),
            applying=stage in (Stage.UPDATE, Stage.PREVIEW),
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
                    hint=hint(reason, urn),
                    urn=urn,
                )
    text = output_of(e)
    diagnostics = diagnostics_from_text(text)
    if diagnostics:
        type_, name, message = diagnostics[0]
        urns = [u for u in _URN.findall(text) if resource_of(u)[1] == name]
        return ResourceFailed(
            f"{_verb(stage)} stack {target.stack} failed at {type_} {name}: {shorten(clean(message))}",
            hint=hint(message, urns[0] if urns else ""),
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
                hint=hint(reason, urn),
                urn=urn,
            )
    return None


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
        cause = find_cause(text)
        if cause is not None:
            return EngineFailed(
                f"{_verb(stage)} stack {target.stack} failed: {cause.what} ({shorten(first_error(text), 300)}).",
                hint=explain(cause, stack=target.stack, apply=_apply_command(target)),
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


def _cli_json(workspace: auto.Workspace, args: list[str]) -> str:
    """What the CLI prints for `args` in `workspace` (its folder, PULUMI_HOME and environment).

    mesh reads `--json` outputs itself (`infra.engine.history`) rather than through the
    Automation API's parsed objects, which drop fields and reject some timestamps.
    """
    if not isinstance(workspace, auto.LocalWorkspace):
        raise TypeError("mesh runs local workspaces only")
    env = {"PULUMI_HOME": workspace.pulumi_home} if workspace.pulumi_home else {}
    env |= dict(workspace.env_vars or {})
    return workspace.pulumi_command.run(args, workspace.work_dir, env).stdout


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

    def _history(self, *extra: str) -> list[UpdateInfo]:
        args = ["stack", "history", "--json", "--stack", self._stack.name, *extra]
        return history.read_stack_history(_cli_json(self._stack.workspace, args))

    def info(self) -> UpdateInfo | None:
        """The last entry of `pulumi stack history`."""
        return history.last_operation(self._history("--page-size", "1", "--page", "1"))

    def history(self) -> list[UpdateInfo]:
        """`pulumi stack history --json`, newest first."""
        return self._history()


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
        """`pulumi stack ls --json`."""
        return history.read_stack_listing(_cli_json(self._local(), ["stack", "ls", "--json"]))

    def remove_stack(self, name: str) -> None:
        """`pulumi stack rm`."""
        self._local().remove_stack(name)


def supported_cli_versions() -> tuple[str, str]:
    """The Pulumi CLI versions this Automation SDK accepts: (lowest, first refused).

    The SDK refuses a CLI older than its minimum or of a newer major version
    (`pulumi.automation._cmd._parse_and_validate_pulumi_version`).
    """
    from importlib.metadata import version  # noqa: PLC0415 - only `mesh doctor` asks

    from pulumi.automation._minimum_version import _MINIMUM_VERSION  # noqa: PLC0415 - as above

    major = int(version("pulumi").split(".")[0])
    return str(_MINIMUM_VERSION), f"{major + 1}.0.0"


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
