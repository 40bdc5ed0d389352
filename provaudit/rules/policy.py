"""Policies as data: what a legal team accepts, and how licenses are classified.

A policy is a YAML file (``data/policies/default.yaml``, ``dpi.yaml``, or your own path). It decides
how each license claim is read (``classification: terms`` with the terms knowledge base, or ``dpi``
with the Data Provenance Initiative's license classes), which claims count, whether terms flow
through the lineage, and which licenses or use categories make findings.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from provaudit import limits
from provaudit.errors import InputError
from provaudit.licenses.kb import Terms, Use, terms_for
from provaudit.licenses.normalize import license_symbols
from provaudit.records.model import LicenseClaim, Relation
from provaudit.resources import resource

BUILTIN_POLICIES = ("default", "dpi")


class ClaimFilter(BaseModel):
    collector: str | None = None
    field_suffix: str | None = None

    def matches(self, claim: LicenseClaim) -> bool:
        if self.collector and claim.source.collector != self.collector:
            return False
        return not (self.field_suffix and not (claim.source.field or "").endswith(self.field_suffix))


class Policy(BaseModel):
    name: str
    description: str = ""
    classification: Literal["terms", "dpi"] = "terms"
    lineage: bool = True
    propagate: list[Relation] = Field(default_factory=list)
    missing_license: Use = Use.UNSPECIFIED
    unknown_is_absence: bool = True  # a declared "unknown" only counts when no other declaration names a license
    unspecified_blocks_commercial: bool = True
    # an upstream with no record: "unspecified" blocks a commercial verdict (the review is incomplete),
    # "ignore" only reports it (PA112)
    missing_upstream: Literal["ignore", "unspecified"] = "unspecified"
    # links inferred from evidence (adapter_config.json, the card's prose, the repo name): "follow" lets
    # their terms flow like declared ones (marked inferred), "ignore" only reports them
    inferred_links: Literal["follow", "ignore"] = "follow"
    # an expert audit's class of a license (DPI) counts beside the terms knowledge base
    expert_classes: bool = False
    # links followed from a record before the walk stops; what lies deeper is unresolved (incomplete)
    max_depth: int = Field(default=150, ge=1, le=300)
    # upstream links of one record followed (`review --max-upstreams`); the rest make the verdict incomplete
    max_upstreams: int = Field(default_factory=lambda: limits.MAX_UPSTREAMS, ge=1)
    only_claims: list[ClaimFilter] = Field(default_factory=list)
    ignore_claims: list[ClaimFilter] = Field(default_factory=list)
    allowed_licenses: list[str] = Field(default_factory=list)
    denied_licenses: list[str] = Field(default_factory=list)
    fail_on_use: list[Use] = Field(default_factory=list)
    source: str = ""

    def counts(self, claim: LicenseClaim) -> bool:
        """Whether a claim counts towards the verdict under this policy."""
        if self.only_claims and not any(f.matches(claim) for f in self.only_claims):
            return False
        return not any(f.matches(claim) for f in self.ignore_claims)

    def classify(self, claim: LicenseClaim) -> list[Terms]:
        """The terms one claim stands for (one per license of its expression)."""
        if self.classification == "dpi":
            dpi = dpi_terms(claim.raw, claim.link or claim.source.url)
            if dpi is not None:
                # keep the SPDX reading for the effective expression; the class is DPI's
                return [dpi.model_copy(update={"license": claim.expression})] if claim.expression else [dpi]
        if not claim.expression:
            return [
                Terms(
                    license=f"UNREAD:{claim.raw}",
                    use=self.missing_license,
                    source=f"{claim.raw!r} is not a license provaudit can read",
                    known=False,
                )
            ]
        return [terms_for(symbol) for symbol in license_symbols(claim.expression)]


def load_policy(name_or_path: str | Path) -> Policy:
    """A built-in policy by name, or a policy YAML file."""
    text = str(name_or_path)
    path = resource("data", "policies", f"{text}.yaml") if text in BUILTIN_POLICIES else Path(text)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(text, f"no such policy (built-in: {', '.join(BUILTIN_POLICIES)})") from exc
    except yaml.YAMLError as exc:
        raise InputError(text, f"malformed policy YAML: {exc}") from exc
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise InputError(text, f"invalid policy: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from exc
    policy.source = str(path)
    return policy


# --- the Data Provenance Initiative's classes ------------------------------------------------------

_DPI_USE = {"All": Use.COMMERCIAL, "NC": Use.NON_COMMERCIAL, "Acad": Use.ACADEMIC_ONLY, "Unspecified": Use.UNSPECIFIED}
_DPI_SOURCE = "Data Provenance Initiative constants/{file} @ ce6662d"


@cache
def _dpi_classes() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    folder = resource("data", "licenses", "dpi")
    classes = json.loads((folder / "license_classes.json").read_text(encoding="utf-8"))
    custom = json.loads((folder / "custom_license_classes.json").read_text(encoding="utf-8"))
    return classes, custom


def dpi_terms(name: str, url: str | None) -> Terms | None:
    """DPI's class of a license name (``Custom`` by URL), as their ``classify_license`` reads it.

    ``?`` use → academic-only (their resolve step); a non-numeric attribution or share-alike → 1.
    None when the name is not one of DPI's license names.
    """
    classes, custom = _dpi_classes()
    if name == "Custom":
        use, attribution, share_alike = custom.get(url or "", ["?", "?", "?"])
        source = _DPI_SOURCE.format(file="custom_license_classes.json") + f" [{url}]"
    elif name in classes:
        use, attribution, share_alike = classes[name]
        source = _DPI_SOURCE.format(file="license_classes.json") + f" [{name}]"
    else:
        return None
    return Terms(
        license=f"DPI:{name}",
        use=Use.ACADEMIC_ONLY if use == "?" else _DPI_USE.get(use, Use.ACADEMIC_ONLY),
        attribution=int(attribution) == 1 if str(attribution).isnumeric() else True,
        share_alike=int(share_alike) == 1 if str(share_alike).isnumeric() else True,
        source=source,
        name=name,
    )
