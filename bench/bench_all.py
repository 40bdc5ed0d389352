"""Every row of issue 20's scale table in one run, at several sizes, side by side with its goal.

    python bench/bench_all.py                           # corpus ../shared/corpus beside the checkout, 5,000 records
    python bench/bench_all.py some/corpus --records 5000,20000,100000 --json bench/.work/all.json
    python bench/bench_all.py --only version,scale --records 2000  # a subset of the phases

CORPUS is a folder holding ``hf/datasets`` and ``hf/models`` (Hugging Face cards) and, optionally,
``dpi/data_summaries`` (Data Provenance Initiative summaries); without it ``tests/fixtures/cards``
is used. Nothing in the corpus is written: collections are hard-linked copies in a temporary folder.

Phases (``--only`` picks some), each provaudit command in its own process, as a user runs it:

* ``version``: ``provaudit --help`` and ``provaudit --version`` (best of 7), beside ``python -c pass``;
* ``cards``: every real card once (about 1,750 folders): the read+parse floor (the same files read and
  parsed, front matter with libyaml, JSON, in one process), ``scan``, the same scan again with nothing
  changed, and ``scan --force``;
* ``site``: the DPI summaries scanned into that store too, ``provaudit site`` into an empty folder,
  then one card changed, scanned again and the site rebuilt into the same folder;
* ``scale``: for each size of ``--records`` (comma-separated), that many record folders (hard links
  to the cards, each its own record), and in order: the read+parse floor of those files; ``scan``; the
  unchanged re-scan; ``review`` cold and again with nothing changed; one record's card changed,
  re-scanned and ``review`` again; the load floor (the first scan's quads, dumped to N-Quads, bulk-loaded
  by pyoxigraph in a fresh process into ``Store()`` in memory and into a new on-disk store); ``site``
  cold; another card changed, re-scanned, and ``site`` again into the same folder. Interrupted (Ctrl-C,
  SIGINT), the run stops the running step and prints the figures of the steps that ended.

Every step reports wall seconds, CPU seconds (user + system of the process and its children), the
peak resident memory of its largest process (``wait4``) and of the whole process tree (proportional
set sizes summed, sampled from /proc every 0.2 s), and the 1-minute load average when it started.
Goals are judged on CPU seconds, which hold on a loaded machine; wall seconds are printed beside them.
A time goal stated at 100,000 records is judged at a smaller size on the linear extrapolation of the
figure (marked ``extrapolated``); a memory goal and the time of an incremental step (after one changed
record) only at 100,000 records, or when a smaller size already exceeds it. With several sizes a
second table gives each row at every size and a two-point extrapolation to 100,000 from the two largest.
``--mem-limit`` and ``--timeout`` stop a step whose process tree grows past that many GiB or runs
longer (its figure is then a lower bound).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import shutil
import signal
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
AT = 100_000  # the size the goals are stated for

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
    killed: str = ""  # why the bench stopped it (memory or time limit); its figures are then lower bounds


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


def run(cmd: list[str], *, check: bool = True, mem_limit_gib: float = 0.0, timeout: float = 0.0) -> Run:
    """Run cmd in its own process group; wall and CPU seconds, peak memory (largest process and whole tree).
    A tree past ``mem_limit_gib`` or a run past ``timeout`` seconds is stopped (SIGKILL to its group)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        peak = [0]
        killed = [""]
        done = threading.Event()

        def stop(why: str) -> None:
            killed[0] = why
            with contextlib.suppress(ProcessLookupError):  # the group this Popen started, pool workers included
                os.killpg(proc.pid, signal.SIGKILL)

        def sample() -> None:
            while not done.wait(0.2):
                peak[0] = max(peak[0], _tree_rss(proc.pid))
                if mem_limit_gib and peak[0] > mem_limit_gib * GIB and not killed[0]:
                    stop(f"stopped at {peak[0] / GIB:.1f} GiB (--mem-limit {mem_limit_gib:g})")
                if timeout and time.perf_counter() - start > timeout and not killed[0]:
                    stop(f"stopped after {timeout:.0f} s (--timeout)")

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # Ctrl-C or SIGINT to the bench: stop the step too, not leave it running
            stop("interrupted")
            os.wait4(proc.pid, 0)
            done.set()
            raise
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    if check and code not in (0, 1) and not killed[0]:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}):\n{text[-3000:]}")
    peak_mb = usage.ru_maxrss / 1024
    return Run(
        seconds, usage.ru_utime + usage.ru_stime, peak_mb, max(peak[0] / 2**20, peak_mb), load, code, text, killed[0]
    )


def provaudit(*args: str) -> list[str]:
    return [sys.executable, "-m", "provaudit.cli", *args]


@dataclass
class Figure:
    """One row: a figure beside its goal (``goal`` None: a floor or a fact, no verdict)."""

    name: str
    measured: float
    unit: str
    goal: float | None
    higher_is_better: bool = False
    note: str = ""
    load: float = 0.0
    judged: bool = True  # False: measured below the size the goal is stated for; no verdict
    records: int = 0  # the size it was measured at (0: not a scale figure)
    row: str = ""  # the row it answers (the key of the table across sizes)
    lower_bound: bool = False  # the step was stopped: the true figure is worse

    @property
    def ratio(self) -> float:
        """measured / goal, or goal / measured when more is better: ≤ 1 means met."""
        if self.goal is None:
            return float("nan")
        if self.higher_is_better:
            return self.goal / self.measured if self.measured else float("inf")
        return self.measured / self.goal

    @property
    def met(self) -> bool | None:
        if self.goal is None:
            return None
        if self.lower_bound:
            return False if self.ratio > 1.0 else None
        return self.ratio <= 1.0 if self.judged else None


def fmt(value: float, unit: str) -> str:
    if math.isnan(value) or math.isinf(value):
        return "—"
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "×":
        return f"{value:.1f}×"
    if unit == "s":
        return f"{value:.3f} s" if value < 1 else f"{value:.2f} s" if value < 10 else f"{value:,.0f} s"
    if unit == "GiB":
        return f"{value:.2f} GiB"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:,.0f} {unit}"


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.runs: dict[str, Run] = {}
        self.figures: list[Figure] = []
        self.facts: dict[str, Any] = {}
        self.hf = args.corpus / "hf"
        self.commit = ""
        self.interrupted = False

    def phase(self, label: str, cmd: list[str], *, check: bool = True, limited: bool = False) -> Run:
        """One step in its own process; printed as it ends. ``limited``: subject to --mem-limit/--timeout."""
        limits = {"mem_limit_gib": self.args.mem_limit, "timeout": self.args.timeout} if limited else {}
        got = run(cmd, check=check, **limits)
        self.runs[label] = got
        self.save(complete=False)  # a long run that is stopped keeps what it measured
        print(
            f"  {label:<44}{got.seconds:9.2f} s wall {got.cpu:8.2f} s CPU {got.peak_mb:7.0f} MB "
            f"(tree {got.tree_mb:6.0f} MB)  load {got.load:.1f}" + (f"  {got.killed}" if got.killed else ""),
            flush=True,
        )
        return got

    def save(self, *, complete: bool) -> None:
        """The figures and runs so far as JSON (--json); "complete" false while the run goes on."""
        if not self.args.json:
            return
        self.args.json.parent.mkdir(parents=True, exist_ok=True)
        figures = [{**asdict(f), "ratio": None if f.goal is None else f.ratio, "met": f.met} for f in self.figures]
        data = {
            "machine": machine(),
            "commit": self.commit,
            "records": self.args.records,
            "complete": complete,
            "figures": figures,
            "runs": {k: {**asdict(v), "out": v.out[-400:]} for k, v in self.runs.items()},
            "facts": self.facts,
        }
        self.args.json.write_text(json.dumps(data, indent=1))

    def figure(self, *a: Any, **k: Any) -> None:
        self.figures.append(Figure(*a, **k))

    def at_scale(
        self,
        row: str,
        n: int,
        value: float,
        unit: str,
        goal: float,
        *,
        note: str,
        load: float,
        kind: str = "cost",
        stopped: bool = False,
    ) -> None:
        """A figure of the scale phase at n records. kind "cost" (seconds that grow with N; a goal stated at
        100,000) is judged below 100,000 on its linear extrapolation, marked; "bound" (memory, and the
        seconds of an incremental step, which need not grow in proportion) only at 100,000 or when n
        already exceeds the goal; "rate" (more is better) and "ratio" as measured."""
        extrapolate = n != AT and kind == "cost"
        shown = value * AT / n if extrapolate else value
        name = f"{row}, {n:,}" + (" → 100k extrapolated" if extrapolate else "")
        if extrapolate:
            note = f"{fmt(value, unit)} at {n:,}; " + note
        self.figure(
            name,
            shown,
            unit,
            goal,
            higher_is_better=kind == "rate",
            note=note,
            load=load,
            judged=kind != "bound" or n >= AT or value > goal,
            records=n,
            row=row,
            lower_bound=stopped,
        )

    # --- phases ---------------------------------------------------------------------------------------

    def version(self) -> None:
        print("version: start-up, best of 7", flush=True)
        best: dict[str, Run] = {}
        wall: dict[str, float] = {}
        for label, cmd in (
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("provaudit --version", provaudit("--version")),
            ("provaudit --help", provaudit("--help")),
        ):
            runs = [run(cmd) for _ in range(7)]
            best[label] = min(runs, key=lambda r: r.cpu)
            self.runs[label] = best[label]
            wall[label] = min(r.seconds for r in runs)
            print(f"  {label:<44}{wall[label]:9.3f} s wall {best[label].cpu:8.3f} s CPU  load {best[label].load:.1f}")
        for label in ("provaudit --help", "provaudit --version"):
            got = best[label]
            # judged on CPU like the rest: on a loaded machine the wall time is mostly waiting for a core
            self.figure(
                f"`{label}`, CPU (best of 7)",
                got.cpu,
                "s",
                0.3,
                note=f"best wall {wall[label]:.3f} s; `python -c pass` {best['python -c pass'].cpu:.3f} s CPU",
                load=got.load,
                row=f"`{label}`",
            )

    def cards(self) -> None:
        cards = source_cards(self.hf)
        collection = self.work / "cards"
        build_collection(collection, len(cards), self.hf)
        self.facts["cards"] = len(cards)
        files = sum(1 for _ in collection.glob("*/*/*"))
        print(f"cards: {len(cards)} real cards ({files} files) from {self.hf}", flush=True)
        floor_s = self.read_parse_floor(collection, "floor (read + parse, 1 process)")
        self.facts["floor_s"] = floor_s
        store = str(self.work / "store-cards")
        scan = ["scan", str(collection), "--no-digests", "--store", store, "--fail-on", "never", *self.jobs()]
        first = self.phase("scan", provaudit(*scan))
        again = self.phase("re-scan, nothing changed", provaudit(*scan))
        self.phase("re-scan --force", provaudit(*scan, "--force"))
        self.figure(
            f"scan CPU / read+parse floor, {len(cards):,} real cards ({files:,} files)",
            first.cpu / floor_s,
            "×",
            5.0,
            note=f"scan {first.cpu:.1f} s CPU ({first.seconds:.1f} s wall), floor {floor_s:.2f} s CPU",
            load=first.load,
            row="scan / floor, real cards",
        )
        share = 100 * again.cpu / first.cpu
        self.figure(
            f"unchanged re-scan / first scan (CPU), {len(cards):,} real cards",
            share,
            "%",
            5.0,
            note=f"{again.cpu:.2f} s of {first.cpu:.1f} s CPU (wall {again.seconds:.2f} of {first.seconds:.1f} s); "
            f"tree {again.tree_mb:.0f} MB",
            load=again.load,
            row="re-scan / scan, real cards",
        )
        self.facts["scan_cards_peak_mb"] = first.tree_mb

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
        out = self.work / "site"
        cold = self.phase("site, cold", provaudit("site", "--out", str(out), "--store", store), limited=True)
        records, pages = site_counts(cold.out, out)
        change_one(collection, 0)
        rescan = self.phase(
            "re-scan, one card changed",
            provaudit("scan", str(collection), "--no-digests", "--store", store, "--fail-on", "never", *self.jobs()),
        )
        rebuild = self.phase(
            "site, rebuilt after the change", provaudit("site", "--out", str(out), "--store", store), limited=True
        )
        self.facts.update(site_pages=pages, site_records=records)
        self.figure(
            f"site, cold: pages per CPU-second (cards + DPI: {records:,} records, {pages:,} pages)",
            pages / cold.cpu,
            "pages/s",
            500,
            higher_is_better=True,
            note=f"{cold.cpu:.1f} s CPU, {cold.seconds:.1f} s wall ({pages / cold.seconds:.0f} pages per wall "
            f"second); tree {cold.tree_mb:.0f} MB, largest process {cold.peak_mb:.0f} MB",
            load=cold.load,
            row="site cold, real records",
            lower_bound=bool(cold.killed),
        )
        self.figure(
            f"site after one changed record, CPU, {records:,} records → 100k extrapolated",
            rebuild.cpu * AT / max(records, 1),
            "s",
            5.0,
            note=f"{rebuild.cpu:.1f} s CPU ({rebuild.seconds:.1f} s wall) at {records:,} records; "
            f"the re-scan of that change {rescan.cpu:.1f} s CPU",
            load=rebuild.load,
            row="site after one change, real records",
            lower_bound=bool(rebuild.killed),
        )

    def scale(self) -> None:
        for n in self.args.records:
            self.scale_at(n)

    def scale_at(self, n: int) -> None:
        """The scale steps at n records; the figures of those that ran even when the run is interrupted
        (Ctrl-C or SIGINT: the step running is stopped, the table printed)."""
        work = self.work / f"scale-{n}"
        collection = work / "collection"
        start = time.perf_counter()
        build_collection(collection, n, self.hf)
        files = sum(1 for _ in collection.glob("*/*/*"))
        print(
            f"scale: {n:,} record folders, {files:,} files (built in {time.perf_counter() - start:.0f} s)", flush=True
        )
        got: dict[str, Any] = {"pages": 0, "load_floor": {}}
        facts: dict[str, Any] = {"files": files, "changed": []}
        self.facts[f"scale_{n}"] = facts
        try:
            self.scale_steps(n, work, collection, got, facts)
        except KeyboardInterrupt:
            self.interrupted = True
            print(f"  interrupted: the figures at {n:,} records below are those of the steps that ended", flush=True)
        self.scale_figures(n, got)
        if not self.args.keep:
            shutil.rmtree(work, ignore_errors=True)
        if self.interrupted:
            raise KeyboardInterrupt

    def scale_steps(self, n: int, work: Path, collection: Path, got: dict[str, Any], facts: dict[str, Any]) -> None:
        """Run the steps in an order that puts the scan and review rows first (a long run stopped early has
        them), filling ``got`` as each ends."""
        s = f" {n:,}"
        got["floor_s"] = facts["floor_s"] = self.read_parse_floor(collection, f"floor: read + parse{s}")
        store = str(work / "store")
        scan = ["scan", str(collection), "--no-digests", "--store", store, "--fail-on", "never", *self.jobs()]
        got["first"] = self.phase(f"scan{s}", provaudit(*scan), limited=True)
        facts["store_mb"] = sum(f.stat().st_size for f in Path(store).rglob("*") if f.is_file()) / 1e6
        nq = self.dump_quads(work, store, n) if not self.args.no_load_floor else None
        if not self.args.no_rescan:
            got["again"] = self.phase(f"re-scan{s}, nothing changed", provaudit(*scan))
        review_out = str(work / "review.json")
        review = ["review", "--format", "json", "--out", review_out, "--store", store, "--fail-on", "never"]
        got["cold"] = self.phase(f"review{s}, cold", provaudit(*review), limited=True)
        got["warm"] = self.phase(f"review{s}, again, nothing changed", provaudit(*review), limited=True)
        facts["changed"].append(change_one(collection, 0))
        got["rescan"] = self.phase(f"re-scan{s}, one record changed", provaudit(*scan))
        got["review_one"] = self.phase(f"review{s}, one record changed", provaudit(*review), limited=True)
        if nq:
            got["load_floor"] = self.load_floor(work, nq, n)
            facts.update(got["load_floor"])
        out = work / "site"
        got["site"] = self.phase(f"site{s}, cold", provaudit("site", "--out", str(out), "--store", store), limited=True)
        facts["site_records"], got["pages"] = site_counts(got["site"].out, out)
        facts["site_pages"] = got["pages"]
        facts["changed"].append(change_one(collection, 1))  # another record: the site was built after the first
        self.phase(f"re-scan{s}, another record changed", provaudit(*scan))
        got["site_one"] = self.phase(
            f"site{s}, one record changed", provaudit("site", "--out", str(out), "--store", store), limited=True
        )

    def scale_figures(self, n: int, got: dict[str, Any]) -> None:
        """The issue's rows at n records, in the issue's order, with the floors of the same run (only the rows
        whose steps ran)."""
        if "floor_s" not in got:
            return
        floor_s: float = got["floor_s"]
        load_floor: dict[str, float] = got["load_floor"]
        first: Run | None = got.get("first")
        again: Run | None = got.get("again")
        cold: Run | None = got.get("cold")
        warm: Run | None = got.get("warm")
        rescan: Run | None = got.get("rescan")
        review_one: Run | None = got.get("review_one")
        site: Run | None = got.get("site")
        site_one: Run | None = got.get("site_one")
        pages: int = got["pages"]
        quads = load_floor.get("quads", 0)
        bulk = load_floor.get("disk_s", 0.0)
        floors = f"read+parse floor {floor_s:.2f} s CPU" + (
            f", bulk load of its {quads:,.0f} quads {bulk:.1f} s CPU (on disk), {load_floor['memory_s']:.1f} s (memory)"
            if quads
            else ""
        )
        self.figure(
            f"floor: read + parse of the same files, {n:,}",
            floor_s,
            "s",
            None,
            note=f"CPU seconds; {n / floor_s:,.0f} records per CPU-second, one process, timed inside it",
            load=self.runs[f"floor: read + parse {n:,}"].load,
            records=n,
            row="floor: read + parse",
        )
        if quads:
            for where in ("memory", "disk"):
                self.figure(
                    f"floor: pyoxigraph bulk load of the scan's quads ({where}), {n:,}",
                    load_floor[f"{where}_s"],
                    "s",
                    None,
                    note=f"CPU seconds (all threads; wall {load_floor[f'{where}_wall_s']:.1f} s); {quads:,.0f} quads "
                    f"({quads / n:.0f} per record), {quads / load_floor[f'{where}_s']:,.0f} quads per CPU-second, "
                    f"{load_floor[f'{where}_mb']:,.0f} MB peak, a fresh process",
                    load=self.runs[f"floor: bulk load {n:,} ({where})"].load,
                    records=n,
                    row=f"floor: bulk load ({where})",
                )
        if first is None:
            return
        self.at_scale(
            "scan, CPU",
            n,
            first.cpu,
            "s",
            90.0,
            note=f"{first.seconds:.1f} s wall; {n / first.cpu:,.0f} records per CPU-second",
            load=first.load,
            stopped=bool(first.killed),
        )
        self.at_scale(
            "scan CPU / read+parse floor",
            n,
            first.cpu / floor_s,
            "×",
            5.0,
            note=floors
            + (f"; scan CPU / (read+parse + bulk load) {first.cpu / (floor_s + bulk):.1f}×" if bulk else ""),
            load=first.load,
            kind="ratio",
            stopped=bool(first.killed),
        )
        self.at_scale(
            "scan, peak memory (process tree)",
            n,
            first.tree_mb / 1024,
            "GiB",
            1.0,
            note=f"largest process {first.peak_mb:,.0f} MB",
            load=first.load,
            kind="bound",
            stopped=bool(first.killed),
        )
        if again is not None:
            self.at_scale(
                "unchanged re-scan / first scan (CPU)",
                n,
                100 * again.cpu / first.cpu,
                "%",
                5.0,
                note=f"{again.cpu:.2f} of {first.cpu:.1f} s CPU (wall {again.seconds:.1f} of {first.seconds:.1f} s)",
                load=again.load,
                kind="ratio",
            )
            self.at_scale(
                "unchanged re-scan, peak memory (process tree)",
                n,
                again.tree_mb,
                "MB",
                300,
                note=f"largest process {again.peak_mb:,.0f} MB",
                load=again.load,
                kind="bound",
            )
        if cold is None or warm is None:
            return
        self.at_scale(
            "review, cold, CPU",
            n,
            cold.cpu,
            "s",
            10.0,
            note=f"{cold.seconds:.1f} s wall; again with nothing changed {warm.cpu:.1f} s CPU "
            f"({warm.seconds:.1f} s wall, {warm.tree_mb:,.0f} MB)",
            load=cold.load,
            stopped=bool(cold.killed),
        )
        self.at_scale(
            "review, cold, peak memory (process tree)",
            n,
            cold.tree_mb / 1024,
            "GiB",
            1.0,
            note=f"{cold.tree_mb * 1024 / n:,.0f} KB per record",
            load=cold.load,
            kind="bound",
            stopped=bool(cold.killed),
        )
        if review_one is None or rescan is None:
            return
        self.at_scale(
            "review after one changed record, CPU",
            n,
            review_one.cpu,
            "s",
            2.0,
            note=f"{review_one.seconds:.1f} s wall, {review_one.tree_mb:,.0f} MB; the re-scan of that change "
            f"{rescan.cpu:.1f} s CPU ({rescan.seconds:.1f} s wall)",
            load=review_one.load,
            kind="bound",
            stopped=bool(review_one.killed),
        )
        if site is None:
            return
        self.at_scale(
            "site, cold: pages per CPU-second",
            n,
            pages / site.cpu if pages else 0.0,
            "pages/s",
            500,
            note=f"{pages:,} pages in {site.cpu:.1f} s CPU, {site.seconds:.1f} s wall "
            f"({pages / site.seconds if pages else 0:.0f} pages per wall second)",
            load=site.load,
            kind="rate",
            stopped=bool(site.killed),
        )
        self.at_scale(
            "site, cold, peak memory (process tree)",
            n,
            site.tree_mb / 1024,
            "GiB",
            1.5,
            note=f"largest process {site.peak_mb:,.0f} MB" + (f"; {site.killed}" if site.killed else ""),
            load=site.load,
            kind="bound",
            stopped=bool(site.killed),
        )
        if site_one is None:
            return
        self.at_scale(
            "site after one changed record, CPU",
            n,
            site_one.cpu,
            "s",
            5.0,
            note=f"{site_one.seconds:.1f} s wall, {site_one.tree_mb:,.0f} MB",
            load=site_one.load,
            kind="bound",
            stopped=bool(site_one.killed),
        )

    # --- floors ---------------------------------------------------------------------------------------

    def read_parse_floor(self, collection: Path, label: str) -> float:
        """CPU seconds to read and parse the collection's files in a fresh process, timed inside it (the page
        cache warmed first; CPU, not wall, so that it compares with the commands' CPU on a loaded machine)."""
        floor(collection)  # warm the page cache: every step reads warm files
        cmd = [sys.executable, str(Path(__file__).resolve()), "--floor-of", str(collection)]
        got = self.phase(label, cmd)
        return float(json.loads(got.out.strip().splitlines()[-1])["cpu"])

    def dump_quads(self, work: Path, store: str, n: int) -> Path:
        """The store's quads as the first scan left them, as N-Quads (not timed: the load floor's input)."""
        nq = work / "store.nq"
        me = [sys.executable, str(Path(__file__).resolve())]
        self.phase(f"dump the quads to N-Quads {n:,} (not a figure)", [*me, "--dump-quads", store, str(nq)])
        return nq

    def load_floor(self, work: Path, nq: Path, n: int) -> dict[str, float]:
        """The first scan's quads bulk-loaded by pyoxigraph in a fresh process into ``Store()`` (memory) and
        into a new on-disk store: CPU seconds timed inside it."""
        me = [sys.executable, str(Path(__file__).resolve())]
        got: dict[str, float] = {}
        for where in ("memory", "disk"):
            target = ["--into", str(work / "bulk-store")] if where == "disk" else []
            ran = self.phase(f"floor: bulk load {n:,} ({where})", [*me, "--bulk-load-of", str(nq), *target])
            said = json.loads(ran.out.strip().splitlines()[-1])
            got[f"{where}_s"] = float(said["cpu"])
            got[f"{where}_wall_s"] = float(said["seconds"])
            got[f"{where}_mb"] = ran.tree_mb
            got["quads"] = float(said["quads"])
            shutil.rmtree(work / "bulk-store", ignore_errors=True)
        got["nq_mb"] = nq.stat().st_size / 1e6
        nq.unlink()
        return got

    # --- helpers --------------------------------------------------------------------------------------

    def jobs(self) -> list[str]:
        return ["--jobs", str(self.args.jobs)] if self.args.jobs else []

    def table(self) -> str:
        rows = ["| figure | measured | goal | ratio to goal | met | load | notes |", "|---|---|---|---|---|---|---|"]
        verdict = {True: "yes", False: "**no**", None: "n/a"}
        for f in self.figures:
            goal = "floor" if f.goal is None else ("≥ " if f.higher_is_better else "≤ ") + fmt(f.goal, f.unit)
            met = verdict[f.met]
            if f.met is None and f.goal is not None:
                met = "n/a (stopped)" if f.lower_bound else "n/a (below 100k)"
            shown = ("> " if f.lower_bound and not f.higher_is_better else "< " if f.lower_bound else "") + fmt(
                f.measured, f.unit
            )
            ratio = "" if f.goal is None else f"{f.ratio:.2f}"
            rows.append(f"| {f.name} | {shown} | {goal} | {ratio} | {met} | {f.load:.1f} | {f.note} |")
        return "\n".join(rows)

    def across_sizes(self) -> str:
        """Each scale row at every size, and its two-point linear extrapolation to 100,000 records."""
        sizes = sorted({f.records for f in self.figures if f.records})
        if len(sizes) < 2:
            return ""
        by_row: dict[str, dict[int, Figure]] = {}
        for f in self.figures:
            if f.records:
                by_row.setdefault(f.row, {})[f.records] = f
        head = "| row | " + " | ".join(f"{n:,}" for n in sizes) + " | 100k (two-point fit) | goal |"
        rows = [head, "|---" * (len(sizes) + 3) + "|"]
        for row, at in by_row.items():
            some = next(iter(at.values()))
            # the value measured at each size (undo the proportional extrapolation of the main table)
            raw = {n: f.measured * n / AT if "extrapolated" in f.name else f.measured for n, f in at.items()}
            cells = [("> " if at[n].lower_bound else "") + fmt(raw[n], some.unit) if n in at else "" for n in sizes]
            fit = ""
            big = [n for n in sizes if n in raw][-2:]
            if len(big) == 2 and AT not in raw and some.unit not in ("%", "×", "pages/s"):
                (n1, n2), (v1, v2) = big, (raw[big[0]], raw[big[1]])
                fit = fmt(v2 + (v2 - v1) * (AT - n2) / (n2 - n1), some.unit)
            goal = (
                "floor" if some.goal is None else ("≥ " if some.higher_is_better else "≤ ") + fmt(some.goal, some.unit)
            )
            rows.append(f"| {row} | " + " | ".join(cells) + f" | {fit} | {goal} |")
        return "\n".join(rows)


def site_counts(said: str, out: Path) -> tuple[int, int]:
    """(records, pages) from the site command's last line ("N records, M pages, ..."), else counted."""
    found = re.search(r"(\d+) records, (\d+) pages", said)
    if found:
        return int(found[1]), int(found[2])
    return 0, sum(1 for _ in out.rglob("*.html")) if out.is_dir() else 0


def change_one(collection: Path, index: int) -> str:
    """One record changes: the index-th dataset card gets a new license line (a copy replaces the hard link)."""
    card = sorted((collection / "datasets").iterdir())[index] / "README.md"
    text = card.read_text(encoding="utf-8")
    card.unlink()
    card.write_text(text.replace("---\n", "---\nlicense: apache-2.0\n", 1) if text.startswith("---") else text + "\n")
    return card.parent.name


def dump_quads(store: Path, out: Path) -> None:
    """Every quad of a provaudit store (its Oxigraph database, read-only) as N-Quads."""
    from pyoxigraph import RdfFormat, Store

    Store.read_only(str(store / "oxigraph")).dump(str(out), RdfFormat.N_QUADS)


def bulk_load(nq: Path, into: Path | None) -> dict[str, float]:
    """Wall and CPU seconds (all its threads) for pyoxigraph to bulk-load an N-Quads file, in memory or into
    a new on-disk store."""
    from pyoxigraph import RdfFormat, Store

    start, cpu = time.perf_counter(), time.process_time()
    db = Store(str(into)) if into else Store()
    db.bulk_load(path=str(nq), format=RdfFormat.N_QUADS)
    if into:
        db.flush()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "quads": len(db)}


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


def sizes(text: str) -> list[int]:
    """--records: one size or several, comma-separated (5000,20000,100000)."""
    try:
        got = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of record counts: {text!r}") from None
    if not got or min(got) < 1:
        raise argparse.ArgumentTypeError(f"record counts must be positive: {text!r}")
    return sorted(set(got))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS, help="folder with hf/ (and dpi/)")
    parser.add_argument(
        "--records", type=sizes, default=[5000], help="record folders of the scale phase; several: 5000,20000,100000"
    )
    parser.add_argument("--jobs", type=int, default=0, help="scan --jobs (default: provaudit's own)")
    parser.add_argument("--only", default=",".join(PHASES), help=f"comma-separated subset of {','.join(PHASES)}")
    parser.add_argument("--no-rescan", action="store_true", help="skip the unchanged re-scan of the scale phase")
    parser.add_argument("--no-load-floor", action="store_true", help="skip the pyoxigraph bulk-load floor")
    parser.add_argument(
        "--mem-limit",
        type=float,
        default=16.0,
        help="GiB: stop a scan, review or site whose process tree grows past it",
    )
    parser.add_argument(
        "--timeout", type=float, default=0.0, help="seconds: stop a scan, review or site running longer"
    )
    parser.add_argument("--json", type=Path, help="also write the figures and runs here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--floor-of", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dump-quads", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--bulk-load-of", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--into", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.floor_of:  # the floor's own process
        cpu = time.process_time()
        seconds, files = floor(args.floor_of)
        print(json.dumps({"seconds": seconds, "cpu": time.process_time() - cpu, "files": files}))
        return 0
    if args.dump_quads:
        dump_quads(*args.dump_quads)
        return 0
    if args.bulk_load_of:  # the load floor's own process
        print(json.dumps(bulk_load(args.bulk_load_of, args.into)))
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
    # a job started in the background by a shell ignores SIGINT: restore it, and let SIGTERM stop the run
    # the same way (the running step stopped, the figures of the steps that ended printed and saved)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    work = Path(tempfile.mkdtemp(prefix="provaudit-bench-all-"))
    bench = Bench(args, work)
    bench.commit = commit.stdout.strip()
    started = time.perf_counter()
    try:
        for name in PHASES:
            if name in only:
                getattr(bench, name)()
    except KeyboardInterrupt:
        bench.interrupted = True
        print("interrupted: the figures below are those of the steps that ended", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work}")
    print()
    print(bench.table())
    across = bench.across_sizes()
    if across:
        print("\nEach scale row at every size (CPU seconds as measured, not extrapolated):\n")
        print(across)
    judged = [f for f in bench.figures if f.met is not None]
    print(
        f"\n{sum(f.met is True for f in judged)} of {len(judged)} goals met; "
        f"{time.perf_counter() - started:.0f} s in all; load average at the end "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    bench.save(complete=not bench.interrupted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
