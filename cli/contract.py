"""`mesh contract export / import`: requests and the Open Data Contract Standard (ODCS)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from cli.console import err, out
from cli.export_target import ExportFileOption, ExportFormat, ExportFormatOption, ForceExportOption, deliver
from cli.options import CloudChoice, DefaultEnvOption, PlatformOption, RequestArgument

app = typer.Typer(
    help="Data contracts in the Open Data Contract Standard (ODCS v3): export a request, import a contract.",
    no_args_is_help=True,
)


@app.command("export")
def export(
    file: RequestArgument,
    env: DefaultEnvOption = None,
    platform: PlatformOption = None,
    output: ExportFormatOption = ExportFormat.YAML,
    to: ExportFileOption = None,
    force: ForceExportOption = False,
) -> None:
    """Export a request's data contract as ODCS v3.1.0 (valid against that version's official schema).

    One schema object per output port (columns, types, partitioning, PII), the server
    that holds it in the environment (Athena over the Glue catalog, or BigQuery), the
    owner and domain owners, one role per consumer domain with the ports it reads, and
    freshness and retention as service levels. Catalogs and contract testers that read
    ODCS can then use the product without knowing mesh. Offline; the request is validated first.

    Example: mesh contract export examples/products/sales-orders.yaml --env prod --file orders.odcs.yaml
    """
    from infra.contract import data_contract
    from infra.validation import load_spec

    spec, request, loaded = load_spec(file, platform_path=platform, environment=env)
    document = data_contract(spec, loaded.config, request=request.request)
    if output is ExportFormat.JSON:
        text = json.dumps(document.model_dump(exclude_none=True, by_alias=True), indent=2) + "\n"
    else:
        text = document.to_yaml()
    what = f"the ODCS contract of {spec.domain}/{spec.product} ({spec.environment})"
    deliver(text, to, request=file, platform_file=loaded.path, force=force, what=what)


@app.command("import")
def import_(
    contract: Annotated[Path, typer.Argument(help="The ODCS contract (YAML or JSON).", show_default=False)],
    cloud: Annotated[
        CloudChoice | None,
        typer.Option(help="Where the product lives. Default: from the contract's servers, else aws."),
    ] = None,
    domain: Annotated[
        str | None,
        typer.Option(help="The product's domain. Default: the contract's domain, dataProduct or team name."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help="The product's name. Default: from the contract's name, dataProduct or id."),
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option(
            help="The owner's email. Default: a team member with an email, else the domain's owner."
        ),
    ] = None,
    to: Annotated[
        Path | None,
        typer.Option(
            "--file", "-f", help="Where to write. Default: DOMAIN-NAME.yaml in the current directory."
        ),
    ] = None,
    platform: PlatformOption = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the drafted request and its problems instead of writing it; exits as the real run would.",
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the file if it exists.")] = False,
) -> None:
    """Draft a data product request from an ODCS contract (v3.0.0 to v3.2.0).

    The contract is first checked against the official JSON Schema of the version it
    declares; violations mesh can read past are listed as notes, located in the contract.
    Ports, columns (types mapped to the cloud without loss where it has an equivalent),
    partitioning, PII tags, the strictest column classification, owner, version,
    retention, freshness and mesh consumer roles are carried over; every assumption is
    listed. Quality rules, other service levels and servers are not provisioned: they are
    listed and kept in the draft as comments. The draft is validated before anything is
    written, and its problems point at the contract fields they came from.

    Example: mesh contract import orders.odcs.yaml --domain sales --file products/sales-orders.yaml
    """
    from infra.contract import check_draft, draft_request, read_contract, render_draft
    from infra.model.errors import DocumentInvalid, MeshError, Severity
    from infra.model.platform import find_platform_file
    from infra.scaffold import write_request
    from infra.validation import load_platform

    read = read_contract(contract)
    platform_path = platform or find_platform_file(to.parent if to else Path.cwd())
    loaded = load_platform(platform_path) if platform_path else None
    try:
        draft = draft_request(
            read,
            cloud=str(cloud) if cloud else None,
            domain=domain,
            name=name,
            owner=owner,
            platform=loaded.config if loaded else None,
        )
    except (ValueError, TypeError, OverflowError, RecursionError) as e:
        # The contract was read, yet holds a value mesh cannot map.
        raise MeshError(
            f"{contract}: cannot draft a request from this contract ({e})",
            hint=f"Check the values of {contract} against `mesh contract export` of a similar product.",
        ) from e
    metadata = draft.document["metadata"]
    target = to or Path(f"{metadata['domain'] or 'domain'}-{metadata['name'] or 'product'}.yaml")
    text = render_draft(draft, source=contract.name)
    for note in [*read.problems, *draft.notes]:
        err.print(f"[yellow]note:[/] {escape(str(note))}", markup=True)
    problems = check_draft(draft, read, text=text, target=target, platform=loaded)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    for warning in (p for p in problems if p.severity is Severity.WARNING):
        err.print(f"[yellow]warning:[/] {escape(str(warning))}", markup=True)
    fix = "Fix the contract, or pass --domain, --name, --owner or --cloud."
    if dry_run:
        typer.echo(text, nl=False)
        if errors:
            raise DocumentInvalid(errors, hint=f"The draft above would not be written. {fix}")
        return
    if errors:
        raise DocumentInvalid(
            errors,
            hint=f"Nothing was written. See the draft with `mesh contract import {contract} --dry-run`. {fix}",
        )
    write_request(target, text, loaded, force=force)
    out.print(f"[green]✓[/] wrote {escape(str(target))} from {escape(str(contract))}", markup=True)
    out.print(f"Next: mesh validate {target} && mesh plan {target}", markup=False)
