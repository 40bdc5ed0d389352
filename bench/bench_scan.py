"""Scan and review at scale: a collection of N record folders built from real cards.

Each record folder hard-links the README.md (and dataset_infos.json) of a real card from the corpus
folder (default ../shared/corpus/hf beside the checkout, else tests/fixtures/cards), so N folders cost
inodes, not disk. Measured in one run, side by side:

* the floor: reading the same files and parsing them (card front matter with libyaml, JSON) in one
  process, nothing else;
* provaudit: scan (collect + write, Oxigraph store), a second unchanged scan, a forced re-read, review
  — seconds, records/s, peak memory, store size; with ``--baseline CHECKOUT`` the same phases of
  another checkout (e.g. ``mkdir ../base && git archive HEAD~3 | tar -x -C ../base``) in the same run;
* the naive alternative for the same triples: an rdflib in-memory graph rewritten to a file on each
  scan (what "never rewrite the whole store" avoids) — seconds and the ratio.

    python bench/bench_scan.py --records 100000 --rdflib-records 5000
    python bench/bench_scan.py some/corpus/hf --records 2000 --jobs 1 --baseline ../base
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "hf"


def source_cards(corpus: Path = DEFAULT_CORPUS) -> list[Path]:
    for base in (corpus, ROOT / "tests" / "fixtures" / "cards"):
        folders = sorted(
            p for kind in ("datasets", "models") for p in (base / kind).glob("*") if (p / "README.md").is_file()
        )
        if folders:
            return folders
    raise SystemExit("no cards found")


def build_collection(root: Path, count: int, corpus: Path = DEFAULT_CORPUS) -> None:
    cards = source_cards(corpus)
    for i in range(count):
        src = cards[i % len(cards)]
        kind = "models" if src.parent.name == "models" else "datasets"
        dst = root / kind / f"{src.name}-{i:06d}"
        dst.mkdir(parents=True)
        # hub_manifest.yaml would name the copy after its parent repo: every copy must be its own record
        for name in ("README.md", "dataset_infos.json"):
            if (src / name).is_file():
                os.link(src / name, dst / name)


def floor(collection: Path) -> tuple[float, int]:
    """Seconds to read every file of the collection and parse it (front matter: libyaml; JSON), one process."""
    import json

    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    start = time.perf_counter()
    files = 0
    for kind in sorted(collection.iterdir()):
        for folder in sorted(kind.iterdir()):
            for path in sorted(folder.iterdir()):
                files += 1
                text = path.read_text(encoding="utf-8", errors="replace")
                if path.suffix == ".json":
                    json.loads(text)
                elif text.startswith("---"):
                    end = text.find("\n---", 3)
                    with contextlib.suppress(yaml.YAMLError):
                        yaml.load(text[3 : end if end > 0 else len(text)], Loader=loader)
    return time.perf_counter() - start, files


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

    from provaudit.store import rdf

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


def run_phase(args: list[str], checkout: Path = ROOT) -> tuple[float, float, float]:
    """(seconds, peak MB, CPU seconds) of one provaudit command of a checkout in its own process, as a user
    runs it; CPU is user + system of the command and its pool workers (they hold under load, wall does not)."""
    import resource
    import subprocess

    env = dict(os.environ, PYTHONPATH=str(checkout))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "provaudit.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=checkout,  # `python -m` puts the working folder first on sys.path, before PYTHONPATH
    )
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"provaudit {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 1024, cpu


def phases(label: str, checkout: Path, collection: Path, store: str, args: argparse.Namespace) -> dict[str, float]:
    """Scan, unchanged re-scan, forced re-scan and review of one checkout; prints and returns seconds."""
    common = ["--store", store, "--fail-on", "never"]
    scan_args = ["scan", str(collection), "--no-digests", *common]
    cli = (checkout / "provaudit" / "cli.py").read_text()  # an older checkout may lack --jobs / --force
    if args.jobs and "--jobs" in cli:
        scan_args += ["--jobs", str(args.jobs)]
    n = args.records
    out: dict[str, float] = {}

    def show(name: str, seconds: float, mb: float, cpu: float) -> None:
        out[name] = seconds
        out[f"{name} CPU"] = cpu
        print(
            f"  {label:9} {name:24} {seconds:8.2f} s  {n / seconds:7.0f} records/s  CPU {cpu:7.2f} s "
            f"({n / cpu:5.0f} records per CPU-second)  peak {mb:6.0f} MB",
            flush=True,
        )

    show("scan (collect + write)", *run_phase(scan_args, checkout))
    if not args.no_rescan:
        show("rescan, unchanged", *run_phase(scan_args, checkout))
        if "--force" in cli:
            show("rescan --force", *run_phase([*scan_args, "--force"], checkout))
    show(
        "review (default policy)",
        *run_phase(["review", "--format", "json", "--out", store + ".json", *common], checkout),
    )
    print(f"  {label:9} store on disk            {du(Path(store)):8.1f} MB", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "corpus", nargs="?", type=Path, default=DEFAULT_CORPUS, help="folder with datasets/ and models/"
    )
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--jobs", type=int, default=0, help="scan --jobs (default: provaudit's own default)")
    parser.add_argument("--baseline", type=Path, help="another checkout to run the same phases with, first")
    parser.add_argument("--rdflib-records", type=int, default=3000, help="size of the side-by-side comparison")
    parser.add_argument("--no-rdflib", action="store_true", help="skip the rdflib side-by-side comparison")
    parser.add_argument("--no-rescan", action="store_true", help="skip the second, unchanged scan")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="provaudit-bench-"))
    try:
        collection = work / "collection"
        _, build_s = timed("build", build_collection, collection, args.records, args.corpus)
        n = args.records
        print(
            f"provaudit on {n} record folders (hard links to {len(source_cards(args.corpus))} real cards, "
            f"built in {build_s:.1f}s); load average {os.getloadavg()[0]:.1f}"
        )
        floor(collection)  # warm the page cache: every phase below reads warm files
        cpu_start = time.process_time()
        floor_s, files = floor(collection)
        floor_cpu = time.process_time() - cpu_start
        print(
            f"  floor: read + parse {files} files      {floor_s:8.2f} s  {n / floor_s:7.0f} records/s  "
            f"CPU {floor_cpu:7.2f} s",
            flush=True,
        )
        runs = {}
        if args.baseline:
            runs["baseline"] = phases("baseline", args.baseline.resolve(), collection, str(work / "store-base"), args)
        runs["this"] = phases("this", ROOT, collection, str(work / "store"), args)
        for label, got in runs.items():
            # CPU seconds against the floor's CPU seconds: what holds on a machine shared with other jobs
            first = got["scan (collect + write) CPU"]
            ratios = ", ".join(
                f"{name.split(' (')[0]} {cpu / floor_cpu:.1f}x floor"
                + (f" ({cpu / first:.0%} of scan)" if name.startswith("rescan") else "")
                for name, cpu in ((k.removesuffix(" CPU"), v) for k, v in got.items() if k.endswith(" CPU"))
            )
            print(f"  {label} (CPU seconds): {ratios}")
        if args.no_rdflib:
            return
        from provaudit import api
        from provaudit.collectors.base import CollectOptions

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
