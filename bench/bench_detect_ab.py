"""CPU time of ``detect_file`` in two checkouts, side by side in one process, on the same files.

    python bench/bench_detect_ab.py ../before ../shared/corpus/licenses/scancode-datadriven --files 300 --passes 4

(``../before``: another checkout, e.g. ``git worktree add --detach ../before <commit>``.) A speed change
of a few percent is lost in the load of a shared machine when the two versions run one after the other;
here both detectors are loaded in one process (the ``licenses`` modules of BEFORE as package ``ab_before``,
this checkout's as ``ab_after``, both on this checkout's index unless ``--index``) and each file is
detected by both in turn, the order swapped from file to file and pass to pass (the second to read a file
gains from caches warmed by the first). Prints, per version, the median, mean, p90 and max of each file's
best CPU time over the passes, the median of the per-file ratio after/before, and how many files' JSON
differs between the two (a speed change must give 0).
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODULES = ("_rules.py", "detect.py")


def load(checkout: Path, name: str, into: Path) -> ModuleType:
    """The detect module of *checkout*, imported as package *name* (its own copy of the rule index)."""
    package = into / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    for module in MODULES:
        source = (checkout / "provaudit" / "licenses" / module).read_text(encoding="utf-8")
        (package / module).write_text(source.replace("provaudit.licenses._rules", f"{name}._rules"), encoding="utf-8")
    return importlib.import_module(f"{name}.detect")


def summary(label: str, ms: np.ndarray, passes: int) -> str:
    return (
        f"{label}: {len(ms)} files, best of {passes}: median {np.median(ms):.3f} mean {ms.mean():.3f} "
        f"p90 {np.percentile(ms, 90):.3f} max {ms.max():.1f} ms CPU"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path, help="the other checkout (its provaudit/licenses is timed as 'before')")
    ap.add_argument("folder", type=Path, nargs="?", default=ROOT.parent / "shared" / "corpus" / "licenses")
    ap.add_argument("--files", type=int, default=300, help="files drawn at random (0: all); .yml files skipped")
    ap.add_argument("--passes", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--index", type=Path, default=ROOT / "data" / "licenses", help="rule index folder of both")
    args = ap.parse_args()
    os.environ["PROVAUDIT_LICENSE_INDEX_DIR"] = str(args.index.resolve())
    files = sorted(p for p in args.folder.rglob("*") if p.is_file() and p.suffix != ".yml")
    if 0 < args.files < len(files):
        files = random.Random(args.seed).sample(files, args.files)
    work = Path(tempfile.mkdtemp(prefix="detect-ab-"))
    try:
        sys.path.insert(0, str(work))
        before, after = load(args.before.resolve(), "ab_before", work), load(ROOT, "ab_after", work)
        differ = sum(before.detect_file(p).to_json() != after.detect_file(p).to_json() for p in files)
        best = {"before": [float("inf")] * len(files), "after": [float("inf")] * len(files)}
        for k in range(args.passes):
            for i, path in enumerate(files):
                pair = (("before", before), ("after", after))
                for label, module in pair if (i + k) % 2 == 0 else pair[::-1]:
                    t = time.process_time()
                    module.detect_file(path)
                    best[label][i] = min(best[label][i], time.process_time() - t)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ms = {label: np.array(t) * 1e3 for label, t in best.items()}
    print(summary("before", ms["before"], args.passes))
    print(summary("after ", ms["after"], args.passes))
    ratio = np.median(ms["after"] / ms["before"])
    print(f"after/before per file: median {ratio:.3f}; files whose detect_file JSON differs: {differ}")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
