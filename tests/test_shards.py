"""Past one machine: workers scan shards of a collection (by id hash) into one SPARQL server, and the
union of what they wrote equals one scan of everything (docs/scale.md)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import CARDS, SHARED
from sparqlserver import oxigraph_server

from provaudit import api
from provaudit.collectors.base import CollectOptions
from provaudit.store.sparql import SparqlStore

WORKERS = 4
OPTIONS = ("--no-digests", "--fail-on", "never", "--jobs", "1")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with oxigraph_server(tmp_path / "oxigraph") as url:
        yield url


def repo_id(folder: Path) -> str:
    """The Hub id a card folder is named after (its manifest's parent, for a packager's copy): what a
    Hub-wide lister knows of a repo before reading it, so folders of one record land in one shard."""
    manifest = folder / "hub_manifest.yaml"
    if manifest.is_file():
        data = yaml.safe_load(manifest.read_text(encoding="utf-8", errors="replace"))
        if isinstance(data, dict) and isinstance(data.get("parent_id"), str) and "/" in data["parent_id"]:
            return str(data["parent_id"])
    return folder.name.replace("__", "/", 1)


def shard_of(folder: Path, workers: int) -> int:
    """A stable shard: the id's SHA-256 modulo the number of workers (no coordinator needed)."""
    return int(hashlib.sha256(repo_id(folder).lower().encode()).hexdigest(), 16) % workers


def card_folders(limit: int) -> list[Path]:
    """Real card folders: the shared corpus beside the checkout where it is, else the test fixtures."""
    base = SHARED / "hf" if (SHARED / "hf").is_dir() else CARDS
    folders = sorted(
        p for kind in ("datasets", "models") for p in (base / kind).iterdir() if p.is_dir() and any(p.iterdir())
    )
    # every other folder of the whole corpus, so both kinds and many authors are in it
    step = max(1, len(folders) // limit)
    return folders[::step][:limit]


def test_four_workers_on_id_hash_shards_equal_one_scan_of_everything(server: str, tmp_path: Path) -> None:
    folders = card_folders(400)
    shards: list[list[Path]] = [[] for _ in range(WORKERS)]
    for folder in folders:
        shards[shard_of(folder, WORKERS)].append(folder)
    assert all(shards), [len(s) for s in shards]

    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "provaudit.cli", "scan", *map(str, shard), "--store", server, *OPTIONS],
            env={**os.environ, "PROVAUDIT_STORE": ""},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for shard in shards
    ]
    errors = [p.communicate()[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * WORKERS, errors
    seconds = time.perf_counter() - started

    whole = tmp_path / "whole"
    api.scan([str(f) for f in folders], store=whole, options=CollectOptions(digests=False))
    with api.open_store(whole, read_only=True) as db:
        expected = {r.id: r.model_dump(mode="json") for r in db.records()}
        expected_revisions = db.current_revisions()
    with api.open_store(server, read_only=True) as db:
        assert isinstance(db, SparqlStore)
        union = {r.id: r.model_dump(mode="json") for r in db.records()}
        revisions = db.current_revisions()
        scans = db.scans()
    assert len(scans) == WORKERS
    assert sum(s.counts["records"] for s in scans) == len(expected)
    assert revisions == expected_revisions
    assert union == expected
    print(
        f"\n{len(expected)} records, {WORKERS} workers, {seconds:.1f} s: {len(expected) / seconds / WORKERS:.1f}/s each"
    )
