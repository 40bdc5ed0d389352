"""The static Unified Model Record site: a catalog, record pages, collection cards and an audit page.

    provaudit site --out DIR [--store PATH] [--policy P] [--templates DIR]

or from Python::

    from provaudit.site import build_site, build_site_from_store
    build_site_from_store(".provaudit", Path("site"))            # read, review, build
    build_site(records, review_report, Path("site"), history=...)  # from records you already have

The pages are plain files that open from ``file://`` (no server) or any static host; they carry a
strict Content-Security-Policy and all JavaScript is in files. Templates (``site/templates``) and
assets (``site/static``) ship in the wheel; ``--templates DIR`` overrides any template by name
(see :mod:`provaudit.site.contexts` for what each one receives).
"""

from provaudit.site.build import SiteStats, build_site, build_site_from_store

__all__ = ["SiteStats", "build_site", "build_site_from_store"]
