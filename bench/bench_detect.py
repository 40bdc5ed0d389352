"""Benchmark provaudit's license detector against ScanCode toolkit on the same files, in one run.

Usage::

    python bench/bench_detect.py [FOLDER] [--scancode-venv DIR] [--setup-scancode] [--no-scancode]
                                 [--show-errors]

FOLDER defaults to ../shared/corpus/licenses beside the checkout. Expected answers come from FOLDER/expected.json
(``files.<name>.ids``) or else from file names ``<SPDX-expression>__<variant>`` (``+`` = AND,
``_OR_`` = OR, ``NONE`` = no license). X, X-only, X-or-later and X+ count as the same id; a file is
right when the set of ids found equals the expected set exactly.

Each detector runs in its own subprocess so that index-load time and peak memory (max RSS) are its
own. ScanCode runs from a separate virtualenv (its pins clash with ours); ``--setup-scancode``
creates it in bench/.work/scancode-venv. ScanCode's filler ids (unknown, generic, other-*,
warranty-disclaimer, ...) are dropped from its answers before scoring.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FOLDER = ROOT.parent / "shared" / "corpus" / "licenses"
SCANCODE_VENV = ROOT / "bench" / ".work" / "scancode-venv"
SCANCODE_REQ = ["scancode-toolkit-mini==32.5.0", "pluggy<1.7"]

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
    out.append({"file": f, "expr": d.expression or "", "ms": 1000 * (time.perf_counter() - t),
                "cpu_ms": 1000 * (time.process_time() - c)})
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
get_rule_index()
load = time.perf_counter() - t
out = []
for f in files:
    t, c = time.perf_counter(), time.process_time()
    r = get_licenses(f)
    expr = r.get("detected_license_expression_spdx") or ""
    out.append({"file": f, "expr": expr, "ms": 1000 * (time.perf_counter() - t),
                "cpu_ms": 1000 * (time.process_time() - c)})
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


def expected_ids(folder: Path) -> dict[str, set[str]]:
    """Map file name -> expected normalized ids."""
    exp_file = folder / "expected.json"
    if exp_file.is_file():
        files = json.loads(exp_file.read_text())["files"]
        return {
            name: {re.sub(r"(-only|-or-later|\+)$", "", i) for i in v["ids"]}
            for name, v in files.items()
            if (folder / name).is_file()
        }
    out: dict[str, set[str]] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and "__" in p.name:
            head = p.name.split("__", 1)[0]
            out[p.name] = set() if head == "NONE" else ids_of(head.replace("+", " AND ").replace("_OR_", " OR "))
    return out


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


def score(res: dict[str, Any], expected: dict[str, set[str]], drop_filler: bool) -> dict[str, Any]:
    ok = 0
    wrong: list[tuple[str, str]] = []
    for r in res["results"]:
        name = Path(r["file"]).name
        if ids_of(r["expr"], drop_filler) == expected[name]:
            ok += 1
        else:
            wrong.append((name, r["expr"]))
    ms = [r["ms"] for r in res["results"]]
    cpu = [r["cpu_ms"] for r in res["results"]]
    return {
        "n": len(ms),
        "exact": ok,
        "accuracy": ok / max(len(ms), 1),
        "ms_mean": statistics.fmean(ms) if ms else 0.0,
        "ms_median": statistics.median(ms) if ms else 0.0,
        "cpu_ms_mean": statistics.fmean(cpu) if cpu else 0.0,
        "load_s": res["load_s"],
        "rss_mb": res["max_rss_kb"] / 1024,
        "wrong": wrong,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="provaudit license detection vs ScanCode toolkit")
    ap.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    ap.add_argument("--scancode-venv", type=Path, default=SCANCODE_VENV)
    ap.add_argument("--setup-scancode", action="store_true", help="create the ScanCode venv first")
    ap.add_argument("--no-scancode", action="store_true")
    ap.add_argument("--show-errors", action="store_true")
    args = ap.parse_args(argv)

    expected = expected_ids(args.folder)
    files = [str(args.folder / n) for n in sorted(expected)]
    if not files:
        print(f"no files with expected answers in {args.folder}", file=sys.stderr)
        return 2
    print(f"{len(files)} files from {args.folder} (load average {os.getloadavg()[0]:.1f})")

    rows: dict[str, dict[str, Any]] = {}
    ours = run_worker(sys.executable, _OURS_WORKER, files)
    rows["provaudit"] = score(ours, expected, drop_filler=False)

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
            rows["scancode 32.5"] = score(sc, expected, drop_filler=True)
        except RuntimeError as exc:
            print(f"ScanCode: failed to run:\n{exc}")

    head = (
        f"{'detector':<15}{'exact':>12}{'accuracy':>10}{'ms/file':>10}{'median':>9}{'cpu ms':>9}"
        f"{'load s':>9}{'peak MB':>9}"
    )
    print(head)
    print("-" * len(head))
    for name, r in rows.items():
        print(
            f"{name:<15}{r['exact']:>7}/{r['n']:<4}{r['accuracy']:>10.1%}{r['ms_mean']:>10.2f}"
            f"{r['ms_median']:>9.2f}{r['cpu_ms_mean']:>9.2f}{r['load_s']:>9.2f}{r['rss_mb']:>9.0f}"
        )
    if "scancode 32.5" in rows:
        sc_r, our_r = rows["scancode 32.5"], rows["provaudit"]
        wall = sc_r["ms_mean"] / max(our_r["ms_mean"], 1e-9)
        cpu = sc_r["cpu_ms_mean"] / max(our_r["cpu_ms_mean"], 1e-9)
        print(f"speed ratio, ScanCode / provaudit per file: {wall:.1f}x wall clock, {cpu:.1f}x CPU time")
    if args.show_errors:
        for name, r in rows.items():
            for fname, expr in r["wrong"]:
                print(f"  {name}: {fname} -> {expr or '(none)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
