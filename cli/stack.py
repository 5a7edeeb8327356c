"""Commands on one request's existing stack: `mesh destroy`, `mesh outputs`, `mesh cancel`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from cli.console import Output, err, out, print_json
from cli.options import EnvOption, OutputOption, PlatformOption, RequestArgument, YesOption
from cli.provision import (
    EventLogOption,
    LiveProgress,
    confirm,
    render_event_logs,
    render_outputs,
    require_confirmation_possible,
)

if TYPE_CHECKING:
    from infra.engine import StackTarget, UpdateReport


def _target(file: Path, env: str, platform: Path | None, *, delete_data: bool = False) -> StackTarget:
    from infra.engine import product_target
    from infra.validation import load_spec

    spec, _, loaded = load_spec(file, platform_path=platform, environment=env)
    return product_target(spec, loaded, source=str(file), delete_data=delete_data)


def render_destroyed(report: UpdateReport, *, machine: bool, environment: str) -> None:
    """The result of a destroy, for people or machines."""
    if machine:
        print_json(
            {
                "stack": report.stack,
                "environment": environment,
                "destroyed": True,
                "changes": report.changes,
                "seconds": round(report.seconds, 1),
            }
        )
        return
    deleted = report.changes.get("delete", 0)
    out.print(
        f"[green]✓[/] Destroyed stack [bold]{escape(report.stack)}[/] in {escape(environment)}: "
        f"{deleted} resource(s) deleted in {report.seconds:.1f}s."
    )
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}")


def destroy_target(
    target: StackTarget,
    *,
    yes: bool,
    allow_protected: bool,
    output: Output,
    delete_data: bool = False,
    event_log: Path | None = None,
) -> None:
    """Confirm, destroy and report; shared by `mesh destroy` and `mesh platform destroy`.

    With `delete_data` the stack is first updated so its buckets may be deleted with
    their objects (and every object version), then destroyed."""
    from infra.engine import Engine, StackMissing, check_protected
    from infra.engine.eventlog import EventLogs

    check_protected(target, allow_protected=allow_protected)
    require_confirmation_possible(yes, f"Destroying {target.stack}")
    machine = output is Output.JSON
    question = f"Destroy every resource of stack {target.stack} in {target.environment}? " + (
        "Its buckets are deleted WITH ALL THEIR DATA."
        if delete_data
        else "Buckets that still hold data are not deleted (the destroy stops there; --delete-data deletes them)."
    )
    if not confirm(question, yes=yes):
        err.print("Nothing was destroyed.")
        raise typer.Exit(1)
    progress = LiveProgress(enabled=not machine)
    progress.expect(target.stack, None)
    engine = Engine(on_progress=progress, event_logs=EventLogs(root=event_log))
    engine.ready()
    try:
        with progress:
            report = engine.destroy(target, delete_data=delete_data)
    except StackMissing as e:
        if machine:
            print_json(
                {
                    "stack": target.stack,
                    "environment": target.environment,
                    "destroyed": False,
                    "reason": e.message,
                }
            )
        else:
            out.print(f"Nothing to destroy: {escape(e.message)}")
        raise typer.Exit(0) from None
    render_destroyed(report, machine=machine, environment=target.environment)
    if not machine:
        render_event_logs(engine.event_log_paths, engine.event_log_problems)


def destroy(
    file: RequestArgument,
    env: EnvOption,
    platform: PlatformOption = None,
    yes: YesOption = False,
    allow_protected: Annotated[
        bool, typer.Option("--allow-protected", help="Allow destroying in an environment marked protected.")
    ] = False,
    delete_data: Annotated[
        bool,
        typer.Option("--delete-data", help="Also delete the data: buckets go with every object and version."),
    ] = False,
    output: OutputOption = Output.TABLE,
    event_log: EventLogOption = None,
) -> None:
    """Delete every cloud resource of a request's stack in one environment.

    Asks for confirmation (or pass --yes). Refused in environments marked
    `protected: true` unless --allow-protected is given. A stack that does not exist
    is nothing to destroy (exit 0). Buckets keep their data and stop the destroy unless
    --delete-data is given.

    Example: mesh destroy examples/products/sales-orders.yaml --env dev
    """
    destroy_target(
        _target(file, env, platform, delete_data=delete_data),
        yes=yes,
        allow_protected=allow_protected,
        output=output,
        delete_data=delete_data,
        event_log=event_log,
    )


def outputs(
    file: RequestArgument,
    env: EnvOption,
    platform: PlatformOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Show the outputs of a provisioned request: bucket, roles, catalog database, workgroups.

    Example: mesh outputs examples/products/sales-orders.yaml --env dev --output json
    """
    from infra.engine import Engine

    target = _target(file, env, platform)
    engine = Engine()
    engine.ready()
    values = engine.outputs(target)
    if output is Output.JSON:
        print_json({"stack": target.stack, "environment": target.environment, "outputs": values})
        return
    if not values:
        out.print(f"Stack {escape(target.stack)} has no outputs yet (was it provisioned?).")
        return
    render_outputs({target.stack: values})


def cancel(
    file: RequestArgument,
    env: EnvOption,
    platform: PlatformOption = None,
    yes: YesOption = False,
) -> None:
    """Cancel the update running on a request's stack, or release the lock a dead one left.

    Only for an update that is stuck or whose process is gone: cancelling a live update
    can leave resources half-made (a later `mesh provision` repairs what it can).

    Example: mesh cancel examples/products/sales-orders.yaml --env dev
    """
    from infra.engine import Engine

    target = _target(file, env, platform)
    require_confirmation_possible(yes, f"Cancelling the update on {target.stack}")
    if not confirm(f"Cancel the update running on {target.stack} in {env}?", yes=yes):
        err.print("Nothing was cancelled.")
        raise typer.Exit(1)
    engine = Engine()
    engine.ready()
    engine.cancel(target)
    out.print(f"[green]✓[/] Cancelled the update on [bold]{escape(target.stack)}[/]; its lock is released.")
