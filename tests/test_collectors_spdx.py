"""The SPDX collector on SPDX 2.x and 3.0 documents recorded from spdx/tools-python and spdx/spdx-examples."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import provaudit.api as api
from provaudit.collectors.base import CollectOptions, collector_for
from provaudit.collectors.spdx import SpdxCollector, _identity
from provaudit.records.model import Kind, Record, Relation, Severity, Source

FIXTURES = Path(__file__).parent / "fixtures" / "spdx"
EX04 = "https://spdx.org/spdxdocs/ai-example04-a1b2c3d4-e5f6-7890-abcd-000000004001"


def collect(path: Path) -> dict[str, Record]:
    collector = SpdxCollector()
    assert collector.can_collect(str(path))
    return {r.id: r for r in collector.collect(str(path), CollectOptions())}


def src(file: str, field: str, line: int | None = None) -> Source:
    return Source(collector="spdx", file=file, field=field, line=line)


def line_of(path: Path, text: str) -> int:
    content = path.read_text()
    return content[: content.index(text)].count("\n") + 1


@pytest.mark.parametrize(
    ("name", "locations", "purls", "purpose", "expected"),
    [
        ("x", ["https://huggingface.co/datasets/rajpurkar/squad"], [], None, (Kind.DATASET, "rajpurkar/squad")),
        ("x", ["https://huggingface.co/bert-base-uncased"], [], "model", (Kind.MODEL, "bert-base-uncased")),
        ("x", [], ["pkg:huggingface/google/bert@abc"], None, (Kind.MODEL, "google/bert")),
        ("x", [], ["pkg:pypi/Foo_Bar@1.0"], None, (Kind.PACKAGE, "pypi/foo-bar")),
        ("My Data", [], [], "data", (Kind.DATASET, "My Data")),
        ("curl", [], [], None, (Kind.PACKAGE, "curl")),
    ],
)
def test_identity(
    name: str, locations: list[str], purls: list[str], purpose: str | None, expected: tuple[Kind, str]
) -> None:
    assert _identity(name, locations, purls, purpose) == expected


# --- SPDX 2 -------------------------------------------------------------------------------------


def test_spdx2_tag_value() -> None:
    [record] = collect(FIXTURES / "SPDXLite.spdx").values()
    assert (record.id, record.kind, record.version) == ("package:SPDX tools", Kind.PACKAGE, "2.0.3")
    assert [(c.raw, c.expression, c.source) for c in record.claims] == [
        ("Apache-2.0", "Apache-2.0", src("SPDXLite.spdx", "licenseDeclared")),
        ("Apache-2.0", "Apache-2.0", src("SPDXLite.spdx", "licenseConcluded")),
    ]
    assert record.fact("homepage") == "https://spdx.org/tools"
    assert record.fact("SPDXID") == "SPDXRef-spdxtools"
    assert record.findings == []


def test_spdx2_json_licenses_supplier_purl() -> None:
    [record] = collect(FIXTURES / "SBOMwSourceLicense.json").values()
    file = "SBOMwSourceLicense.json"
    assert (record.id, record.version) == ("package:github/spdx/tools-java", "1.5.1")
    assert [(c.raw, c.expression, c.source) for c in record.claims] == [
        ("Apache-2.0", "Apache-2.0", src(file, "licenseDeclared")),
        ("Apache-2.0", "Apache-2.0", src(file, "licenseConcluded")),
    ]
    assert [(a.name, a.role, a.source) for a in record.agents] == [("SPDX", "publisher", src(file, "supplier"))]
    assert record.fact("purl") == "pkg:github/spdx/tools-java@2235d5d7f7fe46ce1e0d54b7831c5681633b25cc"
    assert record.findings == []


def test_spdx2_relationship_becomes_upstream_link() -> None:
    records = collect(FIXTURES / "03-SBOMwDependency.json")
    assert sorted(records) == ["package:github/spdx/tools-java", "package:maven/org.webjars.npm/xlsx"]
    [link] = records["package:github/spdx/tools-java"].upstream
    assert (link.target, link.relation, link.raw, link.version, link.source) == (
        "package:maven/org.webjars.npm/xlsx",
        Relation.USES,
        "SPDXRef-Package DYNAMIC_LINK SPDXRef-xlsx",
        "0.16.6",
        src("03-SBOMwDependency.json", "relationships"),
    )
    assert records["package:maven/org.webjars.npm/xlsx"].upstream == []
    # no license declared: nothing claimed, nothing invented
    assert all(r.claims == [] for r in records.values())


def test_spdx2_generated_from_and_noassertion(tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "03-SBOMwDependency.json").read_text())
    doc["packages"][1]["licenseConcluded"] = "NOASSERTION"
    doc["packages"][1]["downloadLocation"] = "https://huggingface.co/datasets/rajpurkar/squad"
    doc["relationships"][1]["relationshipType"] = "GENERATED_FROM"
    path = tmp_path / "doc.spdx.json"
    path.write_text(json.dumps(doc))
    records = collect(path)
    assert sorted(records) == ["dataset:rajpurkar/squad", "package:github/spdx/tools-java"]
    assert records["dataset:rajpurkar/squad"].claims == []
    assert records["dataset:rajpurkar/squad"].fact("licenseConcluded") == "NOASSERTION"
    [link] = records["package:github/spdx/tools-java"].upstream
    assert (link.target, link.relation) == ("dataset:rajpurkar/squad", Relation.DERIVED_FROM)


def test_spdx2_collector_choice() -> None:
    assert collector_for(str(FIXTURES / "SBOMwSourceLicense.json")).name == "spdx"
    assert collector_for(str(FIXTURES / "example04.spdx3.json")).name == "spdx"
    assert not SpdxCollector().can_collect(str(FIXTURES / "SOURCE.md"))


# --- SPDX 3 -------------------------------------------------------------------------------------


def test_spdx3_ai_and_dataset_profiles() -> None:
    path = FIXTURES / "example04.spdx3.json"
    file = path.name
    records = collect(path)
    assert sorted((r.id, r.kind, r.version) for r in records.values()) == [
        ("dataset:ContractClauses-v2", Kind.DATASET, "2.0"),
        ("model:bert-base-uncased", Kind.MODEL, "4.35.0"),
        ("model:example-org/legalbert-contracts", Kind.MODEL, "1.0.0"),
    ]
    model = records["model:example-org/legalbert-contracts"]
    declared = line_of(path, f'"{EX04}#Relationship3"')
    concluded = line_of(path, f'"{EX04}#Relationship4"')
    assert [(c.raw, c.expression, c.source) for c in model.claims] == [
        ("Apache-2.0", "Apache-2.0", src(file, "hasDeclaredLicense", declared)),
        ("Apache-2.0", "Apache-2.0", src(file, "hasConcludedLicense", concluded)),
    ]
    links = [(u.target, u.relation, u.version, u.source) for u in model.upstream]
    assert links == [
        ("dataset:ContractClauses-v2", Relation.TRAINED_ON, "2.0", src(file, "trainedOn", 214)),
        (
            "model:bert-base-uncased",
            Relation.USES,
            "4.35.0",
            src(file, "dependsOn", line_of(path, f'"{EX04}#Relationship2"')),
        ),
    ]
    assert "baseModel=bert-base-uncased" in [f.value for f in model.facts if f.key == "ai_hyperparameter"]
    assert model.fact("ai_useSensitivePersonalInformation") == "no"
    dataset = records["dataset:ContractClauses-v2"]
    assert [f.value for f in dataset.facts if f.key == "dataset_knownBias"] == [
        "Overrepresentation of technology sector and financial services contracts",
        "Underrepresentation of SME contracts and non-English law jurisdictions",
    ]
    assert dataset.fact("dataset_datasetAvailability") == "registration"
    # the dataset's values stay on the dataset: the model only links to it
    assert model.fact("dataset_knownBias") is None and dataset.claims == []
    assert all(r.findings == [] for r in records.values())


def test_spdx3_custom_license_ref_is_kept_as_declared() -> None:
    path = FIXTURES / "example03.spdx3.json"
    [record] = collect(path).values()
    assert record.id == "model:RetinaScan AI"
    assert [(c.raw, c.expression, c.source.field) for c in record.claims] == [
        ("LicenseRef-MedTech-Proprietary-2024", "LicenseRef-MedTech-Proprietary-2024", "hasDeclaredLicense"),
        ("LicenseRef-MedTech-Proprietary-2024", "LicenseRef-MedTech-Proprietary-2024", "hasConcludedLicense"),
    ]
    # a document's own LicenseRef is valid SPDX: kept as it is; review flags its unknown terms (PA116)
    assert record.findings == []


# --- bad input ----------------------------------------------------------------------------------


def test_spdx2_unparseable_document() -> None:
    # recorded as is: FilesAnalyzed must be lower-case `false` for spdx-tools
    [record] = collect(FIXTURES / "SPDXSBOMExample.tag").values()
    assert record.id == "package:spdx/SPDXSBOMExample"
    [finding] = record.findings
    assert (finding.rule, finding.severity) == ("PA023", Severity.ERROR)
    assert "FilesAnalyzed" in finding.message


def test_malformed_json(tmp_path: Path) -> None:
    for name in ("SBOMwSourceLicense.json", "example04.spdx3.json"):
        path = tmp_path / name
        path.write_text((FIXTURES / name).read_text()[:-20])
        [record] = collect(path).values()
        [finding] = record.findings
        assert (finding.rule, finding.source.file if finding.source else None) == ("PA004", name)


def test_unknown_license_and_broken_reference_spdx2(tmp_path: Path) -> None:
    doc = json.loads((FIXTURES / "SBOMwSourceLicense.json").read_text())
    doc["packages"][0]["licenseDeclared"] = "LicenseRef-Acme"
    doc["hasExtractedLicensingInfos"] = [
        {"licenseId": "LicenseRef-Acme", "extractedText": "Acme terms", "name": "Acme Model Terms"}
    ]
    doc["relationships"].append(
        {"spdxElementId": "SPDXRef-Package", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-gone"}
    )
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc))
    [record] = collect(path).values()
    assert [(c.raw, c.expression, c.name, c.source.field) for c in record.claims] == [
        ("LicenseRef-Acme", "LicenseRef-Acme", "Acme Model Terms", "licenseDeclared"),
        ("Apache-2.0", "Apache-2.0", None, "licenseConcluded"),
    ]
    assert [(f.rule, f.message) for f in record.findings] == [
        ("PA024", "doc.json [relationships]: DEPENDS_ON names 'SPDXRef-gone', which is not in the document"),
    ]
    assert record.upstream == []


def test_broken_reference_spdx3(tmp_path: Path) -> None:
    path = tmp_path / "example04.spdx3.json"
    shutil.copy(FIXTURES / path.name, path)
    path.write_text(path.read_text().replace(f'"{EX04}#DatasetPackage1"\n', f'"{EX04}#Missing"\n', 1))
    records = collect(path)
    model = records["model:example-org/legalbert-contracts"]
    [finding] = model.findings
    assert (finding.rule, finding.severity) == ("PA024", Severity.WARNING)
    assert finding.message.endswith(f"trainedOn names '{EX04}#Missing', which is not in the document")
    assert [u.target for u in model.upstream] == ["model:bert-base-uncased"]


def test_scan_into_store(store_path: Path) -> None:
    api.scan([str(FIXTURES / "example04.spdx3.json")], store=store_path)
    with api.open_store(store_path, read_only=True) as store:
        model = store.record("model:example-org/legalbert-contracts")
        dataset = store.record("dataset:ContractClauses-v2")
    assert model is not None and dataset is not None
    assert [(c.raw, c.expression, c.source.field) for c in model.claims] == [
        ("Apache-2.0", "Apache-2.0", "hasDeclaredLicense"),
        ("Apache-2.0", "Apache-2.0", "hasConcludedLicense"),
    ]
    assert [(u.target, u.relation) for u in model.upstream] == [
        ("dataset:ContractClauses-v2", Relation.TRAINED_ON),
        ("model:bert-base-uncased", Relation.USES),
    ]
