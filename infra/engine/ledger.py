"""What one engine operation did to one stack, folded from its progress records.

`RunLedger` is a progress sink: fed the records of one stack's operation (live, from
`infra.engine.operations.Engine`, or replayed from a saved event log by
`infra.engine.eventlog`), it keeps every resource the engine touched with its
operation and outcome, the diagnostics translated into mesh's messages, and the
engine's own summary. `RunRecord` is the result, the same for both paths, so that the
live view and `mesh events` print the same thing.

Counting follows the engine (`pkg/engine/update.go`, `OnResourceStepPost`): a step
counts once it has completed, and only a logical one (a replacement counts once, as
`replace`, not as its `create-replacement` and `delete-replaced` halves). A cloud
resource's step completes with its outputs event; the stack's and a component's steps
complete when announced (they make no cloud call), except deletions, which report
their end like cloud resources. Nothing here imports Pulumi.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from infra.engine.causes import CANCELLED, GENERIC_FAILURES, failure_hint, find_cause
from infra.engine.workspace import DESTRUCTIVE_OPS
from infra.progress import (
    EngineMessage,
    EngineSummary,
    ProgressRecord,
    ResourceStep,
    Stage,
    StageFinished,
    StageStarted,
    StepStatus,
)

STACK_TYPE = "pulumi:pulumi:Stack"
#: Default providers (`default`, `default_6_0_0`) are the engine's internal steps: shown, never counted.
_DEFAULT_PROVIDER = re.compile(r"^default(_[0-9_]+)?$")
#: What an operation's summary shows, in this order; other operations follow alphabetically.
CHANGE_ORDER = ("create", "update", "replace", "delete", "same", "read", "import", "refresh")


class RunResult(StrEnum):
    """How an engine operation ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class Outcome(StrEnum):
    """Where one resource's operation ended."""

    DONE = "done"
    FAILED = "failed"
    UNFINISHED = "unfinished"


@dataclass
class ResourceRecord:
    """One resource the operation touched: what was done to it, and how it ended."""

    urn: str
    type: str
    name: str
    op: str
    custom: bool
    holds_data: bool = False
    protected: bool = False
    outcome: Outcome = Outcome.DONE
    steps: list[str] = field(default_factory=list)  # every operation announced, in order

    @property
    def destructive(self) -> bool:
        """Replaced or deleted (or about to be, in a preview)."""
        return any(op in DESTRUCTIVE_OPS for op in self.steps)

    @property
    def data_at_risk(self) -> bool:
        """A stateful resource replaced or deleted: the data it held is lost."""
        return self.holds_data and self.destructive

    def as_dict(self) -> dict[str, Any]:
        """`{"urn", "type", "name", "op", "outcome", "dataAtRisk", "protected"}`."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "op": self.op,
            "outcome": str(self.outcome),
            "dataAtRisk": self.data_at_risk,
            "protected": self.protected,
        }


@dataclass(frozen=True)
class Failure:
    """A failure the engine reported, in mesh's words: what failed, why, and what to do."""

    urn: str
    type: str
    name: str
    message: str
    hint: str

    def as_dict(self) -> dict[str, str]:
        """`{"urn", "type", "name", "message", "hint"}`."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "message": self.message,
            "hint": self.hint,
        }


def ordered_changes(changes: dict[str, int]) -> dict[str, int]:
    """`changes` without zero counts, in `CHANGE_ORDER` (others after, alphabetically)."""
    known = [op for op in CHANGE_ORDER if changes.get(op)]
    rest = sorted(op for op in changes if op not in CHANGE_ORDER and changes[op])
    return {op: changes[op] for op in (*known, *rest)}


def completes_when_announced(step: ResourceStep) -> bool:
    """A step that ends as the engine announces it: the stack's and components' (no cloud call), not deletions."""
    return not step.custom and step.op != "delete" and not step.type.startswith("pulumi:providers:")


def _name_of(urn: str) -> tuple[str, str]:
    parts = urn.split("::")
    if len(parts) < 4:
        return "", urn
    return parts[2].rsplit("$", 1)[-1], "::".join(parts[3:])


@dataclass
class RunRecord:
    """Everything one operation on one stack did, as the engine reported it.

    `summary` is the engine's own count (None when the log has no summary event);
    `counted` is mesh's count from the resource steps, which equals it for every
    completed run. `changes` is what is shown: the summary, else the count.
    """

    stack: str
    stage: Stage | None
    result: RunResult
    resources: list[ResourceRecord]
    summary: dict[str, int] | None
    counted: dict[str, int]
    failures: list[Failure]
    warnings: list[str]
    interruption: str = ""
    seconds: int = 0
    maybe_corrupt: bool = False

    @property
    def ok(self) -> bool:
        """The operation succeeded."""
        return self.result is RunResult.SUCCEEDED

    @property
    def changes(self) -> dict[str, int]:
        """The counts to show: the engine's summary, else mesh's count."""
        return ordered_changes(self.summary if self.summary is not None else self.counted)

    @property
    def unfinished(self) -> list[ResourceRecord]:
        """Resources whose operation started and never ended."""
        return [r for r in self.resources if r.outcome is Outcome.UNFINISHED]

    @property
    def at_risk(self) -> list[ResourceRecord]:
        """Stateful resources replaced or deleted."""
        return [r for r in self.resources if r.data_at_risk]

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape of `mesh events --output json` (one operation)."""
        return {
            "stack": self.stack,
            "operation": str(self.stage) if self.stage else None,
            "result": str(self.result),
            "resources": [r.as_dict() for r in self.resources],
            "changes": self.changes,
            "summary": ordered_changes(self.summary) if self.summary is not None else None,
            "counted": ordered_changes(self.counted),
            "seconds": self.seconds,
            "failures": [f.as_dict() for f in self.failures],
            "dataAtRisk": [r.urn for r in self.at_risk],
            "unfinished": [r.urn for r in self.unfinished],
            "interruption": self.interruption or None,
            "warnings": self.warnings,
            "maybeCorrupt": self.maybe_corrupt,
        }


class RunLedger:
    """A progress sink that keeps the record of one stack's operation (see the module docstring).

    Not thread-safe on its own: the caller (one per stack) serialises records, as
    `cli.provision.LiveProgress` does.
    """

    def __init__(self, stack: str, stage: Stage | None = None, *, apply: str = "") -> None:
        self.stack = stack
        self.stage = stage
        self.apply = apply
        self._resources: dict[str, ResourceRecord] = {}
        self._started: dict[tuple[str, str], ResourceStep] = {}
        self._done: set[tuple[str, str]] = set()
        self._failed: set[tuple[str, str]] = set()
        self._errors: list[tuple[str, str]] = []
        self._warnings: list[str] = []
        self._summary: EngineSummary | None = None
        self.finished: StageFinished | None = None

    def __call__(self, record: ProgressRecord) -> None:
        if isinstance(record, StageStarted):
            self.stage = record.stage
        elif isinstance(record, ResourceStep):
            self._step(record)
        elif isinstance(record, EngineMessage):
            message = " ".join(record.message.split())
            if record.severity == "error":
                self._errors.append((record.urn or "", message))
            elif message not in self._warnings:
                self._warnings.append(message)
        elif isinstance(record, EngineSummary):
            self._summary = record
        elif isinstance(record, StageFinished):
            self.finished = record

    def _step(self, step: ResourceStep) -> None:
        resource = self._resources.get(step.urn)
        if resource is None:
            resource = ResourceRecord(
                urn=step.urn, type=step.type, name=step.name, op=step.op, custom=step.custom
            )
            self._resources[step.urn] = resource
        resource.holds_data = resource.holds_data or step.holds_data
        resource.protected = resource.protected or step.protected
        if step.op not in resource.steps:
            resource.steps.append(step.op)
        if step.logical:
            resource.op = step.op
        key = (step.urn, step.op)
        self._started.setdefault(key, step)  # a step may be reported only by its end
        if step.status is StepStatus.DONE:
            self._done.add(key)
        elif step.status is StepStatus.FAILED:
            self._failed.add(key)

    @staticmethod
    def _completes_when_announced(step: ResourceStep) -> bool:
        return completes_when_announced(step)

    def _complete(self, key: tuple[str, str], *, stopped: bool) -> bool:
        """Whether the step `key` ended (a stopped run leaves components' steps open; the stack's counts)."""
        step = self._started[key]
        return key in self._done or (
            self._completes_when_announced(step) and (step.type == STACK_TYPE or not stopped)
        )

    @staticmethod
    def _counts(step: ResourceStep) -> bool:
        internal = step.type.startswith("pulumi:providers:") and bool(_DEFAULT_PROVIDER.match(step.name))
        return step.logical and not internal

    def record(self) -> RunRecord:
        """The operation as reported so far (a log that stops early gives an interrupted run)."""
        finished = self.finished
        cancelled = [m for _, m in self._errors if CANCELLED.match(m.strip())]
        midway = any(
            key not in self._done and key not in self._failed and not self._completes_when_announced(step)
            for key, step in self._started.items()
        )
        summary = dict(self._summary.changes) if self._summary is not None else None
        if summary is None and finished is not None and finished.ok:
            summary = dict(finished.changes)  # the live path: the Automation API's own summary
        stopped = bool(cancelled) or midway or (summary is None and finished is None)
        stopped = stopped or bool(finished and finished.interrupted)
        counted: dict[str, int] = {}
        for key, step in self._started.items():
            if self._counts(step) and key not in self._failed and self._complete(key, stopped=stopped):
                counted[step.op] = counted.get(step.op, 0) + 1
        resources = []
        for resource in self._resources.values():
            keys = [(resource.urn, op) for op in resource.steps]
            if any(k in self._failed for k in keys):
                outcome = Outcome.FAILED
            elif all(self._complete(k, stopped=stopped) for k in keys):
                outcome = Outcome.DONE
            else:
                outcome = Outcome.UNFINISHED
            resources.append(replace(resource, outcome=outcome, steps=list(resource.steps)))
        failures = self._failures()
        if failures or (finished is not None and not finished.ok and not stopped):
            result = RunResult.FAILED
        elif stopped:
            result = RunResult.INTERRUPTED
        else:
            result = RunResult.SUCCEEDED
        return RunRecord(
            stack=self.stack,
            stage=self.stage,
            result=result,
            resources=resources,
            summary=summary,
            counted=counted,
            failures=failures,
            warnings=list(self._warnings),
            interruption=self._interruption(cancelled, ended=summary is not None or finished is not None)
            if stopped
            else "",
            seconds=self._summary.seconds if self._summary is not None else 0,
            maybe_corrupt=bool(self._summary and self._summary.maybe_corrupt),
        )

    def _interruption(self, cancelled: list[str], *, ended: bool) -> str:
        if cancelled:
            return f"the engine says: {cancelled[0]}"
        if not ended:
            return (
                "the log ends before the engine's summary: the run was stopped (killed, crashed or cut off)"
            )
        return "the engine stopped while resources were still being changed"

    def _hint(self, message: str, urn: str) -> str:
        return failure_hint(
            message,
            stack=self.stack,
            urn=urn,
            apply=self.apply,
            applying=self.stage in (None, Stage.PREVIEW, Stage.UPDATE),
        )

    def _failures(self) -> list[Failure]:
        specific = [(u, m) for u, m in self._errors if not GENERIC_FAILURES.match(m.strip())]
        specific = [(u, m) for u, m in specific if not CANCELLED.match(m.strip())]
        failures: list[Failure] = []
        failed_urns = list(dict.fromkeys(urn for urn, _ in self._failed))
        for urn in [*failed_urns, *[u for u, _ in specific if u and u not in failed_urns]]:
            if any(f.urn == urn for f in failures):
                continue
            messages = list(dict.fromkeys(m for u, m in specific if u == urn))
            resource = self._resources.get(urn)
            type_, name = (resource.type, resource.name) if resource else _name_of(urn)
            message = "; ".join(messages) or "the engine reported the operation failed, without a reason"
            failures.append(
                Failure(urn=urn, type=type_, name=name, message=message, hint=self._hint(message, urn))
            )
        for _, message in (pair for pair in specific if not pair[0]):
            if find_cause(message) is not None or not failures:
                failures.append(
                    Failure(urn="", type="", name="", message=message, hint=self._hint(message, ""))
                )
        if not failures and any(GENERIC_FAILURES.match(m.strip()) for _, m in self._errors):
            generic = next(m for _, m in self._errors if GENERIC_FAILURES.match(m.strip()))
            failures.append(Failure(urn="", type="", name="", message=generic, hint=self._hint(generic, "")))
        return failures
