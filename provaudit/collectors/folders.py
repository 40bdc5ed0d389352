"""Reading scan targets for a scan: record folders in parallel, unchanged folders skipped.

Local record folders are the unit of work: each is read in a worker process (``jobs``) and handed
back in folder order, so a scan with any number of jobs writes exactly what one process writes. A
folder whose *fingerprint* (path, then size, mtime and inode of every file in it, with provaudit's
version and the collector options) is stored with a revision is not read again: the scan observes
that revision. Every other collector reads its targets in this process, as before.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from provaudit import __version__
from provaudit.collectors.base import CollectOptions, Collector
from provaudit.records.model import Record

if TYPE_CHECKING:  # the store's text builders are imported in the workers that use them
    from provaudit.store.rdf import PreparedRevision

_BATCH = 256  # folders planned at a time: bounds memory, keeps workers busy while the parent writes


@dataclass
class Collected:
    """One record of a scan: read (``record``, or ``prepared`` as store text by a worker) or, for an
    unchanged folder, the stored ``revision``."""

    record: Record | None
    fingerprint: str | None = None
    revision: str | None = None
    record_id: str | None = None
    prepared: PreparedRevision | None = None
    folder: Path | None = None  # the record folder it was read from


@dataclass(frozen=True)
class Stamp:
    """The scan a worker prepares store text for: its IRI and start time (see rdf.prepare_revision)."""

    scan: str
    started: datetime


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _realpath(folder: Path, parents: dict[str, str] | None) -> str:
    """``os.path.realpath(folder)``; with ``parents`` (a cache for one batch of folders) each parent is
    resolved once for all its sub-folders, and a folder that is no symlink costs one lstat."""
    if parents is None or folder.name in ("", ".", ".."):
        return os.path.realpath(folder)
    try:
        if stat.S_ISLNK(os.lstat(folder).st_mode):
            return os.path.realpath(folder)
    except OSError:
        return os.path.realpath(folder)
    parent = str(folder.parent)
    real = parents.get(parent)
    if real is None:
        real = parents[parent] = os.path.realpath(parent)
    return os.path.join(real, folder.name)


def folder_fingerprint(
    folder: Path,
    options: CollectOptions,
    parents: dict[str, str] | None = None,
    entries: list[os.DirEntry[str]] | None = None,
) -> str:
    """A hash of what a folder's record depends on, from file stats only (nothing is read).

    The resolved path is part of it (a record's kind can come from its parent folders' names), and so
    are provaudit's version and the options that change what is read. ``parents``: see :func:`_realpath`.
    ``entries``: the folder's listing when the caller has it (discovery listed it): the same hash,
    without listing the folder again.
    """
    from provaudit.collectors.local import _SKIP_DIRS

    digest = hashlib.sha256()
    limits = [options.max_file_bytes, options.max_nesting, options.max_yaml_bytes, options.max_files]
    if options.max_digest_bytes != CollectOptions.max_digest_bytes:  # kept out at its default: older prints hold
        limits.append(options.max_digest_bytes)
    head = [__version__, _realpath(folder, parents), options.digests, limits, options.extra]  # never raises on a loop
    digest.update(json.dumps(head, sort_keys=True, default=str).encode("utf-8", "surrogatepass"))
    top = os.path.join(folder, "")

    def add(dirpath: str, filenames: list[str]) -> None:
        # each path relative to the folder (what os.path.relpath gave, at a fraction of its cost)
        here = os.path.join(dirpath, "")[len(top) :]
        for name in sorted(filenames):
            try:
                st = os.stat(os.path.join(dirpath, name))
                state = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
            except OSError as exc:  # a broken link or unreadable entry: its state is the error
                state = f"error:{exc.errno}"
            digest.update(f"{here}{name}\0{state}\n".encode("utf-8", "surrogatepass"))

    def walk(start: str) -> None:
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
            add(dirpath, filenames)

    if entries is None:
        walk(os.fspath(folder))
        return digest.hexdigest()
    # os.walk's first step, from the listing: a link to a folder counts as a folder and is not walked into
    dirnames: list[str] = []
    filenames: list[str] = []
    for entry in entries:
        (dirnames if _is_dir(entry) else filenames).append(entry.name)
    start = os.fspath(folder)
    add(start, filenames)
    for name in sorted(d for d in dirnames if d not in _SKIP_DIRS):
        path = os.path.join(start, name)
        if not os.path.islink(path):
            walk(path)
    return digest.hexdigest()


def _is_dir(entry: os.DirEntry[str]) -> bool:
    """``entry.is_dir()`` as os.walk takes it (an entry that cannot be checked is no folder)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


_worker_options: CollectOptions | None = None
_worker_stamp: Stamp | None = None


def _init_worker(options: CollectOptions, stamp: Stamp | None = None) -> None:
    global _worker_options, _worker_stamp
    _worker_options, _worker_stamp = options, stamp


def _read_folder(folder: str) -> Record | PreparedRevision:
    """A worker's task: the folder's record, as store text when the scan asked for it (only bytes and
    counts then go back through the pipe, and the writing process parses nothing)."""
    return _read(Path(folder), _worker_options or CollectOptions(), _worker_stamp)


def _read(folder: Path, options: CollectOptions, stamp: Stamp | None) -> Record | PreparedRevision:
    from provaudit.collectors.local import collect_folder

    record = collect_folder(folder, options)
    if stamp is None:
        return record
    from provaudit.store.rdf import prepare_revision

    return prepare_revision(record, stamp.scan, stamp.started)


_Found = tuple[Path, list[os.DirEntry[str]] | None]  # a record folder and the listing that found it


def _batched(items: Iterable[_Found], size: int) -> Iterator[list[_Found]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def read_planned(
    groups: dict[str, tuple[Collector, list[str]]],
    options: CollectOptions,
    *,
    jobs: int = 1,
    known: Callable[[str], str | None] | None = None,
    stamp: Stamp | None = None,
) -> Iterator[Collected]:
    """Every record of the planned targets, in the order one process reads them.

    ``known``: fingerprint → stored revision IRI (None: read every folder). Local folders go to
    ``jobs`` worker processes; the records come back here, where the store is written. With ``stamp``
    a local folder's record comes back as the store text of that scan (``Collected.prepared``).
    """
    from provaudit.collectors.local import LocalCollector, find_listed_record_folders

    pools: list[multiprocessing.pool.Pool] = []

    def pool() -> multiprocessing.pool.Pool | None:
        """The worker processes, started when a folder first needs reading (an unchanged collection
        starts none)."""
        if jobs > 1 and not pools:
            # forked before any record is read; the workers never touch the store
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            pools.append(
                multiprocessing.get_context(method).Pool(
                    jobs, initializer=_init_worker, initargs=(replace(options, progress=None), stamp)
                )
            )
        return pools[0] if pools else None

    try:
        for collector, group in groups.values():
            if not isinstance(collector, LocalCollector):
                many = getattr(collector, "collect_many", None)
                records = many(group, options) if many and len(group) > 1 else _each(collector, group, options)
                yield from (Collected(record) for record in records)
                continue
            # each folder with the listing that found it: the fingerprint reuses it
            folders = (found for target in group for found in find_listed_record_folders(Path(target)))
            yield from _read_folders(folders, options, pool, jobs, known, stamp)
    finally:
        for started in pools:
            started.terminate()
            started.join()


def _each(collector: Collector, group: list[str], options: CollectOptions) -> Iterator[Record]:
    for target in group:
        yield from collector.collect(target, options)


def _read_folders(
    folders: Iterable[_Found],
    options: CollectOptions,
    pool_for: Callable[[], multiprocessing.pool.Pool | None],
    jobs: int,
    known: Callable[[str], str | None] | None,
    stamp: Stamp | None,
) -> Iterator[Collected]:
    def plan(batch: list[_Found]) -> list[tuple[Path, str | None, str | None]]:
        out: list[tuple[Path, str | None, str | None]] = []
        parents: dict[str, str] = {}
        for folder, entries in batch:
            fingerprint = folder_fingerprint(folder, options, parents, entries)
            out.append((folder, fingerprint, known(fingerprint) if known else None))
        return out

    def emit(
        planned: list[tuple[Path, str | None, str | None]], records: Iterator[Record | PreparedRevision] | None
    ) -> Iterator[Collected]:
        """The batch's records in folder order (``records``: the workers' results; None: read here)."""
        for folder, fingerprint, revision in planned:
            if revision is not None:
                yield Collected(None, fingerprint, revision, _record_id(revision), folder=folder)
                continue
            read = next(records) if records is not None else _read(folder, options, stamp)
            if isinstance(read, Record):
                if options.progress:
                    options.progress(read.id)
                yield Collected(read, fingerprint, folder=folder)
            else:
                if options.progress:
                    options.progress(read.record_id)
                yield Collected(None, fingerprint, record_id=read.record_id, prepared=read, folder=folder)

    pending: tuple[list[tuple[Path, str | None, str | None]], Iterator[Record | PreparedRevision]] | None = None
    for batch in _batched(folders, _BATCH):
        planned = plan(batch)
        todo = [str(folder) for folder, _, revision in planned if revision is None]
        pool = pool_for() if todo else None
        if pool is None:  # one process, or nothing to read in this batch
            if pending is not None:
                yield from emit(*pending)
                pending = None
            yield from emit(planned, None)
            continue
        # the next batch is read by the workers while this process writes the one before
        started = pool.map_async(_read_folder, todo, chunksize=max(1, len(todo) // (jobs * 4)))
        if pending is not None:
            yield from emit(*pending)
        pending = (planned, _LazyResults(started))
    if pending is not None:
        yield from emit(*pending)


class _LazyResults:
    """The records of one batch, waited for when the first is needed."""

    def __init__(self, result: multiprocessing.pool.AsyncResult[list[Record | PreparedRevision]]) -> None:
        self._result = result
        self._items: Iterator[Record | PreparedRevision] | None = None

    def __iter__(self) -> Iterator[Record | PreparedRevision]:
        return self

    def __next__(self) -> Record | PreparedRevision:
        if self._items is None:
            self._items = iter(self._result.get())
        return next(self._items)


def _record_id(revision: str) -> str | None:
    from provaudit.records.identity import id_from_iri

    return id_from_iri(revision.rpartition("/rev/")[0])
