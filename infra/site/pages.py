"""The pages of the static catalog: what each shows, and its HTML.

`ProductPage` gathers what a consumer needs about one product from its request, its
resolved spec and (optionally) its health; `render_*` turn pages into HTML through the
Jinja templates shipped in `infra/site/templates`, with autoescaping on, so every value
that comes from a request or a health report is escaped wherever it lands (text,
attributes). The CSS and JavaScript are inlined into every page: a page works opened as
a file, from any static host, and saved on its own.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from markupsafe import Markup

from infra.model.platform import PlatformConfig
from infra.model.request import Classification, DataProductRequest
from infra.site.access import AccessChange, access_change, readers
from infra.site.health import PortHealth, ProductHealth

CLASSIFICATIONS = tuple(str(c) for c in Classification)

# The SLO state shown and filtered on: a health verdict, or why there is none.
SLO_NO_DATA = "no-data"  # the product has a freshness SLO but the health report says nothing of it
SLO_NONE = "no-slo"  # no freshness SLO and no verdict
SLO_STATES = ("ok", "warn", "breach", SLO_NO_DATA, SLO_NONE)
SLO_LABELS = {
    "ok": "ok",
    "warn": "warn",
    "breach": "breach",
    SLO_NO_DATA: "no health data",
    SLO_NONE: "no SLO",
}


@dataclass(frozen=True)
class ColumnRow:
    """A column as the product page lists it."""

    name: str
    type: str
    required: bool
    pii: bool
    partition: bool
    description: str


@dataclass(frozen=True)
class PortSection:
    """An output port: format, partitioning, columns and, with a health report, freshness."""

    name: str
    format: str
    description: str
    partitioned_by: tuple[str, ...]
    columns: tuple[ColumnRow, ...]
    readers: tuple[str, ...]
    health: PortHealth | None


@dataclass(frozen=True)
class InputLink:
    """An input port: the product it reads and, when that product is in the catalog, its page."""

    product: str
    port: str
    href: str | None


@dataclass(frozen=True)
class Download:
    """A document offered for download beside the product page."""

    label: str
    href: str
    media: str


@dataclass(frozen=True)
class ProductPage:
    """Everything one product page and its index card show."""

    id: str
    domain: str
    name: str
    version: str
    owner: str
    description: str
    classification: str
    cloud: str
    environment: str
    retention_days: int
    freshness_hours: int | None
    request_file: str
    href: str  # from the site root
    ports: tuple[PortSection, ...]
    consumers: tuple[tuple[str, tuple[str, ...]], ...]
    inputs: tuple[InputLink, ...]
    tags: tuple[str, ...]
    health: ProductHealth | None
    slo_state: str
    downloads: tuple[Download, ...]
    odps: Download | None
    access: tuple[AccessChange, ...]
    restricted_sharing: bool
    lineage_svg: Markup = field(default_factory=lambda: Markup(""))

    @property
    def default_reader(self) -> str | None:
        """The reader whose access change the page shows first: the first one that needs a change."""
        needed = [c.reader for c in self.access if c.needed]
        return next(iter(needed or [c.reader for c in self.access]), None)

    @property
    def search_text(self) -> str:
        """The lowercase words the index search matches against (all must occur)."""
        words = [
            self.id,
            self.description,
            self.owner,
            self.classification,
            self.cloud,
            self.version,
            *self.tags,
            *(domain for domain, _ in self.consumers),
            *(f"{i.product}:{i.port}" for i in self.inputs),
        ]
        for port in self.ports:
            words += [port.name, port.description]
            for column in port.columns:
                words += [column.name, column.description]
        return " ".join(w for w in words if w).lower()


def page_href(domain: str, name: str) -> str:
    """Where a product's page is, from the site root."""
    return f"products/{domain}/{name}.html"


def derived_tags(request: DataProductRequest) -> tuple[str, ...]:
    """Tags the index filters on, derived from the request (requests carry no free tags).

    Each port's format, `pii` when a column is personal data, `scheduled` when a
    transform rebuilds it, `shared` when another domain reads it, and `derived` when it
    is built from another product.
    """
    spec = request.spec
    tags = {str(p.format) for p in spec.output_ports}
    if any(c.pii for p in spec.output_ports for c in p.columns):
        tags.add("pii")
    if spec.compute.transform is not None:
        tags.add("scheduled")
    if spec.access.consumers:
        tags.add("shared")
    if spec.input_ports:
        tags.add("derived")
    return tuple(sorted(tags))


def slo_state(request: DataProductRequest, health: ProductHealth | None) -> str:
    """The product's verdict when the health report has one, else `no-data` or `no-slo`."""
    if health is not None:
        return str(health.verdict)
    return SLO_NO_DATA if request.spec.slo is not None else SLO_NONE


def product_page(
    request: DataProductRequest,
    *,
    platform: PlatformConfig,
    environment: str,
    request_file: str,
    known: frozenset[str],
    health: ProductHealth | None,
    downloads: Sequence[Download],
    odps: Download | None = None,
) -> ProductPage:
    """The page of one validated request; `known` holds the `domain/name` of every product in the catalog."""
    meta, spec = request.metadata, request.spec
    here = f"{meta.domain}/{meta.name}"
    readers_of: dict[str, list[str]] = {}
    for consumer in spec.access.consumers:
        for port in dict.fromkeys(consumer.ports):
            readers_of.setdefault(port, []).append(consumer.domain)
    ports = tuple(
        PortSection(
            name=port.name,
            format=str(port.format),
            description=port.description or "",
            partitioned_by=tuple(port.partitioned_by),
            columns=tuple(
                ColumnRow(
                    name=c.name,
                    type=c.type,
                    required=c.required,
                    pii=c.pii,
                    partition=c.name in port.partitioned_by,
                    description=c.description or "",
                )
                for c in port.columns
            ),
            readers=tuple(readers_of.get(port.name, ())),
            health=health.port(port.name) if health else None,
        )
        for port in spec.output_ports
    )
    inputs = tuple(
        InputLink(
            product=i.product,
            port=i.port,
            # From products/<domain>/<name>.html, another product page is ../<domain>/<name>.html.
            href=f"../{i.product}.html" if i.product in known else None,
        )
        for i in spec.input_ports
    )
    return ProductPage(
        id=here,
        domain=meta.domain,
        name=meta.name,
        version=meta.version,
        owner=meta.owner,
        description=meta.description,
        classification=str(spec.classification),
        cloud=str(spec.cloud),
        environment=environment,
        retention_days=spec.retention_days,
        freshness_hours=spec.slo.freshness_hours if spec.slo else None,
        request_file=request_file,
        href=page_href(meta.domain, meta.name),
        ports=ports,
        consumers=tuple((c.domain, tuple(dict.fromkeys(c.ports))) for c in spec.access.consumers),
        inputs=inputs,
        tags=derived_tags(request),
        health=health,
        slo_state=slo_state(request, health),
        downloads=tuple(downloads),
        odps=odps,
        access=tuple(access_change(request, reader) for reader in readers(request, platform)),
        restricted_sharing=spec.classification is not Classification.RESTRICTED
        or platform.guardrails.allow_restricted_sharing,
    )


# --- HTML --------------------------------------------------------------------------------


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _asset(name: str) -> str:
    return resources.files("infra.site").joinpath("static", name).read_text(encoding="utf-8")


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("infra.site", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # Our own CSS and script, inlined so a page needs no other file (never request text).
    css = _asset("site.css") + _asset("lineage.css")
    js = _asset("site.js")
    env.globals["site_css"] = Markup(css)
    env.globals["site_js"] = Markup(js)
    # The page may run only this script and use only this style sheet, and load nothing:
    # were some text ever left unescaped, an injected script or a remote file still would not run.
    env.globals["csp"] = Markup(
        f"default-src 'none'; script-src '{_sha256(js)}'; style-src '{_sha256(css)}'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'"
    )
    env.globals["slo_labels"] = SLO_LABELS
    return env


def _template(name: str) -> Template:
    return _environment().get_template(name)


def lineage_css() -> str:
    """The styles of the lineage SVG, for the standalone `lineage.svg` file."""
    return _asset("lineage.css")


@dataclass(frozen=True)
class SiteContext:
    """What every page's header and footer say about the catalog as a whole."""

    organization: str
    health_source: str | None  # the health report's file name, when one was given
    health_environment: str | None
    health_generated_at: str | None


def render_index(pages: Sequence[ProductPage], *, site: SiteContext) -> str:
    """`index.html`: every product as a card, with search and filters."""
    return _template("index.html.j2").render(
        root="",
        site=site,
        pages=pages,
        domains=sorted({p.domain for p in pages}),
        classifications=CLASSIFICATIONS,
        clouds=sorted({p.cloud for p in pages}),
        tags=sorted({t for p in pages for t in p.tags}),
        slo_states=SLO_STATES,
    )


def render_product(page: ProductPage, *, site: SiteContext) -> str:
    """`products/<domain>/<name>.html`."""
    return _template("product.html.j2").render(root="../../", site=site, page=page)


def render_lineage(svg: Markup, *, site: SiteContext, products: int, edges: int) -> str:
    """`lineage.html`: the whole mesh's lineage."""
    return _template("lineage.html.j2").render(root="", site=site, svg=svg, products=products, edges=edges)
