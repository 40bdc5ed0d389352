"""Which declaration decides: an expert audit outranks the LICENSE text, which outranks the card's YAML,
which outranks a sentence of the card's body (card prose), which outranks what an aggregator recorded.

This is the declared / detected / concluded idea of license-compliance tools for datasets and models:
every level is kept and shown, the review says which one decided, and a weaker level never wins
silently. A less authoritative declaration that is *more permissive* than the verdict is a finding
(PA102); one that is more restrictive still counts (most restrictive wins).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from provaudit.records.model import LicenseClaim

PROSE_FIELD = "card_prose"  # Source.field of a license read from a sentence of a card's body


def prose_location(claim: LicenseClaim) -> str | None:
    """Where a licence read from a card's sentence stands ("README.md:14"); None for any other claim."""
    if claim.source.field != PROSE_FIELD:
        return None
    return claim.source.describe().removesuffix(f" [{PROSE_FIELD}]")


class Authority(IntEnum):
    """How much a declaration weighs, lowest first."""

    AGGREGATOR = 1  # a platform's copy of someone's declaration: Hub tags, DPI's Hugging Face / PwC / GitHub columns
    CARD_PROSE = 2  # a sentence of the card's body ("License: X", "for research purposes only"): read, not declared
    CARD = 3  # the publisher's own metadata: card YAML, dataset_infos.json, Croissant, SPDX, UMR
    LICENSE_FILE = 4  # the license text shipped with the data or weights
    EXPERT = 5  # an expert audit: the Data Provenance Initiative's `Licenses` annotation

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Authority.AGGREGATOR: "aggregator metadata",
    Authority.CARD_PROSE: "card prose",
    Authority.CARD: "card metadata",
    Authority.LICENSE_FILE: "license text",
    Authority.EXPERT: "expert audit",
}


def is_expert(claim: LicenseClaim) -> bool:
    """A DPI `Licenses` entry: what DPI's annotators concluded after reading the terms."""
    return claim.source.collector == "dpi" and (claim.source.field or "").endswith(".Licenses")


def authority(claim: LicenseClaim) -> Authority:
    """The authority level of one license claim, from where it was read."""
    field = claim.source.field or ""
    if is_expert(claim):
        return Authority.EXPERT
    if field == "text":
        return Authority.LICENSE_FILE
    if field == PROSE_FIELD:
        return Authority.CARD_PROSE
    if claim.source.collector == "dpi" or claim.source.file == "hub_manifest.yaml" or field == "tags":
        return Authority.AGGREGATOR
    return Authority.CARD


def declared_claims(claims: Iterable[LicenseClaim]) -> list[LicenseClaim]:
    """What a record declares: its claims, less the licences read from a card's sentences where that card's
    metadata names one (a sentence fills a card that names none; a stricter one still weighs in the verdict,
    rules.lineage, but it is not the card's declaration: exports and diffs leave it out)."""
    claims = list(claims)
    with_metadata = {(c.source.collector, c.source.file) for c in claims if c.source.field != PROSE_FIELD}
    return [
        c for c in claims if c.source.field != PROSE_FIELD or (c.source.collector, c.source.file) not in with_metadata
    ]
