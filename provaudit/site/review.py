"""The review the site shows: provaudit.rules.review when installed, a minimal stand-in otherwise.

The stand-in only restates what each record declares (its own licenses, combined with AND, and
the terms knowledge base's use category for them); it follows no lineage. It lets the site build
while the review engine is absent and gives tests RecordReview objects built from real records.
"""

from __future__ import annotations

import re

from provaudit.licenses.kb import Use, terms_for
from provaudit.records.model import Record
from provaudit.rules.report import DeclaredLicense, EvidenceStep, RecordReview, ReviewReport

_OPERATORS = {"AND", "OR", "WITH"}


def review(records: list[Record], policy: str = "default") -> ReviewReport:
    """review_records() from provaudit.rules.review, or the stand-in when that module is missing."""
    try:
        from provaudit.rules.review import review_records
    except ImportError:
        return basic_review(records, policy)
    return review_records(records, policy=policy)


def _symbols(expression: str) -> list[str]:
    return [t for t in re.split(r"[\s()]+", expression) if t and t not in _OPERATORS]


def basic_review(records: list[Record], policy: str = "default") -> ReviewReport:
    """Each record's own declared licenses and their terms; no upstream, no rules beyond the collectors'."""
    out: list[RecordReview] = []
    for record in records:
        declared = [DeclaredLicense.of(c) for c in record.claims]
        expressions = sorted({c.expression for c in record.claims if c.expression})
        effective = " AND ".join(f"({e})" if " OR " in e else e for e in expressions) or None
        terms = [terms_for(s) for e in expressions for s in _symbols(e)]
        use = max((t.use for t in terms), key=lambda u: u.restrictiveness, default=Use.UNSPECIFIED)
        evidence = [
            EvidenceStep(
                record=record.id,
                path=[record.id],
                license=c.expression,
                source=c.source.describe(),
                use=terms_for(_symbols(c.expression)[0]).use if c.expression else None,
                terms_source=terms_for(_symbols(c.expression)[0]).source if c.expression else None,
            )
            for c in record.claims
        ]
        out.append(
            RecordReview(
                id=record.id,
                name=record.name,
                kind=record.kind.value,
                declared=declared,
                effective_license=effective,
                use=use,
                attribution=any(t.attribution for t in terms),
                share_alike=any(t.share_alike for t in terms),
                no_derivatives=any(t.no_derivatives for t in terms),
                use_restrictions=any(t.use_restrictions for t in terms),
                upstream=[u.target for u in record.upstream],
                evidence=evidence,
                findings=list(record.findings),
            )
        )
    return ReviewReport(policy=policy, records=out)
