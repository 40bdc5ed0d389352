"""A reader's check of the database folder meets a file a running writer removed after the listing.

``tests/test_concurrent_reads.py`` met this at random under load: a reader listed the database folder while a
scan's bulk load ingested (and removed) its ``bulk-*.sst`` file, and its ``lstat`` of that name failed, so
``provaudit scans`` ended with "No such file or directory". Here the writer's removal is made to happen
exactly between the listing and the ``lstat``, every time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from provaudit.errors import StoreError
from provaudit.store import resilience

_SCANDIR = os.scandir


def _removing_after_listing(name: str) -> type:
    """``os.scandir`` as a writer racing the reader leaves it: ``name`` is listed, then gone before its stat."""

    class Listing:
        def __init__(self, path: os.PathLike[str] | str) -> None:
            with _SCANDIR(path) as entries:
                self.entries = list(entries)
            os.unlink(os.path.join(path, name))

        def __enter__(self) -> Iterator[os.DirEntry[str]]:
            return iter(self.entries)

        def __exit__(self, *exc: object) -> None:
            return None

    return Listing


def _store(tmp_path: Path) -> tuple[Path, Path]:
    store = tmp_path / "store"
    db = store / "oxigraph"
    db.mkdir(parents=True)
    (db / "000010.sst").write_bytes(b"table")
    (db / "bulk-1234.sst").write_bytes(b"being ingested")
    return store, db


def test_a_file_removed_between_listing_and_stat_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, db = _store(tmp_path)
    monkeypatch.setattr(resilience.os, "scandir", _removing_after_listing("bulk-1234.sst"))
    resilience.check_database_folder(store, db)  # before the fix: FileNotFoundError naming bulk-1234.sst
    assert not (db / "bulk-1234.sst").exists()


def test_a_fifo_in_the_database_folder_is_still_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store, db = _store(tmp_path)
    os.mkfifo(db / "000011.sst")
    monkeypatch.setattr(resilience.os, "scandir", _removing_after_listing("bulk-1234.sst"))
    with pytest.raises(StoreError, match=r"000011\.sst: is a FIFO.*regular files only"):
        resilience.check_database_folder(store, db)
