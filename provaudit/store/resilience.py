"""Opening the store for writing (queueing behind another writer) and reading across compactions.

RocksDB allows one writer per folder, holding ``LOCK``; ``scan --wait SECONDS`` retries the open until
the other writer is done. A read-only view reads RocksDB's file list once when opened; a compaction
by a running writer can then delete a ``.sst`` file the view still lists, and a read fails with
``FileNotFoundError … .sst``. Nothing is lost (the data is in the compacted file), so a read method
wrapped by :func:`retry_reads` reopens the view and runs again.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pyoxigraph import Store

from provaudit.errors import StoreBusyError, StoreError

READ_ATTEMPTS = 8
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


def read_meta(path: Path, meta: Path) -> dict[str, Any]:
    """``store.json``: what kind of store this folder is; a garbage or foreign file is a StoreError."""
    import json

    try:
        data = json.loads(meta.read_bytes()[: 1 << 16])
    except (OSError, ValueError) as exc:
        raise StoreError(
            f"{meta}: not a provaudit store description ({exc}); is {path} a provaudit store? {check_hint(path)}"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != "provaudit-oxigraph":
        raise StoreError(f"{meta}: not a provaudit store (format {str(data)[:60]!r}); choose another --store")
    return data
