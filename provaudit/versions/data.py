"""Content-addressed data versions: a folder's version is DVC's directory hash of it.

DVC (``dvc-data``, ``dvc_data/hashfile/tree.py``) names a folder ``<md5>.dir`` where ``<md5>`` is the
md5 of ``json.dumps(entries, sort_keys=True)`` (Python's default separators ``", "`` and ``": "``,
ASCII escapes) and ``entries`` is the list of ``{"md5": <md5 of the file's bytes>, "relpath":
<posix path below the folder>}`` for every file, sorted by ``relpath``. We compute exactly that, so
a provaudit data version and the ``.dir`` hash in a ``.dvc`` file or ``dvc.lock`` name the same data;
``tests/test_versions_data.py`` checks it against ``dvc-data`` itself.

Like DVC, symlinks to files inside the folder are hashed as the file they point to and symlinked
directories are not descended into. Unlike DVC, symlinks that leave the folder are not followed,
and FIFOs, sockets and devices are skipped: each is listed in :attr:`DataVersion.skipped` with the
reason, and :attr:`DataVersion.dvc_compatible` says whether DVC would have hashed something else.

Large folders: files are read in 1 MiB chunks, and a persistent digest cache (SQLite) keyed by
absolute path + size + mtime_ns + inode lets a second pass re-read only the files that changed.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _json_string  # what json.dumps uses for a str
from pathlib import Path
from types import TracebackType

from provaudit.errors import InputError, file_kind

DIR_SUFFIX = ".dir"
CACHE_ENV = "PROVAUDIT_CACHE_DIR"
_CHUNK = 1 << 20
_LARGE = 1 << 20  # files above this are hashed on worker threads (hashlib releases the GIL)
# A file whose mtime is this close to the moment we read it may still change within the same
# timestamp tick without changing size ("racy git"); such digests are used but not cached.
_RACY_NS = 2_000_000_000

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(files_done, files_total)`` while a folder is hashed."""


@dataclass(frozen=True)
class FileDigest:
    """One file of a data version."""

    relpath: str
    md5: str
    size: int


@dataclass(frozen=True)
class SkippedEntry:
    """A folder entry that is not part of the version, and why.

    ``kind`` is ``symlink-outside``, ``symlink-dir``, ``broken-symlink`` or ``special``.
    """

    relpath: str
    kind: str
    reason: str

    @property
    def dvc_differs(self) -> bool:
        """True when DVC would have hashed this entry (or failed on it) instead of leaving it out."""
        return self.kind != "symlink-dir"


@dataclass(frozen=True)
class DataVersion:
    """The version of a folder: DVC's ``<md5>.dir`` hash and what went into it."""

    path: str
    dir_hash: str
    files: int
    size: int
    hashed: int
    """Files whose bytes were read in this call (the rest came from the digest cache)."""
    hashed_bytes: int
    hashed_paths: tuple[str, ...]
    skipped: tuple[SkippedEntry, ...] = ()
    entries: tuple[FileDigest, ...] | None = None
    """Every file's md5, sorted by relpath; only with ``data_version(..., with_files=True)``."""

    @property
    def md5(self) -> str:
        """The hash without DVC's ``.dir`` suffix."""
        return self.dir_hash.removesuffix(DIR_SUFFIX)

    @property
    def reused(self) -> int:
        """Files whose digest came from the cache."""
        return self.files - self.hashed

    @property
    def dvc_compatible(self) -> bool:
        """False when a skipped entry means DVC would compute another hash for this folder."""
        return not any(s.dvc_differs for s in self.skipped)


def default_cache_path() -> Path:
    """``$PROVAUDIT_CACHE_DIR`` or ``$XDG_CACHE_HOME/provaudit`` or ``~/.cache/provaudit``, + ``digests.sqlite``."""
    base = os.environ.get(CACHE_ENV)
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = os.path.join(xdg, "provaudit") if xdg else os.path.join(Path.home(), ".cache", "provaudit")
    return Path(base) / "digests.sqlite"


class DigestCache:
    """Persistent md5 digests of files, valid while path, size, mtime_ns and inode are unchanged."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
                db.execute("PRAGMA synchronous=NORMAL")  # a lost digest is only recomputed
                db.execute(
                    "CREATE TABLE IF NOT EXISTS digests (path TEXT PRIMARY KEY, size INTEGER NOT NULL,"
                    " mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, md5 TEXT NOT NULL) WITHOUT ROWID"
                )
            except sqlite3.Error as exc:
                raise InputError(str(self.path), f"cannot open the digest cache: {exc}") from exc
            self._db = db
        return self._db

    def under(self, root: str) -> dict[str, tuple[tuple[int, int, int], str]]:
        """Every cached digest below ``root`` (an absolute folder): path -> ((size, mtime_ns, inode), md5)."""
        lo, hi = _prefix_range(root)
        rows = self._conn().execute(
            "SELECT path, size, mtime_ns, inode, md5 FROM digests WHERE path >= ? AND path < ?", (lo, hi)
        )
        return {p: ((s, m, i), d) for p, s, m, i, d in rows}

    def update(self, rows: Iterable[tuple[str, int, int, int, str]], stale: Iterable[str] = ()) -> None:
        """Store (path, size, mtime_ns, inode, md5) rows and forget ``stale`` paths, in one transaction."""
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("DELETE FROM digests WHERE path = ?", ((p,) for p in stale))
            db.executemany("INSERT OR REPLACE INTO digests VALUES (?, ?, ?, ?, ?)", rows)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> DigestCache:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _prefix_range(root: str) -> tuple[str, str]:
    """Key range of the paths strictly below ``root`` ('0' is the character after '/')."""
    base = root.rstrip("/")
    return base + "/", base + "0"


@dataclass(slots=True)
class _File:
    relpath: str
    abspath: str
    size: int
    mtime_ns: int
    inode: int
    md5: str = ""


def _inside(target: str, root_real: str) -> bool:
    return target == root_real or target.startswith(root_real.rstrip("/") + "/")


def _walk(root: str, root_real: str, skipped: list[SkippedEntry]) -> Iterator[_File]:
    """Regular files below ``root`` (symlinks inside resolved as DVC does); everything else to ``skipped``."""
    stack: list[tuple[str, str]] = [(root, "")]
    while stack:
        folder, rel = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            raise InputError(folder, f"cannot list the folder: {exc.strerror or exc}") from exc
        for entry in entries:
            relpath = f"{rel}{entry.name}"
            try:
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if not _inside(target, root_real):
                        skipped.append(
                            SkippedEntry(relpath, "symlink-outside", f"symlink to {target}, outside the folder")
                        )
                        continue
                    try:
                        st = os.stat(entry.path)
                    except FileNotFoundError:
                        skipped.append(SkippedEntry(relpath, "broken-symlink", "symlink to a missing file"))
                        continue
                    if stat.S_ISDIR(st.st_mode):
                        # DVC's walk does not descend into directory symlinks either (and loops are avoided).
                        skipped.append(SkippedEntry(relpath, "symlink-dir", "symlink to a folder, not followed"))
                        continue
                else:
                    st = entry.stat(follow_symlinks=False)
                    if stat.S_ISDIR(st.st_mode):
                        stack.append((entry.path, relpath + "/"))
                        continue
                if not stat.S_ISREG(st.st_mode):
                    skipped.append(SkippedEntry(relpath, "special", f"{file_kind(st.st_mode)}, not read"))
                    continue
            except OSError as exc:
                raise InputError(entry.path, f"cannot read: {exc.strerror or exc}") from exc
            # ``root`` is absolute and normalized, so entry.path is too: no abspath per file.
            yield _File(relpath, entry.path, st.st_size, st.st_mtime_ns, st.st_ino)


def file_md5(path: str | os.PathLike[str]) -> tuple[str, os.stat_result, bool]:
    """md5 of a file read in chunks, its stat when opened, and whether it stayed unchanged while read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(os.fspath(path), f"cannot read: {exc.strerror or exc}") from exc
    try:
        before = os.fstat(fd)
        digest = hashlib.md5(usedforsecurity=False)
        # os.read straight from the descriptor: no buffer object per file, one read for a small file.
        while chunk := os.read(fd, _CHUNK):
            digest.update(chunk)
        after = os.fstat(fd)
    except OSError as exc:
        raise InputError(os.fspath(path), f"cannot read: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    same = (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns)
    return digest.hexdigest(), before, same


def _entry_json(md5: str, relpath: str) -> str:
    """One entry exactly as ``json.dumps(list, sort_keys=True)`` writes it inside DVC's list."""
    return '{"md5": "' + md5 + '", "relpath": ' + _json_string(relpath) + "}"


def data_version(
    path: str | os.PathLike[str],
    *,
    cache: DigestCache | str | os.PathLike[str] | bool = True,
    progress: ProgressCallback | None = None,
    with_files: bool = False,
    jobs: int | None = None,
) -> DataVersion:
    """The DVC-compatible version (``<md5>.dir``) of the folder ``path``.

    ``cache``: ``True`` for :func:`default_cache_path`, a path to another SQLite file, an open
    :class:`DigestCache`, or ``False`` to read every file. ``with_files`` keeps each file's md5.
    """
    root = os.path.abspath(path)
    if not os.path.isdir(root):
        raise InputError(os.fspath(path), "not a folder (a data version is computed for a folder)")
    root_real = os.path.realpath(root)
    own_cache = not isinstance(cache, DigestCache) and cache is not False
    digests: DigestCache | None
    if isinstance(cache, DigestCache):
        digests = cache
    elif cache is False:
        digests = None
    else:
        digests = DigestCache(default_cache_path() if cache is True else cache)
    try:
        return _version(root, root_real, digests, progress, with_files, jobs)
    finally:
        if own_cache and digests is not None:
            digests.close()


def _version(
    root: str,
    root_real: str,
    digests: DigestCache | None,
    progress: ProgressCallback | None,
    with_files: bool,
    jobs: int | None,
) -> DataVersion:
    started_ns = time.time_ns()
    skipped: list[SkippedEntry] = []
    files = sorted(_walk(root, root_real, skipped), key=lambda f: f.relpath)
    total = len(files)
    known = digests.under(root) if digests is not None else {}

    todo: list[_File] = []
    for f in files:
        hit = known.get(f.abspath)
        if hit is not None and hit[0] == (f.size, f.mtime_ns, f.inode):
            f.md5 = hit[1]
        else:
            todo.append(f)
    done = total - len(todo)
    if progress is not None:
        progress(done, total)

    fresh: list[tuple[str, int, int, int, str]] = []
    hashed_bytes = 0

    def hash_one(f: _File) -> _File:
        md5, st, unchanged = file_md5(f.abspath)
        f.md5, f.size, f.mtime_ns, f.inode = md5, st.st_size, st.st_mtime_ns, st.st_ino
        if unchanged and started_ns - st.st_mtime_ns > _RACY_NS:
            fresh.append((f.abspath, f.size, f.mtime_ns, f.inode, md5))  # list.append is atomic
        return f

    large = [f for f in todo if f.size > _LARGE]
    small = [f for f in todo if f.size <= _LARGE] if len(large) > 1 else todo
    for f in small:
        hashed_bytes += hash_one(f).size
        done += 1
        if progress is not None:
            progress(done, total)
    if len(large) > 1:
        workers = jobs or min(8, (os.cpu_count() or 1) + 2)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for f in pool.map(hash_one, large):
                hashed_bytes += f.size
                done += 1
                if progress is not None:
                    progress(done, total)

    if digests is not None and (fresh or len(known) != total - len(todo)):
        seen = {f.abspath for f in files}
        digests.update(fresh, stale=[p for p in known if p not in seen])

    h = hashlib.md5(usedforsecurity=False)
    h.update(b"[")
    for i, f in enumerate(files):
        h.update(((", " if i else "") + _entry_json(f.md5, f.relpath)).encode("utf-8"))
    h.update(b"]")
    return DataVersion(
        path=root,
        dir_hash=h.hexdigest() + DIR_SUFFIX,
        files=total,
        size=sum(f.size for f in files),
        hashed=len(todo),
        hashed_bytes=hashed_bytes,
        hashed_paths=tuple(f.relpath for f in todo),
        skipped=tuple(sorted(skipped, key=lambda s: s.relpath)),
        entries=tuple(FileDigest(f.relpath, f.md5, f.size) for f in files) if with_files else None,
    )
