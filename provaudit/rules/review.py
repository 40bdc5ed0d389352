"""Legal review: per record and per collection, the use category, obligations, evidence and findings."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from provaudit.licenses.kb import Terms, terms_for
from provaudit.records.model import Record
from provaudit.rules.authority import authority
from provaudit.rules.builtin import is_declaration
from provaudit.rules.engine import RuleContext, available_rules, load_sparql_rules, run_rules, run_sparql_rules
from provaudit.rules.lineage import Effective, Lineage
from provaudit.rules.policy import Policy, load_policy
from provaudit.rules.report import DeclaredLicense, RecordReview, ReviewReport
from provaudit.store.base import Store


def _collections(record: Record) -> list[str]:
    named = [f.value for f in record.facts if f.key == "collection"]
    if named:
        return sorted(set(named))
    if record.location:
        parent = Path(record.location.split("#", 1)[0]).parent.name
        return [parent] if parent else []
    return []


def _notices(record: Record, records: dict[str, Record], eff: Effective) -> list[str]:
    """Attribution notices to reproduce: one per record of the lineage whose terms require it."""
    notices: list[str] = []
    seen: set[tuple[str, str]] = set()
    for step in eff.steps:
        if not step.license or step.license.startswith(("NONE", "UNREAD:")):
            continue
        terms: Terms = terms_for(step.license) if not step.license.startswith("DPI:") else None  # type: ignore[assignment]
        requires = terms.attribution if terms is not None else True
        if not requires or (step.record, step.license) in seen:
            continue
        seen.add((step.record, step.license))
        source = records.get(step.record)
        title = (source.fact("title") if source else None) or step.record.split(":", 1)[-1]
        creators = sorted({a.name for a in source.agents if a.role in {"creator", "publisher"}}) if source else []
        link = (source.fact("homepage") or source.fact("hf_url")) if source else None
        name = (terms.name if terms is not None else None) or step.license.removeprefix("DPI:")
        text = f'"{title}"' + (f" by {', '.join(creators)}" if creators else "") + f", licensed under {name}"
        notices.append(text + (f" ({link})" if link else ""))
    return notices


def review_records(
    records: Iterable[Record], policy: str | Policy = "default", *, extra_findings: dict[str, list] | None = None
) -> ReviewReport:
    """Review a collection: every record's verdict through the lineage, with rules run on each."""
    chosen = policy if isinstance(policy, Policy) else load_policy(policy)
    by_id = {r.id: r for r in records}
    lineage = Lineage(by_id, chosen)
    rules = available_rules()
    report = ReviewReport(policy=chosen.name)
    for rid in sorted(by_id):
        record = by_id[rid]
        eff = lineage.effective(rid)
        ctx = RuleContext(record=record, effective=eff, lineage=lineage, policy=chosen)
        findings = [*record.findings, *eff.findings, *run_rules(ctx, rules), *(extra_findings or {}).get(rid, [])]
        report.records.append(
            RecordReview(
                id=rid,
                name=record.name,
                kind=record.kind.value,
                declared=[
                    DeclaredLicense(
                        raw=c.raw,
                        expression=c.expression,
                        source=c.source.describe(),
                        collector=c.source.collector,
                        authority=authority(c).label,
                        name=c.name,
                        link=c.link,
                    )
                    for c in record.claims
                    if is_declaration(c) or chosen.counts(c)
                ],
                effective_license=eff.expression(),
                use=eff.verdict,
                attribution=eff.attribution,
                share_alike=eff.share_alike,
                no_derivatives=eff.no_derivatives,
                use_restrictions=eff.use_restrictions,
                complete=eff.complete,
                unresolved=eff.unresolved,
                attribution_notices=_notices(record, by_id, eff),
                upstream=sorted({s.record for s in eff.steps if s.record != rid}),
                evidence=eff.steps,
                findings=findings,
                collections=_collections(record),
            )
        )
    return report


def review_store(
    store: Store, policy: str | Policy = "default", *, sparql_rules: Iterable[str | Path] = ()
) -> ReviewReport:
    """Review the current revision of every record in a store (SPARQL rules run on the store)."""
    extra = run_sparql_rules(load_sparql_rules(sparql_rules), store.query) if sparql_rules else {}
    return review_records(list(store.records(light=True)), policy, extra_findings=extra)
