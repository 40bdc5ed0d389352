"""The static Unified Model Record site: ``build_site`` (records + review) and ``build_site_from_store``."""

from provaudit.site.build import SiteStats, build_site, build_site_from_store

__all__ = ["SiteStats", "build_site", "build_site_from_store"]
