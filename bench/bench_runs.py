"""Bench: the overhead ``provaudit.run`` adds to one training run, without and with the environment cache.

    python bench/bench_runs.py                       # 5 runs each way, in a temporary git project
    python bench/bench_runs.py --runs 10 --workdir some/folder
    python bench/bench_runs.py --python /path/to/venv/bin/python   # read another environment

One process; the training itself is empty (a small CSV folder used, a small model file written), so
each figure is provaudit's own cost: reading the code version and the installed distributions
(``enter``), the data version and card of the input (``used``), the output digest and writing the
run's records and graph to the store (``write``). "before" reads the distributions by starting the
interpreter on every run (``PROVAUDIT_NO_ENV_CACHE=1``); "after" uses the cached snapshot, valid
while the venv's folders are unchanged. Each way writes into its own fresh store. The goal
(issue 17) is <= 0.5 s per run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from provaudit.collectors.pipeline import NO_ENV_CACHE, environment_snapshot
from provaudit.versions.runs import Run

CARD = "---\nlicense: cc-by-4.0\n---\n# Credit\n\nSynthetic rows.\n"


def make_project(root: Path) -> Path:
    repo = root / "project"
    (repo / "data" / "credit").mkdir(parents=True)
    rows = "\n".join(f"{i % 7},{i % 11},{i % 2}" for i in range(2000))
    (repo / "data" / "credit" / "train.csv").write_text("a,b,y\n" + rows + "\n")
    (repo / "data" / "credit" / "README.md").write_text(CARD)
    (repo / "train.py").write_text("print('train')\n")
    (repo / ".gitignore").write_text("store-*/\nmodel-*.bin\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.org"}
    env |= {"GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.org"}
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "bench"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)
    return repo


def one_run(repo: Path, store: Path, i: int, python: str | None) -> dict[str, float]:
    cpu0 = time.process_time()  # this process's CPU (the store's threads included): load-independent
    t0 = time.perf_counter()
    current = Run("bench", {"i": i}, store=store, path=repo, python=python, command=["train.py"])
    current.__enter__()
    t1 = time.perf_counter()
    current.used(repo / "data" / "credit")
    t2 = time.perf_counter()
    model = repo / f"model-{i}.bin"
    model.write_bytes(os.urandom(4096))
    current.generated(model, name="bench/model")
    current.__exit__(None, None, None)
    t3 = time.perf_counter()
    return {"enter": t1 - t0, "used": t2 - t1, "write": t3 - t2, "total": t3 - t0, "CPU": time.process_time() - cpu0}


def series(repo: Path, label: str, runs: int, python: str | None, cache: bool) -> list[dict[str, float]]:
    if cache:
        os.environ.pop(NO_ENV_CACHE, None)
        environment_snapshot(python)  # the first run after a change of the venv pays the read once
    else:
        os.environ[NO_ENV_CACHE] = "1"
    store = repo / f"store-{label}"
    return [one_run(repo, store, i, python) for i in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs each way (default 5)")
    parser.add_argument("--workdir", type=Path, help="folder for the project and stores (default: temporary)")
    parser.add_argument("--python", help="interpreter whose environment is read (default: this one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-runs-") as tmp:
        root = args.workdir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        repo = make_project(root)
        warm = Run("warm-up", store=repo / "store-warm", path=repo, python=args.python, command=["train.py"])
        with warm:  # imports and first store open, outside both series
            warm.used(repo / "data" / "credit")
        t0 = time.perf_counter()
        snapshot, _ = environment_snapshot(args.python, cache=False)
        read = time.perf_counter() - t0
        t0 = time.perf_counter()
        environment_snapshot(args.python)
        environment_snapshot(args.python)
        t1 = time.perf_counter()
        environment_snapshot(args.python)
        cached = time.perf_counter() - t1
        before = series(repo, "before", args.runs, args.python, cache=False)
        after = series(repo, "after", args.runs, args.python, cache=True)
    count = len((snapshot or {}).get("distributions") or [])
    print(f"provaudit.run overhead per run ({args.runs} runs each way, {count} installed distributions, one process)")
    print(f"  reading the distributions: {read:.3f} s from the interpreter, {cached * 1000:.1f} ms from the cache")
    print("  wall seconds per phase, median (min-max); CPU: this process's CPU seconds per run (the")
    print("  interpreter started without the cache is another process: its CPU shows only in wall time)")
    print(f"  {'phase':<8} {'before (no cache)':>26} {'after (cached snapshot)':>28}")
    for phase in ("enter", "used", "write", "total", "CPU"):
        cells = []
        for rows in (before, after):
            values = sorted(r[phase] for r in rows)
            cells.append(f"{statistics.median(values):.3f} s ({values[0]:.3f}-{values[-1]:.3f})")
        print(f"  {phase:<8} {cells[0]:>26} {cells[1]:>28}")
    median_after = statistics.median(r["total"] for r in after)
    print(f"  goal <= 0.5 s per run: {'met' if median_after <= 0.5 else 'NOT met'} (median {median_after:.3f} s)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"  machine load average (1 min): {load:.2f}; python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
