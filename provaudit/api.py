"""The public Python API: what the CLI does, callable from code.

>>> import provaudit.api as pa
>>> result = pa.scan(["data/demo"])            # doctest: +SKIP
>>> for record in pa.open_store().records():    # doctest: +SKIP
...     print(record.id, [c.expression for c in record.claims])
"""

from __future__ import annotations

import dataclasses
import gc
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from provaudit.collectors.base import CollectOptions, Collector, available_collectors, collector_for
from provaudit.errors import InputError
from provaudit.limits import MAX_FILE_BYTES
from provaudit.records.model import Finding, Record, Severity
from provaudit.store.base import ScanInfo, default_store_path
from provaudit.store.oxigraph import OxigraphStore
from provaudit.store.rdf import ScanEntry
from provaudit.store.sparql import SparqlStore

FAIL_LEVELS = ("error", "warning", "info", "never")


class ScanResult:
    """A finished scan: its counts and each record's outcome, not the records.

    A scan of 100,000 folders keeps one small :class:`~provaudit.store.rdf.ScanEntry` per record (kind,
    finding counts, the errors and warnings it names); ``records`` and ``findings`` read the records the
    scan observed back from the store when asked (``--json``, the Python API).
    """

    def __init__(
        self,
        scan: ScanInfo,
        entries: dict[str, ScanEntry],
        outcomes: dict[str, str],
        *,
        store: str | Path | None = None,
        failed: dict[str, Record] | None = None,
    ) -> None:
        self.scan = scan
        self.entries = entries  # record id → what the summary counts of it, in scan order
        self.outcomes = outcomes  # record id → new | revised | unchanged | failed
        self._store = store
        self._failed = failed or {}  # failed reads: not in the store as read, kept as they came
        self._records: list[Record] | None = None

    @property
    def records(self) -> list[Record]:
        """The records this scan observed, in scan order, with their claims, links and findings (no facts, agents
        or files): read from the store when first asked."""
        if self._records is None:
            stored: dict[str, Record] = {}
            if self.entries.keys() - self._failed.keys():
                with open_store(self._store, read_only=True) as db:
                    stored = {r.id: _light(r) for r in db.records_at(self.scan.iri, light=True)}
            found = (self._failed.get(rid) or stored.get(rid) for rid in self.entries)
            self._records = [r for r in found if r is not None]
        return self._records

    @property
    def findings(self) -> list[tuple[str, Finding]]:
        return [(r.id, f) for r in self.records for f in r.findings]

    def severity_counts(self) -> dict[str, int]:
        """Findings of the scanned records by severity (error, warning, info)."""
        totals = [0, 0, 0]
        for entry in self.entries.values():
            totals = [a + b for a, b in zip(totals, entry.severities, strict=True)]
        return dict(zip((s.value for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)), totals, strict=True))

    def count_at_or_above(self, level: str) -> int:
        if level == "never":
            return 0
        rank = Severity(level).rank
        return sum(n for name, n in self.severity_counts().items() if Severity(name).rank >= rank)

    def to_json(self) -> dict[str, object]:
        by_severity = {s.value: 0 for s in Severity}
        by_severity.update(self.severity_counts())
        return {
            "scan": self.scan.iri,
            "started": self.scan.started,
            "ended": self.scan.ended,
            "counts": self.scan.counts,
            "findings_by_severity": by_severity,
            "records": [
                {
                    "id": r.id,
                    "kind": r.kind.value,
                    "name": r.name,
                    "location": r.location,
                    "outcome": self.outcomes.get(r.id),
                    "licenses": [
                        {"raw": c.raw, "expression": c.expression, "method": c.method, "source": c.source.describe()}
                        for c in r.claims
                    ],
                    "upstream": [{"target": u.target, "relation": u.relation.value} for u in r.upstream],
                    "findings": [f.model_dump(mode="json", exclude_none=True) for f in r.findings],
                }
                for r in self.records
            ],
        }


def open_store(
    path: str | Path | None = None, *, read_only: bool = False, wait: float = 0.0
) -> OxigraphStore | SparqlStore:
    """Open the store at path, or the SPARQL server at an ``http(s)://`` URL (default: $PROVAUDIT_STORE or
    ./.provaudit). ``wait``: seconds a writer queues behind another one before giving up."""
    from provaudit.store.select import open_store as select_store

    return select_store(path, read_only=read_only, wait=wait)


def resolve_id(store: OxigraphStore | SparqlStore, ref: str) -> str:
    """The id of the record a user named: its id (``dataset:squad``), the id without its kind when one
    record has that name (``squad``), a name's last part (``neural-chat-7b-v3-3``) or a Hub URL.

    InputError when none or several match; an unknown one names the closest ids (did you mean ...?).
    """
    from provaudit.export.formats import resolve_record

    return resolve_record(store, ref).id


def _plan(targets: Iterable[str]) -> dict[str, tuple[Collector, list[str]]]:
    """Targets grouped by collector, in first-seen order; raises InputError for one nothing can read.

    Done before anything is read or written, so a bad target fails the scan before the store is touched.
    """
    collectors = available_collectors()
    groups: dict[str, tuple[Collector, list[str]]] = {}
    for target in targets:
        if not any(c.can_collect(target) for c in collectors) and not Path(target).exists():
            raise InputError(target, "no such file or folder")
        collector = collector_for(target, collectors)
        planned = [(collector, target)]
        if collector.name == "local":
            planned += _nested_sources(Path(target), collectors)
        for chosen, path in planned:
            group = groups.setdefault(chosen.name, (chosen, []))[1]
            if path not in group:
                group.append(path)
    return groups


def _nested_sources(root: Path, collectors: list[Collector]) -> list[tuple[Collector, str]]:
    """Folders under a scanned folder that another collector reads (a ``dpi/`` folder of DPI summaries, a
    folder of UMR files): ``scan data/demo`` reads them too instead of skipping them silently.

    The folders right under ``root``, and under those of them that are collections themselves (a README
    over record folders, like ``data/demo`` in ``scan data``); a folder of record folders is the local
    collector's and is not walked again, so a large collection costs nothing more here.
    """
    from provaudit.collectors.local import find_folders, is_collection, is_record_folder

    others = [c for c in collectors if c.name != "local"]
    found: dict[Path, Collector | None] = {}

    def stop(path: Path) -> bool:
        if path == root:
            return False
        found[path] = next((c for c in others if c.can_collect(str(path))), None)
        if found[path] is not None or path.parent != root:
            return True
        return not (is_record_folder(path) and is_collection(path))  # only a collection is looked into

    return [(c, str(p)) for p in find_folders(root, stop, depth=2) if (c := found.get(p)) is not None]


def _collect_planned(groups: dict[str, tuple[Collector, list[str]]], options: CollectOptions) -> Iterator[Record]:
    # a collector with collect_many (the Hub) fetches all of its targets in parallel
    for collector, group in groups.values():
        many = getattr(collector, "collect_many", None)
        if many and len(group) > 1:
            yield from many(group, options)
        else:
            for target in group:
                yield from collector.collect(target, options)


def count_records(targets: Iterable[str]) -> int | None:
    """About how many records a scan of the targets yields, counted before anything is read (for a progress
    bar's total): record folders, DPI summary entries, named Hub repos, one per other file; None when a
    target cannot be counted first (a Hub listing). Lineage followed with --depth adds records beyond it."""
    from provaudit.collectors.hub import HubRef, parse_target
    from provaudit.collectors.local import find_record_folders

    total = 0
    for collector, group in _plan(targets).values():
        for target in group:
            if collector.name == "local":
                total += sum(1 for _ in find_record_folders(Path(target)))
            elif collector.name == "hub":
                if not isinstance(parse_target(target), HubRef):
                    return None
                total += 1
            elif collector.name == "dpi":
                path = Path(target)
                files = (
                    [path] if path.is_file() else sorted(p for p in path.glob("*.json") if not p.name.startswith("_"))
                )
                total += sum(_dpi_entries(file) for file in files)
            else:
                total += 1
    return total


def _dpi_entries(file: Path) -> int:
    """The records of one DPI summary (1 for one that does not parse: the collector makes it a finding).

    Only a regular file within the read limit is opened (a FIFO named *.json would block the count)."""
    import json
    import stat

    try:
        info = file.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            return 1
        data = json.loads(file.read_bytes())
    except (OSError, ValueError, RecursionError):
        return 1
    return len(data) if isinstance(data, dict) else 1


def iter_collected(targets: Iterable[str], options: CollectOptions | None = None) -> Iterator[Record]:
    """Every record the targets hold, as collectors yield them (the same id may come twice)."""
    yield from _collect_planned(_plan(targets), options or CollectOptions())


def collect(targets: Iterable[str], options: CollectOptions | None = None) -> list[Record]:
    """Read every target with the collector that can read it; the same record reached twice is merged."""
    merged: dict[str, Record] = {}
    for record in iter_collected(targets, options):
        if record.id in merged:
            merged[record.id].merge(record)
        else:
            merged[record.id] = record
    return list(merged.values())


def _absolute_target(target: str) -> str:
    """The target as recorded in the store: local paths absolute (``pipeline:.`` too), so what is
    published later can name every path relative to the root it was scanned from."""
    if target.startswith("pipeline:"):
        path, hash_, fragment = target[len("pipeline:") :].partition("#")
        return f"pipeline:{Path(path or '.').resolve()}{hash_}{fragment}"
    return str(Path(target).resolve()) if Path(target).exists() else target


def scan(
    targets: list[str],
    *,
    store: str | Path | None = None,
    options: CollectOptions | None = None,
    progress: Callable[[str], None] | None = None,
    jobs: int | None = None,
    force: bool = False,
    wait: float = 0.0,
) -> ScanResult:
    """Collect the targets and add them to the store as one committed scan activity.

    Records are written as they are collected, so memory stays flat however large the collection.
    Local record folders are read by ``jobs`` processes (default: the cores available); a folder whose
    file stats are unchanged since a stored scan is observed again without reading it, unless ``force``.
    """
    from provaudit.collectors.folders import Stamp, default_jobs, read_planned
    from provaudit.collectors.local import collect_folder
    from provaudit.store.oxigraph import OxigraphScan

    options = options or CollectOptions()
    if progress:
        options.progress = progress
    resolved = [_absolute_target(t) for t in targets]
    recorded: dict[str, object] = {"digests": options.digests, "depth": options.depth}
    entries: dict[str, ScanEntry] = {}
    failed: dict[str, Record] = {}
    groups = _plan(targets)
    store_path = Path(store or default_store_path())  # (a SPARQL server's URL is no folder: never removed)
    fresh, opened = not store_path.exists(), False
    # records hold no reference cycles: freeze what start-up made and let the collector run rarely
    gc.freeze()
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 100_000), *threshold[1:])
    try:
        with open_store(store, wait=wait) as db:
            opened = True
            writer = db.begin_scan(resolved, recorded)
            outcomes: dict[str, str] = {}
            # fingerprints need a store that keeps them (the embedded one does)
            known = getattr(writer, "revision_for_fingerprint", None)
            # a store that takes store text (the embedded one) gets it made by the workers
            stamp = Stamp(writer.iri, writer.started) if isinstance(writer, OxigraphScan) else None
            for item in read_planned(
                groups,
                options,
                jobs=jobs or default_jobs(),
                known=None if force or known is None else known,
                stamp=stamp,
            ):
                record: Record | None = item.record
                if item.revision is not None:  # an unchanged folder: seen again, not read again
                    assert item.record_id is not None
                    outcome = writer.observe(item.record_id, item.revision)
                    if progress:  # counted like a folder that was read
                        progress(item.record_id)
                    entry = (
                        writer.summary_of(item.revision, item.record_id) if isinstance(writer, OxigraphScan) else None
                    )
                    if entry is None:  # a revision stored before revisions kept their summary
                        record = db.record_at(item.revision, light=True)
                        if record is None:  # pragma: no cover - the revision was found by its fingerprint
                            continue
                        entry = ScanEntry.of(record)
                    rid = item.record_id
                else:
                    taken: str | None = None
                    entry = None
                    if item.prepared is not None:
                        assert isinstance(writer, OxigraphScan)
                        taken = writer.add_prepared(item.prepared, item.fingerprint)
                        entry = item.prepared.entry
                        if taken is None:  # the record itself is needed: read the folder again, here
                            assert item.folder is not None
                            record = collect_folder(item.folder, dataclasses.replace(options, progress=None))
                    if record is not None:
                        (taken,) = writer.add([record], [item.fingerprint]) if known else writer.add([record])
                        entry = ScanEntry.of(record)
                    assert taken is not None and entry is not None
                    outcome, rid = taken, entry.id
                outcomes[rid] = outcome
                if outcome == "failed" and record is not None:
                    failed[rid] = _light(record)
                else:
                    failed.pop(rid, None)
                entries[rid] = _merged(entries.get(rid), entry)
            info = writer.commit()
    except BaseException:
        # a first scan that failed (or was interrupted) committed nothing: leave no empty store
        # behind, which later commands would read as a store of 0 records
        if fresh and opened and store_path.is_dir():
            shutil.rmtree(store_path, ignore_errors=True)
        raise
    finally:
        gc.set_threshold(*threshold)
    info.targets = resolved
    return ScanResult(scan=info, entries=entries, outcomes=outcomes, store=store, failed=failed)


def _light(record: Record) -> Record:
    """A failed read as a scan result keeps it: claims, links and findings (no facts, agents or files)."""
    light = record.model_copy(update={"facts": [], "files": [], "agents": []})
    light._seen = set()  # model_copy shares the dedup set, which holds every fact (card bodies included)
    return light


def _merged(earlier: ScanEntry | None, entry: ScanEntry) -> ScanEntry:
    """One record met twice in a scan (two folders, two collectors): counted once, its findings added."""
    if earlier is None:
        return entry
    shown = earlier.shown + tuple(s for s in entry.shown if s not in earlier.shown)
    severities = tuple(a + b for a, b in zip(earlier.severities, entry.severities, strict=True))
    return ScanEntry(entry.id, entry.kind, earlier.licensed or entry.licensed, severities, shown)  # type: ignore[arg-type]
