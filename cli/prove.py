"""`mesh prove`: the access proof on in-process moto."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from cli.console import Output, err, fits, out, print_json, print_wrapped
from cli.options import OutputOption, PlatformOption, RequestArgument

if TYPE_CHECKING:
    from infra.proof import ProofResult

OPERATIONS = ("read", "head", "list", "write", "multipart", "delete", "catalog-read", "decrypt")
HEADERS = ("read", "head", "list", "write", "mpu", "del", "catalog", "decrypt")


def prove(
    file: RequestArgument,
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="Environment from mesh.yaml (names and account).")
    ] = None,
    platform: PlatformOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Prove who can read, list, write and delete each output port — on an emulator, offline.

    Applies the planned product to in-process moto with IAM enforcement on, then tries real
    requests as the producer, each consumer domain, an unrelated domain and an anonymous
    caller. Cells moto cannot enforce (bucket and key policies, boundaries, Glue scoping,
    list conditions) are decided by evaluating the policy documents; each cell says which.
    Exit code 1 when anything observed differs from what the request grants.

    Example: mesh prove examples/products/sales-orders.yaml
    """
    from infra.proof import prove as run_proof
    from infra.synth import synthesize_spec
    from infra.validation import load_spec

    with err.status(f"Proving access for {file} on moto…"):
        spec, _, loaded_platform = load_spec(file, platform_path=platform, environment=env)
        from infra.clouds import supports
        from infra.model.capability import Capability

        if not supports(spec.cloud, Capability.PROOF):
            from infra.model.errors import MeshError

            raise MeshError(
                f"{file}: the access proof runs on AWS emulators; this product is on {spec.cloud}",
                hint="GCP products are proven under Pulumi mocks (mesh plan) — no offline IAM emulator exists for GCP.",
            )
        result = run_proof(
            spec, synthesize_spec(spec), registered_domains=list(loaded_platform.config.domains)
        )
    if output is Output.JSON:
        print_json(result.as_dict())
    else:
        render(result)
    raise typer.Exit(0 if result.passed else 1)


def render(result: ProofResult) -> None:
    """The matrix (✓ allowed / · denied; E executed, V evaluated), then each mismatch."""
    render_matrix(result)
    for note in result.notes:
        out.print(f"[dim]note: {escape(note)}[/]")
    for skipped in result.skipped:
        out.print(f"[dim]skipped: {escape(skipped)}[/]")
    executed = sum(1 for c in result.cells if c.method == "executed")
    summary = f"{len(result.cells)} cells ({executed} executed, {len(result.cells) - executed} evaluated) in {result.seconds:.1f} s"
    if result.passed:
        out.print(f"[green]Proof passed[/]: {summary}; every cell matches the request.")
        return
    out.print(f"[red]Proof failed[/]: {len(result.mismatches)} of {summary} differ from the request:")
    for cell in result.mismatches:
        want = "allowed" if cell.expected else "denied"
        got = "allowed" if cell.observed else "denied"
        at_fault = f"statement {cell.statement}" if cell.statement else "no statement grants it"
        out.print(
            f"  {escape(cell.principal)} {cell.operation} {escape(cell.port)}: expected {want}, observed {got} ({cell.method}; {escape(at_fault)}; {escape(cell.detail)})"
        )


def render_matrix(result: ProofResult) -> None:
    """The access matrix as a table, or one line per principal and port when the table would
    not fit (so no header, principal or port is shortened), then its legend."""
    # A borderless table keeps the matrix readable in an 80-column terminal.
    table = Table(
        title=f"Access proof for {escape(result.product)} ({escape(result.stack)})",
        title_justify="left",
        box=box.SIMPLE,
        pad_edge=False,
        collapse_padding=True,
        show_edge=False,
    )
    table.add_column("principal", no_wrap=True)
    table.add_column("port", no_wrap=True)
    for header in HEADERS:
        table.add_column(header, justify="center", no_wrap=True)
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for cell in result.cells:
        mark = "✓" if cell.observed else "·"
        how = "E" if cell.method == "executed" else "V"
        rows.setdefault((cell.principal, cell.port), {})[cell.operation] = (
            f"{mark} {how}" if cell.ok else f"{mark} {how} ≠"
        )
    for (principal, port), cells in rows.items():
        shown = (cells.get(op, "") for op in OPERATIONS)
        table.add_row(
            escape(principal), escape(port), *(f"[bold red]{m}[/]" if "≠" in m else m for m in shown)
        )
    if fits(table):
        out.print(table)
    else:
        out.print(f"Access proof for {escape(result.product)} ({escape(result.stack)})")
        for (principal, port), cells in rows.items():
            line = "  ".join(
                f"{header} {cells[op]}" for header, op in zip(HEADERS, OPERATIONS, strict=True) if op in cells
            )
            print_wrapped(f"{principal} {port}", indent=2)
            print_wrapped(line, indent=4)
    print_wrapped(
        "✓ allowed  · denied  E executed on moto  V evaluated from the policy documents  ≠ differs from the request"
    )
