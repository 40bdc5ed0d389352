"""Issue 12: 4 readers (`query`, `scans`, `review`) in a loop while a scan writes a large collection in
100,000-quad batches: 0 failures (reads are retried across the writer's compactions)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from provaudit import api

PROVAUDIT = Path(sys.executable).with_name("provaudit")
DATASETS = Path(__file__).parent.parent / "data" / "demo" / "datasets"
COPIES = 120  # x 9 demo datasets


def test_four_readers_during_a_large_batched_scan_never_fail(tmp_path: Path) -> None:
    store = tmp_path / "store"
    api.scan([str(DATASETS / "imdb")], store=store)
    big = tmp_path / "big"
    for i in range(COPIES):
        for folder in sorted(DATASETS.iterdir()):
            shutil.copytree(folder, big / f"{folder.name}-{i:04d}")
    env = {**os.environ, "PROVAUDIT_WRITE_BATCH": "100000"}
    env.pop("PROVAUDIT_DEBUG", None)
    writer = subprocess.Popen(
        [str(PROVAUDIT), "scan", str(big), "--store", str(store), "--fail-on", "never", "--json", "--no-digests"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    readers = [
        ["query", "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "--format", "json"],
        ["scans", "--json"],
        ["review", "--format", "json", "--fail-on", "never"],
        ["query", "SELECT ?d ?l WHERE { ?d dcterms:license ?l } LIMIT 50", "--format", "csv"],
    ]
    failures: list[str] = []
    runs = [0]
    lock = threading.Lock()

    def loop(args: list[str]) -> None:
        while writer.poll() is None:
            result = subprocess.run(
                [str(PROVAUDIT), *args, "--store", str(store)], capture_output=True, text=True, env=env, timeout=120
            )
            with lock:
                runs[0] += 1
                if result.returncode != 0 or "Traceback" in result.stderr:
                    failures.append(f"{args[0]} exit {result.returncode}: {result.stderr[-500:]}")

    threads = [threading.Thread(target=loop, args=(r,)) for r in readers]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    _, err = writer.communicate(timeout=300)
    for thread in threads:
        thread.join()
    assert writer.returncode == 0, err
    print(f"{runs[0]} reads in {time.monotonic() - started:.0f} s, {len(failures)} failures")
    assert runs[0] >= 8
    assert not failures, failures[:3]
    with api.open_store(store, read_only=True) as db:
        assert len(db.scans()) == 2
        assert sum(1 for _ in db.records(light=True)) == 9 * COPIES + 1
