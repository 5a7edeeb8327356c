"""`mesh catalog search / show`: discover the products provisioned in an environment;
`mesh catalog build`: the static catalog site of a repository of requests."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.console import Output, err, out, print_json
from cli.options import OutputOption, PlatformOption

if TYPE_CHECKING:
    from infra.catalog import Catalog, CatalogEntry, Match
    from infra.site import SiteReport

app = typer.Typer(
    help="Find data products and see their ports, columns, owner and freshness — read live from the catalog, or built into a static site from the requests.",
    no_args_is_help=True,
)

CatalogEnvOption = Annotated[
    str | None,
    typer.Option("--env", "-e", help="Environment from mesh.yaml. Default: the first AWS environment."),
]
EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        help="A loopback emulator (a moto server) instead of real AWS. Default: the environment's glue endpoint, if any.",
    ),
]


def _open(env: str | None, platform: Path | None, endpoint_url: str | None) -> Catalog:
    from infra.catalog import open_catalog
    from infra.validation import default_environment, load_platform, locate_platform, require_environment

    loaded = load_platform(locate_platform(platform, near=Path.cwd()))
    if env is None:
        env = default_environment(loaded.config, "aws")
    require_environment(loaded.config, env, source=loaded.path)
    return open_catalog(loaded.config, env, endpoint_url=endpoint_url)


def search(
    words: Annotated[
        list[str] | None,
        typer.Argument(
            help="Words to look for; every one must match. None: list every product.", show_default=False
        ),
    ] = None,
    env: CatalogEnvOption = None,
    endpoint_url: EndpointOption = None,
    platform: PlatformOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """List the products of an environment, or those matching every word given.

    A word matches a product's name, description, owner or classification, a port, a
    column (name or description) or a consumer domain, case-insensitively. Reads the AWS
    Glue Data Catalog, where every product's database carries its metadata.

    Example: mesh catalog search revenue --env prod
    """
    catalog = _open(env, platform, endpoint_url)
    with err.status(f"Reading the catalog of {catalog.environment}…"):
        matches = catalog.search(words or [])
    if output is Output.JSON:
        print_json(
            {
                "environment": catalog.environment,
                "products": [m.entry.as_dict() | {"matched": list(m.reasons)} for m in matches],
            }
        )
        return
    _render_matches(matches, catalog.environment, bool(words))


def _render_matches(matches: list[Match], environment: str, searched: bool) -> None:
    if not matches:
        what = "matches" if searched else "products"
        out.print(f"No {what} in the catalog of {escape(environment)}.")
        return
    for match in matches:
        e = match.entry
        fresh = f"fresh within {e.freshness_hours} h" if e.freshness_hours is not None else "no freshness SLO"
        out.print(
            f"[bold]{escape(e.name)}[/] {escape(e.version)} ({escape(e.classification)}) — {escape(e.description)}"
        )
        out.print(
            f"  owner {escape(e.owner)} · ports {escape(', '.join(e.ports))} · {fresh} · "
            f"read by {escape(', '.join(e.consumers) or 'its own domain only')}"
        )
        if match.reasons:
            out.print(f"  [dim]matched:[/] {escape('; '.join(match.reasons))}")
    noun = "product" if len(matches) == 1 else "products"
    out.print(
        f"{len(matches)} {noun} in {escape(environment)}. See one with `mesh catalog show DOMAIN/NAME`."
    )


def show(
    product: Annotated[
        str, typer.Argument(help="The product as DOMAIN/NAME, e.g. sales/orders.", show_default=False)
    ],
    env: CatalogEnvOption = None,
    endpoint_url: EndpointOption = None,
    platform: PlatformOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Show one product: owner, freshness, retention, who reads it, and each port's columns.

    Example: mesh catalog show sales/orders --env prod
    """
    catalog = _open(env, platform, endpoint_url)
    with err.status(f"Reading {product} from the catalog of {catalog.environment}…"):
        entry = catalog.show(product)
    if output is Output.JSON:
        print_json(entry.as_dict())
        return
    _render_entry(entry)


def _render_entry(e: CatalogEntry) -> None:
    out.print(f"[bold]{escape(e.name)}[/] {escape(e.version)} — {escape(e.description)}")
    facts = [
        ("environment", e.environment),
        ("owner", e.owner),
        ("classification", e.classification),
        ("fresh within", f"{e.freshness_hours} hours" if e.freshness_hours is not None else "no SLO"),
        ("retention", f"{e.retention_days} days" if e.retention_days is not None else "—"),
        ("read by", ", ".join(e.consumers) or "its own domain only"),
        ("built from", ", ".join(e.inputs) or "—"),
        ("Glue database", e.database),
    ]
    for label, value in facts:
        out.print(f"  {label:<15} {escape(value)}")
    for port in e.tables:
        table = Table(
            title=f"{escape(port.name)} ({escape(port.format)}) — {escape(port.location)}",
            title_justify="left",
        )
        for heading in ("column", "type", "", "description"):
            table.add_column(heading)
        for column in port.columns:
            marks = ", ".join(m for m, on in (("pii", column.pii), ("partition", column.partition)) if on)
            table.add_row(escape(column.name), escape(column.type), marks, escape(column.comment))
        out.print(table)
    out.print(
        f"To read it, the {escape(e.domain)} domain adds your domain under spec.access.consumers in its request."
    )


def build(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder to write the site to: new, empty, or a site built here before (it is replaced).",
            show_default=False,
        ),
    ],
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="The folder that holds the requests, searched recursively.", show_default="."
        ),
    ] = Path(),
    health: Annotated[
        Path | None,
        typer.Option(
            "--health",
            help="A health report (the JSON of `mesh health --output json`): verdicts and freshness shown per product.",
        ),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            "-e",
            help="Environment the contracts describe. Default: the health report's, else each product's first environment with its cloud.",
        ),
    ] = None,
    platform: PlatformOption = None,
    output: OutputOption = Output.TABLE,
) -> None:
    """Build the static catalog site of every request under DIR: no server, no network.

    An index with search and filters (domain, classification, cloud, tags, SLO state),
    a page per product (columns with types and PII, partitioning, consumers, input
    ports, its ODCS contract to download, and the exact request change that grants
    access), and the lineage of the whole mesh as SVG. Open SITE/index.html as a file or
    publish the folder on any static host. The same requests give the same bytes.

    Example: mesh catalog build . --out site/ --health health.json
    """
    import time

    from infra.site import build_site

    started = time.perf_counter()
    with err.status("Building the catalog…"):
        report = build_site(directory, out=out, platform_path=platform, environment=env, health_path=health)
    elapsed = time.perf_counter() - started
    for note in report.notes:
        err.print(f"[yellow]note:[/] {escape(note)}")
    if output is Output.JSON:
        print_json(report.as_dict())
        return
    _render_site(report, elapsed)


def _render_site(report: SiteReport, elapsed: float) -> None:
    count = len(report.products)
    noun = "product" if count == 1 else "products"
    flows = "flow" if report.lineage_edges == 1 else "flows"
    out.print(
        f"Built the catalog of {count} {noun} in {escape(str(report.out))} in {elapsed:.1f} s: "
        f"index.html, lineage.html ({report.lineage_edges} {flows}) and a page with its ODCS contract per product"
        + (f", live state from {escape(report.health)}" if report.health else "")
        + "."
    )
    out.print(
        f"Open {escape(str(report.out / 'index.html'))} in a browser, or publish the folder on any static host."
    )


app.command("search")(search)
app.command("show")(show)
app.command("build")(build)
