"""`mesh --help`: usage, options and the command list, drawn like every command's own help.

Each command's help is typer's; this page is drawn here because typer's help renderer
lists a group's commands by building every one of them (importing all command modules),
and imports a Markdown parser, a syntax highlighter and a traceback renderer before it
draws a line. That was most of the time `mesh --help` took. The command list comes from
`cli.commands`, so nothing but `rich` is loaded to draw it.
"""

from __future__ import annotations

import os
from typing import Any

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from cli.commands import COMMANDS

_BORDER = "dim"
_OPTION = "bold cyan"
_SWITCH = "bold green"
_USAGE = "yellow"


def _console() -> Console:
    width = os.environ.get("TERMINAL_WIDTH")
    return Console(highlight=False, width=int(width) if width and width.isdigit() else None)


def _panel(title: str, table: Table) -> Panel:
    return Panel(table, title=title, title_align="left", border_style=_BORDER, box=box.ROUNDED)


def _grid() -> Table:
    return Table(show_header=False, box=None, pad_edge=False, padding=(0, 1), expand=False)


def _options(params: list[Any]) -> Table:
    table = _grid()
    for param in params:
        if getattr(param, "hidden", False) or param.param_type_name != "option":
            continue
        names = [*param.opts, *param.secondary_opts]
        long = ",".join(n for n in names if n.startswith("--"))
        short = ",".join(n for n in names if not n.startswith("--"))
        table.add_row(Text(long, style=_OPTION), Text(short, style=_SWITCH), Text(param.help or ""))
    return table


def _commands() -> Table:
    table = _grid()
    table.add_column(no_wrap=True)
    table.add_column()
    for entry in COMMANDS:
        table.add_row(Text(entry.name, style=_OPTION), Text(entry.summary))
    return table


def render(ctx: Any, group: Any) -> None:
    """Print the help of `group` (the root `mesh` command) in context `ctx`."""
    console = _console()
    usage = Text("Usage: ", style=_USAGE)
    usage.append(ctx.command_path, style="bold")
    usage.append(" " + " ".join(group.collect_usage_pieces(ctx)))
    console.print(Padding(usage, (1, 1)))
    if group.help:
        console.print(Padding(Text(group.help), (0, 1, 1, 1)))
    console.print(_panel("Options", _options(group.get_params(ctx))))
    console.print(_panel("Commands", _commands()))
