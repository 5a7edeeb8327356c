"""`mesh doctor`: is this machine ready to provision? One line per check, with the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.console import Output, err, out, print_json
from cli.options import OutputOption

MARKS = {"pass": "[green]✓ pass[/]", "fail": "[red]✗ fail[/]", "skip": "[dim]– skip[/]"}


def doctor(
    platform: Annotated[
        Path | None,
        typer.Option("--platform", "-p", help="Platform config. Default: the nearest mesh.yaml above here."),
    ] = None,
    output: OutputOption = Output.TABLE,
    print_policy: Annotated[
        bool,
        typer.Option(
            "--print-policy",
            help="Print the IAM policy the provisioning identity needs (for the environment's account), and the GCP roles.",
        ),
    ] = False,
    env: Annotated[
        str | None,
        typer.Option("--env", "-e", help="With --print-policy: the environment. Default: the first AWS one."),
    ] = None,
) -> None:
    """Check that this machine can provision: one line per check, with the fix for each failure.

    Checks Python, the Pulumi CLI and its provider plugins, cloud credentials, each
    environment's state backend, and LocalStack where an environment points at it.
    Calls no cloud API; network use is bounded (a TCP probe of the Pulumi download host,
    LocalStack's health route on this machine). Exit code 0 when nothing fails, 1 otherwise.

    With --print-policy it prints, instead, the IAM policy document the identity that runs
    `mesh provision` needs in one environment, derived from the resource types mesh creates
    (pipe it to `aws iam create-policy --policy-document file:///dev/stdin`).

    Example: mesh doctor

    Example: mesh doctor --print-policy --env prod > mesh-provisioner.json
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
    if print_policy:
        _print_policy(loaded, env, output)
        return
    if loaded is None:
        err.print(
            "No mesh.yaml here or above: checking this machine only (run it in the repository that "
            "holds mesh.yaml, or pass --platform).",
            markup=False,
        )
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


def _print_policy(loaded: object, env: str | None, output: Output) -> None:
    from infra.model.errors import UsageError
    from infra.provisioning_policy import Scope, aws_policy, aws_policy_json, gcp_roles, scope_of
    from infra.validation import LoadedPlatform

    scope = Scope()
    if isinstance(loaded, LoadedPlatform):
        environments = loaded.config.environments
        name = env or next((n for n, e in environments.items() if e.aws is not None), None)
        if name is not None and name not in environments:
            raise UsageError(
                f"--env {name}: no such environment in {loaded.path}",
                hint=f"Environments: {', '.join(environments)}.",
            )
        if name is not None:
            scope = scope_of(loaded.config.organization, name, environments[name])
    roles = gcp_roles()
    if output is Output.JSON:
        print_json(
            {"aws": aws_policy(scope), "gcp": [{"role": role, "types": types} for role, types in roles]}
        )
        raise typer.Exit(0)
    print(aws_policy_json(scope))
    if scope.organization == "ORG":
        err.print("No mesh.yaml: replace ORG, ENV, ACCOUNT and REGION in the policy.", markup=False)
    if scope.state_bucket is None:
        err.print(
            "The environment keeps no state in S3: replace STATE-BUCKET, or drop that statement.",
            markup=False,
        )
    err.print("On GCP, grant the provisioning service account these roles on the project:", markup=False)
    for role, types in roles:
        err.print(f"  {role}  ({', '.join(t.split(':')[-1] for t in types)})", markup=False)
    raise typer.Exit(0)
