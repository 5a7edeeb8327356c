"""`mesh contract`: a request's data contract in the Open Data Contract Standard (ODCS)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli.console import err
from cli.options import DefaultEnvOption, PlatformOption, RequestArgument


class ContractOutput(StrEnum):
    """How `mesh contract` writes the contract."""

    YAML = "yaml"
    JSON = "json"


def contract(
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
) -> None:
    """Export a request's data contract as ODCS v3.1 (Open Data Contract Standard).

    One schema object per output port (columns, types, partitioning, PII), the server
    that holds it in the environment (Athena over the Glue catalog, or BigQuery), the
    owner and domain owners, one role per consumer domain with the ports it reads, and
    freshness and retention as service levels. Catalogs and contract testers that read
    ODCS can then use the product without knowing mesh. Offline; the request is validated first.

    Example: mesh contract examples/products/sales-orders.yaml --env prod --file orders.odcs.yaml
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
    to.write_text(text, encoding="utf-8")
    err.print(f"Wrote the ODCS contract of {spec.domain}/{spec.product} ({spec.environment}) to {to}")
