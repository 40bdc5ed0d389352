"""The store interface: everything provaudit asks of a PROV-O store, kept small on purpose.

Two implementations: ``OxigraphStore`` (an on-disk RocksDB quad store) serves a laptop and a
100,000-record collection; ``SparqlStore`` writes to a shared SPARQL 1.1 server. Both satisfy
:class:`Store` structurally (mypy checks it wherever one is passed as a ``Store``).
Every store is append-only: scans add, nothing is overwritten.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Self

if TYPE_CHECKING:  # annotations only: `provaudit --version` does not import pydantic (tests/test_startup.py)
    from provaudit.records.model import Record

STORE_ENV = "PROVAUDIT_STORE"
DEFAULT_STORE = ".provaudit"


def default_store_path() -> Path:
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


@dataclass
class ScanInfo:
    iri: str
    started: str
    ended: str | None
    targets: list[str]
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class RevisionInfo:
    iri: str
    record_id: str
    generated: str
    scan: str
    digest: str
    previous: str | None
    record: Record


@dataclass
class QueryResult:
    """SELECT rows (variables + values as strings), an ASK boolean, or CONSTRUCT triples as N-Triples."""

    variables: list[str] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    boolean: bool | None = None
    ntriples: str | None = None


@dataclass
class ScanCounts:
    records: int = 0
    new: int = 0
    revised: int = 0
    unchanged: int = 0
    failed: int = 0  # records whose observation failed: their last good revision stays current

    def as_dict(self) -> dict[str, int]:
        counts = {"records": self.records, "new": self.new, "revised": self.revised, "unchanged": self.unchanged}
        if self.failed:  # only then: scans without failures keep the four counts they always had
            counts["failed"] = self.failed
        return counts


class BinaryOutput(Protocol):
    """Where an export goes: a binary file, or anything with its ``write`` and ``flush``."""

    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


class ScanWriter(Protocol):
    """An open scan: records go in, then commit (or nothing of it is ever seen)."""

    iri: str

    @property
    def counts(self) -> ScanCounts: ...

    def add(self, records: Iterable[Record], fingerprints: Iterable[str | None] | None = None) -> list[str]:
        """Write records; returns, per record, "new", "revised" or "unchanged".

        ``fingerprints`` (one per record, or None): the file-stat fingerprint of each record's folder.
        """
        ...

    def revision_for_fingerprint(self, fingerprint: str) -> str | None:
        """The revision a committed scan read from a folder with exactly this file-stat fingerprint."""
        ...

    def observe(self, record_id: str, revision: str) -> str:
        """Record that this scan saw ``revision`` again without re-reading it; returns the outcome."""
        ...

    def add_prov(self, ntriples: bytes) -> int:
        """Write an exported PROV document's triples as they are (import), before add()."""
        ...

    def commit(self) -> ScanInfo: ...


class Store(Protocol):
    @property
    def path(self) -> Path:
        """The store's folder (a server store: its URL, for messages)."""
        ...

    def begin_scan(self, targets: list[str], options: dict[str, object]) -> ScanWriter: ...

    def records(self, *, light: bool = False) -> Iterator[Record]:
        """The current revision of every record (``light``: without card text and file lists)."""
        ...

    def record(self, record_id: str) -> Record | None: ...

    def record_at(self, revision: str, *, light: bool = False) -> Record | None:
        """The record one revision holds (``light``: without card text and file lists)."""
        ...

    def records_at(self, scan: str, *, light: bool = False, only: Collection[str] | None = None) -> list[Record]:
        """The records one committed scan observed, as it observed them (``only``: these revision IRIs)."""
        ...

    def current_revisions(self, only: str | None = None, graphs: Sequence[str] | None = None) -> dict[str, str]:
        """record IRI → IRI of the revision its latest committed observation saw (``only``: one record IRI;
        ``graphs``: only those committed graphs' observations)."""
        ...

    def history(self, record_id: str) -> list[RevisionInfo]:
        """Every revision of a record, oldest first."""
        ...

    def scans(self) -> list[ScanInfo]: ...

    def commit_graph(self, graph: str, ntriples: bytes) -> None:
        """Write a whole provenance graph (a training run, an import) as one named graph and commit it.

        Like a scan, it is invisible to readers until its commit quad is written, so a crash leaves nothing.
        """
        ...

    def query(self, sparql: str) -> QueryResult: ...

    def ntriples(self) -> bytes:
        """Every committed triple, sorted, as N-Triples (deterministic)."""
        ...

    def export(self, fmt: str, out: BinaryOutput) -> None: ...

    def reopen(self) -> None:
        """A fresh view of the store (after another process changed it)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...
