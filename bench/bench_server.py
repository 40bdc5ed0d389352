"""Scan rate per worker into a shared SPARQL server (docs/scale.md), side by side with the embedded store.

Builds a collection of N record folders from real cards (hard links, as bench_scan.py does), starts
`oxigraph serve` on 127.0.0.1 with its data in a temporary folder, and runs W worker processes at once,
each on its id-hash shard: each reads its records (collect), then writes them as one scan (write).
Reported per worker: records, collect s, write s, records/s written, records/s end to end; and the
same single-worker write into the embedded store.

    python bench/bench_server.py --records 2000 --workers 1 4
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_scan import build_collection  # noqa: E402

from provaudit import api  # noqa: E402
from provaudit.collectors.base import CollectOptions  # noqa: E402


def start_server(location: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = Path(sys.executable).parent / "oxigraph"
    exe = str(binary) if binary.is_file() else shutil.which("oxigraph")
    if not exe:
        raise SystemExit("the oxigraph CLI is missing: pip install oxigraph")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([exe, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"])
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{url}/query?query=ASK%7B%7D", timeout=2).close()
            return proc, url
        except OSError:
            time.sleep(0.1)
    raise SystemExit("oxigraph serve did not answer")


def shard(folders: list[Path], workers: int, k: int) -> list[Path]:
    return [f for f in folders if int(hashlib.sha256(f.name.encode()).hexdigest(), 16) % workers == k]


def worker(store: str, folders: list[Path], out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    start = time.perf_counter()
    records = api.collect([str(f) for f in folders], CollectOptions(digests=False))
    collected = time.perf_counter()
    with api.open_store(store) as db:
        writer = db.begin_scan([str(f.parent) for f in folders[:1]], {})
        writer.add(records)
        writer.commit()
    out.put((len(records), collected - start, time.perf_counter() - collected))


def run(store: str, folders: list[Path], workers: int) -> list[tuple[int, float, float]]:
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    procs = [
        multiprocessing.Process(target=worker, args=(store, shard(folders, workers, k), queue)) for k in range(workers)
    ]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    return results


def report(label: str, results: list[tuple[int, float, float]]) -> None:
    for n, collect_s, write_s in results:
        print(
            f"{label:<22} {n:>6} records  collect {collect_s:6.1f} s  write {write_s:6.1f} s  "
            f"{n / write_s:7.0f} written/s  {n / (collect_s + write_s):6.0f} records/s end to end"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    print(f"cores {os.cpu_count()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_collection(root / "collection", args.records)
        folders = sorted(p for kind in ("datasets", "models") for p in (root / "collection" / kind).iterdir())
        report("embedded, 1 worker", run(str(root / "embedded"), folders, 1))
        for workers in args.workers:
            proc, url = start_server(root / f"server-{workers}")
            try:
                report(f"server, {workers} worker(s)", run(url, folders, workers))
            finally:
                proc.terminate()
                proc.wait()
    print(f"load average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
