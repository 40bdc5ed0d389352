"""The review cache: a review read from it (or redone in part) prints exactly what a whole review prints.

The oracle is :func:`provaudit.rules.review.review_store` rendered as JSON: it reads every record and reviews
each one, with no cache. Each change below is a real change to the bundled demo collection (data/demo: real
Hugging Face cards with a real lineage, Mistral-7B → zephyr, neural-chat → a merge) scanned again.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import provaudit
from provaudit import api
from provaudit.cli import main
from provaudit.rules import review_cache
from provaudit.rules.render import render
from provaudit.rules.review import review_store
from provaudit.rules.review_cache import CACHE_NAME, StreamedReview, review_cached
from provaudit.store.oxigraph import OxigraphStore

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
MISTRAL = "model:mistralai/Mistral-7B-v0.1"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A copy of the demo collection (its cards are edited by the tests)."""
    folder = tmp_path / "demo"
    shutil.copytree(DEMO, folder)
    return folder


def _scan(folder: Path, store: Path) -> None:
    api.scan([str(folder / "datasets"), str(folder / "models"), str(folder / "merges")], store=store, jobs=1)


def _reviews(store: Path, policy: str = "default", cache: Path | bool = True) -> tuple[str, str, StreamedReview]:
    """(the cached review's JSON, the whole cache-less review's JSON, the cached review)."""
    out = io.StringIO()
    with OxigraphStore(store, read_only=True) as db:
        cached = review_cached(db, policy, cache=cache)
        whole = review_store(db, policy)
        # the one value that differs: when each was made
        cached.header.generated = whole.generated = "2026-12-01T00:00:00+00:00"
        written = cached.write("json", out)  # the review read from the cache, or (corrupt) rebuilt
        cached.close()
    return out.getvalue(), render(whole, "json"), written


def _relicense(card: Path, license: str) -> None:
    """The card's front matter `license:` (a value or a list) replaced by ``license``."""
    text, n = re.subn(
        r"^license:.*\n(?:- .*\n)*", f"license: {license}\n", card.read_text(encoding="utf-8"), count=1, flags=re.M
    )
    assert n == 1, f"{card} declares no license"
    card.write_text(text, encoding="utf-8")


def _record(text: str, rid: str) -> dict[str, object]:
    return next(r for r in json.loads(text)["records"] if r["id"] == rid)


def test_unchanged_store_reads_the_cache(demo: Path, store_path: Path) -> None:
    _scan(demo, store_path)
    first, whole, result = _reviews(store_path)
    assert first == whole
    assert result.recomputed == result.cached + result.recomputed > 10  # the first review reviews every record
    assert (store_path / CACHE_NAME).is_file()
    again, whole, result = _reviews(store_path)
    assert again == whole == first
    assert result.recomputed == 0


def test_a_relicensed_base_model_redoes_it_and_its_descendants_only(demo: Path, store_path: Path) -> None:
    _scan(demo, store_path)
    before, _, _ = _reviews(store_path)
    _relicense(demo / "models" / "mistralai__Mistral-7B-v0.1" / "README.md", "cc-by-nc-4.0")
    _scan(demo, store_path)
    after, whole, result = _reviews(store_path)
    assert after == whole
    # the base and what is made from it changed, and only those were reviewed again
    old = {r["id"]: r for r in json.loads(before)["records"]}
    changed = {r["id"] for r in json.loads(after)["records"] if r != old[r["id"]]}
    assert {MISTRAL, "model:HuggingFaceH4/zephyr-7b-alpha"} <= changed
    assert _record(after, "model:HuggingFaceH4/zephyr-7b-alpha")["use"] == "non-commercial"
    assert len(changed) <= result.recomputed < result.recomputed + result.cached
    assert "dataset:imdb" not in changed


def test_one_record_changed_added_and_removed(demo: Path, store_path: Path, tmp_path: Path) -> None:
    _scan(demo, store_path)
    _reviews(store_path)
    # changed: a dataset's card names another licence
    _relicense(demo / "datasets" / "imdb" / "README.md", "cc-by-nc-4.0")
    _scan(demo, store_path)
    text, whole, result = _reviews(store_path)
    assert text == whole
    assert _record(text, "dataset:imdb")["use"] == "non-commercial"
    assert 1 <= result.recomputed < result.cached
    # added: a new model folder, fine-tuned from Mistral
    added = demo / "models" / "acme__mistral-legal"
    added.mkdir()
    (added / "README.md").write_text(
        "---\nlicense: mit\nbase_model: mistralai/Mistral-7B-v0.1\n---\n# A legal assistant\n", encoding="utf-8"
    )
    _scan(demo, store_path)
    text, whole, result = _reviews(store_path)
    assert text == whole
    assert "model:acme/mistral-legal" in {r["id"] for r in json.loads(text)["records"]}
    assert result.recomputed >= 1
    # added: a dataset that neural-chat's card names by another spelling ("Open-Orca/SlimOrca"): the models
    # that named it reach it now, though their own records did not change
    slim = demo / "datasets" / "SlimOrca"
    slim.mkdir()
    (slim / "README.md").write_text("---\nlicense: cc-by-nc-4.0\n---\n# SlimOrca\n", encoding="utf-8")
    _scan(demo, store_path)
    text, whole, result = _reviews(store_path)
    assert text == whole
    assert "dataset:SlimOrca" in _record(text, "model:Intel/neural-chat-7b-v3-1")["upstream"]  # type: ignore[operator]
    assert _record(text, "model:Intel/neural-chat-7b-v3-1")["use"] == "non-commercial"
    # removed: a store without the added records, reviewed with the cache made for the store that has them
    # (a store is append-only: a record leaves a collection only in a store scanned without it)
    cache = store_path / CACHE_NAME
    shutil.rmtree(added)
    shutil.rmtree(slim)
    other = tmp_path / "other-store"
    _scan(demo, other)
    text, whole, result = _reviews(other, cache=cache)
    assert text == whole
    assert "model:acme/mistral-legal" not in {r["id"] for r in json.loads(text)["records"]}
    assert "dataset:SlimOrca" not in _record(text, "model:Intel/neural-chat-7b-v3-1")["upstream"]  # type: ignore[operator]


def test_policy_and_version_changes_invalidate(demo: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _scan(demo, store_path)
    default, _, first = _reviews(store_path)
    n = first.recomputed
    text, whole, result = _reviews(store_path, "dpi")
    assert text == whole
    assert result.recomputed == n  # another policy: every record reviewed again
    text, whole, result = _reviews(store_path, "default")
    assert text == whole == default
    assert result.recomputed == 0  # each policy keeps its own reviews
    monkeypatch.setattr(provaudit, "__version__", "99.0.0")
    text, whole, result = _reviews(store_path)
    assert text == whole
    assert result.recomputed == n
    assert json.loads(text)["header"]["tool"] == "provaudit 99.0.0"


def test_a_corrupted_cache_is_rebuilt_never_printed(demo: Path, store_path: Path) -> None:
    _scan(demo, store_path)
    good, _, first = _reviews(store_path)
    cache = store_path / CACHE_NAME
    # a silently changed value (SQLite has no checksum of its own): the row's checksum no longer matches
    with sqlite3.connect(cache) as db:
        db.execute("UPDATE review SET json = replace(json, 'commercial', 'academic-only')")
    text, whole, result = _reviews(store_path)
    assert text == whole == good
    assert result.recomputed == first.recomputed
    # a file that is no database at all
    cache.write_bytes(b"not a database" * 1000)
    text, whole, result = _reviews(store_path)
    assert text == whole == good
    assert result.recomputed == first.recomputed
    # a torn file: the first half of it
    data = cache.read_bytes()
    cache.write_bytes(data[: len(data) // 2])
    text, whole, result = _reviews(store_path)
    assert text == whole == good


def test_cli_jsonl_is_one_record_per_line_as_json_has_them(demo: Path, store_path: Path, tmp_path: Path) -> None:
    _scan(demo, store_path)
    runner = CliRunner()
    out = tmp_path / "review.json"
    args = ["review", "--store", str(store_path), "--fail-on", "never"]
    done = runner.invoke(main, [*args, "--format", "json", "--out", str(out)])
    assert done.exit_code == 0, done.output
    lines = runner.invoke(main, [*args, "--format", "jsonl"])
    assert lines.exit_code == 0, lines.output
    rows = [json.loads(line) for line in lines.output.splitlines()]
    assert rows == json.loads(out.read_text(encoding="utf-8"))["records"]
    assert len(rows) == len(lines.output.splitlines()) > 10
    # the exit code still counts the findings (served from the cache now)
    failing = runner.invoke(main, [*args[:-2], "--format", "jsonl", "--fail-on", "warning"])
    assert failing.exit_code == 1
    one = runner.invoke(main, [*args, "--format", "jsonl", MISTRAL])
    assert [json.loads(line)["id"] for line in one.output.splitlines()] == [MISTRAL]


def test_a_cache_another_review_is_writing_is_left_alone(
    demo: Path, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _scan(demo, store_path)
    good, _, _ = _reviews(store_path)
    _relicense(demo / "datasets" / "imdb" / "README.md", "cc-by-nc-4.0")
    _scan(demo, store_path)
    monkeypatch.setattr(review_cache, "WAIT_SECONDS", 0.2)
    other = sqlite3.connect(store_path / CACHE_NAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another review's write, not yet committed
    try:
        text, whole, result = _reviews(store_path)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert text == whole != good
    assert result.cached == 0  # reviewed in memory: the file was neither read nor replaced
    text, whole, result = _reviews(store_path)  # the file, as the other review left it, serves the next one
    assert text == whole
    assert 1 <= result.recomputed < result.cached


def test_every_format_from_the_cache_reads_as_a_whole_review(demo: Path, store_path: Path) -> None:
    _scan(demo, store_path)
    _reviews(store_path)  # fills the cache
    with OxigraphStore(store_path, read_only=True) as db:
        whole = review_store(db)
        cached = review_cached(db)
        assert cached.recomputed == 0
        report = cached.report()  # the records' objects again, from their cached JSON
        cached.close()
    report.generated = whole.generated
    for fmt in ("text", "md", "html", "sarif", "jsonl"):
        assert render(report, fmt) == render(whole, fmt), fmt
