"""The static data product catalog: `mesh catalog build` (see `infra.site.build`)."""

from infra.site.build import SiteReport, build_site

__all__ = ["SiteReport", "build_site"]
