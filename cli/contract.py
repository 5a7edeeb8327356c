"""`mesh contract export / import`: requests and the Open Data Contract Standard (ODCS)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.console import err, out
from cli.options import DefaultEnvOption, PlatformOption, RequestArgument
from infra.request import Cloud

app = typer.Typer(
    help="Data contracts in the Open Data Contract Standard (ODCS v3): export a request, import a contract.",
    no_args_is_help=True,
)


class ContractOutput(StrEnum):
    """How `mesh contract export` writes the contract."""

    YAML = "yaml"
    JSON = "json"


@app.command("export")
def export(
    file: RequestArgument,
    env: DefaultEnvOption = None,
    platform: PlatformOption = None,
    output: Annotated[
        ContractOutput, typer.Option("--output", "-o", help="yaml (as ODCS files usually are) or json.")
    ] = ContractOutput.YAML,
    to: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="Write the contract to this file instead of standard output."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Overwrite an existing --file (never a request or the platform config)."
        ),
    ] = False,
) -> None:
    """Export a request's data contract as ODCS v3.1.

    One schema object per output port (columns, types, partitioning, PII), the server
    that holds it in the environment (Athena over the Glue catalog, or BigQuery), the
    owner and domain owners, one role per consumer domain with the ports it reads, and
    freshness and retention as service levels. Catalogs and contract testers that read
    ODCS can then use the product without knowing mesh. Offline; the request is validated first.

    Example: mesh contract export examples/products/sales-orders.yaml --env prod --file orders.odcs.yaml
    """
    from infra.contract import data_contract
    from infra.validation import load_spec

    spec, _, loaded = load_spec(file, platform_path=platform, environment=env)
    document = data_contract(spec, loaded.config)
    if output is ContractOutput.JSON:
        text = json.dumps(document.model_dump(exclude_none=True, by_alias=True), indent=2) + "\n"
    else:
        text = document.to_yaml()
    if to is None:
        typer.echo(text, nl=False)
        return
    from infra.files import write_atomic

    _check_export_target(to, request=file, platform_file=loaded.path, force=force)
    write_atomic(to, text, overwrite=force)
    err.print(
        f"Wrote the ODCS contract of {spec.domain}/{spec.product} ({spec.environment}) to {to}",
        markup=False,
    )


def _check_export_target(to: Path, *, request: Path, platform_file: Path, force: bool) -> None:
    """Refuse to overwrite without --force, and never overwrite a request or mesh.yaml."""
    from infra.errors import UsageError
    from infra.platform import PLATFORM_FILE

    if not to.exists():
        return
    if to.is_dir():
        raise UsageError(f"--file {to} is a directory", hint="Pass the path of a file.")
    same = {request.resolve(), platform_file.resolve()}
    if to.resolve() in same or to.name == PLATFORM_FILE or _is_mesh_document(to):
        raise UsageError(
            f"--file {to} is a data product request or a platform config; mesh never overwrites one "
            "with a contract, even with --force",
            hint="Write the contract to a file of its own, e.g. orders.odcs.yaml.",
        )
    if not force:
        raise UsageError(f"--file {to} already exists", hint="Pass --force to overwrite it.")


def _is_mesh_document(path: Path) -> bool:
    """Whether `path` reads as a mesh request or platform config (`kind: DataProduct | Platform`)."""
    from infra.document import read_document
    from infra.errors import MeshError

    try:
        kind = read_document(path).data.get("kind")
    except MeshError:
        return False
    return kind in ("DataProduct", "Platform")


@app.command("import")
def import_(
    contract: Annotated[Path, typer.Argument(help="The ODCS contract (YAML or JSON).", show_default=False)],
    cloud: Annotated[
        Cloud | None,
        typer.Option(help="Where the product lives. Default: from the contract's servers, else aws."),
    ] = None,
    to: Annotated[
        Path | None, typer.Option("--file", "-f", help="Where to write. Default: <domain>-<name>.yaml.")
    ] = None,
    platform: PlatformOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the drafted request instead of writing it.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the file if it exists.")] = False,
) -> None:
    """Draft a data product request from an ODCS contract.

    Ports, columns (physical types where they are valid for the cloud, else from the
    logical type), partitioning, PII tags, owner, version, retention, freshness and mesh
    consumer roles are carried over; every assumption is listed. The draft is validated
    against the platform config before anything is written, so an imported request
    validates as written (or nothing is written and the problems are shown).

    Example: mesh contract import orders.odcs.yaml --file products/sales-orders.yaml
    """
    from infra.contract import read_contract, request_from_contract
    from infra.errors import DocumentInvalid, MeshError
    from infra.platform import find_platform_file
    from infra.scaffold import dump_request, write_request
    from infra.validation import load_platform

    parsed = read_contract(contract)
    try:
        document, notes = request_from_contract(parsed, cloud=str(cloud) if cloud else None)
    except (ValueError, TypeError, OverflowError, RecursionError) as e:
        # The contract validated against ODCS, yet holds a value mesh cannot map.
        raise MeshError(
            f"{contract}: cannot draft a request from this contract ({e})",
            hint=f"Check the values of {contract} against `mesh contract export` of a similar product.",
        ) from e
    metadata = document["metadata"]
    assert isinstance(metadata, dict)
    target = to or Path(f"{metadata['domain']}-{metadata['name']}.yaml")
    text = f"# Drafted by `mesh contract import` from {contract.name}; review it before provisioning.\n"
    text += dump_request(document)
    for note in notes:
        err.print(f"[yellow]note:[/] {escape(note)}", markup=True)
    if dry_run:
        typer.echo(text, nl=False)
        return
    platform_path = platform or find_platform_file(target.parent if to else Path.cwd())
    loaded = load_platform(platform_path) if platform_path else None
    try:
        write_request(target, text, loaded, force=force)
    except DocumentInvalid as e:
        raise DocumentInvalid(
            e.problems,
            hint=f"Nothing was written. See the draft with `mesh contract import {contract} --dry-run`, "
            "then fix the contract (or pass --cloud).",
        ) from e
    out.print(f"[green]✓[/] wrote {escape(str(target))} from {escape(str(contract))}", markup=True)
    out.print(f"Next: mesh validate {target} && mesh plan {target}", markup=False)
