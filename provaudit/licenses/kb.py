"""The terms knowledge base: what a license lets a user do, with the source of every answer."""

from __future__ import annotations

from enum import StrEnum
from functools import cache

import yaml
from pydantic import BaseModel, Field

from provaudit.licenses.normalize import _scancode_index, aliases
from provaudit.resources import resource


class Use(StrEnum):
    """Use categories, most permissive first (the order "most restrictive wins" reads)."""

    COMMERCIAL = "commercial"
    UNSPECIFIED = "unspecified"
    NON_COMMERCIAL = "non-commercial"
    ACADEMIC_ONLY = "academic-only"

    @property
    def restrictiveness(self) -> int:
        return _RESTRICTIVENESS[self]


# asked millions of times by a review of a large collection: a lookup, not a walk of the enum
_RESTRICTIVENESS = {use: rank for rank, use in enumerate(Use)}


class Terms(BaseModel):
    """The terms of one license id."""

    license: str
    use: Use
    attribution: bool = False
    share_alike: bool = False
    no_derivatives: bool = False
    use_restrictions: bool = False
    provider_terms: bool = False  # terms of a model provider that bind generated data
    # Model licences: what a derivative (finetune, adapter, merge, quantized) must keep.
    # same_terms: derivatives may only be redistributed under these terms (or with them attached),
    # never relicensed under a more permissive licence; use_policy: the acceptable-use policy that binds
    # every derivative; mau_limit: monthly active users above which a separate licence is needed;
    # attribution_notice: the words a product built on it must display.
    same_terms: bool = False
    use_policy: str | None = None
    mau_limit: int | None = None
    attribution_notice: str | None = None
    # share-alike licences a derivative may use instead of this one (the licence itself always counts)
    compatible: list[str] = Field(default_factory=list)
    source: str
    note: str | None = None
    name: str | None = None
    known: bool = True  # False when only a ScanCode category (or nothing) backs the answer


# ScanCode categories → (use, attribution, share_alike); "Proprietary Free" and the like need reading.
_CATEGORY_TERMS: dict[str, tuple[Use, bool, bool]] = {
    "Permissive": (Use.COMMERCIAL, True, False),
    "Public Domain": (Use.COMMERCIAL, False, False),
    "Copyleft": (Use.COMMERCIAL, True, True),
    "Copyleft Limited": (Use.COMMERCIAL, True, True),
    "Patent License": (Use.COMMERCIAL, True, False),
    "Free Restricted": (Use.UNSPECIFIED, True, False),
    "Proprietary Free": (Use.UNSPECIFIED, True, False),
    "Source-available": (Use.UNSPECIFIED, True, False),
    "Commercial": (Use.UNSPECIFIED, True, False),
    "CLA": (Use.UNSPECIFIED, True, False),
    "Unstated License": (Use.UNSPECIFIED, False, False),
}


@cache
def _curated() -> dict[str, dict[str, object]]:
    # libyaml when installed: the pure-Python parser took 7% of a review of one changed record (20,000 records)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(resource("data", "licenses", "terms.yaml").read_text(encoding="utf-8"), Loader=loader)
    return {str(k): v for k, v in data["licenses"].items()}


@cache
def _categories() -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in _scancode_index():
        spdx = entry.get("spdx_license_key") or f"LicenseRef-scancode-{entry['license_key']}"
        out.setdefault(str(spdx), str(entry.get("category") or "Unstated License"))
    return out


@cache
def terms_for(symbol: str) -> Terms:
    """Terms of one license id; unknown ids get `unspecified` with the reason as source."""
    base = symbol.removesuffix("-or-later").removesuffix("-only")
    curated = _curated()
    for key in (symbol, f"{base}-only", f"{base}-or-later", base):
        if key in curated:
            entry = dict(curated[key])
            name = aliases()["provaudit"].get(symbol, {})
            entry.update(license=symbol, name=name.get("name") if isinstance(name, dict) else None)
            return Terms.model_validate(entry)
    category = _categories().get(symbol)
    if category:
        use, attribution, share_alike = _CATEGORY_TERMS.get(category, (Use.UNSPECIFIED, True, False))
        return Terms(
            license=symbol,
            use=use,
            attribution=attribution,
            share_alike=share_alike,
            source=f"ScanCode LicenseDB category '{category}' (https://scancode-licensedb.aboutcode.org/)",
            known=False,
        )
    return Terms(
        license=symbol,
        use=Use.UNSPECIFIED,
        source="not in the provaudit terms knowledge base nor in the ScanCode LicenseDB",
        known=False,
    )


def all_curated() -> list[Terms]:
    """Every curated entry (for docs and the site)."""
    return [terms_for(symbol) for symbol in _curated()]
