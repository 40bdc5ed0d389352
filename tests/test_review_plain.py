"""A review made faster prints what the plain, slow way prints.

Oracles that are not the code under test: :func:`difflib.get_close_matches` for the "did you mean …?" candidates;
:func:`provaudit.rules.review.review_store` (every record read and reviewed, no cache) for a review redone in part
after real changes to the bundled demo collection (data/demo: real Hugging Face cards, Mistral-7B → zephyr).
"""

from __future__ import annotations

import difflib
import io
import json
import random
import re
import shutil
from pathlib import Path

import pytest
import yaml

from provaudit import api
from provaudit.licenses import kb
from provaudit.resources import resource
from provaudit.rules import names
from provaudit.rules.names import Candidates, NameIndex, squash, variants
from provaudit.rules.render import render
from provaudit.rules.review import review_store
from provaudit.rules.review_cache import review_cached
from provaudit.store.oxigraph import OxigraphStore

# real upstream names of Hugging Face cards (base models, datasets), as the lineage squashes them
_REAL = [
    "mistralai/Mistral-7B-v0.1",
    "HuggingFaceH4/ultrachat_200k",
    "HuggingFaceH4/ultrafeedback_binarized",
    "Open-Orca/SlimOrca",
    "Intel/orca_dpo_pairs",
    "meta-llama/Llama-2-7b-hf",
    "meta-llama/Llama-2-13b-chat-hf",
    "tiiuae/falcon-7b",
    "EleutherAI/pile",
    "cnn_dailymail",
    "squad_v2",
    "glue",
    "super_glue",
    "xP3x",
    "bigscience/xP3",
]


def test_close_matches_are_difflibs_on_real_names() -> None:
    keys = list(dict.fromkeys(k for name in _REAL for k in variants(name)))
    candidates = Candidates(keys)
    for name in [*_REAL, "mistral 7b", "llama2", "ultrachat", "squad2.0", "xp3", "orca dpo", "pile-v2"]:
        word = squash(name)
        for cutoff in (0.6, 0.8):
            assert candidates.close_matches(word, 3, cutoff) == difflib.get_close_matches(word, keys, 3, cutoff)


def test_close_matches_are_difflibs_among_many_similar_keys() -> None:
    rng = random.Random(20)  # a fixed seed: the same keys every run
    letters = "aeimnorst0127"
    keys = ["".join(rng.choice(letters) for _ in range(rng.randint(3, 20))) for _ in range(3000)]
    keys += [k + "v2" for k in keys[:300]] + [k[:-1] for k in keys[300:600]]  # near variants: ties and hits
    candidates = Candidates(keys)
    words = rng.sample(keys, 60) + ["".join(rng.choice(letters) for _ in range(rng.randint(3, 20))) for _ in range(60)]
    found = 0
    for word in words:
        expected = difflib.get_close_matches(word, keys, n=3, cutoff=0.8)
        assert candidates.close_matches(word, 3, 0.8) == expected
        found += len(expected)
    assert found > 60  # the words do have close matches: the comparison is not of empty lists


def test_close_matches_of_long_keys_are_difflibs() -> None:
    keys = ["a" * 300, "a" * 299 + "b", "a" * 260, "ab" * 150, "abc"]  # letter counts beyond a byte
    candidates = Candidates(keys)
    for word in ("a" * 298, "a" * 300 + "c", "ab" * 140, "abd"):
        assert candidates.close_matches(word, 3, 0.8) == difflib.get_close_matches(word, keys, 3, 0.8)
    assert candidates.close_matches("a" * 298, 3, 0.8)


def test_close_matches_of_other_text_fall_back_to_difflib() -> None:
    keys = ["café", "cafe", "caffè"]
    assert Candidates(keys).close_matches("cafe", 3, 0.6) == difflib.get_close_matches("cafe", keys, 3, 0.6)
    assert Candidates(["abc", "abd"]).close_matches("ab_c", 3, 0.6) == difflib.get_close_matches(
        "ab_c", ["abc", "abd"], 3, 0.6
    )


def test_near_misses_from_letter_counts_are_those_of_difflibs_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # a collection of real names, each also under three numbered copies (as a benchmark's copies are named)
    copies = ("", "-1", "-2", "x")
    ids = [f"{kind}:{name}{suffix}" for kind in ("dataset", "model") for name in _REAL for suffix in copies]
    entries = [(rid, (), (), ()) for rid in ids]
    targets = [f"{kind}:{t}" for kind in ("dataset", "model") for t in ("mistral-7b", "ultrachat", "squad-v2", "pile2")]

    def near(compared_before_counting: int) -> list[list[str]]:
        monkeypatch.setattr(names, "_COMPARED_BEFORE_COUNTING", compared_before_counting)
        index = NameIndex(entries=entries)
        return [index.near(t) for t in targets]

    by_difflib = near(10**9)
    assert by_difflib == near(0) == near(30)  # letter counts from the first question, from the second or third
    assert any(by_difflib)


def test_the_terms_read_with_libyaml_are_the_pure_python_parsers() -> None:
    text = resource("data", "licenses", "terms.yaml").read_text(encoding="utf-8")
    assert kb._curated() == {str(k): v for k, v in yaml.load(text, Loader=yaml.SafeLoader)["licenses"].items()}
    assert len(kb._curated()) > 50


# --- a review redone in part prints, in JSON and JSON Lines, what a whole review prints -------------------------

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
MISTRAL = "model:mistralai/Mistral-7B-v0.1"
ZEPHYR = "model:HuggingFaceH4/zephyr-7b-alpha"


def _scan(folder: Path, store: Path) -> None:
    api.scan([str(folder / part) for part in ("datasets", "models", "merges")], store=store, jobs=1)


def _both_formats(store: Path, cache: Path) -> tuple[dict[str, str], dict[str, str], int]:
    """({format: the cached review's text}, {format: the whole cache-less review's text}, records reviewed again)."""
    cached: dict[str, str] = {}
    with OxigraphStore(store, read_only=True) as db:
        whole = review_store(db)  # the oracle: every record read and reviewed, no cache
        whole.generated = "2026-12-01T00:00:00+00:00"  # the one value that differs: when each was made
        result = review_cached(db, cache=cache)
        recomputed = result.recomputed
        for fmt in ("jsonl", "json"):
            result.header.generated = whole.generated
            out = io.StringIO()
            result = result.write(fmt, out)
            cached[fmt] = out.getvalue()
        result.close()
    return cached, {fmt: render(whole, fmt) for fmt in cached}, recomputed


def _relicense(card: Path, license: str) -> None:
    text, n = re.subn(
        r"^license:.*\n(?:- .*\n)*", f"license: {license}\n", card.read_text(encoding="utf-8"), count=1, flags=re.M
    )
    assert n == 1, f"{card} declares no license"
    card.write_text(text, encoding="utf-8")


def _use(jsonl: str, rid: str) -> str:
    return str(next(row for row in map(json.loads, jsonl.splitlines()) if row["id"] == rid)["use"])


def test_json_and_jsonl_after_a_change_added_removed_and_relicensed_base_equal_a_whole_review(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    shutil.copytree(DEMO, demo)
    store, cache = tmp_path / "store", tmp_path / "cache.sqlite"
    _scan(demo, store)
    cached, whole, n = _both_formats(store, cache)
    assert cached == whole
    everything = n
    assert everything > 10 and _use(cached["jsonl"], "dataset:imdb") != "non-commercial"

    # one record changed
    _relicense(demo / "datasets" / "imdb" / "README.md", "cc-by-nc-4.0")
    _scan(demo, store)
    cached, whole, n = _both_formats(store, cache)
    assert cached == whole
    assert _use(cached["jsonl"], "dataset:imdb") == "non-commercial"
    assert 1 <= n < everything

    # one record added, fine-tuned from Mistral
    added = demo / "models" / "acme__mistral-legal"
    added.mkdir()
    (added / "README.md").write_text(
        "---\nlicense: mit\nbase_model: mistralai/Mistral-7B-v0.1\n---\n# A legal assistant\n", encoding="utf-8"
    )
    _scan(demo, store)
    cached, whole, n = _both_formats(store, cache)
    assert cached == whole
    assert "model:acme/mistral-legal" in cached["jsonl"] and 1 <= n < everything

    # a base model relicensed: its descendants' verdicts change (zephyr and the new fine-tune)
    before = {r["id"]: r for r in map(json.loads, cached["jsonl"].splitlines())}
    _relicense(demo / "models" / "mistralai__Mistral-7B-v0.1" / "README.md", "cc-by-nc-4.0")
    _scan(demo, store)
    cached, whole, n = _both_formats(store, cache)
    assert cached == whole
    after = {r["id"]: r for r in map(json.loads, cached["jsonl"].splitlines())}
    assert _use(cached["jsonl"], ZEPHYR) == _use(cached["jsonl"], "model:acme/mistral-legal") == "non-commercial"
    assert before[ZEPHYR]["use"] != "non-commercial"
    assert {MISTRAL, ZEPHYR, "model:acme/mistral-legal"} <= {k for k in after if after[k] != before[k]}
    assert n < everything

    # one record removed: a store scanned without it, reviewed with the cache made for the store that had it
    shutil.rmtree(added)
    other = tmp_path / "other-store"
    _scan(demo, other)
    cached, whole, n = _both_formats(other, cache)
    assert cached == whole
    assert "model:acme/mistral-legal" not in cached["jsonl"]
