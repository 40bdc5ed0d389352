"""Benchmark provaudit's license detector against ScanCode toolkit on the same files, in one run.

Usage::

    python bench/bench_detect.py [FOLDER] [--scancode-venv DIR] [--setup-scancode] [--no-scancode]
                                 [--sample N [--seed S]] [--show-errors]

FOLDER defaults to ../shared/corpus/licenses beside the checkout. Expected answers come from ScanCode's own
data-driven tests when FOLDER holds them (``<file>.yml`` with ``license_expressions``, keys mapped to SPDX
with license-expression's bundled ScanCode index; every match counts on both sides, generic findings
included: ``bench_detect.py ../shared/corpus/licenses/scancode-datadriven``), else from FOLDER/expected.json
(``files.<name>.ids``), else from file names ``<SPDX-expression>__<variant>`` (``+`` = AND, ``_OR_`` = OR,
``NONE`` = no license). X, X-only, X-or-later and X+ count as the same id; a file is right when the set of
ids found equals the expected set exactly. Times: mean, median, p90 and max ms per file (wall clock), and
the median and mean CPU ms; ``--sample N`` scores N files drawn at random (the same ones for both).
The last lines compare the medians (goal: provaudit at 100x ScanCode's speed) and provaudit's peak
memory with its goal (200 MB).

Each detector runs in its own subprocess so that index-load time and peak memory (max RSS) are its
own. ScanCode runs from a separate virtualenv (its pins clash with ours); ``--setup-scancode``
creates it in bench/.work/scancode-venv. On the project's own texts ScanCode's filler ids (unknown,
generic, other-*, warranty-disclaimer, ...) are dropped from its answers before scoring.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FOLDER = ROOT.parent / "shared" / "corpus" / "licenses"
SCANCODE_VENV = ROOT / "bench" / ".work" / "scancode-venv"
# The release the committed index is built from (bench/build_license_index.py pins the same one).
# Newer pluggy breaks its plugin loading; newer pdfminer.six has no PDFParser.close (every PDF fails).
SCANCODE_REQ = ["scancode-toolkit-mini==32.3.0", "pluggy==1.0.0", "pdfminer.six==20221105"]
SCANCODE_ROW = "scancode " + SCANCODE_REQ[0].split("==")[1]
MEMORY_GOAL_MB = 200  # issue 21: provaudit's detector within this peak memory (max RSS)

# ScanCode reports these alongside or instead of a real license; they are not license ids.
_FILLER = re.compile(
    r"^LicenseRef-scancode-(unknown.*|free-unknown|other-.*|.*generic.*|warranty-disclaimer"
    r"|proprietary-license|commercial-license|public-domain-disclaimer|.*-exception-unknown)$"
)
_OPS = {"AND", "OR", "WITH"}

# Runs inside the detector's subprocess: {"load_s", "results": [{"file", "expr", "ms"}], "max_rss_kb"}.
_OURS_WORKER = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
files = json.load(sys.stdin)
t = time.perf_counter()
from provaudit.licenses._rules import get_rule_index
from provaudit.licenses.detect import detect_file
get_rule_index()
load = time.perf_counter() - t
out = []
for f in files:
    t, c = time.perf_counter(), time.process_time()
    d = detect_file(f)
    out.append({"file": f, "expr": d.expression or "", "all": " AND ".join(m.expression for m in d.matches),
                "ms": 1000 * (time.perf_counter() - t), "cpu_ms": 1000 * (time.process_time() - c)})
print(json.dumps({"load_s": load, "results": out,
                  "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

_SCANCODE_WORKER = r"""
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
files = json.load(sys.stdin)
t = time.perf_counter()
from licensedcode.cache import get_index
from scancode.api import get_licenses
get_index()
load = time.perf_counter() - t
out = []
for f in files:
    t, c = time.perf_counter(), time.process_time()
    try:
        expr, error = get_licenses(f).get("detected_license_expression_spdx") or "", None
    except Exception as exc:  # one file ScanCode cannot read is a wrong answer, not a failed run
        expr, error = "", f"{type(exc).__name__}: {exc}"
    out.append({"file": f, "expr": expr, "ms": 1000 * (time.perf_counter() - t),
                "cpu_ms": 1000 * (time.process_time() - c), "error": error})
print(json.dumps({"load_s": load, "results": out,
                  "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def ids_of(expr: str, drop_filler: bool = False) -> set[str]:
    """Normalized license ids in an expression (X-only/-or-later/+ folded to X)."""
    out = set()
    for tok in re.findall(r"[A-Za-z0-9][A-Za-z0-9.+_-]*", expr or ""):
        if tok.upper() in _OPS or (drop_filler and _FILLER.match(tok)):
            continue
        out.add(re.sub(r"(-only|-or-later|\+)$", "", tok))
    return out


def expected_ids(folder: Path) -> tuple[dict[str, set[str]], bool]:
    """Map file (relative path) -> expected normalized ids, and whether these are ScanCode's own data-driven
    tests (``<file>.yml`` beside each file: one key per match, generic keys included)."""
    specs = [] if (folder / "expected.json").is_file() else sorted(folder.rglob("*.yml"))
    if specs:
        from license_expression import get_license_index

        keys = {
            e["license_key"]: e.get("spdx_license_key") or f"LicenseRef-scancode-{e['license_key']}"
            for e in get_license_index()
        }
        out: dict[str, set[str]] = {}
        for spec in specs:
            target = spec.with_suffix("")
            if target.is_file():
                data = yaml.safe_load(spec.read_text(encoding="utf-8")) or {}
                exprs = " AND ".join(str(e) for e in data.get("license_expressions") or [])
                mapped = re.sub(
                    r"[A-Za-z0-9][A-Za-z0-9.+_-]*", lambda m: keys.get(m.group(0).lower(), m.group(0)), exprs
                )
                out[target.relative_to(folder).as_posix()] = ids_of(mapped)
        return out, True
    exp_file = folder / "expected.json"
    if exp_file.is_file():
        files = json.loads(exp_file.read_text())["files"]
        return {
            name: {re.sub(r"(-only|-or-later|\+)$", "", i) for i in v["ids"]}
            for name, v in files.items()
            if (folder / name).is_file()
        }, False
    out = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and "__" in p.name:
            head = p.name.split("__", 1)[0]
            out[p.name] = set() if head == "NONE" else ids_of(head.replace("+", " AND ").replace("_OR_", " OR "))
    return out, False


def same_text_ids(folder: Path) -> dict[str, str]:
    """Each id of FOLDER/expected.json's ``same_text`` groups (ids whose texts are the same words, which no
    detector can tell apart) mapped to one id of its group; empty when there is none."""
    exp_file = folder / "expected.json"
    groups = json.loads(exp_file.read_text()).get("same_text", {}) if exp_file.is_file() else {}
    return {_fold(lid): _fold(group[0]) for lid, group in groups.items()}


def _fold(license_id: str) -> str:
    return re.sub(r"(-only|-or-later|\+)$", "", license_id)


def run_worker(python: str, code: str, files: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    proc = subprocess.run(
        [python, "-c", code, str(ROOT)],
        input=json.dumps(files),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def setup_scancode(venv: Path) -> None:
    """Create the ScanCode virtualenv and warm its license index cache."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *SCANCODE_REQ], check=True)


def score(
    res: dict[str, Any], expected: dict[str, set[str]], folder: Path, drop_filler: bool, all_matches: bool
) -> dict[str, Any]:
    ok = ok_raw = fp = negatives = 0
    wrong: list[tuple[str, str]] = []
    same = same_text_ids(folder)
    raw_expected = expected
    expected = {name: {same.get(i, i) for i in ids} for name, ids in expected.items()}
    for r in res["results"]:
        name = Path(r["file"]).relative_to(folder).as_posix()
        raw = ids_of(r.get("all", r["expr"]) if all_matches else r["expr"], drop_filler)
        ok_raw += raw == raw_expected[name]
        found = {same.get(i, i) for i in raw}
        if not expected[name]:
            negatives += 1
            fp += bool(found)
        if found == expected[name]:
            ok += 1
        else:
            wrong.append((name, r.get("all", r["expr"]) if all_matches else r["expr"]))
    ms = sorted(r["ms"] for r in res["results"])
    cpu = sorted(r["cpu_ms"] for r in res["results"])
    return {
        "n": len(ms),
        "exact": ok,
        "exact_raw": ok_raw,  # without counting ids of identical texts as one
        "accuracy": ok / max(len(ms), 1),
        "false_positives": fp,
        "negatives": negatives,
        "ms_mean": statistics.fmean(ms) if ms else 0.0,
        "ms_median": statistics.median(ms) if ms else 0.0,
        "ms_p90": ms[int(0.9 * (len(ms) - 1))] if ms else 0.0,
        "ms_max": ms[-1] if ms else 0.0,
        "cpu_ms_mean": statistics.fmean(cpu) if cpu else 0.0,
        "cpu_ms_median": statistics.median(cpu) if cpu else 0.0,
        "load_s": res["load_s"],
        "rss_mb": res["max_rss_kb"] / 1024,
        "wrong": wrong,
        "errors": [(r["file"], r["error"]) for r in res["results"] if r.get("error")],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="provaudit license detection vs ScanCode toolkit")
    ap.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    ap.add_argument("--scancode-venv", type=Path, default=SCANCODE_VENV)
    ap.add_argument("--setup-scancode", action="store_true", help="create the ScanCode venv first")
    ap.add_argument("--no-scancode", action="store_true")
    ap.add_argument("--sample", type=int, help="score this many files drawn at random (default: all)")
    ap.add_argument("--seed", type=int, default=0, help="of --sample's draw")
    ap.add_argument("--show-errors", action="store_true")
    args = ap.parse_args(argv)

    expected, datadriven = expected_ids(args.folder)
    names = sorted(expected)
    if args.sample is not None and args.sample < len(names):
        names = sorted(random.Random(args.seed).sample(names, args.sample))
        expected = {n: expected[n] for n in names}
    files = [str(args.folder / n) for n in names]
    if not files:
        print(f"no files with expected answers in {args.folder}", file=sys.stderr)
        return 2
    print(f"{len(files)} files from {args.folder} (load average {os.getloadavg()[0]:.1f})")

    rows: dict[str, dict[str, Any]] = {}
    ours = run_worker(sys.executable, _OURS_WORKER, files)
    # ScanCode's own suite expects its generic findings too: every match counts, on both sides
    rows["provaudit"] = score(ours, expected, args.folder, drop_filler=False, all_matches=datadriven)

    sc_python = args.scancode_venv / "bin" / "python"
    if args.setup_scancode and not sc_python.exists():
        print(f"setting up ScanCode in {args.scancode_venv} ...")
        setup_scancode(args.scancode_venv)
    if args.no_scancode:
        print("ScanCode: skipped (--no-scancode)")
    elif not sc_python.exists():
        print(
            f"ScanCode: not installed ({sc_python} missing); run with --setup-scancode, or:\n"
            f"  python -m venv {args.scancode_venv} && {args.scancode_venv}/bin/pip install "
            + " ".join(repr(r) for r in SCANCODE_REQ)
        )
    else:
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        try:
            # Warm-up: the first call may build ScanCode's index cache (minutes, once).
            run_worker(str(sc_python), _SCANCODE_WORKER, files[:1], env)
            sc = run_worker(str(sc_python), _SCANCODE_WORKER, files, env)
            rows[SCANCODE_ROW] = score(sc, expected, args.folder, drop_filler=not datadriven, all_matches=False)
        except RuntimeError as exc:
            print(f"ScanCode: failed to run:\n{exc}")

    head = (
        f"{'detector':<15}{'exact':>12}{'accuracy':>10}{'FP':>8}{'ms/file':>10}{'median':>9}{'p90':>9}{'max':>9}"
        f"{'cpu med':>9}{'cpu ms':>9}{'load s':>9}{'peak MB':>9}"
    )
    print(head)
    print("-" * len(head))
    for name, r in rows.items():
        print(
            f"{name:<15}{r['exact']:>7}/{r['n']:<4}{r['accuracy']:>10.1%}{r['false_positives']:>4}/{r['negatives']:<3}"
            f"{r['ms_mean']:>10.2f}{r['ms_median']:>9.2f}{r['ms_p90']:>9.2f}{r['ms_max']:>9.0f}"
            f"{r['cpu_ms_median']:>9.2f}{r['cpu_ms_mean']:>9.2f}{r['load_s']:>9.2f}{r['rss_mb']:>9.0f}"
        )
    our_r = rows["provaudit"]
    for name, r in rows.items():
        if same_text_ids(args.folder) and r["exact_raw"] != r["exact"]:
            raw = r["exact_raw"]
            print(f"{name}: {raw}/{r['n']} ({raw / max(r['n'], 1):.1%}) without counting ids of identical texts as one")
    if SCANCODE_ROW in rows:
        sc_r = rows[SCANCODE_ROW]
        median = sc_r["ms_median"] / max(our_r["ms_median"], 1e-9)
        cpu_median = sc_r["cpu_ms_median"] / max(our_r["cpu_ms_median"], 1e-9)
        print(f"median speed ratio, ScanCode / provaudit: {median:.1f}x wall clock, {cpu_median:.1f}x CPU (goal: 100x)")
        wall = sc_r["ms_mean"] / max(our_r["ms_mean"], 1e-9)
        cpu = sc_r["cpu_ms_mean"] / max(our_r["cpu_ms_mean"], 1e-9)
        print(f"mean speed ratio, ScanCode / provaudit: {wall:.1f}x wall clock, {cpu:.1f}x CPU")
    print(f"provaudit peak memory: {our_r['rss_mb']:.0f} MB (goal: <= {MEMORY_GOAL_MB} MB)")
    for name, r in rows.items():
        if r["errors"]:
            first, error = r["errors"][0]
            print(f"{name}: failed on {len(r['errors'])} files (counted wrong), e.g. {first}: {error}")
    if args.show_errors:
        for name, r in rows.items():
            for fname, expr in r["wrong"]:
                print(f"  {name}: {fname} -> {expr or '(none)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
