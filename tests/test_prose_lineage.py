"""Issue 18 on real cards (tests/fixtures/prose_lineage, sources in its SOURCE.md): parents named only in a merge
recipe or in prose, licences stated only in sentences, and the verdicts that rest on them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from provaudit import api
from provaudit.cli import main
from provaudit.collectors.base import CollectOptions
from provaudit.collectors.lineage_text import from_merge_prose, from_recipes, prose_licenses, tag_parent
from provaudit.records.model import Record, Relation
from provaudit.rules.review import review_records

FIXTURES = Path(__file__).parent / "fixtures" / "prose_lineage"
MODELS = FIXTURES / "models"


def _collect(*names: str) -> list[Record]:
    return api.collect([str(MODELS / n) for n in names], CollectOptions(digests=False))


def _links(record: Record) -> dict[str, tuple[str, int | None, bool]]:
    return {u.target: (u.relation.value, u.source.line, u.inferred) for u in record.upstream}


def _verdicts(records: list[Record]) -> dict[str, str]:
    return {r.id: r.use.value for r in review_records(records, "default").records}


def test_recipe_parents_are_found_with_their_lines() -> None:
    by_id = {r.id: r for r in _collect("mlabonne__NeuralQuant-9B", "janhq__Solar-10.7B-SLERP")}
    quant = _links(by_id["model:mlabonne/NeuralQuant-9B"])
    # README.md lines 18 and 21: `- model: quantumaikr/quantum-v0.01`, `- model: mlabonne/NeuralHermes-2.5-Mistral-7B`
    assert quant["model:quantumaikr/quantum-v0.01"] == ("merge", 18, True)
    assert quant["model:mlabonne/NeuralHermes-2.5-Mistral-7B"] == ("merge", 21, True)
    solar = _links(by_id["model:janhq/Solar-10.7B-SLERP"])
    # line 37 `base_model: upstage/SOLAR-10.7B-Instruct-v1.0` (also listed under models: it is the merge base)
    assert solar["model:upstage/SOLAR-10.7B-Instruct-v1.0"] == ("merge_base", 37, True)
    assert solar["model:janhq/Pandora-v1-10.7B"] == ("merge", 34, True)
    link = next(u for u in by_id["model:janhq/Solar-10.7B-SLERP"].upstream if u.target.endswith("Pandora-v1-10.7B"))
    assert link.source.field == "recipe" and "merge_method: slerp" in (link.evidence or "")
    assert link.confidence == pytest.approx(0.9)


def test_prose_parents_are_found_with_their_lines() -> None:
    by_id = {r.id: r for r in _collect("The-Face-Of-Goonery__Huginn-13b-v4.5", "Ba2han__BruinsV2-OpHermesNeu-11B")}
    huginn = _links(by_id["model:The-Face-Of-Goonery/Huginn-13b-v4.5"])
    # line 6: "https://huggingface.co/The-Face-Of-Goonery/Huginn-v3-13b merged with https://huggingface.co/Sao10K/..."
    assert huginn["model:The-Face-Of-Goonery/Huginn-v3-13b"] == ("merge", 6, True)
    assert huginn["model:Sao10K/Mythical-Destroyer-V2-L2-13B"] == ("merge", 6, True)
    bruins = _links(by_id["model:Ba2han/BruinsV2-OpHermesNeu-11B"])
    # line 12: "A passthrough merge of OpenHermes-2.5-neural-chat-7b-v3-1 and Bruins-V2." (no Hub ids)
    assert bruins["model:local:OpenHermes-2.5-neural-chat-7b-v3-1"] == ("merge", 12, True)
    assert bruins["model:local:Bruins-V2"] == ("merge", 12, True)


def test_a_merge_with_a_non_commercial_or_unknown_parent_is_not_commercial() -> None:
    records = _collect(
        "mlabonne__NeuralQuant-9B",
        "quantumaikr__quantum-v0.01",
        "janhq__Solar-10.7B-SLERP",
        "upstage__SOLAR-10.7B-Instruct-v1.0",
        "Ba2han__BruinsV2-OpHermesNeu-11B",
        "The-Face-Of-Goonery__Huginn-13b-v4.5",
    )
    report = {r.id: r for r in review_records(records, "default").records}
    # declared apache-2.0, a recipe parent under cc-by-nc-4.0
    quant = report["model:mlabonne/NeuralQuant-9B"]
    assert quant.use.value == "non-commercial"
    nc = next(s for s in quant.evidence if s.record == "model:quantumaikr/quantum-v0.01" and s.use)
    assert nc.inferred and nc.relation == "merge" and "README.md:18" in (nc.note or "")
    assert any(f.rule == "PA117" for f in quant.findings)
    assert report["model:janhq/Solar-10.7B-SLERP"].use.value == "non-commercial"
    # declared mit, parents named without Hub ids: their terms are unknown
    bruins = report["model:Ba2han/BruinsV2-OpHermesNeu-11B"]
    assert bruins.use.value == "unspecified" and not bruins.complete
    assert {u.target for u in bruins.unresolved} == {
        "model:local:OpenHermes-2.5-neural-chat-7b-v3-1",
        "model:local:Bruins-V2",
    }
    assert all(u.inferred and u.command is None for u in bruins.unresolved)
    assert report["model:The-Face-Of-Goonery/Huginn-13b-v4.5"].use.value != "commercial"


def test_a_merge_of_permissive_parents_stays_commercial() -> None:
    records = _collect("mmnga__Mixtral-Fusion-4x7B-Instruct-v0.1", "mistralai__Mixtral-8x7B-Instruct-v0.1")
    merge = next(r for r in records if r.id == "model:mmnga/Mixtral-Fusion-4x7B-Instruct-v0.1")
    assert _links(merge)["model:mistralai/Mixtral-8x7B-Instruct-v0.1"] == ("merge", 14, True)
    review = {r.id: r for r in review_records(records, "default").records}[merge.id]
    assert review.use.value == "commercial" and review.complete
    assert any(s.inferred and s.record == "model:mistralai/Mixtral-8x7B-Instruct-v0.1" for s in review.evidence)


def test_prose_licence_stricter_than_yaml_counts_and_names_both() -> None:
    records = api.collect([str(FIXTURES / "datasets" / "polemo2")], CollectOptions(digests=False))
    prose = [c for c in records[0].claims if c.source.field == "card_prose"]
    assert [(c.source.line, c.raw, c.expression) for c in prose] == [
        (132, "Dataset provided for research purposes only.", "LicenseRef-provaudit-non-commercial")
    ]
    review = review_records(records, "default").records[0]
    assert review.use.value == "non-commercial"
    found = next(f for f in review.findings if f.rule == "PA119")
    assert "README.md:132 [card_prose]" in found.message and "'bsd-3-clause'" in found.message
    prose_entry = next(d for d in review.declared if d.authority == "card prose")
    assert (prose_entry.source, prose_entry.location) == ("card_prose", "README.md:132")


def test_prose_licence_fills_a_missing_yaml_licence() -> None:
    folder = (
        Path(__file__).parent
        / "fixtures"
        / "repo_files"
        / "GQ131__fine-tuned-Llama-2-model-on-IMDB-sentiment-analysis-dataset"
    )
    records = api.collect([str(folder)], CollectOptions(digests=False))
    claims = [(c.source.field, c.source.line, c.expression) for c in records[0].claims]
    assert ("card_prose", 19, "Apache-2.0") in claims  # "- **License:** Apache License 2.0"
    review = review_records(records, "default").records[0]
    assert not any(f.rule == "PA101" for f in review.findings)  # a licence is stated, in prose


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("**License:** Apache License 2.0", "Apache-2.0"),
        ("This model is released under the Llama 2 Community License.", "LicenseRef-scancode-llama-2-license-2023"),
        ("The data may only be used for non-commercial research purposes.", "LicenseRef-provaudit-non-commercial"),
        ("For academic use only.", "LicenseRef-provaudit-academic-only"),
        ("Users must comply with the terms of Reddit's API.", "LicenseRef-provaudit-third-party-terms"),
        ("Free for commercial and non-commercial use.", None),
        ("Unlike LLaMA, which is non-commercial, this model is Apache-2.0.", None),
    ],
)
def test_licence_sentences(sentence: str, expected: str | None) -> None:
    found = prose_licenses(f"Intro.\n\n{sentence}\n", first_line=10)
    assert [(f.line, f.expression) for f in found] == ([(12, expected)] if expected else [])


def test_what_is_never_inferred() -> None:
    # a code block that loads a model is no recipe; a table row compares models; an architecture is no parent
    body = (
        "```python\nmodel = AutoModel.from_pretrained('meta-llama/Llama-2-7b-hf')\n```\n"
        "| model | merge of | score |\n|---|---|---|\n| a | merge of [x/y](https://huggingface.co/x/y) | 1 |\n"
        "It uses the Llama 2 architecture and tokenizer.\n"
    )
    assert from_recipes(body, collector="t").links == []
    assert from_merge_prose(body, collector="t").links == []


def test_hub_tags_name_parents_with_their_relation() -> None:
    assert tag_parent("base_model:merge:A/b") == ("A/b", Relation.MERGE)
    assert tag_parent("base_model:quantized:A/b") == ("A/b", Relation.QUANTIZED)
    assert tag_parent("base_model:A/b") == ("A/b", Relation.BASE_MODEL)
    assert tag_parent("license:mit") is None


def test_review_of_a_merge_shows_the_recipe_as_evidence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    paths = [str(MODELS / n) for n in ("mlabonne__NeuralQuant-9B", "quantumaikr__quantum-v0.01")]
    result = runner.invoke(main, ["scan", *paths, "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["review", "--format", "json", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    record = next(r for r in json.loads(result.output)["records"] if r["id"] == "model:mlabonne/NeuralQuant-9B")
    step = next(s for s in record["evidence"] if s["record"] == "model:quantumaikr/quantum-v0.01" and s.get("use"))
    assert step["inferred"] is True and step["relation"] == "merge"
    assert "model: quantumaikr/quantum-v0.01 (merge_method: passthrough)" in step["note"]
    assert "README.md:18 [recipe]" in step["note"]
    text = runner.invoke(main, ["review", "--fail-on", "never"]).output
    assert "merge_method: passthrough" in text


def test_the_bundled_demo_merge_shows_its_recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    demo = Path(__file__).resolve().parents[1] / "data" / "demo"
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["scan", str(demo / "models"), str(demo / "merges"), "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["review", "--format", "json", "--fail-on", "never"])
    records = {r["id"]: r for r in json.loads(result.output)["records"]}
    merge = records["model:Weyaxi/OpenHermes-2.5-neural-chat-v3-3-Slerp"]
    direct = [merge["id"], "model:mistralai/Mistral-7B-v0.1"]
    base = next(s for s in merge["evidence"] if s["path"] == direct and s.get("use"))
    assert base["relation"] == "merge_base" and base["inferred"] is True
    assert "base_model: mistralai/Mistral-7B-v0.1 (merge_method: slerp)" in base["note"]
    assert "README.md:135 [recipe]" in base["note"]
    # a parent the demo does not hold keeps the merge incomplete, never commercial
    assert merge["use"] != "commercial" and not merge["complete"]
    assert any(u["target"] == "model:teknium/OpenHermes-2.5-Mistral-7B" for u in merge["unresolved"])


def test_dpi_upstream_names_resolve_by_variant_and_alias_and_near_misses_are_reported() -> None:
    cards = Path(__file__).parent / "fixtures" / "cards" / "datasets"
    targets = [FIXTURES / "dpi"] + [cards / n for n in ("ai2_arc", "cnn_dailymail", "multi_nli")]
    records = api.collect([str(t) for t in targets], CollectOptions(digests=False))
    report = {r.id: r for r in review_records(records, "default").records}
    arc = report["dataset:dpi/dynosaur-bigscience/P3-ai2_arc_ARC_Challenge_heres_a_problem"]
    # "arc" beside the record's own Licenses URL https://huggingface.co/datasets/allenai/ai2_arc: DPI's own alias
    step = next(s for s in arc.evidence if s.record == "dataset:ai2_arc" and s.use)
    assert "'arc'" in (step.note or "") and "resolved by name" in (step.note or "")
    assert arc.complete and arc.use.value == "commercial"
    cnn = report["dataset:dpi/dynosaur-bigscience/P3-cnn_dailymail_3.0.0_2_or_3_sentences"]
    assert cnn.complete and cnn.use.value == "commercial"  # "cnn/daily mail" is cnn_dailymail (punctuation)
    assert any("variant of 'cnn_dailymail'" in (s.note or "") for s in cnn.evidence)
    mnli = report["dataset:dpi/dynosaur-glue-mnli"]
    assert any(s.record == "dataset:multi_nli" for s in mnli.evidence)  # data/licenses/dataset_aliases.yaml
    assert mnli.complete  # resolved; multi_nli's own `other` keeps it unspecified, as it should

    from provaudit.rules.names import NameIndex

    index = NameIndex({r.id: r for r in records})
    assert index.find("dataset:dpi/xP3", "xP3") is None  # not certain: never linked
    assert index.near("dataset:dpi/xP3", "xP3") == ["the xP3x collection"]


def test_resolve_fetches_inferred_parents_like_declared_ones() -> None:
    from provaudit.resolve import unresolved_upstreams

    records = _collect("mlabonne__NeuralQuant-9B", "quantumaikr__quantum-v0.01", "Ba2han__BruinsV2-OpHermesNeu-11B")
    missing = {u.target: u for u in unresolved_upstreams(records)}
    hermes = missing["model:mlabonne/NeuralHermes-2.5-Mistral-7B"]  # named only in the recipe
    assert hermes.inferred and hermes.hub == "hf:models/mlabonne/NeuralHermes-2.5-Mistral-7B"
    assert "model:quantumaikr/quantum-v0.01" not in missing  # held
    local = missing["model:local:Bruins-V2"]  # a display name: no Hub repo to fetch, and it says so
    assert local.hub is None and "names no Hub repo" in (local.reason or "")
