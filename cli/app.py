"""The `mesh` command: command groups joined here, and the one error handler.

Commands import pulumi and cloud SDKs lazily, inside the command body, so `mesh --help`,
`mesh validate` and `mesh init` start fast.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from cli import catalog as catalog_cmd
from cli import contract as contract_cmd
from cli import doctor as doctor_cmd
from cli import env as env_cmd
from cli import events as events_cmd
from cli import health as health_cmd
from cli import help_format
from cli import init as init_cmd
from cli import plan as plan_cmd
from cli import platform as platform_cmd
from cli import product as product_cmd
from cli import prove as prove_cmd
from cli import provision as provision_cmd
from cli import review as review_cmd
from cli import schema as schema_cmd
from cli import stack as stack_cmd
from cli import status as status_cmd
from cli import validate as validate_cmd
from cli import verify as verify_cmd
from cli.console import err
from infra.model.errors import MeshError

_state = {"debug": False}
help_format.install()


class _MeshGroup(TyperGroup):
    """Routes every `MeshError` from any command to one message and exit code."""

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
    rich_markup_mode="markdown",
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


app.command("validate")(validate_cmd.validate)
app.command("init")(init_cmd.init)
app.command("schema")(schema_cmd.schema)
app.command("plan")(plan_cmd.plan)
app.command("provision")(provision_cmd.provision)
app.command("outputs")(stack_cmd.outputs)
app.command("destroy")(stack_cmd.destroy)
app.command("cancel")(stack_cmd.cancel)
app.command("status")(status_cmd.status)
app.command("doctor")(doctor_cmd.doctor)
app.command("events")(events_cmd.events)
app.add_typer(platform_cmd.app, name="platform")
app.add_typer(env_cmd.app, name="env")
app.add_typer(catalog_cmd.app, name="catalog")
app.command("prove")(prove_cmd.prove)
app.command("review")(review_cmd.review)
app.add_typer(contract_cmd.app, name="contract")
app.add_typer(product_cmd.app, name="product")
app.command("verify")(verify_cmd.verify)
app.command("emulate")(verify_cmd.emulate)
app.command("health")(health_cmd.health)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
