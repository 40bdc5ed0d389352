"""`--policy dpi` reproduces the Data Provenance Initiative's own classification, record by record.

The oracle below follows DPI's published code (``classify_license`` / ``resolve_multiple_licenses`` /
``map_license_criteria``, "DataProvenance" aggregator: OpenAI terms counted) straight from the raw
summary JSON and their constants, independently of provaudit's collector, normalizer and lineage.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES

from provaudit import api
from provaudit.collectors.base import CollectOptions
from provaudit.collectors.dpi import COLLECTOR
from provaudit.rules.policy import dpi_terms
from provaudit.rules.review import review_records

# the tests' own copy of DPI's published tables (tests/fixtures/dpi_constants/SOURCE.md), not the package's
CONSTANTS = FIXTURES / "dpi_constants"
RANK = {"commercial": 0, "unspecified": 1, "non-commercial": 2, "academic-only": 3}


def dpi_oracle(entry: dict) -> str:
    classes = json.loads((CONSTANTS / "license_classes.json").read_text())
    custom = json.loads((CONSTANTS / "custom_license_classes.json").read_text())
    uses = []
    for item in entry["Licenses"]:
        if item["License"] == "Custom":
            use, _, _ = custom.get(item.get("License URL"), ("?", "?", "?"))
        else:
            use, _, _ = classes[item["License"]]
        uses.append(use)
    if not uses:
        return "unspecified"  # DPI returns "" for no license; provaudit's dpi policy says unspecified
    if "?" in uses or "Acad" in uses:
        return "academic-only"
    if "NC" in uses:
        return "non-commercial"
    if "Unspecified" in uses:
        return "unspecified"
    return "commercial"


def _reviewed(folder: Path, policy: str = "dpi") -> list[tuple[object, object]]:
    records = sorted(api.collect([str(folder)], CollectOptions(digests=False)), key=lambda r: r.id)
    report = review_records(records, policy)
    return list(zip(records, report.records, strict=True))


def _compare(folder: Path) -> tuple[int, list[str]]:
    reviewed_all = _reviewed(folder)
    by_location = {record.location: reviewed.use.value for record, reviewed in reviewed_all}
    # the same uid in two summaries (DPI has PII-Masking-200k.json and PII-masking-200k.json) is one record
    by_uid = {record.location.rsplit("#", 1)[1]: reviewed.use.value for record, reviewed in reviewed_all}
    mismatches = []
    checked = 0
    for file in sorted(folder.glob("*.json")):
        if file.name.startswith("_"):
            continue
        for uid, entry in json.loads(file.read_text()).items():
            expected = dpi_oracle(entry)
            got = by_location.get(f"{file.resolve()}#{uid}") or by_uid[uid]
            checked += 1
            if got != expected:
                mismatches.append(f"{file.name}#{uid}: dpi={expected} provaudit={got}")
    return checked, mismatches


def test_the_package_copy_of_dpis_tables_is_the_published_one() -> None:
    """A class flipped in data/licenses/dpi/ must fail here: the oracle below reads its own copy."""
    from provaudit.resources import resource

    for name in ("license_classes.json", "custom_license_classes.json"):
        published = json.loads((CONSTANTS / name).read_text())
        packaged = json.loads(resource("data", "licenses", "dpi", name).read_text())
        assert packaged == published, name


def test_dpi_policy_equals_dpi_rules_on_fixtures() -> None:
    checked, mismatches = _compare(FIXTURES / "dpi")
    assert checked == 43
    assert mismatches == []


def test_dpi_policy_equals_dpi_rules_on_the_whole_corpus(shared_corpus: Path) -> None:
    checked, mismatches = _compare(shared_corpus / "dpi" / "data_summaries")
    assert checked > 3000
    assert mismatches == []


def test_hub_declared_more_permissive_than_dpi_category_is_a_finding() -> None:
    expected, flagged = set(), set()
    for record, reviewed in _reviewed(FIXTURES / "dpi"):
        for claim in record.claims:
            if claim.source.collector == COLLECTOR and claim.source.field.endswith(".HF Yaml License"):
                terms = dpi_terms(claim.raw, None)
                if terms and terms.use.value != "unspecified" and RANK[terms.use.value] < RANK[reviewed.use.value]:
                    expected.add(record.id)
        if any(f.rule == "PA102" and "HF Yaml License" in f.message for f in reviewed.findings):
            flagged.add(record.id)
    assert {"dataset:ConiferLM/Conifer", "dataset:LDJnr/Pure-Dove"} <= expected
    assert flagged == expected


@pytest.mark.parametrize("policy", ["default", "dpi"])
def test_openai_generated_alpaca_is_non_commercial(policy: str) -> None:
    ((_, reviewed),) = _reviewed(FIXTURES / "dpi" / "Alpaca.json", policy)
    assert reviewed.id == "dataset:tatsu-lab/alpaca"
    assert reviewed.use.value == "non-commercial"
    assert reviewed.attribution


def test_every_hub_declared_more_permissive_record_in_the_corpus_is_flagged(shared_corpus: Path) -> None:
    expected, flagged = set(), set()
    for record, reviewed in _reviewed(shared_corpus / "dpi" / "data_summaries"):
        for claim in record.claims:
            field = claim.source.field or ""
            if claim.source.collector == COLLECTOR and field.endswith((".HF Yaml License", ".HF Config License")):
                terms = dpi_terms(claim.raw, None)
                if terms and terms.use.value != "unspecified" and RANK[terms.use.value] < RANK[reviewed.use.value]:
                    expected.add(record.id)
        if any(f.rule == "PA102" and "HF " in f.message for f in reviewed.findings):
            flagged.add(record.id)
    assert len(expected) > 100
    assert expected <= flagged
