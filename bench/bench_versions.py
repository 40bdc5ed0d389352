"""Bench: the cost of one logged prediction, and a folder's data version after one file changed.

    python bench/bench_versions.py                         # 20,000 predictions, a 10,000-file folder
    python bench/bench_versions.py --predictions 100000 --files 50000 --file-size 16384
    python bench/bench_versions.py --workdir some/folder   # keep the generated folder and log there

Everything is written into a temporary folder (or --workdir). The folder's files get an mtime an
hour in the past, as files of a data set usually have: digests of files modified within the last
2 s are not cached (a same-size rewrite within one timestamp tick would go unseen).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from provaudit.versions.data import data_version
from provaudit.versions.predictions import log_prediction, verify_log


def bench_predictions(folder: Path, n: int, keep_inputs: bool) -> None:
    log = folder / "predictions.jsonl"
    model = {"id": "model:acme/credit-scorer", "version": "3f2a9c1"}
    inputs = {"age": 41, "income": 52_000.0, "region": "NW", "history": [1, 0, 0, 1, 1]}
    for _ in range(min(1000, n)):  # warm-up: imports, first open, the lock file
        log_prediction(model=model, inputs=inputs, output={"score": 0.42}, log=log, keep_inputs=keep_inputs)
    times = []
    cpu0 = time.process_time()
    for i in range(n):
        t0 = time.perf_counter_ns()
        log_prediction(model=model, inputs=inputs, output={"score": i / n}, log=log, keep_inputs=keep_inputs)
        times.append(time.perf_counter_ns() - t0)
    cpu = time.process_time() - cpu0
    times.sort()
    us = [t / 1000 for t in times]
    print(f"log_prediction ({n} calls, keep_inputs={keep_inputs}, one process):")
    print(
        f"  median {statistics.median(us):.1f} µs  p90 {us[int(n * 0.9)]:.1f} µs  p99 {us[int(n * 0.99)]:.1f} µs"
        f"  mean {statistics.fmean(us):.1f} µs  CPU/call {cpu / n * 1e6:.1f} µs"
    )
    started = time.perf_counter()
    report = verify_log(log)
    print(f"  log verify: {report.lines} lines in {time.perf_counter() - started:.2f} s, ok={report.ok}")


def make_folder(root: Path, files: int, size: int) -> Path:
    data = root / "data"
    per_dir = 100
    old = time.time_ns() - 3600 * 1_000_000_000
    for i in range(files):
        sub = data / f"part-{i // per_dir:04d}"
        if i % per_dir == 0:
            sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"sample-{i:06d}.bin"
        path.write_bytes(os.urandom(size))
        os.utime(path, ns=(old, old))
    return data


def bench_data(folder: Path, files: int, size: int) -> None:
    t0 = time.perf_counter()
    data = make_folder(folder, files, size)
    print(f"data version of {files} files × {size} B (made in {time.perf_counter() - t0:.1f} s):")
    cache = folder / "digests.sqlite"

    fulls, cpu_fulls = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        full = data_version(data, cache=False)
        fulls.append(time.perf_counter() - t0)
        cpu_fulls.append(time.process_time() - c0)
    t_full = statistics.median(fulls)
    print(
        f"  full pass, no cache (median of 3):      {t_full:7.3f} s  CPU {statistics.median(cpu_fulls):.3f} s"
        f"  {full.dir_hash}"
    )

    t0 = time.perf_counter()
    data_version(data, cache=cache)
    print(f"  full pass, filling the cache:           {time.perf_counter() - t0:7.3f} s")

    target = next(data.rglob("*.bin"))
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.write_bytes(bytes(raw))
    # The changed file was written just now, so its digest is not cached (racy window): every
    # repetition re-reads exactly that one file and takes the other digests from the cache.
    changes, cpu_changes = [], []
    for _ in range(5):
        t0, c0 = time.perf_counter(), time.process_time()
        changed = data_version(data, cache=cache)
        changes.append(time.perf_counter() - t0)
        cpu_changes.append(time.process_time() - c0)
        assert changed.hashed == 1 and changed.dir_hash != full.dir_hash
    t_changed = statistics.median(changes)
    print(
        f"  one file changed, cached (median of 5): {t_changed:7.3f} s  CPU {statistics.median(cpu_changes):.3f} s"
        f"  {changed.dir_hash}"
        f"  (re-read {changed.hashed} file, {changed.reused} from the cache)"
    )
    ratio_cpu = statistics.median(cpu_fulls) / statistics.median(cpu_changes)
    print(f"  ratio full pass / after one change: {t_full / t_changed:.1f}x wall, {ratio_cpu:.1f}x CPU")

    try:
        from dvc_data.hashfile.build import build
        from dvc_data.hashfile.db import HashFileDB
        from dvc_objects.fs.local import LocalFileSystem
    except ImportError:
        print("  (dvc-data not installed: no comparison)")
        return
    fs = LocalFileSystem()
    t0 = time.perf_counter()
    _, _, obj = build(HashFileDB(fs, str(folder / "odb")), str(data), fs, "md5", dry_run=True)
    t_dvc = time.perf_counter() - t0
    same = obj.hash_info.value == changed.dir_hash
    print(f"  dvc-data build, no state (once):        {t_dvc:7.3f} s  {obj.hash_info.value}  same hash: {same}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--predictions", type=int, default=20_000, help="calls to time (default 20000)")
    parser.add_argument("--keep-inputs", action="store_true", help="store the inputs in each line too")
    parser.add_argument("--files", type=int, default=10_000, help="files in the generated folder (default 10000)")
    parser.add_argument("--file-size", type=int, default=16384, help="bytes per generated file (default 16384)")
    parser.add_argument("--workdir", type=Path, help="write here instead of a temporary folder (must be empty)")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        bench_predictions(args.workdir, args.predictions, args.keep_inputs)
        bench_data(args.workdir, args.files, args.file_size)
        return 0
    with tempfile.TemporaryDirectory(prefix="provaudit-bench-") as tmp:
        bench_predictions(Path(tmp), args.predictions, args.keep_inputs)
        bench_data(Path(tmp), args.files, args.file_size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
