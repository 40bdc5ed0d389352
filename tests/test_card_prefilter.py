"""The one-pattern pre-filters of the card readers change nothing: on every card, what ``basemodel.from_card_text``,
``lineage_text.from_merge_prose`` and ``lineage_text.prose_licenses`` read with them equals what they read when
every line goes through their patterns (each pre-filter replaced by one that lets every line through)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from conftest import card_readmes

from provaudit.collectors import basemodel, lineage_text


def _links(body: str) -> list[tuple[str, str, str, int | None, float, str | None]]:
    found = basemodel.from_card_text(body, collector="local", repo="acme/model-13b").links
    return [(u.target, u.relation.value, u.raw, u.source.line, u.confidence, u.evidence) for u in found]


def _merges(body: str) -> list[tuple[str, str, str, int | None, float, str | None]]:
    found = lineage_text.from_merge_prose(body, collector="local", repo="acme/merge-7b").links
    return [(u.target, u.relation.value, u.raw, u.source.line, u.confidence, u.evidence) for u in found]


def _statements(body: str) -> list[lineage_text.ProseLicense]:
    return lineage_text.prose_licenses(body, 3)


@pytest.mark.parametrize(
    ("module", "name", "read"),
    [
        (basemodel, "_TRIGGER_WORDS", _links),
        (lineage_text, "_MERGE_WORDS", _merges),
        (lineage_text, "_PROSE_WORDS", _statements),
    ],
)
def test_prefilter_reads_what_every_line_gives(
    monkeypatch: pytest.MonkeyPatch, module: object, name: str, read: Callable[[str], list[object]]
) -> None:
    cards = card_readmes()
    assert len(cards) > 20
    bodies = [c.read_text(encoding="utf-8", errors="replace") for c in cards]
    filtered = [read(body) for body in bodies]
    monkeypatch.setattr(module, name, re.compile(""))  # every line goes to the patterns
    unfiltered = [read(body) for body in bodies]
    assert filtered == unfiltered
    assert sum(1 for found in unfiltered if found) >= 3  # the cards do say it: the comparison is not empty


@pytest.mark.parametrize(
    "line",
    [
        "Finetuned from model [optional]: meta-llama/Llama-2-7b-hf",
        "This model is a FINE-TUNED VERSION OF mistralai/Mistral-7B-v0.1 on our data.",
        "Trained  on top of tiiuae/falcon-7b.",
        "GPTQ model files for lmsys/vicuna-13b-v1.5",
        "A quantized version of google/gemma-7b.",
        "Based\ton EleutherAI/pythia-1b.",
    ],
)
def test_each_trigger_passes_the_prefilter(line: str) -> None:
    assert basemodel._TRIGGER_WORDS.search(line)
    assert _links(f"# Card\n\n{line}\n")
