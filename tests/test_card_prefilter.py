"""The one-pattern pre-filter of ``basemodel.from_card_text`` changes nothing: on every card, the links read with it
equal the links read by the five trigger patterns on every line (the pre-filter replaced by one that lets every
line through)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import CARDS, SHARED

from provaudit.collectors import basemodel


def _cards() -> list[Path]:
    roots = [CARDS, SHARED / "hf"] if SHARED.is_dir() else [CARDS]
    return sorted(p for root in roots for p in root.rglob("*") if p.name.lower() == "readme.md" and p.is_file())


def _links(body: str) -> list[tuple[str, str, str, int | None, float, str | None]]:
    found = basemodel.from_card_text(body, collector="local", repo="acme/model-13b").links
    return [(u.target, u.relation.value, u.raw, u.source.line, u.confidence, u.evidence) for u in found]


def test_prefilter_reads_what_every_line_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    cards = _cards()
    assert len(cards) > 20
    bodies = [c.read_text(encoding="utf-8", errors="replace") for c in cards]
    filtered = [_links(body) for body in bodies]
    monkeypatch.setattr(basemodel, "_TRIGGER_WORDS", re.compile(""))  # every line goes to the five patterns
    unfiltered = [_links(body) for body in bodies]
    assert filtered == unfiltered
    assert sum(1 for links in unfiltered if links) > 5  # the cards do name bases: the comparison is not empty


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
