"""Every current record of a store read at once, as plain data: for readers of a whole collection (review, site).

A scan stores each revision's record twice as JSON: whole, and lean (``rdf.lean_json``: no card text, no file
list, no location). :func:`lean_revisions` reads the lean forms in one scan of the store instead of one look-up
per record, and validates nothing: the store wrote that JSON itself from a validated record. Parse only what is
needed: :meth:`LeanRevision.data` for plain dicts (``json.loads``), :meth:`LeanRevision.record` for a
:class:`~provaudit.records.model.Record`. :func:`histories` lists every record's revisions at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from provaudit.records.identity import id_from_iri
from provaudit.store import rdf
from provaudit.store.base import RevisionInfo

if TYPE_CHECKING:
    from provaudit.records.model import Record
    from provaudit.store.base import Store


@dataclass(frozen=True, slots=True)
class LeanRevision:
    """One revision's record as the store holds its lean form."""

    revision: str  # the revision's IRI (``<record IRI>/rev/<digest>``)
    text: str  # the record's lean JSON, as the scan wrote it (no card text, no file list, no location)
    location: str | None  # where it was read (stored beside the JSON: it is not part of the content)

    def data(self) -> dict[str, Any]:
        """The record as plain JSON data, ``location`` included (as ``Record.model_dump(mode="json")`` has it)."""
        data: dict[str, Any] = json.loads(self.text)
        data["location"] = self.location
        data.setdefault("files", [])  # left out of the lean form
        return data

    def record(self) -> Record:
        """The record, validated (as ``store.record_at(revision, light=True)`` returns it)."""
        from provaudit.records.model import Record

        record = Record.model_validate_json(self.text)
        record.location = self.location
        return record


def lean_revisions(store: Store, revisions: Iterable[str] | None = None) -> Iterator[LeanRevision]:
    """The lean form of each of ``revisions`` (revision IRIs; default: every record's current revision).

    In the store's order, not the order asked: sort by record id where that matters. An Oxigraph store reads
    them in one scan of its lean-JSON literals (a look-up each when few are asked); a revision stored without a
    lean form (an older scan, a SPARQL server) is read as ``store.record_at(..., light=True)`` and made lean.
    A revision that holds no record is left out.
    """
    wanted = set(store.current_revisions().values() if revisions is None else revisions)
    found: set[str] = set()
    bulk = getattr(store, "lean_json", None)
    if bulk is not None:
        for revision, text, location in bulk(wanted):
            found.add(revision)
            yield LeanRevision(revision, text, location)
    for revision in sorted(wanted - found):
        record = store.record_at(revision, light=True)
        if record is not None:
            yield LeanRevision(revision, rdf.lean_json(record), record.location)


# the query of ``store.history``, for every record at once (the same order: oldest first, ties by scan)
_HISTORIES = (
    "SELECT ?r ?v ?t ?s ?d ?p WHERE { ?v prov:specializationOf ?r ; prov:generatedAtTime ?t ; "
    "prov:wasGeneratedBy ?s ; pa:contentDigest ?d . OPTIONAL { ?v prov:wasRevisionOf ?p } } ORDER BY ?t ?s"
)


def _oldest_first(row: Sequence[str | None]) -> tuple[datetime, str]:
    """SPARQL's ``ORDER BY ?t ?s`` of a row (record, revision, time, scan, ...): times compared as instants."""
    try:
        at = datetime.fromisoformat(row[2] or "")
    except ValueError:  # not a dateTime (provaudit writes none): after every one that is
        return datetime.max, row[3] or ""
    return (at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at), row[3] or ""


def histories(store: Store, current: Mapping[str, Record]) -> dict[str, list[RevisionInfo]]:
    """Every revision of each record in ``current`` (record id -> its current record), oldest first, read at
    once (an Oxigraph store: one scan of each property; others: one query) instead of a ``store.history()``
    query per record.

    A record with one revision has ``current[id]`` itself as that revision's record (nothing is read; its
    ``previous`` is ``None``); a record with more has the rows ``store.history()`` gives, each revision's record
    read whole with ``store.record_at`` (a revision that holds no record is left out, as there).
    """
    rows: dict[str, list[tuple[str, str, str, str, str | None]]] = {}
    bulk = getattr(store, "revision_rows", None)
    if bulk is None:
        found: Iterable[Sequence[str | None]] = store.query(_HISTORIES).rows
    else:  # ordered as the query orders them: by time (as xsd:dateTime), then scan IRI
        found = sorted(bulk(), key=_oldest_first)
    for r, v, t, s, d, p in found:
        rid = id_from_iri(r or "")
        if rid is not None and rid in current:
            rows.setdefault(rid, []).append((v or "", t or "", s or "", d or "", p))
    out: dict[str, list[RevisionInfo]] = {}
    for rid, seen in rows.items():
        if len({v for v, *_ in seen}) == 1:
            v, t, s, d, _ = seen[0]
            out[rid] = [
                RevisionInfo(iri=v, record_id=rid, generated=t, scan=s, digest=d, previous=None, record=current[rid])
            ]
            continue
        read: dict[str, Record | None] = {}
        revisions = out[rid] = []
        for v, t, s, d, p in seen:
            record = read[v] if v in read else read.setdefault(v, store.record_at(v))
            if record is not None:
                revisions.append(
                    RevisionInfo(iri=v, record_id=rid, generated=t, scan=s, digest=d, previous=p, record=record)
                )
    return out
