"""`build_site`: the static catalog of a repository of requests, written in one step.

The site is a folder of plain files: `index.html` (every product, search and filters),
`lineage.html` and `lineage.svg` (the whole mesh), and per product
`products/<domain>/<name>.html` with its ODCS contract beside it as
`products/<domain>/<name>.odcs.yaml`. Nothing is fetched when a page is opened, so it
works as `file://` and from any static host. The same requests (and health report) give
the same bytes.

The folder is built next to `out` and swapped in at the end: a failed build leaves the
previous site as it was, and readers never see half a site. `out` must be new, empty or
a site this command built earlier (it carries a `.mesh-catalog` marker); anything else is
refused rather than overwritten.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from markupsafe import Markup
from open_data_contract_standard.model import OpenDataContractStandard

from infra.contract import data_contract
from infra.lineage import LineageGraph, LineageNode, NodeKind, lineage, render_svg
from infra.model.errors import MeshError, UsageError
from infra.model.platform import PlatformConfig
from infra.model.spec import resolve
from infra.odps import data_product
from infra.site.health import HealthReport, read_health
from infra.site.pages import (
    Download,
    ProductPage,
    SiteContext,
    lineage_css,
    product_page,
    render_index,
    render_lineage,
    render_product,
)
from infra.site.repository import RequestFile, read_repository
from infra.validation import default_environment

MARKER = ".mesh-catalog"
MARKER_TEXT = "A data product catalog built by `mesh catalog build`; rebuilding replaces this folder.\n"


@dataclass(frozen=True)
class SiteReport:
    """What was built: where, how many products, every file written, and notes for the user."""

    out: Path
    products: tuple[str, ...]
    files: tuple[str, ...]  # relative to `out`, POSIX form, sorted
    lineage_edges: int
    health: str | None
    notes: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        """The stable JSON shape of `mesh catalog build --output json`."""
        return {
            "out": str(self.out),
            "index": str(self.out / "index.html"),
            "products": list(self.products),
            "files": list(self.files),
            "lineageEdges": self.lineage_edges,
            "health": self.health,
            "notes": list(self.notes),
        }


def check_out(out: Path, *, root: Path) -> None:
    """Refuse an output folder the build must not replace (raises `UsageError`)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file", hint="Pass a folder for the site (it is created).")
    real_out, real_root = out.resolve(), root.resolve()
    if real_out == real_root or real_out in real_root.parents:
        raise UsageError(
            f"--out {out} holds the requests under {root}; building there would replace them",
            hint="Write the site to its own folder, e.g. --out site/.",
        )
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise UsageError(
            f"--out {out} is a folder mesh did not build (no {MARKER} in it); it is not replaced",
            hint="Pass a new or empty folder, or one an earlier `mesh catalog build` wrote.",
        )


def _product_link(prefix: str) -> Callable[[LineageNode], str | None]:
    """Links from lineage nodes to product pages; `prefix` leads from the page to `products/`."""

    def link(node: LineageNode) -> str | None:
        return f"{prefix}{node.id}.html" if node.kind is NodeKind.PRODUCT else None

    return link


def _product(
    entry: RequestFile,
    *,
    platform: PlatformConfig,
    environment: str | None,
    graph: LineageGraph,
    known: frozenset[str],
    health: HealthReport | None,
) -> tuple[ProductPage, str, str]:
    """One product's page, its ODCS contract and its ODPS descriptor (YAML text)."""
    request = entry.loaded.request
    cloud = str(request.spec.cloud)
    env = environment or default_environment(platform, cloud)
    if environment is None and health is not None and health.environment is not None:
        # Show the contract of the environment whose live state the page shows, if it hosts the product.
        hosted = platform.environments.get(health.environment)
        env = health.environment if hosted is not None and cloud in hosted.clouds() else env
    spec = resolve(request, platform, env, request_dir=entry.loaded.path.parent)
    contract = data_contract(spec, platform, request=request)
    descriptor = data_product(spec, platform)
    page = product_page(
        request,
        platform=platform,
        environment=env,
        request_file=entry.relative,
        known=known,
        health=health.products.get(entry.product) if health else None,
        downloads=[
            Download(
                label=f"ODCS data contract {contract.apiVersion} (YAML)",
                href=f"{request.metadata.name}.odcs.yaml",
                media="application/yaml",
            )
        ],
        odps=Download(
            label=f"ODPS data product {descriptor['apiVersion']} (YAML)",
            href=f"{request.metadata.name}.odps.yaml",
            media="application/yaml",
        ),
    )
    around = graph.around(entry.product)
    if around.edges:
        svg = render_svg(
            around, focus=entry.product, link=_product_link("../"), title=f"Lineage of {entry.product}"
        )
        page = replace(page, lineage_svg=Markup(svg))
    return page, contract_yaml(contract), _yaml(descriptor)


def contract_yaml(contract: OpenDataContractStandard) -> str:
    """The contract as `OpenDataContractStandard.to_yaml` writes it, with libyaml's emitter when present.

    The pure-Python emitter is most of a site's build time; for the plain data a contract
    dumps to (JSON mode) both emitters give the same text.
    """
    return _yaml(contract.model_dump(mode="json", exclude_defaults=True, exclude_none=True, by_alias=True))


def _yaml(document: dict[str, Any]) -> str:
    return yaml.dump(
        document, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False, allow_unicode=True
    )


def _standalone_svg(graph: LineageGraph) -> str:
    """`lineage.svg`: the whole mesh with its styles inside, for opening on its own."""
    svg = render_svg(graph, link=_product_link("products/"), title="Lineage of the mesh")
    head, _, tail = svg.partition("<title>")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{head}<style>{lineage_css()}</style><title>{tail}\n'


def build_site(
    root: Path,
    *,
    out: Path,
    platform_path: Path | None = None,
    environment: str | None = None,
    health_path: Path | None = None,
) -> SiteReport:
    """Build the catalog of every request under `root` into `out` (see the module docstring).

    Contracts are exported in `environment`; by default in the health report's
    environment when it hosts the product's cloud, else in the product's default
    environment (the first non-preview one with its cloud). Raises `DocumentInvalid` for invalid
    requests or health report, `UsageError` for an unusable `root` or `out`.
    """
    check_out(out, root=root)
    repository = read_repository(root, platform_path=platform_path, environment=environment, skip=out)
    health = read_health(health_path) if health_path is not None else None
    platform = repository.platform.config
    requests = repository.requests
    graph = lineage(entry.loaded.request for entry in requests)
    known = frozenset(entry.product for entry in requests)

    files: dict[str, str] = {MARKER: MARKER_TEXT}
    pages: list[ProductPage] = []
    for entry in requests:
        page, contract, descriptor = _product(
            entry, platform=platform, environment=environment, graph=graph, known=known, health=health
        )
        pages.append(page)
        files[f"products/{entry.product}.odcs.yaml"] = contract
        files[f"products/{entry.product}.odps.yaml"] = descriptor

    site = SiteContext(
        organization=platform.organization,
        health_source=health_path.name if health_path is not None else None,
        health_environment=health.environment if health else None,
        health_generated_at=health.generated_at.isoformat() if health and health.generated_at else None,
    )
    for page in pages:
        files[page.href] = render_product(page, site=site)
    files["index.html"] = render_index(pages, site=site)
    whole = render_svg(graph, link=_product_link("products/"), title="Lineage of the mesh")
    files["lineage.html"] = render_lineage(
        Markup(whole), site=site, products=len(known), edges=len(graph.edges)
    )
    files["lineage.svg"] = _standalone_svg(graph)

    notes: list[str] = []
    if health is not None:
        unknown = sorted(set(health.products) - known)
        if unknown:
            notes.append(
                f"{health_path}: no request for {', '.join(unknown)} under {root}; their health is not shown"
            )
        silent = sorted(known - set(health.products))
        if silent:
            notes.append(f"{health_path} says nothing of {', '.join(silent)}: shown as 'no health data'")
    write_site(out, files)
    return SiteReport(
        out=out,
        products=tuple(sorted(known)),
        files=tuple(sorted(files)),
        lineage_edges=len(graph.edges),
        health=str(health_path) if health_path is not None else None,
        notes=tuple(notes),
    )


def write_site(out: Path, files: dict[str, str]) -> None:
    """Write `files` (relative POSIX path → text) as the folder `out`, replacing it in one swap.

    The new site is written to a hidden sibling folder first; the previous site (if any)
    is moved aside, the new one renamed into place, and the old one removed. Relative
    paths come from validated request names, never from free text. A file system error
    raises `MeshError` and leaves the previous site in place.
    """
    parent = out.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=parent)).resolve()
    except OSError as e:
        raise _unwritable(out, e) from e
    old: Path | None = None
    try:
        for relative, text in files.items():
            target = staging / relative
            if staging not in target.resolve().parents:
                raise ValueError(f"site file {relative!r} would land outside the site")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode("utf-8"))
        _publishable(staging)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent)) / "site"
            out.replace(old)
        staging.replace(out)
    except BaseException as e:
        if old is not None and not out.exists():
            old.replace(out)  # put the previous site back
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old.parent, ignore_errors=True)
        if isinstance(e, OSError):
            raise _unwritable(out, e) from e
        raise
    if old is not None:
        shutil.rmtree(old.parent, ignore_errors=True)


def _unwritable(out: Path, error: OSError) -> MeshError:
    return MeshError(
        f"cannot write the site to {out}: {error.strerror or error}",
        hint="Check that the folder above it exists and is writable, or pass another --out.",
    )


def _publishable(folder: Path) -> None:
    """Folders readable by a web server (mkdtemp makes its folder private)."""
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        if path.is_dir():
            path.chmod(0o755)
