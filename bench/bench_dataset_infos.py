"""Read every dataset_infos.json / dataset_info.json of a corpus with `datasets` and with provaudit's JSON reader.

    python bench/bench_dataset_infos.py [CORPUS]      # default ../shared/corpus beside the checkout

Prints the CPU seconds of each reader (files read and JSON-decoded once, outside the timing) and the import
time of `datasets` and of each collector module in a fresh interpreter (`python -X importtime`), and whether
importing and running the `datasets` collector on one file pulls `datasets` in.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _configs(corpus: Path) -> list[dict[str, Any]]:
    raws: list[dict[str, Any]] = []
    for name in ("dataset_infos.json", "dataset_info.json"):
        for path in sorted(corpus.rglob(name)):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue
            if not isinstance(data, dict):
                continue
            values = data.values() if name == "dataset_infos.json" else [data]
            raws += [raw for raw in values if isinstance(raw, dict)]
    return raws


def _cpu(fn: Any, raws: list[dict[str, Any]], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for raw in raws:
            try:
                fn(raw)
            except Exception:  # both readers reject the same few; only time matters here
                continue
        best = min(best, time.process_time() - start)
    return best


def _import_us(code: str, cwd: Path) -> tuple[int, bool]:
    """Cumulative import microseconds of the top-level modules `code` imports, and whether `datasets` was one."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code + "\nimport sys; print('datasets' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,  # not the checkout: `-c` puts the working folder first on sys.path, ahead of PYTHONPATH
    )
    total = sum(
        int(line.split("|")[1])
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.split("|")[1].strip().isdigit() and line.split("|")[2][1] != " "
    )
    return total, done.stdout.strip().endswith("True")


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "corpus"
    raws = _configs(corpus)
    start = time.perf_counter()
    from datasets import DatasetInfo

    import_wall = time.perf_counter() - start
    old = _cpu(DatasetInfo.from_dict, raws)
    print(f"{len(raws)} DatasetInfo configs from {corpus}")
    print(f"  datasets.DatasetInfo.from_dict : {old:.3f} s CPU ({old / len(raws) * 1e6:.0f} µs each)")
    try:  # a --baseline checkout (PYTHONPATH=older tree) has no JSON reader: only the import rows then
        from provaudit.collectors.dataset_info_json import info_from_dict
    except ImportError:
        print("  provaudit info_from_dict       : not in this checkout")
    else:
        new = _cpu(info_from_dict, raws)
        print(
            f"  provaudit info_from_dict       : {new:.3f} s CPU ({new / len(raws) * 1e6:.0f} µs each),"
            f" {old / new:.1f}x"
        )
    print(f"  `import datasets` in this process: {import_wall:.2f} s wall")
    sample = next(iter(sorted(corpus.rglob("dataset_infos.json"))), None)
    run = (
        "from provaudit.collectors.datasets_info import collect_info_file\n"
        "from provaudit.collectors.cards import CardReader\n"
        f"collect_info_file(__import__('pathlib').Path({str(sample)!r}), CardReader(collector='datasets'))"
    )
    card = (
        "from pathlib import Path\nfrom provaudit.collectors.cards import CardReader\n"
        "from provaudit.records.model import Kind, Record\n"
        "record = Record(id='dataset:x', kind=Kind.DATASET, name='x')\n"
        f"CardReader(collector='local').read_dataset_infos(record, Path({str(sample)!r}), 'dataset_infos.json')"
    )
    for label, code in (
        ("import datasets", "import datasets"),
        ("datasets collector, one file read", run),
        ("local collector (CardReader.read_dataset_infos)", card),
    ):
        micros, imported = _import_us(code, corpus)
        print(f"  -X importtime {label:42s}: {micros / 1e6:.2f} s, imports `datasets`: {imported}")


if __name__ == "__main__":
    main()
