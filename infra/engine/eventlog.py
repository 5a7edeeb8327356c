"""Engine event logs: kept for every operation mesh runs, and read back for `mesh events`.

**Where.** `<repo>/.mesh/events/<stack>/<run>-<operation>.jsonl`, next to the state of a
`file://` backend (`.mesh` is the folder of mesh's local state, which git ignores);
`<run>` is the UTC time the mesh command started (`20261202T163042Z`), `<operation>`
one of preview, update, destroy, refresh. `--event-log DIR` puts the same layout under
DIR instead (for CI to keep as an artifact).

**What.** JSON lines of engine events, the format `pulumi up --event-log` writes and
`pulumi.automation.events.EngineEvent` reads: the Automation API hands mesh parsed
events, and `infra.engine.automation.event_json` writes each one back. A log is
appended event by event and flushed after each, not written at once: a run that is
killed must still leave what it did.

**Reading.** `read_event_log` checks every line and stops at the first bad one with its
line number; `replay` feeds a log through the same reader and ledger as a live run.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from infra.engine.ledger import RunLedger, RunRecord, RunResult
from infra.model.errors import MeshError
from infra.progress import ProgressRecord, ProgressSink, Stage, StageFinished, StageStarted, ignore

EVENTS_FOLDER = "events"
SUFFIX = ".jsonl"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_URN_STACK = re.compile(r"^urn:pulumi:(?P<stack>[^:]+)::")
_MESH_NAME = re.compile(r"^\d{8}T\d{6}Z-(?P<stage>preview|update|destroy|refresh)(?:-\d+)?$")


class EventLogInvalid(MeshError):
    """A saved event log that cannot be read; the message says where."""


def run_id(moment: datetime | None = None) -> str:
    """The name of one mesh invocation's logs: its UTC start time, `20261202T163042Z`."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def safe_name(text: str) -> str:
    """`text` as one file name component (a stack may be `org/project/stack`)."""
    return _UNSAFE.sub("_", text).strip("._") or "stack"


class EventLogWriter:
    """Appends one operation's engine events to its log as they arrive; a sink for `OnEvent`.

    The file is created with the first event (an operation refused before the engine
    started has no log). Writing never raises into the engine's event thread: a failure
    is kept in `problem` and the log stops there.
    """

    def __init__(self, path: Path, encode: Callable[[Any], dict[str, Any]]) -> None:
        self.path = path
        self._encode = encode
        self._file: IO[str] | None = None
        self._lock = threading.Lock()
        self.events = 0
        self.problem: str | None = None

    def _open(self) -> IO[str]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        stem, number = self.path.stem, 1
        while True:
            try:
                return self.path.open("x", encoding="utf-8")
            except FileExistsError:
                number += 1
                self.path = self.path.with_name(f"{stem}-{number}{SUFFIX}")

    def __call__(self, event: Any) -> None:
        with self._lock:
            if self.problem is not None:
                return
            try:
                if self._file is None:
                    self._file = self._open()
                self._file.write(json.dumps(self._encode(event), separators=(",", ":")) + "\n")
                self._file.flush()
                self.events += 1
            except (OSError, TypeError, ValueError) as e:
                self.problem = f"{type(e).__name__}: {e}"

    def close(self) -> None:
        """Close the file (when one was opened)."""
        with self._lock:
            if self._file is not None:
                with contextlib.suppress(OSError):
                    self._file.close()
                self._file = None

    @property
    def written(self) -> Path | None:
        """The log's path once at least one event was written."""
        return self.path if self.events else None


@dataclass(frozen=True)
class EventLogs:
    """Where one mesh invocation keeps its event logs.

    `root` None means each stack's own `<repo>/.mesh/events`; `run` names the invocation.
    """

    root: Path | None = None
    run: str = ""

    def path(self, mesh_dir: Path, stack: str, stage: Stage) -> Path:
        """The log of `stage` on `stack`."""
        base = self.root if self.root is not None else mesh_dir / EVENTS_FOLDER
        return base / safe_name(stack) / f"{self.run or run_id()}-{stage}{SUFFIX}"


# --- Reading ----------------------------------------------------------------------------------


def _invalid(path: Path, line: int, message: str, hint: str | None = None) -> EventLogInvalid:
    return EventLogInvalid(
        f"{path}: line {line}: {message}",
        hint=hint
        or "An event log has one engine event (a JSON object) per line, as `pulumi up --event-log` "
        "and mesh write them; this file is damaged or is not an event log.",
    )


def read_event_log(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Every event of the log at `path` with its line number; `EventLogInvalid` at the first bad line."""
    from infra.engine.automation import event_problem  # noqa: PLC0415 - imports Pulumi

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise EventLogInvalid(
            f"{path} does not exist.",
            hint="mesh keeps event logs under <repo>/.mesh/events/<stack>/ (or the --event-log folder).",
        ) from None
    except IsADirectoryError:
        raise EventLogInvalid(
            f"{path} is a folder.", hint="Give one log file, e.g. .mesh/events/<stack>/<run>-update.jsonl."
        ) from None
    except OSError as e:
        raise EventLogInvalid(f"{path} cannot be read: {e.strerror or e}.") from e
    lines = raw.split(b"\n")
    ends_cleanly = raw.endswith(b"\n")
    entries: list[tuple[int, dict[str, Any]]] = []
    for number, chunk in enumerate(lines, start=1):
        if not chunk.strip():
            continue
        last = number == len(lines) or (number == len(lines) - 1 and ends_cleanly)
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _invalid(path, number, f"not UTF-8 text (byte {e.start + 1})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            if last and not ends_cleanly:
                raise _invalid(
                    path,
                    number,
                    "the log ends in the middle of an event: the file is truncated "
                    f"(the run was killed while writing, or the copy is incomplete); {len(entries)} complete event(s) before it",
                    hint="Replay what it holds by removing the incomplete last line, or use the complete log.",
                ) from None
            raise _invalid(path, number, f"not JSON: {e.msg} (column {e.colno})") from None
        problem = event_problem(data)
        if problem is not None:
            raise _invalid(path, number, problem)
        entries.append((number, data))
    if not entries:
        raise EventLogInvalid(
            f"{path} holds no engine events.",
            hint="The operation stopped before the engine started; the error mesh printed then says why.",
        )
    return entries


def _stack_of(entries: list[tuple[int, dict[str, Any]]], path: Path) -> str:
    if _MESH_NAME.match(path.stem):
        return path.parent.name  # mesh's own log: its folder is the stack
    for _, data in entries:
        for body in data.values():
            if not isinstance(body, dict):
                continue
            urn = (
                (body.get("metadata") or {}).get("urn")
                if isinstance(body.get("metadata"), dict)
                else body.get("urn")
            )
            match = _URN_STACK.match(urn) if isinstance(urn, str) else None
            if match:
                return match["stack"]
    return path.stem


def _stage_of(entries: list[tuple[int, dict[str, Any]]], path: Path) -> Stage:
    named = _MESH_NAME.search(path.stem)
    if named:
        return Stage(named["stage"])
    ops: set[str] = set()
    for _, data in entries:
        summary = data.get("summaryEvent")
        if isinstance(summary, dict) and summary.get("isPreview") is True:
            return Stage.PREVIEW
        for kind in ("resourcePreEvent", "resOutputsEvent"):
            body = data.get(kind)
            if isinstance(body, dict):
                if body.get("planning") is True:
                    return Stage.PREVIEW
                ops.add(str(body["metadata"].get("op")))
    changing = ops - {"same"}
    if changing and changing <= {"delete"}:
        return Stage.DESTROY
    if "refresh" in ops and ops <= {"refresh", "same"}:
        return Stage.REFRESH
    return Stage.UPDATE


@dataclass(frozen=True)
class Replay:
    """A saved log, replayed: the operation's record, and which stack and operation it was."""

    path: Path
    record: RunRecord
    events: int

    def as_dict(self) -> dict[str, Any]:
        """`{"file", "events", ...RunRecord.as_dict()}`."""
        return {"file": str(self.path), "events": self.events, **self.record.as_dict()}


def replay(path: Path, sink: ProgressSink = ignore, *, apply: str = "") -> Replay:
    """Feed the log at `path` through the live path's reader and ledger, reporting to `sink` as a live run would.

    The records `sink` sees are those of a live operation: the stage's start, each
    resource step and diagnostic, the engine's summary, and the stage's end.
    """
    from infra.engine.automation import EventReader, parse_event  # noqa: PLC0415 - imports Pulumi

    entries = read_event_log(path)
    stack = _stack_of(entries, path)
    stage = _stage_of(entries, path)
    ledger = RunLedger(stack, stage, apply=apply)

    def both(record: ProgressRecord) -> None:
        ledger(record)
        sink(record)

    both(StageStarted(stack=stack, stage=stage))
    reader = EventReader(stack, stage, both)
    for number, data in entries:
        try:
            event = parse_event(data)
            if event is not None:
                reader.read(event)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise _invalid(path, number, f"the event cannot be read: {type(e).__name__}: {e}") from e
    record = ledger.record()
    sink(
        StageFinished(
            stack=stack,
            stage=stage,
            ok=record.ok,
            changes=record.changes,
            seconds=float(record.seconds),
            interrupted=record.result is RunResult.INTERRUPTED,
        )
    )
    return Replay(path=path, record=record, events=len(entries))
