"""Review reports as text, Markdown, HTML, JSON and SARIF 2.1.0."""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from provaudit import __version__
from provaudit.records.model import Severity
from provaudit.rules.report import ReviewReport

FORMATS = ("text", "md", "html", "json", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render(report: ReviewReport, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "sarif":
        return json.dumps(to_sarif(report), indent=2, ensure_ascii=False) + "\n"
    if fmt == "md":
        return _markdown(report)
    if fmt == "html":
        return _html(report)
    return _text(report)


def _text(report: ReviewReport) -> str:
    lines: list[str] = []
    for r in report.records:
        obligations = [
            o
            for o, on in (
                ("attribution", r.attribution),
                ("share-alike", r.share_alike),
                ("no-derivatives", r.no_derivatives),
                ("use restrictions", r.use_restrictions),
            )
            if on
        ]
        complete = "" if r.complete else f", incomplete: {len(r.unresolved)} upstream(s) not audited"
        lines.append(f"{r.id}  [{r.use.value}{complete}]  {r.effective_license or 'no license'}")
        for u in r.unresolved:
            lines.append(f"  not audited: {u.target} ({u.relation})" + (f" — {u.command}" if u.command else ""))
        if obligations:
            lines.append(f"  obligations: {', '.join(obligations)}")
        for finding in r.findings:
            lines.append(f"  {finding.severity.value:<7} {finding.rule} {finding.message}")
    summary = report.summary()
    lines.append("")
    lines.append(
        f"policy {summary['policy']}: {summary['records']} records; "
        + ", ".join(f"{n} {u}" for u, n in summary["use"].items())
    )
    lines.append("findings: " + ", ".join(f"{n} {s}" for s, n in summary["findings"].items()))
    return "\n".join(lines) + "\n"


_ENV = Environment(
    loader=PackageLoader("provaudit.rules", "templates"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)


def _markdown(report: ReviewReport) -> str:
    return _ENV.get_template("review.md.j2").render(report=report, s=report.summary())


def _html(report: ReviewReport) -> str:
    return _ENV.get_template("review.html.j2").render(report=report, s=report.summary())


def to_sarif(report: ReviewReport) -> dict[str, Any]:
    """SARIF 2.1.0: one run, one rule per rule id, one result per finding (located at its file)."""
    from provaudit.rules.engine import available_rules

    described = {r.rule_id: r for r in available_rules()}
    rule_ids = sorted({f.rule for r in report.records for f in r.findings})
    rules = [
        {
            "id": rid,
            "name": rid,
            "shortDescription": {"text": getattr(described.get(rid), "title", None) or rid},
            "helpUri": f"https://w3id.org/provaudit/rules#{rid}",
        }
        for rid in rule_ids
    ]
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
                "message": {"text": f.message + (f" Fix: {f.fix}" if f.fix else "")},
                "locations": [location],
                "properties": {
                    "record": r.id,
                    "use": r.use.value,
                    "complete": r.complete,
                    "unresolved": [u.target for u in r.unresolved],
                    "evidence": f.evidence,
                },
            }
            results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "provaudit",
                        "version": __version__,
                        "informationUri": "https://w3id.org/provaudit",
                        "rules": rules,
                    }
                },
                "results": results,
                "properties": {
                    "policy": report.policy,
                    "summary": report.summary(),
                    # every verdict, with or without findings: a CI job gates on these
                    "verdicts": [
                        {
                            "record": r.id,
                            "use": r.use.value,
                            "complete": r.complete,
                            "unresolved": [u.model_dump(mode="json", exclude_none=True) for u in r.unresolved],
                        }
                        for r in report.records
                    ],
                },
            }
        ],
    }
