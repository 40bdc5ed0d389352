"""The rule engine: rules with stable ids, severities, evidence and fixes.

Built-in rules (``provaudit/rules/builtin.py``) register exactly as users' rules do. Users add rules
without editing provaudit in two ways:

* a Python plugin: a callable ``rule(ctx: RuleContext) -> Iterable[Finding]`` carrying ``rule_id``,
  ``severity`` and ``title`` (use the :func:`rule` decorator), exposed through the entry-point group
  ``provaudit.rules``;
* a SPARQL query file (``.rq``) given with ``--rules PATH``: a SELECT binding ``?record`` (the record or
  revision IRI, or its ``dcterms:identifier``) and optionally ``?message`` and ``?evidence``; header
  comments give ``# id:``, ``# severity:``, ``# title:``, ``# fix:``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol

from provaudit.errors import InputError
from provaudit.records.identity import id_from_iri
from provaudit.records.model import Finding, Record, Severity, Source
from provaudit.rules.lineage import Effective, Lineage
from provaudit.rules.policy import Policy

ENTRY_POINT_GROUP = "provaudit.rules"
_RULE_ID = re.compile(r"^[A-Z]+[0-9]{3}$")


@dataclass
class RuleContext:
    """What a rule sees: one record, its effective terms, and the whole collection."""

    record: Record
    effective: Effective
    lineage: Lineage
    policy: Policy

    @property
    def records(self) -> Mapping[str, Record]:
        return self.lineage.records


class Rule(Protocol):
    rule_id: str
    severity: Severity
    title: str

    def __call__(self, ctx: RuleContext) -> Iterable[Finding]: ...


def rule(rule_id: str, severity: Severity | str, title: str) -> Callable[[Callable[..., Iterable[Finding]]], Rule]:
    """Declare a rule: ``@rule("ORG001", "warning", "what it checks")``."""
    if not _RULE_ID.match(rule_id):
        raise ValueError(f"rule id {rule_id!r} must look like PA101 (letters then three digits)")

    def wrap(func: Callable[..., Iterable[Finding]]) -> Rule:
        func.rule_id = rule_id  # type: ignore[attr-defined]
        func.severity = Severity(severity)  # type: ignore[attr-defined]
        func.title = title  # type: ignore[attr-defined]
        return func  # type: ignore[return-value]

    return wrap


def available_rules() -> list[Rule]:
    """Built-in rules and those of installed plugins, by id."""
    from provaudit.rules import builtin

    found: dict[str, Rule] = {r.rule_id: r for r in builtin.RULES}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = ep.load()
        except Exception as exc:  # a broken plugin is the user's to fix, with its name
            raise InputError(None, f"rule plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        for item in loaded if isinstance(loaded, list | tuple) else [loaded]:
            if not all(hasattr(item, a) for a in ("rule_id", "severity", "title")):
                raise InputError(None, f"rule plugin {ep.name!r}: {item!r} lacks rule_id/severity/title (use @rule)")
            found[item.rule_id] = item
    return [found[k] for k in sorted(found)]


def run_rules(ctx: RuleContext, rules: list[Rule]) -> list[Finding]:
    findings: list[Finding] = []
    for item in rules:
        try:
            produced = list(item(ctx))
        except Exception as exc:  # one failing rule must not hide every other finding
            produced = [
                Finding(
                    rule=item.rule_id,
                    severity=Severity.ERROR,
                    message=f"rule {item.rule_id} failed on {ctx.record.id}: {type(exc).__name__}: {exc}",
                )
            ]
        findings.extend(produced)
    return findings


# --- SPARQL rules -------------------------------------------------------------------------------


@dataclass
class SparqlRule:
    rule_id: str
    severity: Severity
    title: str
    query: str
    path: str
    fix: str | None = None


def load_sparql_rules(paths: Iterable[str | Path]) -> list[SparqlRule]:
    out: list[SparqlRule] = []
    for base in paths:
        base = Path(base)
        files = sorted(base.glob("*.rq")) if base.is_dir() else [base]
        for file in files:
            try:
                text = file.read_text(encoding="utf-8")
            except OSError as exc:
                raise InputError(str(file), f"cannot read SPARQL rule: {exc.strerror}") from exc
            header = dict(re.findall(r"^#\s*(id|severity|title|fix)\s*:\s*(.+?)\s*$", text, re.MULTILINE))
            rule_id = header.get("id", "")
            if not _RULE_ID.match(rule_id):
                raise InputError(str(file), "a SPARQL rule needs a header line `# id: ORG001`")
            try:
                severity = Severity(header.get("severity", "warning"))
            except ValueError as exc:
                raise InputError(
                    str(file), f"severity must be error, warning or info, not {header['severity']!r}"
                ) from exc
            out.append(
                SparqlRule(rule_id, severity, header.get("title", file.stem), text, str(file), header.get("fix"))
            )
    return out


def run_sparql_rules(rules: list[SparqlRule], query: Callable[[str], object]) -> dict[str, list[Finding]]:
    """Run each query (through ``query``: a store's query method); findings keyed by record id."""
    out: dict[str, list[Finding]] = {}
    for item in rules:
        try:
            result = query(item.query)
        except InputError as exc:
            raise InputError(item.path, str(exc)) from exc
        variables = list(getattr(result, "variables", []))
        if "record" not in variables:
            raise InputError(item.path, "the SELECT must bind ?record")
        for row in getattr(result, "rows", []):
            values = dict(zip(variables, row, strict=True))
            ref = values.get("record") or ""
            rid = id_from_iri(ref.split("/rev/")[0]) or ref
            out.setdefault(rid, []).append(
                Finding(
                    rule=item.rule_id,
                    severity=item.severity,
                    message=values.get("message") or f"{item.title}: {rid}",
                    source=Source(collector="sparql-rule", file=item.path),
                    fix=item.fix,
                    evidence=[values["evidence"]] if values.get("evidence") else [],
                )
            )
    return out
