"""`mesh platform up|destroy`: each environment's shared resources (the platform stack).

Product buckets log to the environment's access-log bucket, and the Glue Data
Catalog is encrypted under the platform key; run `mesh platform up --env ENV` once
per new environment, before the first `mesh provision`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.console import Output
from cli.provision import apply_runs, require_confirmation_possible

if TYPE_CHECKING:
    from infra.engine import StackTarget

app = typer.Typer(
    help="The shared resources of an environment: access-log bucket and catalog encryption.",
    no_args_is_help=True,
)

EnvOption = Annotated[
    str, typer.Option("--env", "-e", help="Environment from mesh.yaml.", show_default=False)
]
PlatformOption = Annotated[
    Path | None,
    typer.Option("--platform", "-p", help="Platform config. Default: the nearest mesh.yaml above here."),
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking for confirmation.")]
OutputOption = Annotated[Output, typer.Option("--output", "-o", help="table for people, json for machines.")]


def _target(env: str, platform: Path | None) -> StackTarget:
    from infra.engine import platform_target
    from infra.errors import UnknownEnvironment
    from infra.validation import load_platform, locate_platform

    loaded = load_platform(locate_platform(platform, near=Path.cwd()))
    if env not in loaded.config.environments:
        raise UnknownEnvironment(
            f"environment '{env}' is not defined in {loaded.path}",
            hint=f"Use one of: {', '.join(loaded.config.environments)}.",
        )
    return platform_target(loaded, env)


@app.command("up")
def up(
    env: EnvOption,
    platform: PlatformOption = None,
    yes: YesOption = False,
    allow_replace: Annotated[
        bool,
        typer.Option(
            "--allow-replace", help="Allow replacing or deleting the log bucket or the catalog key."
        ),
    ] = False,
    output: OutputOption = Output.TABLE,
) -> None:
    """Create or update the environment's platform stack (`platform.<env>`).

    The resources every AWS product of the environment relies on: the access-log bucket
    its buckets log to, and the Glue Data Catalog's encryption settings with their key.
    Run it once per environment before the first `mesh provision` there (which refuses
    until it exists), and again after upgrading mesh. Previews, asks, then applies.

    Example: mesh platform up --env dev
    """
    from infra.engine import StackRun

    require_confirmation_possible(yes, "mesh platform up")
    run = StackRun(source="platform", target=_target(env, platform))
    apply_runs([run], environment=env, parallel=1, yes=yes, allow_replace=allow_replace, output=output)


@app.command("destroy")
def destroy(
    env: EnvOption,
    platform: PlatformOption = None,
    yes: YesOption = False,
    allow_protected: Annotated[
        bool, typer.Option("--allow-protected", help="Allow destroying in an environment marked protected.")
    ] = False,
    output: OutputOption = Output.TABLE,
) -> None:
    """Delete the environment's shared resources (destroy its product stacks first).

    Example: mesh platform destroy --env preview
    """
    from cli.stack import destroy_target

    destroy_target(_target(env, platform), yes=yes, allow_protected=allow_protected, output=output)
