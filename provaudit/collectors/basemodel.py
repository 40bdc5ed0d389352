"""Finding a model's base where its card does not declare it.

A Hub model repo often names its base only in the files beside the card or in prose: PEFT's
``adapter_config.json`` (``base_model_name_or_path``), transformers' ``config.json`` and diffusers'
``model_index.json`` (``_name_or_path``), the card's text ("Finetuned from model: X", the Trainer's
"This model is a fine-tuned version of [X](https://huggingface.co/X) on the Y dataset") and the repo
name (``TheBloke/Llama-2-13B-GPTQ``). Each becomes an :class:`Upstream` link with ``inferred=True``, a
confidence, the words it was read from and its source (file, field, line), so it never counts as
declared. Family names ("Llama 2 13B") resolve through ``data/licenses/model_families.yaml``.

Architecture is not derivation: ``architectures``/``model_type`` never make a link, nor does a mention
followed by "architecture"/"tokenizer", nor a model trained from scratch on a borrowed name (TinyLlama,
OpenLLaMA; ``target: null`` in the table).

The functions here are pure (contents in, links and findings out); :func:`apply` puts them on a record,
where a declared base wins. Rule ids: PA008 local path where a Hub id belongs (warning), PA009 the card's
base disagrees with ``adapter_config.json`` (warning), PA118 a base model inferred, not declared (info).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml

from provaudit.collectors._lines import INLINE_SPACE, lines_hit
from provaudit.records.identity import clean_name, id_key, record_id
from provaudit.records.model import BASE_RELATIONS, Finding, Kind, Record, Relation, Severity, Source, Upstream
from provaudit.resources import resource

# how much each kind of evidence is trusted (0..1)
ADAPTER_CONFIDENCE = 0.95  # PEFT loads the adapter onto exactly this base
CONFIG_CONFIDENCE = 0.7  # the repo the weights were loaded from; may be a leftover of a copied config
PROSE_ID_CONFIDENCE = 0.8  # the card's words naming a Hub repo
PROSE_FAMILY_CONFIDENCE = 0.6  # the card's words naming a family ("Llama 2 13B")
NAME_CONFIDENCE = 0.5  # the repo name carries a family name
# weaker evidence only fills a gap: it is dropped when a declared or a stronger inferred base exists
WEAK = 0.7
_CARD_EVIDENCE = frozenset({"text", "repo id"})  # Source.field of links read from the card's words or the name
# a merge has several parents: its recipe and the words naming what was merged add to a declared base
_MERGE_RELATIONS = frozenset({Relation.MERGE, Relation.MERGE_BASE})


# a Hub repo id: owner/name (owners have no dots, which keeps domains such as github.com out)
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,95}/[A-Za-z0-9_.][\w.-]{0,95}$")
# ids from before the Hub had owners ("bert-base-uncased", "gpt2"): only accepted in this shape
_LEGACY_ID = re.compile(
    r"^(bert-|roberta-|distil\w*-|gpt2|t5-|xlnet-|xlm-|albert-|camembert-|openai-gpt|electra-|longformer-)[\w.-]*$",
    re.I,
)
_LOCAL_PATH = re.compile(r"^(/|\./|\.\./|~|[A-Za-z]:[\\/])|\\")
_HF_URL = re.compile(
    r"https?://(?:www\.)?huggingface\.co/(?!datasets/|spaces/|docs\b|blog\b|papers\b|collections/|models\b|api/)"
    r"([\w.-]+(?:/[\w.-]+)?)"
)
_MD_LINK = re.compile(r"\[([^\]\n]{1,200})\]\(([^)\s]{1,400})\)")
_BACKTICK_ID = re.compile(r"`([\w.-]+/[\w.-]+)`")
_BARE_ID = re.compile(r"(?<![\w./:@-])([A-Za-z0-9][A-Za-z0-9_-]{0,95}/[A-Za-z0-9_][\w.-]*[A-Za-z0-9])(?![\w/-])")
# a parameter count ("13B", "1.8b", "1_8B", "160m"); a lookahead so "LLaMA_2_13B" also yields "13B"
_SIZE = re.compile(r"(?<!\d)(?=(\d+(?:[._]\d+)?)[\s_-]?([bm])(?![a-z]))", re.I)
_QUANTIZED_NAME = re.compile(r"(?<![a-z])(gptq|gguf|ggml|awq|exl2|\d+(\.\d+)?bpw)(?![a-z])", re.I)
# the card's words that introduce the model it was made from, and the relation they mean
_TRIGGERS: tuple[tuple[re.Pattern[str], Relation], ...] = (
    (re.compile(r"\bfine-?tuned from model\b(\s*\[optional\])?", re.I), Relation.FINETUNE),
    (re.compile(r"\bfine[\s-]?tuned\s+(version\s+of|from|on\s+top\s+of)\b", re.I), Relation.FINETUNE),
    (re.compile(r"\b(trained|built)\s+on\s+top\s+of\b", re.I), Relation.FINETUNE),
    (
        re.compile(r"\b(GPTQ|GGUF|GGML|AWQ|EXL2)\s+model\s+files\s+for\b|\bquantized\s+version\s+of\b", re.I),
        Relation.QUANTIZED,
    ),
    (re.compile(r"\bbased\s+on\b", re.I), Relation.BASE_MODEL),
)
_FENCE_MARK = re.compile(r"```|~~~")  # in every fence line
# a word every trigger above contains: only a line it finds goes through the five patterns (most lines of
# a card hold none, and one search costs a fifth of five); tests/test_card_prefilter.py checks both agree.
# Its spaces stay within a line, so one scan of the whole body finds the lines (_lines.lines_hit)
_TRIGGER_WORDS = re.compile(rf"tuned|top{INLINE_SPACE}+of|files{INLINE_SPACE}+for|quantized|based", re.I)
# right after a family mention: it names the design, not the weights
_ARCHITECTURE_AFTER = re.compile(r"^[\s\w.'’-]{0,30}?\b(architecture|arch|tokeni[sz]er|structure|design)\b", re.I)
_ARCHITECTURE_BEFORE = re.compile(r"\b(architecture|tokeni[sz]er)s?\s+(as|of|like)\s+(the\s+)?$", re.I)
_FROM_SCRATCH = re.compile(r"\bfrom\s+scratch\b", re.I)
# the object of a trigger ends with its sentence or clause: "based on LLaMA, ... based on LLaMA-2" are two
_CLAUSE_END = re.compile(r"[.!?;](\s|$)|,\s|\s[-–—(]\s?")
_URL = re.compile(r"(?:https?|magnet|ftp):[^\s)\]]+")
_WINDOW = 160


@dataclass(frozen=True)
class Family:
    """A model family from ``model_families.yaml``; ``target`` None: trained from scratch, not derived."""

    name: str
    pattern: re.Pattern[str]
    target: str | None
    source: str
    sizes: dict[str, str] = field(default_factory=dict)
    exclude: re.Pattern[str] | None = None

    def resolve(self, text: str, start: int, end: int, size_hint: str | None = None) -> str | None:
        """The family's repo for the size written at or right after the mention (else in ``size_hint``,
        the repo name: "vicuna-13b" fine-tuned from "Llama 2"), else its default."""
        if self.target is None:
            return None
        for where in (text[start : end + 12], size_hint or ""):
            sizes = [f"{m.group(1).replace('_', '.')}{m.group(2)}".lower() for m in _SIZE.finditer(where)]
            known = [size for size in sizes if size in self.sizes]
            if known:
                return self.sizes[known[0]]
            if sizes:  # a size the table does not know (a 22B frankenmerge): the family's default
                break
        return self.target


@dataclass
class Inferred:
    """What one piece of evidence says: links (all ``inferred=True``) and findings."""

    links: list[Upstream] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def extend(self, other: Inferred) -> None:
        self.links += other.links
        self.findings += other.findings


@lru_cache(maxsize=1)
def families() -> tuple[Family, ...]:
    """The family table, in file order."""
    data = yaml.safe_load(resource("data", "licenses", "model_families.yaml").read_text(encoding="utf-8"))
    out = []
    for entry in data["families"]:
        out.append(
            Family(
                name=str(entry["name"]),
                pattern=re.compile(str(entry["pattern"]), re.I),
                target=entry.get("target"),
                source=str(entry["source"]),
                sizes={str(k).lower(): str(v) for k, v in (entry.get("sizes") or {}).items()},
                exclude=re.compile(str(entry["exclude"]), re.I) if entry.get("exclude") else None,
            )
        )
    return tuple(out)


def find_family(text: str) -> tuple[Family, re.Match[str]] | None:
    """The earliest family mention in text (the longest at one position), exclusions applied."""
    best: tuple[Family, re.Match[str]] | None = None
    for family in families():
        for match in family.pattern.finditer(text):
            if family.exclude is not None and family.exclude.search(_word_around(text, match.start(), match.end())):
                continue
            if best is None or (match.start(), -match.end()) < (best[1].start(), -best[1].end()):
                best = (family, match)
            break
    return best


def hub_id(value: str) -> str | None:
    """A Hub repo id from a value that may be one (or a huggingface.co URL), else None.

    Ids without an owner ("bert-base-uncased") are accepted only inside a huggingface.co URL: as bare words
    they are names ("BERT", "RoBERTa"), not repos.
    """
    value = value.strip().strip("`'\"")
    url = _HF_URL.match(value)
    if url:
        value = clean_name(url.group(0)).rstrip(".")
        return value if _HUB_ID.match(value) or _LEGACY_ID.match(value) else None
    return value.rstrip(".") if _HUB_ID.match(value) else None


def is_local_path(value: str) -> bool:
    return bool(_LOCAL_PATH.search(value.strip()))


# --- files -----------------------------------------------------------------------------------------


def from_adapter_config(data: Any, text: str | None, *, collector: str, file: str = "adapter_config.json") -> Inferred:
    """PEFT ``adapter_config.json``: the adapter is an adapter of ``base_model_name_or_path``."""
    out = Inferred()
    value = data.get("base_model_name_or_path") if isinstance(data, dict) else None
    if not isinstance(value, str) or not value.strip():
        return out
    key = "base_model_name_or_path"
    source = Source(collector=collector, file=file, field=key, line=_json_line(text, key))
    if is_local_path(value):
        out.findings.append(
            Finding(
                rule="PA008",
                severity=Severity.WARNING,
                message=f"{source.describe()}: base model {value.strip()!r} is a local path, not a Hub repo id",
                source=source,
                fix="declare the base model by its Hub repo id in the card's `base_model`",
            )
        )
        return out
    target = hub_id(value)
    if target:
        evidence = f'"{key}": "{value.strip()}"'
        out.links.append(_link(target, value, Relation.ADAPTER, source, ADAPTER_CONFIDENCE, evidence))
    return out


def from_config(data: Any, text: str | None, *, collector: str, file: str = "config.json") -> Inferred:
    """transformers' ``config.json`` or diffusers' ``model_index.json``: ``_name_or_path`` when a Hub id.

    ``architectures``/``model_type``/``_class_name`` are never read: reusing an architecture is not
    deriving from a model. A local path here is the training run's output folder: no link, no finding.
    """
    out = Inferred()
    value = data.get("_name_or_path") if isinstance(data, dict) else None
    if not isinstance(value, str) or not value.strip() or is_local_path(value):
        return out
    target = hub_id(value)
    if target:
        source = Source(collector=collector, file=file, field="_name_or_path", line=_json_line(text, "_name_or_path"))
        evidence = f'"_name_or_path": "{value.strip()}"'
        out.links.append(_link(target, value, Relation.BASE_MODEL, source, CONFIG_CONFIDENCE, evidence))
    return out


# --- the card's words and the repo name ------------------------------------------------------------


def from_card_text(
    body: str, *, collector: str, file: str = "README.md", first_line: int = 1, repo: str | None = None
) -> Inferred:
    """Phrases such as "fine-tuned version of X" or "Finetuned from model: X" in a card's Markdown body.

    ``first_line`` is the README line the body starts on, so each link names its real line; ``repo`` (the
    repo id) gives the size of a family named without one. Code blocks and table rows are skipped (code
    names models it loads; tables compare models).
    """
    out = Inferred()
    hint = clean_name(repo).rpartition("/")[2] if repo else None
    in_code = False
    lines = body.splitlines()
    # only lines with a trigger word or a fence can matter
    for index in lines_hit(body, _TRIGGER_WORDS, _FENCE_MARK):
        if index >= len(lines):
            break
        number, line = first_line + index, lines[index]
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            in_code = not in_code
            continue
        if in_code or not _TRIGGER_WORDS.search(line) or stripped.count("|") >= 2:
            continue
        taken: list[tuple[int, int]] = []  # "Finetuned from model" is also "finetuned from": read once
        for trigger, relation in _TRIGGERS:
            for match in trigger.finditer(line):
                if any(match.start() < b and a < match.end() for a, b in taken):
                    continue
                taken.append(match.span())
                found = _object_of(line, match.end(), hint)
                if found is None:
                    continue
                target, confidence = found
                source = Source(collector=collector, file=file, field="text", line=number)
                evidence = _snippet(line, match.start())
                out.links.append(_link(target, evidence, relation, source, confidence, evidence))
    return out


def from_repo_name(name: str, *, collector: str) -> Inferred:
    """A family named in the repo name (``TheBloke/Llama-2-13B-GPTQ``): a weak hint, confidence 0.5.

    The family publisher's own repos are skipped (``mistralai/Mistral-7B-v0.3`` is not a derivative of
    ``mistralai/Mistral-7B-v0.1``); a GPTQ/GGUF/AWQ/EXL2 name reads as a quantization.
    """
    out = Inferred()
    owner, _, repo = clean_name(name).rpartition("/")
    found = find_family(repo)
    if found is None:
        return out
    family, match = found
    target = family.resolve(repo, match.start(), match.end(), repo)
    if target is None or (owner and target.split("/")[0].lower() == owner.lower()):
        return out
    relation = Relation.QUANTIZED if _QUANTIZED_NAME.search(repo) else Relation.BASE_MODEL
    source = Source(collector=collector, field="repo id")
    evidence = f"repo name {clean_name(name)!r} ({family.name})"
    out.links.append(_link(target, clean_name(name), relation, source, NAME_CONFIDENCE, evidence))
    return out


# --- onto a record ---------------------------------------------------------------------------------


def apply(record: Record, inferred: Inferred) -> None:
    """Add inferred links to a model record, each with a PA118 finding; a declared base always wins.

    - never a link to the record itself;
    - never a link the record already declares (same target, case-insensitive);
    - the card's prose and the repo name only when the card declares no base (its own words about an
      ancestor, or copied from the parent's card, must not add a second parent); family and repo-name
      hints only when nothing stronger names a base either;
    - one link per target, the most confident;
    - ``adapter_config.json`` naming another base than the card's: both kept, PA009.
    """
    record.findings.extend(inferred.findings)
    if record.kind is not Kind.MODEL:
        return
    declared = [u for u in record.upstream if not u.inferred and u.relation in BASE_RELATIONS]
    declared_keys = {id_key(u.target) for u in declared}
    best: dict[str, Upstream] = {}
    for link in inferred.links:
        key = id_key(link.target)
        if key == id_key(record.id) or key in declared_keys:
            continue
        if key not in best or link.confidence > best[key].confidence:
            best[key] = link
    strong = bool(declared) or any(link.confidence >= WEAK for link in best.values())
    owner = record.name.partition("/")[0].casefold() if "/" in record.name else None
    for link in best.values():
        if declared and link.source.field in _CARD_EVIDENCE and link.relation not in _MERGE_RELATIONS:
            continue
        if link.confidence < WEAK and (strong or _owner(link.target) == owner):
            # a family hint in the publisher's own card is about its other models ("Yi-9B ... based on Yi-6B")
            continue
        if not record.add("upstream", link):
            continue
        if link.relation is Relation.ADAPTER and declared:
            record.findings.append(_disagreement(declared[0], link))
        record.findings.append(_inferred_finding(link))


def infer(
    record: Record,
    *,
    collector: str,
    files: dict[str, tuple[Any, str | None]] | None = None,
    body: str | None = None,
    card_file: str | None = None,
    body_first_line: int = 1,
) -> None:
    """Every piece of evidence a model repo has, onto its record (see :func:`apply`).

    ``files`` maps ``adapter_config.json`` / ``config.json`` / ``model_index.json`` to (parsed JSON, text).
    """
    if record.kind is not Kind.MODEL:
        return
    found = Inferred()
    for name, (data, text) in sorted((files or {}).items()):
        if name == "adapter_config.json":
            found.extend(from_adapter_config(data, text, collector=collector, file=name))
        elif name in {"config.json", "model_index.json"}:
            found.extend(from_config(data, text, collector=collector, file=name))
    if body:
        from provaudit.collectors import lineage_text  # it reads ids and families with this module's helpers

        file = card_file or "README.md"
        found.extend(from_card_text(body, collector=collector, file=file, first_line=body_first_line, repo=record.name))
        found.extend(lineage_text.from_recipes(body, collector=collector, file=file, first_line=body_first_line))
        found.extend(
            lineage_text.from_merge_prose(
                body, collector=collector, file=file, first_line=body_first_line, repo=record.name
            )
        )
    if not record.name.startswith(("gh__", "dpi/", "pipeline:")):
        found.extend(from_repo_name(record.name, collector=collector))
    apply(record, found)


# --- helpers ---------------------------------------------------------------------------------------


def _owner(rid: str) -> str | None:
    name = rid.partition(":")[2]
    return name.partition("/")[0].casefold() if "/" in name else None


def _link(target: str, raw: str, relation: Relation, source: Source, confidence: float, evidence: str) -> Upstream:
    return Upstream(
        target=record_id(Kind.MODEL, target),
        raw=raw.strip(),
        relation=relation,
        source=source,
        inferred=True,
        confidence=confidence,
        evidence=evidence,
    )


def _object_of(line: str, start: int, size_hint: str | None = None) -> tuple[str, float] | None:
    """The model named first after a trigger phrase (up to the clause end): (Hub id, confidence)."""
    if _FROM_SCRATCH.search(line):
        return None
    window = line[start : start + _WINDOW]
    # URLs are not words: blank them (same length) so a clause or a family is not read inside one
    words = _URL.sub(lambda m: " " * len(m.group(0)), window)
    lead = len(words) - len(words.lstrip(" :*"))  # "Finetuned from model:** X"
    end = _CLAUSE_END.search(words, lead)
    if end:
        window, words = window[: end.start()], words[: end.start()]
    candidates: list[tuple[int, int, str, re.Match[str]]] = []
    for kind, pattern in (("link", _MD_LINK), ("tick", _BACKTICK_ID), ("id", _BARE_ID)):
        match = pattern.search(window)
        if match and (kind != "id" or _plausible_bare_id(match.group(1))):
            candidates.append((match.start(), 0, kind, match))
    family_match = find_family(words)
    if family_match and re.search(r"[\w-]$", words[: family_match[1].start()]):
        family_match = None  # inside a longer name ("Phind-CodeLlama-34B-v1"): another model, not the family
    if family_match:
        candidates.append((family_match[1].start(), 1, "family", family_match[1]))
    if not candidates:
        return None
    _, _, kind, match = min(candidates, key=lambda c: (c[0], c[1]))
    before, after = window[: match.start()], window[match.end() :]
    if kind == "link":
        text, url = match.group(1), match.group(2)
        # the URL names the repo; the text only when the URL goes nowhere else ("[google-research/bert](github)")
        target = hub_id(url) if _HF_URL.match(url) else (None if "://" in url else hub_id(text))
        if target is not None:
            return target, PROSE_ID_CONFIDENCE
        in_text = find_family(text)
        return _family_link(in_text, text, before, after, size_hint) if in_text else None
    if kind in {"tick", "id"}:
        target = hub_id(match.group(1))
        return (target, PROSE_ID_CONFIDENCE) if target else None
    return _family_link(family_match, words, before, after, size_hint)


def _plausible_bare_id(value: str) -> bool:
    """An unquoted owner/name that reads as a repo id, not as "license/restrictions" or "Llama-2/Mistral"."""
    owner, _, name = value.partition("/")
    return bool(re.search(r"[-_.\d]|[A-Z]", name)) and find_family(owner) is None


def _family_link(
    found: tuple[Family, re.Match[str]] | None, text: str, before: str, after: str, size_hint: str | None
) -> tuple[str, float] | None:
    """A family mention as a link target, unless it names an architecture or a from-scratch model."""
    if found is None:
        return None
    family, match = found
    if _ARCHITECTURE_AFTER.match(after) or _ARCHITECTURE_BEFORE.search(before):
        return None
    target = family.resolve(text, match.start(), match.end(), size_hint)
    return (target, PROSE_FAMILY_CONFIDENCE) if target else None


def _word_around(text: str, start: int, end: int) -> str:
    """The whitespace-delimited word a match sits in (for exclusions such as TinyLlama)."""
    left = max(text.rfind(" ", 0, start), text.rfind("\n", 0, start)) + 1
    right = min([i for i in (text.find(" ", end), text.find("\n", end)) if i != -1] or [len(text)])
    return text[left:right]


def _json_line(text: str | None, key: str) -> int | None:
    if not text:
        return None
    at = text.find(f'"{key}"')
    return text.count("\n", 0, at) + 1 if at >= 0 else None


def _snippet(line: str, start: int) -> str:
    words = " ".join(line[start:].split())
    return words if len(words) <= 160 else words[:157] + "..."


def _inferred_finding(link: Upstream) -> Finding:
    target = link.target.partition(":")[2]
    where = f"{link.source.file}:{link.source.line}" if link.source.file and link.source.line else None
    where = where or link.source.file or "the repo name"
    return Finding(
        rule="PA118",
        severity=Severity.INFO,
        message=(
            f"{'merge parent' if link.relation in _MERGE_RELATIONS else 'base model'} {target} inferred from {where} "
            f"({link.evidence}), not declared in the card "
            f"(relation {link.relation.value}, confidence {link.confidence:.2f})"
        ),
        source=link.source,
        fix=f"name the parent {target.removeprefix('local:')!r} by its Hub repo id in the card's `base_model`"
        if target.startswith("local:")
        else f"declare `base_model: {target}` (and `base_model_relation`) in the card",
        evidence=[link.evidence] if link.evidence else [],
    )


def _disagreement(declared: Upstream, adapter: Upstream) -> Finding:
    card = declared.target.partition(":")[2]
    found = adapter.target.partition(":")[2]
    return Finding(
        rule="PA009",
        severity=Severity.WARNING,
        message=f"card's base_model {card} disagrees with {adapter.source.file}'s {found}",
        source=adapter.source,
        fix="check which base the adapter was trained on and declare that one in the card's `base_model`",
        evidence=[f"{declared.source.describe()}: {declared.raw}", f"{adapter.source.describe()}: {adapter.raw}"],
    )
