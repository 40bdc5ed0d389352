"""Profile one provaudit command with py-spy and print where the time goes, as text.

    python bench/profile_top.py --out bench/.work/scan -- scan some/collection --store s --no-digests
    python bench/profile_top.py --top 30 --out bench/.work/review -- review --store s --format json --out r.json

Runs ``py-spy record --subprocesses`` (pool workers included) on ``python -m provaudit.cli ARGS``,
keeps the samples as OUT.txt (collapsed stacks, for any flame-graph viewer) and OUT.speedscope.json,
and prints the functions with the largest share of samples: inclusive (the function and what it
calls) and self (the function's own code). py-spy must be installed (``pip install py-spy``) and
allowed to read the process (root, or ``ptrace_scope`` 0).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_LINE = re.compile(r":\d+\)$")


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("py-spy not found: pip install py-spy")
    return found


def record(args: list[str], out: Path, rate: int, fmt: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [py_spy(), "record", "--subprocesses", "--rate", str(rate), "--format", fmt, "-o", str(out), "--"]
    subprocess.run([*cmd, sys.executable, "-m", "provaudit.cli", *args], env=env, check=False)


# frames every sample passes through (interpreter, click, the process pool): left out of the tables
_WRAPPER = re.compile(
    r"\((<frozen runpy>|click/|multiprocessing/|threading\.py)|^<module> \(provaudit/cli\.py|^_Group\.invoke"
)


def _package(frame: str) -> str:
    """provaudit.<module>, or the library / stdlib module a frame's file belongs to."""
    where = frame[frame.rfind("(") + 1 : -1]
    if where.startswith("<frozen "):
        return where[len("<frozen ") : -1].split("._")[0]
    parts = where.split("/")
    if parts[0] == "provaudit":
        return ".".join([*parts[:-1], parts[-1].removesuffix(".py")])
    return parts[0].removesuffix(".py")


def summarize(collapsed: Path, top: int) -> str:
    """Top functions by inclusive and by self share of all samples (line numbers folded), self time by
    package, and the share of the main process and of its pool workers."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    roles: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        all_frames = stack.split(";")
        processes = sum(1 for f in all_frames if f.startswith("process "))
        frames = [_LINE.sub(")", f) for f in all_frames if not f.startswith("process ")]
        if not frames:
            continue
        total += n
        roles["main process" if processes <= 1 else "pool workers"] += n
        own[frames[-1]] += n
        packages[_package(frames[-1])] += n
        for frame in set(frames):
            if not _WRAPPER.search(frame):
                inclusive[frame] += n
    lines = [f"{total} samples; " + ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in roles.most_common())]
    for title, counter in (("inclusive", inclusive), ("self", own), ("self, by package", packages)):
        lines.append(f"\ntop {top} {title}:")
        lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in counter.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="prefix of the output files")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--rate", type=int, default=100, help="samples per second")
    parser.add_argument("--speedscope", action="store_true", help="also record a speedscope file (a second run)")
    parser.add_argument("--summarize", type=Path, help="only summarize this collapsed-stacks file")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="-- then the provaudit arguments")
    args = parser.parse_args(argv)
    if args.summarize:
        print(summarize(args.summarize, args.top))
        return 0
    command = args.args[1:] if args.args[:1] == ["--"] else args.args
    args.out.parent.mkdir(parents=True, exist_ok=True)
    collapsed = args.out.with_suffix(".txt")
    record(command, collapsed, args.rate, "raw")
    summary = summarize(collapsed, args.top)
    args.out.with_suffix(".top.txt").write_text(summary + "\n", encoding="utf-8")
    print(summary)
    if args.speedscope:
        record(command, args.out.with_suffix(".speedscope.json"), args.rate, "speedscope")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
