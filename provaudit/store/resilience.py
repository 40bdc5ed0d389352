"""Opening the store for writing (queueing behind another writer) and reading across compactions.

RocksDB allows one writer per folder, holding ``LOCK``; ``scan --wait SECONDS`` retries the open until
the other writer is done. A read-only view reads RocksDB's file list once when opened; a compaction
by a running writer can then delete a ``.sst`` file the view still lists, and a read fails with
``FileNotFoundError … .sst``. Nothing is lost (the data is in the compacted file), so a read method
wrapped by :func:`retry_reads` reopens the view and runs again.

So that a long read never meets that, a reader opens a *snapshot* (:func:`snapshot`): RocksDB's table
files are immutable, so hard links to them, with copies of ``CURRENT`` and the ``MANIFEST`` it names,
make a private folder the writer's compactions cannot change; RocksDB's own checkpoints are made the
same way. A reader that cannot write beside the store (a read-only mount) reads the live folder.

The store folder is read as strangers could have left it: ``store.json`` and the database folder's
files are read only as bounded regular files that stay inside the store folder (never a FIFO, a
device, a socket or a symlink out), and a store folder others may write to is reported.
"""

from __future__ import annotations

import functools
import os
import re
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pyoxigraph import Store

from provaudit.errors import StoreBusyError, StoreError, file_kind

READ_ATTEMPTS = 8
MAX_META_BYTES = 64 * 1024  # store.json is under 100 bytes; a larger one is not provaudit's
MAX_CURRENT_BYTES = 4096  # RocksDB's CURRENT names one MANIFEST file
_T = TypeVar("_T")


def is_lock_error(exc: BaseException) -> bool:
    """RocksDB's error when another process holds the store's write lock."""
    text = str(exc)
    return "LOCK" in text or "lock hold" in text


def is_compaction_error(exc: BaseException) -> bool:
    """A read that met a table file a writer's compaction removed after the view was opened."""
    text = str(exc)
    return ".sst" in text or isinstance(exc, FileNotFoundError)


def check_hint(path: Path) -> str:
    return f"run `provaudit store check --store {path}` to see what is wrong"


def open_writer(path: Path, db: Path, wait: float = 0.0) -> Store:
    """The store's database opened for writing; waits up to ``wait`` seconds for another writer."""
    deadline = time.monotonic() + max(wait, 0.0)
    delay = 0.1
    while True:
        try:
            return Store(str(db))
        except OSError as exc:
            if not is_lock_error(exc):
                raise StoreError(f"{path}: cannot open the store for writing ({exc}); {check_hint(path)}") from exc
            if time.monotonic() >= deadline:
                waited = f" after waiting {wait:g} s" if wait > 0 else ""
                raise StoreBusyError(
                    f"{path}: another provaudit process is writing to this store{waited}; let it finish, or queue "
                    "behind it with `provaudit scan --wait SECONDS`"
                ) from exc
        except RuntimeError as exc:  # RocksDB reports a damaged database as a RuntimeError ("Corruption: …")
            raise StoreError(
                f"{path}: the store's database cannot be opened ({exc}); {check_hint(path)}, then "
                f"`provaudit store repair --store {path}`"
            ) from exc
        time.sleep(min(delay, max(deadline - time.monotonic(), 0.0)))
        delay = min(delay * 2, 1.0)


SNAPSHOTS = ".readers"  # <store>/.readers/<pid>-<token>/: one read-only snapshot per open reader


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def _sweep(folder: Path) -> None:
    """Remove the snapshots of readers that no longer run (killed before they could clean up)."""
    import shutil

    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        pid = entry.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)


def snapshot(store: Path, db: Path) -> Path | None:
    """A private, consistent copy of the database folder for one reader, or None when none can be made
    (no write access beside the store, another file system).

    ``CURRENT`` and the ``MANIFEST`` it names are copied first: the copy lists the table files of that
    moment, and each is hard-linked (the write-ahead logs too). A file a compaction deleted in between
    makes the copy fail and it is made again; once made, nothing the writer does can change it.
    """
    import secrets
    import shutil

    home = store / SNAPSHOTS
    try:
        home.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return None
    _sweep(home)
    for _ in range(50):
        target = home / f"{os.getpid()}-{secrets.token_hex(4)}"
        try:
            target.mkdir(mode=0o700)
            current = read_store_file(store, db / "CURRENT", MAX_CURRENT_BYTES, "restore the store from a backup")
            manifest = current.decode("ascii", errors="replace").strip()
            if not re.fullmatch(r"MANIFEST-\d+", manifest):  # a name, never a path out of the folder
                raise _refuse(
                    store, db / "CURRENT", f"names {manifest[:80]!r}, not a MANIFEST file", "restore a backup"
                )
            if not stat.S_ISREG(os.lstat(db / manifest).st_mode):
                raise _refuse(store, db / manifest, "is not a regular file", "restore the store from a backup")
            shutil.copyfile(db / manifest, target / manifest)
            (target / "CURRENT").write_bytes(current)
            for entry in os.scandir(db):
                name = entry.name
                if name.endswith((".sst", ".log", ".blob")):
                    try:
                        os.link(entry.path, target / name)
                    except FileNotFoundError:
                        continue  # compacted away: if the copied MANIFEST needs it, opening fails and we retry
                elif name.startswith(("OPTIONS-", "IDENTITY")):
                    shutil.copyfile(entry.path, target / name)
            return target
        except FileNotFoundError:  # the MANIFEST was replaced meanwhile
            shutil.rmtree(target, ignore_errors=True)
            time.sleep(0.01)
        except OSError:  # cannot link (another file system) or write: read the live folder
            shutil.rmtree(target, ignore_errors=True)
            return None
        except StoreError:  # a database folder not as RocksDB leaves it: said once, with the repair step
            shutil.rmtree(target, ignore_errors=True)
            raise
    return None


def drop_snapshot(folder: Path | None) -> None:
    if folder is not None:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


class _Reopenable(Protocol):
    read_only: bool

    def reopen(self) -> None: ...


def retry_reads(method: Callable[..., _T]) -> Callable[..., _T]:
    """Run a read method again on a reopened read-only view when a compaction removed a file under it."""

    @functools.wraps(method)
    def wrapper(self: _Reopenable, *args: Any, **kwargs: Any) -> _T:
        for attempt in range(READ_ATTEMPTS):
            try:
                return method(self, *args, **kwargs)
            except (OSError, RuntimeError) as exc:
                if not getattr(self, "read_only", False) or not is_compaction_error(exc):
                    raise
                if attempt == READ_ATTEMPTS - 1:
                    raise StoreError(
                        f"the store kept changing under a read ({exc}); a writer is compacting it, try again"
                    ) from exc
                time.sleep(0.02 * (attempt + 1))
                self.reopen()
        raise AssertionError("unreachable")

    return wrapper


def _refuse(store: Path, file: Path, problem: str, repair: str) -> StoreError:
    return StoreError(f"{file}: {problem}; not read. To repair: {repair} ({check_hint(store)})")


def _within(store: Path, file: Path, repair: str) -> Path:
    """The real path of a file of the store; a StoreError when a symlink takes it out of the store folder."""
    real, home = Path(os.path.realpath(file)), Path(os.path.realpath(store))
    if home not in real.parents:
        raise _refuse(store, file, f"a symlink to {real}, outside the store folder", repair)
    return real


def read_store_file(store: Path, file: Path, limit: int, repair: str) -> bytes:
    """The bytes of one of the store's own files: a regular file inside the store folder of at most
    ``limit`` bytes. Never opens a FIFO, device or socket (checked before the open and on the open
    descriptor) and never reads past the limit; every refusal is one StoreError line with the repair step."""
    real = _within(store, file, repair)
    try:
        info = os.stat(real)
    except OSError as exc:
        raise _refuse(store, file, f"cannot be read ({exc.strerror or exc})", repair) from exc
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(store, file, f"is {file_kind(info.st_mode)}, not a regular file", repair)
    if info.st_size > limit:
        raise _refuse(store, file, f"{info.st_size} bytes, more than the {limit}-byte limit", repair)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        raise _refuse(store, file, f"cannot be read ({exc.strerror or exc})", repair) from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped between the check and the open
            raise _refuse(store, file, "is not a regular file", repair)
        data = os.read(fd, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise _refuse(store, file, f"grew past the {limit}-byte limit while read", repair)
    return data


def check_database_folder(store: Path, db: Path) -> None:
    """Refuse a database folder that is a symlink out of the store (another store would be read and
    written through it) or that holds anything but regular files (RocksDB would block on a FIFO)."""
    if not os.path.lexists(db):
        return
    repair = f"remove the link and point --store at the store it names, or move {db} aside"
    if db.is_symlink():
        _within(store, db, repair)
    info = os.stat(db)
    if not stat.S_ISDIR(info.st_mode):
        raise _refuse(store, db, f"is {file_kind(info.st_mode)}, not the database folder", f"move {db} aside")
    with os.scandir(db) as entries:
        for entry in entries:
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except FileNotFoundError:  # a running writer's compaction or bulk load removed it since the listing
                continue
            if stat.S_ISREG(mode) or (stat.S_ISDIR(mode) and entry.name.startswith(".")):
                continue
            what = "a symlink" if stat.S_ISLNK(mode) else file_kind(mode)
            raise _refuse(
                store,
                Path(entry.path),
                f"is {what}; the database holds regular files only",
                "remove it, or restore the store from a backup (`provaudit store repair` makes one)",
            )
    current = db / "CURRENT"
    if current.exists():
        read_store_file(store, current, MAX_CURRENT_BYTES, "restore the store from a backup")


def writable_by_others(store: Path) -> list[str]:
    """The store's folders that users other than its owner may write to (they could swap its files)."""
    out: list[str] = []
    for folder in (store, store / "oxigraph"):
        try:
            mode = os.stat(folder).st_mode
        except OSError:
            continue
        if stat.S_ISDIR(mode) and mode & 0o002:  # group-writable is left alone: per-user groups are common
            out.append(
                f"{folder}: writable by others (mode {stat.S_IMODE(mode):04o}); anyone could replace the store's "
                f"files: run `chmod o-w {folder}`"
            )
    return out


_WARNED: set[str] = set()


def warn_once(message: str) -> None:
    """A warning on stderr, once per process (every command opening a store says it, none twice)."""
    if message not in _WARNED:
        _WARNED.add(message)
        print(f"provaudit: warning: {message}", file=sys.stderr)


def read_meta(path: Path, meta: Path) -> dict[str, Any]:
    """``store.json``: what kind of store this folder is; a garbage, foreign, oversized or special file
    (a FIFO, ``/dev/zero``, a symlink out of the store) is a StoreError."""
    import json

    repair = f"move {meta} aside; the next `provaudit scan` writes a new one"
    data_bytes = read_store_file(path, meta, MAX_META_BYTES, repair)
    try:
        data = json.loads(data_bytes)
    except ValueError as exc:
        raise StoreError(
            f"{meta}: not a provaudit store description ({exc}); is {path} a provaudit store? {check_hint(path)}"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != "provaudit-oxigraph":
        raise StoreError(f"{meta}: not a provaudit store (format {str(data)[:60]!r}); choose another --store")
    return data
