"""Progress of engine operations as typed records, and the per-stack state they add up to.

`infra.engine` turns the Pulumi engine's events into these records and hands them to a
`ProgressSink`; the CLI folds them into a `ProgressBoard` and draws it. Nothing here
prints or imports Pulumi. Sinks are called from worker threads (one per stack being
worked on), so `ProgressBoard` locks around every change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class Stage(StrEnum):
    """What is being done to a stack."""

    PREVIEW = "preview"
    UPDATE = "update"
    DESTROY = "destroy"
    REFRESH = "refresh"


class StepStatus(StrEnum):
    """Where one resource operation is."""

    STARTED = "started"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class StageStarted:
    """An operation on a stack began; `planned` is how many resources it should touch, when known."""

    stack: str
    stage: Stage
    planned: int | None = None


@dataclass(frozen=True)
class ResourceStep:
    """One resource operation (`op` is Pulumi's: create, update, replace, delete, same, ...).

    `custom` is false for the stack itself and for components (they make no cloud call);
    `logical` is false for the halves of a replacement (`create-replacement`,
    `delete-replaced`), which the engine does not count; `holds_data` marks a type whose
    replacement or deletion loses data; `protected` a resource protected in the state.
    """

    stack: str
    stage: Stage
    urn: str
    type: str
    name: str
    op: str
    status: StepStatus
    custom: bool = True
    logical: bool = True
    holds_data: bool = False
    protected: bool = False


@dataclass(frozen=True)
class EngineMessage:
    """A warning or error the engine or a provider reported, with the resource it is about."""

    stack: str
    severity: str
    message: str
    urn: str | None = None


@dataclass(frozen=True)
class StageFinished:
    """An operation on a stack ended, with the changes it made (or would make, for a preview).

    `interrupted` says the operation was stopped rather than failed (a replayed log that
    ends early, a cancelled run)."""

    stack: str
    stage: Stage
    ok: bool
    changes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    interrupted: bool = False


@dataclass(frozen=True)
class EngineSummary:
    """The engine's own closing count of an operation (its summary event).

    `preview` is None when the engine did not say; `maybe_corrupt` is the engine's
    warning that a resource may be in an unknown state.
    """

    stack: str
    changes: dict[str, int]
    seconds: int = 0
    maybe_corrupt: bool = False
    preview: bool | None = None


@dataclass(frozen=True)
class CliInstall:
    """mesh is installing the Pulumi CLI (`done` false while it downloads)."""

    version: str
    root: str
    done: bool = False


ProgressRecord = StageStarted | ResourceStep | EngineMessage | EngineSummary | StageFinished | CliInstall
ProgressSink = Callable[[ProgressRecord], None]


def ignore(_record: ProgressRecord) -> None:
    """A sink that drops every record (for callers that want none)."""


VERBS = {
    "create": "creating",
    "update": "updating",
    "delete": "deleting",
    "replace": "replacing",
    "create-replacement": "creating replacement of",
    "delete-replaced": "deleting replaced",
    "read": "reading",
    "refresh": "refreshing",
    "import": "importing",
    "same": "checking",
}


@dataclass
class StackProgress:
    """What a person watching one stack wants to know: stage, how far, what now, how long."""

    stack: str
    stage: Stage | None = None
    planned: int | None = None
    done: int = 0
    current: str = ""
    failed: bool = False
    finished: bool = False
    started_at: float = 0.0
    ended_at: float | None = None
    errors: list[str] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set, repr=False)

    def elapsed(self, now: float | None = None) -> float:
        """Seconds since the current stage began (frozen once it finished)."""
        if not self.started_at:
            return 0.0
        end = self.ended_at if self.ended_at is not None else (now if now is not None else time.monotonic())
        return max(0.0, end - self.started_at)


class ProgressBoard:
    """Folds progress records into one `StackProgress` per stack; safe to feed from many threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._stacks: dict[str, StackProgress] = {}
        self.installing: CliInstall | None = None

    def __call__(self, record: ProgressRecord) -> None:
        with self._lock:
            self._apply(record)

    def expect(self, stack: str, planned: int | None) -> None:
        """Show `stack` before its first record arrives (waiting for a worker)."""
        with self._lock:
            self._stacks.setdefault(stack, StackProgress(stack=stack, planned=planned))

    def snapshot(self) -> list[StackProgress]:
        """A copy of every stack's state, in the order stacks appeared."""
        with self._lock:
            return [
                StackProgress(
                    stack=s.stack,
                    stage=s.stage,
                    planned=s.planned,
                    done=s.done,
                    current=s.current,
                    failed=s.failed,
                    finished=s.finished,
                    started_at=s.started_at,
                    ended_at=s.ended_at,
                    errors=list(s.errors),
                )
                for s in self._stacks.values()
            ]

    def _apply(self, record: ProgressRecord) -> None:
        if isinstance(record, CliInstall):
            self.installing = None if record.done else record
            return
        if isinstance(record, EngineSummary):
            return
        if isinstance(record, ResourceStep) and not record.custom:
            return  # the stack and components are not among the planned cloud resources
        state = self._stacks.setdefault(record.stack, StackProgress(stack=record.stack))
        if isinstance(record, StageStarted):
            state.stage = record.stage
            state.planned = record.planned if record.planned is not None else state.planned
            state.done, state.current, state.failed, state.finished = 0, "", False, False
            state.started_at, state.ended_at = self._clock(), None
            state._seen = set()
        elif isinstance(record, ResourceStep):
            if record.status is StepStatus.STARTED:
                state.current = f"{VERBS.get(record.op, record.op)} {record.type} {record.name}"
            elif record.urn not in state._seen:
                state._seen.add(record.urn)
                state.done += 1
            if record.status is StepStatus.FAILED:
                state.failed = True
        elif isinstance(record, EngineMessage):
            if record.severity == "error":
                state.errors.append(record.message)
        else:
            state.finished, state.failed = True, state.failed or not record.ok
            state.current = ""
            state.ended_at = self._clock()
