"""Benchmark `provaudit site` on the shared corpus: records, pages, seconds, pages/s, peak memory.

    python bench/bench_site.py [CORPUS]             # scan the corpus into a temporary store, then build
    python bench/bench_site.py --store bench/.work/corpus-store   # reuse (or create once) a store
    python bench/bench_site.py --budget 60          # exit 1 when the build takes longer

The scan is not timed; the figure is what `provaudit site` costs: reading the store, the review,
and writing every page, first into an empty folder (cold), then again into the same folder with
nothing changed (every record page carried over), then after one record changed (a description
added in memory: its page, and the pages whose graphs show it, rendered again). Peak memory is the maximum
resident set of this process and, separately, of the largest worker process (record pages are
rendered in forked workers). Other processes on the machine slow the wall-clock figures; the CPU
seconds are the build's own. CORPUS (default ../shared/corpus beside the checkout) holds hf/datasets,
hf/models and dpi/data_summaries.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from provaudit import api
from provaudit.records.model import Fact, Record, Source
from provaudit.site import build
from provaudit.site.review import review

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def targets_of(corpus: Path) -> list[Path]:
    return [corpus / "hf" / "datasets", corpus / "hf" / "models", corpus / "dpi" / "data_summaries"]


def _mb(kilobytes: int) -> float:
    return kilobytes / 1024  # ru_maxrss is in KiB on Linux


def _cpu() -> float:
    """CPU seconds of this process and its finished children so far."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _change_one(records: list[Record]) -> list[Record]:
    """The records with one description added (to a record with upstream links, when there is one)."""
    index = next((i for i, r in enumerate(records) if r.upstream), 0)
    changed = records[index].model_copy(deep=True)
    source = changed.facts[0].source if changed.facts else Source(collector="bench")
    changed.facts.append(Fact(key="description", value="edited by bench_site.py", source=source))
    return [*records[:index], changed, *records[index + 1 :]]


def _run(store: Path, out: Path, workers: int | None, label: str, change: bool = False) -> float:
    """One timed build from the store; prints its figures and returns its wall-clock seconds."""
    self0, children0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with api.open_store(store, read_only=True) as db:
        records = list(db.records())
        targets = sorted({t for scan in db.scans() for t in scan.targets})
        lookup = build.history_from_store(db, records)
        history = {r.id: lookup(r.id) for r in records}
    if change:
        records = _change_one(records)
    read = time.perf_counter() - started
    report = review(records)
    reviewed = time.perf_counter() - started - read
    before_build = _cpu()
    stats = build.build_site(records, report, out, history=history, scan_targets=targets, workers=workers)
    total = time.perf_counter() - started
    build_cpu = _cpu() - before_build
    self1, children1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(
        after - before
        for after, before in (
            (self1.ru_utime, self0.ru_utime),
            (self1.ru_stime, self0.ru_stime),
            (children1.ru_utime, children0.ru_utime),
            (children1.ru_stime, children0.ru_stime),
        )
    )
    print(f"--- {label}")
    print(f"records      {stats.records}")
    print(f"pages        {stats.pages}  (+{stats.files - stats.pages} other files, {stats.bytes / 1e6:.1f} MB)")
    rendered = stats.pages - stats.reused
    print(f"rendered     {rendered} pages ({stats.reused} record pages carried over unchanged)")
    print(f"seconds      {total:.1f}  (read {read:.1f}, review {reviewed:.1f}, pages {stats.seconds:.1f})")
    print(f"pages/s      {stats.pages / total:.0f}  ({stats.pages_per_second:.0f} counting page writing only)")
    print(f"cpu seconds  {cpu:.1f}  (all processes; {os.cpu_count()} cores)")
    if cpu:
        print(f"per CPU-s    {stats.pages / cpu:.0f} pages, {rendered / cpu:.0f} rendered (read and review included)")
    if build_cpu:
        print(f"build only   {build_cpu:.1f} CPU s: {stats.pages / build_cpu:.0f} pages per CPU-second")
    main_mb, worker_mb = _mb(self1.ru_maxrss), _mb(children1.ru_maxrss)
    print(f"peak memory  {main_mb:.0f} MB main process, {worker_mb:.0f} MB largest worker")
    if stats.warnings:
        print(f"warnings     {len(stats.warnings)} (first: {stats.warnings[0]})")
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", type=Path, default=CORPUS, help="folder with hf/ and dpi/")
    parser.add_argument("--store", type=Path, help="store to read (scanned from the corpus first if missing)")
    parser.add_argument("--out", type=Path, help="site folder (default: a temporary folder, removed after)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    parser.add_argument("--budget", type=float, default=None, help="fail when the build takes more seconds")
    parser.add_argument("--no-dpi", action="store_true", help="leave out the DPI summaries")
    parser.add_argument(
        "--no-exporters", action="store_true", help="skip the card downloads, to see what the exporters cost"
    )
    args = parser.parse_args()
    if args.no_exporters:
        build._exporters = lambda: (None, None)  # type: ignore[assignment]

    scratch = Path(tempfile.mkdtemp(prefix="provaudit-bench-"))
    store = args.store or scratch / "store"
    out = args.out or scratch / "site"
    try:
        if not (store / "oxigraph").is_dir():
            targets = [str(t) for t in targets_of(args.corpus) if t.exists() and not (args.no_dpi and "dpi" in t.parts)]
            started = time.perf_counter()
            try:
                api.scan(targets, store=store)
            except Exception as exc:  # the DPI collector may be absent in older checkouts
                print(f"scan with DPI failed ({exc}); scanning the Hugging Face cards only", file=sys.stderr)
                shutil.rmtree(store, ignore_errors=True)
                api.scan([t for t in targets if "dpi" not in t], store=store)
            print(f"scan (not timed below): {time.perf_counter() - started:.1f} s", file=sys.stderr)

        if out.exists() and not (out / build.MARKER).exists():
            print(f"{out}: exists and is not a provaudit site; choose another --out", file=sys.stderr)
            return 2
        shutil.rmtree(out, ignore_errors=True)  # an earlier site: the first build must start cold
        cold = _run(store, out, args.workers, "cold build")
        _run(store, out, args.workers, "rebuild, nothing changed")
        _run(store, out, args.workers, "rebuild, one record changed", change=True)
        worst = cold
        if args.budget is not None and worst > args.budget:
            print(f"over budget: {worst:.1f} s > {args.budget:.0f} s", file=sys.stderr)
            return 1
        return 0
    finally:
        if args.out is None:
            shutil.rmtree(scratch / "site", ignore_errors=True)
        if args.store is None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
