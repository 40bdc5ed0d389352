"""The scan index (store/scan_index.py): a re-scan reads the last scan's current revisions, summaries and folder
fingerprints from one file beside the store; what it gives equals what the store holds, and an index that no
longer describes the store (stale, foreign, malformed) is ignored, never believed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import CARDS

from provaudit import api
from provaudit.collectors.base import CollectOptions
from provaudit.store import scan_index

OPTIONS = CollectOptions(digests=False)
TARGETS = [str(CARDS / "datasets"), str(CARDS / "models"), str(CARDS / "bad")]


def _store_state(store: Path) -> tuple[dict[str, str], dict[str, str], dict[str, str], list[str]]:
    """Current revisions, their pa:scanSummary and every folder fingerprint, read from the store by SPARQL."""
    with api.open_store(store, read_only=True) as db:
        current = db.current_revisions()
        summaries = {
            v or "": s or ""
            for v, s in db.query("SELECT ?v ?s WHERE { ?v pa:scanSummary ?s }").rows
            if v in set(current.values())
        }
        prints = {f or "": v or "" for v, f in db.query("SELECT ?v ?f WHERE { ?v pa:fingerprint ?f }").rows}
        graphs = [g.value for g in db._committed()]
    return current, summaries, prints, graphs


def _index(store: Path) -> scan_index.ScanIndex:
    graphs = _store_state(store)[3]
    index = scan_index.read(store, scan_index.graphs_key(graphs))
    assert index is not None
    return index


def _copy(folder: Path, to: Path) -> Path:
    shutil.copytree(folder, to)
    return to


def test_the_index_holds_what_the_store_holds_after_each_scan(tmp_path: Path) -> None:
    store = tmp_path / "store"
    root = tmp_path / "in"
    _copy(CARDS / "datasets", root / "datasets")
    targets = [str(root / "datasets"), str(CARDS / "models"), str(CARDS / "bad")]
    api.scan(targets, store=store, options=OPTIONS, jobs=2)
    card = root / "datasets" / "imdb" / "README.md"
    card.write_text(card.read_text(encoding="utf-8") + "\nA new line.\n", encoding="utf-8")
    (root / "datasets" / "snli").rename(root / "datasets" / "snli-moved")
    for _ in range(2):  # one scan that revises and one that sees nothing new
        api.scan(targets, store=store, options=OPTIONS, jobs=2)
        index, (current, summaries, prints, _) = _index(store), _store_state(store)
        assert len(current) > 30
        assert index.current == current
        assert index.summaries == summaries and set(summaries) == set(current.values())
        assert index.prints == prints and len(prints) > len(current)  # the moved folder's old print stays


def test_a_rescan_with_the_index_equals_one_without(tmp_path: Path) -> None:
    results = {}
    for name in ("indexed", "plain"):
        store = tmp_path / name
        api.scan(TARGETS, store=store, options=OPTIONS, jobs=2)
        if name == "plain":
            (store / scan_index.NAME).unlink()  # the re-scan reads the store instead
        again = api.scan(TARGETS, store=store, options=OPTIONS, jobs=2)
        results[name] = (again.outcomes, again.entries, again.to_json()["findings_by_severity"])
        assert set(again.outcomes.values()) == {"unchanged"}
        assert _index(store).current == _store_state(store)[0]  # the plain store has its index again
    assert results["indexed"] == results["plain"]


def test_an_index_of_an_earlier_state_is_ignored(tmp_path: Path) -> None:
    store, root = tmp_path / "store", tmp_path / "in"
    _copy(CARDS / "datasets" / "imdb", root / "imdb")
    api.scan([str(root)], store=store, options=OPTIONS)
    old = (store / scan_index.NAME).read_bytes()
    card = root / "imdb" / "README.md"
    card.write_text(card.read_text(encoding="utf-8") + "\nA new line.\n", encoding="utf-8")
    assert api.scan([str(root)], store=store, options=OPTIONS).outcomes == {"dataset:imdb": "revised"}
    (store / scan_index.NAME).write_bytes(old)  # it names the first scan's revision as current
    # believed, the stale index would make the revision seen last "revised" again
    assert api.scan([str(root)], store=store, options=OPTIONS).outcomes == {"dataset:imdb": "unchanged"}
    assert _index(store).current == _store_state(store)[0]


@pytest.mark.parametrize(
    "damage",
    [
        b"not an index\n",
        b"",
        "provaudit-scan-index 1 {key}\nC\tonly-two-fields\n",
        "provaudit-scan-index 1 {key}\nX\ta\tb\n",
        b"\xff\xfe binary",
    ],
)
def test_a_malformed_index_is_ignored(tmp_path: Path, damage: bytes | str) -> None:
    store = tmp_path / "store"
    api.scan([str(CARDS / "datasets")], store=store, options=OPTIONS)
    key = scan_index.graphs_key(_store_state(store)[3])
    path = store / scan_index.NAME
    path.write_bytes(damage.format(key=key).encode() if isinstance(damage, str) else damage)
    assert scan_index.read(store, key) is None
    again = api.scan([str(CARDS / "datasets")], store=store, options=OPTIONS)
    assert set(again.outcomes.values()) == {"unchanged"}
    assert _index(store).current == _store_state(store)[0]


def test_an_index_that_is_a_symlink_is_not_followed(tmp_path: Path) -> None:
    store = tmp_path / "store"
    api.scan([str(CARDS / "datasets" / "imdb")], store=store, options=OPTIONS)
    key = scan_index.graphs_key(_store_state(store)[3])
    elsewhere = tmp_path / "elsewhere.tsv"
    (store / scan_index.NAME).rename(elsewhere)
    (store / scan_index.NAME).symlink_to(elsewhere)
    assert scan_index.read(store, key) is None


def test_a_scan_whose_index_cannot_be_written_is_still_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"

    def fail(*_: object, **__: object) -> None:
        raise RuntimeError("the index cannot be written")

    with monkeypatch.context() as patch:
        patch.setattr(scan_index, "write", fail)
        first = api.scan([str(CARDS / "datasets")], store=store, options=OPTIONS)  # a first scan: never undone
    assert not (store / scan_index.NAME).exists()
    assert set(first.outcomes.values()) == {"new"}
    again = api.scan([str(CARDS / "datasets")], store=store, options=OPTIONS)
    assert again.outcomes == dict.fromkeys(first.outcomes, "unchanged")
    assert _index(store).current == _store_state(store)[0]
