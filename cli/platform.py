"""`mesh platform up|destroy`: each environment's shared resources (the platform stack).

Product buckets log to the environment's access-log bucket, and the Glue Data
Catalog is encrypted under the platform key; run `mesh platform up --env ENV` once
per new environment, before the first `mesh provision`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.console import Output, err, print_json
from cli.options import EnvOption, OutputOption, PlatformOption, YesOption
from cli.provision import apply_runs, require_confirmation_possible

if TYPE_CHECKING:
    from infra.engine import StackTarget
    from infra.plan import PlatformPlan
    from infra.validation import LoadedPlatform

app = typer.Typer(
    help="The shared resources of an environment: access-log bucket and catalog encryption.",
    no_args_is_help=True,
)


def _loaded(env: str, platform: Path | None) -> LoadedPlatform:
    from infra.validation import load_platform, locate_platform, require_environment

    loaded = load_platform(locate_platform(platform, near=Path.cwd()))
    require_environment(loaded.config, env, source=loaded.path)
    return loaded


def _target(env: str, platform: Path | None) -> StackTarget:
    from infra.engine import platform_target

    return platform_target(_loaded(env, platform), env)


def _plan(env: str, platform: Path | None) -> PlatformPlan:
    from infra.plan import plan_platform

    return plan_platform(_loaded(env, platform), env)


@app.command("plan")
def plan(
    env: EnvOption,
    platform: PlatformOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Show the environment's platform stack and its guardrail results — offline.

    The same rules as for products; the access-log bucket's two exemptions (SSE-S3,
    because S3 cannot deliver access logs to an SSE-KMS bucket, and no logging of its
    own) are shown with their reasons. Exit code 1 when a mandatory guardrail fails.

    Example: mesh platform plan --env dev
    """
    from cli.plan import render_graph

    with err.status(f"Planning the platform stack of {env} offline…"):
        result = _plan(env, platform)
    if output is Output.JSON:
        print_json(result.as_dict())
    else:
        render_graph(result.graph, result.guardrails, environment=env)
    raise typer.Exit(1 if result.blocked else 0)


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
    from infra.engine import GuardrailsBlocked, StackRun, platform_target
    from infra.plan import plan_platform

    require_confirmation_possible(yes, "mesh platform up")
    loaded = _loaded(env, platform)
    planned = plan_platform(loaded, env)
    if planned.blocked:
        rules = ", ".join(sorted({r.id for r in planned.guardrails.blocking}))
        raise GuardrailsBlocked(
            f"the platform stack of {env} fails mandatory guardrails: {rules}.",
            hint=f"See why with `mesh platform plan --env {env}`; mandatory guardrails cannot be disabled.",
        )
    run = StackRun(source="platform", target=platform_target(loaded, env))
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
