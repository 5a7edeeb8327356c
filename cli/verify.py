"""`mesh verify` and `mesh emulate`: live checks, and applying a plan to a local emulator."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from cli.console import Output, err, out, print_json
from cli.options import OutputOption, PlatformOption, RequestArgument

if TYPE_CHECKING:
    from infra.aws.verify import VerifyResult

MARK = {"pass": "[green]✓[/]", "drift": "[red]✗[/]", "skipped": "[dim]–[/]"}


def verify(
    file: RequestArgument,
    env: Annotated[
        str, typer.Option("--env", "-e", help="Environment from mesh.yaml whose resources to check.")
    ],
    endpoint_url: Annotated[
        str | None,
        typer.Option(
            "--endpoint-url", help="A loopback emulator (LocalStack, moto server) instead of real AWS."
        ),
    ] = None,
    platform: PlatformOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Check that what runs is still what was requested; exit 1 on drift.

    Checks bucket encryption, versioning, public access blocks, TLS policy and tags; roles,
    their trust, boundary and policies; Glue tables' columns and partition keys against the
    request; Athena workgroups' settings. Uses the normal AWS credential chain, or
    `--endpoint-url` for LocalStack or a moto server.

    Example: mesh verify examples/products/sales-orders.yaml --env local --endpoint-url http://127.0.0.1:4566
    """
    from infra.aws.verify import verify as run_verify
    from infra.synth import synthesize_spec
    from infra.validation import load_spec

    spec, _, _ = load_spec(file, platform_path=platform, environment=env)
    _require_aws(spec.cloud, file)
    with err.status(f"Checking {spec.stack}…"):
        result = run_verify(spec, synthesize_spec(spec), endpoint_url=endpoint_url)
    if output is Output.JSON:
        print_json(result.as_dict())
    else:
        render(result)
    raise typer.Exit(0 if result.ok else 1)


def render(result: VerifyResult) -> None:
    """One line per check, grouped by resource; a summary that counts drift."""
    for resource, checks in result.by_resource().items():
        drifted = any(c.status == "drift" for c in checks)
        out.print(f"{'[red]' if drifted else '[bold]'}{escape(resource)}[/]")
        for check in checks:
            detail = f" — {escape(check.detail)}" if check.detail else ""
            out.print(f"  {MARK[check.status]} {escape(check.name)}{detail}")
    drift = result.drift
    if drift:
        resources = len({(c.kind, c.resource) for c in drift})
        out.print(
            f"[red]Drift[/]: {len(drift)} check(s) failed on {resources} resource(s) of {escape(result.stack)}."
        )
        err.print("Re-apply with `mesh provision`, or find who changed it (CloudTrail) before you do.")
    else:
        out.print(f"[green]No drift[/]: {len(result.checks)} checks on {escape(result.stack)}.")


def emulate(
    file: RequestArgument,
    endpoint_url: Annotated[
        str, typer.Option("--endpoint-url", help="Loopback emulator endpoint, e.g. http://127.0.0.1:4566.")
    ],
    env: Annotated[
        str | None,
        typer.Option(
            "--env", "-e", help="Environment from mesh.yaml (its account should be the emulator's)."
        ),
    ] = None,
    services: Annotated[
        str, typer.Option(help="Services the emulator offers; other resources are skipped with the reason.")
    ] = "s3,iam,sts,kms",
    platform: PlatformOption = None,
) -> None:
    """Apply a plan to a local emulator (LocalStack, moto server) — for verification only.

    This is not a way to provision: it refuses any endpoint that is not loopback. Use it to
    see the planned resources accepted by real AWS APIs, then `mesh verify` them.

    Example: mesh emulate examples/products/sales-orders.yaml --env local --endpoint-url http://127.0.0.1:4566
    """
    from infra.aws.emulator import Target, apply_graph, is_moto, require_loopback
    from infra.synth import synthesize_spec
    from infra.timetodata import record_emulated_apply
    from infra.validation import load_spec

    require_loopback(endpoint_url)
    spec, _, loaded = load_spec(file, platform_path=platform, environment=env)
    _require_aws(spec.cloud, file)
    target = Target(
        endpoint_url=endpoint_url,
        region=spec.require_aws().region,
        services=frozenset(s.strip() for s in services.split(",")),
        moto=is_moto(endpoint_url),
    )
    graph = synthesize_spec(spec)
    with err.status(f"Applying {len(graph.cloud_resources())} resources to {endpoint_url}…"):
        result = apply_graph(graph, target)
    # `mesh health` reads this as the stack's provisioning time (an emulator has no stack history).
    record_emulated_apply(loaded.path.parent, spec.platform_environment, spec.stack, datetime.now(UTC))
    marks = {"created": "[green]+[/]", "updated": "[yellow]~[/]"}
    for applied in result.applied:
        mark = marks.get(applied.status, "[dim]–[/]")
        reason = f" [dim]({escape(applied.reason)})[/]" if applied.reason else ""
        out.print(f"{mark} {escape(applied.type)} {escape(applied.name)}{reason}")
    for withheld in result.withheld:
        err.print(f"[yellow]not handed over:[/] {escape(withheld)}")
    if result.withheld:
        err.print(
            "moto cannot hold these statements faithfully; the rest is applied so granted callers can work. "
            "`mesh prove` evaluates what they decide, and `mesh verify` reports them as drift."
        )
    out.print(
        f"{len(result.created)} created, {len(result.updated)} updated, {len(result.skipped)} skipped "
        f"on {escape(endpoint_url)}."
    )


def _require_aws(cloud: str, file: Path) -> None:
    from infra.clouds import supports
    from infra.model.capability import Capability

    if not supports(cloud, Capability.VERIFY):
        from infra.model.errors import MeshError

        raise MeshError(f"{file}: live checks and emulators cover AWS products; this one is on {cloud}")
