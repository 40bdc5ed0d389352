"""Which store a ``--store`` value names: an ``http(s)://`` URL is a SPARQL server, anything else a folder."""

from __future__ import annotations

import os
import re
from pathlib import Path

from provaudit.store.base import STORE_ENV, default_store_path
from provaudit.store.oxigraph import OxigraphStore
from provaudit.store.sparql import SparqlStore, is_url

AnyStore = OxigraphStore | SparqlStore


def store_location(location: str | Path | None) -> str | Path:
    """The location itself, or the default ($PROVAUDIT_STORE, else ./.provaudit); a URL stays text."""
    if location is None or location == "":
        env = os.environ.get(STORE_ENV)
        # Path() would fold the URL's "//" into "/"
        return env if env and is_url(env) else default_store_path()
    text = str(location)
    # a URL that went through Path() lost one slash of its "//": give it back
    folded = re.match(r"^(https?):/(?!/)", text)
    return f"{folded.group(1)}://{text[folded.end() :]}" if folded else location


def open_store(location: str | Path | None = None, *, read_only: bool = False, wait: float = 0.0) -> AnyStore:
    """The server store for an ``http(s)://`` URL, the embedded store for a folder."""
    where = store_location(location)
    if is_url(where):
        return SparqlStore(str(where), read_only=read_only)
    return OxigraphStore(where, read_only=read_only, wait=wait)
