"""The Croissant collector on metadata files recorded from mlcommons/croissant (datasets/1.0 and 1.1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import provaudit.api as api
from provaudit.collectors.base import CollectOptions, collector_for
from provaudit.collectors.croissant import CroissantCollector, key_lines
from provaudit.records.model import Record, Relation, Severity, Source

FIXTURES = Path(__file__).parent / "fixtures" / "croissant"


def collect(path: Path) -> Record:
    collector = CroissantCollector()
    assert collector.can_collect(str(path))
    [record] = collector.collect(str(path), CollectOptions())
    return record


def src(file: str, field: str, line: int | None) -> Source:
    return Source(collector="croissant", file=file, field=field, line=line)


def write(tmp_path: Path, doc: dict[str, Any], name: str = "metadata.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False))
    return path


def test_key_lines_are_top_level_only() -> None:
    text = '{\n  "a": {"name": 1},\n  "name": "x",\n  "b": "y"\n}'
    assert key_lines(text) == {"a": 2, "name": 3, "b": 4}


def test_croissant_1_0_license_and_sd_license() -> None:
    record = collect(FIXTURES / "gpt-3.json")
    assert record.id == "dataset:gpt-3"
    # `unknown` is a declared value (the Hub's id for it), not an unreadable string
    assert [(c.raw, c.expression, c.source) for c in record.claims] == [
        ("unknown", "LicenseRef-provaudit-unknown", src("gpt-3.json", "license", 51))
    ]
    # sdLicense licenses the metadata, not the data: a fact, never a claim on the dataset
    assert [(f.value, f.source) for f in record.facts if f.key == "sd_license"] == [
        ("https://www.apache.org/licenses/LICENSE-2.0", src("gpt-3.json", "sdLicense", 52))
    ]
    assert record.fact("homepage") == "https://github.com/openai/gpt-3"
    assert record.fact("conforms_to") == "http://mlcommons.org/croissant/1.0"
    assert (record.fact("citation") or "").startswith("@article{brown2020language")
    assert record.findings == []


def test_croissant_rai_fields_creator_and_version() -> None:
    record = collect(FIXTURES / "dices-350.json")
    file = "dices-350.json"
    assert (record.id, record.version) == ("dataset:DICES-350_dataset", "1.0.0")
    assert [(c.raw, c.expression, c.source) for c in record.claims] == [
        ("cc-by-sa-4.0", "CC-BY-SA-4.0", src(file, "license", 59))
    ]
    assert [(a.name, a.role, a.source) for a in record.agents] == [("Lora Aroyo", "creator", src(file, "creator", 54))]
    rai = [(f.key, f.source) for f in record.facts if f.key.startswith("rai:")]
    assert rai == [
        ("rai:annotatorDemographics", src(file, "rai:annotatorDemographics", 60)),
        ("rai:dataAnnotationAnalysis", src(file, "rai:dataAnnotationAnalysis", 61)),
        ("rai:dataAnnotationPlatform", src(file, "rai:dataAnnotationPlatform", 62)),
        ("rai:dataAnnotationProtocol", src(file, "rai:dataAnnotationProtocol", 63)),
        ("rai:dataBiases", src(file, "rai:dataBiases", 64)),
        ("rai:dataCollection", src(file, "rai:dataCollection", 65)),
        ("rai:dataCollectionRawData", src(file, "rai:dataCollectionRawData", 66)),
        ("rai:dataCollectionType", src(file, "rai:dataCollectionType", 67)),
    ]
    assert record.fact("rai:dataAnnotationPlatform") == "Crowdworker annotators with task specific UI"
    assert record.fact("download") == (
        "https://github.com/google-research-datasets/dices-dataset/ "
        "sha256:0091e88bcdc6ef788d30c647ea02e2a52523cbd322c94ea3b46137ef66c44acc"
    )
    assert record.findings == []


def test_croissant_1_1_hub_dataset_is_named_by_repo_id() -> None:
    record = collect(FIXTURES / "data_provenance_initiative.json")
    assert record.id == "dataset:common-pile/data_provenance_initiative_filtered"
    assert record.fact("title") == "data_provenance_initiative_filtered"
    assert record.fact("conforms_to") == "http://mlcommons.org/croissant/1.1"
    assert [(a.name, a.role) for a in record.agents] == [("Common Pile", "creator")]
    # the record-set level prov:wasDerivedFrom annotation describes rows, not the dataset: no link
    assert record.claims == [] and record.upstream == []
    assert record.findings == []


def test_provenance_links_and_license_list(tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "dices-350.json").read_text())
    doc["@context"]["prov"] = "http://www.w3.org/ns/prov#"
    doc["license"] = ["cc-by-sa-4.0", {"@type": "sc:CreativeWork", "name": "CC BY 4.0", "url": "https://x.org/l"}]
    doc["prov:wasDerivedFrom"] = [{"@id": "https://huggingface.co/datasets/google/dices"}, {"name": "8K corpus"}]
    doc["isBasedOn"] = "https://doi.org/10.5281/zenodo.1"
    doc["prov:wasGeneratedBy"] = {
        "@type": "prov:Activity",
        "name": "conversations with a chatbot",
        "prov:wasAssociatedWith": {"@id": "https://huggingface.co/google/lamda"},
    }
    path = write(tmp_path, doc)
    record = collect(path)
    assert sorted((c.raw, c.expression, c.link) for c in record.claims) == [
        ("CC BY 4.0", "CC-BY-4.0", "https://x.org/l"),
        ("cc-by-sa-4.0", "CC-BY-SA-4.0", None),
    ]
    lines = key_lines(path.read_text())
    links = [(u.target, u.relation, u.raw, u.source) for u in record.upstream]
    assert links == [
        (
            "dataset:8K corpus",
            Relation.DERIVED_FROM,
            "8K corpus",
            src(path.name, "prov:wasDerivedFrom", lines["prov:wasDerivedFrom"]),
        ),
        (
            "dataset:google/dices",
            Relation.DERIVED_FROM,
            "https://huggingface.co/datasets/google/dices",
            src(path.name, "prov:wasDerivedFrom", lines["prov:wasDerivedFrom"]),
        ),
        (
            "dataset:https://doi.org/10.5281/zenodo.1",
            Relation.DERIVED_FROM,
            "https://doi.org/10.5281/zenodo.1",
            src(path.name, "isBasedOn", lines["isBasedOn"]),
        ),
        (
            "model:google/lamda",
            Relation.GENERATED_BY,
            "https://huggingface.co/google/lamda",
            src(path.name, "prov:wasGeneratedBy", lines["prov:wasGeneratedBy"]),
        ),
    ]
    assert record.fact("generated_by") == "conversations with a chatbot"
    assert record.findings == []


def test_remote_context_is_not_fetched(tmp_path: Path) -> None:
    doc = {
        "@context": "https://w3id.org/croissant/context/v1",
        "@type": "Dataset",
        "name": "Graphs91",
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "creator": {"@type": "Person", "name": "A. Person"},
    }
    record = collect(write(tmp_path, doc))
    assert record.id == "dataset:Graphs91"
    assert [(c.raw, c.link) for c in record.claims] == [
        ("https://creativecommons.org/licenses/by/4.0/", "https://creativecommons.org/licenses/by/4.0/")
    ]
    assert [(a.name, a.role) for a in record.agents] == [("A. Person", "creator")]


def test_collector_is_chosen_for_croissant_files() -> None:
    assert collector_for(str(FIXTURES / "gpt-3.json")).name == "croissant"
    assert not CroissantCollector().can_collect(str(FIXTURES / "SOURCE.md"))
    assert not CroissantCollector().can_collect(str(FIXTURES))


# --- bad input ----------------------------------------------------------------------------------


def test_unknown_license_string(tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "gpt-3.json").read_text())
    doc["license"] = "the gpt-3 data terms"
    record = collect(write(tmp_path, doc))
    [finding] = record.findings
    assert (finding.rule, finding.severity) == ("PA005", Severity.WARNING)
    assert finding.source is not None and finding.source.field == "license"


def test_malformed_json(tmp_path: Path) -> None:
    text = (FIXTURES / "gpt-3.json").read_text().replace('"license": "unknown",', '"license": "unknown"', 1)
    path = tmp_path / "metadata.json"
    path.write_text(text)
    record = collect(path)
    [finding] = record.findings
    assert (finding.rule, finding.severity) == ("PA004", Severity.ERROR)
    assert finding.source is not None and finding.source.line == 52
    assert record.claims == []


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        (
            {"@context": {"@vocab": "https://schema.org/", "cr": "http://mlcommons.org/croissant/"}, "@type": "Person"},
            "no schema.org Dataset node",
        ),
        (
            {"@context": {"@vocab": "https://schema.org/", "cr": "http://mlcommons.org/croissant/", "x": {"@id": 5}}},
            "cannot be read as JSON-LD",
        ),
    ],
)
def test_not_a_croissant_dataset(tmp_path: Path, doc: dict[str, Any], problem: str) -> None:
    record = collect(write(tmp_path, doc))
    [finding] = record.findings
    assert (finding.rule, finding.severity) == ("PA021", Severity.ERROR)
    assert problem in finding.message


def test_broken_reference(tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "dices-350.json").read_text())
    doc["isBasedOn"] = [{"@type": "sc:Dataset"}]
    record = collect(write(tmp_path, doc))
    [finding] = record.findings
    assert (finding.rule, finding.severity) == ("PA022", Severity.WARNING)
    assert "reference an object names no resource" in finding.message
    assert record.upstream == []


def test_scan_into_store(store_path: Path) -> None:
    api.scan([str(FIXTURES / "dices-350.json")], store=store_path)
    with api.open_store(store_path, read_only=True) as store:
        record = store.record("dataset:DICES-350_dataset")
    assert record is not None
    assert [(c.raw, c.expression, c.source.file, c.source.field, c.source.line) for c in record.claims] == [
        ("cc-by-sa-4.0", "CC-BY-SA-4.0", "dices-350.json", "license", 59)
    ]
    assert record.fact("rai:dataAnnotationPlatform") == "Crowdworker annotators with task specific UI"
