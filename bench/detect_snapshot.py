"""Record ``detect_file`` results for every file of folders, and compare two records file by file.

A matching change should alter the results of the files it means to fix and of no other; this shows which
ones moved:

    python bench/detect_snapshot.py ../shared/corpus/licenses bench/.work/variants/all -o before.jsonl
    # ... change the detector ...
    python bench/detect_snapshot.py ../shared/corpus/licenses bench/.work/variants/all -o after.jsonl
    python bench/detect_snapshot.py --compare before.jsonl after.jsonl

Each line of a record is ``{"file": ..., "expression": ..., "detection": {...}}`` (``detect_file``'s JSON).
``--compare`` prints each file whose JSON differs with its expression before and after, and the count.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def record(folders: list[Path], out: Path) -> int:
    """Write one line per file of *folders* (recursively, in path order) to *out*; returns the count."""
    from provaudit.licenses.detect import detect_file

    count = 0
    with out.open("w", encoding="utf-8") as fh:
        for folder in folders:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                d = detect_file(path).to_json()
                fh.write(json.dumps({"file": str(path), "expression": d["expression"], "detection": d}) + "\n")
                count += 1
    return count


def compare(before: Path, after: Path) -> int:
    """Print the files whose detection differs between two records; returns how many."""

    def load(p: Path) -> dict[str, dict[str, object]]:
        return {row["file"]: row for row in map(json.loads, p.read_text(encoding="utf-8").splitlines())}

    old, new = load(before), load(after)
    changed = 0
    for name in sorted(old.keys() | new.keys()):
        a, b = old.get(name), new.get(name)
        if a is None or b is None or a["detection"] != b["detection"]:
            changed += 1
            same = " (same expression)" if a and b and a["expression"] == b["expression"] else ""
            print(f"{name}: {a and a['expression']} -> {b and b['expression']}{same}")
    print(f"{changed} of {len(old.keys() | new.keys())} files differ")
    return changed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="record detect_file results, or compare two records")
    ap.add_argument("paths", nargs="+", type=Path, help="folders to record, or (with --compare) two records")
    ap.add_argument("-o", "--output", type=Path, help="the record to write")
    ap.add_argument("--compare", action="store_true", help="compare two records: BEFORE AFTER")
    args = ap.parse_args(argv)
    if args.compare:
        if len(args.paths) != 2:
            ap.error("--compare takes two records: BEFORE AFTER")
        compare(*args.paths)
        return 0
    if args.output is None:
        ap.error("-o/--output is needed to record")
    print(f"{record(args.paths, args.output)} files recorded in {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
