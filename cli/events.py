"""`mesh events`: replay a saved engine event log exactly as live provisioning showed it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.console import Output, out, print_json
from cli.options import OutputOption


def events(
    file: Annotated[
        Path,
        typer.Argument(
            help="An engine event log: one of mesh's (.mesh/events/STACK/RUN-OPERATION.jsonl) "
            "or one written by `pulumi up --event-log`.",
            show_default=False,
        ),
    ],
    output: OutputOption = Output.TABLE,
) -> None:
    """Re-render an engine event log: each resource's operation and outcome, data at risk, failures and their fixes, the counts.

    The same view as `mesh provision` prints while it runs (without a terminal).
    Exit code 0 for an operation that succeeded, 1 for one that failed or was
    interrupted, and 1 with the line number for a log that cannot be read.

    Example: mesh events .mesh/events/sales.orders.dev/20261202T163042Z-update.jsonl
    """
    from cli.provision import LiveProgress
    from infra.engine.eventlog import replay

    machine = output is Output.JSON
    view = LiveProgress(enabled=not machine, console=out, animated=False)
    result = replay(file, view)
    if machine:
        print_json(result.as_dict())
    raise typer.Exit(0 if result.record.ok else 1)
