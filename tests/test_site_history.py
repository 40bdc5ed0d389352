"""Record histories for the site read at once (``provaudit.store.bulk.histories``), not a query per record.

The fixture cards (tests/fixtures/site, real Hub cards) are copied and scanned three times, some changed
between scans (a licence edited, a file added), so several records have two or three revisions. The oracle is
the store's own per-record ``store.history()``: the rows each record gets, and a site built with it as the
history lookup, byte for byte.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
from conftest import site_files as files

from provaudit import api
from provaudit.site import build
from provaudit.site.build import build_site_from_store
from provaudit.store.base import RevisionInfo, Store
from provaudit.store.bulk import histories

TWICE = ("datasets/snli", "datasets/anli")  # changed in the second and the third scan: three revisions
ONCE = ("datasets/xnli",)  # changed in the second scan only: two revisions


def _relicense(card: Path, license_id: str) -> None:
    text = card.read_text(encoding="utf-8")
    card.write_text(text.replace("---\n", f"---\nlicense: {license_id}\n", 1), encoding="utf-8")


@pytest.fixture
def store(site_cards: Path, tmp_path: Path) -> Path:
    """A store of the fixture cards scanned three times, with records of one, two and three revisions."""
    cards = site_cards
    where = tmp_path / "store"
    targets = [str(cards / "datasets"), str(cards / "models")]
    api.scan(targets, store=where)
    for folder in (*TWICE, *ONCE):
        _relicense(cards / folder / "README.md", "apache-2.0")
    api.scan(targets, store=where)
    for folder in TWICE:  # a file added: only a whole record (not the lean form) shows it
        (cards / folder / "LICENSE").write_text("MIT License\n", encoding="utf-8")
    api.scan(targets, store=where)
    return where


def _rows(revisions: list[RevisionInfo]) -> list[tuple[str, str, str, str, str | None, str]]:
    return [(r.iri, r.generated, r.scan, r.digest, r.previous, r.record.model_dump_json()) for r in revisions]


class _QueryOnly:
    """A store that answers SPARQL only (as a SPARQL server does): no bulk scan of revisions."""

    def __init__(self, db: Store) -> None:
        self.query, self.record_at = db.query, db.record_at


@pytest.mark.parametrize("reader", ["bulk scan", "one query"])
def test_every_history_is_the_one_the_store_gives(store: Path, reader: str) -> None:
    with api.open_store(store, read_only=True) as db:
        current = {r.id: r for r in db.records(light=True)}
        got = histories(db if reader == "bulk scan" else cast("Store", _QueryOnly(db)), current)
        expected = {rid: db.history(rid) for rid in current}
    counts = {rid: len(revisions) for rid, revisions in expected.items()}
    assert sorted(counts.values()).count(3) == len(TWICE) and sorted(counts.values()).count(2) == len(ONCE)
    assert got.keys() == expected.keys()
    for rid, revisions in expected.items():
        if len(revisions) > 1:  # every revision, oldest first, read whole, as store.history() has it
            assert _rows(got[rid]) == _rows(revisions), rid
        else:  # one revision: the current (light) record itself stands for it
            [only] = got[rid]
            assert (only.iri, only.generated, only.scan, only.digest) == _rows(revisions)[0][:4]
            assert only.record is current[rid]
    added = [r for rid in counts if counts[rid] == 3 for r in got[rid][-1].record.files if r.path == "LICENSE"]
    assert len(added) == len(TWICE)  # the newest revisions were read whole: the added file is in them


def test_site_equals_one_built_with_a_history_query_per_record(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_site_from_store(store, tmp_path / "bulk", workers=1)
    # the oracle: the store's own per-record history, one query per record
    monkeypatch.setattr(build, "history_from_store", lambda db, records: db.history)
    build_site_from_store(store, tmp_path / "per-record", workers=1)
    got, expected = files(tmp_path / "bulk"), files(tmp_path / "per-record")
    assert got == expected
    page = got["records/dataset-snli.html"].decode()
    assert page.count("first observed") == 1 and "file LICENSE" in page
