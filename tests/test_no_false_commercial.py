"""No false "commercial OK", checked over the whole real corpus by a checker that shares nothing with provaudit.

The checker reads the raw card YAML, adapter_config.json and DPI JSON itself and classifies licenses with
its own small tables below (and DPI's constants from ../shared/corpus, not provaudit's copy in data/), so
a wrong table in data/ cannot make it pass. provaudit's records are used only to map a folder or a DPI
uid to its verdict.

Asserted for every card in ../shared/corpus/hf and every DPI record in ../shared/corpus/dpi: the default
policy never says `commercial` where a declared license, an expert annotation or an upstream (declared or
inferred, followed transitively) is non-commercial or academic-only; where an upstream has no record;
where a no-derivatives license is in the lineage without the no-derivatives flag; or where a base model's
license with use restrictions is in the lineage without the use-restrictions flag. And the default policy
is never more permissive than `--policy dpi` on a DPI record.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from provaudit import api
from provaudit.collectors.base import CollectOptions
from provaudit.rules.review import review_records

RANK = {"commercial": 0, "unspecified": 1, "non-commercial": 2, "academic-only": 3}
FRONT = re.compile(r"^\s*---\r?\n(.*?)\r?\n---", re.S)
# the checker's own reading of license strings (Hub ids, SPDX ids, DPI names, free text)
RESEARCH_ONLY = {
    "deepfloyd-if-license",
    "h-research",
    "intel-research",
    "apple-amlr",
    "academic research purposes only",
}
USE_RESTRICTED = re.compile(r"llama ?[234]|llama2|llama3|gemma|openrail|rail-|bloom-rail|creativeml|bigcode", re.I)
NOT_SOURCES = {"original", "extended", "unknown", "other", ""}
OPENAI = re.compile(r"\b(openai|chatgpt|gpt-?3|gpt-?3\.5|gpt-?4|text-davinci|davinci)\b", re.I)
OPEN_WEIGHTS = re.compile(r"\bgpt-?[12]\b", re.I)  # GPT-1 and GPT-2 weights are MIT, not under OpenAI's terms
FAMILY_LLAMA2 = re.compile(r"llama[-_ ]?2", re.I)
NOT_LLAMA2 = re.compile(r"tinyllama|open[-_]?llama", re.I)


def flags_of(raw: str) -> set[str]:
    """nc / acad / nd / restricted for one declared license string."""
    text = raw.strip().lower()
    tokens = set(re.split(r"[^a-z0-9.+]+", text))
    squashed = re.sub(r"[^a-z]", "", text)
    found: set[str] = set()
    if "nc" in tokens or "noncommercial" in squashed:
        found.add("nc")
    academic = "academic" in tokens and "free" not in tokens  # the Academic Free License is permissive
    if text in RESEARCH_ONLY or academic or ("research" in tokens and "only" in tokens):
        found.add("acad")
    if "nd" in tokens or "noderivatives" in squashed or "noderivs" in squashed:
        found.add("nd")
    if USE_RESTRICTED.search(text):
        found.add("restricted")
    return found


def _listify(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in (value if isinstance(value, list) else [value]) if str(v).strip()]


class Node:
    """The checker's view of one record: its own flags and its propagating upstream names."""

    def __init__(self, own: set[str], upstream: list[str], hub: str | None = None, title: str | None = None) -> None:
        self.own = own
        self.title = title  # a DPI record's Dataset Name
        self.upstream = upstream  # keys of other nodes, or names the corpus does not have
        self.hub = hub  # for a DPI record: the Hugging Face dataset it is (a part of)


def _card_node(folder: Path, kind: str) -> tuple[str, Node]:
    text = (
        (folder / "README.md").read_text(encoding="utf-8", errors="replace") if (folder / "README.md").is_file() else ""
    )
    match = FRONT.match(text)
    try:
        meta = yaml.safe_load(match.group(1)) if match else {}
    except yaml.YAMLError:
        meta = {}
    meta = meta if isinstance(meta, dict) else {}
    own: set[str] = set()
    for key in ("license", "licence", "license_name"):
        for raw in _listify(meta.get(key)):
            own |= flags_of(raw)
    manifest = folder / "hub_manifest.yaml"
    repo = folder.name.replace("__", "/", 1)
    if manifest.is_file():
        data = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
        for tag in _listify(data.get("tags")):
            if tag.startswith("license:"):
                own |= flags_of(tag.removeprefix("license:"))
        if isinstance(data.get("parent_id"), str) and "/" in data["parent_id"]:
            repo = data["parent_id"]
    upstream: list[str] = []
    if kind == "model":
        upstream += [f"model:{b}" for b in _listify(meta.get("base_model")) if not b.startswith(("/", "."))]
        upstream += [f"dataset:{d}" for d in _listify(meta.get("datasets"))]
        adapter = folder / "adapter_config.json"
        if adapter.is_file():
            base = json.loads(adapter.read_text()).get("base_model_name_or_path")
            if isinstance(base, str) and not base.startswith(("/", ".")):
                upstream.append(f"model:{base}")
        if FAMILY_LLAMA2.search(repo) and not NOT_LLAMA2.search(repo):
            own.add("restricted-base")  # its name says it is a Llama 2 model: the Llama 2 terms bind it
    for raw in _listify(meta.get("source_datasets")):
        name = raw.split("|", 1)[-1].strip()
        if name.lower() not in NOT_SOURCES:  # "other-flicker-30k" is a source too, just not a Hub id
            upstream.append(f"dataset:{name}")
    title = str(meta.get("pretty_name") or "") or None
    return f"{kind}:{repo}", Node(own, upstream, title=title)


def _dpi_nodes(folder: Path, constants: Path) -> dict[str, tuple[Node, str]]:
    """uid → (node, DPI's own category of its expert annotation)."""
    classes = json.loads((constants / "license_classes.json").read_text())
    custom = json.loads((constants / "custom_license_classes.json").read_text())
    out: dict[str, tuple[Node, str]] = {}
    entries: dict[str, dict[str, Any]] = {}
    for file in sorted(folder.glob("*.json")):
        for uid, entry in json.loads(file.read_text(encoding="utf-8")).items():
            entries[uid] = entry
    for uid, entry in entries.items():
        own: set[str] = set()
        uses = []
        for item in entry.get("Licenses") or []:
            name = item.get("License", "")
            use = (custom.get(item.get("License URL"), ["?"]) if name == "Custom" else classes.get(name, ["?"]))[0]
            uses.append(use)
            own |= flags_of(name)
        if "?" in uses or "Acad" in uses:
            dpi, expert = "academic-only", {"acad"}
        elif "NC" in uses:
            dpi, expert = "non-commercial", {"nc"}
        elif "Unspecified" in uses or not uses:
            dpi, expert = "unspecified", set()
        else:
            dpi, expert = "commercial", set()
        own |= expert
        inferred = entry.get("Inferred Metadata") or {}
        for key in ("HF Yaml License", "HF Config License", "PwC License Name"):
            own |= flags_of(str(inferred.get(key) or ""))
        upstream = []
        urls = [str(i.get("License URL") or "") for i in entry.get("Licenses") or [] if isinstance(i, dict)]
        own_hub = str(inferred.get("HF Dataset") or "")
        for name in _listify(entry.get("Derived from Datasets")):
            if name.lower() == "original":
                continue
            if name in entries:
                upstream.append(f"dpi:{name}")
                continue
            # the checker's reading of DPI's own alias: a Licenses URL of a Hub dataset named by that word
            named = [
                m.group(1)
                for u in urls
                if (m := re.search(r"huggingface\.co/datasets/([\w.-]+/[\w.-]+|[\w.-]+)", u))
                and m.group(1) != own_hub
                and _squash(name) in [_squash(w) for w in re.split(r"[_-]", m.group(1).split("/")[-1])]
            ]
            upstream.append(f"dataset:{named[0] if len(set(named)) == 1 else name.split('datasets/')[-1]}")
        for name in _listify(entry.get("Model Generated")):
            if OPENAI.search(name) and not OPEN_WEIGHTS.search(name):
                own.add("nc")
        hub = str(inferred.get("HF Dataset") or "").strip()
        if not hub and "huggingface.co/datasets/" in str(entry.get("Hugging Face URL") or ""):
            hub = str(entry["Hugging Face URL"]).split("huggingface.co/datasets/")[1].strip("/")
        title = str(entry.get("Dataset Name") or "") or None
        out[uid] = (Node(own, upstream, f"dataset:{hub}" if hub else None, title), dpi)
    return out


@pytest.fixture(scope="module")
def corpus(shared_corpus: Path) -> dict[str, Any]:
    targets = [
        shared_corpus / "hf" / "datasets",
        shared_corpus / "hf" / "models",
        shared_corpus / "dpi" / "data_summaries",
    ]
    records = api.collect([str(t) for t in targets], CollectOptions(digests=False))
    default = {r.id: r for r in review_records(records, "default").records}
    dpi = {r.id: r for r in review_records(records, "dpi").records}
    return {"records": records, "default": default, "dpi": dpi, "root": shared_corpus}


# the checker's own short names of datasets (not provaudit's table): the name → the Hub id it means
ALIASES = {
    "mnli": "multi_nli",
    "multinli": "multi_nli",
    "arc": "ai2_arc",
    "math": "competition_math",
    "humaneval": "openai_humaneval",
    "socialiqa": "social_i_qa",
    "clinc150": "clinc_oos",
    "conceptnet": "conceptnet5",
    "ethpy150": "eth_py150_open",
    "cnndm": "cnn_dailymail",
    "squadv1": "squad",
    "squad20": "squad_v2",
    "msmarco": "ms_marco",
    "naturalquestions": "natural_questions",
    "ubuntudialoguecorpus": "ubuntu_dialogs_corpus",
    "agnews": "ag_news",
    "qnli": "glue",
    "babi": "babi_qa",
    "babidataset": "babi_qa",
}


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


Index = dict[str, set[str]]
_VARIANTS: dict[int, tuple[Index, Index, Index]] = {}


def _variant_index(nodes: dict[str, Node]) -> tuple[Index, Index, Index]:
    """(squashed id or id without owner → nodes, squashed DPI title → nodes, squashed Hub id or Hub id without
    owner of a DPI record → the Hub ids so named), built once per node table."""
    if id(nodes) not in _VARIANTS:
        ids: Index = {}
        titles: Index = {}
        hubs: Index = {}
        for key, node in nodes.items():
            kind, _, name = key.partition(":")
            for value in {name, name.split("/")[-1]}:
                ids.setdefault(f"{kind == 'model'}:{_squash(value)}", set()).add(key)
            if node.title:
                titles.setdefault(f"{kind == 'model'}:{_squash(node.title)}", set()).add(key)
            if node.hub:
                for value in {node.hub.partition(":")[2], node.hub.split("/")[-1]}:
                    hubs.setdefault(_squash(value), set()).add(node.hub)
        _VARIANTS[id(nodes)] = (ids, titles, hubs)
    return _VARIANTS[id(nodes)]


def _targets(nodes: dict[str, Node], keys: dict[str, str], up: str) -> list[str]:
    """The nodes an upstream name reaches: the record of that id (case-insensitive), else the DPI
    records that are (parts of) that Hugging Face dataset, else the one node a case/punctuation/version variant
    or the checker's alias names."""
    if up.casefold() in keys:
        return [keys[up.casefold()]]
    parts = [k for k, n in nodes.items() if n.hub and n.hub.casefold() == up.casefold()]
    if parts:
        return parts
    kind, _, name = up.partition(":")
    ids, titles, hubs = _variant_index(nodes)
    for value in (name, name.split("/")[-1]):
        key = _squash(value)
        if key in ALIASES:  # a short name means the dataset itself: its record, or DPI's parts of it
            alias = ALIASES[key]
            hits = ids.get(f"{kind == 'model'}:{_squash(alias)}", set())
            parts = [
                k
                for k, n in nodes.items()
                if n.hub and n.hub.partition(":")[2].split("/")[-1].casefold() == alias.casefold()
            ]
            if len(hits) == 1 or parts:
                return list(hits) if len(hits) == 1 else parts
            continue
        for candidate in (key, re.sub(r"(dataset|corpus|data)$", "", key)):
            for table in (ids, titles):
                hits = table.get(f"{kind == 'model'}:{_squash(candidate)}", set())
                if len(hits) == 1:
                    return list(hits)
            named = hubs.get(candidate, set()) if kind == "dataset" else set()
            if len(named) == 1:  # a Hub dataset DPI audited in parts ("govreport": launch/gov_report)
                return [k for k, n in nodes.items() if n.hub in named]
    return []


# the checker's own reading of source corpora no record holds (squashed name → flags), each from its own evidence:
# COPA from DPI's annotation of copa_hr (BSD 2-Clause, License URL COPA's page), the Winograd Schema Challenge from
# its Hub card (cc-by-4.0), the Yelp Dataset from DPI's class of its agreement (custom_license_classes.json: NC),
# Flickr30k from its distributor's README ("non-commercial research and/or educational purposes")
CORPORA = {
    "copadataset": set(),
    "copa": set(),
    "winogradschemachallenge": set(),
    "yelpdatasetchallenge": {"nc"},
    "extendedotherflicker30k": {"nc"},
    "otherflicker30k": {"nc"},
}


def _corpus(up: str) -> set[str] | None:
    """The checker's flags of a source corpus an upstream name means exactly, or None."""
    return CORPORA.get(_squash(up.partition(":")[2].removeprefix("source/")))


def _closure(nodes: dict[str, Node], key: str, seen: set[str]) -> tuple[set[str], bool]:
    """(flags of the node and everything upstream, whether an upstream is missing from the corpus)."""
    keys = {k.casefold(): k for k in nodes}
    node = nodes[key]
    flags, missing = set(node.own), False
    for up, target in ((u, t) for u in node.upstream for t in (_targets(nodes, keys, u) or [None])):
        if target is None and _corpus(up) is not None:
            flags |= _corpus(up) or set()
            continue
        if target is None:
            missing = True
            continue
        if target in seen:
            continue
        seen.add(target)
        sub, sub_missing = _closure(nodes, target, seen)
        flags |= {f for f in sub if f != "restricted-base"} | ({"restricted"} if "restricted-base" in sub else set())
        if target.startswith("model:") and sub & {"restricted", "restricted-base"}:
            flags.add("restricted")
        missing |= sub_missing
    return flags, missing


def test_default_policy_never_says_commercial_where_the_raw_data_says_otherwise(corpus: dict[str, Any]) -> None:
    root: Path = corpus["root"]
    nodes: dict[str, Node] = {}
    where: dict[str, str] = {}  # checker key → provaudit record id (mapped by location only)
    by_location = {r.location: r.id for r in corpus["records"]}
    for kind, folder in (("dataset", root / "hf" / "datasets"), ("model", root / "hf" / "models")):
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            key, node = _card_node(sub, kind)
            nodes[key] = node
            if str(sub.resolve()) in by_location:
                where[key] = by_location[str(sub.resolve())]
    dpi_folder = root / "dpi" / "data_summaries"
    for uid, (node, _) in _dpi_nodes(dpi_folder, root / "dpi" / "constants").items():
        nodes[f"dpi:{uid}"] = node
    for record in corpus["records"]:
        if record.location and "#" in record.location:
            where[f"dpi:{record.location.rsplit('#', 1)[1]}"] = record.id
    default = corpus["default"]
    wrong: list[str] = []
    checked = Counter()
    for key in nodes:
        rid = where.get(key)
        if rid is None or rid not in default:
            continue
        flags, missing = _closure(nodes, key, {key})
        review = default[rid]
        if review.use.value != "commercial":
            continue
        checked["commercial"] += 1
        if flags & {"nc", "acad"}:
            wrong.append(f"{rid}: commercial, but non-commercial/academic terms in its lineage ({sorted(flags)})")
        if missing:
            wrong.append(f"{rid}: commercial, but an upstream has no record (complete={review.complete})")
        if "nd" in flags and not review.no_derivatives:
            wrong.append(f"{rid}: commercial, no-derivatives terms in its lineage, flag not set")
        if flags & {"restricted", "restricted-base"} and not review.use_restrictions:
            wrong.append(f"{rid}: commercial, a use-restricted base model license in its lineage, flag not set")
    assert checked["commercial"] > 1000, checked  # the check covers real commercial verdicts, not none
    assert wrong == [], "\n".join(wrong[:40])


def test_default_is_never_more_permissive_than_dpi_and_losses_are_explained(corpus: dict[str, Any]) -> None:
    default, dpi = corpus["default"], corpus["dpi"]
    dpi_ids = [r.id for r in corpus["records"] if r.location and "#" in r.location and "dpi" in r.collectors]
    assert len(dpi_ids) > 3000
    looser = [i for i in dpi_ids if RANK[default[i].use.value] < RANK[dpi[i].use.value]]
    assert looser == [], looser[:20]
    dpi_commercial = [i for i in dpi_ids if dpi[i].use.value == "commercial"]
    stay = [i for i in dpi_commercial if default[i].use.value == "commercial"]
    incomplete = [i for i in dpi_commercial if default[i].use.value == "unspecified" and not default[i].complete]
    reasons: Counter[str] = Counter()
    rows: list[tuple[str, str, str]] = []  # (reason, detail, record) for every DPI-commercial record not kept
    for i in dpi_commercial:
        r = default[i]
        if r.use.value == "commercial":
            continue
        if i in incomplete:
            names = sorted({f"{u.relation} {u.raw!r}" for u in r.unresolved})
            if all(u.relation == "generated_by" and u.raw == "Other" for u in r.unresolved):
                reason = "DPI's `Model Generated: Other` names no model, so its terms are unknown"
            elif all(u.relation == "generated_by" for u in r.unresolved):
                reason = "generated by a model with no record whose terms provaudit has not read"
            else:
                reason = "an upstream is not audited (no record in the store, no stated terms to cite)"
            rows.append((reason, "; ".join(names), i))
            continue
        blocking = [s for s in r.evidence if s.use and RANK[s.use.value] >= RANK[r.use.value]]
        if any(s.relation == "generated_by" for s in blocking):
            reason = "generated by a model under restrictive provider terms"
        elif any(s.source and "No License" in s.source for s in blocking):
            reason = "DPI 'No License' (DPI: All; default: nothing granted)"
        elif any(len(s.path) > 1 and "is the source corpus" not in (s.note or "") for s in blocking):
            reason = (
                "an audited upstream's terms are unknown, custom or unread (unspecified)"
                if r.use.value == "unspecified"
                else "an audited upstream is non-commercial or academic-only"
            )
        elif any("is the source corpus" in (s.note or "") for s in blocking):
            reason = "a source corpus's stated terms are non-commercial (data/licenses/source_corpora.yaml)"
        elif any(s.authority in {"aggregator metadata", "card metadata", "card prose"} for s in blocking):
            reason = "a Hub/PwC declaration of the record is stricter"
        else:
            reason = f"unexplained: {i}"
        reasons[reason] += 1
        detail = "; ".join(
            sorted({f"{' → '.join(s.path[1:]) or 'own'}: {s.license or s.note or ''}" for s in blocking})
        )
        rows.append((reason, detail[:160], i))
    print(
        f"\nDPI-commercial records: {len(dpi_commercial)}; default commercial: {len(stay)} "
        f"({len(stay) / len(dpi_commercial):.1%}); unspecified only because an upstream is not audited: "
        f"{len(incomplete)}; other: {dict(reasons)}"
    )
    _check_generated_tables(len(dpi_commercial), len(stay), rows)
    assert not [k for k in reasons if k.startswith("unexplained")], reasons
    # every incomplete one names the upstream it waits for
    assert all(default[i].unresolved for i in incomplete)
    # a source corpus with stated terms is read, never left waiting for a record
    assert not [i for i in incomplete if any(_corpus(f"dataset:{u.raw}") is not None for u in default[i].unresolved)]
    assert len(stay) > len(dpi_commercial) / 2  # safety was not bought by calling everything unspecified


DOCS = Path(__file__).resolve().parents[1] / "docs"
BEGIN, END = "<!-- dpi-differences:begin -->", "<!-- dpi-differences:end -->"


def _check_generated_tables(total: int, kept: int, rows: list[tuple[str, str, str]]) -> None:
    """docs/policies.md's table of why DPI-commercial records are not commercial under `default` (grouped), and
    docs/dpi-differences.md (one row per record), are exactly what this run computes; PROVAUDIT_REGEN_GOLDEN=1
    rewrites them."""
    import os

    groups: Counter[tuple[str, str]] = Counter()
    for reason, detail, _ in rows:
        groups[(reason, detail)] += 1
    summary = [
        BEGIN,
        f"Of {total:,} records DPI calls commercial, {kept:,} ({kept / total:.1%}) stay commercial under `default`; "
        f"the other {total - kept:,}, grouped by reason and by what blocks them (generated by "
        "`tests/test_no_false_commercial.py`; one row per record in `docs/dpi-differences.md`):",
        "",
        "| records | reason | what blocks it |",
        "|---:|---|---|",
        *(
            f"| {n} | {reason} | {detail.replace('|', '/')} |"
            for (reason, detail), n in sorted(groups.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
        END,
    ]
    per_record = [
        "# DPI-commercial records that are not commercial under the default policy",
        "",
        "<!-- generated by tests/test_no_false_commercial.py (PROVAUDIT_REGEN_GOLDEN=1 rewrites it) -->",
        "",
        "| record | reason | what blocks it |",
        "|---|---|---|",
        *(
            f"| `{rid}` | {reason} | {detail.replace('|', '/')} |"
            for reason, detail, rid in sorted(rows, key=lambda r: r[2])
        ),
        "",
    ]
    policies = DOCS / "policies.md"
    text = policies.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    want_policies = text[:start] + "\n".join(summary) + text[end:]
    want_records = "\n".join(per_record)
    if os.environ.get("PROVAUDIT_REGEN_GOLDEN"):
        policies.write_text(want_policies, encoding="utf-8")
        (DOCS / "dpi-differences.md").write_text(want_records, encoding="utf-8")
        return
    assert text == want_policies, "docs/policies.md's DPI table is stale: PROVAUDIT_REGEN_GOLDEN=1 pytest this test"
    assert (DOCS / "dpi-differences.md").read_text(encoding="utf-8") == want_records
