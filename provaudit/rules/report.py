"""The review report: per record and per collection, the verdict and the evidence behind it.

``provaudit review --format json`` prints :meth:`ReviewReport.to_json`; the site and the exporters
read the same objects.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from pydantic import BaseModel, Field

from provaudit.licenses.kb import Use
from provaudit.records.model import Finding, LicenseClaim, Severity
from provaudit.rules.authority import PROSE_FIELD, prose_location


class DeclaredLicense(BaseModel):
    raw: str
    expression: str | None = None  # None: not read as SPDX (left out of the JSON)
    # "README.md:3 [license]", "LICENSE [text]", "https://... [Licenses]"; a licence read from a sentence of a
    # card's body says "card_prose" and keeps its place in `location` and the sentence in `quote`
    source: str
    collector: str
    authority: str | None = None  # expert audit, license text, card metadata, card prose or aggregator metadata
    name: str | None = None  # the card's license_name (for `other`)
    link: str | None = None  # the card's license_link
    location: str | None = None  # a card_prose claim: the file and line of the sentence ("README.md:14")
    quote: str | None = None  # a card_prose claim: the sentence, as written

    @classmethod
    def of(cls, claim: LicenseClaim, authority: str | None = None) -> DeclaredLicense:
        """The review's entry for one claim; a prose claim's source is ``card_prose``, its place apart."""
        location = prose_location(claim)
        return cls(
            raw=claim.raw,
            expression=claim.expression,
            source=PROSE_FIELD if location else claim.source.describe(),
            collector=claim.source.collector,
            authority=authority,
            name=claim.name,
            link=claim.link,
            location=location,
            quote=claim.raw if location else None,
        )

    def where(self) -> str:
        """Where it was read, as one string: "README.md:14 [card_prose]", "README.md:3 [license]"."""
        return f"{self.location} [{self.source}]" if self.location else self.source


class EvidenceStep(BaseModel):
    """One link of the evidence chain: which record, reached how, said what."""

    record: str  # record id
    path: list[str] = Field(default_factory=list)  # record ids from the reviewed record to this one
    relation: str | None = None  # how the previous record of the path depends on this one
    license: str | None = None  # the SPDX expression this step contributes
    use: Use | None = None
    source: str | None = None  # where the license was declared
    terms_source: str | None = None  # where the terms of that license were read
    authority: str | None = None  # which level declared it: expert audit, license text, card, aggregator
    inferred: bool = False  # reached through a link inferred from evidence, not declared
    note: str | None = None


class Condition(BaseModel):
    """One condition of a verdict: what it asks, the clause that says so, and where that was read."""

    kind: str  # mau_limit | use_policy | attribution_notice | use_restrictions
    text: str  # what a user must do or respect, as a sentence
    clause: str  # the licence's clause ("s.2"), or the part of its text that sets it
    source: str  # the record and licence it comes from, and where the licence's terms were read


class UnresolvedUpstream(BaseModel):
    """A propagating upstream with no record in the store: the verdict cannot be complete without it."""

    target: str  # record id of the missing upstream
    relation: str
    raw: str  # as declared
    via: list[str] = Field(default_factory=list)  # record ids from the reviewed record to the one declaring it
    source: str | None = None  # where the link was declared
    inferred: bool = False
    command: str | None = None  # the command that completes the review, when the Hub has it
    reason: str | None = None  # why it is still missing when it was asked for (the Hub's refusal)


class RecordReview(BaseModel):
    id: str
    name: str
    kind: str
    declared: list[DeclaredLicense] = Field(default_factory=list)
    effective_license: str | None = None  # SPDX expression combining own and upstream licenses (AND)
    use: Use = Use.UNSPECIFIED
    attribution: bool = False
    share_alike: bool = False
    no_derivatives: bool = False
    use_restrictions: bool = False
    # what the permitted use is conditional on (user limits, use policies, notices, RAIL restrictions):
    # "commercial" with conditions is a different answer from plain "commercial"
    conditions: list[Condition] = Field(default_factory=list)
    complete: bool = True  # every propagating upstream of the lineage is audited (has a record)
    unresolved: list[UnresolvedUpstream] = Field(default_factory=list)
    attribution_notices: list[str] = Field(default_factory=list)
    upstream: list[str] = Field(default_factory=list)  # record ids reached through the lineage
    evidence: list[EvidenceStep] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    collections: list[str] = Field(default_factory=list)

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def worst_finding(self) -> Finding | None:
        """The finding a page header shows first: the most severe, then the first raised."""
        return max(self.findings, key=lambda f: f.severity.rank, default=None)


class ScanRef(BaseModel):
    """One committed scan of the reviewed store: which data the review rests on, and when it was read."""

    id: str  # the scan's stamp, as `provaudit scans` lists it
    started: str
    ended: str | None = None


class ReviewReport(BaseModel):
    policy: str
    records: list[RecordReview] = Field(default_factory=list)
    # the header a signed-off review needs; review_store fills them, review_records leaves them empty
    generated: str | None = None  # when the review was made (UTC, ISO 8601)
    store: str | None = None  # the store's path or URL as the user named it
    scans: list[ScanRef] = Field(default_factory=list)
    tool: str | None = None  # "provaudit <version>"
    as_of: ScanRef | None = None  # review --as-of: the store as it was right after this scan

    def summary(self) -> dict[str, Any]:
        return summarize(self.policy, (tally(r) for r in self.records))

    def count_at_or_above(self, level: str) -> int:
        return count_at_or_above((tally(r) for r in self.records), level)

    def to_json(self) -> dict[str, Any]:
        records = []
        for r in self.records:
            item = r.model_dump(mode="json", exclude_none=True)
            records.append(item)
        out: dict[str, Any] = {"records": records, "summary": self.summary()}
        if self.has_header():
            out["header"] = self.header()
        return out

    def has_header(self) -> bool:
        return bool(self.generated or self.store or self.scans)

    def header(self) -> dict[str, Any]:
        """Date, store, scans, policy and tool: what a reader needs to know which review this is."""
        header: dict[str, Any] = {
            "generated": self.generated,
            "store": self.store,
            "scans": [s.model_dump(mode="json", exclude_none=True) for s in self.scans],
            "policy": self.policy,
            "tool": self.tool,
        }
        if self.as_of is not None:
            header["as_of"] = self.as_of.model_dump(mode="json", exclude_none=True)
        return header


# --- the parts of a report, for a review streamed record by record (provaudit.rules.review_cache) ---------

# what the summary counts of one record: use, has conditions, attribution, share-alike, complete, findings
Tally = tuple[str, bool, bool, bool, bool, list[tuple[str, str]]]


def tally(review: RecordReview) -> Tally:
    """What :func:`summarize` counts of one record's review."""
    findings = [(f.rule, f.severity.value) for f in review.findings]
    return review.use.value, bool(review.conditions), review.attribution, review.share_alike, review.complete, findings


def summarize(policy: str, tallies: Iterable[Tally]) -> dict[str, Any]:
    """The report's summary: records per use category, obligations, incomplete lineages, findings."""
    uses: Counter[str] = Counter()
    severities: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    records = conditions = attribution = share_alike = incomplete = 0
    for use, conditional, attributed, shared, complete, findings in tallies:
        records += 1
        uses[use] += 1
        conditions += conditional
        attribution += attributed
        share_alike += shared
        incomplete += not complete
        for rule, severity in findings:
            rules[rule] += 1
            severities[severity] += 1
    return {
        "policy": policy,
        "records": records,
        "use": {u.value: uses.get(u.value, 0) for u in Use},
        "with_conditions": conditions,
        "attribution_required": attribution,
        "share_alike": share_alike,
        "incomplete": incomplete,
        "findings": {s.value: severities.get(s.value, 0) for s in Severity},
        "rules": dict(sorted(rules.items())),
    }


def count_at_or_above(tallies: Iterable[Tally], level: str) -> int:
    """Findings at or above a severity (``never``: none), as ``--fail-on`` counts them."""
    if level == "never":
        return 0
    rank = Severity(level).rank
    return sum(1 for t in tallies for _, severity in t[5] if Severity(severity).rank >= rank)


def record_json(review: RecordReview) -> str:
    """One record's review as ``review --format json`` prints it (indented; not yet nested in the report).

    The text of ``json.dumps(review.model_dump(mode="json", exclude_none=True), indent=2, ensure_ascii=False)``,
    made by pydantic's serializer (indented JSON from ``json.dumps`` is pure Python: 20% of a cold review).
    """
    try:
        return review.model_dump_json(indent=2, exclude_none=True)
    except ValueError:  # text pydantic cannot encode as UTF-8 (a lone surrogate): json escapes it
        return json.dumps(review.model_dump(mode="json", exclude_none=True), indent=2, ensure_ascii=False)


def json_document(
    records: Iterable[str], summary: dict[str, Any] | Callable[[], dict[str, Any]], header: dict[str, Any] | None
) -> Iterator[str]:
    """The text of ``json.dumps(report.to_json(), indent=2)``, piece by piece, from each record's
    :func:`record_json`: a report of 100,000 records is written without holding it whole. ``summary`` may be
    a function, called once the records are written (a streamed review counts them on the way)."""
    yield '{\n  "records": ['
    first = True
    for text in records:
        yield ("\n    " if first else ",\n    ") + text.replace("\n", "\n    ")
        first = False
    yield ("]" if first else "\n  ]") + ',\n  "summary": ' + _nested(summary() if callable(summary) else summary)
    if header is not None:
        yield ',\n  "header": ' + _nested(header)
    yield "\n}\n"


def _nested(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n  ")
