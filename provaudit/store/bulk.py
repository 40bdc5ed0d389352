"""Every current record of a store read at once, as plain data: for readers of a whole collection (review, site).

A scan stores each revision's record twice as JSON: whole, and lean (``rdf.lean_json``: no card text, no file
list, no location). :func:`lean_revisions` reads the lean forms in one scan of the store instead of one look-up
per record, and validates nothing: the store wrote that JSON itself from a validated record. Parse only what is
needed: :meth:`LeanRevision.data` for plain dicts (``json.loads``), :meth:`LeanRevision.record` for a
:class:`~provaudit.records.model.Record`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from provaudit.store import rdf

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
