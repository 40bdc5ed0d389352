"""What changed between two scans: records added and removed, licenses, upstreams, verdicts, findings.

The state "as of" a scan X is what the store knew right after X committed: every record with the
revision its latest observation at or before X saw (X itself, or an earlier scan for a record X did
not observe). A record drops out of that state only when a later scan (still at or before X) covered
the scan that last observed it — the same targets or folders above them, at least as deep — and no
longer found it. So a collection scanned in parts never looks like deletions; a folder rescanned whole
without one of its datasets does. A record a scan met but could not read (a failed observation: offline,
refused, unreadable) is not removed either: its last good revision stays.

Both states are reviewed under one policy, because a verdict depends on the whole lineage: a dataset
whose license changed changes the verdict of every model trained on it, though their cards did not.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from provaudit.errors import InputError
from provaudit.records.identity import record_iri
from provaudit.records.model import Finding, LicenseClaim, Record, Upstream
from provaudit.rules.authority import declared_claims
from provaudit.rules.report import RecordReview
from provaudit.rules.review import review_records
from provaudit.store.base import QueryResult, RevisionInfo, ScanInfo

FAIL_ON = ("verdict", "license", "any", "never")
OBLIGATIONS = ("attribution", "share_alike", "no_derivatives", "use_restrictions")


class DiffStore(Protocol):
    """What a diff reads of a store: its scans, SPARQL, and the records one scan observed."""

    def scans(self) -> list[ScanInfo]: ...

    def query(self, sparql: str) -> QueryResult: ...

    def records_at(self, scan: str, *, light: bool = False, only: Collection[str] | None = None) -> list[Record]: ...


def scan_id(iri: str) -> str:
    """The short name `provaudit scans` prints: the IRI's last path segment."""
    return iri.rstrip("/").rsplit("/", 1)[-1]


def find_scan(scans: list[ScanInfo], name: str) -> ScanInfo:
    """A committed scan by its full IRI or its last path segment."""
    for scan in scans:
        if name in (scan.iri, scan_id(scan.iri)):
            return scan
    known = ", ".join(scan_id(s.iri) for s in scans[-3:]) or "none yet"
    raise InputError(None, f"no scan {name!r} in the store (latest: {known}); `provaudit scans` lists them")


def choose_scans(store: DiffStore, from_scan: str | None, to_scan: str | None) -> tuple[ScanInfo, ScanInfo]:
    """The two scans to compare: as given, else the last two (one given: it and the latest)."""
    scans = store.scans()
    if from_scan is not None:
        to = find_scan(scans, to_scan) if to_scan is not None else (scans[-1] if scans else None)
        assert to is not None  # find_scan raised on an empty store
        return find_scan(scans, from_scan), to
    if len(scans) < 2:
        raise InputError(
            None, f"the store has {len(scans)} scan(s); diff needs two (scan again, or name SCAN_A and SCAN_B)"
        )
    return scans[-2], scans[-1]


@dataclass
class State:
    """The records as of one scan: id → record, and id → the revision IRI it is."""

    scan: ScanInfo
    records: dict[str, Record]
    revisions: dict[str, str]


def _covers(later: ScanInfo, earlier: ScanInfo, depth: dict[str, int]) -> bool:
    """Would ``later`` have met every record ``earlier`` met, had they still been there?"""
    if not earlier.targets or depth.get(later.iri, 0) < depth.get(earlier.iri, 0):
        return False
    return all(any(t == u or t.startswith(u.rstrip("/") + "/") for u in later.targets) for t in earlier.targets)


def _observations(store: DiffStore) -> tuple[dict[str, dict[str, str]], dict[str, int], dict[str, set[str]]]:
    """scan IRI → {record id → revision IRI it observed}, scan IRI → the depth it followed lineage, and
    scan IRI → the record ids it tried to read and could not (failed observations)."""
    observed: dict[str, dict[str, str]] = defaultdict(dict)
    rows = store.query("SELECT ?s ?v ?id WHERE { ?s a pa:Scan ; pa:observed ?v . ?v dcterms:identifier ?id }").rows
    for s, v, rid in rows:
        if s and v and rid:
            observed[s][rid] = v
    failed: dict[str, set[str]] = defaultdict(set)
    rows = store.query(
        "SELECT ?s ?id WHERE { ?s pa:failedObservation ?f . ?f pa:ofRecord ?r . ?r dcterms:identifier ?id }"
    ).rows
    for s, rid in rows:
        if s and rid:
            failed[s].add(rid)
    return observed, scan_depths(store), failed


def scan_depths(store: DiffStore) -> dict[str, int]:
    """scan IRI → the depth it followed lineage."""
    depth: dict[str, int] = {}
    for s, options in store.query("SELECT ?s ?o WHERE { ?s a pa:Scan ; pa:options ?o }").rows:
        try:
            depth[s or ""] = int(json.loads(options or "{}").get("depth") or 0)
        except (ValueError, AttributeError, TypeError):
            depth[s or ""] = 0
    return depth


def record_revision_at(store: DiffStore, upto: list[ScanInfo], depth: dict[str, int], iri: str) -> str | None:
    """The revision of one record (its IRI) in effect right after the last of ``upto`` (the scans up to
    and including it, oldest first; ``depth`` from :func:`scan_depths`), by the rules of
    :func:`revisions_at` but reading only that record's observations."""
    rows = store.query(f"SELECT ?s ?v WHERE {{ ?s a pa:Scan ; pa:observed ?v . ?v prov:specializationOf <{iri}> }}")
    seen = {s: v for s, v in rows.rows if s and v}
    rows = store.query(f"SELECT ?s WHERE {{ ?s pa:failedObservation ?f . ?f pa:ofRecord <{iri}> }}")
    tried = {s for (s,) in rows.rows if s}  # met but not read: not gone, its last good revision stays
    latest: tuple[ScanInfo, str] | None = None
    for current in upto:
        if current.iri in seen:
            latest = (current, seen[current.iri])
        elif latest is not None and current.iri not in tried and _covers(current, latest[0], depth):
            latest = None
    return latest[1] if latest else None


def state_at(store: DiffStore, scan: ScanInfo) -> State:
    """The store's records as of ``scan`` (see the module docstring for what stays and what goes)."""
    latest = revisions_at(store, scan)
    wanted: dict[str, set[str]] = defaultdict(set)
    for by, v in latest.values():
        wanted[by].add(v)
    records: dict[str, Record] = {}
    for by, revisions in wanted.items():
        records.update((r.id, r) for r in store.records_at(by, light=True, only=revisions))
    return State(scan=scan, records=records, revisions={rid: latest[rid][1] for rid in records})


def revisions_at(store: DiffStore, scan: ScanInfo) -> dict[str, tuple[str, str]]:
    """record id → (IRI of the scan that last observed it, revision IRI) as of ``scan``, records unread."""
    scans = store.scans()
    upto = scans[: next(i for i, s in enumerate(scans) if s.iri == scan.iri) + 1]
    observed, depth, failed = _observations(store)
    latest: dict[str, tuple[str, str]] = {}  # record id → (scan IRI of its latest observation, revision IRI)
    for i, current in enumerate(upto):
        seen = observed.get(current.iri, {})
        tried = failed.get(current.iri, set())  # met but not read: not gone, its last good revision stays
        covered = {earlier.iri for earlier in upto[:i] if _covers(current, earlier, depth)}
        for rid in [rid for rid, (by, _) in latest.items() if by in covered and rid not in seen and rid not in tried]:
            del latest[rid]
        latest.update((rid, (current.iri, v)) for rid, v in seen.items())
    return latest


def _licenses(record: Record) -> list[str]:
    return sorted({c.expression or c.raw for c in declared_claims(record.claims)})


def _upstream(record: Record) -> set[tuple[str, str]]:
    return {(u.target, u.relation.value) for u in record.upstream}


def verdict(review: RecordReview) -> dict[str, Any]:
    """The parts of a review a CI job gates on."""
    return {
        "use": review.use.value,
        "effective_license": review.effective_license,
        "complete": review.complete,
        "obligations": [name for name in OBLIGATIONS if getattr(review, name)],
    }


def _finding(f: Finding) -> dict[str, str]:
    return {"rule": f.rule, "severity": f.severity.value, "message": f.message}


@dataclass
class RecordChange:
    """One record in both states that differs; a part that did not change is None."""

    id: str
    revision: dict[str, str] | None = None
    licenses: dict[str, list[str]] | None = None
    upstream: dict[str, list[dict[str, str]]] | None = None
    verdict: dict[str, dict[str, Any]] | None = None
    findings: dict[str, list[dict[str, str]]] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "revision": self.revision,
            "licenses": self.licenses,
            "upstream": self.upstream,
            "verdict": self.verdict,
            "findings": self.findings,
        }


def _license_moved(v: dict[str, dict[str, Any]]) -> bool:
    return bool(v["from"]["effective_license"] != v["to"]["effective_license"])


@dataclass
class ScanDiff:
    from_scan: ScanInfo
    to_scan: ScanInfo
    policy: str
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[RecordChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def fails(self, fail_on: str) -> bool:
        """Whether the diff should fail a CI job at this level (see FAIL_ON)."""
        if fail_on == "any":
            return not self.empty
        if fail_on == "verdict":
            return any(c.verdict for c in self.changed)
        if fail_on == "license":
            return any(c.licenses or (c.verdict and _license_moved(c.verdict)) for c in self.changed)
        return False

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.from_scan.iri,
            "to": self.to_scan.iri,
            "policy": self.policy,
            "added": self.added,
            "removed": self.removed,
            "changed": [c.to_json() for c in self.changed],
        }


def _summary(record: Record, review: RecordReview) -> dict[str, Any]:
    return {"id": record.id, "licenses": _licenses(record), **verdict(review)}


def _compare(rid: str, a: State, b: State, ra: RecordReview, rb: RecordReview) -> RecordChange | None:
    old, new = a.records[rid], b.records[rid]
    change = RecordChange(id=rid)
    if a.revisions[rid] != b.revisions[rid]:
        change.revision = {"from": a.revisions[rid], "to": b.revisions[rid]}
    if _licenses(old) != _licenses(new):
        change.licenses = {"from": _licenses(old), "to": _licenses(new)}
    up_old, up_new = _upstream(old), _upstream(new)
    if up_old != up_new:
        change.upstream = {
            "added": [{"target": t, "relation": r} for t, r in sorted(up_new - up_old)],
            "removed": [{"target": t, "relation": r} for t, r in sorted(up_old - up_new)],
        }
    if verdict(ra) != verdict(rb):
        change.verdict = {"from": verdict(ra), "to": verdict(rb)}
    fa = {(f.rule, f.message): f for f in ra.findings}
    fb = {(f.rule, f.message): f for f in rb.findings}
    if fa.keys() != fb.keys():
        change.findings = {
            "added": [_finding(fb[k]) for k in sorted(fb.keys() - fa.keys())],
            "resolved": [_finding(fa[k]) for k in sorted(fa.keys() - fb.keys())],
        }
    parts = (change.revision, change.licenses, change.upstream, change.verdict, change.findings)
    return change if any(p is not None for p in parts) else None


def diff_scans(
    store: DiffStore, from_scan: str | None = None, to_scan: str | None = None, *, policy: str = "default"
) -> ScanDiff:
    """Compare the store as of two scans (default: the last two), each reviewed under ``policy``."""
    first, second = choose_scans(store, from_scan, to_scan)
    a, b = state_at(store, first), state_at(store, second)
    review_a = {r.id: r for r in review_records(a.records.values(), policy).records}
    review_b = review_records(b.records.values(), policy)
    result = ScanDiff(from_scan=first, to_scan=second, policy=review_b.policy)
    reviewed_b = {r.id: r for r in review_b.records}
    for rid in sorted(b.records.keys() - a.records.keys()):
        result.added.append(_summary(b.records[rid], reviewed_b[rid]))
    for rid in sorted(a.records.keys() - b.records.keys()):
        result.removed.append(_summary(a.records[rid], review_a[rid]))
    for rid in sorted(a.records.keys() & b.records.keys()):
        change = _compare(rid, a, b, review_a[rid], reviewed_b[rid])
        if change is not None:
            result.changed.append(change)
    return result


# --- history: per revision, which scan, when, which source said what -------------------------------


class HistoryStore(Protocol):
    def history(self, record_id: str) -> list[RevisionInfo]: ...

    def query(self, sparql: str) -> QueryResult: ...


def _claim(c: LicenseClaim) -> dict[str, Any]:
    return {
        "raw": c.raw,
        "expression": c.expression,
        "method": c.method,
        "source": c.source.describe(),
        "collector": c.source.collector,
    }


def _claim_key(c: LicenseClaim) -> tuple[str | None, ...]:
    # the line is left out: a claim that only moved down the card says the same thing
    return (c.source.collector, c.source.file or c.source.url, c.source.field, c.raw, c.expression)


def _changes(old: Record, new: Record) -> list[str]:
    """What differs between two revisions of one record, by part (``content`` when only the rest did)."""
    parts = {
        "licenses": ({_claim_key(c) for c in old.claims}, {_claim_key(c) for c in new.claims}),
        "upstream": (_upstream(old), _upstream(new)),
        "version": (old.version, new.version),
        "agents": ({(a.name, a.role) for a in old.agents}, {(a.name, a.role) for a in new.agents}),
        "findings": ({(f.rule, f.message) for f in old.findings}, {(f.rule, f.message) for f in new.findings}),
    }
    return [name for name, (a, b) in parts.items() if a != b] or ["content"]


def history_rows(store: HistoryStore, record_id: str) -> list[dict[str, Any]]:
    """Every revision of a record, oldest first: the scan that made it and the scans that saw it, its
    license claims with their sources, what changed from the revision before, and the reads that failed
    while it was current (``failed_reads``)."""
    revisions = store.history(record_id)
    seen: dict[str, list[str]] = defaultdict(list)
    rows = store.query(
        "SELECT ?s ?v WHERE { ?s a pa:Scan ; pa:observed ?v . ?v prov:specializationOf <"
        + record_iri(record_id)
        + "> } ORDER BY ?s"
    ).rows
    for s, v in rows:
        seen[v or ""].append(scan_id(s or ""))
    # reads that failed: no revision of their own, listed under the revision that stayed current
    failed = store.query(
        "SELECT ?s ?at ?rule ?why WHERE { ?s pa:failedObservation ?f . ?f pa:ofRecord <"
        + record_iri(record_id)
        + "> ; prov:startedAtTime ?at ; pa:failureRule ?rule ; pa:failureMessage ?why } ORDER BY ?s"
    ).rows
    out: list[dict[str, Any]] = []
    before: Record | None = None
    for i, r in enumerate(revisions):
        until = revisions[i + 1].scan if i + 1 < len(revisions) else None
        failed_reads = [
            {"scan_id": scan_id(s or ""), "at": at, "rule": rule, "why": why}
            for s, at, rule, why in failed
            if (s or "") > r.scan and (until is None or (s or "") < until)  # scan IRIs sort by their start
        ]
        keys = {_claim_key(c) for c in before.claims} if before else set()
        now = {_claim_key(c) for c in r.record.claims}
        up_old = {(u.target, u.relation.value): u for u in before.upstream} if before else {}
        up_new = {(u.target, u.relation.value): u for u in r.record.upstream}
        out.append(
            {
                "revision": r.iri,
                "generated": r.generated,
                "scan": r.scan,
                "scan_id": scan_id(r.scan),
                "seen_by": seen.get(r.iri, []),
                "previous": r.previous,
                "licenses": [c.expression or c.raw for c in declared_claims(r.record.claims)],
                "claims": [
                    {**_claim(c), "change": "added" if before and _claim_key(c) not in keys else None}
                    for c in r.record.claims
                ],
                "dropped_claims": [_claim(c) for c in before.claims if _claim_key(c) not in now] if before else [],
                "upstream": None
                if before is None
                else {
                    "added": [_link(up_new[k]) for k in sorted(up_new.keys() - up_old.keys())],
                    "removed": [_link(up_old[k]) for k in sorted(up_old.keys() - up_new.keys())],
                },
                "changed": _changes(before, r.record) if before else [],
                "failed_reads": failed_reads,
            }
        )
        before = r.record
    return out


def _link(u: Upstream) -> dict[str, Any]:
    return {"target": u.target, "relation": u.relation.value, "source": u.source.describe(), "inferred": u.inferred}
