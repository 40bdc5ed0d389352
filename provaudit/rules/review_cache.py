"""Reviews kept between runs: a review of an unchanged store reads them, a changed record costs its own review
and its descendants'.

The cache is derived data in one SQLite file in the store's folder (``review-cache.sqlite``): safe to delete,
never the source of truth, never written into the append-only store. A missing, unreadable or corrupted file
is rebuilt: every row carries checksums, checked as it is printed, and a row that fails them is never printed
(the output starts over from a rebuilt cache). A store the user cannot write beside, or a file another review
is writing, is reviewed with the cache in memory.

One row per record and *context* (policy, rules, record limits, provaudit version and the fingerprint of its
code and licence data): the record's revision, the revisions of every record its review read (its lineage),
its review as ``review --format json`` prints it, and what the summary counts of it. A row stays valid while
those revisions are current. Links that reach no record exactly (resolved by name, DPI parts, unresolved) also
depend on every record's names: a row that followed one is redone when any record's id, titles, Hub-id facts
or fetch failure changed. Which records a lineage walk sees first can change a cycle's or a depth limit's
report, so a collection with either is reviewed whole when anything changed.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import sqlite3
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import provaudit
from provaudit import limits
from provaudit.records.model import Finding, Record
from provaudit.rules.engine import available_rules
from provaudit.rules.lineage import Lineage, LinkFacts, is_order_dependent
from provaudit.rules.policy import Policy, load_policy
from provaudit.rules.report import RecordReview, ReviewReport, Tally, count_at_or_above, record_json, summarize, tally
from provaudit.rules.review import extra_findings, review_one, stamp
from provaudit.store.base import Store
from provaudit.store.bulk import lean_revisions

CACHE_NAME = "review-cache.sqlite"
WAIT_SECONDS = 30.0  # how long a review waits for another one writing the cache, then keeps its own in memory
_KEEP_RECORDS = 1_000  # records held validated at once (the rest are made again from their text when needed)
_KEEP_TERMS = 5_000  # effective terms memoized at once
_SCHEMA = 3  # the table layout; a file with another one is rebuilt
_SCAN_MOVED = 64  # up to this many changed record ids, a row's dependencies are searched as text before parsed


class CacheBroken(Exception):
    """The cache file cannot be trusted (unreadable, wrong layout, a checksum that does not match)."""


class _Busy(Exception):
    """Another process holds the cache file's write lock."""


@dataclass
class _Row:
    rid: str
    revision: str
    deps: str  # JSON: record id -> the revision its review read
    links: str  # LinkFacts as JSON
    open: bool  # followed a link that reaches no record exactly: depends on every record's names
    extra: str  # digest of the findings added from outside the records (SPARQL rules, failed reads)


@dataclass
class StreamedReview:
    """A whole store's review, read record by record from the cache (in record id order)."""

    policy: str
    header: ReviewReport  # only the header fields are filled
    db: sqlite3.Connection
    context: str
    ids: set[str] | None = None  # the records asked for (None: all)
    recomputed: int = 0  # records reviewed in this run; the rest were read from the cache
    cached: int = 0
    rebuild: Callable[[], StreamedReview] | None = field(default=None, repr=False)
    _tallies: list[Tally] | None = None

    def _rows(self, columns: str) -> Iterator[tuple[Any, ...]]:
        rows = self.db.execute(
            f"SELECT rid, {columns} FROM review WHERE ctx = ? AND rid != '' ORDER BY rid", (self.context,)
        )
        for row in rows:
            if self.ids is None or row[0] in self.ids:
                yield row

    def fragments(self, *, count: bool = False) -> Iterator[str]:
        """Each record's review as ``review --format json`` nests it (:func:`~provaudit.rules.report.record_json`).

        ``count``: read what the summary counts of each in the same pass (:meth:`tallies` then reads no row
        again). Raises :class:`CacheBroken` at a row whose checksum does not match (:meth:`write` starts over).
        """
        count = count and self._tallies is None
        tallies: list[Tally] = []
        for row in self._rows(f"json, json_crc, {_META}, meta_crc" if count else "json, json_crc"):
            rid, text, crc = row[:3]
            _checked(rid, (text,), crc)
            if count:
                tallies.append(_tally(rid, row[3:]))
            yield text
        if count:
            self._tallies = tallies

    def tallies(self) -> list[Tally]:
        """What the summary counts of each record (checked like :meth:`fragments`)."""
        if self._tallies is None:
            self._tallies = [_tally(row[0], row[1:]) for row in self._rows(f"{_META}, meta_crc")]
        return self._tallies

    def count(self) -> int:
        """How many records the review holds (those asked for)."""
        return len(self.tallies())

    def summary(self) -> dict[str, object]:
        return summarize(self.policy, self.tallies())

    def count_at_or_above(self, level: str) -> int:
        return count_at_or_above(self.tallies(), level)

    def report(self) -> ReviewReport:
        """The whole report as objects (for the text, Markdown, HTML and SARIF formats)."""
        report = self.header.model_copy()
        report.records = [RecordReview.model_validate_json(text) for text in self.fragments()]
        return report

    def write(self, fmt: str, out: TextIO) -> StreamedReview:
        """Write the review in a :data:`~provaudit.rules.render.FORMATS` format to ``out`` (a file that can be
        truncated); JSON and JSON Lines record by record. A cache row found corrupt on the way is never
        printed: ``out`` is emptied, the cache rebuilt and everything written again. Returns the review
        written (the rebuilt one, then)."""
        from provaudit.rules.render import render, stream

        start = out.tell()
        try:
            out.writelines(stream(self, fmt) if fmt in ("json", "jsonl") else [render(self.report(), fmt)])
            self.tallies()
            return self
        except CacheBroken:
            if self.rebuild is None:
                raise
            out.seek(start)
            out.truncate()
            fresh = self.rebuild()
            fresh.ids = self.ids
            fresh.header = self.header
            fresh.rebuild = None  # a cache made just now that does not read back: an error, not a loop
            return fresh.write(fmt, out)

    def close(self) -> None:
        self.db.close()


# the columns a row's meta_crc covers, in this order (the tally last)
_META = "iri, revision, deps, links, open, extra, tally"


def _checked(rid: str, values: tuple[Any, ...], crc: int) -> None:
    """Raise :class:`CacheBroken` when a row's ``values`` do not match the checksum stored with them."""
    if _crc(*map(str, values)) != crc:
        raise CacheBroken(f"the cached review of {rid} does not match its checksum")


def _tally(rid: str, meta: tuple[Any, ...]) -> Tally:
    """What the summary counts of one row (its :data:`_META` columns and meta_crc), checked."""
    _checked(rid, meta[:-1], meta[-1])
    use, conditions, attribution, share_alike, complete, findings = json.loads(meta[-2])
    return use, conditions, attribution, share_alike, complete, [tuple(f) for f in findings]


def context_key(policy: Policy) -> str:
    """What every cached review depends on beside the records: policy, rules, limits, provaudit's code and data."""
    from importlib.metadata import entry_points

    from provaudit.resources import resource_root

    plugins = sorted(
        f"{ep.name}={ep.value}@{ep.dist.version if ep.dist else ''}" for ep in entry_points(group="provaudit.rules")
    )
    # an editable install changes without a new version number: the code and licence data's file stamps count
    package = Path(provaudit.__file__).resolve().parent
    files = [*sorted(package.rglob("*.py")), *sorted((resource_root() / "data" / "licenses").rglob("*"))]
    stamps = [(str(p.relative_to(p.anchor)), p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.is_file()]
    blob = json.dumps(
        {
            "schema": _SCHEMA,
            "version": provaudit.__version__,
            "policy": policy.model_dump(mode="json"),
            "rules": [r.rule_id for r in available_rules()],
            "plugins": plugins,
            "limits": [limits.MAX_EXPRESSION_TERMS, limits.MAX_UPSTREAMS],
            "code": hashlib.sha256(repr(stamps).encode()).hexdigest(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def review_cached(
    store: Store,
    policy: str | Policy = "default",
    *,
    sparql_rules: Iterable[str | Path] = (),
    ids: Iterable[str] | None = None,
    cache: Path | bool | None = True,
) -> StreamedReview:
    """Review the current revision of every record, redoing only what changed since the cached reviews.

    ``cache``: True for the store's own file, a path, or False/None to keep it in memory (a cache-less review).
    The result reads as :func:`provaudit.rules.review.review_store`'s report does, record by record.
    """
    chosen = policy if isinstance(policy, Policy) else load_policy(policy)
    extra = extra_findings(store, sparql_rules)
    where = _cache_path(store) if cache is True else (cache or None)

    def rebuild() -> StreamedReview:
        if where is not None:
            _remove(where)
        return _review(store, chosen, extra, _connect(where))

    try:
        result = _review(store, chosen, extra, _connect(where))
    except _Busy:  # another review holds the file longer than we wait: this one keeps its cache in memory
        result = _review(store, chosen, extra, _connect(None))
    except CacheBroken:
        if where is None:
            raise
        result = rebuild()
    result.rebuild = rebuild
    result.ids = set(ids) if ids is not None else None
    stamp(result.header, store, store.scans())
    return result


def _cache_path(store: Store) -> Path | None:
    where = getattr(store, "path", None)
    if not isinstance(where, Path) or not where.is_dir():  # a SPARQL server's store: kept in memory
        return None
    return where / CACHE_NAME


def _remove(path: Path) -> None:
    """Delete the cache file (a file that cannot be deleted is left: the review then keeps it in memory)."""
    for name in (path, path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal")):
        with contextlib.suppress(OSError):
            name.unlink()


def _connect(path: Path | None) -> sqlite3.Connection:
    """The cache database; in memory when there is no file or it cannot be opened for writing."""
    if path is not None:
        try:
            db = sqlite3.connect(path, timeout=WAIT_SECONDS, isolation_level=None)
            _prepare(db)
            return db
        except sqlite3.DatabaseError as exc:
            if _busy(exc):  # another review is writing it: this one keeps its cache in memory
                return _connect(None)
            _remove(path)  # not a database, or not this layout: derived data, rebuilt
            try:
                db = sqlite3.connect(path, timeout=WAIT_SECONDS, isolation_level=None)
                _prepare(db)
                return db
            except (sqlite3.DatabaseError, OSError):
                pass
        except OSError:
            pass
    db = sqlite3.connect(":memory:", isolation_level=None)
    _prepare(db)
    return db


def _busy(exc: sqlite3.DatabaseError) -> bool:
    """SQLite's "database is locked": another process holds the file longer than we wait."""
    return "locked" in str(exc) or "busy" in str(exc)


def _prepare(db: sqlite3.Connection) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version not in (0, _SCHEMA):
        raise sqlite3.DatabaseError(f"review cache layout {version}, not {_SCHEMA}")
    db.execute("PRAGMA journal_mode = DELETE")
    db.execute("PRAGMA synchronous = OFF")  # derived data: a torn write is detected and rebuilt
    db.execute(
        "CREATE TABLE IF NOT EXISTS review (ctx TEXT, iri TEXT, rid TEXT, revision TEXT, deps TEXT, links TEXT, "
        "open INTEGER, extra TEXT, tally TEXT, meta_crc INTEGER, json TEXT, json_crc INTEGER, PRIMARY KEY (ctx, iri))"
    )
    db.execute("CREATE INDEX IF NOT EXISTS review_rid ON review (ctx, rid)")
    # per context: the store's committed graphs and the outside findings it was made for (a store is
    # append-only, so equal graphs are an equal store), every record's names, and whether the reviews hold
    # a cycle or a depth limit
    db.execute(
        "CREATE TABLE IF NOT EXISTS context (ctx TEXT PRIMARY KEY, state TEXT, extras TEXT, names TEXT, whole INTEGER, "
        "graphs TEXT)"
    )
    db.execute(f"PRAGMA user_version = {_SCHEMA}")


def _crc(*parts: str) -> int:
    """A row's checksum: SQLite keeps none of its own, and a changed value must never be printed."""
    return zlib.crc32("\0".join(parts).encode("utf-8", "surrogatepass"))


def _links_json(facts: LinkFacts) -> str:
    return json.dumps(
        [
            facts.failure.model_dump(mode="json") if facts.failure else None,
            facts.hf_datasets,
            facts.titles,
            facts.collections,
        ],
        ensure_ascii=False,
    )


def _links_of(text: str) -> LinkFacts:
    failure, hub, titles, collections = json.loads(text)
    return LinkFacts(
        Finding.model_validate(failure) if failure else None, tuple(hub), tuple(titles), tuple(collections)
    )


def _extra_digest(findings: list[Finding]) -> str:
    if not findings:
        return ""
    text = json.dumps([f.model_dump(mode="json") for f in findings], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


class _Records(Mapping[str, Record]):
    """The collection's records by id, each validated when the review needs it.

    The records read in bulk are kept as their lean JSON (``texts``), the others read from the store; at
    most ``keep`` stay validated in memory (the least recently used go first, made again when needed): a
    review of 100,000 records must not hold them all as objects.
    """

    def __init__(self, store: Store, revisions: dict[str, str], keep: int = _KEEP_RECORDS) -> None:
        self._store = store
        self._revisions = revisions  # record id -> current revision, in the store's order
        self._loaded: OrderedDict[str, Record] = OrderedDict()
        self._keep = keep
        self.texts: dict[str, tuple[bytes, str | None]] = {}  # record id -> (lean JSON, location)
        self.read: set[str] = set()  # ids read since the last reset: what one record's review depends on

    def add(self, record: Record) -> None:
        self._loaded[record.id] = record
        if len(self._loaded) > self._keep:
            self._loaded.popitem(last=False)

    def __getitem__(self, rid: str) -> Record:
        record = self._loaded.get(rid)
        if record is None:
            if rid not in self._revisions:
                raise KeyError(rid)
            held = self.texts.get(rid)
            if held is not None:  # the scan's own JSON of a validated record: validated again, not trusted blind
                record = Record.model_validate_json(held[0])
                record.location = held[1]
            else:
                record = self._store.record_at(self._revisions[rid], light=True)
            if record is None:
                raise KeyError(rid)
            self.add(record)
        else:
            self._loaded.move_to_end(rid)
        self.read.add(rid)
        return record

    def __contains__(self, rid: object) -> bool:
        return rid in self._revisions

    def __iter__(self) -> Iterator[str]:
        return iter(self._revisions)

    def __len__(self) -> int:
        return len(self._revisions)


def _review(store: Store, policy: Policy, extra: dict[str, list[Finding]], db: sqlite3.Connection) -> StreamedReview:
    context = context_key(policy)
    try:
        return _update(store, policy, extra, db, context)
    except sqlite3.OperationalError as exc:
        db.close()
        if _busy(exc):
            raise _Busy(str(exc)) from exc
        raise CacheBroken(str(exc)) from exc
    except (sqlite3.DatabaseError, ValueError, TypeError, KeyError) as exc:
        db.close()
        raise CacheBroken(str(exc)) from exc


def _graphs(store: Store) -> list[str]:
    """The store's committed graphs: a store is append-only, so the same graphs hold the same records."""
    rows = store.query('SELECT DISTINCT ?g WHERE { GRAPH ?g { ?g pa:status "complete" } }').rows
    return sorted(str(row[0]) for row in rows)


def _current(
    store: Store, graphs: list[str], ended: dict[str, str], saved: str | None, rows: dict[str, _Row]
) -> dict[str, str]:
    """record IRI -> current revision. When the graphs the cache was made for (``saved``) are all still there
    and every newer one is a scan that ended after them, the cached rows' revisions (current then) updated with
    what the newer scans observed: the store's index is read for those scans only, not for every scan of every
    record. ``ended``: each scan's end, by its graph."""
    if saved:
        before = dict(json.loads(saved))  # graph -> when it ended
        new = [g for g in graphs if g not in before]
        if (
            set(before) <= set(graphs)
            and all(g in ended for g in new)
            and (not new or not before or min((ended[g], g) for g in new) > max((e, g) for g, e in before.items()))
        ):
            current = {iri: row.revision for iri, row in rows.items()}
            if new:
                current.update(store.current_revisions(graphs=new))
            return current
    return store.current_revisions()


def _update(
    store: Store, policy: Policy, extra: dict[str, list[Finding]], db: sqlite3.Connection, context: str
) -> StreamedReview:
    graphs = _graphs(store)
    state = hashlib.sha256("\n".join(graphs).encode()).hexdigest()
    extras = hashlib.sha256(
        json.dumps(sorted((rid, _extra_digest(found)) for rid, found in extra.items())).encode()
    ).hexdigest()
    result = StreamedReview(policy=policy.name, header=ReviewReport(policy=policy.name), db=db, context=context)
    db.execute("BEGIN IMMEDIATE")  # one writer at a time; a reader waits for a consistent cache
    saved = db.execute("SELECT state, extras, names, whole, graphs FROM context WHERE ctx = ?", (context,)).fetchone()
    if saved is not None and saved[:2] == (state, extras):  # nothing was committed since: every row holds
        db.execute("COMMIT")
        result.cached = db.execute("SELECT COUNT(*) FROM review WHERE ctx = ? AND rid != ''", (context,)).fetchone()[0]
        return result
    names_before, whole_before = (saved[2], bool(saved[3])) if saved is not None else (None, False)
    cached: dict[str, _Row] = {}
    for row in db.execute(f"SELECT rid, {_META}, meta_crc FROM review WHERE ctx = ?", (context,)):
        rid, iri, revision, deps, links, is_open, extra_digest, _, crc = row
        _checked(rid or iri, row[1:-1], crc)
        cached[iri] = _Row(rid, revision, deps, links, bool(is_open), extra_digest)
    ended = {s.iri: s.ended or "" for s in store.scans()}
    current = _current(store, graphs, ended, saved[4] if saved is not None else None, cached)  # IRI -> revision

    # which records are new or changed: read them (the others' ids and link facts come from the cache)
    revisions: dict[str, str] = {}  # record id -> revision, in the store's order (record IRI)
    iri_of: dict[str, str] = {}
    facts: dict[str, str] = {}  # record id -> LinkFacts JSON
    changed: set[str] = set()
    records = _Records(store, revisions)
    gc.freeze()  # what is loaded stays: the collector need not walk it again and again
    gc.disable()
    try:
        # the new and changed revisions, read in bulk as plain data (their link facts), kept as text until reviewed
        read: dict[str, tuple[str, bytes, str | None, str]] = {}  # revision -> (id, lean JSON, location, links)
        stale_revisions = {v for iri, v in current.items() if (row := cached.get(iri)) is None or row.revision != v}
        for lean in lean_revisions(store, stale_revisions):
            data = lean.data()
            read[lean.revision] = (data["id"], lean.text.encode(), lean.location, _links_json(LinkFacts.of_data(data)))
        for iri in sorted(current):
            revision = current[iri]
            row = cached.get(iri)
            if row is not None and row.revision == revision:
                if row.rid:
                    revisions[row.rid], iri_of[row.rid], facts[row.rid] = revision, iri, row.links
                continue
            if revision not in read:  # a revision without a record (foreign data): nothing to review
                _write(db, context, iri, "", revision, "{}", "", False, "", "", "")
                continue
            rid, text, location, links = read.pop(revision)
            records.texts[rid] = (text, location)
            revisions[rid], iri_of[rid], facts[rid] = revision, iri, links
            changed.add(rid)
        names = hashlib.sha256(json.dumps(list(facts.items()), ensure_ascii=False).encode()).hexdigest()
        digests = {rid: _extra_digest(found) for rid, found in extra.items() if rid in revisions}
        stale = set(changed)
        # every row was checked against the revisions current when the cache was written: a dependency that is no
        # longer current is a record whose row changed or went since (``moved``), named as a key in the row's text
        moved = changed | {row.rid for iri, row in cached.items() if row.rid and current.get(iri) != row.revision}
        keys = [json.dumps(rid, ensure_ascii=False) + ":" for rid in moved] if len(moved) <= _SCAN_MOVED else None
        for row in cached.values():
            if not row.rid or row.rid not in revisions or row.rid in stale:
                continue
            if (
                (
                    (keys is None or any(key in row.deps for key in keys))
                    and any(revisions.get(d) != rev for d, rev in json.loads(row.deps).items())
                )
                or (row.open and names != names_before)
                or digests.get(row.rid, "") != row.extra
            ):
                stale.add(row.rid)
        removed = any(iri not in current for iri in cached)
        if whole_before and (stale or removed):  # the cache holds a cycle or a depth limit: all is redone
            stale = set(revisions)
        args = (policy, extra, db, context, records, iri_of, facts)
        reviewed = _recompute(*args, stale)
        if reviewed is None:  # a cycle or a depth limit appeared: their report depends on the whole walk
            reviewed = _recompute(*args, set(revisions))
        assert reviewed is not None  # a whole review is never refused
        whole = reviewed.order_dependent if reviewed.count == len(revisions) else whole_before
        db.executemany(
            "DELETE FROM review WHERE ctx = ? AND iri = ?", [(context, i) for i in cached if i not in current]
        )
        db.execute(
            "INSERT OR REPLACE INTO context VALUES (?, ?, ?, ?, ?, ?)",
            # the graphs and when each ended (a committed graph that is no scan: "")
            (context, state, extras, names, int(whole), json.dumps([[g, ended.get(g, "")] for g in graphs])),
        )
        db.execute("COMMIT")
    finally:
        gc.enable()
    result.recomputed = reviewed.count
    result.cached = len(revisions) - reviewed.count
    return result


def _write(
    db: sqlite3.Connection,
    context: str,
    iri: str,
    rid: str,
    revision: str,
    deps: str,
    links: str,
    is_open: bool,
    digest: str,
    tally_text: str,
    text: str,
) -> None:
    meta = (iri, revision, deps, links, int(is_open), digest, tally_text)
    db.execute(
        "INSERT OR REPLACE INTO review VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            context,
            iri,
            rid,
            revision,
            deps,
            links,
            int(is_open),
            digest,
            tally_text,
            _crc(*map(str, meta)),
            text,
            _crc(text),
        ),
    )


@dataclass
class _Recomputed:
    count: int
    order_dependent: bool


def _recompute(
    policy: Policy,
    extra: dict[str, list[Finding]],
    db: sqlite3.Connection,
    context: str,
    records: _Records,
    iri_of: dict[str, str],
    facts: dict[str, str],
    stale: set[str],
) -> _Recomputed | None:
    """Review the stale records (in id order, as a whole review does) and write their rows.

    None: a record reached a cycle or the depth limit while the rest were taken from the cache; the caller
    reviews the whole collection instead.
    """
    if not stale:
        return _Recomputed(0, False)
    revisions = records._revisions
    lineage = Lineage(records, policy, {rid: _links_of(text) for rid, text in facts.items()})
    rules = available_rules()
    exact = {rid for rid in revisions if lineage.find(rid) == rid}
    order_dependent = False
    for rid in sorted(stale):
        records.read = set()
        found = extra.get(rid, [])
        review = review_one(rid, lineage, rules, found)
        eff = lineage.effective(rid)
        if is_order_dependent(eff):
            if len(stale) < len(revisions):
                return None  # the rows written so far are rewritten by the whole review
            order_dependent = True
        read = records.read | {s.record for s in eff.steps if s.record in revisions}
        read |= {t for link in records[rid].upstream if (t := link.target) in exact}
        is_open = any(link.target not in exact for dep in read | {rid} for link in records[dep].upstream)
        deps = json.dumps({d: revisions[d] for d in sorted(read)}, ensure_ascii=False)
        tally_text = json.dumps(tally(review), ensure_ascii=False)
        text = record_json(review)
        _write(
            db,
            context,
            iri_of[rid],
            rid,
            revisions[rid],
            deps,
            facts[rid],
            is_open,
            _extra_digest(found),
            tally_text,
            text,
        )
        lineage.forget(_KEEP_TERMS)
    return _Recomputed(len(stale), order_dependent)
