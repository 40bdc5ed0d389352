"""The embedded store: an on-disk Oxigraph (RocksDB) quad store, append-only.

Each scan writes into its own named graph, batch by batch, and is committed by one last write of its
end time and ``pa:status "complete"``. Readers only ever see the graphs of committed scans, so an
interrupted scan (``kill -9`` included) is invisible; the next writer removes its leftovers. Nothing a
committed scan wrote is ever changed or removed.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import tempfile
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TypeVar

from pyoxigraph import (
    BlankNode,
    DefaultGraph,
    Literal,
    NamedNode,
    Quad,
    QueryBoolean,
    QuerySolutions,
    QueryTriples,
    RdfFormat,
    Store,
    Triple,
    parse,
    serialize,
)

from provaudit.errors import InputError, StoreError
from provaudit.records.identity import record_iri, revision_iri
from provaudit.records.model import Finding, Record
from provaudit.records.observation import failure_of, keeps_last_good
from provaudit.store import rdf, resilience, scan_index
from provaudit.store.base import BinaryOutput, QueryResult, RevisionInfo, ScanCounts, ScanInfo
from provaudit.store.vocab import PA, PREFIXES, PROV, RDF, sparql_prefixes

FORMAT_VERSION = 1
_Node = TypeVar("_Node")  # a shared node's text: N-Triples lines (a record) or bytes (a worker's)
_BATCH_QUADS = 200_000  # quads per bulk write; PROVAUDIT_WRITE_BATCH overrides (smaller: less memory)
# and bytes of N-Triples per bulk write: the loader holds several times its input (card text in pa:recordJson
# makes a batch of 200,000 quads 75 MB, and a scan's tree peaked at 840 MB at 5,000 records; 460 MB at 16 MiB)
_BATCH_BYTES = 16 << 20
# and lines written by this process (observations, fingerprints): an unchanged re-scan makes nothing else, one
# line of about 250 bytes per folder; held as text, joined and loaded at once they were a fifth of its memory
_PENDING_LINES = 8_192
_LOOKUPS = 2_000  # lean_json: up to this many revisions asked, a look-up each; more, one scan of them all
_EXPORT_FORMATS = {
    "turtle": RdfFormat.TURTLE,
    "ttl": RdfFormat.TURTLE,
    "nt": RdfFormat.N_TRIPLES,
    "ntriples": RdfFormat.N_TRIPLES,
    "nq": RdfFormat.N_QUADS,
    "trig": RdfFormat.TRIG,
    "rdfxml": RdfFormat.RDF_XML,
}


# what a scan counts (ScanCounts.as_dict's keys), each stored as pa:count<Key>
_COUNTS = tuple(ScanCounts(failed=1).as_dict())


def _term_text(term: object) -> str | None:
    if term is None:
        return None
    value = getattr(term, "value", None)
    return str(value) if value is not None else str(term)


def _value(term: NamedNode | BlankNode | Literal | Triple) -> str:
    """A quad object's value. provaudit writes no RDF 1.2 triple terms; one here came from foreign data."""
    if isinstance(term, Triple):
        raise StoreError(f"unexpected RDF triple term {term} where an IRI or literal belongs")
    return term.value


def _dataset(graphs: list[NamedNode]) -> list[NamedNode | BlankNode | DefaultGraph]:
    """The graphs as the list type ``Store.query(default_graph=...)`` is annotated with (``list`` is invariant)."""
    return list(graphs)


class OxigraphStore:
    """A provaudit store in a folder (default ``.provaudit/``)."""

    def __init__(self, path: str | Path, *, read_only: bool = False, wait: float = 0.0) -> None:
        self.path = Path(path)
        self._snapshot: Path | None = None
        db = self.path / "oxigraph"
        meta = self.path / "store.json"
        if os.path.lexists(meta):  # before anything is opened or recovered: a foreign folder is never touched
            resilience.read_meta(self.path, meta)
        resilience.check_database_folder(self.path, db)
        for warning in resilience.writable_by_others(self.path):
            resilience.warn_once(warning)
        if read_only:
            if not db.is_dir():
                raise StoreError(f"{self.path}: no provaudit store here; run `provaudit scan PATH` first")
            self._ox = self._open_read_only(db)
        else:
            if self.path.exists() and not self.path.is_dir():
                raise StoreError(f"{self.path}: exists and is not a folder; choose another --store")
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{self.path}: cannot create the store folder ({exc.strerror or exc})") from exc
            self._ox = resilience.open_writer(self.path, db, wait)
            if not os.path.lexists(meta):
                meta.write_text(json.dumps({"format": "provaudit-oxigraph", "version": FORMAT_VERSION}) + "\n")
            self._recover()
        if os.path.lexists(meta):
            version = resilience.read_meta(self.path, meta).get("version")
            if version != FORMAT_VERSION:
                raise StoreError(f"{self.path}: store format {version} is not {FORMAT_VERSION}; upgrade provaudit")
        self.read_only = read_only

    def reopen(self) -> None:
        """A fresh read-only view (after a writer's compaction removed files the old one listed)."""
        self._drop_view()
        self._ox = self._open_read_only(self.path / "oxigraph")

    def _open_read_only(self, db: Path) -> Store:
        # A reader reads a snapshot of the database (hard links to its immutable table files) that a
        # writer's compactions cannot change; without one (no write access beside the store) it reads
        # the live folder, and a compaction can remove a file while it opens: then it tries again.
        for attempt in range(8):
            self._snapshot = resilience.snapshot(self.path, db) if db.is_dir() else None
            try:
                return Store.read_only(str(self._snapshot or db))
            except (OSError, RuntimeError) as exc:
                self._drop_view()
                if attempt == 7:
                    raise StoreError(
                        f"{self.path}: cannot open the store read-only ({exc}); if a scan is writing, try again, "
                        f"else {resilience.check_hint(self.path)}"
                    ) from exc
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def _drop_view(self) -> None:
        """Close the read-only view and remove its snapshot."""
        if hasattr(self, "_ox"):
            del self._ox  # the database closes when its last reference goes
        resilience.drop_snapshot(getattr(self, "_snapshot", None))
        self._snapshot = None

    # --- scans -------------------------------------------------------------------------------

    def _committed(self) -> list[NamedNode]:
        return [
            NamedNode(g.value)
            for g in self._ox.named_graphs()
            if isinstance(g, NamedNode) and next(self._ox.quads_for_pattern(g, PA.status, Literal("complete"), g), None)
        ]

    def _recover(self) -> None:
        """Drop what interrupted scans left: their graphs were never committed, so never seen."""
        committed = {g.value for g in self._committed()}
        for graph in list(self._ox.named_graphs()):
            if isinstance(graph, NamedNode) and graph.value not in committed:
                self._ox.remove_graph(graph)

    def begin_scan(self, targets: list[str], options: dict[str, object]) -> OxigraphScan:
        if self.read_only:
            raise StoreError(f"{self.path}: opened read-only")
        return OxigraphScan(self, targets, options)

    @resilience.retry_reads
    def scans(self) -> list[ScanInfo]:
        out: list[ScanInfo] = []
        for graph in self._committed():
            if next(self._ox.quads_for_pattern(graph, RDF.type, PA.Scan, graph), None) is None:
                continue  # a committed graph that is no scan (a training run)

            def values(predicate: NamedNode, g: NamedNode = graph) -> list[str]:
                return [_value(q.object) for q in self._ox.quads_for_pattern(g, predicate, None, g)]

            counts = {}
            # each count by its own predicate: the scan node is also the subject of one pa:observed per record
            for key in _COUNTS:
                for quad in self._ox.quads_for_pattern(graph, PA.term(f"count{key[:1].upper()}{key[1:]}"), None, graph):
                    counts[key] = int(_value(quad.object))
            started, ended = values(PROV.startedAtTime), values(PROV.endedAtTime)
            out.append(
                ScanInfo(
                    iri=graph.value,
                    started=started[0] if started else "",
                    ended=ended[0] if ended else None,
                    targets=sorted(values(PA.target)),
                    counts=counts,
                )
            )
        return sorted(out, key=lambda s: (s.started, s.iri))

    def commit_graph(self, graph: str, ntriples: bytes) -> None:
        """Write triples as the named graph ``graph`` and commit it (see :meth:`Store.commit_graph`)."""
        if self.read_only:
            raise StoreError(f"{self.path}: opened read-only")
        node = NamedNode(graph)
        quads = [Quad(t.subject, t.predicate, t.object, node) for t in parse(ntriples, format=RdfFormat.N_TRIPLES)]
        self._ox.bulk_extend(quads)
        self._ox.extend([Quad(node, PA.status, Literal("complete"), node)])
        self._ox.flush()

    # --- reading -----------------------------------------------------------------------------

    @resilience.retry_reads
    def current_revisions(self, only: str | None = None, graphs: Sequence[str] | None = None) -> dict[str, str]:
        """record IRI → IRI of the revision its latest committed observation saw (``only``: one record IRI;
        ``graphs``: only those committed graphs' observations)."""
        asked = None if graphs is None else set(graphs)
        read = [g for g in self._committed() if asked is None or g.value in asked]
        if not read:
            return {}
        if only is None:
            return self._all_current(read)
        latest: dict[str, tuple[str, str, str]] = {}
        # the record's IRI written into the pattern: bound by `substitutions` instead, the query read every
        # observation of the store first (0.4 s for one record of a 200-record store)
        rows = self._ox.query(
            sparql_prefixes()
            + "SELECT ?v ?end ?s WHERE { ?s pa:observed ?v ; prov:endedAtTime ?end . "
            + f"?v prov:specializationOf {NamedNode(only)} }}",
            default_graph=_dataset(read),
        )
        assert isinstance(rows, QuerySolutions)
        for row in rows:
            v, end, s = (_term_text(row[i]) or "" for i in range(3))
            r = only
            if r not in latest or (end, s) > latest[r][:2]:
                latest[r] = (end, s, v)
        return {r: value[2] for r, value in latest.items()}

    def _all_current(self, graphs: list[NamedNode]) -> dict[str, str]:
        """Every record's current revision: scan graphs newest first, the first observation of a record wins.

        Reads each graph's ``pa:observed`` index directly; a revision IRI names its record
        (``<record>/rev/<digest>``), so no join is needed.
        """
        ended = {
            g.value: next((_value(q.object) for q in self._ox.quads_for_pattern(g, PROV.endedAtTime, None, g)), "")
            for g in graphs
        }
        latest: dict[str, str] = {}
        for graph in sorted(graphs, key=lambda g: (ended[g.value], g.value), reverse=True):
            for quad in self._ox.quads_for_pattern(graph, PA.observed, None, graph):
                v = _value(quad.object)
                r, sep, _ = v.rpartition("/rev/")
                if not sep:  # not provaudit's IRI scheme (an imported graph): ask the store
                    if isinstance(quad.object, Literal):  # a literal specializes nothing
                        continue
                    spec = next(self._ox.quads_for_pattern(quad.object, PROV.specializationOf, None), None)
                    if spec is None:
                        continue
                    r = _value(spec.object)
                if r not in latest:
                    latest[r] = v
        return latest

    @resilience.retry_reads
    def _record_at(self, revision: str, *, light: bool = False) -> Record | None:
        node = NamedNode(revision)
        quad = None
        if light:  # the lean form (no card text, no file list), when the revision has one
            quad = next(self._ox.quads_for_pattern(node, PA.recordJsonLean, None), None)
        full = quad is None
        if full:
            quad = next(self._ox.quads_for_pattern(node, PA.recordJson, None), None)
        if quad is None:
            return None
        record = Record.model_validate_json(_value(quad.object))
        if light and full:
            record.facts = [f for f in record.facts if f.key not in rdf.LARGE_FACTS]
            record.files = []
        location = next(self._ox.quads_for_pattern(NamedNode(revision), PA.location, None), None)
        record.location = _value(location.object) if location else None
        return record

    def record_at(self, revision: str, *, light: bool = False) -> Record | None:
        """The record one revision holds (``light``: without card text and file lists)."""
        return self._record_at(revision, light=light)

    def lean_json(self, revisions: Collection[str]) -> Iterator[tuple[str, str, str | None]]:
        """(revision IRI, lean record JSON, location) of each of ``revisions`` stored with a lean form, in the
        store's order (not the order asked): one scan of the committed graphs' lean-JSON literals when many
        are asked, a look-up each when few. The text is as the scan wrote it, never validated here;
        :mod:`provaudit.store.bulk` is the reader to use."""
        wanted = revisions if isinstance(revisions, set | frozenset | dict) else set(revisions)
        if len(wanted) <= _LOOKUPS:
            for v in wanted:
                node = NamedNode(v)
                lean = next(self._ox.quads_for_pattern(node, PA.recordJsonLean, None), None)
                if lean is not None:
                    place = next(self._ox.quads_for_pattern(node, PA.location, None), None)
                    yield v, _value(lean.object), _value(place.object) if place else None
            return
        graphs = self._committed()
        locations = {
            _value(q.subject): _value(q.object)
            for g in graphs
            for q in self._ox.quads_for_pattern(None, PA.location, None, g)
            if _value(q.subject) in wanted
        }
        seen: set[str] = set()  # a revision another graph wrote again (an import) is read once
        for g in graphs:
            for q in self._ox.quads_for_pattern(None, PA.recordJsonLean, None, g):
                v = _value(q.subject)
                if v in wanted and v not in seen:
                    seen.add(v)
                    yield v, _value(q.object), locations.get(v)

    def revision_rows(self) -> Iterator[tuple[str, str, str, str, str, str | None]]:
        """(record IRI, revision IRI, generated, scan, digest, previous revision or None): the rows of
        ``history``'s query for every record at once, unordered. Read by one scan of each property in the
        committed graphs: the same query joined over their union cost 0.8 s CPU at 5,000 records;
        :func:`provaudit.store.bulk.histories` is the reader to use."""
        graphs = self._committed()

        def values(prop: NamedNode) -> dict[str, list[str]]:
            out: dict[str, list[str]] = {}
            for g in graphs:
                for q in self._ox.quads_for_pattern(None, prop, None, g):
                    found = out.setdefault(_value(q.subject), [])
                    if (value := _value(q.object)) not in found:  # a triple in two graphs is one in their union
                        found.append(value)
            return out

        of, at, by = values(PROV.specializationOf), values(PROV.generatedAtTime), values(PROV.wasGeneratedBy)
        digests, previous = values(PA.contentDigest), values(PROV.wasRevisionOf)
        for v, records in of.items():  # a join, as the query's: every combination of a revision's values
            before: Sequence[str | None] = previous.get(v) or [None]  # optional, as in the query
            for r in records:
                for t in at.get(v, ()):
                    for s in by.get(v, ()):
                        for d in digests.get(v, ()):
                            for p in before:
                                yield r, v, t, s, d, p

    def records(self, *, light: bool = False) -> Iterator[Record]:
        """The current revision of every record; ``light`` leaves out card text and file lists."""
        # records hold no reference cycles: collecting young objects while thousands are made is wasted
        # work (it was 43% of a review), so the collector runs rarely until the reading is done
        gc.freeze()
        threshold = gc.get_threshold()
        gc.set_threshold(max(threshold[0], 100_000), *threshold[1:])
        try:
            for _, revision in sorted(self.current_revisions().items()):
                record = self._record_at(revision, light=light)
                if record is not None:
                    yield record
        finally:
            gc.set_threshold(*threshold)

    def record(self, record_id: str) -> Record | None:
        iri = record_iri(record_id)
        revision = self.current_revisions(only=iri).get(iri)
        return self._record_at(revision) if revision else None

    def records_at(self, scan: str, *, light: bool = False, only: Collection[str] | None = None) -> list[Record]:
        """The records one committed scan observed, as it observed them (``only``: these revision IRIs)."""
        graph = NamedNode(scan)
        if graph not in self._committed():
            return []
        revisions = sorted(_value(q.object) for q in self._ox.quads_for_pattern(graph, PA.observed, None, graph))
        found = (self._record_at(v, light=light) for v in revisions if only is None or v in only)
        return [r for r in found if r is not None]

    @resilience.retry_reads
    def history(self, record_id: str) -> list[RevisionInfo]:
        result = self.query(
            "SELECT ?v ?t ?s ?d ?p WHERE { ?v prov:specializationOf <"
            + record_iri(record_id)
            + "> ; prov:generatedAtTime ?t ; prov:wasGeneratedBy ?s ; pa:contentDigest ?d . "
            "OPTIONAL { ?v prov:wasRevisionOf ?p } } ORDER BY ?t ?s"
        )
        out: list[RevisionInfo] = []
        for v, t, s, d, p in result.rows:
            record = self._record_at(v or "")
            if record is not None:
                out.append(
                    RevisionInfo(
                        iri=v or "",
                        record_id=record_id,
                        generated=t or "",
                        scan=s or "",
                        digest=d or "",
                        previous=p,
                        record=record,
                    )
                )
        return out

    @resilience.retry_reads
    def query(self, sparql: str) -> QueryResult:
        """Run SPARQL 1.1 over every committed scan (the provaudit prefixes are predeclared)."""
        graphs = self._committed()
        named: list[NamedNode | BlankNode] = list(graphs)
        try:
            result = self._ox.query(sparql_prefixes() + sparql, default_graph=_dataset(graphs), named_graphs=named)
        except SyntaxError as exc:
            raise InputError(None, f"SPARQL syntax error: {exc}") from exc
        if isinstance(result, QueryBoolean):
            return QueryResult(boolean=bool(result))
        if isinstance(result, QuerySolutions):
            variables = [v.value for v in result.variables]
            rows = [[_term_text(row[i]) for i in range(len(variables))] for row in result]
            return QueryResult(variables=variables, rows=rows)
        data = result.serialize(format=RdfFormat.N_TRIPLES)
        return QueryResult(ntriples=data.decode() if data else "")

    @resilience.retry_reads
    def ntriples(self) -> bytes:
        """Every committed triple, sorted, as N-Triples (deterministic)."""
        graphs = self._committed()
        if not graphs:
            return b""
        result = self._ox.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", default_graph=_dataset(graphs))
        assert isinstance(result, QueryTriples)
        data = result.serialize(format=RdfFormat.N_TRIPLES)
        lines = sorted(set((data or b"").decode().splitlines()))
        return ("\n".join(lines) + "\n").encode() if lines else b""

    def export(self, fmt: str, out: BinaryOutput) -> None:
        fmt = fmt.lower()
        graphs = self._committed()
        if fmt in {"nq", "trig"}:
            quads = (q for g in graphs for q in self._ox.quads_for_pattern(None, None, None, g))
            serialize(quads, out, _EXPORT_FORMATS[fmt])  # type: ignore[arg-type]  # pyoxigraph's stub says IO[bytes]; it calls only write() and flush()
            return
        if fmt not in _EXPORT_FORMATS and fmt not in {"jsonld", "json-ld"}:
            raise InputError(None, f"unknown export format {fmt!r}; use turtle, jsonld, nt, nq or trig")
        if fmt in _EXPORT_FORMATS and _EXPORT_FORMATS[fmt] == RdfFormat.N_TRIPLES:
            out.write(self.ntriples())  # already sorted N-Triples: written as they are
            return
        # the triples are taken from the store as terms, never re-parsed from text: the N-Triples parser
        # holds one line in a buffer of at most 16 MiB, and a card's text can make a longer literal
        triples = sorted({q.triple for g in graphs for q in self._ox.quads_for_pattern(None, None, None, g)}, key=str)
        if fmt in {"jsonld", "json-ld"}:
            from provaudit.store.jsonld import triples_to_jsonld

            out.write(triples_to_jsonld(triples))
            return
        serialize(triples, out, _EXPORT_FORMATS[fmt], prefixes=PREFIXES)  # type: ignore[arg-type]  # pyoxigraph's stub says IO[bytes]; it calls only write() and flush()

    def close(self) -> None:
        if not self.read_only:
            self._ox.flush()
        self._drop_view()

    def __del__(self) -> None:  # a reader left open: its snapshot goes with it
        snapshot = getattr(self, "_snapshot", None)
        if snapshot is not None:
            import shutil  # at interpreter exit module globals may be gone: nothing shared is used

            shutil.rmtree(snapshot, ignore_errors=True)

    def __enter__(self) -> OxigraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OxigraphScan:
    """One scan being written: batches into its own graph, made visible by commit()."""

    def __init__(self, store: OxigraphStore, targets: list[str], options: dict[str, object]) -> None:
        self.store = store
        self.started = rdf.now()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        self.graph = rdf.scan_iri(stamp)
        self.iri = self.graph.value
        self._committed = [g.value for g in store._committed()]
        # what the last scan left in the scan index, when it describes this store; else read from the store
        index = scan_index.read(store.path, scan_index.graphs_key(self._committed))
        # record IRI → its current revision before this scan
        self._before = index.current if index is not None else store.current_revisions()
        # record id → (revision observed, written by this scan, fingerprint written with it)
        self._seen: dict[str, tuple[str, bool, str | None]] = {}
        self._created: set[str] = set()
        self._nodes: set[str] = set()
        self._sources: set[str] = set()  # shared node IRIs known to be stored (by this scan or before)
        self._outcomes: dict[str, str] = {}
        # record id → (what a failed read gave, why it failed): written as pa:FailedObservation at commit
        self._failed: dict[str, tuple[Record, Finding]] = {}
        self._pending: list[str] = []  # N-Triples lines for this scan's graph
        self._chunks: list[bytes] = []  # and N-Triples documents made by scan workers (PreparedRevision)
        self._chunk_quads = 0
        self._chunk_bytes = 0
        # fingerprint → revision, and current revision → its pa:scanSummary: from the index, else read on first use
        self._prints: dict[str, str] | None = index.prints if index is not None else None
        self._summaries: dict[str, str] | None = index.summaries if index is not None else None
        self._noted: IO[str] | None = None  # the summaries this scan wrote, for the next scan index (scan_index)
        self._ox = store._ox
        # a store without a graph holds no node yet: nothing needs looking up before it is written
        self._empty = next(iter(self._ox.named_graphs()), None) is None
        self._batch = int(os.environ.get("PROVAUDIT_WRITE_BATCH") or _BATCH_QUADS)
        self._ox.extend(rdf.scan_start_quads(self.graph, self.started, targets, options))

    def _exists(self, iri: str, kind: NamedNode) -> bool:
        if self._empty:
            return False
        return next(self._ox.quads_for_pattern(NamedNode(iri), RDF.type, kind), None) is not None

    def _unstored(self, nodes: Mapping[str, _Node]) -> list[_Node]:
        """Of these shared nodes (source, agent, claim, fact, finding: rdf.revision_lines; IRI → its text),
        those not stored yet, by this scan or before; each is then counted as stored."""
        out = []
        for iri, node in nodes.items():
            if iri in self._sources:
                continue
            self._sources.add(iri)
            if self._empty or next(self._ox.quads_for_pattern(NamedNode(iri), RDF.type, None), None) is None:
                out.append(node)
        return out

    @staticmethod
    def _fingerprint_line(v: str, fingerprint: str) -> str:
        return f"<{v}> <{PA.fingerprint.value}> {json.dumps(fingerprint)} ."

    def add(self, records: Iterable[Record], fingerprints: Iterable[str | None] | None = None) -> list[str]:
        """Write records as they come (streamed: call it once or many times before commit).

        The same record id met twice in one scan (two collectors, two folders of one repo) is merged:
        the earlier observation is read back, merged, and replaced; nothing is visible before commit.
        ``fingerprints`` (one per record, or None): the file-stat fingerprint of the folder each record
        was read from, kept with its revision so a later scan can skip the unchanged folder.
        """
        outcomes: list[str] = []
        prints = iter(fingerprints) if fingerprints is not None else None
        for record in records:
            fingerprint = next(prints, None) if prints is not None else None
            if record.id in self._failed:  # met again after a failed read in this scan: merge, decide again
                held = self._failed.pop(record.id)[0]
                held.merge(record)
                record, fingerprint = held, None
            elif record.id in self._seen:
                record = self._merge_earlier(record)
                fingerprint = None  # a merge of several sources is no one folder's content
            r = record_iri(record.id)
            previous = self._before.get(r)
            if failure_of(record) and previous:
                why = keeps_last_good(record, self.store._record_at(previous, light=True))
            else:
                why = None
            if why is not None:
                # a failed read: the good revision stays current, the attempt is recorded beside it
                self._failed[record.id] = (record.model_copy(deep=True), why)
                self._outcomes[record.id] = "failed"
                outcomes.append("failed")
                continue
            digest = record.content_digest()
            v = revision_iri(record.id, digest)
            created = False
            if v not in self._created and not self._exists(v, PA.Revision):
                if r not in self._nodes and not self._exists(r, PROV.Entity):
                    self._pending += rdf.record_node_lines(record)
                    self._nodes.add(r)
                entry = rdf.ScanEntry.of(record)
                lines, sources = rdf.revision_lines(
                    record, digest, self.iri, self.started, previous, fingerprint=fingerprint, entry=entry
                )
                self._note(v, entry.to_json())
                self._pending += lines
                self._chunk_bytes += sum(map(len, lines))  # characters: near enough to bytes here
                for node in self._unstored(sources):
                    self._pending += node
                self._created.add(v)
                created = True
                outcome = "revised" if previous else "new"
            else:
                outcome = self._stored(v, previous, fingerprint)
            self._observe(record.id, v, outcome, created, fingerprint)
            outcomes.append(outcome)
        return outcomes

    def add_prepared(self, prepared: rdf.PreparedRevision, fingerprint: str | None = None) -> str | None:
        """Write a record a scan worker turned into store text (:func:`rdf.prepare_revision`): only what is
        not stored yet is routed to the bulk loader, nothing is parsed. Returns the outcome, as :meth:`add`
        does, or None when the record itself is needed (met twice in this scan, or a failed read that may
        keep the last good revision): then pass it to :meth:`add`.
        """
        rid = prepared.record_id
        r = record_iri(rid)
        previous = self._before.get(r)
        if rid in self._seen or rid in self._failed or (prepared.failed and previous):
            return None
        v = prepared.revision
        created = False
        if v not in self._created and not self._exists(v, PA.Revision):
            if r not in self._nodes and not self._exists(r, PROV.Entity):
                self._chunks.append(prepared.node)
                self._nodes.add(r)
            self._chunks.append(prepared.body)
            self._chunk_bytes += len(prepared.body)
            self._note(v, prepared.summary)
            extra = []
            if previous:
                extra.append(f"<{v}> <{PROV.wasRevisionOf.value}> <{previous}> .")
            if fingerprint:
                extra.append(self._fingerprint_line(v, fingerprint))
            self._pending += extra
            self._chunk_quads += prepared.size
            self._chunks += self._unstored(prepared.sources)
            self._created.add(v)
            created = True
            outcome = "revised" if previous else "new"
        else:
            outcome = self._stored(v, previous, fingerprint)
        self._observe(rid, v, outcome, created, fingerprint)
        return outcome

    def _stored(self, v: str, previous: str | None, fingerprint: str | None) -> str:
        """The outcome of a revision already in the store (this folder's fingerprint added to it)."""
        if fingerprint:
            self._pending.append(self._fingerprint_line(v, fingerprint))
        return "unchanged" if previous == v else ("revised" if previous else "new")

    def summary_of(self, revision: str, record_id: str | None = None) -> rdf.ScanEntry | None:
        """What a scan's summary counts of a stored revision (None: written before revisions kept it).

        The entries of the current revisions (those an unchanged folder names) are read in one pass on
        first use; any other revision is looked up alone. A summary asked for moves to the spooled ones
        (:meth:`_note`): the caller keeps its entry, so its text need not stay in memory for the index.
        ``record_id``: see :meth:`rdf.ScanEntry.from_json`."""
        if self._summaries is None:
            current = set(self._before.values())
            self._summaries = {
                quad.subject.value: _value(quad.object)
                for quad in self._ox.quads_for_pattern(None, PA.scanSummary, None)
                if isinstance(quad.subject, NamedNode) and quad.subject.value in current
            }
        text = self._summaries.pop(revision, None)
        if text is None:
            quad = next(self._ox.quads_for_pattern(NamedNode(revision), PA.scanSummary, None), None)
            text = _value(quad.object) if quad is not None else None
        if text is None:
            return None
        self._note(revision, text)
        return rdf.ScanEntry.from_json(text, record_id)

    def _note(self, revision: str, summary: str) -> None:
        """Keep a revision's summary for the scan index, in a temporary file (memory stays flat)."""
        if self._noted is None:
            self._noted = tempfile.TemporaryFile(  # noqa: SIM115 - closed by _write_index (or with the process)
                "w+", encoding="utf-8", errors="surrogatepass", dir=self.store.path
            )
        self._noted.write(scan_index.summary_line(revision, summary))

    def _write_index(self) -> None:
        """The scan index as this scan leaves the store (after its commit): current revisions, their
        summaries, fingerprints."""
        current = self._before  # no longer needed as it was: updated in place (a copy is 100,000 entries)
        for rid, (v, _, _) in self._seen.items():
            current[record_iri(rid)] = v
        if self._prints is None:
            self.revision_for_fingerprint("")  # every stored fingerprint, read once
        prints = self._prints or {}
        for v, _, fingerprint in self._seen.values():
            if fingerprint:
                prints.setdefault(fingerprint, v)
        index = scan_index.ScanIndex(current, self._summaries or {}, prints)
        try:
            scan_index.write(self.store.path, scan_index.graphs_key([*self._committed, self.iri]), index, self._noted)
        finally:
            if self._noted is not None:
                self._noted.close()

    def _observe(self, record_id: str, v: str, outcome: str, created: bool, fingerprint: str | None) -> None:
        self._pending.append(f"<{self.iri}> <{PA.observed.value}> <{v}> .")
        self._seen[record_id] = (v, created, fingerprint)
        self._outcomes[record_id] = outcome
        if (
            len(self._pending) + self._chunk_quads >= self._batch
            or self._chunk_bytes >= _BATCH_BYTES
            or len(self._pending) >= _PENDING_LINES
        ):
            self._flush()

    def revision_for_fingerprint(self, fingerprint: str) -> str | None:
        """The revision a committed scan read from a folder with exactly this file-stat fingerprint.

        Every stored fingerprint is read in one pass on first use: one seek per folder cost more than the
        folder's stat walk (0.2 ms each on a loaded machine)."""
        if self._prints is None:
            self._prints = {}
            for quad in self._ox.quads_for_pattern(None, PA.fingerprint, None):
                if isinstance(quad.subject, NamedNode) and quad.graph_name != self.graph:
                    self._prints.setdefault(_value(quad.object), quad.subject.value)
        return self._prints.get(fingerprint)

    def observe(self, record_id: str, revision: str) -> str:
        """Record that this scan saw ``revision`` of ``record_id`` again without re-reading it (a folder whose
        fingerprint is stored). Returns the outcome, as :meth:`add` does."""
        if record_id in self._seen or record_id in self._failed:  # met twice: merge as add() does
            record = self.store._record_at(revision)
            if record is not None:
                return self.add([record])[0]
        previous = self._before.get(record_iri(record_id))
        outcome = "unchanged" if previous == revision else ("revised" if previous else "new")
        self._observe(record_id, revision, outcome, False, None)
        return outcome

    def _merge_earlier(self, record: Record) -> Record:
        """Read back what this scan wrote for the same id, merge, and drop the earlier observation."""
        self._flush()
        v, created, fingerprint = self._seen.pop(record.id)
        earlier = self.store._record_at(v)
        if earlier is None:  # pragma: no cover - written a moment ago
            return record
        earlier.merge(record)
        self._ox.remove(Quad(self.graph, PA.observed, NamedNode(v), self.graph))
        if fingerprint:  # the folder alone no longer gives what this scan keeps for the id
            self._ox.remove(Quad(NamedNode(v), PA.fingerprint, Literal(fingerprint), self.graph))
        if created:
            # the revision's nodes (claims, links, facts, findings ...) are the IRIs under it it points at
            revision = NamedNode(v)
            nodes = [revision] + [
                q.object
                for q in self._ox.quads_for_pattern(revision, None, None, self.graph)
                if isinstance(q.object, NamedNode) and q.object.value.startswith(v + "/")
            ]
            for node in nodes:
                for quad in list(self._ox.quads_for_pattern(node, None, None, self.graph)):
                    self._ox.remove(quad)
            self._created.discard(v)
        return earlier

    @property
    def counts(self) -> ScanCounts:
        found = ScanCounts(records=len(self._outcomes))
        for outcome in self._outcomes.values():
            setattr(found, outcome, getattr(found, outcome) + 1)
        return found

    def _flush(self) -> None:
        if self._pending:
            self._chunks.append(rdf.ntriples_text(self._pending))
            self._pending = []
        if self._chunks:
            self._write(b"".join(self._chunks))
            self._chunks = []
            self._chunk_quads = self._chunk_bytes = 0

    def add_prov(self, ntriples: bytes) -> int:
        """Triples of an exported provaudit PROV document, written as they are (``provaudit import``).

        Revisions already in the store are left alone (with everything under their IRI); every other
        triple not yet stored is added, so a revision keeps the scan that generated it. Returns how
        many triples were written. Call before :meth:`add` for the same records.
        """
        triples = list(parse(ntriples, format=RdfFormat.N_TRIPLES))
        self._empty = False  # what is written here is looked up by add()
        revisions = {t.subject.value for t in triples if t.predicate == RDF.type and t.object == PA.Revision}
        existing = tuple(f"{r}" for r in revisions if self._exists(r, PA.Revision))
        fresh = [
            Quad(t.subject, t.predicate, t.object, self.graph)
            for t in triples
            if not (isinstance(t.subject, NamedNode) and t.subject.value.startswith(existing) and existing)
            and next(self._ox.quads_for_pattern(t.subject, t.predicate, t.object), None) is None
        ]
        if fresh:
            self._ox.bulk_extend(fresh)
        return len(fresh)

    def _write(self, text: bytes) -> None:
        # The bulk loader is not one transaction, which is safe here: until commit() the scan's graph
        # is invisible to readers, and the next writer removes what an interrupted scan left.
        self._ox.bulk_load(text, RdfFormat.N_TRIPLES, to_graph=self.graph)

    def commit(self) -> ScanInfo:
        for record, why in self._failed.values():
            self._pending += rdf.failed_observation_lines(self.iri, record, why, self.started)
        self._flush()
        ended = rdf.now()
        self._ox.extend(rdf.scan_end_quads(self.graph, ended, self.counts.as_dict()))
        self._ox.flush()
        # committed: whatever befalls the index now must not fail the scan (the caller would undo a first
        # scan); the index is a shortcut, and one that names other graphs is never read
        with contextlib.suppress(Exception):
            self._write_index()
        del self._ox  # the store's lock must not outlive the store because a writer is still referenced
        return ScanInfo(
            iri=self.iri,
            started=rdf.dt_literal(self.started).value,
            ended=rdf.dt_literal(ended).value,
            targets=[],
            counts=self.counts.as_dict(),
        )
