"""`mesh env`: ephemeral preview environments, one per pull request, gone after a TTL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.console import Output, err, out, print_json
from cli.options import OutputOption, PlatformOption

if TYPE_CHECKING:
    from infra.environments import CollectionResult
    from infra.validation import LoadedPlatform

app = typer.Typer(
    help="Ephemeral preview environments: `up` per pull request, `down` when it closes, `gc` on a schedule.",
    no_args_is_help=True,
)

EnvOption = Annotated[
    str | None,
    typer.Option("--env", "-e", help="The preview environment (needed only when mesh.yaml has several)."),
]


def _platform(platform: Path | None) -> LoadedPlatform:
    from infra.validation import load_platform, locate_platform

    return load_platform(locate_platform(platform, near=Path.cwd()))


@app.command("up")
def up(
    files: Annotated[
        list[Path], typer.Argument(help="Data product requests (YAML) to bring up.", show_default=False)
    ],
    name: Annotated[
        str,
        typer.Option(
            "--name", "-n", help="The environment's name, e.g. pr123 (1–12 lowercase letters and digits)."
        ),
    ],
    ttl: Annotated[
        str,
        typer.Option(
            "--ttl", help="How long it lives: 90m, 12h, 3d (at most 30 days). Re-running `up` extends it."
        ),
    ] = "24h",
    env: EnvOption = None,
    platform: PlatformOption = None,
    parallel: Annotated[
        int, typer.Option("--parallel", "-j", min=1, help="How many stacks at the same time.")
    ] = 4,
    output: OutputOption = Output.TABLE,
    event_log: Annotated[
        Path | None,
        typer.Option(
            "--event-log",
            help="Folder for the engine event logs (default: .mesh/events); replay one with `mesh events FILE`.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create or update an ephemeral environment from requests; applies without asking.

    Names carry the environment's label (the preview environment's name + NAME), and every
    resource and stack is tagged with its expiry, which `mesh env gc` honours.

    Example: mesh env up examples/products/sales-orders.yaml --name pr123 --ttl 2d
    """
    from cli.provision import LiveProgress, render_event_logs, render_report
    from infra.engine import Engine
    from infra.engine.eventlog import EventLogs
    from infra.environments import environment_up, parse_ttl

    duration = parse_ttl(ttl)
    progress = LiveProgress(enabled=output is not Output.JSON)
    engine = Engine(on_progress=progress, event_logs=EventLogs(root=event_log))
    with progress:
        report = environment_up(
            files,
            name=name,
            ttl=duration,
            platform_path=platform,
            environment=env,
            engine=engine,
            parallel=parallel,
        )
    if output is Output.JSON:
        print_json(report.as_dict())
    else:
        render_report(report)
        render_event_logs(engine.event_log_paths, engine.event_log_problems)
    raise typer.Exit(0 if report.ok else 1)


@app.command("ls")
def ls(env: EnvOption = None, platform: PlatformOption = None, output: OutputOption = Output.TABLE) -> None:
    """List ephemeral environments with their stacks and expiry."""
    from infra.engine import Engine
    from infra.environments import list_environments, preview_environment

    loaded = _platform(platform)
    environment = preview_environment(loaded, env)
    found = list_environments(loaded, environment=environment, engine=Engine())
    if output is Output.JSON:
        print_json({"environment": environment, "environments": [e.as_dict() for e in found]})
        return
    if not found:
        out.print(f"No ephemeral environments in {escape(environment)}.")
        return
    table = Table(title=f"Ephemeral environments in {environment}", title_justify="left")
    for column in ("name", "stack", "expires", "state", "why"):
        table.add_column(column)
    for e in found:
        state = "[red]expired[/]" if e.expired else "[green]live[/]"
        table.add_row(
            escape(e.name), escape(e.stack), escape(e.expires_at or "never"), state, escape(e.reason)
        )
    out.print(table)


@app.command("down")
def down(
    name: Annotated[str, typer.Argument(help="The environment's name, e.g. pr123.", show_default=False)],
    env: EnvOption = None,
    platform: PlatformOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Destroy an ephemeral environment's stacks (data included) and remove them.

    Example: mesh env down pr123
    """
    from infra.engine import Engine
    from infra.environments import environment_down, preview_environment

    loaded = _platform(platform)
    environment = preview_environment(loaded, env)
    with err.status(f"Destroying {name} in {environment}…"):
        result = environment_down(loaded, name=name, environment=environment, engine=Engine())
    if output is Output.JSON:
        print_json({"destroyed": result.destroyed, "failed": result.failed})
    else:
        for stack in result.destroyed:
            out.print(f"[green]destroyed[/] {escape(stack)}")
        for stack, why in result.failed.items():
            out.print(f"[red]failed[/] {escape(stack)}: {escape(why)}")
    raise typer.Exit(1 if result.failed else 0)


@app.command("gc")
def gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be destroyed and deleted.")
    ] = False,
    env: EnvOption = None,
    platform: PlatformOption = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="Sweep a loopback emulator instead of AWS.")
    ] = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Destroy expired ephemeral environments, then sweep orphaned preview resources.

    The sweep deletes only resources tagged `mesh:preview=true` whose expiry has passed or
    whose stack no longer exists; nothing else is ever touched.

    Example: mesh env gc --dry-run
    """
    from infra.aws.emulator import require_loopback
    from infra.engine import Engine
    from infra.environments import collect_garbage, preview_environment

    if endpoint_url is not None:
        require_loopback(endpoint_url)
    loaded = _platform(platform)
    environment = preview_environment(loaded, env)
    with err.status(f"Collecting expired environments in {environment}…"):
        result = collect_garbage(
            loaded, environment=environment, engine=Engine(), dry_run=dry_run, endpoint_url=endpoint_url
        )
    if output is Output.JSON:
        print_json(result.as_dict())
    else:
        render_gc(result)
    raise typer.Exit(0 if result.ok else 1)


def render_gc(result: CollectionResult) -> None:
    """What was (or would be) destroyed and swept."""
    verb = "would destroy" if result.dry_run else "destroyed"
    for e in result.expired:
        failed = result.teardown.failed.get(e.stack)
        if failed:
            out.print(f"[red]failed[/] {escape(e.stack)}: {escape(failed)}")
        else:
            out.print(f"{verb} {escape(e.stack)} (expired {escape(e.expires_at or '')})")
    if result.sweep is not None:
        kept = [c for c in result.sweep.candidates if not c.orphan]
        for c in result.sweep.orphans:
            state = (
                "would delete"
                if result.dry_run
                else ("[red]failed[/]" if c.arn in result.sweep.failed else "deleted")
            )
            out.print(f"{state} {escape(c.arn)} — {escape(c.reason)}")
        out.print(f"Sweep: {len(result.sweep.orphans)} orphan(s), {len(kept)} live preview resource(s) kept.")
    for note in result.notes:
        out.print(f"[dim]note: {escape(note)}[/]")
