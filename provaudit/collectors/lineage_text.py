"""Parents and licences a card states in its words: merge recipes, merge prose, Hub tags, licence sentences.

Most community models name their lineage only in the card body: a mergekit recipe in a code block
(``merge_method``, ``models: - model: X``, ``slices: - sources: - model: Y``, ``base_model: Z``), a sentence
("X is a merge of [A](https://huggingface.co/A) and [B](...)"), a list under "Models Merged" / "Models used:",
or the Hub's tags (``base_model:merge:A``). Their licence is often a sentence too ("**License:** Apache License
2.0", "for non-commercial research purposes only"). This module reads all of them; each result keeps the
exact text, the file and the line it came from and a confidence. The functions are pure (text in, links,
claims and findings out); :mod:`provaudit.collectors.basemodel` puts links on a record, :mod:`.cards` claims.

Never inferred: an architecture or a tokenizer ("uses the Llama 2 architecture"), an evaluation dataset, a
model a code block merely loads (only a block that *is* a recipe counts), a model named in a table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from provaudit.collectors.basemodel import (
    PROSE_FAMILY_CONFIDENCE,
    Inferred,
    find_family,
    hub_id,
    is_local_path,
)
from provaudit.licenses.normalize import normalize
from provaudit.records.identity import record_id
from provaudit.records.model import Finding, Kind, Relation, Severity, Source, Upstream

# how much each kind of evidence is trusted (0..1)
RECIPE_CONFIDENCE = 0.9  # mergekit reads exactly these repos; the recipe is the merge's own build file
TRAINING_CONFIG_CONFIDENCE = 0.85  # a training config's `base_model` (axolotl): the weights it started from
MERGE_PROSE_CONFIDENCE = 0.8  # "a merge of [A](hf url) and B/C": the card's words naming Hub repos
LIST_CONFIDENCE = 0.8  # items under "Models Merged" / "Models used:"
# a merge parent named by a display name only ("a merge of OpenHermes-2.5-neural-chat and Bruins-V2"): no Hub id,
# so its terms stay unknown (never dropped as a weak hint: an unknown parent is a reason for caution)
DISPLAY_NAME_CONFIDENCE = 0.7
PROSE_LICENSE_CONFIDENCE = 0.6  # a licence sentence: read at card-prose authority, below the YAML

RECIPE_KEYS = frozenset({"merge_method", "models", "slices", "base_model"})
LOCAL = "local:"  # a parent named by a local path or a bare name: no Hub id, so no command can fetch it

_FENCE = re.compile(r"^\s*(```|~~~)")
_MAX_BLOCK = 64 * 1024  # a recipe is a few lines; a longer block is output or data, not read as YAML
_HF_LINK = re.compile(r"\[([^\]\n]{0,200})\]\((https?://(?:www\.)?huggingface\.co/[^)\s]+)\)")
_HF_BARE_URL = re.compile(r"(?<!\()https?://(?:www\.)?huggingface\.co/[\w.-]+/[\w.-]+")
_TICK_ID = re.compile(r"`([A-Za-z0-9][\w.-]*/[\w.-]+)`")
_BARE_ID = re.compile(r"(?<![\w./:@(\[-])([A-Za-z0-9][A-Za-z0-9_-]{1,95}/[A-Za-z0-9_][\w.-]*[A-Za-z0-9])(?![\w/(-])")
_URLS = re.compile(r"https?://\S+?(?=[)\s\]]|$)")
# words that say the model is a merge of what follows (up to the sentence end)
_MERGE_TRIGGER = re.compile(
    r"\b(franken-?merge|merge|blend|slerp|ties|dare)\s+(of|between)\b|\bmerged?\s+(from|with|together)\b"
    r"|\b(merging|stacking)\b|\bmerged\s+(two|three|several|\d+)\b",
    re.I,
)
_BASE_TRIGGER = re.compile(r"\busing\s+(.{0,200}?)\s+as\s+(a|the)\s+base\b", re.I)
# a line that introduces a list of the merged models
_LIST_HEADER = re.compile(
    r"^[#>*_\s-]*(models?\s+(used|merged|included)|merged\s+models|source\s+models|parent\s+models|merge\s+ingredients"
    r"|the\s+following\s+models\s+were\s+(included|used)(\s+in\s+the\s+merge)?|merge\s+of\s+the\s+following"
    r"|models?\s+in\s+(this|the)\s+merge)\b[^\n]{0,40}?[:*#_\s]*$",
    re.I,
)
_LIST_ITEM = re.compile(r"^\s*([-*+•]|\d+[.)])\s+")
# a word each of _MERGE_TRIGGER's and _BASE_TRIGGER's phrases contains: a line without one is not searched
# (tests/test_card_prefilter.py checks the links are the same)
_MERGE_WORDS = re.compile(r"merg|blend|slerp|ties|dare|stacking|using", re.I)
_SENTENCE_END = re.compile(r"[.!?;](\s|$)")


@dataclass(frozen=True)
class ProseLicense:
    """One licence sentence of a card: what it says and where."""

    line: int
    sentence: str  # the quoted sentence (or list item), whitespace collapsed
    expression: str | None  # the licence or terms it reads as
    method: str  # "statement" (License: X / released under X) or "restriction" (research only ...)


# --- mergekit recipes and training configs in code blocks ------------------------------------------


def code_blocks(body: str, first_line: int = 1) -> Iterator[tuple[int, str]]:
    """(file line of the block's first content line, block text) for every fenced code block."""
    lines = body.splitlines()
    start: int | None = None
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            if start is None:
                start = index + 1
            else:
                yield first_line + start, "\n".join(lines[start:index])
                start = None


def _load(text: str) -> list[Any]:
    if len(text) > _MAX_BLOCK or ":" not in text:
        return []
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return [doc for doc in yaml.load_all(text, Loader=loader) if doc is not None]
    except yaml.YAMLError:
        return []


def _recipe_models(doc: dict[str, Any]) -> Iterator[tuple[str, Relation]]:
    """Every model a mergekit (or mergekit-moe) recipe names, with its relation."""

    def named(value: Any) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for key in ("model", "path", "source_model"):
                yield from named(value.get(key))

    # the base first: a base also listed under `models` is the merge's base
    for name in named(doc.get("base_model")):
        yield name, Relation.MERGE_BASE
    for item in doc.get("models") or [] if isinstance(doc.get("models"), list) else []:
        for name in named(item):
            yield name, Relation.MERGE
    for piece in doc.get("slices") or [] if isinstance(doc.get("slices"), list) else []:
        sources = piece.get("sources") if isinstance(piece, dict) else None
        for source in sources if isinstance(sources, list) else []:
            for name in named(source):
                yield name, Relation.MERGE
    for expert in doc.get("experts") or [] if isinstance(doc.get("experts"), list) else []:
        for name in named(expert):
            yield name, Relation.MERGE


def from_recipes(body: str, *, collector: str, file: str = "README.md", first_line: int = 1) -> Inferred:
    """Parents from every code block whose YAML has ``merge_method``, ``models``, ``slices`` or ``base_model``.

    A recipe (``merge_method``/``models``/``slices``): each model is a ``merge`` parent, its ``base_model`` the
    ``merge_base``. A block with only ``base_model`` is a training config (axolotl): a ``finetune``. A model
    written ``A+B`` (a LoRA applied on a model) names both. A local path or a bare name with no owner is a
    parent without a Hub id: kept (its terms are unknown, so the merge cannot be complete) with PA008.
    """
    out = Inferred()
    for start, text in code_blocks(body, first_line):
        block_lines = text.splitlines()
        for doc in _load(text):
            if not isinstance(doc, dict) or not RECIPE_KEYS & set(doc):
                continue
            recipe = bool({"merge_method", "models", "slices"} & set(doc))
            if not recipe and not isinstance(doc.get("base_model"), str):
                continue
            method = doc.get("merge_method")
            for name, relation in _recipe_models(doc):
                if not recipe:
                    relation = Relation.FINETUNE
                for part in (p.strip() for p in name.split("+")):
                    if not part:
                        continue
                    key = "base_model" if relation is not Relation.MERGE else "model"
                    number = start + _line_of(block_lines, part, key)
                    what = f"merge_method: {method}" if method else ("mergekit recipe" if recipe else "training config")
                    evidence = f"{key}: {part} ({what})"
                    source = Source(collector=collector, file=file, field="recipe", line=number)
                    confidence = RECIPE_CONFIDENCE if recipe else TRAINING_CONFIG_CONFIDENCE
                    out.extend(_named_link(part, relation, source, confidence, evidence))
    return out


def _line_of(lines: list[str], name: str, key: str) -> int:
    """The index of the line that gives this name as a value (not as part of a longer name), under ``key`` first."""
    exact = re.compile(rf"(?<![\w./-]){re.escape(name)}(?![\w./-])")
    rows = [i for i, row in enumerate(lines) if exact.search(row)]
    return next((i for i in rows if key in lines[i]), rows[0] if rows else 0)


def _named_link(name: str, relation: Relation, source: Source, confidence: float, evidence: str) -> Inferred:
    """A link for a name a recipe gives: a Hub id, else a local parent (with PA008) that stays unresolved."""
    out = Inferred()
    target = hub_id(name)
    if target is not None and not is_local_path(name):
        out.links.append(_link(target, name, relation, source, confidence, evidence))
        return out
    local = name.strip().rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] or name.strip()
    out.links.append(_link(f"{LOCAL}{local}", name, relation, source, confidence, evidence))
    out.findings.append(
        Finding(
            rule="PA008",
            severity=Severity.WARNING,
            message=f"{source.describe()}: {relation.value} parent {name.strip()!r} is a local path or a bare name, "
            "not a Hub repo id; its terms are unknown",
            source=source,
            fix="name every parent of the merge by its Hub repo id in the recipe and in the card's `base_model`",
        )
    )
    return out


# --- prose and lists -------------------------------------------------------------------------------


def from_merge_prose(
    body: str, *, collector: str, file: str = "README.md", first_line: int = 1, repo: str | None = None
) -> Inferred:
    """Merge parents named in sentences and lists.

    "X is a merge of [A](https://huggingface.co/A) and `B/C`" (every Hub repo of the sentence), "This model was
    merged using the SLERP merge method using [A](...) as a base" (``merge_base``) and the items of a list under
    "Models Merged", "Models used:", "The following models were included in the merge:". A family name ("a merge
    of two Llama 2 13B models") resolves to its family at confidence 0.6. Code blocks and tables are skipped.
    """
    out = Inferred()
    in_code = False
    in_list = False
    blank_run = 0
    for number, line in enumerate(body.splitlines(), start=first_line):
        stripped = line.strip()
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code or stripped.count("|") >= 2:
            in_list = False
            continue
        if _LIST_HEADER.match(stripped):
            in_list, blank_run = True, 0
            continue
        if in_list:
            if not stripped:
                blank_run += 1
                in_list = blank_run < 2
                continue
            blank_run = 0
            if _LIST_ITEM.match(line):
                source = Source(collector=collector, file=file, field="text", line=number)
                for target, confidence in _parents_in(stripped, repo, first_only=True):
                    out.links.append(
                        _link(target, stripped, Relation.MERGE, source, min(confidence, LIST_CONFIDENCE), stripped)
                    )
                continue
            in_list = False
        if not _MERGE_WORDS.search(line):
            continue
        source = Source(collector=collector, file=file, field="text", line=number)
        words = _URLS.sub(lambda m: " " * len(m.group(0)), line)
        for match in _BASE_TRIGGER.finditer(words):
            segment = line[match.start(1) : match.end(1)]
            for target, confidence in _parents_in(segment, repo, first_only=True):
                out.links.append(
                    _link(target, segment, Relation.MERGE_BASE, source, confidence, _clip(line[match.start() :]))
                )
        done = -1
        for match in _MERGE_TRIGGER.finditer(words):
            if match.start() < done:
                continue  # one sentence read once ("a merge of A merged with B")
            # the whole sentence: "A merged with B" names both sides
            begin = max((m.end() for m in _SENTENCE_END.finditer(words, 0, match.start())), default=0)
            end = _SENTENCE_END.search(words, match.end())
            done = end.start() if end else len(line)
            segment = line[begin:done]
            base = _BASE_TRIGGER.search(segment)
            if base:  # "merged ... using A as a base": A is the merge base, read above
                segment = segment[: base.start()]
            evidence = _clip(line[match.start() :])
            found = _parents_in(segment, repo)
            if not found and _STRONG_MERGE.search(match.group(0)):
                found = _display_names(segment, repo)
            for target, confidence in found:
                out.links.append(_link(target, segment, Relation.MERGE, source, confidence, evidence))
    return out


def _parents_in(text: str, repo: str | None, *, first_only: bool = False) -> list[tuple[str, float]]:
    """Hub repos a piece of prose names (links to huggingface.co, `owner/name`, bare owner/name); none: a family."""
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for match in _HF_LINK.finditer(text):
        target = hub_id(match.group(2)) or hub_id(match.group(1))
        taken.append(match.span())
        if target:
            found.append((match.start(), target))
    for pattern in (_HF_BARE_URL, _TICK_ID, _BARE_ID):
        for match in pattern.finditer(text):
            if any(a <= match.start() < b for a, b in taken):
                continue
            taken.append(match.span())
            value = match.group(1) if pattern is not _HF_BARE_URL else match.group(0)
            target = hub_id(value)
            if target and _plausible(target):
                found.append((match.start(), target))
    found.sort()
    targets = list(dict.fromkeys(t for _, t in found))
    if targets:
        return [(t, MERGE_PROSE_CONFIDENCE) for t in (targets[:1] if first_only else targets)]
    family = find_family(text)
    if family is None or re.search(r"[\w-]$", text[: family[1].start()]):
        return []  # none, or inside a longer name ("OpenHermes-2-Mistral-7B" is no Mistral 7B)
    size_hint = repo.rpartition("/")[2] if repo else None
    target = family[0].resolve(text, family[1].start(), family[1].end(), size_hint)
    return [(target, PROSE_FAMILY_CONFIDENCE)] if target else []


_STRONG_MERGE = re.compile(r"merge[ds]?\s+(of|from|between|with)|franken", re.I)
_DISPLAY_NAME = re.compile(r"[A-Za-z][\w.]*(?:[-_][\w.]+)+")


def _display_names(segment: str, repo: str | None) -> list[tuple[str, float]]:
    """Parents a merge sentence names without a Hub id ("a merge of OpenHermes-2.5-neural-chat and Bruins-V2"):
    a family when the name is one, else a parent without a Hub id (``local:<name>``, unresolved). A name is a
    hyphenated word with a digit or two hyphens; the model itself and what the merge results in are not parents."""
    own = (repo or "").rpartition("/")[2].casefold()
    cut = re.search(r"\bresult(s|ing)?\s+in\b|\bto\s+(create|make|produce)\b", segment, re.I)
    out: list[tuple[str, float]] = []
    for match in _DISPLAY_NAME.finditer(segment[: cut.start()] if cut else segment):
        name = match.group(0).rstrip(".")
        if not (re.search(r"\d", name) or name.count("-") >= 2) or name.casefold() == own:
            continue
        if re.fullmatch(r"[\d.]+[bkm]?|\d+x\d+b?|v?\d[\w.]*", name, re.I):
            continue  # a size, a version, a count: no model
        family = find_family(name)
        if family is not None and family[1].start() == 0 and family[1].end() >= len(name) - 4:
            target = family[0].resolve(name, family[1].start(), family[1].end())
            if target:
                out.append((target, PROSE_FAMILY_CONFIDENCE))
                continue
        out.append((f"{LOCAL}{name}", DISPLAY_NAME_CONFIDENCE))
    return list(dict.fromkeys(out))


def _plausible(target: str) -> bool:
    """An owner/name that reads as a Hub repo, not as "and/or", "7B/13B" or a file path."""
    owner, _, name = target.partition("/")
    if owner.lower() in {"and", "or", "http", "https", "www"} or re.fullmatch(r"\d+[bm]?", owner, re.I):
        return False
    return not re.search(r"\.(py|md|json|yaml|yml|txt|gguf|bin|safetensors|png|jpg)$", name, re.I)


# --- Hub tags ----------------------------------------------------------------------------------------

_TAG_RELATIONS = {
    "merge": Relation.MERGE,
    "finetune": Relation.FINETUNE,
    "adapter": Relation.ADAPTER,
    "quantized": Relation.QUANTIZED,
}


def tag_parent(tag: str) -> tuple[str, Relation] | None:
    """(parent repo id, relation) from a Hub tag ``base_model:[merge:|finetune:|adapter:|quantized:]<id>``."""
    if not tag.startswith("base_model:"):
        return None
    rest = tag.removeprefix("base_model:")
    kind, sep, value = rest.partition(":")
    if sep and kind in _TAG_RELATIONS:
        return (value.strip(), _TAG_RELATIONS[kind]) if value.strip() else None
    return (rest.strip(), Relation.BASE_MODEL) if rest.strip() else None


# --- licence sentences -------------------------------------------------------------------------------

_LICENSE_LINE = re.compile(r"^[#>*_\s-]*licen[cs]e[sd]?\s*(?:\*\*|__)?\s*[:：]\s*(?:\*\*|__)?\s*(.{2,200})$", re.I)
_UNDER = re.compile(
    r"\b(?:released|licen[cs]ed|distributed|published|available|made\s+available|provided|shared)\s+under\s+"
    r"(?:the\s+|an?\s+)?(.{2,120}?)(?=\s*(?:[.;,(]\s|[.;]$|$|\s+and\s+(?:is|may|can|must|the)\b|\s+for\b))",
    re.I,
)
_ACADEMIC_ONLY = re.compile(
    r"\b(academic|educational)\s+(research\s+)?(use|purposes?)\s+only\b|\bonly\s+for\s+academic\b|\bacademic[\s-]+only\b",
    re.I,
)
_NON_COMMERCIAL = re.compile(
    r"\bnon[\s-]?commercial\b|\bnot\s+(be\s+)?(used\s+)?for\s+commercial\b|\bno\s+commercial\s+use\b"
    r"|\bresearch\s+(use|purposes?)\s+only\b|\bfor\s+research\s+(use|purposes?)\s+only\b|\bonly\s+for\s+research\b"
    r"|\bcommercial\s+use\s+is\s+(not\s+permitted|prohibited|not\s+allowed|forbidden)\b",
    re.I,
)
# "commercial and non-commercial use", "non-commercial or commercial": no restriction
_BOTH = re.compile(
    r"\bcommercial\s+(and|or|&|/)\s+non[\s-]?commercial\b|\bnon[\s-]?commercial\s+(and|or|&|/)\s+commercial\b", re.I
)
_THIRD_PARTY_TERMS = re.compile(
    r"\b(must|should|shall|need\s+to|have\s+to)\s+(comply|abide|adhere)\s+(with|by)\s+(the\s+)?"
    r"(terms|policies|policy|tos)\b[^.]{0,80}\b(api|terms\s+of\s+(use|service)|platform|website)\b",
    re.I,
)
_NEGATED = re.compile(r"\b(unlike|instead\s+of|rather\s+than|not\s+(under|licensed))\b", re.I)
_CODE_ONLY = re.compile(
    r"\b(source\s+code|the\s+code|code\s+(in|of)\s+this|our\s+code|scripts?|codebase|software)\b", re.I
)
_MD_LINK_TEXT = re.compile(r"\[([^\]\n]*)\]\(([^)\s]*)\)")
# a word each statement or restriction pattern above contains: a line without one holds no sentence to read
# (tests/test_card_prefilter.py checks the statements are the same)
_PROSE_WORDS = re.compile(r"licen[cs]|under|commercial|research|academic|educational|comply|abide|adhere", re.I)


def prose_licenses(body: str, first_line: int = 1) -> list[ProseLicense]:
    """Licence statements and use restrictions in a card's Markdown body (code blocks and tables skipped).

    "License: X" and "released under X" read as licence X when X is a known licence; "non-commercial",
    "research purposes only", "academic use only" and "must comply with the terms of the API" read as terms,
    each with its sentence. "for commercial and non-commercial use" is no restriction.
    """
    found: list[ProseLicense] = []
    in_code = False
    for number, line in enumerate(body.splitlines(), start=first_line):
        if _FENCE.match(line):
            in_code = not in_code
            continue
        stripped = line.strip()
        if in_code or not stripped or stripped.count("|") >= 2:
            continue
        plain = _MD_LINK_TEXT.sub(lambda m: m.group(1) or m.group(2), stripped) if "[" in stripped else stripped
        if not _PROSE_WORDS.search(plain):
            continue
        for sentence in _sentences(plain):
            item = _read_sentence(sentence)
            if item is not None:
                found.append(ProseLicense(number, _clip(sentence, 240), *item))
    return found


def _sentences(line: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z*_#])", line)
    return [p.strip() for p in parts if p.strip()]


def _read_sentence(sentence: str) -> tuple[str | None, str] | None:
    if _NEGATED.search(sentence):
        return None
    restriction = _restriction(sentence)
    if restriction:
        return restriction, "restriction"
    if _CODE_ONLY.search(sentence):
        return None  # the licence of the code beside the weights or data, not of them
    for pattern in (_LICENSE_LINE, _UNDER):
        match = pattern.search(sentence)
        if not match:
            continue
        value = match.group(1).strip(" *_`'\".:")
        read = normalize(value)
        if read.expression is None and pattern is _UNDER and not re.search(r"licen[cs]e", value, re.I):
            read = normalize(f"{value} license")
        expression = read.expression
        if expression and expression not in {"LicenseRef-provaudit-unknown", "LicenseRef-provaudit-other"}:
            return expression, "statement"
    return None


def _restriction(sentence: str) -> str | None:
    if _BOTH.search(sentence):
        return None
    if _ACADEMIC_ONLY.search(sentence):
        return "LicenseRef-provaudit-academic-only"
    if _NON_COMMERCIAL.search(sentence):
        return "LicenseRef-provaudit-non-commercial"
    if _THIRD_PARTY_TERMS.search(sentence):
        return "LicenseRef-provaudit-third-party-terms"
    return None


# --- helpers -----------------------------------------------------------------------------------------


def _link(target: str, raw: str, relation: Relation, source: Source, confidence: float, evidence: str) -> Upstream:
    return Upstream(
        target=record_id(Kind.MODEL, target),
        raw=" ".join(raw.split())[:200],
        relation=relation,
        source=source,
        inferred=True,
        confidence=confidence,
        evidence=evidence,
    )


def _clip(text: str, limit: int = 160) -> str:
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: limit - 3] + "..."
