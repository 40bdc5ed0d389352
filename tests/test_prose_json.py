"""Issue 18 item 4: the review's JSON and SARIF say which licences were read from a card's prose
(`"source": "card_prose"`, the place in `location`, the sentence in `quote`) and which parents were inferred
(`"inferred": true`), on real cards of tests/fixtures/prose_lineage (sources in its SOURCE.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from provaudit import api
from provaudit.cli import main
from provaudit.collectors.base import CollectOptions
from provaudit.export.umr import from_umr, to_umr
from provaudit.rules.authority import authority
from provaudit.rules.review import review_records

FIXTURES = Path(__file__).parent / "fixtures" / "prose_lineage"
POLEMO = FIXTURES / "datasets" / "polemo2"
SOLAR = FIXTURES / "models" / "janhq__Solar-10.7B-SLERP"


def _review(fmt: str) -> Any:
    runner = CliRunner()
    result = runner.invoke(main, ["scan", str(POLEMO), str(SOLAR), "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["review", "--format", fmt, "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _line_of(path: Path, text: str) -> int:
    """The checker's own reading of the card: the 1-based line holding the sentence."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_prose_licences_say_card_prose_with_their_place_and_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    sentence = "Dataset provided for research purposes only."
    line = _line_of(POLEMO / "README.md", sentence)
    records = {r["id"]: r for r in _review("json")["records"]}
    polemo = records["dataset:polemo2"]
    prose = [d for d in polemo["declared"] if d["source"] == "card_prose"]
    assert prose == [
        {
            "raw": sentence,
            "expression": "LicenseRef-provaudit-non-commercial",
            "source": "card_prose",
            "collector": "local",
            "authority": "card prose",
            "location": f"README.md:{line}",
            "quote": sentence,
        }
    ]
    # the YAML licence keeps its place in `source`, with no location of its own
    yaml_entries = [d for d in polemo["declared"] if d["source"] != "card_prose"]
    assert yaml_entries and all("location" not in d and "[" in d["source"] for d in yaml_entries)
    assert polemo["use"] == "non-commercial"


def test_inferred_parents_say_inferred_true(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    solar = {r["id"]: r for r in _review("json")["records"]}["model:janhq/Solar-10.7B-SLERP"]
    base = "model:upstage/SOLAR-10.7B-Instruct-v1.0"  # named only in the card's mergekit recipe
    assert any(u["target"] == base and u["inferred"] is True for u in solar["unresolved"])
    assert any(s["record"] == base and s["inferred"] is True for s in solar["evidence"])
    assert solar["use"] != "commercial"  # a parent that is not audited


def test_sarif_verdicts_list_prose_claims_as_card_prose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = _review("sarif")["runs"][0]
    verdicts = {v["record"]: v for v in run["properties"]["verdicts"]}
    declared = verdicts["dataset:polemo2"]["declared"]
    assert [d["location"] for d in declared if d["source"] == "card_prose"] == [
        f"README.md:{_line_of(POLEMO / 'README.md', 'Dataset provided for research purposes only.')}"
    ]
    solar = verdicts["model:janhq/Solar-10.7B-SLERP"]
    assert any(u["inferred"] is True for u in solar["unresolved"])


def test_a_prose_licence_stays_prose_through_a_umr_export_and_import() -> None:
    record = api.collect([str(POLEMO)], CollectOptions(digests=False))[0]
    exported = to_umr(record)
    prose = [c for c in exported["mr"]["provaudit"]["licenses"] if c.get("source") == "card_prose"]
    assert [c["raw"] for c in prose] == ["Dataset provided for research purposes only."]
    back = from_umr(exported, "polemo2.yaml")
    # read back, the sentence still ranks as card prose (stricter, so it still counts), never as card metadata
    assert [authority(c).label for c in back.claims if c.raw == prose[0]["raw"]] == ["card prose"]
    assert review_records([back], "default").records[0].use.value == "non-commercial"
