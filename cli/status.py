"""`mesh status`: every stack of the project, with its last update, result and age."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.console import Output, err, out, print_json
from cli.options import OutputOption

if TYPE_CHECKING:
    from infra.engine import StatusReport


def age(seconds: float | None) -> str:
    """`42s`, `5m`, `3h`, `2d` ago; `—` for never."""
    if seconds is None:
        return "—"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


RESULT_STYLE = {"succeeded": "green", "failed": "red", "in-progress": "yellow", "never": "dim"}


def render(report: StatusReport, now: datetime) -> None:
    """One row per stack, then the environments that could not be read."""
    table = Table(title="Stacks", title_justify="left")
    for column in ("stack", "environment", "last update", "operation", "result", "age", "resources"):
        table.add_column(column, justify="right" if column == "resources" else "left")
    for stack in report.stacks:
        when = stack.last_update.astimezone().strftime("%Y-%m-%d %H:%M") if stack.last_update else "—"
        style = RESULT_STYLE.get(stack.result, "")
        table.add_row(
            escape(stack.name),
            escape(stack.environment),
            when,
            escape(stack.kind or "—"),
            f"[{style}]{escape(stack.result)}[/]" if style else escape(stack.result),
            age(stack.age_seconds(now)),
            str(stack.resource_count) if stack.resource_count is not None else "—",
        )
    if report.stacks:
        out.print(table)
    else:
        out.print("No stacks yet: provision a request with `mesh provision FILE --env ENV`.")
    for environment, message in report.problems:
        err.print(f"[red]✗[/] {escape(environment)}: {escape(message)}")


def status(
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="Only this environment. Default: every environment.")
    ] = None,
    platform: Annotated[
        Path | None,
        typer.Option("--platform", "-p", help="Platform config. Default: the nearest mesh.yaml above here."),
    ] = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """List every stack of the organisation's project: last update, its result, and how long ago.

    Reads each environment's state backend (file, S3 or GCS). Exit code 0 when every
    environment could be read, 1 otherwise.

    Example: mesh status --env dev
    """
    from infra.engine import Engine, stack_statuses
    from infra.validation import load_platform, locate_platform, require_environment

    loaded = load_platform(locate_platform(platform, near=Path.cwd()))
    if env is not None:
        require_environment(loaded.config, env, source=loaded.path)
    report = stack_statuses(loaded, engine=Engine(), environment=env)
    now = datetime.now(UTC)
    if output is Output.JSON:
        print_json(report.as_dict(now))
    else:
        render(report, now)
    raise typer.Exit(1 if report.problems else 0)
