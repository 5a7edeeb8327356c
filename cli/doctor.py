"""`mesh doctor`: is this machine ready to provision? One line per check, with the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.console import Output, out, print_json
from cli.options import OutputOption

MARKS = {"pass": "[green]✓ pass[/]", "fail": "[red]✗ fail[/]", "skip": "[dim]– skip[/]"}


def doctor(
    platform: Annotated[
        Path | None,
        typer.Option("--platform", "-p", help="Platform config. Default: the nearest mesh.yaml above here."),
    ] = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Check that this machine can provision: one line per check, with the fix for each failure.

    Checks Python, the Pulumi CLI and its provider plugins, cloud credentials, each
    environment's state backend, and LocalStack where an environment points at it.
    Calls no cloud API; network use is bounded (a TCP probe of the Pulumi download host,
    LocalStack's health route on this machine). Exit code 0 when nothing fails, 1 otherwise.

    Example: mesh doctor
    """
    from infra.engine import CheckStatus, readiness_checks
    from infra.model.errors import PlatformConfigNotFound
    from infra.validation import load_platform, locate_platform

    try:
        loaded = load_platform(locate_platform(platform, near=Path.cwd()))
    except PlatformConfigNotFound:
        if platform is not None:
            raise
        loaded = None
    checks = readiness_checks(loaded)
    failed = [c for c in checks if c.status is CheckStatus.FAIL]
    if output is Output.JSON:
        print_json({"ok": not failed, "checks": [c.as_dict() for c in checks]})
    else:
        width = max(len(c.name) for c in checks)
        for check in checks:
            out.print(
                f"{MARKS[str(check.status)]}  {escape(check.name.ljust(width))}  {escape(check.detail)}"
            )
            if check.fix:
                out.print(f"        {' ' * width}  [dim]fix:[/] {escape(check.fix)}")
        summary = f"{len(failed)} check(s) failed" if failed else "Ready to provision."
        out.print(f"[{'red' if failed else 'green'}]{summary}[/]")
    raise typer.Exit(1 if failed else 0)
