"""A scan lists each folder once: discovery, the collection test and the fingerprint read the same listing.

The oracles are the per-name look-ups and the ``os.walk`` the scan used before (``find_folders`` with
``is_record_folder``/``is_collection``, ``folder_fingerprint`` without a listing): the folders found and
every fingerprint must be exactly theirs, on real cards, the demo collection and a tree of odd entries
(a nested collection, links to folders and files, a broken link, skipped folders). An unchanged re-scan
must still see a file added to, removed from or changed in a record folder, at any depth.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import CARDS

from provaudit import api
from provaudit.collectors import _bounded
from provaudit.collectors.base import CollectOptions
from provaudit.collectors.folders import folder_fingerprint
from provaudit.collectors.local import (
    find_folders,
    find_listed_record_folders,
    find_record_folders,
    is_collection,
    is_record_folder,
)

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
CARD = "---\nlicense: mit\n---\n# A card\n"


def _odd_tree(root: Path) -> Path:
    """Record folders with sub-folders, links and skipped folders, and a collection inside a collection."""
    plain = root / "datasets" / "plain"
    plain.mkdir(parents=True)
    (plain / "README.md").write_text(CARD)
    (plain / "data").mkdir()
    (plain / "data" / "train.csv").write_text("a,b\n1,2\n")
    (plain / "data" / "deep").mkdir()
    (plain / "data" / "deep" / "x.txt").write_text("x")
    (plain / ".git").mkdir()  # skipped by the fingerprint and discovery alike
    (plain / ".git" / "HEAD").write_text("ref")
    (plain / "linked-folder").symlink_to(plain / "data")  # a folder link: listed, not walked into
    (plain / "linked-file").symlink_to(plain / "README.md")
    (plain / "broken").symlink_to(root / "nowhere")
    model = root / "models" / "m"
    model.mkdir(parents=True)
    (model / "README.md").write_text(CARD)
    (model / "config.json").write_text('{"_name_or_path": "bert-base-uncased"}')
    (model / "sub").mkdir()  # a sub-folder holding a card does not make a model folder a collection
    (model / "sub" / "README.md").write_text(CARD)
    inner = root / "more"
    (inner / "a").mkdir(parents=True)
    (inner / "README.md").write_text("# a collection of its own\n")
    (inner / "a" / "README.md").write_text(CARD)
    (root / "datasets" / "empty").mkdir()  # no marker: walked into, nothing found
    (root / "datasets" / "readme-folder" / "README.md").mkdir(parents=True)  # a folder named README.md is no card
    return root


def _roots(tmp_path: Path) -> list[Path]:
    roots = [CARDS, DEMO, _odd_tree(tmp_path / "odd")]
    assert all(r.is_dir() for r in roots)
    return roots


def test_discovery_from_one_listing_finds_what_lookups_found(tmp_path: Path) -> None:
    for root in _roots(tmp_path):
        problems: list[tuple[Path, str, str]] = []
        old_problems: list[tuple[Path, str, str]] = []
        found = [folder for folder, _ in find_listed_record_folders(root, problems=problems)]
        old = list(
            find_folders(
                root,
                lambda p: is_record_folder(p) and not is_collection(p),
                bound=_bounded.boundary(root),
                problems=old_problems,
            )
        )
        assert found == old and len(found) >= 3, root
        assert problems == old_problems
        assert list(find_record_folders(root)) == found
    names = {p.name for p in find_record_folders(tmp_path / "odd")}
    assert names == {"plain", "m", "a"}


def test_fingerprint_from_the_listing_is_the_walked_one(tmp_path: Path) -> None:
    options = CollectOptions()
    checked = 0
    for root in _roots(tmp_path):
        for folder, entries in find_listed_record_folders(root):
            assert entries is not None
            assert folder_fingerprint(folder, options, {}, entries) == folder_fingerprint(folder, options), folder
            checked += 1
    assert checked > 20


@pytest.mark.parametrize("where", [".", "data/deep"])
def test_an_unchanged_rescan_sees_a_file_added_removed_or_changed(tmp_path: Path, where: str) -> None:
    root = _odd_tree(tmp_path / "c")
    for name in ("imdb", "glue"):
        shutil.copytree(CARDS / "datasets" / name, root / "datasets" / name)
    store = tmp_path / "store"
    options = CollectOptions()
    first = api.scan([str(root)], store=store, options=options, jobs=1)
    assert "dataset:plain" in first.outcomes and set(first.outcomes.values()) == {"new"}
    assert api.scan([str(root)], store=store, options=options, jobs=1).outcomes == {
        rid: "unchanged" for rid in first.outcomes
    }
    folder = root / "datasets" / "plain" / where

    def changed_only(expected: str) -> None:
        outcomes = api.scan([str(root)], store=store, options=options, jobs=1).outcomes
        assert outcomes.pop("dataset:plain") == expected
        assert set(outcomes.values()) == {"unchanged"}

    (folder / "added.txt").write_text("new file")
    changed_only("revised")
    (folder / "added.txt").unlink()
    changed_only("revised")  # the revision read before the file was added: current again
    target = folder / ("x.txt" if where != "." else "README.md")
    before = target.stat()
    target.write_text(target.read_text() + "\nmore\n")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    changed_only("revised")
    with api.open_store(store, read_only=True) as db:
        assert len(db.history("dataset:plain")) == 3  # first, with added.txt, with the change
