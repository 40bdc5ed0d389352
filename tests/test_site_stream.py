"""A site built from a store streams its records: held light, the pages to render read whole a page of N at a time.

The fixture cards (tests/fixtures/site, real Hub cards) are copied and scanned into a store; the oracles
are other builds of the same store: with another page size, and from the store object opened by the
caller (read whole in one go, nothing streamed). What is held is read from the build's own count of the
whole records one process held at once (``SiteStats.held``), not from timings or memory figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import site_files as files
from conftest import site_inodes as inodes

from provaudit import api
from provaudit.site.build import build_site_from_store

CHANGED = "datasets/snli/README.md"  # a dataset several models' lineage does not reach: its own page changes


@pytest.fixture
def scanned(site_cards: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(the copied cards, their store); the build time fixed so overview pages compare."""
    store = tmp_path / "store"
    api.scan([str(site_cards / "datasets"), str(site_cards / "models")], store=store)
    return site_cards, store


def test_page_size_changes_nothing_but_what_is_held(scanned: tuple[Path, Path], tmp_path: Path) -> None:
    _, store = scanned
    one = build_site_from_store(store, tmp_path / "one", workers=1, page_size=1)
    many = build_site_from_store(store, tmp_path / "many", workers=1, page_size=1000)
    assert files(tmp_path / "one") == files(tmp_path / "many")
    assert one.records == many.records == 15
    # a page of one: never more than one whole record at a time; one page of 1000: all of them at once
    assert one.held == 1
    assert many.held == many.records


def test_streamed_build_equals_a_build_from_whole_records(scanned: tuple[Path, Path], tmp_path: Path) -> None:
    """Light records plus whole ones read per page give the site that whole records read up front give."""
    _, store = scanned
    streamed = build_site_from_store(store, tmp_path / "streamed", workers=1, page_size=4)
    with api.open_store(store, read_only=True) as db:  # an open store: read whole, nothing streamed
        whole = build_site_from_store(db, tmp_path / "whole", workers=1)
    assert files(tmp_path / "streamed") == files(tmp_path / "whole")
    assert streamed.held == 4
    assert whole.held == whole.records  # one page of every record, all held


def test_rebuild_reads_only_the_changed_records(scanned: tuple[Path, Path], tmp_path: Path) -> None:
    """Nothing changed: no whole record is read; one card changed: only the pages it changes are."""
    cards, store = scanned
    site = tmp_path / "site"
    build_site_from_store(store, site, workers=1)
    again = build_site_from_store(store, site, workers=1)
    assert again.held == 0
    assert again.reused == again.records

    before = inodes(site)
    card = cards / CHANGED
    text = card.read_text(encoding="utf-8")
    card.write_text(text.replace("---\n", "---\nlicense: apache-2.0\n", 1), encoding="utf-8")
    api.scan([str(cards / "datasets"), str(cards / "models")], store=store)
    stats = build_site_from_store(store, site, workers=1)
    full = build_site_from_store(store, tmp_path / "full", workers=1)
    assert files(site) == files(tmp_path / "full")
    rendered = {n for n, ino in inodes(site).items() if n.startswith("records/") and before.get(n) != ino}
    assert "records/dataset-snli.html" in rendered
    # whole records read: exactly the pages rendered again, each in the batch that rendered it
    assert stats.held == len(rendered) == stats.records - stats.reused
    assert full.held == full.records
