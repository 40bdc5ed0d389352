"""Locate the files provaudit ships: card templates, ontology, site templates, license data.

In a wheel they live in ``provaudit/_resources/`` (mapped by pyproject.toml); in a source checkout
or an editable install they are the top-level folders of the repository.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def resource_root() -> Path:
    """The folder that holds ``cards/``, ``ontology/``, ``site/`` and ``data/``."""
    bundled = _PACKAGE / "_resources"
    if (bundled / "ontology").is_dir():
        return bundled
    return _PACKAGE.parent


def resource(*parts: str) -> Path:
    """Path of a shipped resource, e.g. ``resource("data", "licenses", "terms.yaml")``."""
    path = resource_root().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"provaudit resource missing: {path} (is the installation complete?)")
    return path
