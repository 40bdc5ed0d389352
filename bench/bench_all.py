"""Every figure of issue 11's table in one run, side by side with its goal.

    python bench/bench_all.py                           # corpus ../shared/corpus beside the checkout, 5,000 records
    python bench/bench_all.py some/corpus --records 100000 --json bench/.work/all-100k.json
    python bench/bench_all.py --only version,cards      # a subset of the phases

CORPUS is a folder holding ``hf/datasets`` and ``hf/models`` (Hugging Face cards) and, optionally,
``dpi/data_summaries`` (Data Provenance Initiative summaries); without it ``tests/fixtures/cards``
is used. Nothing in the corpus is written: collections are hard-linked copies in a temporary folder.

Phases (``--only`` picks some), each provaudit command in its own process, as a user runs it:

* ``version``: ``python -m provaudit.cli --version`` (best of 7), beside ``python -c pass``;
* ``cards``: every real card once (about 1,750 folders, 2,600 files): the floor (read the same files
  and parse them, front matter with libyaml, JSON, in one process), ``scan``, the same scan again with
  nothing changed, and ``scan --force``;
* ``site``: the DPI summaries scanned into that store too, ``provaudit site`` into an empty folder,
  then one card changed, scanned again and the site rebuilt into the same folder;
* ``scale``: ``--records`` folders (hard links to the cards, each its own record): ``scan``, the
  unchanged re-scan and ``review``.

Every phase reports wall seconds, CPU seconds (user + system of the process and its children), the
peak resident memory of its largest process (``wait4``) and of the whole process tree (proportional
set sizes summed, sampled from /proc every 0.2 s), and the load average of the machine when it
started. Figures that the table states at 100,000 records are extrapolated linearly when
``--records`` is smaller, and say so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
PHASES = ("version", "cards", "site", "scale")
GIB = 1024**3
PAGE = os.sysconf("SC_PAGE_SIZE")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scan import build_collection, floor, source_cards  # noqa: E402


@dataclass
class Run:
    """One process: what it cost."""

    seconds: float
    cpu: float  # user + system, the process and the children it waited for
    peak_mb: float  # the largest single process (ru_maxrss)
    tree_mb: float  # the process tree at its largest (sampled; PSS: shared pages counted once)
    load: float  # 1-minute load average when it started
    code: int
    out: str = field(repr=False, default="")


def _tree_rss(root: int) -> int:
    """Bytes in memory of ``root`` and its descendants now (from /proc; PSS where the kernel gives it)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    stat = fh.read()
                parents[int(entry)] = int(stat[stat.rindex(b")") + 2 :].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, ppid in parents.items() if ppid in tree} - tree
        tree |= more
        grew = bool(more)
    total = 0
    for pid in tree:
        total += _pss(pid)
    return total


def _pss(pid: int) -> int:
    """Proportional set size of a process (shared pages split between their users: forked pool workers
    are not counted twice), else its resident set size; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def run(cmd: list[str], *, check: bool = True) -> Run:
    """Run cmd in its own process; wall and CPU seconds, peak memory (largest process and whole tree)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.2):
                peak[0] = max(peak[0], _tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    if check and code not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({code}):\n{text[-3000:]}")
    peak_mb = usage.ru_maxrss / 1024
    return Run(seconds, usage.ru_utime + usage.ru_stime, peak_mb, max(peak[0] / 2**20, peak_mb), load, code, text)


def provaudit(*args: str) -> list[str]:
    return [sys.executable, "-m", "provaudit.cli", *args]


@dataclass
class Figure:
    name: str
    measured: float
    unit: str
    goal: float
    higher_is_better: bool = False
    note: str = ""
    load: float = 0.0
    judged: bool = True  # False: measured below the size the goal is stated for; no verdict

    @property
    def ratio(self) -> float:
        """measured / goal, or goal / measured when more is better: ≤ 1 means met."""
        if self.higher_is_better:
            return self.goal / self.measured if self.measured else float("inf")
        return self.measured / self.goal

    @property
    def met(self) -> bool | None:
        return self.ratio <= 1.0 if self.judged else None


def fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "×":
        return f"{value:.1f}×"
    if unit == "s":
        return f"{value:.2f} s" if value < 10 else f"{value:.0f} s"
    if unit == "GiB":
        return f"{value:.2f} GiB"
    if unit == "KB/record":
        return f"{value:.1f} KB/record"
    return f"{value:.0f} {unit}"


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.runs: dict[str, Run] = {}
        self.figures: list[Figure] = []
        self.facts: dict[str, Any] = {}
        self.hf = args.corpus / "hf"

    def phase(self, label: str, cmd: list[str], *, check: bool = True) -> Run:
        got = run(cmd, check=check)
        self.runs[label] = got
        print(
            f"  {label:<34}{got.seconds:9.2f} s wall {got.cpu:8.2f} s CPU {got.peak_mb:7.0f} MB "
            f"(tree {got.tree_mb:5.0f} MB)  load {got.load:.1f}",
            flush=True,
        )
        return got

    def figure(self, *a: Any, **k: Any) -> None:
        self.figures.append(Figure(*a, **k))

    # --- phases ---------------------------------------------------------------------------------------

    def version(self) -> None:
        print("version: start-up, best of 7", flush=True)
        best: dict[str, Run] = {}
        for label, cmd in (
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("provaudit --version", provaudit("--version")),
        ):
            runs = [run(cmd) for _ in range(7)]
            best[label] = min(runs, key=lambda r: r.seconds)
            cpu = min(r.cpu for r in runs)
            self.runs[label] = best[label]
            print(f"  {label:<34}{best[label].seconds:9.3f} s wall {cpu:8.3f} s CPU  load {best[label].load:.1f}")
        got = best["provaudit --version"]
        self.figure(
            "`provaudit --version`",
            got.seconds,
            "s",
            0.3,
            note=f"CPU {got.cpu:.2f} s; `python -c pass` {best['python -c pass'].seconds:.2f} s",
            load=got.load,
        )

    def cards(self) -> None:
        cards = source_cards(self.hf)
        collection = self.work / "cards"
        build_collection(collection, len(cards), self.hf)
        self.facts["cards"] = len(cards)
        files = sum(1 for _ in collection.glob("*/*/*"))
        print(f"cards: {len(cards)} real cards ({files} files) from {self.hf}", flush=True)
        floor(collection)  # warm the page cache: every phase reads warm files
        floor_cmd = [sys.executable, str(Path(__file__).resolve()), "--floor-of", str(collection)]
        got = self.phase("floor (read + parse, 1 process)", floor_cmd)
        floor_s = float(json.loads(got.out.strip().splitlines()[-1])["seconds"])
        self.facts["floor_s"] = floor_s
        store = str(self.work / "store-cards")
        scan = ["scan", str(collection), "--no-digests", "--store", store, "--fail-on", "never", *self.jobs()]
        first = self.phase("scan", provaudit(*scan))
        again = self.phase("re-scan, nothing changed", provaudit(*scan))
        self.phase("re-scan --force", provaudit(*scan, "--force"))
        self.figure(
            f"scan of {len(cards):,} real cards ({files:,} files) / floor",
            first.seconds / floor_s,
            "×",
            3.0,
            note=f"scan {first.seconds:.1f} s ({first.cpu:.1f} s CPU), floor {floor_s:.2f} s",
            load=first.load,
        )
        self.rescan_figures(f"{len(cards):,} cards", first, again)
        self.facts["scan_cards_peak_mb"] = first.tree_mb

    def rescan_figures(self, size: str, first: Run, again: Run) -> None:
        share = 100 * again.seconds / first.seconds
        note = f"{again.seconds:.2f} s of {first.seconds:.1f} s"
        self.figure(f"re-scan, nothing changed, {size} / first scan", share, "%", 10.0, note=note, load=again.load)
        self.figure(
            f"re-scan, nothing changed, {size} / first scan (strict)", share, "%", 2.0, note=note, load=again.load
        )

    def site(self) -> None:
        collection = self.work / "cards"
        if not collection.is_dir():
            self.cards()
        store = str(self.work / "store-cards")
        dpi = self.args.corpus / "dpi" / "data_summaries"
        print("site: the cards plus the DPI summaries", flush=True)
        if dpi.is_dir():
            self.phase(
                "scan DPI summaries (not a figure)", provaudit("scan", str(dpi), "--store", store, "--fail-on", "never")
            )
        out = str(self.work / "site")
        cold = self.phase("site, cold", provaudit("site", "--out", out, "--store", store))
        # the command's last line: "N records, M pages, F files (X MB) in S s → ..."
        said = re.search(r"(\d+) records, (\d+) pages", cold.out)
        records, pages = (int(said[1]), int(said[2])) if said else (0, 0)
        # one record changes: its card gets a new license line (a copy replaces the hard link)
        card = sorted((collection / "datasets").iterdir())[0] / "README.md"
        text = card.read_text(encoding="utf-8")
        card.unlink()
        card.write_text(
            text.replace("---\n", "---\nlicense: apache-2.0\n", 1) if text.startswith("---") else text + "\n"
        )
        rescan = self.phase(
            "re-scan, one card changed",
            provaudit("scan", str(collection), "--no-digests", "--store", store, "--fail-on", "never", *self.jobs()),
        )
        rebuild = self.phase("site, rebuilt after the change", provaudit("site", "--out", out, "--store", store))
        self.facts.update(site_pages=pages, site_records=records)
        self.figure(
            f"site build, cold ({records:,} records, {pages:,} pages)",
            pages / cold.seconds,
            "pages/s",
            500,
            higher_is_better=True,
            note=f"{cold.seconds:.1f} s, {cold.cpu:.1f} s CPU, {cold.tree_mb:.0f} MB",
            load=cold.load,
        )
        at_100k = rebuild.seconds * 100_000 / max(records, 1)
        self.figure(
            "one changed record: site rebuilt, at 100k (extrapolated)",
            at_100k,
            "s",
            5.0,
            note=f"{rebuild.seconds:.1f} s at {records:,} records (every page is rebuilt); "
            f"re-scan {rescan.seconds:.1f} s",
            load=rebuild.load,
        )

    def scale(self) -> None:
        n = self.args.records
        collection = self.work / "scale"
        start = time.perf_counter()
        build_collection(collection, n, self.hf)
        print(f"scale: {n:,} record folders (built in {time.perf_counter() - start:.0f} s)", flush=True)
        store = str(self.work / "store-scale")
        scan = ["scan", str(collection), "--no-digests", "--store", store, "--fail-on", "never", *self.jobs()]
        first = self.phase(f"scan {n:,}", provaudit(*scan))
        again = self.phase(f"re-scan {n:,}, nothing changed", provaudit(*scan)) if not self.args.no_rescan else None
        review_out = str(self.work / "review.json")
        review = self.phase(
            f"review {n:,}",
            provaudit("review", "--format", "json", "--out", review_out, "--store", store, "--fail-on", "never"),
        )
        self.facts["store_mb"] = sum(f.stat().st_size for f in Path(store).rglob("*") if f.is_file()) / 1e6
        scale = 100_000 / n
        tag = "" if n == 100_000 else f" (extrapolated from {n:,})"
        if again is not None:
            self.rescan_figures(f"{n:,} records", first, again)
        small = self.facts.get("scan_cards_peak_mb")
        slope = (
            (first.tree_mb - small) * 1024 / (n - self.facts["cards"]) if small and n > self.facts["cards"] else None
        )
        self.figure(
            f"scan peak memory at {n:,} records (goal: at 100k, flat in N)",
            first.tree_mb / 1024,
            "GiB",
            1.5,
            note=f"whole process tree; largest process {first.peak_mb:.0f} MB; "
            + (f"{slope:.1f} KB per record above the cards' scan" if slope is not None else "no slope"),
            load=first.load,
            judged=n >= 100_000,
        )
        self.figure(
            f"`review` of 100k, seconds{tag}",
            review.seconds * scale,
            "s",
            10.0,
            note=f"{review.seconds:.1f} s at {n:,}, {review.cpu:.1f} s CPU",
            load=review.load,
        )
        self.figure(
            f"`review` peak memory at {n:,} records (goal: at 100k)",
            review.tree_mb / 1024,
            "GiB",
            1.5,
            note=f"largest process {review.peak_mb:.0f} MB",
            load=review.load,
            judged=n >= 100_000,
        )
        self.facts["scan_records_per_s"] = n / first.seconds

    # --- helpers --------------------------------------------------------------------------------------

    def jobs(self) -> list[str]:
        return ["--jobs", str(self.args.jobs)] if self.args.jobs else []

    def table(self) -> str:
        rows = ["| figure | measured | goal | ratio to goal | met | load | notes |", "|---|---|---|---|---|---|---|"]
        verdict = {True: "yes", False: "no", None: "n/a (below 100k)"}
        for f in self.figures:
            goal = ("≥ " if f.higher_is_better else "≤ ") + fmt(f.goal, f.unit)
            rows.append(
                f"| {f.name} | {fmt(f.measured, f.unit)} | {goal} | {f.ratio:.2f} | {verdict[f.met]} "
                f"| {f.load:.1f} | {f.note} |"
            )
        return "\n".join(rows)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    mem = os.sysconf("SC_PHYS_PAGES") * PAGE / GIB
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {system}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS, help="folder with hf/ (and dpi/)")
    parser.add_argument("--records", type=int, default=5000, help="record folders of the scale phase")
    parser.add_argument("--jobs", type=int, default=0, help="scan --jobs (default: provaudit's own)")
    parser.add_argument("--only", default=",".join(PHASES), help=f"comma-separated subset of {','.join(PHASES)}")
    parser.add_argument("--no-rescan", action="store_true", help="skip the unchanged re-scan of the scale phase")
    parser.add_argument("--json", type=Path, help="also write the figures and runs here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--floor-of", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor_of:  # the floor's own process
        seconds, files = floor(args.floor_of)
        print(json.dumps({"seconds": seconds, "files": files}))
        return 0
    if not (args.corpus / "hf").is_dir():
        print(f"{args.corpus}/hf not found: using the cards of tests/fixtures/cards", file=sys.stderr)
    only = [p for p in args.only.split(",") if p]
    unknown = set(only) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase(s): {', '.join(sorted(unknown))}")
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if not (ROOT / ".git").exists():  # a copy (git archive): the enclosing repository's commit is not this one
        commit.stdout = ""
    print(f"provaudit {commit.stdout.strip() or '(not a git checkout)'} on {machine()}")
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="provaudit-bench-all-"))
    bench = Bench(args, work)
    started = time.perf_counter()
    try:
        for name in PHASES:
            if name in only:
                getattr(bench, name)()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    print()
    print(bench.table())
    print(
        f"\n{sum(f.met is True for f in bench.figures)} of {sum(f.met is not None for f in bench.figures)} goals met; "
        f"{time.perf_counter() - started:.0f} s in all; load average at the end "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "commit": commit.stdout.strip(),
                    "records": args.records,
                    "figures": [{**asdict(f), "ratio": f.ratio, "met": f.met} for f in bench.figures],
                    "runs": {k: {**asdict(v), "out": v.out[-400:]} for k, v in bench.runs.items()},
                    "facts": bench.facts,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
