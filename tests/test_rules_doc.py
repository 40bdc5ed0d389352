"""docs/rules.md documents every rule id the code reports, and is exactly what the registry generates."""

from __future__ import annotations

import re
from pathlib import Path

from provaudit.rules.docs import markdown, registry
from provaudit.rules.engine import available_rules

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "rules.md"
RULE_ID = re.compile(r"""["'](PA\d{3})["']""")


def _ids_in_code() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "provaudit").rglob("*.py"):
        found |= set(RULE_ID.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_rule_id_in_the_code_is_documented() -> None:
    in_code = _ids_in_code()
    assert {"PA001", "PA010", "PA102", "PA110", "PA112", "PA118"} <= in_code  # the scan finds them all
    missing = in_code - set(registry())
    assert not missing, f"rule ids reported by the code but not in provaudit/rules/docs.py: {sorted(missing)}"
    headings = set(re.findall(r"^## (PA\d{3})$", DOC.read_text(encoding="utf-8"), re.MULTILINE))
    assert in_code <= headings


def test_doc_is_generated_from_the_registry() -> None:
    assert DOC.read_text(encoding="utf-8") == markdown(), (
        "docs/rules.md is stale: python -m provaudit.rules.docs > docs/rules.md"
    )


def test_registered_rules_keep_their_severity_and_title() -> None:
    docs = registry()
    for item in available_rules():
        if item.rule_id.startswith("PA"):
            assert docs[item.rule_id].severity == item.severity.value
            assert docs[item.rule_id].title == item.title


def test_every_entry_is_complete() -> None:
    for doc in registry().values():
        for value in (doc.severity, doc.title, doc.checks, doc.why, doc.fix, doc.example):
            assert value.strip(), doc.rule_id
        assert doc.severity in {"error", "warning", "info"}
