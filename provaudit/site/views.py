"""What each page shows, computed from records and their review (templates only lay it out).

Every value keeps its source. A record's page shows only what was observed for that record:
upstream records appear as links to their own pages, never as values copied into this one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any
from urllib.parse import quote, urlsplit

from provaudit.records.identity import split_id
from provaudit.records.model import Fact, Kind, Record, Relation, Source
from provaudit.rules.report import RecordReview
from provaudit.store.base import RevisionInfo

NOT_STATED = "not stated"


@dataclass
class SourceRef:
    """Where a value was read: shown as text, linked when it is a web address."""

    text: str
    href: str | None = None
    collector: str | None = None


def source_ref(source: Source | None) -> SourceRef | None:
    if source is None:
        return None
    href = source.url if source.url and urlsplit(source.url).scheme in {"http", "https"} else None
    if source.file or source.url:
        text = source.describe()
    else:  # derived from something other than a file, e.g. the repo id
        text = f"{source.field} ({source.collector})" if source.field else f"collector {source.collector}"
    return SourceRef(text=text, href=href, collector=source.collector)


@dataclass
class Value:
    """One value (or a list of values read from the same place) with its sources."""

    text: str
    sources: list[SourceRef] = field(default_factory=list)
    href: str | None = None  # the value is itself a link (homepage, paper)
    long: bool = False  # citation, description: shown folded


@dataclass
class Row:
    label: str
    values: list[Value]


@dataclass
class Link:
    """A related record: a link to its page, or its id marked missing when it has no record."""

    id: str
    label: str
    kind: str
    href: str | None
    relation: str
    raw: str | None = None
    source: SourceRef | None = None
    version: str | None = None
    inferred: str | None = None  # how a link that was not declared was inferred (file, evidence, confidence)


@dataclass
class Section:
    """One UMR card section: an anchor, its rows or links, "not stated" when empty."""

    anchor: str
    title: str
    rows: list[Row] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    note: str | None = None

    @property
    def empty(self) -> bool:
        return not self.rows and not self.links


@dataclass
class RevisionView:
    generated: str
    scan: str
    digest: str
    licenses: list[str]
    changes: list[str]
    current: bool


# UMR sections whose values are facts: (anchor, title, fact keys that feed it)
UMR_TEXT_SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("umr-intended-use", "Intended use", ("intended_use", "intended_uses", "uses", "direct_use", "out_of_scope_use")),
    ("umr-factors", "Factors", ("factors",)),
    ("umr-training-data", "Training data", ("training_data",)),
    ("umr-evaluation-data", "Evaluation data", ("evaluation_data", "metrics")),
    ("umr-recommendations", "Recommendations", ("recommendations",)),
    ("umr-ethics", "Ethical considerations", ("ethical_considerations", "bias_risks_limitations")),
    ("umr-additional", "Additional information", ("additional_information",)),
)
# metadata rows: (label, fact keys)
METADATA_FACTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Title", ("title",)),
    ("Description", ("description", "summary")),
    ("Version", ("version", "dataset_version")),
    ("Release date", ("release_date",)),
    ("Model type", ("model_type",)),
    ("Architecture", ("architecture",)),
    ("Task", ("task", "pipeline_tag", "task_ids")),
    ("Library", ("library_name",)),
    ("Languages", ("language", "languages")),
    ("Multilinguality", ("multilinguality",)),
    ("Size", ("size_category",)),
    ("Homepage", ("homepage", "url")),
    ("References", ("refs", "paper", "paperswithcode_id", "arxiv")),
    ("Source datasets (as declared)", ("source_datasets",)),
    ("Annotation", ("annotations_creators",)),
    ("Language creators", ("language_creators",)),
    ("Citation", ("citation",)),
    ("Tags", ("tag", "tags")),
)
LONG_FACTS = {"citation", "description", "summary", "architecture"}
# facts that are a number of bytes: shown in kB/MB/GB with the exact count beside
BYTE_FACTS = {"size_bytes", "dataset_size", "download_size", "num_bytes", "size_in_bytes"}
TRAINING_RELATIONS = {Relation.TRAINED_ON, Relation.DERIVED_FROM, Relation.TEXT_SOURCE, Relation.GENERATED_BY}
CARD_FACT = "card"


def _fact_href(key: str, value: str) -> str | None:
    if key == "paperswithcode_id":
        return f"https://paperswithcode.com/dataset/{quote(value)}"
    if urlsplit(value).scheme in {"http", "https"} and " " not in value.strip():
        return value.strip()
    return None


def index_facts(facts: Iterable[Fact]) -> dict[str, list[Fact]]:
    """Facts by base key (``size_bytes[en]`` under ``size_bytes``), looked up once per record."""
    out: dict[str, list[Fact]] = {}
    for fact in facts:
        out.setdefault(fact.key.split("[", 1)[0], []).append(fact)
    return out


def group_facts(facts: dict[str, list[Fact]], keys: Sequence[str]) -> list[Value]:
    """The facts of these keys, values read from one place joined in one Value (languages, tags)."""
    out: list[Value] = []
    short: dict[tuple[str, str], list[str]] = {}
    sources: dict[tuple[str, str], SourceRef] = {}
    for key in keys:
        for fact in facts.get(key, ()):
            href = _fact_href(key, fact.value)
            ref = source_ref(fact.source)
            if href or key in LONG_FACTS or len(fact.value) > 120:
                folded = href is None and len(fact.value) > 120
                out.append(Value(text=fact.value, sources=[ref] if ref else [], href=href, long=folded))
                continue
            group = (fact.key, fact.source.describe())
            short.setdefault(group, []).append(fact.value)
            if ref:
                sources[group] = ref
    for (key, where), values in short.items():
        if key.split("[", 1)[0] in BYTE_FACTS:
            values = [human_bytes(v) for v in values]
        text = ", ".join(values) if "[" not in key else f"{key.split('[', 1)[1][:-1]}: {', '.join(values)}"
        ref = sources.get((key, where))
        out.append(Value(text=text, sources=[ref] if ref else []))
    return out


def human_bytes(value: str) -> str:
    """``68691466`` → ``68.7 MB (68,691,466 bytes)``; anything that is not a byte count as it is."""
    try:
        size = int(value.strip())
    except ValueError:
        return value
    if size < 1000:
        return f"{size} bytes"
    scaled, units = float(size), ["kB", "MB", "GB", "TB", "PB"]
    scaled /= 1000
    while scaled >= 1000 and len(units) > 1:
        scaled /= 1000
        units.pop(0)
    return f"{scaled:.3g} {units[0]} ({size:,} bytes)"


def record_label(rid: str) -> tuple[str, str]:
    """(kind, name) of a record id, also for ids of kinds this version does not know."""
    try:
        kind, name = split_id(rid)
        return kind.value, name
    except ValueError:
        return "dataset", rid


def umr_sections(
    record: Record,
    review: RecordReview | None,
    href: dict[str, str],
    downstream: list[tuple[str, str]],
) -> list[Section]:
    """The Unified Model Record card of one record, from its own facts and declared links."""
    agents: dict[str, list[Value]] = {}
    for agent in record.agents:
        ref = source_ref(agent.source)
        agents.setdefault(agent.role, []).append(Value(text=agent.name, sources=[ref] if ref else []))
    meta = [Row("Name", [Value(text=record.name, sources=[SourceRef(text=f"record id {record.id}")])])]
    meta.append(Row("Type", [Value(text=record.kind.value)]))
    for role, label in (("publisher", "Publisher"), ("creator", "Creators"), ("author", "Authors")):
        if role in agents:
            meta.append(Row(label, _dedupe(agents[role])))
    claims = [
        Value(
            text=c.raw + (f" → {c.expression}" if c.expression and c.expression != c.raw else ""),
            sources=[r] if (r := source_ref(c.source)) else [],
        )
        for c in record.claims
    ]
    meta.append(Row("License (declared)", claims or [Value(text=NOT_STATED)]))
    if record.version:
        meta.append(Row("Scanned version", [Value(text=record.version)]))
    facts = index_facts(record.facts)
    used = {CARD_FACT} | {k for _, _, keys in UMR_TEXT_SECTIONS for k in keys}
    for label, keys in METADATA_FACTS:
        values = group_facts(facts, keys)
        used.update(keys)
        if values:
            meta.append(Row(label, values))
    for key in sorted(facts.keys() - used):
        label = "Size on disk" if key == "size_bytes" else key.replace("_", " ").capitalize()
        meta.append(Row(label, group_facts(facts, (key,))))
    sections = [Section("umr-metadata", "Metadata", rows=meta)]

    def links(ups: Iterable[tuple[str, str, str | None, Source | None, str | None]]) -> list[Link]:
        out = []
        for target, relation, raw, source, version in ups:
            kind, name = record_label(target)
            out.append(
                Link(
                    id=target,
                    label=name,
                    kind=kind,
                    href=href.get(target),
                    relation=relation.replace("_", " "),
                    raw=raw,
                    source=source_ref(source),
                    version=version,
                )
            )
        return out

    upstream = [(u.target, u.relation.value, u.raw, u.source, u.version) for u in record.upstream]
    down = [(rid, rel, None, None, None) for rid, rel in downstream]
    relations = Section("umr-relations", "Relations", links=links(upstream) + links(down))
    relations.note = f"{len(upstream)} upstream, {len(down)} downstream"
    sections.append(relations)
    packages = [u for u in upstream if record_label(u[0])[0] in {Kind.CODE.value, Kind.PACKAGE.value}]
    section = Section("umr-packages", "Packages and dependencies", links=links(packages))
    library = group_facts(facts, ("library_name",))
    section.rows = [Row("Library", library)] if library else []
    sections.append(section)
    for anchor, title, keys in UMR_TEXT_SECTIONS:
        values = group_facts(facts, keys)
        section = Section(anchor, title, rows=[Row(title, values)] if values else [])
        if anchor == "umr-training-data":
            section.links = links(u for u in upstream if u[1] in {r.value for r in TRAINING_RELATIONS})
        elif anchor == "umr-evaluation-data":
            section.links = links(u for u in upstream if u[1] == Relation.TESTED_ON.value)
        if section.empty and anchor in {"umr-ethics", "umr-additional"}:
            continue  # UMR's optional sections: shown only when stated
        sections.append(section)
    return sections


def _dedupe(values: list[Value]) -> list[Value]:
    merged: dict[str, Value] = {}
    for value in values:
        if value.text in merged:
            merged[value.text].sources.extend(s for s in value.sources if s not in merged[value.text].sources)
        else:
            merged[value.text] = Value(text=value.text, sources=list(value.sources))
    return list(merged.values())


def revision_views(revisions: list[RevisionInfo], current_digest: str | None) -> list[RevisionView]:
    """Revisions newest first, each with what changed since the one before."""
    out: list[RevisionView] = []
    previous: Record | None = None
    for info in revisions:
        record = info.record
        out.append(
            RevisionView(
                generated=info.generated,
                scan=info.scan.rsplit("/", 1)[-1],
                digest=info.digest[:12],
                licenses=[c.expression or c.raw for c in record.claims],
                changes=_changes(previous, record),
                current=info.digest == current_digest if current_digest else info is revisions[-1],
            )
        )
        previous = record
    return out[::-1]


def _changes(before: Record | None, after: Record) -> list[str]:
    if before is None:
        return ["first observed"]
    out: list[str] = []
    describers: tuple[tuple[str, Callable[[Any], str]], ...] = (
        ("claims", lambda c: f"license {c.raw} ({c.source.describe()})"),
        ("upstream", lambda u: f"{u.relation.value} {u.target}"),
        ("agents", lambda a: f"{a.role} {a.name}"),
        ("facts", lambda f: f"{f.key} ({f.source.describe()})"),
        ("files", lambda f: f"file {f.path}"),
    )
    for name, describe in describers:
        old = {describe(x) for x in getattr(before, name)}
        new = {describe(x) for x in getattr(after, name)}
        out += [f"+ {x}" for x in sorted(new - old)] + [f"− {x}" for x in sorted(old - new)]
    if before.version != after.version:
        out.append(f"version {before.version} → {after.version}")
    return out or ["no change in content"]


def collection_name_for(location: str | None, targets: Sequence[str]) -> str | None:
    """Fallback collection of a record: its scan target's folder, else its location's parent folder."""
    if not location:
        return None
    path = PurePath(location)
    best = max((t for t in targets if path.is_relative_to(t) and str(path) != t), key=len, default=None)
    if best:
        return PurePath(best).name or best
    return path.parent.name or None


def top(counter: Counter[str], limit: int) -> list[tuple[str, int]]:
    """The most common items, ties broken by name; the rest summed into "other (N kinds)"."""
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    head, tail = items[:limit], items[limit:]
    if tail:
        head.append((f"other ({len(tail)} kinds)", sum(n for _, n in tail)))
    return head
