"""Bench: the prediction log at scale — log_prediction, its index, trace (one and three levels), log query.

    python bench/bench_log.py                          # 1,000,000 predictions (a few minutes)
    python bench/bench_log.py --lines 100000           # quicker
    python bench/bench_log.py --workdir some/folder    # keep the log, its index and the store there
    python bench/bench_log.py --workdir some/folder --reuse   # time the reads again, without writing

Goals (issues 17 and 23): log_prediction median ≤ 20 µs; trace ≤ 0.3 s on a log of 1,000,000
predictions; trace of a 3-level depends_on chain ≤ 0.5 s; log query over 1,000,000 lines ≤ 2 s.

The store holds three real runs (provaudit.run, one data folder with a CC BY-NC licence each, a
model file each): a small store, so the trace figures are the log's cost plus a small review. Every
100th prediction starts a 3-level chain: embedder → scorer (depends_on it) → combiner (depends_on
the scorer). trace and query are timed in this process with the store open (the Python API the
CLI calls), and once more as `provaudit ...` in a new process (adds the interpreter's start).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import provaudit
from provaudit.api import open_store
from provaudit.versions.composed import trace_graph
from provaudit.versions.logindex import LogIndex
from provaudit.versions.logquery import query_logs
from provaudit.versions.predictions import log_prediction, read_prediction
from provaudit.versions.runs import load_runs

CC_BY_NC = "---\nlicense: cc-by-nc-4.0\npretty_name: {name}\n---\n# {name}\n\nBench data, CC BY-NC 4.0.\n"


CPU: list[float] = [0.0]  # CPU seconds of the last timed call (median), shown beside the wall time


def best(fn: Callable[[], Any], repeat: int = 5) -> tuple[float, Any]:
    """Median wall time of ``repeat`` calls (and their median CPU time in CPU[0]), and the last result."""
    times, cpus, result = [], [], None
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    CPU[0] = statistics.median(cpus)
    return statistics.median(times), result


def report(label: str, seconds: float, goal: float | None, cpu: float | None = None) -> None:
    """One figure: wall time (CPU time when measured in this process), the goal and whether it is met."""
    verdict = "" if goal is None else f"  goal ≤ {goal:g} s: {'met' if seconds <= goal else 'NOT met'}"
    used = f" ({cpu:.3f} s CPU)" if cpu is not None else ""
    print(f"  {label:<58} {seconds:8.3f} s{used}{verdict}")


def make_store(root: Path) -> tuple[str, dict[str, str]]:
    """Three runs, each a data folder and a model file: the models the log's predictions name."""
    store = str(root / "store")
    models: dict[str, str] = {}
    for name in ("embedder", "scorer", "combiner"):
        data = root / "data" / name
        data.mkdir(parents=True, exist_ok=True)
        (data / "README.md").write_text(CC_BY_NC.format(name=name))
        (data / "train.csv").write_text("x,y\n" + "\n".join(f"{i},{i % 3}" for i in range(200)) + "\n")
        model = root / f"{name}.bin"
        with provaudit.run(f"train-{name}", store=store, path=root) as run:
            run.used(data)
            model.write_bytes(os.urandom(4096))
            run.generated(model, kind="model", name=f"bench/{name}")
        models[name] = str(model)
    return store, models


def fill(log: Path, lines: int, models: dict[str, str]) -> tuple[list[float], list[str], str]:
    """``lines`` predictions: 10 versions of a plain model, and a 3-level chain every 100 lines."""
    inputs = {"age": 41, "income": 52_000.0, "region": "NW", "history": [1, 0, 0, 1, 1]}
    plain = [{"id": "model:bench/plain", "digest": f"sha256:{v:064x}"} for v in range(10)]
    sample: list[float] = []
    chain_ends: list[str] = []
    n = 0
    while n < lines:
        if n % 100 == 99 and n + 3 <= lines:
            e = log_prediction(model=models["embedder"], inputs=inputs, output=[0.1, 0.2], log=log)
            s = log_prediction(model=models["scorer"], inputs=inputs, output=0.7, log=log, depends_on=[e])
            chain_ends.append(
                log_prediction(model=models["combiner"], inputs=inputs, output=1, log=log, depends_on=[s])
            )
            n += 3
            continue
        if n < 50_000:  # the hot path, timed on the first calls (warm after the first thousand)
            t0 = time.perf_counter_ns()
            log_prediction(model=plain[n % 10], inputs=inputs, output={"score": n}, log=log)
            sample.append((time.perf_counter_ns() - t0) / 1000)
        else:
            log_prediction(model=plain[n % 10], inputs=inputs, output={"score": n}, log=log)
        n += 1
    last_plain = log_prediction(model=models["scorer"], inputs=inputs, output=0.5, log=log, request_id="last")
    return sample[1000:], chain_ends, last_plain


def cli(*args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "provaudit.cli", *args], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        print(done.stderr, file=sys.stderr)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--reuse", action="store_true", help="Reuse the log and store an earlier run left in --workdir (no writing)."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.workdir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        log = root / "predictions.jsonl"
        print(f"bench_log: {args.lines:,} predictions in {root}; load {os.getloadavg()[0]:.2f}")
        saved = root / "bench_log.json"
        if args.reuse and saved.exists():
            store, models, chains, last = json.loads(saved.read_text())
        else:
            started = time.perf_counter()
            store, models = make_store(root)
            print(f"  store: 3 runs in {time.perf_counter() - started:.1f} s")
            started, cpu = time.perf_counter(), time.process_time()
            sample, chains, last = fill(log, args.lines, models)
            written, cpu = time.perf_counter() - started, time.process_time() - cpu
            saved.write_text(json.dumps([store, models, chains, last]))
            size = sum(p.stat().st_size for p in root.glob("predictions.jsonl*") if p.suffix != ".index")
            print(f"  wrote {args.lines:,} lines ({size / 1e6:.0f} MB) in {written:.1f} s ({cpu:.1f} s CPU)")
            median = statistics.median(sample)
            print(
                f"  {'log_prediction median (49,000 calls after warm-up)':<58} {median:8.1f} µs"
                f"  goal ≤ 20 µs: {'met' if median <= 20 else 'NOT met'}"
            )
        started, cpu = time.perf_counter(), time.process_time()
        with LogIndex(log) as index:
            assert index.update() is None
        built, cpu = time.perf_counter() - started, time.process_time() - cpu
        index_mb = Path(f"{log}.index").stat().st_size / 1e6
        print(f"  index brought up to date (all of it when new): {built:.1f} s ({cpu:.1f} s CPU), {index_mb:.0f} MB")
        time.sleep(2.1)  # rotated files settle: verified whole once, then trusted while unchanged
        seconds, _ = best(lambda: read_prediction(log, last), repeat=1)
        report("first read after indexing (re-hashes every file once)", seconds, None)

        seconds, found = best(lambda: read_prediction(log, last))
        report("read_prediction of the last line (chain verified to it)", seconds, None, CPU[0])
        assert found.id == last
        with open_store(store, read_only=True) as db:
            runs = load_runs(db)
            seconds, node = best(lambda: trace_graph(last, store=db, log=log))
            report("trace of the last line (API, store open)", seconds, 0.3, CPU[0])
            assert node.trace.model is not None
            seconds, node = best(lambda: trace_graph(chains[-1], store=db, log=log))
            report("trace of a 3-level chain at the end (API)", seconds, 0.5, CPU[0])
            assert len(node.upstream) == 1 and len(node.upstream[0].upstream) == 1 and not node.problems
        report(
            "trace of the last line (`provaudit trace`, new process)",
            cli("trace", last, "--log", str(log), "--store", store),
            None,
        )
        report(
            "trace of the 3-level chain (`provaudit trace`, new process)",
            cli("trace", chains[-1], "--log", str(log), "--store", store),
            None,
        )

        plain3 = "sha256:" + f"{3:064x}"
        seconds, result = best(lambda: query_logs([log], model=plain3), repeat=3)
        report(f"log query --model (API): {len(result.predictions):,} of {args.lines:,}", seconds, 2.0, CPU[0])
        seconds, result = best(lambda: query_logs([log], model=models["embedder"], runs=runs), repeat=3)
        count = len(result.predictions)
        report(f"log query --model embedder (API): {count:,} with downstream", seconds, 2.0, CPU[0])
        version = runs[0].inputs[0].version
        seconds, result = best(lambda: query_logs([log], data=version, runs=runs), repeat=3)
        report(f"log query --data (API): {len(result.predictions):,} with downstream", seconds, 2.0, CPU[0])
        report(
            "log query --model (`provaudit log query --json`, new process)",
            cli("log", "query", str(log), "--model", plain3, "--json"),
            2.0,
        )
        report(
            "log query --data (`provaudit log query --json`, new process)",
            cli("log", "query", str(log), "--data", version, "--store", store, "--json"),
            2.0,
        )


if __name__ == "__main__":
    main()
