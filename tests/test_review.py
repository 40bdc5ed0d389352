"""Legal review: golden reports on real inputs, lineage rules, policies, plugins and report formats."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml
from conftest import CARDS, FIXTURES

from provaudit import api
from provaudit.collectors.base import CollectOptions
from provaudit.collectors.local import collect_folder
from provaudit.errors import InputError
from provaudit.licenses.kb import Use
from provaudit.records.model import Kind, LicenseClaim, Record, Relation, Source, Upstream
from provaudit.rules.engine import available_rules, load_sparql_rules
from provaudit.rules.policy import load_policy
from provaudit.rules.render import render, to_sarif
from provaudit.rules.review import review_records, review_store

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "case.yaml").is_file())


def _case_report(case: str) -> dict:
    spec = yaml.safe_load((GOLDEN / case / "case.yaml").read_text())
    records = api.collect([str(FIXTURES / t) for t in spec["targets"]], CollectOptions(digests=False))
    report = review_records(records, spec["policy"]).to_json()
    # locations are absolute paths of this checkout: the golden file keeps them relative
    text = json.dumps(report, indent=2, ensure_ascii=False, sort_keys=True)
    return json.loads(text.replace(str(FIXTURES.resolve()), "<fixtures>"))


@pytest.mark.parametrize("case", CASES)
def test_golden_review_report(case: str) -> None:
    expected_file = GOLDEN / case / "expected.json"
    report = _case_report(case)
    if os.environ.get("PROVAUDIT_REGEN_GOLDEN"):
        expected_file.write_text(json.dumps(report, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    expected = json.loads(expected_file.read_text())
    assert report == expected


def test_golden_lineage_verdicts_are_what_a_lawyer_expects() -> None:
    report = {r["id"]: r for r in _case_report("lineage")["records"]}
    mistral = report["model:mistralai/Mistral-7B-v0.1"]
    assert (mistral["use"], mistral["complete"]) == ("commercial", True)
    # neural-chat was trained on SlimOrca, which is not in the store: no commercial verdict until it is audited
    chat = report["model:Intel/neural-chat-7b-v3-3"]
    assert (chat["use"], chat["complete"]) == ("unspecified", False)
    assert "model:mistralai/Mistral-7B-v0.1" in chat["upstream"]
    assert [(u["target"], u["command"]) for u in chat["unresolved"]] == [
        ("dataset:Open-Orca/SlimOrca", "provaudit scan hf:datasets/Open-Orca/SlimOrca")
    ]
    pa112 = next(f for f in chat["findings"] if f["rule"] == "PA112")
    assert "provaudit scan hf:datasets/Open-Orca/SlimOrca" in pa112["fix"]
    nous = report["model:NousResearch/Nous-Hermes-2-Yi-34B"]
    assert nous["use"] == "unspecified"  # its base is under the Yi license (`other`)
    # declared Apache-2.0 on a base whose license does not allow that: an error naming both claims
    pa117 = next(f for f in nous["findings"] if f["rule"] == "PA117")
    assert pa117["severity"] == "error" and "model:01-ai/Yi-34B" in pa117["message"]
    assert any(e.startswith("declared: README.md") for e in pa117["evidence"])
    assert any(e.startswith("base: README.md") for e in pa117["evidence"])


def _record(rid: str, kind: Kind, licenses: list[str], upstream: list[tuple[str, Relation]] = ()) -> Record:
    from provaudit.licenses.normalize import normalize

    source = Source(collector="test", file="README.md", field="license")
    return Record(
        id=rid,
        kind=kind,
        name=rid.split(":", 1)[1],
        claims=[
            LicenseClaim(raw=x, source=source, expression=normalize(x).expression, method="hub-id") for x in licenses
        ],
        upstream=[Upstream(target=t, raw=t.split(":", 1)[1], relation=r, source=source) for t, r in upstream],
    )


def _rules(report, rid: str) -> list[str]:
    return sorted(f.rule for r in report.records if r.id == rid for f in r.findings)


def test_share_alike_and_no_derivatives_sources() -> None:
    records = [
        _record("dataset:wiki", Kind.DATASET, ["cc-by-sa-4.0"]),
        _record("dataset:nd", Kind.DATASET, ["cc-by-nd-4.0"]),
        _record("dataset:derived", Kind.DATASET, ["mit"], [("dataset:wiki", Relation.DERIVED_FROM)]),
        _record("dataset:modified", Kind.DATASET, ["cc-by-4.0"], [("dataset:nd", Relation.DERIVED_FROM)]),
    ]
    report = review_records(records)
    assert "PA106" in _rules(report, "dataset:derived")
    assert "PA107" in _rules(report, "dataset:modified")
    derived = next(r for r in report.records if r.id == "dataset:derived")
    assert derived.share_alike and derived.effective_license == "CC-BY-SA-4.0 AND MIT"
    assert [s.path for s in derived.evidence] == [["dataset:derived"], ["dataset:derived", "dataset:wiki"]]


def test_commercial_model_trained_on_non_commercial_data() -> None:
    records = [
        _record("dataset:nc", Kind.DATASET, ["cc-by-nc-4.0"]),
        _record("model:org/m", Kind.MODEL, ["apache-2.0"], [("dataset:nc", Relation.TRAINED_ON)]),
    ]
    report = review_records(records)
    model = next(r for r in report.records if r.id == "model:org/m")
    assert model.use is Use.NON_COMMERCIAL
    assert {"PA102", "PA109"} <= set(_rules(report, "model:org/m"))


def test_cycles_and_self_derivation_are_findings_not_crashes() -> None:
    records = [
        _record("dataset:a", Kind.DATASET, ["mit"], [("dataset:b", Relation.DERIVED_FROM)]),
        _record("dataset:b", Kind.DATASET, ["mit"], [("dataset:a", Relation.DERIVED_FROM)]),
        _record("dataset:self", Kind.DATASET, ["mit"], [("dataset:self", Relation.DERIVED_FROM)]),
        _record("dataset:orphan", Kind.DATASET, ["mit"], [("dataset:gone", Relation.DERIVED_FROM)]),
    ]
    report = review_records(records)
    assert "PA110" in _rules(report, "dataset:a") + _rules(report, "dataset:b")
    assert _rules(report, "dataset:self") == ["PA111"]
    assert _rules(report, "dataset:orphan") == ["PA112"]


def test_most_restrictive_wins_and_or_takes_the_user_choice() -> None:
    records = [
        _record("dataset:dual", Kind.DATASET, ["MIT OR CC-BY-NC-4.0"]),
        _record("dataset:both", Kind.DATASET, ["mit", "cc-by-nc-4.0"]),
        _record("dataset:none", Kind.DATASET, []),
    ]
    by_id = {r.id: r for r in review_records(records).records}
    assert by_id["dataset:dual"].use is Use.COMMERCIAL
    assert by_id["dataset:both"].use is Use.NON_COMMERCIAL
    assert by_id["dataset:none"].use is Use.UNSPECIFIED
    assert [f.rule for f in by_id["dataset:none"].findings] == ["PA101"]


def test_generated_by_openai_without_a_license_entry() -> None:
    records = [
        _record("dataset:synth", Kind.DATASET, ["apache-2.0"], [("model:dpi/OpenAI GPT-4", Relation.GENERATED_BY)])
    ]
    (reviewed,) = review_records(records).records
    assert reviewed.use is Use.NON_COMMERCIAL
    assert {"PA102", "PA108"} <= {f.rule for f in reviewed.findings}
    step = next(s for s in reviewed.evidence if s.relation == "generated_by")
    assert step.license == "LicenseRef-provaudit-openai-terms" and "openai.com" in (step.terms_source or "")


def test_card_and_license_file_disagreement(tmp_path: Path) -> None:
    folder = tmp_path / "snli"
    folder.mkdir()
    (folder / "README.md").write_text((CARDS / "datasets" / "snli" / "README.md").read_text())
    licenses = sorted((FIXTURES / "licenses").glob("MIT__orig*"))
    if not licenses:
        pytest.skip("license text fixtures not present")
    (folder / "LICENSE").write_text(licenses[0].read_text())
    (reviewed,) = review_records([collect_folder(folder)]).records
    assert "PA103" in {f.rule for f in reviewed.findings}


def test_policy_allow_list_and_fail_on_use(tmp_path: Path) -> None:
    policy = load_policy("default").model_copy(
        update={"allowed_licenses": ["MIT", "Apache-2.0"], "fail_on_use": [Use.NON_COMMERCIAL]}
    )
    records = [_record("dataset:nc", Kind.DATASET, ["cc-by-nc-4.0"]), _record("dataset:ok", Kind.DATASET, ["mit"])]
    report = review_records(records, policy)
    assert {"PA113", "PA114"} <= set(_rules(report, "dataset:nc"))
    assert _rules(report, "dataset:ok") == []
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nclassification: astrology\n")
    with pytest.raises(InputError, match=r"bad\.yaml: invalid policy"):
        load_policy(bad)


def test_sparql_rule_file_adds_findings(store_path: Path, tmp_path: Path) -> None:
    api.scan([str(CARDS / "datasets" / "snli"), str(CARDS / "datasets" / "imdb")], store=store_path)
    rule = tmp_path / "title.rq"
    rule.write_text(
        "# id: ORG001\n# severity: warning\n# title: dataset without a title\n# fix: add pretty_name\n"
        "SELECT ?record ?message WHERE { ?v a pa:Revision ; dcterms:identifier ?record .\n"
        "  FILTER NOT EXISTS { ?v dcterms:title ?t } BIND(CONCAT(?record, ' has no pretty_name') AS ?message) }\n"
    )
    assert load_sparql_rules([rule])[0].rule_id == "ORG001"
    with api.open_store(store_path, read_only=True) as db:
        report = review_store(db, sparql_rules=[rule])
    flagged = {r.id for r in report.records if any(f.rule == "ORG001" for f in r.findings)}
    titles = {
        r.id
        for r in report.records
        if any(f.key == "title" for f in collect_folder(CARDS / "datasets" / r.id.split(":")[1]).facts)
    }
    assert flagged == {"dataset:snli", "dataset:imdb"} - titles


def test_python_rule_plugin_through_entry_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "orgrules.py").write_text(
        "from provaudit.rules.engine import rule\nfrom provaudit.records.model import Finding\n\n"
        "@rule('ORG002', 'info', 'every dataset gets a note')\n"
        "def note(ctx):\n    yield Finding(rule='ORG002', severity='info', message=ctx.record.id + ' reviewed')\n"
    )
    dist = tmp_path / "orgrules-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: orgrules\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[provaudit.rules]\nnote = orgrules:note\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "ORG002" in {r.rule_id for r in available_rules()}
    (reviewed,) = review_records([_record("dataset:x", Kind.DATASET, ["mit"])]).records
    assert [f.message for f in reviewed.findings if f.rule == "ORG002"] == ["dataset:x reviewed"]
    sys.modules.pop("orgrules", None)


def test_report_formats(store_path: Path) -> None:
    records = api.collect([str(FIXTURES / "dpi" / "Pure-Dove.json")], CollectOptions(digests=False))
    report = review_records(records, "dpi")
    sarif = to_sarif(report)
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["tool"]["driver"]["name"] == "provaudit"
    results = sarif["runs"][0]["results"]
    assert results and results[0]["ruleId"] == "PA102" and results[0]["level"] == "error"
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "Pure-Dove.json"
    data = json.loads(render(report, "json"))
    assert set(data["records"][0]) >= {
        "id",
        "name",
        "kind",
        "declared",
        "use",
        "attribution",
        "share_alike",
        "evidence",
        "findings",
    }
    assert data["summary"]["use"]["non-commercial"] == 1
    import html5lib

    html5lib.HTMLParser(strict=True).parse(render(report, "html"))
    assert render(report, "md").startswith("# provaudit review (policy `dpi`)")


def test_custom_license_name_and_link_are_kept_shown_and_exported() -> None:
    from provaudit.export.umr import to_umr

    records = api.collect([str(CARDS / "models" / "01-ai__Yi-34B")], CollectOptions(digests=False))
    report = review_records(records)
    (yi,) = report.records
    declared = [d for d in yi.declared if d.raw == "other"]
    assert declared and declared[0].name == "yi-license" and declared[0].link == "LICENSE"
    assert declared[0].authority == "card metadata"
    # the name reads as the Yi license, whose terms the knowledge base knows (not the Hub's docs for `other`)
    assert declared[0].expression == "LicenseRef-provaudit-yi-license"
    step = next(s for s in yi.evidence if s.license == "LicenseRef-provaudit-yi-license")
    assert "license_name 'yi-license'" in (step.source or "") and "huggingface.co/docs" not in (step.terms_source or "")
    exported = to_umr(records[0], yi)["mr"]["provaudit"]["licenses"]
    assert {"raw": "other", "license_name": "yi-license", "license_link": "LICENSE"}.items() <= next(
        x for x in exported if x["raw"] == "other"
    ).items()


def test_other_with_an_unknown_name_is_a_finding_citing_its_link() -> None:
    source = Source(collector="local", file="README.md", field="license", line=3)
    claim = LicenseClaim(
        raw="other", source=source, expression="LicenseRef-provaudit-other", name="acme-eula", link="LICENSE.md"
    )
    record = Record(id="model:acme/m", kind=Kind.MODEL, name="acme/m", claims=[claim])
    (reviewed,) = review_records([record]).records
    pa116 = [f for f in reviewed.findings if f.rule == "PA116"]
    assert pa116 and "'acme-eula' (LICENSE.md)" in pa116[0].message
    assert pa116[0].evidence == ["license_name: acme-eula", "license_link: LICENSE.md"]
    step = next(s for s in reviewed.evidence if s.license == "LicenseRef-provaudit-other")
    assert step.terms_source == "license_link LICENSE.md"
