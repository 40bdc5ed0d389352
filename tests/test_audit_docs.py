"""docs/audit.md shows the paper's 2023 aggregator table as published (issue 19, item 7).

The table between the `paper-2023-table` markers must equal, cell by cell, the paper's table as the
corpus holds it (tests/fixtures/dpi_paper/paper_2023_table.csv, a copy with its source, so the test
runs without ../shared; when ../shared is there, the copy must still be the corpus's file). The
2023 side of the comparison tables beside it is recomputed from the same CSV.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "audit.md"
COPY = Path(__file__).parent / "fixtures" / "dpi_paper" / "paper_2023_table.csv"
SHARED = ROOT.parent / "shared" / "corpus" / "dpi" / "paper_2023_table.csv"
AGGREGATORS = {"GitHub": "github", "Hugging Face": "huggingface", "Papers with Code": "paperswithcode"}
COLUMNS = ["declared_commercial", "declared_unspecified", "declared_non_commercial", "declared_academic_only"]


def _csv() -> list[dict[str, str]]:
    return list(csv.DictReader(COPY.read_text(encoding="utf-8").splitlines()))


def _md_rows(text: str) -> list[list[str]]:
    """The body rows of a Markdown table, cells stripped."""
    lines = [line for line in text.strip().splitlines() if line.startswith("|")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _docs_table() -> list[list[str]]:
    doc = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- paper-2023-table -->\n(.*?)<!-- /paper-2023-table -->", doc, re.DOTALL)
    assert found, "docs/audit.md lacks the paper-2023-table markers"
    return _md_rows(found.group(1))


def test_docs_table_equals_the_papers_csv() -> None:
    rows = _docs_table()
    expected = _csv()
    assert len(rows) == len(expected) == 15
    for cells, want in zip(rows, expected, strict=True):
        category, count = re.fullmatch(r"(.+) \(([\d,]+)\)", cells[0]).groups()  # type: ignore[union-attr]
        assert (category, _number(count)) == (want["actual_category"], int(want["actual_count"]))
        assert AGGREGATORS[cells[1]] == want["aggregator"]
        assert [_number(c) for c in cells[2:]] == [int(want[c]) for c in COLUMNS], cells


def test_the_csv_is_consistent_as_its_notes_say() -> None:
    """Each row's four columns add up to its count; the total rows sum the others (the .md's notes)."""
    rows = _csv()
    for row in rows:
        assert sum(int(row[c]) for c in COLUMNS) == int(row["actual_count"]), row
    for aggregator in AGGREGATORS.values():
        parts = [r for r in rows if r["aggregator"] == aggregator and r["actual_category"] != "total"]
        (total,) = [r for r in rows if r["aggregator"] == aggregator and r["actual_category"] == "total"]
        for c in COLUMNS:
            assert sum(int(r[c]) for r in parts) == int(total[c])


def test_the_comparison_shows_2023_shares_of_the_csv() -> None:
    """The side-by-side table's 2023 half: each cell's share of its row, from the CSV."""
    doc = DOC.read_text(encoding="utf-8")
    start = doc.index("| actual (2023 → 2025) |")
    rows = _md_rows(doc[start : doc.index("\n\n", start)])
    expected = _csv()
    assert len(rows) == len(expected)
    for cells, want in zip(rows, expected, strict=True):
        n = int(want["actual_count"])
        left = [c.split(" → ")[0] for c in cells[2:]]
        assert left == [f"{100 * int(want[c]) / n:.0f}%" for c in COLUMNS], cells


def test_the_copy_is_the_corpus_file() -> None:
    if not SHARED.is_file():
        pytest.skip("../shared/corpus is not beside the checkout")
    assert COPY.read_bytes() == SHARED.read_bytes()
