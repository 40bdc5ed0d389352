"""The store's bulk read of current revisions, and the review built on it, against per-record reads.

The oracle of the bulk read is ``store.record_at(revision, light=True)``: one look-up and one validation per
record, the way every reader worked before. The oracle of the review is
:func:`provaudit.rules.review.review_store` rendered as JSON, which reads and reviews every record without the
cache. Data: the bundled demo collection (data/demo: real Hugging Face cards, DPI summaries and a merge) and, where
../shared is beside the checkout, every real dataset card of the corpus.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from provaudit import api
from provaudit.records.model import Finding, Record, Severity, Source
from provaudit.rules.lineage import LinkFacts
from provaudit.rules.render import render
from provaudit.rules.report import RecordReview, record_json
from provaudit.rules.review import review_store
from provaudit.rules.review_cache import review_cached
from provaudit.store import oxigraph
from provaudit.store.bulk import LeanRevision, lean_revisions
from provaudit.store.oxigraph import OxigraphStore

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("bulk") / "store"
    api.scan([str(DEMO / part) for part in ("datasets", "models", "merges", "dpi")], store=store, jobs=1)
    return store


@pytest.fixture(scope="module")
def cards_store(shared_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every real dataset card of the corpus (hf/datasets), scanned."""
    store = tmp_path_factory.mktemp("bulk-cards") / "store"
    api.scan([str(shared_corpus / "hf" / "datasets")], store=store, jobs=2)
    return store


def _check_bulk_equals_record_at(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    with OxigraphStore(store_path, read_only=True) as store:
        current = store.current_revisions()
        scanned = {lean.revision: lean for lean in lean_revisions(store)}
        monkeypatch.setattr(oxigraph, "_LOOKUPS", len(current))  # the same revisions, a look-up each
        looked_up = {lean.revision: lean for lean in lean_revisions(store)}
        assert scanned == looked_up
        assert set(scanned) == set(current.values())
        for revision, lean in scanned.items():
            record = store.record_at(revision, light=True)
            assert record is not None
            assert lean.record() == record
            assert lean.record().location == record.location is not None
            assert lean.data() == record.model_dump(mode="json")
            assert LinkFacts.of_data(lean.data()) == LinkFacts.of(record)
    return len(scanned)


def test_bulk_read_equals_a_look_up_per_record(demo_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _check_bulk_equals_record_at(demo_store, monkeypatch) > 15


def test_bulk_read_equals_a_look_up_per_record_on_real_cards(
    cards_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _check_bulk_equals_record_at(cards_store, monkeypatch) > 400


class _NoLean:
    """A store that offers no bulk read (as a SPARQL server's): only the Store protocol's look-ups."""

    def __init__(self, store: OxigraphStore) -> None:
        self._store = store

    def current_revisions(self) -> dict[str, str]:
        return self._store.current_revisions()

    def record_at(self, revision: str, *, light: bool = False) -> Record | None:
        return self._store.record_at(revision, light=light)


def test_a_store_without_lean_forms_is_read_a_record_at_a_time(demo_store: Path) -> None:
    with OxigraphStore(demo_store, read_only=True) as store:
        fast = {lean.revision: lean.data() for lean in lean_revisions(store)}
        slow = {lean.revision: lean.data() for lean in lean_revisions(_NoLean(store))}  # type: ignore[arg-type]
        some = sorted(fast)[:3]
        assert {lean.revision for lean in lean_revisions(store, some)} == set(some)
    assert slow == fast


def test_link_facts_of_a_failed_fetch_from_plain_data() -> None:
    refused = Finding(
        rule="PA011", severity=Severity.WARNING, message="gated", source=Source(collector="hub", url="https://x")
    )
    record = Record(id="model:acme/gated", kind="model", name="acme/gated", findings=[refused])
    data: dict[str, Any] = json.loads(record.model_dump_json())
    assert LinkFacts.of_data(data) == LinkFacts.of(record)
    assert LinkFacts.of_data(data).failure == refused
    record.facts = []
    record.version = "abc"  # a record with content is no failed fetch
    assert LinkFacts.of_data(json.loads(record.model_dump_json())) == LinkFacts.of(record)
    assert LinkFacts.of(record).failure is None


def _oracle(review: RecordReview) -> str:
    """record_json as it was first written: json.dumps of the JSON-mode dump, indented."""
    return json.dumps(review.model_dump(mode="json", exclude_none=True), indent=2, ensure_ascii=False)


def test_record_json_is_the_indented_json_dump(demo_store: Path) -> None:
    with OxigraphStore(demo_store, read_only=True) as store:
        reviews = review_store(store).records
    assert len(reviews) > 15
    for review in reviews:
        assert record_json(review) == _oracle(review)
    odd = reviews[0].model_copy(update={"name": 'é\u2028"\\\x00\x1f\x7f\t名', "collections": []})
    assert record_json(odd) == _oracle(odd)


def _cold(store_path: Path) -> tuple[str, str]:
    """(a cold cached review's JSON, the whole cache-less review's JSON) of one store."""
    out = io.StringIO()
    with OxigraphStore(store_path, read_only=True) as store:
        cached = review_cached(store, cache=False)
        whole = review_store(store)
        cached.header.generated = whole.generated = "2026-12-01T00:00:00+00:00"
        cached.write("json", out)
        cached.close()
    return out.getvalue(), render(whole, "json")


def test_cold_review_reads_in_bulk_and_prints_the_whole_review(demo_store: Path) -> None:
    cold, whole = _cold(demo_store)
    assert cold == whole


def test_cold_review_of_real_cards_prints_the_whole_review(cards_store: Path) -> None:
    cold, whole = _cold(cards_store)
    assert cold == whole
    assert len(json.loads(cold)["records"]) > 400


def test_lean_revision_keeps_its_location() -> None:
    lean = LeanRevision(
        "https://w3id.org/provaudit/id/dataset/x/rev/0", '{"id":"dataset:x","kind":"dataset","name":"x"}', "d/x"
    )
    assert lean.record().location == lean.data()["location"] == "d/x"
    assert lean.data()["files"] == []


def test_current_revisions_of_newer_scans_update_the_earlier_ones(tmp_path: Path) -> None:
    """What the review cache relies on after a scan: the current revisions then, updated with what the newer
    scans observed, are the store's current revisions."""
    demo = tmp_path / "demo"
    shutil.copytree(DEMO, demo)
    store_path = tmp_path / "store"
    folders = [str(demo / "datasets"), str(demo / "models")]
    api.scan(folders, store=store_path, jobs=1)
    with OxigraphStore(store_path, read_only=True) as store:
        before, graphs = store.current_revisions(), [s.iri for s in store.scans()]
    card = demo / "datasets" / "imdb" / "README.md"
    card.write_text(card.read_text(encoding="utf-8").replace("license:", "license: cc-by-nc-4.0\nold_license:", 1))
    api.scan(folders, store=store_path, jobs=1)
    with OxigraphStore(store_path, read_only=True) as store:
        now = store.current_revisions()
        new = [s.iri for s in store.scans() if s.iri not in graphs]
        assert len(new) == 1
        assert now == {**before, **store.current_revisions(graphs=new)}
        changed = {iri for iri in now if now[iri] != before[iri]}
    assert changed == {iri for iri in now if iri.endswith("/dataset/imdb")}
