"""`mesh provision`: plan offline, preview, confirm, apply — one stack per request.

Also the pieces the other engine commands share: the live progress view, the
confirmation prompt, and the renderers of changes and outputs.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from cli.console import Output, err, out, print_json
from cli.options import OutputOption, PlatformOption
from infra.model.errors import UsageError
from infra.progress import (
    CliInstall,
    EngineMessage,
    ProgressBoard,
    ProgressRecord,
    ResourceStep,
    StackProgress,
    Stage,
    StageFinished,
    StageStarted,
    StepStatus,
)

if TYPE_CHECKING:
    from infra.engine import ProvisionReport, StackRun
    from infra.engine.ledger import RunLedger, RunRecord

CHANGE_COLUMNS = ("create", "update", "replace", "delete", "same")
STAGE_WORDS = {
    Stage.PREVIEW: ("previewing", "previewed"),
    Stage.UPDATE: ("updating", "updated"),
    Stage.DESTROY: ("destroying", "destroyed"),
    Stage.REFRESH: ("refreshing", "refreshed"),
}
DEFAULT_PARALLEL = 4
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: How a finished resource step reads: (mark, past tense, what a preview says).
STEP_WORDS = {
    "create": ("+", "created", "would create"),
    "update": ("~", "updated", "would update"),
    "replace": ("+-", "replaced", "would replace"),
    "create-replacement": ("++", "created the replacement of", "would create the replacement of"),
    "delete-replaced": ("--", "deleted the replaced", "would delete the replaced"),
    "delete": ("-", "deleted", "would delete"),
    "same": ("=", "unchanged", "unchanged"),
    "read": (">", "read", "would read"),
    "refresh": ("~", "refreshed", "would refresh"),
    "import": ("=>", "imported", "would import"),
}
EventLogOption = Annotated[
    Path | None,
    typer.Option(
        "--event-log",
        help="Folder for the engine event logs of this run (default: .mesh/events next to mesh.yaml); "
        "replay one with `mesh events FILE`.",
        show_default=False,
    ),
]


def can_prompt() -> bool:
    """Whether a person can answer a question (stdin is a terminal). Tests replace this."""
    return sys.stdin.isatty()


def require_confirmation_possible(yes: bool, what: str) -> None:
    """Refuse up front when a confirmation will be needed and nobody can give it."""
    if not yes and not can_prompt():
        raise UsageError(
            f"{what} needs a confirmation, and there is no terminal to ask on.",
            hint="Run it again with --yes to confirm in advance (in CI, after reviewing `mesh plan`).",
        )


def confirm(question: str, *, yes: bool) -> bool:
    """True with `yes`; otherwise ask on stderr (default: no)."""
    if yes:
        return True
    return typer.confirm(question, default=False, err=True)


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def step_line(step: ResourceStep) -> str:
    """One finished resource step, as the live view and `mesh events` print it."""
    mark, done, planned = STEP_WORDS.get(step.op, ("*", step.op, f"would {step.op}"))
    if step.status is StepStatus.FAILED:
        return f"  ✗ {step.op} failed: {step.type} {step.name}"
    words = planned if step.stage is Stage.PREVIEW else done
    return f"  {mark} {words} {step.type} {step.name}"


def finished_line(record: StageFinished) -> str:
    """The closing line of one operation on one stack, with the engine's counts."""
    from infra.engine.ledger import ordered_changes  # infra.engine imports Pulumi

    changes = ", ".join(f"{op} {n}" for op, n in ordered_changes(record.changes).items()) or "no changes"
    if record.ok:
        outcome = STAGE_WORDS[record.stage][1]
    elif record.interrupted:
        outcome = f"{record.stage} interrupted"
    else:
        outcome = f"{record.stage} failed"
    return f"{record.stack}: {outcome} in {_duration(record.seconds)} ({changes})"


def run_lines(record: RunRecord) -> list[str]:
    """What an operation's record adds to its closing line: data at risk, unfinished work, failures and fixes."""
    from infra.engine.causes import explain, find_cause  # infra.engine imports Pulumi
    from infra.engine.ledger import Outcome, RunResult

    lines: list[str] = []
    preview = record.stage is Stage.PREVIEW
    for resource in record.at_risk:
        verb = "replace" if any("replace" in op for op in resource.steps) else "delete"
        past = {"replace": "replaced", "delete": "deleted"}[verb]
        what = f"{resource.type} {resource.name}"
        if preview:
            lines.append(
                f"  ! data at risk: would {verb} {what}: the data it holds would be lost (back it up first)"
            )
        elif resource.outcome is Outcome.DONE:
            lines.append(f"  ! data at risk: {past} {what}: the data it held is gone with it")
        else:
            lines.append(
                f"  ! data at risk: the {verb} of {what} did not finish: check whether its data is still there"
            )
    for resource in record.resources:
        if resource.protected and resource.destructive and not resource.data_at_risk:
            lines.append(f"  ! protected: {resource.op} of {resource.type} {resource.name}")
    for resource in record.unfinished:
        lines.append(
            f"  … unfinished: {resource.op} {resource.type} {resource.name} "
            "(the run stopped before it ended: check it in the cloud console)"
        )
    if record.result is RunResult.INTERRUPTED and record.interruption:
        lines.append(f"  interrupted: {record.interruption}")
    for failure in record.failures:
        where = f"{failure.type} {failure.name}: " if failure.urn else ""
        lines.append(f"  ✗ {where}{failure.message}")
        lines.append(f"    Hint: {failure.hint}")
    if record.maybe_corrupt:
        lines.append(
            "  ! the engine reports some resources may be in an unknown state: "
            f"run `pulumi refresh --stack {record.stack}` before the next update"
        )
    for warning in record.warnings:
        lines.append(f"  warning: {warning}")
        cause = find_cause(warning)
        if cause is not None:
            lines.append(f"    Hint: {explain(cause, stack=record.stack)}")
    return lines


class LiveProgress:
    """Shows the engine's progress: a live table on a terminal, milestone lines otherwise.

    Use it as the engine's progress sink and as a context manager around the work;
    `paused()` stops the live view while the command asks a question. Milestone lines
    name each resource step as it ends; when an operation ends, its closing line and
    what it put at risk or left failed follow (`run_lines`). `mesh events` replays a
    saved log through this same view.
    """

    def __init__(self, *, enabled: bool = True, console: Console = err, animated: bool | None = None) -> None:
        self.board = ProgressBoard()
        self.enabled = enabled
        self.console = console
        self.animated = enabled and (console.is_terminal if animated is None else animated)
        self._live: Live | None = None
        self._ledgers: dict[str, RunLedger] = {}
        self._shown: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def __call__(self, record: ProgressRecord) -> None:
        self.board(record)
        with self._lock:
            lines = self._fold(record)
        if self.enabled:
            for line in lines:
                # Engine and provider text is untrusted: no markup, no emoji codes, no control characters.
                shown = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", line)
                self.console.print(shown, markup=False, highlight=False, emoji=False)

    def _fold(self, record: ProgressRecord) -> list[str]:
        """Keep `record` in its stack's ledger; the lines to print for it."""
        from infra.engine.ledger import RunLedger  # infra.engine imports Pulumi

        if isinstance(record, StageStarted):
            self._ledgers[record.stack] = RunLedger(record.stack, record.stage)
            self._shown = {k for k in self._shown if k[0] != record.stack}
        if isinstance(record, CliInstall):
            return [] if self.animated else self._milestone(record)
        ledger = self._ledgers.setdefault(record.stack, RunLedger(record.stack))
        ledger(record)
        if isinstance(record, StageFinished):
            closing = [] if self.animated else [finished_line(record)]
            return closing + [f"{record.stack}:{line}" for line in run_lines(ledger.record())]
        return [] if self.animated else self._milestone(record)

    def expect(self, stack: str, planned: int | None) -> None:
        """Show a row for `stack` before it starts."""
        self.board.expect(stack, planned)

    def _milestone(self, record: ProgressRecord) -> list[str]:
        if isinstance(record, CliInstall):
            return [] if record.done else [f"Installing the Pulumi CLI v{record.version} into {record.root}…"]
        if isinstance(record, StageStarted):
            planned = f" ({record.planned} resources planned)" if record.planned else ""
            return [f"{record.stack}: {STAGE_WORDS[record.stage][0]}{planned}…"]
        if isinstance(record, ResourceStep):
            from infra.engine.ledger import completes_when_announced  # infra.engine imports Pulumi

            key = (record.stack, record.urn, record.op)
            if key in self._shown or (
                record.status is StepStatus.STARTED and not completes_when_announced(record)
            ):
                return []
            self._shown.add(key)
            return [f"{record.stack}:{step_line(record)}"]
        if isinstance(record, EngineMessage) and record.severity == "error" and not record.urn:
            from infra.engine.causes import CANCELLED, GENERIC_FAILURES

            message = " ".join(record.message.split())
            # A resource's error shows with its failed step and in the closing lines; the
            # engine's closing words ("update failed") say nothing more.
            if not GENERIC_FAILURES.match(message) and not CANCELLED.match(message):
                return [f"{record.stack}: error: {message}"]
        return []

    def _row(self, state: StackProgress, now: float) -> list[RenderableType]:
        if state.stage is None:
            stage = Text("waiting", style="dim")
        elif state.finished:
            word = STAGE_WORDS[state.stage][1]
            stage = (
                Text(f"✗ {state.stage} failed", style="red")
                if state.failed
                else Text(f"✓ {word}", style="green")
            )
        else:
            stage = Text(STAGE_WORDS[state.stage][0], style="cyan")
        total = state.planned
        bar = ProgressBar(total=float(total) if total else None, completed=float(state.done), width=20)
        count = f"{state.done}/{total}" if total else str(state.done)
        return [
            Text(state.stack, style="bold"),
            stage,
            Group(bar) if state.stage else Text(""),
            Text(count),
            Text(state.current, overflow="ellipsis", no_wrap=True),
            Text(_duration(state.elapsed(now)) if state.stage else ""),
        ]

    def render(self) -> RenderableType:
        """The current view: one row per stack."""
        now = time.monotonic()
        table = Table(box=None, show_header=True, header_style="dim", pad_edge=False)
        for column in ("stack", "stage", "", "resources", "now", "elapsed"):
            table.add_column(column, no_wrap=column != "now", overflow="ellipsis")
        for state in self.board.snapshot():
            table.add_row(*self._row(state, now))
        installing = self.board.installing
        if installing is not None:
            note = Text(
                f"Installing the Pulumi CLI v{installing.version} into {installing.root}…", style="cyan"
            )
            return Group(note, table)
        return table

    def start(self) -> None:
        """Start drawing (a no-op when not animated or already drawing)."""
        if self.animated and self._live is None:
            self._live = Live(console=err, refresh_per_second=8, get_renderable=self.render, transient=False)
            self._live.start()

    def stop(self) -> None:
        """Stop drawing, leaving the last frame on screen."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the live view for a while (to print or ask), then resume it."""
        running = self._live is not None
        self.stop()
        try:
            yield
        finally:
            if running:
                self.start()

    def __enter__(self) -> LiveProgress:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def changes_row(changes: dict[str, int] | None) -> list[str]:
    """The counts of `CHANGE_COLUMNS` (blank when zero)."""
    changes = changes or {}
    replaced = changes.get("replace", 0) or changes.get("create-replacement", 0)
    values = {**changes, "replace": replaced}
    return [str(values.get(op) or "") for op in CHANGE_COLUMNS]


def _stack_column(table: Table, runs: Sequence[StackRun]) -> None:
    # Stack names are what people look for: never cut them.
    longest = max((len(r.stack or r.source) for r in runs), default=5)
    table.add_column("stack", min_width=min(longest, 60), no_wrap=True)


def render_preview(report: ProvisionReport) -> None:
    """What the previews found: one row per stack, then what blocks which stack."""
    from infra.engine import RunStatus

    table = Table(title=f"Planned changes in {report.environment}", title_justify="left")
    _stack_column(table, report.runs)
    for op in CHANGE_COLUMNS:
        table.add_column(op, justify="right")
    table.add_column("status")
    for run in report.runs:
        status = {
            RunStatus.UNCHANGED: "[dim]no changes[/]",
            RunStatus.READY: "[green]ready[/]",
            RunStatus.BLOCKED: "[red]blocked[/]",
            RunStatus.FAILED: "[red]failed[/]",
        }.get(run.status, str(run.status))
        table.add_row(
            escape(run.stack or run.source),
            *changes_row(run.preview.changes if run.preview else None),
            status,
        )
    err.print(table)
    for run in report.runs:
        if run.preview is None:
            continue
        for step in run.preview.destructive():
            err.print(
                f"[yellow]warning:[/] {escape(run.stack)}: {escape(step.op)} of {escape(step.type)} "
                f"{escape(step.name)} (allowed here)"
            )
    _render_failures(report.runs)


def _render_failures(runs: Sequence[StackRun]) -> None:
    for run in runs:
        if run.error is None:
            continue
        label = f"{run.source} ({run.stack})" if run.stack else run.source
        err.print(f"[red]✗[/] {escape(label)}: {escape(run.error.message)}")
        if run.error.hint:
            err.print(f"  [dim]Hint:[/] {escape(run.error.hint)}")


def render_outputs(outputs: dict[str, dict[str, Any]]) -> None:
    """Stack outputs as one table on stdout: stack, output, value."""
    rows = [(stack, key, value) for stack, values in outputs.items() for key, value in values.items()]
    if not rows:
        return
    table = Table(title="Outputs", title_justify="left")
    table.add_column("stack", no_wrap=True)
    table.add_column("output", no_wrap=True)
    table.add_column("value", overflow="fold")
    for stack, key, value in rows:
        shown = value if isinstance(value, str) else _compact(value)
        table.add_row(escape(stack), escape(key), escape(shown))
    out.print(table)


def _compact(value: Any) -> str:
    import json

    return json.dumps(value, default=str)


def render_report(report: ProvisionReport) -> None:
    """The summary of a provisioning run: changes per stack, failures, outputs, one closing line."""
    from infra.engine import RunStatus

    table = Table(title=f"Provisioned in {report.environment}", title_justify="left")
    _stack_column(table, report.runs)
    table.add_column("result", no_wrap=True)
    for op in CHANGE_COLUMNS:
        table.add_column(op, justify="right")
    table.add_column("time", justify="right")
    words = {
        RunStatus.SUCCEEDED: "[green]✓ succeeded[/]",
        RunStatus.UNCHANGED: "[green]✓ up to date[/]",
        RunStatus.FAILED: "[red]✗ failed[/]",
        RunStatus.BLOCKED: "[red]✗ blocked[/]",
        RunStatus.DECLINED: "[yellow]not applied[/]",
        RunStatus.READY: "[dim]not run[/]",
    }
    for run in report.runs:
        update = run.update
        table.add_row(
            escape(run.stack or run.source),
            words[run.status],
            *changes_row(update.changes if update else None),
            _duration(update.seconds) if update else "",
        )
    out.print(table)
    _render_failures(report.runs)
    for run in report.runs:
        for warning in dict.fromkeys(run.warnings):
            err.print(f"[yellow]warning:[/] {escape(run.stack or run.source)}: {escape(warning)}")
    render_outputs({r.stack: r.outputs for r in report.by_status(RunStatus.SUCCEEDED, RunStatus.UNCHANGED)})
    good = [r.stack for r in report.by_status(RunStatus.SUCCEEDED, RunStatus.UNCHANGED)]
    bad = [r.stack or r.source for r in report.by_status(RunStatus.FAILED, RunStatus.BLOCKED)]
    declined = report.by_status(RunStatus.DECLINED)
    parts = [f"{len(good)} succeeded" + (f" ({', '.join(good)})" if good else "")]
    if bad:
        parts.append(f"{len(bad)} failed ({', '.join(bad)})")
    if declined:
        parts.append(f"{len(declined)} not applied (not confirmed)")
    style = "green" if report.ok else "red"
    out.print(f"[{style}]{escape('; '.join(parts))}[/]")


def apply_runs(
    runs: list[StackRun],
    *,
    environment: str,
    parallel: int,
    yes: bool,
    allow_replace: bool,
    output: Output,
    event_log: Path | None = None,
) -> None:
    """Preview, confirm and apply `runs`, render the result, and exit with its code.

    Each engine operation's event log goes under `event_log` (default: each stack's
    `.mesh/events`)."""
    from infra.engine import Engine, provision_stacks
    from infra.engine.eventlog import EventLogs

    machine = output is Output.JSON
    progress = LiveProgress(enabled=not machine)
    for run in runs:
        if run.target is not None:
            progress.expect(run.stack, run.target.planned_resources)
    engine = Engine(on_progress=progress, event_logs=EventLogs(root=event_log))

    def ask(report: ProvisionReport) -> bool:
        with progress.paused():
            if not machine:
                render_preview(report)
            from infra.engine import RunStatus

            ready = [r.stack for r in report.runs if r.status is RunStatus.READY]
            return confirm(f"Apply the changes above to {len(ready)} stack(s) in {environment}?", yes=yes)

    with progress:
        report = provision_stacks(
            runs,
            engine=engine,
            environment=environment,
            parallel=parallel,
            allow_replace=allow_replace,
            confirm=ask,
        )
    if machine:
        print_json(report.as_dict())
    else:
        if report.confirmed is False:
            err.print("Nothing was applied.")
        render_report(report)
        render_event_logs(engine.event_log_paths, engine.event_log_problems)
    raise typer.Exit(0 if report.ok else 1)


def render_event_logs(paths: Sequence[Path], problems: Sequence[str] = ()) -> None:
    """Where this run's engine event logs are (stderr), and any that could not be written."""
    for path in sorted(paths):
        err.print(f"[dim]event log: {escape(str(path))}[/]")
    for problem in problems:
        err.print(f"[yellow]warning:[/] {escape(problem)}")


def provision(
    files: Annotated[
        list[Path], typer.Argument(help="Data product requests (YAML), one stack each.", show_default=False)
    ],
    env: Annotated[str, typer.Option("--env", "-e", help="Environment from mesh.yaml.", show_default=False)],
    platform: PlatformOption = None,
    parallel: Annotated[
        int, typer.Option("--parallel", "-j", min=1, help="How many stacks to run at the same time.")
    ] = DEFAULT_PARALLEL,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking for confirmation.")] = False,
    allow_replace: Annotated[
        bool,
        typer.Option(
            "--allow-replace",
            help="Allow replacing or deleting stateful resources (buckets, keys, catalog entries) outside preview environments.",
        ),
    ] = False,
    output: OutputOption = Output.TABLE,
    event_log: EventLogOption = None,
) -> None:
    """Create or update the cloud resources of data product requests.

    Each request is validated and planned offline first (a failing mandatory guardrail
    stops it), then previewed by the Pulumi engine; after one confirmation every stack
    with changes is updated, at most --parallel at a time. One stack's failure does not
    stop the others. Exit code 0 when every stack succeeded, 1 otherwise.

    Example: mesh provision examples/products/sales-orders.yaml --env dev
    """
    require_confirmation_possible(yes, "mesh provision")
    from infra.engine import plan_product_runs

    machine = output is Output.JSON
    if machine:
        runs = plan_product_runs(files, platform_path=platform, environment=env)
    else:
        with err.status(f"Planning {len(files)} request(s) offline…"):
            runs = plan_product_runs(files, platform_path=platform, environment=env)
    apply_runs(
        runs,
        environment=env,
        parallel=parallel,
        yes=yes,
        allow_replace=allow_replace,
        output=output,
        event_log=event_log,
    )
