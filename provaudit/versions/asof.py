"""The store as of a past moment, and what changed since.

An answer about the past is read from the revisions in effect then (the store is append-only and
keeps every revision): :func:`find_as_of` turns ``SCAN|DATE`` into the committed scan that state
ends with; :class:`AsOf` names the revision of a record in effect after it (the rules of
:func:`provaudit.versions.diff.state_at`) and reads only the records a review of some records needs.
:func:`changes_since` lists, revision by revision, how one record changed after the revision an
answer rests on (licenses, upstream links, version): the "since then" notes of ``trace``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from itertools import pairwise
from typing import Any, Protocol

from provaudit.errors import InputError
from provaudit.records.identity import record_iri
from provaudit.records.model import Record
from provaudit.rules.report import RecordReview
from provaudit.rules.review import review_records
from provaudit.store.base import QueryResult, RevisionInfo, ScanInfo
from provaudit.versions.diff import record_revision_at, scan_depths, scan_id


class AsOfStore(Protocol):
    """What an as-of answer reads of a store (a subset of :class:`provaudit.store.base.Store`)."""

    def scans(self) -> list[ScanInfo]: ...

    def query(self, sparql: str) -> QueryResult: ...

    def records_at(self, scan: str, *, light: bool = False, only: Collection[str] | None = None) -> list[Record]: ...

    def record_at(self, revision: str, *, light: bool = False) -> Record | None: ...

    def record(self, record_id: str) -> Record | None: ...

    def history(self, record_id: str) -> list[RevisionInfo]: ...

    def current_revisions(self, only: str | None = None) -> dict[str, str]: ...


def moment(text: str | None) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime (naive ones are UTC); None when it is not one."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def same_second(a: datetime, b: datetime) -> bool:
    """Whether two moments fall in the same second (stored times keep whole seconds: order unknown)."""
    return a.replace(microsecond=0) == b.replace(microsecond=0)


def find_as_of(store: AsOfStore, spec: str) -> ScanInfo:
    """The scan ``--as-of SPEC`` means: a scan by id or IRI, else the last one committed at or before a
    date (``2026-11-26``: the end of that day, UTC) or a time (``2026-11-26T10:00:00Z``)."""
    scans = store.scans()
    for scan in scans:
        if spec in (scan.iri, scan_id(scan.iri)):
            return scan
    when = moment(spec)
    if when is None:
        known = ", ".join(scan_id(s.iri) for s in scans[-3:]) or "none yet"
        raise InputError(
            None,
            f"--as-of {spec!r} is neither a scan (latest: {known}; `provaudit scans` lists them) "
            "nor a date or time (2026-11-26, 2026-11-26T10:00:00Z)",
        )
    if "T" not in spec.upper() and " " not in spec.strip():  # a day: everything committed that day counts
        when = datetime.combine(when.date(), time.max, tzinfo=UTC)
    found = scan_before(scans, when)
    if found is None:
        first = f"the first is {scan_id(scans[0].iri)} at {scans[0].ended or scans[0].started}" if scans else "none"
        raise InputError(None, f"no scan was committed at or before {spec} ({first})")
    return found


def scan_before(scans: Iterable[ScanInfo], when: datetime) -> ScanInfo | None:
    """The last scan committed at or before ``when`` (its end time; a scan never ended does not count)."""
    found = None
    for scan in scans:
        ended = moment(scan.ended)
        if ended is not None and ended <= when:
            found = scan
    return found


class AsOf:
    """The revisions in effect right after one scan, resolved one record at a time (a trace reads a
    handful of records, never the whole store). ``pin`` sets the revision an answer rests on for a
    record (a model version, the revision carrying a data version) over the scan's."""

    def __init__(self, store: AsOfStore, scan: ScanInfo | None, scans: list[ScanInfo] | None = None) -> None:
        self.store = store
        self.scan = scan
        scans = store.scans() if scans is None else scans  # ``scans``: the store's, when already read
        self._upto = scans[: scans.index(scan) + 1] if scan in scans else []
        self._depth = scan_depths(store) if self._upto else {}
        self.revisions: dict[str, str | None] = {}

    def pin(self, record_id: str, revision: str) -> None:
        self.revisions[record_id] = revision

    def revision(self, record_id: str) -> str | None:
        """The revision IRI of ``record_id`` as of the scan (None: the record was not in the store)."""
        if record_id not in self.revisions:
            try:
                iri = record_iri(record_id)
            except ValueError:  # not a record id (an upstream named by something else): no record
                self.revisions[record_id] = None
            else:
                self.revisions[record_id] = record_revision_at(self.store, self._upto, self._depth, iri)
        return self.revisions[record_id]

    def record(self, record_id: str) -> Record | None:
        """The record at its revision as of the scan (light: no card text or file lists)."""
        revision = self.revision(record_id)
        return self.store.record_at(revision, light=True) if revision else None

    def lineage(self, start: Iterable[str]) -> dict[str, Record]:
        """The records ``start`` names and everything upstream of them, each at its revision as of the
        scan (a record with none is left out: a review then reports it as not audited)."""
        return closure(start, self.record)


def closure(start: Iterable[str], read: Callable[[str], Record | None]) -> dict[str, Record]:
    """The records ``start`` names and everything upstream of them, as ``read`` gives each by id."""
    found: dict[str, Record] = {}
    todo = list(start)
    while todo:
        rid = todo.pop()
        if rid in found:
            continue
        record = read(rid)
        if record is not None:
            found[rid] = record
            todo.extend(u.target for u in record.upstream)
    return found


def current_lineage(store: AsOfStore, start: Iterable[str]) -> dict[str, Record]:
    """The same closure over the current revision of every record."""
    return closure(start, store.record)


@dataclass
class Change:
    """One change of a record after the revision an answer rests on (one ``since`` entry)."""

    what: str  # license | upstream | version | verdict
    record: str
    from_: str | None
    to: str | None
    scan: str | None = None  # the scan id that recorded the change
    date: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "record": self.record,
            "from": self.from_,
            "to": self.to,
            "scan": self.scan,
            "date": self.date,
        }

    def phrase(self) -> str:
        """A few words, the record left out: ``relicensed CC-BY-4.0 → CC-BY-NC-4.0 (scan S, DATE)``;
        a version or verdict without its date (the change that caused it carries one)."""
        when = f" ({'scan ' + self.scan + ', ' if self.scan else ''}{self.date})" if self.date else ""
        if self.what == "license":
            return f"relicensed {self.from_ or 'none'} → {self.to or 'none'}{when}"
        if self.what == "upstream":
            return f"new upstream {self.to}{when}" if self.to else f"upstream {self.from_} removed{when}"
        if self.what == "version":
            return f"new version {_short_digest(self.to)}"
        if self.what == "verdict":
            return f"now {self.to}"
        return f"{self.what} {self.from_} → {self.to}{when}"


def _short_digest(value: str | None) -> str:
    if not value:
        return "none"
    return value if len(value) <= 24 else value[:19] + "…"


def since_phrases(changes: list[Change]) -> str:
    """One line for changes of several records: ``rec phrase, phrase; rec2 phrase``, records by id."""
    by_record: dict[str, list[Change]] = {}
    for change in changes:
        by_record.setdefault(change.record, []).append(change)
    return "; ".join(f"{rid} " + ", ".join(c.phrase() for c in items) for rid, items in sorted(by_record.items()))


def licenses_of(record: Record) -> str | None:
    """The record's own declared licenses, as one comparable text."""
    return ", ".join(sorted({c.expression or c.raw for c in record.claims})) or None


def _links(record: Record) -> set[str]:
    return {f"{u.target} ({u.relation.value})" for u in record.upstream}


def changes_since(store: AsOfStore, record_id: str, revision: str) -> list[Change]:
    """How ``record_id`` changed after ``revision``, up to its current revision, in the order recorded.

    A version only counts when one is known (a plain scan of a data folder records none), so a scan
    between two training runs does not read as two changes.
    """
    history = store.history(record_id)
    at = next((i for i, h in enumerate(history) if h.iri == revision), None)
    if at is None:
        return []
    current = store.current_revisions(only=record_iri(record_id)).get(record_iri(record_id))
    end = next((i for i, h in enumerate(history) if h.iri == current), len(history) - 1)
    steps: list[RevisionInfo] = history[at : end + 1] if end > at else []
    if end < at:  # an older revision is in force again: one step from the answer's revision to it
        steps = [history[at], history[end]]
    out: list[Change] = []
    version = history[at].record.version
    for before, after in pairwise(steps):
        old, new = before.record, after.record
        where = {"scan": scan_id(after.scan), "date": after.generated}
        if licenses_of(old) != licenses_of(new):
            out.append(Change("license", record_id, licenses_of(old), licenses_of(new), **where))
        for link in sorted(_links(new) - _links(old)):
            out.append(Change("upstream", record_id, None, link, **where))
        for link in sorted(_links(old) - _links(new)):
            out.append(Change("upstream", record_id, link, None, **where))
        if new.version and new.version != version:
            out.append(Change("version", record_id, version, new.version, **where))
            version = new.version
    return out


def verdict_text(review: RecordReview) -> str:
    return f"{review.use.value}, license {review.effective_license or 'none'}"


def verdict_change(then: RecordReview, now: RecordReview | None, changes: list[Change]) -> Change | None:
    """The verdict of the record now, when it differs from the one an answer rests on; dated by the
    latest change in its lineage (what made it differ)."""
    if now is None or (then.use, then.effective_license) == (now.use, now.effective_license):
        return None
    causes = [c for c in changes if c.what in ("license", "upstream")] or changes
    last = max(causes, key=lambda c: moment(c.date) or datetime.min.replace(tzinfo=UTC), default=None)
    return Change(
        "verdict",
        then.id,
        verdict_text(then),
        verdict_text(now),
        last.scan if last else None,
        last.date if last else None,
    )


def end_of(scan: ScanInfo) -> datetime | None:
    """When a scan committed (its start when it never recorded an end)."""
    return moment(scan.ended) or moment(scan.started)


def record_since(
    store: AsOfStore, state: AsOf, record_id: str, then: RecordReview | None, policy: str = "default"
) -> list[Change]:
    """What changed for one record after its revision as of ``state``: its own changes, and its verdict
    now when it differs from ``then`` (its review as of ``state``)."""
    revision = state.revision(record_id)
    changes = changes_since(store, record_id, revision) if revision else []
    if then is None:
        return changes
    lineage = current_lineage(store, [record_id])
    now = next((r for r in review_records(lineage.values(), policy).records if r.id == record_id), None)
    moved = verdict_change(then, now, changes)
    return [*changes, *([moved] if moved else [])]
