"""The audit table: how often each declaring source gets a record's license category right.

The Data Provenance Initiative's central table (Longpre et al., Nature Machine Intelligence 2024)
crosses, for each aggregator, the *actual* use category of a dataset (their expert audit) with the
category the aggregator *declares*. This module computes that table from any scan:

* actual: the reviewed verdict under the policy (``review_records(...).records[i].use``);
* declared: the most restrictive use of one source's claims for the record, each claim read with
  the same policy (``claim_terms``), or ``omitted`` when that source declares nothing.

Sources: for DPI records ``huggingface`` (``Inferred Metadata`` "HF Yaml License" and "HF Config
License"), ``github`` ("GitHub License") and ``paperswithcode`` ("PwC License Name"), as DPI's own
``map_license_criteria`` groups them; for cards ``card`` (README YAML), ``license_file`` (detected
LICENSE text), ``dataset_infos`` and ``hub_tags`` (``hub_manifest.yaml``). A value such as DPI's
"Unspecified" (what DPI makes of a Hub ``unknown``/``other``) is a declaration of ``unspecified``,
not an omission: DPI's code classifies every non-empty aggregator value and only an empty one is "".
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from html import escape
from typing import Any

from provaudit.licenses.kb import Use
from provaudit.records.model import LicenseClaim, Record, Relation
from provaudit.resources import resource
from provaudit.rules.authority import PROSE_FIELD
from provaudit.rules.lineage import claim_terms
from provaudit.rules.policy import Policy, load_policy
from provaudit.rules.report import RecordReview

CATEGORIES: tuple[str, ...] = tuple(u.value for u in Use)
OMITTED = "omitted"
DECLARED: tuple[str, ...] = (*CATEGORIES, OMITTED)
# a record whose verdict waits for an upstream that is not audited: its actual category is not known yet,
# so a declaration is neither "same" nor "more permissive" than it; it gets a row and an outcome of its own
UNAUDITED = "unaudited"
ACTUALS: tuple[str, ...] = (*CATEGORIES, UNAUDITED)
OUTCOMES = ("omitted", "same", "more_permissive", "less_permissive", "unaudited")
BY = ("source", "collection", "creator")
FORMATS = ("text", "md", "json", "csv", "html")

# DPI's Inferred Metadata fields → the aggregator they stand for (DPI's map_license_criteria)
DPI_FIELDS = {
    "HF Yaml License": "huggingface",
    "HF Config License": "huggingface",
    "GitHub License": "github",
    "PwC License Name": "paperswithcode",
}
DPI_SOURCES = ("huggingface", "github", "paperswithcode")
CARD_SOURCES = ("card", "card_prose", "license_file", "dataset_infos", "hub_tags")
SOURCE_LABELS = {
    "huggingface": "Hugging Face",
    "github": "GitHub",
    "paperswithcode": "Papers with Code",
    "card": "Card YAML",
    "card_prose": "Card text",
    "license_file": "LICENSE file",
    "dataset_infos": "dataset_infos.json",
    "hub_tags": "Hub tags",
}
_CARD_COLLECTORS = {"local", "hub"}
_INFO_FILES = {"dataset_infos.json", "dataset_info.json"}
_OWN = set(DPI_SOURCES) | set(CARD_SOURCES)


def claim_source(claim: LicenseClaim) -> str | None:
    """Which declaring source a claim belongs to; None for DPI's own annotation (the actual)."""
    src = claim.source
    fld = src.field or ""
    if src.collector == "dpi":
        for name, source in DPI_FIELDS.items():
            if fld.endswith(f"Inferred Metadata.{name}"):
                return source
        return None
    if fld == "text":
        return "license_file"
    if fld == PROSE_FIELD:  # a sentence of the card's body, not its YAML: a source of its own
        return "card_prose"
    if src.file in _INFO_FILES or src.collector == "datasets":
        return "dataset_infos"
    if src.file == "hub_manifest.yaml" or (src.collector == "hub" and fld == "tags"):
        return "hub_tags"
    if src.collector in _CARD_COLLECTORS:
        return "card"
    return src.collector  # croissant, spdx, umr, pipeline: each its own source


def _collectors(record: Record) -> set[str]:
    """Collectors that observed the record, from the sources of what it holds (the store keeps those)."""
    items: list[Any] = [*record.claims, *record.facts, *record.agents, *record.upstream, *record.files]
    return {i.source.collector for i in items} | set(record.collectors)


def record_sources(record: Record) -> list[str]:
    """The sources that could declare a license for this record (absent ones count as omitted)."""
    seen = _collectors(record)
    out: list[str] = []
    if "dpi" in seen:
        out += DPI_SOURCES
    if seen & _CARD_COLLECTORS:
        out += ["card", "card_prose", "license_file", "hub_tags"]
        if record.kind.value == "dataset":
            out.append("dataset_infos")
    if "datasets" in seen and "dataset_infos" not in out:
        out.append("dataset_infos")
    extra = sorted({s for c in record.claims if (s := claim_source(c)) and s not in _OWN})
    return out + [s for s in extra if s not in out]


def declared_use(policy: Policy, claims: Iterable[LicenseClaim]) -> str:
    """The most restrictive use the claims declare, read with the policy; ``omitted`` when none."""
    uses = [t.use for c in claims if c.raw.strip() for t in claim_terms(policy, c)]
    if not uses:
        return OMITTED
    return max(uses, key=lambda u: u.restrictiveness).value


def outcome(actual: str, declared: str) -> str:
    """omitted, same, more_permissive (declared less restrictive than actual) or less_permissive."""
    if declared == OMITTED:
        return "omitted"
    if actual == UNAUDITED:
        return "unaudited"
    diff = CATEGORIES.index(declared) - CATEGORIES.index(actual)
    return "same" if diff == 0 else "more_permissive" if diff < 0 else "less_permissive"


@dataclass
class SourceTable:
    """One source's matrix: actual category → declared category (or omitted) → record ids."""

    source: str
    cells: dict[str, dict[str, list[str]]] = field(
        default_factory=lambda: {a: {d: [] for d in DECLARED} for a in ACTUALS}
    )

    def add(self, rid: str, actual: str, declared: str) -> None:
        self.cells[actual][declared].append(rid)

    @property
    def records(self) -> int:
        return sum(len(ids) for row in self.cells.values() for ids in row.values())

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(OUTCOMES, 0)
        for actual, row in self.cells.items():
            for declared, ids in row.items():
                out[outcome(actual, declared)] += len(ids)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "records": self.records,
            **self.counts(),
            # the unaudited row only when some record waits for an upstream (DPI's own table has none)
            "matrix": {
                a: {d: len(ids) for d, ids in row.items()}
                for a, row in self.cells.items()
                if a != UNAUDITED or any(row.values())
            },
        }


@dataclass
class AuditTable:
    """The matrices of every source over one group of records."""

    name: str
    records: int
    sources: list[SourceTable]

    def to_json(self) -> dict[str, Any]:
        return {"records": self.records, "sources": [s.to_json() for s in self.sources]}


def _order(name: str) -> tuple[int, str]:
    known = [*DPI_SOURCES, *CARD_SOURCES]
    return (known.index(name) if name in known else len(known), name)


def unaudited_verdicts(reviews: Iterable[RecordReview]) -> set[str]:
    """Records whose verdict is unspecified only because an upstream is not audited (incomplete lineage).

    A known restriction (non-commercial from the record's own evidence) stays comparable; an unknown that
    the missing upstream causes is not "the actual category" a declaration could be more permissive than.
    """
    return {r.id for r in reviews if not r.complete and r.use is Use.UNSPECIFIED}


def audit_table(
    name: str,
    records: Sequence[Record],
    actual: Mapping[str, str],
    policy: Policy,
    unaudited: Collection[str] = (),
) -> tuple[AuditTable, dict[str, list[str]]]:
    """The table for these records, and each record's cell keys ``source:declared`` (for catalog filters).

    Records in ``unaudited`` (an upstream of the lineage is not audited) go in the ``unaudited`` row: a
    declaration is compared only with a verdict the evidence completes.
    """
    tables: dict[str, SourceTable] = {}
    keys: dict[str, list[str]] = {}
    counted = 0
    for record in records:
        sources = record_sources(record)
        if not sources or record.id not in actual:
            continue
        counted += 1
        by_source: dict[str, list[LicenseClaim]] = defaultdict(list)
        for claim in record.claims:
            src = claim_source(claim)
            if src:
                by_source[src].append(claim)
        keys[record.id] = []
        row = UNAUDITED if record.id in unaudited else actual[record.id]
        for src in sources:
            declared = declared_use(policy, by_source.get(src, []))
            table = tables.get(src)
            if table is None:  # made once per source (setdefault made one per record and source: 2% of a site)
                table = tables[src] = SourceTable(src)
            table.add(record.id, row, declared)
            # the catalog link of a cell finds exactly its records: the unaudited row's keys are apart
            keys[record.id].append(f"{UNAUDITED}.{src}:{declared}" if row == UNAUDITED else f"{src}:{declared}")
    ordered = [tables[s] for s in sorted(tables, key=_order)]
    return AuditTable(name=name, records=counted, sources=ordered), keys


# --- DPI's other observations: creators, domains, tasks, synthetic data --------------------------


@cache
def dpi_groups(name: str) -> dict[str, str]:
    """member → group from DPI's constants (creator_groups, domain_groups, task_groups)."""
    data = json.loads(resource("data", "licenses", "dpi", f"{name}.json").read_text(encoding="utf-8"))
    return {member: group for group, members in data.items() for member in members}


UNGROUPED = "(not in DPI's groups)"


def _breakdown(
    records: Sequence[Record], actual: Mapping[str, str], values: Mapping[str, set[str]]
) -> list[dict[str, Any]]:
    """Per value: how many records have it, by actual use category, most records first."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for record in records:
        for value in values.get(record.id, set()):
            counts[value][actual[record.id]] += 1
    rows = [
        {"name": k, "records": sum(c.values()), "use": {u: c.get(u, 0) for u in CATEGORIES}} for k, c in counts.items()
    ]
    return sorted(rows, key=lambda r: (-r["records"], r["name"]))


def observations(records: Sequence[Record], actual: Mapping[str, str], top: int = 25) -> dict[str, Any]:
    """Creators by kind and name, text sources by domain, task groups and synthetic data, by use category."""
    records = [r for r in records if r.id in actual]
    creators_kind = dpi_groups("creator_groups")
    domains = dpi_groups("domain_groups")
    tasks = dpi_groups("task_groups")
    names: dict[str, set[str]] = {}
    kinds: dict[str, set[str]] = {}
    domain: dict[str, set[str]] = {}
    task: dict[str, set[str]] = {}
    synthetic: dict[str, set[str]] = {}
    for r in records:
        made = {a.name for a in r.agents if a.role == "creator"}
        names[r.id] = made
        kinds[r.id] = {creators_kind.get(n, UNGROUPED) for n in made}
        domain[r.id] = {domains.get(u.raw, UNGROUPED) for u in r.upstream if u.relation is Relation.TEXT_SOURCE}
        task[r.id] = {tasks.get(f.value, UNGROUPED) for f in r.facts if f.key == "task"}
        generated = any(u.relation is Relation.GENERATED_BY for u in r.upstream)
        synthetic[r.id] = {"model-generated" if generated else "not model-generated"}
    return {
        "records": len(records),
        "creator_kinds": _breakdown(records, actual, kinds),
        "creators": _breakdown(records, actual, names)[:top],
        "domains": _breakdown(records, actual, domain),
        "tasks": _breakdown(records, actual, task),
        "synthetic": _breakdown(records, actual, synthetic),
    }


# --- the whole audit -----------------------------------------------------------------------------


def _collection_names(record: Record) -> list[str]:
    named = sorted({f.value for f in record.facts if f.key == "collection"})
    if named:
        return named
    loc = (record.location or "").split("#", 1)[0].rstrip("/")
    parts = loc.replace("\\", "/").split("/")
    return [parts[-2]] if len(parts) >= 2 and parts[-2] else ["(no collection)"]


@dataclass
class Audit:
    """The audit of a set of records under a policy: the whole table, and per group when asked."""

    policy: str
    by: str
    total: AuditTable
    groups: list[AuditTable] = field(default_factory=list)
    observations: dict[str, Any] | None = None
    cell_keys: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"policy": self.policy, **self.total.to_json()}
        if self.by == "collection":
            out["collections"] = [{"collection": g.name, **g.to_json()} for g in self.groups]
        if self.observations is not None:
            out["observations"] = self.observations
        return out


def run_audit(
    records: Sequence[Record],
    actual: Mapping[str, str],
    policy: Policy,
    *,
    by: str = "source",
    collections: Mapping[str, Sequence[str]] | None = None,
    unaudited: Collection[str] = (),
) -> Audit:
    """The audit of records whose actual category is given (record id → use value).

    ``collections`` names each record's collections (default: its ``collection`` facts, else its folder).
    """
    total, keys = audit_table("all", records, actual, policy, unaudited)
    audit = Audit(policy=policy.name, by=by, total=total, cell_keys=keys)
    if by == "collection":
        members: dict[str, list[Record]] = defaultdict(list)
        for record in records:
            names = (collections or {}).get(record.id) or _collection_names(record)
            for name in names:
                members[name].append(record)
        audit.groups = [audit_table(name, members[name], actual, policy, unaudited)[0] for name in sorted(members)]
    if by == "creator":
        audit.observations = observations(records, actual)
    return audit


def audit_records(records: Iterable[Record], policy: str | Policy = "default", *, by: str = "source") -> Audit:
    """Review the records under the policy, then audit every declaring source against the verdicts."""
    from provaudit.rules.review import review_records

    chosen = policy if isinstance(policy, Policy) else load_policy(policy)
    records = list(records)
    report = review_records(records, chosen)
    actual = {r.id: r.use.value for r in report.records}
    collections = {r.id: list(r.collections) for r in report.records}
    unaudited = unaudited_verdicts(report.records)
    return run_audit(records, actual, chosen, by=by, collections=collections, unaudited=unaudited)


# --- rendering -----------------------------------------------------------------------------------


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"


def _summary_rows(table: AuditTable) -> list[list[str]]:
    rows = []
    for s in table.sources:
        c = s.counts()
        rows.append(
            [SOURCE_LABELS.get(s.source, s.source), str(s.records)]
            + [f"{c[o]} ({_pct(c[o], s.records)})" for o in OUTCOMES]
        )
    return rows


def _matrix_rows(s: SourceTable) -> list[list[str]]:
    rows = []
    for actual in (a for a in ACTUALS if a != UNAUDITED or any(s.cells[a].values())):
        row = s.cells[actual]
        total = sum(len(ids) for ids in row.values())
        rows.append([actual, str(total)] + [f"{len(row[d])} ({_pct(len(row[d]), total)})" for d in DECLARED])
    return rows


_SUMMARY_HEAD = ["source", "records", "omitted", "same", "more permissive", "less permissive", "upstream not audited"]
_MATRIX_HEAD = ["actual \\ declared", "records", *DECLARED]


def _text_table(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return [fmt.format(*head), fmt.format(*("-" * w for w in widths))] + [fmt.format(*r) for r in rows]


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["--:"] * (len(head) - 1)) + "|"]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def _tables(audit: Audit) -> list[tuple[str, AuditTable]]:
    return [("All records", audit.total)] + [(f"Collection: {g.name}", g) for g in audit.groups]


def _observation_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[r["name"], str(r["records"])] + [str(r["use"][u]) for u in CATEGORIES] for r in rows]


_OBS = (
    ("creator_kinds", "Creators by kind"),
    ("creators", "Creators"),
    ("domains", "Text sources by domain"),
    ("tasks", "Task categories"),
    ("synthetic", "Synthetic (model-generated) data"),
)


def render_audit(audit: Audit, fmt: str) -> str:
    """The audit as text, md, json, csv or html."""
    if fmt == "json":
        return json.dumps(audit.to_json(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return _csv(audit)
    if fmt == "html":
        return _html(audit)
    table_fn = _md_table if fmt == "md" else _text_table
    lines: list[str] = []
    title = f"Declared versus actual license categories (policy {audit.policy})"
    lines += [f"# {title}", ""] if fmt == "md" else [title, ""]
    for heading, table in _tables(audit):
        lines += [f"## {heading} ({table.records} records)" if fmt == "md" else f"{heading}: {table.records} records"]
        lines += ["", *table_fn(_SUMMARY_HEAD, _summary_rows(table)), ""]
        for s in table.sources:
            name = SOURCE_LABELS.get(s.source, s.source)
            lines += [f"### {name}" if fmt == "md" else f"{name} (rows: actual, columns: declared)", ""]
            lines += [*table_fn(_MATRIX_HEAD, _matrix_rows(s)), ""]
    if audit.observations:
        obs = audit.observations
        for key, label in _OBS:
            lines += [f"## {label}" if fmt == "md" else label, ""]
            lines += [*table_fn(["name", "records", *CATEGORIES], _observation_rows(obs[key])), ""]
    return "\n".join(lines).rstrip() + "\n"


def _csv(audit: Audit) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["group", "source", "actual", "declared", "records", "outcome"])
    for name, table in [("all", audit.total)] + [(g.name, g) for g in audit.groups]:
        for s in table.sources:
            for actual in (a for a in ACTUALS if a != UNAUDITED or any(s.cells[a].values())):
                for declared in DECLARED:
                    n = len(s.cells[actual][declared])
                    writer.writerow([name, s.source, actual, declared, n, outcome(actual, declared)])
    return buf.getvalue()


def _html(audit: Audit) -> str:
    from provaudit.site.charts import outcome_chart

    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>provaudit audit · policy {escape(audit.policy)}</title></head><body>",
        f"<h1>Declared versus actual license categories (policy {escape(audit.policy)})</h1>",
    ]
    for i, (heading, table) in enumerate(_tables(audit)):
        parts.append(f"<h2>{escape(heading)} ({table.records} records)</h2>")
        parts.append(str(outcome_chart(f"audit-{i}", f"{heading}: declared versus actual", chart_rows(table))))
        parts.append(_html_table(_SUMMARY_HEAD, _summary_rows(table)))
        for s in table.sources:
            parts.append(f"<h3>{escape(SOURCE_LABELS.get(s.source, s.source))}</h3>")
            parts.append(_html_table(_MATRIX_HEAD, _matrix_rows(s)))
    if audit.observations:
        for key, label in _OBS:
            parts.append(f"<h2>{escape(label)}</h2>")
            rows = _observation_rows(audit.observations[key])
            parts.append(_html_table(["name", "records", *CATEGORIES], rows))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _html_table(head: list[str], rows: list[list[str]]) -> str:
    out = ["<table><thead><tr>" + "".join(f'<th scope="col">{escape(h)}</th>' for h in head) + "</tr></thead><tbody>"]
    for row in rows:
        out.append(
            f'<tr><th scope="row">{escape(row[0])}</th>' + "".join(f"<td>{escape(c)}</td>" for c in row[1:]) + "</tr>"
        )
    return "\n".join([*out, "</tbody></table>"])


def chart_rows(table: AuditTable) -> list[tuple[str, list[int]]]:
    """(source label, counts per outcome) for the stacked bar chart."""
    return [(SOURCE_LABELS.get(s.source, s.source), [s.counts()[o] for o in OUTCOMES]) for s in table.sources]


def site_view(table: AuditTable, catalog: str, collection: str | None = None) -> dict[str, Any]:
    """What the site's audit table partial shows: per source the matrix with catalog links per cell.

    ``catalog`` is the catalog page's path relative to the page (``index.html`` or ``../index.html``);
    a cell links to it filtered by use (the actual) and ``audit=source:declared`` (see search.js).
    """
    from urllib.parse import urlencode

    sources = []
    for s in table.sources:
        counts = s.counts()
        rows = []
        for actual in (a for a in ACTUALS if a != UNAUDITED or any(s.cells[a].values())):
            cells = []
            for declared in DECLARED:
                n = len(s.cells[actual][declared])
                query = (
                    {"use": actual, "audit": f"{s.source}:{declared}"}
                    if actual != UNAUDITED
                    else {"audit": f"{UNAUDITED}.{s.source}:{declared}"}
                )
                if collection:
                    query["collection"] = collection
                cells.append(
                    {
                        "declared": declared,
                        "count": n,
                        "outcome": outcome(actual, declared),
                        "href": f"{catalog}#{urlencode(query)}" if n else None,
                    }
                )
            rows.append(
                {"actual": actual, "records": sum(len(ids) for ids in s.cells[actual].values()), "cells": cells}
            )
        sources.append(
            {
                "source": s.source,
                "label": SOURCE_LABELS.get(s.source, s.source),
                "records": s.records,
                "counts": [(o, counts[o], _pct(counts[o], s.records)) for o in OUTCOMES],
                "rows": rows,
            }
        )
    return {"records": table.records, "sources": sources, "declared": DECLARED}


# --- the site: the same table on the audit page and on each collection's card ---------------------


@dataclass
class SiteAudit:
    """The audit of a site's records under the site's review: whole-site and per-collection views."""

    policy: Policy
    records: dict[str, Record]
    actual: dict[str, str]
    members: Mapping[str, Sequence[str]]
    total: AuditTable
    keys: dict[str, list[str]]
    unaudited: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        records: Sequence[Record],
        actual: Mapping[str, str],
        policy: str,
        members: Mapping[str, Sequence[str]],
        unaudited: Collection[str] = (),
    ) -> SiteAudit | None:
        """None when the review's policy cannot be loaded by name (a policy file read elsewhere)."""
        try:
            chosen = load_policy(policy)
        except Exception:  # the site still builds, without the table
            return None
        total, keys = audit_table("all", records, actual, chosen, unaudited)
        return cls(chosen, {r.id: r for r in records}, dict(actual), members, total, keys, frozenset(unaudited))

    def view(self, collection: str | None = None) -> dict[str, Any]:
        """The partial's view of the whole site (audit page) or of one collection (its card)."""
        from provaudit.site.charts import outcome_chart

        if collection is None:
            table, catalog, chart_id, scope = self.total, "index.html", "audit-all", "all records"
        else:
            chosen = [self.records[i] for i in self.members.get(collection, []) if i in self.records]
            table = audit_table(collection, chosen, self.actual, self.policy, self.unaudited)[0]
            catalog, chart_id, scope = "../index.html", "audit-card", collection
        view = site_view(table, catalog, collection)
        view["policy"] = self.policy.name
        view["chart"] = outcome_chart(
            chart_id, f"Declared versus actual license categories, {scope}", chart_rows(table)
        )
        return view

    def observation_charts(self, collection: str) -> list[tuple[str, Any]]:
        """DPI's other observations for a collection card: creator kinds, domains, task groups, synthetic share."""
        from provaudit.site.charts import bar_chart

        chosen = [self.records[i] for i in self.members.get(collection, []) if i in self.records]
        obs = observations(chosen, self.actual)
        out = []
        for key, title, chart_id in (
            ("creator_kinds", "Creators by kind (DPI groups)", "obs-kind"),
            ("domains", "Text sources by domain (DPI groups)", "obs-dom"),
            ("tasks", "Task categories (DPI groups)", "obs-task"),
            ("synthetic", "Synthetic (model-generated) data", "obs-syn"),
        ):
            items = [(row["name"], row["records"]) for row in obs[key][:12]]
            if key == "synthetic" and not any(n for name, n in items if name == "model-generated"):
                continue  # no record names a generating model: nothing to show
            if items:
                out.append((title, bar_chart(chart_id, f"{title} in {collection}", items)))
        return out
