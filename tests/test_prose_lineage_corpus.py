"""Issue 18 over every model card of ../shared/corpus/hf/models, by a checker that shares nothing with provaudit.

The checker reads each card itself (its own front-matter regex and YAML reading, its own reading of code blocks
as mergekit recipes, its own phrases and Hub-id patterns for prose, the card's `tags`) and lists every Hub repo a
card names as a parent. It asserts that provaudit's record of the card links that parent, or that the parent is
one provaudit documents it does not take (the record itself), and that no card is called commercial while a parent
it names is non-commercial, academic-only or of unknown terms (not in the corpus, no licence, `other`, `unknown`).
provaudit is used only to read the folders into records and review them.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from provaudit import api
from provaudit.collectors.base import CollectOptions
from provaudit.rules.review import review_records

FRONT = re.compile(r"\A\s*---\r?\n(.*?)\r?\n---\s*(?:\r?\n|\Z)", re.S)
FENCE = re.compile(r"^\s*(```|~~~)")
# the checker's own phrases for "this model was made from": merges and fine-tunes
PARENT_PHRASE = re.compile(
    r"merge\s+of|merged\s+(with|from)|\bmerging\b|franken-?merge\s+of|fine-?tuned\s+(from|version\s+of|on\s+top\s+of)"
    r"|trained\s+on\s+top\s+of|finetuned\s+from\s+model",
    re.I,
)
BOTH_SIDES = re.compile(r"merged\s+with", re.I)  # "A merged with B": both are parents
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[*])")
# model families whose terms are known without their card (the checker's own short list; their Hub cards are gated)
KNOWN_TERMS = re.compile(r"^(meta-llama/Llama-2-|mistralai/Mi[sx]tral-)", re.I)
HUB_URL = re.compile(r"huggingface\.co/(?!datasets/|spaces/|docs/|blog/|papers/|collections/)([\w.-]+/[\w.-]+)")
TICKED = re.compile(r"`([A-Za-z0-9][\w.-]*/[\w.-]+)`")
# the checker's own reading of a declared licence string
NC = re.compile(r"\bnc\b|non-?commercial|noncommercial", re.I)
ACADEMIC = re.compile(r"research|academic", re.I)
UNKNOWN = {"", "other", "unknown", "none"}


def _front(text: str) -> tuple[dict[str, Any], str, int]:
    match = FRONT.match(text)
    if not match:
        return {}, text, 1
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        meta = None
    return (meta if isinstance(meta, dict) else {}), text[match.end() :], text.count("\n", 0, match.end()) + 1


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v).strip() for v in (value if isinstance(value, list) else [value]) if str(v).strip()]


def _recipe_models(doc: Any) -> list[str]:
    """Model names of a mergekit recipe: every string under a `model`/`base_model` key, walked recursively."""
    out: list[str] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key in {"model", "base_model", "source_model"} and isinstance(value, str):
                out.append(value)
            else:
                out += _recipe_models(value)
    elif isinstance(doc, list):
        for item in doc:
            out += _recipe_models(item)
    return out


def _is_hub_id(value: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][\w-]*/[\w][\w.-]*", value)) and not value.startswith(("./", "/"))


def parents_named(text: str, repo: str) -> dict[str, str]:
    """Hub repo id → where the card names it as a parent (recipe / prose / tag)."""
    meta, body, _ = _front(text)
    found: dict[str, str] = {}
    for tag in _list(meta.get("tags")):
        if tag.startswith("base_model:"):
            found[tag.split(":")[-1]] = "tag"
    lines = body.splitlines()
    block: list[str] | None = None
    for line in lines:
        if FENCE.match(line):
            if block is None:
                block = []
                continue
            try:
                docs = list(yaml.safe_load_all("\n".join(block)))
            except yaml.YAMLError:
                docs = []
            for doc in docs:
                if isinstance(doc, dict) and {"merge_method", "models", "slices"} & set(doc):
                    for name in _recipe_models(doc):
                        for part in name.split("+"):
                            found.setdefault(part.strip(), "recipe")
            block = None
            continue
        if block is not None:
            block.append(line)
            continue
        if line.count("|") >= 2:
            continue
        for sentence in SENTENCE.split(line):
            phrase = PARENT_PHRASE.search(sentence)
            if not phrase:
                continue
            start = 0 if BOTH_SIDES.search(sentence) else phrase.start()
            for match in [*HUB_URL.finditer(sentence, start), *TICKED.finditer(sentence, start)]:
                found.setdefault(match.group(1).rstrip(".)"), "prose")
    return {k: v for k, v in found.items() if _is_hub_id(k) and k.casefold() != repo.casefold()}


def declared_use(folder: Path | None) -> str:
    """The checker's own reading of a parent's card: commercial / non-commercial / academic / unknown."""
    if folder is not None and KNOWN_TERMS.match(folder.name.replace("__", "/", 1)):
        return "commercial"  # Llama 2 (with its use restrictions) and Mistral's Apache-2.0 releases
    if folder is None or not (folder / "README.md").is_file():
        return "unknown"  # not in the corpus: its terms are not known here
    meta, _, _ = _front((folder / "README.md").read_text(encoding="utf-8", errors="replace"))
    licenses = [x.lower() for x in _list(meta.get("license")) + _list(meta.get("license_name"))]
    if not licenses or all(x in UNKNOWN for x in licenses):
        return "unknown"
    if any(NC.search(x) for x in licenses):
        return "non-commercial"
    if any(ACADEMIC.search(x) for x in licenses):
        return "academic"
    return "commercial"


@pytest.fixture(scope="module")
def corpus(shared_corpus: Path) -> dict[str, Any]:
    folder = shared_corpus / "hf" / "models"
    records = api.collect([str(folder)], CollectOptions(digests=False))
    reviews = {r.id: r for r in review_records(records, "default").records}
    return {"folder": folder, "records": records, "reviews": reviews}


def test_every_parent_a_card_names_is_found_and_no_merge_is_falsely_commercial(corpus: dict[str, Any]) -> None:
    folder: Path = corpus["folder"]
    by_location = {r.location: r for r in corpus["records"]}
    folders = {p.name.replace("__", "/", 1).casefold(): p for p in folder.iterdir() if p.is_dir()}
    counts: Counter[str] = Counter()
    missed: list[str] = []
    wrong: list[str] = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and (p / "README.md").is_file()):
        record = by_location.get(str(sub.resolve()))
        if record is None:
            continue
        repo = record.name
        named = parents_named((sub / "README.md").read_text(encoding="utf-8", errors="replace"), repo)
        if not named:
            continue
        counts["cards naming a Hub parent"] += 1
        review = corpus["reviews"][record.id]
        # a parent linked, or reached through the lineage (a card's words about its base's own base)
        linked = {u.target.partition(":")[2].casefold() for u in record.upstream}
        linked |= {rid.partition(":")[2].casefold() for rid in review.upstream}
        for parent, where in named.items():
            counts[f"parents named in {where}"] += 1
            if parent.casefold() in linked:
                counts["found"] += 1
            else:
                missed.append(f"{record.id}: {parent} ({where}) not linked")
        uses = {p: "commercial" if KNOWN_TERMS.match(p) else declared_use(folders.get(p.casefold())) for p in named}
        blocking = {p: u for p, u in uses.items() if u != "commercial"}
        counts["cards with a non-commercial/academic/unknown parent"] += bool(blocking)
        if blocking and review.use.value == "commercial":
            wrong.append(f"{record.id}: commercial, but parents {blocking}")
    print(f"\nindependent checker: {dict(counts)}; missed {len(missed)}")
    assert counts["cards naming a Hub parent"] > 50, counts  # the checker does see the corpus's lineage
    assert wrong == [], "\n".join(wrong)
    assert missed == [], "\n".join(missed[:40])
