"""The index of a prediction log: ``LOG.index``, an SQLite file beside the log.

``trace`` and ``log query`` read a prediction through it instead of scanning the log. Offsets are
*global*: positions in the log's files read in chain order (``LOG.N`` … ``LOG.1``, ``LOG``) as one
byte stream, which rotation does not change (it only renames finished files).

The index is brought up to date on every read, from the last indexed offset: each new line is
checked as ``log verify`` checks it (its own hash, the link to the line before) and only an intact
prefix of the chain is ever indexed. Every indexing pass also keeps the sha256 of the bytes it read,
in blocks of about 1 MiB; a read then re-hashes the blocks up to the line it returns, so a line
edited, removed or rewritten since it was indexed is found (one sha256 over the prefix, no per-line
work), and only the block that differs is read line by line to name the first bad line.

The index is a cache, not evidence: deleting it only costs a rebuild, and whoever can rewrite the
log can rewrite the index too; the seals (:mod:`provaudit.versions.seal`) are what pin the log. A
log whose folder cannot be written is indexed in memory for the one read. A file verified whole and
unchanged since (same inode, size, mtime and ctime) is not re-hashed: see :meth:`LogIndex.verify_upto`.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from provaudit.errors import InputError
from provaudit.versions.predictions import (
    ChainBroken,
    ChainProblem,
    LoggedPrediction,
    check_link,
    log_files,
    parse_line,
    split_ref,
)

SUFFIX = ".index"
SCHEMA = "4"
BLOCK_BYTES = 1 << 20
_CHUNK = 8 << 20
_BATCH = 20_000
_SETTLED_NS = 2_000_000_000
_JOIN_IDS = 1000
_HASH_BYTES = 16  # of each line's chain hash kept: enough to tell which line differs

_DDL = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS files(start INTEGER PRIMARY KEY, first INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS trusted(start INTEGER PRIMARY KEY, stat TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks(start INTEGER PRIMARY KEY, end INTEGER NOT NULL, first INTEGER NOT NULL,
    prev TEXT, sha BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS models(n INTEGER PRIMARY KEY, id TEXT NOT NULL, digest TEXT NOT NULL,
    version TEXT NOT NULL, UNIQUE(id, digest, version));
CREATE TABLE IF NOT EXISTS lines(n INTEGER PRIMARY KEY, id TEXT NOT NULL, off INTEGER NOT NULL,
    hash BLOB NOT NULL, time TEXT NOT NULL, model INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS lines_id ON lines(id);
CREATE INDEX IF NOT EXISTS lines_model ON lines(model, n);
CREATE TABLE IF NOT EXISTS deps(n INTEGER NOT NULL, log TEXT NOT NULL, id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS deps_id ON deps(id);
"""


@dataclass(frozen=True)
class _File:
    path: Path
    start: int  # global offset of its first byte
    size: int
    fd: int
    stat: str  # inode, size, mtime and ctime (ns) when it was opened
    ctime_ns: int


class _Stream:
    """The log's files in chain order, opened together, read as one byte stream of global offsets."""

    def __init__(self, log: Path) -> None:
        self.opened_ns = time.time_ns()
        for _ in range(10):  # a rotation between listing and opening: list again
            files = log_files(log)
            opened: list[_File] = []
            start = 0
            consistent = True
            for path in files:
                try:
                    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                except FileNotFoundError:
                    consistent = False
                    break
                st = os.fstat(fd)
                size = st.st_size
                stat = f"{st.st_ino}:{size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
                opened.append(_File(path, start, size, fd, stat, st.st_ctime_ns))
                start += size
            if consistent and log_files(log) == files:
                consistent = all(os.stat(f.path).st_ino == os.fstat(f.fd).st_ino for f in opened)
            else:
                consistent = False
            if consistent:
                self.files = opened
                self.end = start
                self._starts = [f.start for f in opened]
                return
            for f in opened:
                os.close(f.fd)
        raise InputError(str(log), "the log kept rotating while it was read; try again")

    def close(self) -> None:
        for f in self.files:
            os.close(f.fd)

    def file_at(self, offset: int) -> _File:
        """The file holding the byte at ``offset`` (the last file for the end of the stream)."""
        return self.files[max(0, bisect.bisect_right(self._starts, offset) - 1)]

    def chunks(self, start: int, end: int) -> Iterator[bytes]:
        """The bytes of [start, end), in pieces; shorter when the files end first."""
        for f in self.files:
            lo, hi = max(start, f.start), min(end, f.start + f.size)
            while lo < hi:
                data = os.pread(f.fd, min(_CHUNK, hi - lo), lo - f.start)
                if not data:
                    return
                yield data
                lo += len(data)

    def lines(self, start: int) -> Iterator[tuple[_File, int, bytes]]:
        """(file, global offset, raw line) from ``start`` (a line start) to the end; a line never spans files."""
        for f in self.files:
            if f.start + f.size <= start:
                continue
            offset = max(start, f.start)
            with open(f.fd, "rb", closefd=False, buffering=1 << 20) as fh:
                fh.seek(offset - f.start)
                for raw in fh:
                    yield f, offset, raw
                    offset += len(raw)

    def line_at(self, offset: int) -> bytes:
        f = self.file_at(offset)
        out = b""
        pos = offset - f.start
        while pos < f.size:
            data = os.pread(f.fd, 4096, pos)
            if not data:
                break
            cut = data.find(b"\n")
            if cut >= 0:
                return out + data[: cut + 1]
            out += data
            pos += len(data)
        return out


@dataclass(slots=True)
class IndexedLine:
    """One prediction as the index holds it."""

    log: Path
    n: int  # line number across the log's files, from 1
    id: str
    time: str
    model: dict[str, str]
    file: Path  # the file holding it now, and its line number there
    line: int


def _model_key(record: dict[str, Any]) -> tuple[str, str, str]:
    model = record.get("model")
    if not isinstance(model, dict):
        return ("", "", "")
    return (str(model.get("id") or ""), str(model.get("digest") or ""), str(model.get("version") or ""))


class LogIndex:
    """The index of one log; use as a context manager. Every read brings it up to date first."""

    def __init__(self, log: str | os.PathLike[str]) -> None:
        self.log = Path(os.path.abspath(log))
        if not log_files(self.log):
            raise InputError(str(self.log), "no such prediction log (nor rotated files of it)")
        self.path = Path(f"{self.log}{SUFFIX}")
        self.db = self._connect()
        self._stream: _Stream | None = None
        self._problem: ChainProblem | None = None
        self._updated = False

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=120)
            db.executescript(_DDL)
        except sqlite3.Error:  # a read-only folder (or a broken index file): index in memory this once
            db = sqlite3.connect(":memory:", isolation_level=None)
            db.executescript(_DDL)
        schema = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if schema is None or schema[0] != SCHEMA:  # new, or written by another version: built again
            db.execute("BEGIN IMMEDIATE")
            for table in ("files", "trusted", "blocks", "models", "lines", "deps", "meta"):
                db.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in filter(str.strip, _DDL.split(";")):
                db.execute(statement)
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)", [("schema", SCHEMA), ("end", 0), ("lines", 0), ("last", None)]
            )
            db.execute("COMMIT")
        return db

    def __enter__(self) -> LogIndex:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        self.db.close()

    @property
    def stream(self) -> _Stream:
        if self._stream is None:
            self._stream = _Stream(self.log)
        return self._stream

    def _meta(self) -> tuple[int, int, str | None]:
        rows = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        return int(rows["end"]), int(rows["lines"]), rows["last"]

    def _where(self, n: int, offset: int) -> tuple[Path, int]:
        """(file, line number in it) of line ``n`` at global ``offset``."""
        f = self.stream.file_at(offset)
        row = self.db.execute("SELECT first FROM files WHERE start <= ? ORDER BY start DESC LIMIT 1", (offset,))
        first = row.fetchone()
        return f.path, n - (int(first[0]) if first else 1) + 1

    def _locator(self) -> Callable[[int], tuple[Path, int]]:
        """line number across files → (file, line number in it), for many lines at once."""
        starts = self.db.execute("SELECT first, start FROM files ORDER BY first").fetchall()
        firsts = [int(first) for first, _ in starts]
        paths = {f.start: f.path for f in self.stream.files}

        def locate(n: int) -> tuple[Path, int]:
            i = bisect.bisect_right(firsts, n) - 1
            if i < 0:
                return self.log, n
            first, start = starts[i]
            return paths.get(int(start), self.log), n - int(first) + 1

        return locate

    # --- indexing ---------------------------------------------------------------------------------

    def update(self) -> ChainProblem | None:
        """Index the lines written since the last pass; the first line that breaks the chain stops it.

        Returns that line's problem (also when it was found by an earlier pass), else None. A torn
        last line is a write still going on: it is left for the next pass.
        """
        if self._updated:
            return self._problem
        self._updated = True
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if self.stream.end < self._meta()[0]:
                # another reader indexed lines written after this one opened the files: look again
                self.stream.close()
                self._stream = None
            self._problem = self._index_new(self.stream)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return self._problem

    def _index_new(self, stream: _Stream) -> ChainProblem | None:
        end, count, last = self._meta()
        if stream.end < end:
            row = self.db.execute("SELECT n, off FROM lines WHERE off + 1 > ? ORDER BY n LIMIT 1", (stream.end,))
            n, offset = row.fetchone() or (count, end)
            file, line = self._where(int(n), min(int(offset), max(stream.end - 1, 0)))
            return ChainProblem(
                file,
                line,
                "truncated",
                f"the log holds {stream.end} bytes but {count} lines ({end} bytes) were indexed: "
                f"line {n} and the lines after it were cut off",
            )
        if stream.end == end:
            return None
        models = {(i, d, v): n for n, i, d, v in self.db.execute("SELECT n, id, digest, version FROM models")}
        file_first = dict(self.db.execute("SELECT start, first FROM files").fetchall())
        rows: list[tuple[int, str, int, bytes, str, int]] = []
        deps: list[tuple[int, str, str]] = []
        block = hashlib.sha256()
        block_start, block_first, block_prev = end, count + 1, last
        offset, expected, n = end, last, count
        problem: ChainProblem | None = None
        names = [f.path for f in stream.files]
        last_file = stream.files[-1]
        for f, offset, raw in stream.lines(end):
            if f.start not in file_first and offset == f.start:
                file_first[f.start] = n + 1
                self.db.execute("INSERT OR REPLACE INTO files VALUES (?, ?)", (f.start, n + 1))
            if not raw.endswith(b"\n") and f is last_file:
                break  # a write in progress (or interrupted): not indexed yet
            n += 1
            line_no = n - file_first.get(f.start, 1) + 1
            if not raw.endswith(b"\n"):
                problem = ChainProblem(f.path, line_no, "torn", "incomplete line at the end of a rotated file")
                break
            kind, message, digest, record = check_link(names, n, raw, expected)
            if kind is not None or record is None or digest is None:
                problem = ChainProblem(f.path, line_no, kind or "malformed", message)
                break
            key = _model_key(record)
            model = models.get(key)
            if model is None:
                model = models[key] = len(models) + 1
                self.db.execute("INSERT INTO models VALUES (?, ?, ?, ?)", (model, *key))
            short = bytes.fromhex(digest)[:_HASH_BYTES]
            rows.append((n, str(record.get("id")), offset, short, str(record.get("time", "")), model))
            refs = record.get("depends_on")
            if isinstance(refs, list):
                for ref in map(str, refs):
                    where, sep, pid = ref.partition("#")  # as split_ref reads it; "" is this log
                    deps.append((n, where, pid) if sep else (n, "", ref))
            block.update(raw)
            expected = digest
            end = offset + len(raw)
            if end - block_start >= BLOCK_BYTES:
                self._block(block_start, end, block_first, block_prev, block.digest())
                block, block_start, block_first, block_prev = hashlib.sha256(), end, n + 1, expected
            if len(rows) >= _BATCH:
                self._flush(rows, deps, end, n, expected)
        if end > block_start:
            self._block(block_start, end, block_first, block_prev, block.digest())
        n_indexed = n - 1 if problem is not None else n
        self._flush(rows, deps, end, n_indexed, expected)
        return problem

    def _block(self, start: int, end: int, first: int, prev: str | None, sha: bytes) -> None:
        self.db.execute("INSERT OR REPLACE INTO blocks VALUES (?, ?, ?, ?, ?)", (start, end, first, prev, sha))

    def _flush(self, rows: list[Any], deps: list[Any], end: int, count: int, last: str | None) -> None:
        self.db.executemany("INSERT OR REPLACE INTO lines VALUES (?, ?, ?, ?, ?, ?)", rows)
        self.db.executemany("INSERT INTO deps VALUES (?, ?, ?)", deps)
        self.db.executemany("UPDATE meta SET value = ? WHERE key = ?", [(end, "end"), (count, "lines"), (last, "last")])
        rows.clear()
        deps.clear()

    # --- verifying ----------------------------------------------------------------------------------

    def verify_upto(self, offset: int, last: int | None = None) -> ChainProblem | None:
        """Re-hash the indexed blocks up to the one holding ``offset``; name the first bad line if one differs.

        ``last``: the line number at ``offset``; a block that differs only after it is no problem.
        A file whose inode, size, mtime and ctime are those it had when all of it was last verified
        is not read again: writing, truncating or ``touch``-ing a file changes its ctime, which only
        the clock (root) can set back. Rotation renames files (a new ctime): they are re-hashed once.
        """
        files = self.stream.files
        stats = dict(self.db.execute("SELECT start, stat FROM trusted").fetchall())
        unchanged = {f.start for f in files if stats.get(f.start) == f.stat}
        blocks = self.db.execute(
            "SELECT start, end, first, prev, sha FROM blocks WHERE start <= ? ORDER BY start", (offset,)
        ).fetchall()
        for start, end, first, prev, sha in blocks:
            if all(f.start in unchanged for f in files if f.start < end and f.start + f.size > start):
                continue
            digest = hashlib.sha256()
            for chunk in self.stream.chunks(start, end):
                digest.update(chunk)
            if digest.digest() != sha:
                return self._first_bad(start, end, first, prev, last)
        covered = blocks[-1][1] if blocks else 0
        # a file changed within the last seconds could change again within one timestamp tick unseen
        settled = self.stream.opened_ns - _SETTLED_NS
        verified = [
            (f.start, f.stat)
            for f in files
            if f.start + f.size <= covered and f.start not in unchanged and f.ctime_ns < settled
        ]
        if verified:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO trusted VALUES (?, ?)", verified)
            self.db.execute("COMMIT")
        return None

    def verify_all(self) -> ChainProblem | None:
        """The first bad line of the whole log: in the indexed part, else where indexing stopped."""
        problem = self.update()
        end = self._meta()[0]
        return self.verify_upto(end) or problem

    def _first_bad(
        self, start: int, end: int, first: int, prev: str | None, last: int | None = None
    ) -> ChainProblem | None:
        """The first line of a block whose bytes no longer hash as indexed (None if it comes after ``last``)."""
        indexed = self.db.execute(
            "SELECT n, off, hash FROM lines WHERE n >= ? AND off < ? AND n <= ? ORDER BY n",
            (first, end, last if last is not None else 1 << 62),
        ).fetchall()
        names = [f.path for f in self.stream.files]
        lines = self.stream.lines(start)
        expected = prev
        for n, offset, stored in indexed:
            got = next(lines, None)
            if got is None or not got[2].endswith(b"\n"):
                file, line = self._where(n, min(offset, max(self.stream.end - 1, 0)))
                return ChainProblem(
                    file, line, "truncated", f"line {n} and the lines after it were cut off (they were indexed)"
                )
            f, _, raw = got
            file, line = self._where(n, offset)
            kind, message, digest, _ = check_link(names, n, raw, expected)
            if kind is not None or digest is None:
                return ChainProblem(f.path, line, kind or "malformed", message)
            if bytes.fromhex(digest)[:_HASH_BYTES] != stored:
                return ChainProblem(
                    f.path,
                    line,
                    "rewritten",
                    "a well-formed line, but not the one indexed here: the chain was rewritten from this "
                    "line on (`provaudit log verify LOG --key PUB` checks the log against its seals; if the "
                    f"log was replaced on purpose, delete {self.path.name})",
                )
            expected = digest
        if last is not None:
            return None
        file, line = self._where(first, start)
        return ChainProblem(file, line, "rewritten", "bytes after the last indexed line of this block changed")

    # --- reading ------------------------------------------------------------------------------------

    def _line(self, n: int, offset: int) -> LoggedPrediction:
        raw = self.stream.line_at(offset)
        kind, message, _, record = parse_line(raw)
        file, line = self._where(n, offset)
        if kind is not None or record is None:
            raise ChainBroken(ChainProblem(file, line, kind or "malformed", message or ""))
        return LoggedPrediction(record, file, line)

    def prediction(self, prediction_id: str, *, verify: bool = True) -> LoggedPrediction:
        """The (latest) prediction with this id; with ``verify``, only if the chain up to it is intact."""
        problem = self.update()
        row = self.db.execute(
            "SELECT n, off FROM lines WHERE id = ? ORDER BY n DESC LIMIT 1", (prediction_id,)
        ).fetchone()
        if row is None:
            if problem is not None:
                raise ChainBroken(problem, f"; prediction {prediction_id!r} is not in the lines before it")
            raise InputError(
                str(self.log), f"no prediction with id {prediction_id!r} in {len(self.stream.files)} log file(s)"
            )
        n, offset = int(row[0]), int(row[1])
        if verify:
            bad = self.verify_upto(offset, n)
            if bad is not None:
                raise ChainBroken(bad)
        return self._line(n, offset)

    def select(
        self, keep_model: Any = None, *, since: str | None = None, until: str | None = None
    ) -> list[IndexedLine]:
        """Indexed predictions whose model ``keep_model(id, digest, version)`` accepts, within [since, until]."""
        self.update()
        models = {n: (i, d, v) for n, i, d, v in self.db.execute("SELECT n, id, digest, version FROM models")}
        wanted = {n for n, key in models.items() if keep_model is None or keep_model(*key)}
        if not wanted:
            return []
        where, args = ["1"], []
        if len(wanted) < min(len(models), 500):  # else every model (or too many to list): filtered below
            where.append("model IN ({})".format(",".join("?" * len(wanted))))
            args += sorted(wanted)
        if since:
            where.append("time >= ?")
            args.append(since)
        if until:
            where.append("time <= ?")
            args.append(until)
        shared = {n: _model_dict(key) for n, key in models.items() if n in wanted}  # one dict per model
        rows = self.db.execute(f"SELECT n, id, time, model FROM lines WHERE {' AND '.join(where)} ORDER BY n", args)
        paths = {f.start: f.path for f in self.stream.files}
        firsts = [(int(first), paths.get(int(start), self.log)) for first, start in self._files()] or [(1, self.log)]
        found, i, log = [], 0, self.log
        for n, pid, when, model in rows:  # in line order: the file changes only forwards
            if model not in shared:
                continue
            while i + 1 < len(firsts) and firsts[i + 1][0] <= n:
                i += 1
            first, path = firsts[i]
            found.append(IndexedLine(log, n, pid, when, shared[model], path, n - first + 1))
        return found

    def _files(self) -> list[tuple[int, int]]:
        """(first line number, global start offset) of each file, in order."""
        return [(int(a), int(b)) for a, b in self.db.execute("SELECT first, start FROM files ORDER BY first")]

    def dependents(self, wanted: Mapping[str, Collection[str]]) -> list[tuple[IndexedLine, str, str]]:
        """Predictions of this log whose ``depends_on`` names one of ``wanted`` (id → absolute log paths).

        Returns (the consuming prediction, the log path and the id it names).
        """
        self.update()
        if not wanted:
            return []
        models = {n: (i, d, v) for n, i, d, v in self.db.execute("SELECT n, id, digest, version FROM models")}
        select = "SELECT d.log, d.id, l.n, l.id, l.time, l.model FROM {} JOIN lines l ON l.n = d.n ORDER BY l.n"
        if len(wanted) > _JOIN_IDS:  # many ids: read every link (far fewer than lines) and filter here
            rows = self.db.execute(select.format("deps d")).fetchall()
        else:
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted(id TEXT PRIMARY KEY)")
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM wanted")
            self.db.executemany("INSERT INTO wanted VALUES (?)", [(pid,) for pid in wanted])
            self.db.execute("COMMIT")
            rows = self.db.execute(select.format("wanted w JOIN deps d ON d.id = w.id")).fetchall()
        found = []
        locate = self._locator()
        here = str(self.log)
        for ref_log, ref_id, n, pid, when, model in rows:
            logs = wanted.get(ref_id)
            if logs is None:
                continue
            if ref_log:
                target, _ = split_ref(f"{ref_log}#{ref_id}", self.log)
                target_log = os.path.abspath(target)
            else:
                target_log = here
            if target_log in logs:
                line = IndexedLine(self.log, n, pid, when, _model_dict(models[model]), *locate(n))
                found.append((line, target_log, ref_id))
        return found

    def links(self) -> list[tuple[Path, str, dict[str, str]]]:
        """Every ``depends_on`` link: (the log it points to, the id there, the consuming prediction's model)."""
        self.update()
        models = {n: (i, d, v) for n, i, d, v in self.db.execute("SELECT n, id, digest, version FROM models")}
        found = []
        for ref_log, ref_id, model in self.db.execute(
            "SELECT d.log, d.id, l.model FROM deps d JOIN lines l ON l.n = d.n"
        ):
            target, _ = split_ref(f"{ref_log}#{ref_id}" if ref_log else f"#{ref_id}", self.log)
            found.append((Path(os.path.abspath(target)), ref_id, _model_dict(models[model])))
        return found

    def models_of(self, ids: Iterable[str]) -> dict[str, dict[str, str]]:
        """The model of the (latest) prediction of each id this log holds."""
        self.update()
        models = {n: (i, d, v) for n, i, d, v in self.db.execute("SELECT n, id, digest, version FROM models")}
        wanted = sorted(set(ids))
        found: dict[str, dict[str, str]] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            sql = "SELECT id, model FROM lines WHERE id IN ({}) ORDER BY n".format(",".join("?" * len(chunk)))
            for pid, model in self.db.execute(sql, chunk):
                found[pid] = _model_dict(models[model])
        return found


def _model_dict(key: Sequence[str]) -> dict[str, str]:
    return {k: v for k, v in zip(("id", "digest", "version"), key, strict=True) if v}
