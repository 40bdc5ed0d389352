"""Scan and review at scale: a collection of N record folders built from real cards.

Each record folder hard-links the README.md (and dataset_infos.json) of a real card from
../shared/corpus/hf (or tests/fixtures/cards), so N folders cost inodes, not disk. Measured in one
run, side by side:

* provaudit: collect, write (Oxigraph store), a second unchanged scan, review — seconds, records/s,
  peak memory, store size;
* the naive alternative for the same triples: an rdflib in-memory graph rewritten to a file on each
  scan (what "never rewrite the whole store" avoids) — seconds and the ratio.

    python bench/bench_scan.py --records 100000 --rdflib-records 5000
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provaudit import api  # noqa: E402
from provaudit.collectors.base import CollectOptions  # noqa: E402
from provaudit.store import rdf  # noqa: E402


def source_cards() -> list[Path]:
    for base in (ROOT.parent / "shared" / "corpus" / "hf", ROOT / "tests" / "fixtures" / "cards"):
        folders = sorted(
            p for kind in ("datasets", "models") for p in (base / kind).glob("*") if (p / "README.md").is_file()
        )
        if folders:
            return folders
    raise SystemExit("no cards found")


def build_collection(root: Path, count: int) -> None:
    cards = source_cards()
    for i in range(count):
        src = cards[i % len(cards)]
        kind = "models" if src.parent.name == "models" else "datasets"
        dst = root / kind / f"{src.name}-{i:06d}"
        dst.mkdir(parents=True)
        # hub_manifest.yaml would name the copy after its parent repo: every copy must be its own record
        for name in ("README.md", "dataset_infos.json"):
            if (src / name).is_file():
                os.link(src / name, dst / name)


def du(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def timed(label: str, func, *args, **kwargs):  # type: ignore[no-untyped-def]
    """(result, seconds); label names the step in a profiler."""
    start = time.perf_counter()
    value = func(*args, **kwargs)
    seconds = time.perf_counter() - start
    return value, seconds


def rdflib_rewrite(records: list, out: Path) -> float:
    """The naive store: every scan loads the whole graph and writes it back."""
    from rdflib import Graph

    start = time.perf_counter()
    graph = Graph()
    if out.exists():
        graph.parse(out, format="nt")
    scan = rdf.scan_iri("bench")
    lines = []
    for record in records:
        digest = record.content_digest()
        for quad in rdf.revision_quads(record, digest, scan, scan, rdf.now(), None):
            lines.append(f"{quad.subject} {quad.predicate} {quad.object} .")
    graph.parse(data="\n".join(lines), format="nt")
    graph.serialize(out, format="nt", encoding="utf-8")
    return time.perf_counter() - start


def run_phase(args: list[str]) -> tuple[float, float]:
    """(seconds, peak MB) of one provaudit command in its own process, as a user runs it."""
    import subprocess

    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "provaudit.cli", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"provaudit {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--rdflib-records", type=int, default=3000, help="size of the side-by-side comparison")
    parser.add_argument("--no-rescan", action="store_true", help="skip the second, unchanged scan")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="provaudit-bench-"))
    try:
        collection = work / "collection"
        _, build_s = timed("build", build_collection, collection, args.records)
        store = str(work / "store")
        common = ["--store", store, "--fail-on", "never"]
        n = args.records
        print(
            f"provaudit on {n} record folders (hard links to {len(source_cards())} real cards, built in {build_s:.1f}s)"
        )
        scan_s, scan_mb = run_phase(["scan", str(collection), "--no-digests", *common])
        print(f"  scan (collect + write)  {scan_s:8.1f} s  {n / scan_s:7.0f} records/s  peak {scan_mb:6.0f} MB")
        if not args.no_rescan:
            rescan_s, rescan_mb = run_phase(["scan", str(collection), "--no-digests", *common])
            print(
                f"  rescan, unchanged       {rescan_s:8.1f} s  {n / rescan_s:7.0f} records/s  peak {rescan_mb:6.0f} MB"
            )
        review_s, review_mb = run_phase(["review", "--format", "json", "--out", str(work / "review.json"), *common])
        print(f"  review (default policy) {review_s:8.1f} s  {n / review_s:7.0f} records/s  peak {review_mb:6.0f} MB")
        print(f"  store on disk           {du(Path(store)):8.1f} MB")

        options = CollectOptions(digests=False)
        small = api.collect(
            [str(p) for p in sorted((collection / "datasets").iterdir())[: args.rdflib_records]], options
        )
        nt = work / "naive.nt"
        first = rdflib_rewrite(small, nt)
        second = rdflib_rewrite(small, nt)  # a second scan rewrites everything again
        side = work / "side-store"
        with api.open_store(side) as db:
            writer = db.begin_scan(["side"], {})
            _, ox_first = timed("ox", writer.add, small)
            writer.commit()
        with api.open_store(side) as db:
            writer = db.begin_scan(["side"], {})
            _, ox_second = timed("ox2", writer.add, small)  # unchanged: only the observations are added
            writer.commit()
        print(f"side by side on {len(small)} records, the same triples (store writes only):")
        print(
            f"  first scan   rdflib rewrite {first:7.2f} s   provaudit {ox_first:7.2f} s   "
            f"ratio {first / ox_first:5.1f}x"
        )
        print(
            f"  second scan  rdflib rewrite {second:7.2f} s   provaudit {ox_second:7.2f} s   "
            f"ratio {second / ox_second:5.1f}x"
        )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
