"""Re-scans skip record folders whose file stats are unchanged; --jobs N writes what --jobs 1 writes."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CARDS

from provaudit import api
from provaudit.cli import main
from provaudit.collectors import local
from provaudit.collectors.base import CollectOptions
from provaudit.store.oxigraph import OxigraphStore

CARD = """---
license: mit
pretty_name: Tiny
language:
- en
---
# Tiny
"""


def _collection(root: Path) -> Path:
    """Two small record folders of our own and a few real ones (copies, so their stats are ours)."""
    (root / "datasets" / "tiny").mkdir(parents=True)
    (root / "datasets" / "tiny" / "README.md").write_text(CARD)
    (root / "datasets" / "other").mkdir()
    (root / "datasets" / "other" / "README.md").write_text(CARD.replace("Tiny", "Other"))
    for name in ("imdb", "glue"):
        shutil.copytree(CARDS / "datasets" / name, root / "datasets" / name)
    return root


def _rewrite_keeping_stats(path: Path, old: str, new: str) -> None:
    """Change a file's bytes in place (same inode, same size) and put its mtime back."""
    assert len(old) == len(new)
    before = path.stat()
    with path.open("r+") as handle:  # in place: the inode stays
        text = handle.read()
        handle.seek(0)
        handle.write(text.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)


def _licenses(store: Path, rid: str) -> list[str | None]:
    with api.open_store(store, read_only=True) as db:
        record = db.record(rid)
    assert record is not None
    return [c.expression for c in record.claims]


def test_unchanged_folders_are_observed_not_read(tmp_path: Path) -> None:
    root = _collection(tmp_path / "c")
    store = tmp_path / "store"
    options = CollectOptions(digests=False)
    first = api.scan([str(root)], store=store, options=options, jobs=1)
    assert set(first.outcomes.values()) == {"new"} and len(first.outcomes) == 4

    # same stats, different bytes: only a scan that reads the folder can see the ISC license
    _rewrite_keeping_stats(root / "datasets" / "tiny" / "README.md", "license: mit", "license: isc")
    again = api.scan([str(root)], store=store, options=options, jobs=1)
    assert again.outcomes == {rid: "unchanged" for rid in first.outcomes}
    assert _licenses(store, "dataset:tiny") == ["MIT"]
    # the result still carries each record's claims and findings, read back from the store
    assert {r.id: [c.expression for c in r.claims] for r in again.records} == {
        r.id: [c.expression for c in r.claims] for r in first.records
    }
    assert again.count_at_or_above("info") == first.count_at_or_above("info")

    with api.open_store(store, read_only=True) as db:
        scans = db.scans()
        history = db.history("dataset:tiny")
    assert len(scans) == 2 and scans[1].counts["unchanged"] == 4  # the skipped records were observed
    assert len(history) == 1

    # a changed file is read again: that record is revised, the others stay skipped
    card = root / "datasets" / "other" / "README.md"
    card.write_text(card.read_text().replace("license: mit", "license: apache-2.0"))
    changed = api.scan([str(root)], store=store, options=options, jobs=1)
    assert changed.outcomes["dataset:other"] == "revised"
    assert {rid for rid, o in changed.outcomes.items() if o == "unchanged"} == set(first.outcomes) - {"dataset:other"}
    assert _licenses(store, "dataset:other") == ["Apache-2.0"]
    assert _licenses(store, "dataset:tiny") == ["MIT"]

    # --force reads every folder: now the in-place change is seen
    forced = CliRunner().invoke(
        main, ["scan", str(root), "--store", str(store), "--no-digests", "--force", "--jobs", "1", "--json"]
    )
    assert forced.exit_code in (0, 1), forced.output
    assert _licenses(store, "dataset:tiny") == ["ISC"]


def test_other_collector_options_read_again(tmp_path: Path) -> None:
    root = _collection(tmp_path / "c")
    store = tmp_path / "store"
    api.scan([str(root)], store=store, options=CollectOptions(digests=False), jobs=1)
    _rewrite_keeping_stats(root / "datasets" / "tiny" / "README.md", "license: mit", "license: isc")
    # with digests the record holds more, so the stored fingerprint (made without them) does not apply
    api.scan([str(root)], store=store, options=CollectOptions(digests=True), jobs=1)
    assert _licenses(store, "dataset:tiny") == ["ISC"]


def _normalized_export(store: Path) -> list[str]:
    done = CliRunner().invoke(main, ["export", "--format", "nt", "--store", str(store)])
    assert done.exit_code == 0, done.output
    text = re.sub(r"/scan/[0-9TZ]+>", "/scan/S>", done.output)
    text = re.sub(r'"[0-9T:-]+Z"\^\^<http://www.w3.org/2001/XMLSchema#dateTime>', '"T"', text)
    return sorted(set(text.splitlines()))


def test_jobs_write_what_one_process_writes(tmp_path: Path) -> None:
    targets = [str(CARDS / "datasets"), str(CARDS / "models"), str(CARDS / "bad")]
    stores = {}
    for jobs in (1, 2):
        stores[jobs] = tmp_path / f"store-{jobs}"
        result = api.scan(targets, store=stores[jobs], options=CollectOptions(digests=False), jobs=jobs)
        assert len(result.records) > 20
    with api.open_store(stores[1], read_only=True) as one, api.open_store(stores[2], read_only=True) as two:
        assert [(r.id, r.content_digest()) for r in one.records()] == [
            (r.id, r.content_digest()) for r in two.records()
        ]
    assert _normalized_export(stores[1]) == _normalized_export(stores[2])


def test_an_unchanged_folder_is_not_read_and_nothing_is_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _collection(tmp_path / "c")
    store = tmp_path / "store"
    options = CollectOptions(digests=False)
    first = api.scan([str(root)], store=store, options=options, jobs=1)
    read: list[str] = []
    real = local.collect_folder

    def counted(folder: Path, *args: object, **kwargs: object) -> object:
        read.append(folder.name)
        return real(folder, *args, **kwargs)  # type: ignore[arg-type]

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("a record was read back from the store")

    monkeypatch.setattr(local, "collect_folder", counted)
    monkeypatch.setattr(OxigraphStore, "_record_at", refused)
    again = api.scan([str(root)], store=store, options=options, jobs=1)
    assert read == []
    assert again.outcomes == {rid: "unchanged" for rid in first.outcomes}
    # counted from what each revision keeps for a scan's summary, as the first scan counted them
    assert again.entries == first.entries
    for level in ("error", "warning", "info"):
        assert again.count_at_or_above(level) == first.count_at_or_above(level)

    # a changed file: that folder alone is read again
    card = root / "datasets" / "other" / "README.md"
    card.write_text(card.read_text().replace("license: mit", "license: apache-2.0"))
    changed = api.scan([str(root)], store=store, options=options, jobs=1)
    assert read == ["other"]
    assert changed.outcomes["dataset:other"] == "revised"
    assert changed.entries["dataset:other"].licensed
