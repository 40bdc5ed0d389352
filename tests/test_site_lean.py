"""A rebuild from a store writes only what changed: collection cards too, and reviews made public one at a time.

The fixture cards (tests/fixtures/site, real Hub cards) are copied and scanned into a store, one collection per
folder (``datasets``, ``models``). After each change the rebuilt folder must equal a full build of the same
store into a new folder, byte for byte; which pages were written again is read from the file system (a
carried-over page is a hard link of the previous one: the same inode).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import SITE_CARDS
from conftest import site_files as files
from conftest import site_inodes as inodes

from provaudit import api
from provaudit.site.build import build_site_from_store

DATASET = "datasets/snli/README.md"  # a dataset in the datasets collection
BASE = "models/mistralai__Mistral-7B-v0.1/README.md"  # a base model: its descendants' verdicts follow it


def scan(cards: Path, store: Path) -> None:
    api.scan([str(cards / "datasets"), str(cards / "models")], store=store)


def edit(card: Path, old: str, new: str) -> None:
    text = card.read_text(encoding="utf-8")
    assert old in text, card
    card.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def cards(site_cards: Path) -> Path:
    """The copied cards; the build time fixed so that the overview pages of two builds compare."""
    return site_cards


def rebuilt(cards: Path, tmp_path: Path, change: object) -> tuple[dict[str, int], dict[str, int]]:
    """Build, apply ``change`` (a callable), re-scan, rebuild into the same folder; the inodes before and after.

    Asserts the rebuilt folder equals a full build of the changed store.
    """
    store, site, full = tmp_path / "store", tmp_path / "site", tmp_path / "full"
    scan(cards, store)
    build_site_from_store(store, site, workers=1)
    before = inodes(site)
    assert callable(change)
    change()
    scan(cards, store)
    build_site_from_store(store, site, workers=1)
    build_site_from_store(store, full, workers=1)
    new, expected = files(site), files(full)
    assert sorted(new) == sorted(expected)
    for name, data in expected.items():
        assert new[name] == data, name
    return before, inodes(site)


def test_a_changed_dataset_rewrites_its_collection_card_only(cards: Path, tmp_path: Path) -> None:
    before, after = rebuilt(cards, tmp_path, lambda: edit(cards / DATASET, "---\n", "---\nlicense: apache-2.0\n"))
    assert before["collections/datasets.html"] != after["collections/datasets.html"]
    assert before["collections/models.html"] == after["collections/models.html"]  # carried over
    # the pages that name the build time are written every time
    assert before["index.html"] != after["index.html"]
    assert before["collections.html"] != after["collections.html"]


def test_a_relicensed_base_model_rewrites_the_models_card(cards: Path, tmp_path: Path) -> None:
    card = cards / BASE
    text = card.read_text(encoding="utf-8")
    assert "license: apache-2.0" in text
    before, after = rebuilt(cards, tmp_path, lambda: edit(card, "license: apache-2.0", "license: cc-by-nc-4.0"))
    assert before["collections/models.html"] != after["collections/models.html"]
    assert before["collections/datasets.html"] == after["collections/datasets.html"]


def test_an_added_record_rewrites_its_collection_card_only(cards: Path, tmp_path: Path) -> None:
    """(A store keeps every record it was given, so a removal is tested on records in test_site_incremental.)"""
    before, after = rebuilt(
        cards, tmp_path, lambda: shutil.copytree(cards / "datasets" / "snli", cards / "datasets" / "snli-2")
    )
    assert before["collections/datasets.html"] != after["collections/datasets.html"]
    assert before["collections/models.html"] == after["collections/models.html"]
    assert (
        len([n for n in after if n.startswith("records/")]) == len([n for n in before if n.startswith("records/")]) + 1
    )


def test_nothing_changed_carries_every_card_and_names_no_build_time(cards: Path, tmp_path: Path) -> None:
    before, after = rebuilt(cards, tmp_path, lambda: None)
    for name in ("collections/datasets.html", "collections/models.html"):
        assert before[name] == after[name]
        assert "Built by provaudit with" in (tmp_path / "site" / name).read_text(encoding="utf-8")
    assert "Built by provaudit on 2026-01-01 00:00 UTC" in (tmp_path / "site" / "index.html").read_text()


def test_a_scanned_root_json_escapes_is_still_made_public(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A root whose name JSON writes escaped (a quote) is looked for review by review, not in the cached text."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    root = tmp_path / 'odd "root"'
    shutil.copytree(SITE_CARDS / "datasets", root / "datasets")
    store = tmp_path / "store"
    api.scan([str(root / "datasets")], store=store)
    build_site_from_store(store, tmp_path / "site", workers=1)
    published = files(tmp_path / "site")
    assert len([n for n in published if n.startswith("records/")]) == 8
    for name, data in published.items():
        text = data.decode("utf-8", "replace")
        assert str(root) not in text and str(tmp_path) not in text, name


def test_forked_workers_build_and_carry_the_same_site(cards: Path, tmp_path: Path) -> None:
    """Page keys read in forked workers from ids and precomputed links equal those of one process."""
    store = tmp_path / "store"
    scan(cards, store)
    build_site_from_store(store, tmp_path / "one", workers=1)
    build_site_from_store(store, tmp_path / "two", workers=2)
    assert files(tmp_path / "two") == files(tmp_path / "one")
    again = build_site_from_store(store, tmp_path / "one", workers=2)  # keys from one process, checked in two
    assert again.reused == again.records == 15
    assert files(tmp_path / "one") == files(tmp_path / "two")
