"""`mesh product export`: a request as an Open Data Product Standard (ODPS) descriptor."""

from __future__ import annotations

import json

import typer

from cli.export_target import ExportFileOption, ExportFormat, ExportFormatOption, ForceExportOption, deliver
from cli.options import DefaultEnvOption, PlatformOption, RequestArgument

app = typer.Typer(
    help="Data products in the Open Data Product Standard (ODPS v1.1.0).",
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
    """Export a request as an ODPS v1.1.0 data product descriptor.

    Input ports (the products it reads, each pointing at that product's ODCS contract),
    output ports pointing at this product's ODCS contract (`mesh contract export`), the
    owner and domain owners as the team, the owner's mailbox as support, and the
    freshness objective. Offline; the request is validated first.

    Example: mesh product export examples/products/sales-orders.yaml --env prod --file orders.odps.yaml
    """
    import yaml

    from infra.odps import data_product
    from infra.validation import load_spec

    spec, _, loaded = load_spec(file, platform_path=platform, environment=env)
    document = data_product(spec, loaded.config)
    if output is ExportFormat.JSON:
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    what = f"the ODPS descriptor of {spec.domain}/{spec.product} ({spec.environment})"
    deliver(text, to, request=file, platform_file=loaded.path, force=force, what=what)
