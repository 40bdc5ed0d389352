"""Records whose latest read failed: when each was last read, and when and why the read after it failed.

A failed read is stored as a ``pa:FailedObservation`` of the scan that tried (see
:mod:`provaudit.records.observation`); the record's last good revision stays current. The review adds
one PA016 finding to each such record, so a verdict read from old evidence says how old it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from provaudit.records.identity import record_iri
from provaudit.records.model import Finding, Severity
from provaudit.store.base import QueryResult

_VALUES = 500  # record IRIs per query


class _Queryable(Protocol):
    """Anything with the store's ``query`` (both stores)."""

    def query(self, sparql: str) -> QueryResult: ...


@dataclass(frozen=True)
class FailedRead:
    """The latest failed read of a record and the last read that succeeded before it."""

    record_id: str
    failed_at: str
    rule: str
    why: str
    last_read: str | None  # None: no read of it ever succeeded

    def finding(self) -> Finding:
        last = f"last fetched {self.last_read}" if self.last_read else "never fetched"
        return Finding(
            rule="PA016",
            severity=Severity.WARNING,
            message=f"{last}; the fetch of {self.failed_at} failed: {self.why}",
            fix="make the source readable again (network, HF_TOKEN, file permissions) and scan it again; "
            "until then this verdict is read from the last good revision",
        )


def failed_reads(store: _Queryable) -> dict[str, FailedRead]:
    """record id → its latest failed read, for the records whose latest attempt failed."""
    rows = store.query(
        "SELECT ?id ?s ?at ?rule ?why WHERE { ?s pa:failedObservation ?f . ?f pa:ofRecord ?r ; "
        "prov:startedAtTime ?at ; pa:failureRule ?rule ; pa:failureMessage ?why . ?r dcterms:identifier ?id }"
    ).rows
    latest: dict[str, tuple[str, str, str, str]] = {}  # id → (scan IRI, at, rule, why)
    for rid, scan, at, rule, why in rows:
        if rid and scan and (rid not in latest or scan > latest[rid][0]):  # scan IRIs sort by their start
            latest[rid] = (scan, at or "", rule or "", why or "")
    if not latest:
        return {}
    good: dict[str, tuple[str, str]] = {}  # id → (scan IRI, started) of its latest successful observation
    ids = sorted(latest)
    for i in range(0, len(ids), _VALUES):
        values = " ".join(f"<{record_iri(rid)}>" for rid in ids[i : i + _VALUES])
        for rid, scan, at in store.query(
            f"SELECT ?id ?s ?at WHERE {{ VALUES ?r {{ {values} }} ?r dcterms:identifier ?id . "
            "?v prov:specializationOf ?r . ?s pa:observed ?v ; prov:startedAtTime ?at }"
        ).rows:
            if rid and scan and (rid not in good or scan > good[rid][0]):
                good[rid] = (scan, at or "")
    out: dict[str, FailedRead] = {}
    for rid, (scan, at, rule, why) in latest.items():
        last = good.get(rid)
        if last is None or scan > last[0]:  # a later scan read it again: nothing to say
            out[rid] = FailedRead(rid, at, rule, why, last[1] if last else None)
    return out
