"""CPU time per card of ``basemodel.from_card_text`` with the whole-text line pre-filter and with a search per line.

    python bench/bench_prefilter.py [CARDS_FOLDER ...] [--rounds 3]

Every ``README.md`` under the folders (default: ``../shared/corpus/hf`` beside the checkout, else
``tests/fixtures/cards``) is read once; then ``basemodel.from_card_text`` runs over all of them,
alternately with ``_lines.lines_hit`` (one scan of the whole lower-cased text) and with a per-line
reference (each pre-filter pattern searched, IGNORECASE, on every line), best of ``--rounds``. Prints
microseconds of CPU per card, the ratio, and the load average.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from provaudit.collectors import basemodel


def per_line(text: str, *patterns: re.Pattern[str]) -> list[int]:
    """The reference: the lines where a search of each pattern, line by line, finds a match."""
    return [i for i, line in enumerate(text.splitlines()) if any(p.search(line) for p in patterns)]


def main() -> None:
    here = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    default = here.parent / "shared" / "corpus" / "hf"
    folders = args.folders or [default if default.is_dir() else here / "tests" / "fixtures" / "cards"]
    cards = sorted(p for f in folders for p in f.rglob("*") if p.name.lower() == "readme.md" and p.is_file())
    bodies = [p.read_text(encoding="utf-8", errors="replace") for p in cards]
    print(f"{len(bodies)} cards, {sum(map(len, bodies)) / 1e6:.1f} M characters; load {os.getloadavg()[0]:.2f}")
    readers: dict[str, Callable[[str], object]] = {
        "from_card_text": lambda b: basemodel.from_card_text(b, collector="local", repo="acme/model-7b"),
    }
    whole = basemodel.lines_hit
    for name, read in readers.items():
        best: dict[str, float] = {}
        for _ in range(args.rounds):
            for label, hit in (("whole text", whole), ("per line", per_line)):
                basemodel.lines_hit = hit
                start = time.process_time()
                for body in bodies:
                    read(body)
                spent = time.process_time() - start
                best[label] = min(best.get(label, spent), spent)
        basemodel.lines_hit = whole
        us = {label: seconds / len(bodies) * 1e6 for label, seconds in best.items()}
        print(
            f"{name:15} per line {us['per line']:6.0f} us/card   whole text {us['whole text']:6.0f} us/card"
            f"   {us['per line'] / us['whole text']:.2f}x"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
