"""Review reports as text, Markdown, HTML, JSON and SARIF 2.1.0."""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment, select_autoescape

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
        lines.append(f"{r.id}  [{r.use.value}]  {r.effective_license or 'no license'}")
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


_MD = """# provaudit review (policy `{{ s.policy }}`)

{{ s.records }} records: {% for u, n in s.use.items() %}{{ n }} {{ u }}{% if not loop.last %}, {% endif %}{% endfor %}.
Findings: {% for k, n in s.findings.items() %}{{ n }} {{ k }}{% if not loop.last %}, {% endif %}{% endfor %}.

| record | use | effective license | attribution | share-alike | findings |
|---|---|---|---|---|---|
{% for r in report.records -%}
| `{{ r.id }}` | {{ r.use.value }} | {{ r.effective_license or "—" }} | {{ "yes" if r.attribution else "no" }} | {{ "yes" if r.share_alike else "no" }} | {{ r.findings|length }} |
{% endfor %}
{% for r in report.records if r.findings or r.attribution_notices %}
## `{{ r.id }}`

{% for f in r.findings %}- **{{ f.severity.value }} {{ f.rule }}**: {{ f.message }}{% if f.fix %} — fix: {{ f.fix }}{% endif %}
{% endfor %}{% if r.attribution_notices %}
Attribution to reproduce:
{% for n in r.attribution_notices %}- {{ n }}
{% endfor %}{% endif %}
Evidence:
{% for e in r.evidence %}- {{ e.path|join(" → ") }}: {{ e.license or "no license" }} ({{ e.use.value if e.use else "?" }}){% if e.source %} — {{ e.source }}{% endif %}
{% endfor %}{% endfor %}"""

_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>provaudit review ({{ s.policy }})</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;margin:2rem;max-width:80rem}table{border-collapse:collapse}
td,th{border:1px solid #8884;padding:.25rem .5rem;text-align:left}.error{color:#b00020}.warning{color:#8a5a00}</style>
</head><body><h1>provaudit review (policy {{ s.policy }})</h1>
<p>{{ s.records }} records: {% for u, n in s.use.items() %}{{ n }} {{ u }}{% if not loop.last %}, {% endif %}{% endfor %}</p>
<table><thead><tr><th>record</th><th>use</th><th>effective license</th><th>attribution</th><th>share-alike</th>
<th>findings</th></tr></thead><tbody>
{% for r in report.records %}<tr><td><a href="#r{{ loop.index }}">{{ r.id }}</a></td><td>{{ r.use.value }}</td>
<td>{{ r.effective_license or "—" }}</td><td>{{ "yes" if r.attribution else "no" }}</td>
<td>{{ "yes" if r.share_alike else "no" }}</td><td>{{ r.findings|length }}</td></tr>
{% endfor %}</tbody></table>
{% for r in report.records %}<section id="r{{ loop.index }}"><h2>{{ r.id }}</h2><ul>
{% for f in r.findings %}<li class="{{ f.severity.value }}"><strong>{{ f.rule }}</strong> {{ f.message }}</li>{% endfor %}
</ul><h3>Evidence</h3><ol>{% for e in r.evidence %}<li>{{ e.path|join(" → ") }}: {{ e.license or "no license" }}
({{ e.use.value if e.use else "?" }}) {{ e.source or "" }}</li>{% endfor %}</ol></section>
{% endfor %}</body></html>
"""

_ENV = Environment(
    autoescape=select_autoescape(default_for_string=False), trim_blocks=False, keep_trailing_newline=True
)


def _markdown(report: ReviewReport) -> str:
    return _ENV.from_string(_MD).render(report=report, s=report.summary())


def _html(report: ReviewReport) -> str:
    env = Environment(autoescape=True)
    return env.from_string(_HTML).render(report=report, s=report.summary())


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
                "properties": {"record": r.id, "use": r.use.value, "evidence": f.evidence},
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
                "properties": {"policy": report.policy, "summary": report.summary()},
            }
        ],
    }
