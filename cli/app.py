"""The `mesh` command: every command joined here, and the one error handler.

A command's module is imported when that command runs (`cli.commands` lists them), and
commands import pulumi and cloud SDKs lazily, inside the command body, so `mesh --help`,
`mesh validate` and `mesh init` start fast.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from typing import Annotated, Any, Literal

import typer
from rich.markup import escape
from typer.core import TyperGroup

from cli import help_format
from cli.commands import BY_NAME, COMMANDS, Entry
from cli.console import err
from infra.model.errors import MeshError

_state = {"debug": False}
help_format.install()


_MARKUP: Literal["markdown"] = "markdown"


def _load(entry: Entry) -> Any:
    """Build one command (or command group) from its module, as `app.command`/`add_typer` would."""
    target = getattr(importlib.import_module(entry.module), entry.attribute)
    holder = typer.Typer(add_completion=False, rich_markup_mode=_MARKUP)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=entry.name)
        return typer.main.get_command(holder).commands[entry.name]  # type: ignore[attr-defined]
    holder.command(entry.name)(target)
    return typer.main.get_command(holder)


class _MeshGroup(TyperGroup):
    """Loads each command when it is used, and routes every `MeshError` to one message and exit code."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [entry.name for entry in COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in BY_NAME:
            self.commands[cmd_name] = _load(BY_NAME[cmd_name])
        return self.commands.get(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from cli import root_help

        root_help.render(ctx, self)

    def invoke(self, ctx: Any) -> Any:  # click's Context, which typer vendors privately
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except BrokenPipeError:
            # The reader of the output went away (`mesh … | head`): stop quietly, as Unix
            # tools do, and keep Python from complaining about stdout again at exit.
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(141) from None
        except MeshError as e:
            if _state["debug"]:
                raise
            err.print(f"[bold red]Error:[/] {escape(e.message)}", markup=True)
            if e.hint:
                err.print(f"[dim]Hint:[/] {escape(e.hint)}", markup=True)
            raise typer.Exit(e.exit_code) from None
        except Exception as e:
            if _state["debug"]:
                raise
            err.print(f"[bold red]Error:[/] unexpected {type(e).__name__}: {escape(str(e))}", markup=True)
            err.print("[dim]Hint:[/] run again with --debug for the traceback, and report it.", markup=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    name="mesh",
    cls=_MeshGroup,
    help=(
        "Self-serve data products. Write one request (mesh init), check it (mesh validate), "
        "see what it creates (mesh plan), then provision it."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=_MARKUP,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"mesh {version('mesh-platform')}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks instead of short error messages.")
    ] = False,
    _version_flag: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    _state["debug"] = debug


def main() -> None:
    """Console-script entry point.

    mesh's models use no pydantic plugin, so the command does not scan every installed
    package's entry points for one (about 10 ms of each start); set
    `PYDANTIC_DISABLE_PLUGINS` yourself to choose otherwise."""
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    sys.exit(app())
