"""Legal review: per record and per collection, the use category, obligations, evidence and findings."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import provaudit
from provaudit.errors import InputError
from provaudit.licenses.kb import Terms, terms_for
from provaudit.records.model import BASE_RELATIONS, Finding, Record
from provaudit.rules.authority import authority
from provaudit.rules.builtin import is_declaration
from provaudit.rules.conditions import conditions
from provaudit.rules.engine import Rule, RuleContext, available_rules, load_sparql_rules, run_rules, run_sparql_rules
from provaudit.rules.lineage import NOT_A_LICENSE, Effective, Lineage, corpus_terms
from provaudit.rules.policy import Policy, load_policy
from provaudit.rules.report import DeclaredLicense, RecordReview, ReviewReport, ScanRef
from provaudit.store.base import ScanInfo, Store

_BASE_VALUES = {r.value for r in BASE_RELATIONS}


def _collections(record: Record) -> list[str]:
    named = [f.value for f in record.facts if f.key == "collection"]
    if named:
        return sorted(set(named))
    if record.location:
        parent = Path(record.location.split("#", 1)[0]).parent.name
        return [parent] if parent else []
    return []


def agent_key(name: str) -> str:
    """One publisher's identity across spellings: "Hugging Face H4" and "HuggingFaceH4" are one agent."""
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def merge_agents(names: Iterable[str]) -> list[str]:
    """Names merged by identity (:func:`agent_key`), each shown once in its most readable spelling."""
    best: dict[str, str] = {}
    for name in names:
        name = name.strip()
        key = agent_key(name)
        if not key:
            continue
        # the spelling with spaces and capitals is the display name ("Mistral AI", not the org id "mistralai")
        rank = (name.count(" "), sum(c.isupper() for c in name), -len(name), name)
        if key not in best or rank > (
            best[key].count(" "),
            sum(c.isupper() for c in best[key]),
            -len(best[key]),
            best[key],
        ):
            best[key] = name
    return sorted(best.values(), key=str.casefold)


def _binding_base_licenses(record: Record, eff: Effective) -> list[str]:
    """Licences of a base model that bind this derivative (same_terms) and that it does not declare itself.

    A Llama 2 fine-tune declared apache-2.0 is still under the Llama 2 licence: its attribution notice
    names that licence, not the declaration (PA117 reports the declaration).
    """
    own = {t.license.removesuffix("-only").removesuffix("-or-later") for _, t in eff.own}
    out: list[str] = []
    for step in eff.steps:
        symbol = step.license
        if len(step.path) != 2 or step.relation not in _BASE_VALUES or not symbol:
            continue
        if symbol.startswith(NOT_A_LICENSE) or not terms_for(symbol).same_terms:
            continue
        if symbol.removesuffix("-only").removesuffix("-or-later") not in own and symbol not in out:
            out.append(symbol)
    return out


def _notices(record: Record, records: Mapping[str, Record], eff: Effective) -> list[str]:
    """Attribution notices to reproduce: one per record of the lineage whose terms require attribution.

    Each is a sentence that can be pasted into a release: title, publishers (merged by identity),
    link, and every license of that record that requires attribution, by name and id. The reviewed
    record's own notice names the licence that actually applies to it: a base model's binding terms
    when it declared something more permissive.
    """
    from provaudit.rules.render import expression_label, join_words, license_label

    binding = _binding_base_licenses(record, eff)
    by_record: dict[str, list[str]] = {}
    for step in eff.steps:
        if not step.license or step.license.startswith(("NONE", "UNREAD:")):
            continue
        if step.record == record.id and binding:
            continue  # replaced by the base's binding licence below
        terms: Terms | None = terms_for(step.license) if not step.license.startswith("DPI:") else None
        if terms is not None and not terms.attribution:
            continue
        licenses = by_record.setdefault(step.record, [])
        if step.license not in licenses:
            licenses.append(step.license)
    if binding:
        by_record = {record.id: binding, **by_record}
    notices: list[str] = []
    for rid, licenses in by_record.items():
        source = records.get(rid)
        name = rid.split(":", 1)[-1]
        corpus = corpus_terms(name.removeprefix("dpi/").removeprefix("source/")) if source is None else None
        title = (source.fact("title") if source else None) or (corpus[0] if corpus else name)
        creators = merge_agents(a.name for a in source.agents if a.role in {"creator", "publisher"}) if source else []
        link = (source.fact("homepage") or source.fact("hf_url")) if source else None
        text = f'"{title}"' + (f" by {join_words(creators)}" if creators else "")
        text += f" ({link})" if link else ""
        text += f", licensed under {join_words([license_label(s) for s in licenses])}"
        if rid == record.id and binding:
            declared = " AND ".join(
                dict.fromkeys(t.license for _, t in eff.own if not t.license.startswith(NOT_A_LICENSE))
            )
            text += " as its base model's terms require" + (
                f" (the card's {expression_label(declared)} does not replace them)" if declared else ""
            )
        notices.append(text + ".")
    return notices


def review_records(
    records: Iterable[Record],
    policy: str | Policy = "default",
    *,
    extra_findings: dict[str, list[Finding]] | None = None,
) -> ReviewReport:
    """Review a collection: every record's verdict through the lineage, with rules run on each."""
    chosen = policy if isinstance(policy, Policy) else load_policy(policy)
    by_id = {r.id: r for r in records}
    lineage = Lineage(by_id, chosen)
    rules = available_rules()
    report = ReviewReport(policy=chosen.name)
    for rid in sorted(by_id):
        report.records.append(review_one(rid, lineage, rules, (extra_findings or {}).get(rid, [])))
    return report


def review_one(rid: str, lineage: Lineage, rules: list[Rule], extra: list[Finding]) -> RecordReview:
    """One record's review: its verdict through the lineage (``lineage.records`` holds it), rules run on it."""
    chosen = lineage.policy
    record = lineage.records[rid]
    eff = lineage.effective(rid)
    ctx = RuleContext(record=record, effective=eff, lineage=lineage, policy=chosen)
    findings = [*record.findings, *eff.findings, *run_rules(ctx, rules), *extra]
    return RecordReview(
        id=rid,
        name=record.name,
        kind=record.kind.value,
        declared=[
            DeclaredLicense.of(c, authority(c).label) for c in record.claims if is_declaration(c) or chosen.counts(c)
        ],
        effective_license=eff.expression(),
        use=eff.verdict,
        attribution=eff.attribution,
        share_alike=eff.share_alike,
        no_derivatives=eff.no_derivatives,
        use_restrictions=eff.use_restrictions,
        conditions=conditions(eff.steps),
        complete=eff.complete,
        unresolved=eff.unresolved,
        attribution_notices=_notices(record, lineage.records, eff),
        upstream=sorted({s.record for s in eff.steps if s.record != rid}),
        evidence=eff.steps,
        findings=findings,
        collections=_collections(record),
    )


def extra_findings(store: Store, sparql_rules: Iterable[str | Path] = ()) -> dict[str, list[Finding]]:
    """Findings the records do not hold: the SPARQL rules' (run on the store) and failed reads (PA016)."""
    from provaudit.versions.observations import failed_reads

    extra = run_sparql_rules(load_sparql_rules(sparql_rules), store.query) if sparql_rules else {}
    for rid, failed in failed_reads(store).items():  # a verdict from old evidence says how old it is
        extra.setdefault(rid, []).append(failed.finding())
    return extra


def review_store(
    store: Store,
    policy: str | Policy = "default",
    *,
    sparql_rules: Iterable[str | Path] = (),
    as_of: str | None = None,
) -> ReviewReport:
    """Review the current revision of every record in a store (SPARQL rules run on the store).

    ``as_of`` (a scan id, a date or a time): review the revisions in effect right after that scan
    instead, as :func:`provaudit.versions.asof.find_as_of` chooses it.
    """
    scans = store.scans()
    if as_of is None:
        extra = extra_findings(store, sparql_rules)
        report = review_records(list(store.records(light=True)), policy, extra_findings=extra)
    else:
        # versions builds on rules: imported on use, so rules never imports it at load time
        from provaudit.versions.asof import find_as_of
        from provaudit.versions.diff import state_at

        if sparql_rules:
            raise InputError(None, "--rules query the store as it is now; they cannot be combined with --as-of")
        at = find_as_of(store, as_of)
        report = review_records(list(state_at(store, at).records.values()), policy)
        scans = scans[: scans.index(at) + 1]
        report.as_of = ScanRef(id=at.iri.rsplit("/", 1)[-1], started=at.started, ended=at.ended)
    stamp(report, store, scans)
    return report


def stamp(report: ReviewReport, store: Store, scans: list[ScanInfo]) -> None:
    """Fill the report's header: when it was made, of which store and scans, by which provaudit."""
    report.generated = datetime.now(UTC).isoformat(timespec="seconds")
    report.store = _store_name(store)
    report.scans = [ScanRef(id=s.iri.rsplit("/", 1)[-1], started=s.started, ended=s.ended) for s in scans]
    report.tool = f"provaudit {provaudit.__version__}"


def _store_name(store: Store) -> str | None:
    """The store as the user named it: a URL, or a path (relative when it is under the working folder)."""
    where = getattr(store, "url", None) or getattr(store, "path", None)
    if where is None:
        return None
    text = str(where)
    if "://" in text:
        return text
    try:
        relative = os.path.relpath(Path(text).resolve(), Path.cwd())
    except ValueError:  # another drive (Windows)
        return text
    return text if relative.startswith("..") else relative
