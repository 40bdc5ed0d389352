"""Issues 12 and 22: 4 readers (`query` twice, `scans`, `review`) in a loop while one scan writes 7,020 record
folders (hard links to the demo's 9 real cards) in 100,000-quad batches: 0 failures.

The writer's compactions delete table files while readers read; each reader opens a snapshot of the
database (hard links to its immutable files, ``provaudit/store/resilience.py``), so none of its reads
can meet a deleted file. At 1,080 folders plain retries were enough; at 7,008 they were not (9 of 898
reads failed in issue 22), which is why this test is at that size.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from provaudit import api

PROVAUDIT = Path(sys.executable).with_name("provaudit")
DATASETS = Path(__file__).parent.parent / "data" / "demo" / "datasets"
COPIES = 780  # x 9 demo datasets = 7,020 folders


def _link_card(source: Path, target: Path) -> None:
    """A record folder holding a hard link to a real card (fast to make, and the bytes are the card's)."""
    target.mkdir(parents=True)
    os.link(source / "README.md", target / "README.md")


def test_four_readers_during_a_7000_folder_scan_never_fail(tmp_path: Path) -> None:
    store = tmp_path / "store"
    api.scan([str(DATASETS / "imdb")], store=store)
    big = tmp_path / "big"
    folders = sorted(p for p in DATASETS.iterdir() if p.is_dir())
    for i in range(COPIES):
        for folder in folders:
            _link_card(folder, big / f"{folder.name}-{i:04d}")
    expected = len(folders) * COPIES
    assert expected >= 7000
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
        ["review", "dataset:imdb", "--format", "json", "--fail-on", "never"],
        ["query", "SELECT ?d ?l WHERE { ?d dcterms:license ?l } LIMIT 50", "--format", "csv"],
    ]
    failures: list[str] = []
    runs = [0]
    lock = threading.Lock()

    def loop(args: list[str]) -> None:
        while writer.poll() is None:
            result = subprocess.run(
                [str(PROVAUDIT), *args, "--store", str(store)], capture_output=True, text=True, env=env, timeout=170
            )
            with lock:
                runs[0] += 1
                if result.returncode != 0 or "Traceback" in result.stderr:
                    failures.append(f"{args[0]} exit {result.returncode}: {result.stderr[-500:]}")
            time.sleep(0.5)  # leave the writer a core: the readers are here to meet its compactions

    threads = [threading.Thread(target=loop, args=(r,)) for r in readers]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    _, err = writer.communicate(timeout=600)
    for thread in threads:
        thread.join()
    assert writer.returncode == 0, err
    print(f"{runs[0]} reads in {time.monotonic() - started:.0f} s, {len(failures)} failures")
    assert runs[0] >= 8
    assert not failures, failures[:3]
    with api.open_store(store, read_only=True) as db:
        assert len(db.scans()) == 2
        assert sum(1 for _ in db.records(light=True)) == expected + 1
    assert not any((store / ".readers").iterdir())  # every reader removed its snapshot
