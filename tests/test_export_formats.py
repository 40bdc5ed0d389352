"""Exports of real scanned cards: each read back by its standard's own library, and round-tripped."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
import yaml
from rdflib import Graph
from rdflib.compare import isomorphic

from provaudit import api
from provaudit.errors import InputError
from provaudit.export.base import ExportContext
from provaudit.export.cards import render_card
from provaudit.export.formats import FORMATS, check_kind, context_for, export_context, export_record, resolve_record
from provaudit.export.importer import detect, import_files, read_file
from provaudit.export.public_paths import PublicPaths
from provaudit.export.umr import from_umr, to_umr, to_umr_yaml
from provaudit.licenses.kb import Use
from provaudit.records.model import Kind, Relation
from provaudit.rules.report import RecordReview
from provaudit.store.oxigraph import OxigraphStore

FIXTURES = Path(__file__).parent / "fixtures" / "export"
MODEL = "model:AdaptLLM/finance-chat"
BASED = "model:DiscoResearch/DiscoLM_German_7b_v1"
DATASET = "dataset:ambig_qa"
DATASET2 = "dataset:adversarial_qa"
ALL = (MODEL, BASED, DATASET, DATASET2)
PROV_ONLY = ("prov-jsonld", "turtle")


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding one real scan of the fixture cards."""
    root = tmp_path_factory.mktemp("export")
    shutil.copytree(FIXTURES / "datasets", root / "cards" / "datasets")
    shutil.copytree(FIXTURES / "models", root / "cards" / "models")
    api.scan([str(root / "cards")], store=root / "store")
    return root / "store"


@pytest.fixture()
def db(store_path: Path) -> OxigraphStore:
    store = OxigraphStore(store_path, read_only=True)
    yield store
    store.close()


@pytest.fixture(autouse=True)
def fixed_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


def review_of(record_id: str, license: str) -> RecordReview:
    return RecordReview(
        id=record_id,
        name=record_id.split(":", 1)[1],
        kind=record_id.split(":")[0],
        effective_license=license,
        use=Use.COMMERCIAL,
        attribution=True,
    )


# --- lookup ------------------------------------------------------------------------------------------


def test_resolve_by_id_name_and_repo_name(db: OxigraphStore) -> None:
    assert resolve_record(db, MODEL).id == MODEL
    assert resolve_record(db, "AdaptLLM/finance-chat").id == MODEL
    assert resolve_record(db, "finance-chat").id == MODEL
    assert resolve_record(db, "ambig_qa").id == DATASET
    assert resolve_record(db, "https://huggingface.co/datasets/ambig_qa").id == DATASET


def test_unknown_record_suggests_close_ids(db: OxigraphStore) -> None:
    with pytest.raises(InputError, match=r"no record 'ambig-qa'.*dataset:ambig_qa"):
        resolve_record(db, "ambig-qa")


def test_ambiguous_name_lists_candidates(tmp_path: Path, store_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(store_path, store)
    with OxigraphStore(store) as db:
        twin = db.record(DATASET).model_copy(update={"id": "model:ambig_qa", "kind": Kind.MODEL})
        writer = db.begin_scan(["test"], {})
        writer.add([twin])
        writer.commit()
        with pytest.raises(InputError, match=r"'ambig_qa' names 2 records: dataset:ambig_qa, model:ambig_qa"):
            resolve_record(db, "ambig_qa")
        assert resolve_record(db, "model:ambig_qa").kind is Kind.MODEL


def test_format_must_fit_the_kind(db: OxigraphStore) -> None:
    with pytest.raises(InputError, match="croissant does not describe one"):
        export_record(db, MODEL, "croissant")
    with pytest.raises(InputError, match="unknown export format"):
        export_record(db, MODEL, "rdfa")


# --- SPDX 3 ------------------------------------------------------------------------------------------


def test_spdx3_reads_back_with_the_spdx_python_model(db: OxigraphStore) -> None:
    spdx = pytest.importorskip("spdx_python_model")
    review = review_of(MODEL, "LicenseRef-scancode-llama-2-license-2023 AND CC-BY-4.0")
    data = export_record(db, MODEL, "spdx3", review)
    model, objset = spdx.load_data(json.loads(data))
    assert objset.link() == set()  # every reference resolves inside the document
    out = io.BytesIO()
    model.JSONLDSerializer().write(objset, out)  # the serializer enforces required properties
    packages = list(objset.foreach_type("ai_AIPackage"))
    root = next(p for p in packages if p.name == "AdaptLLM/finance-chat")
    kinds: dict[str, list[str]] = {}
    for rel in objset.foreach_type("Relationship"):
        if rel.from_ is root:
            kind = str(rel.relationshipType).rsplit("/", 1)[-1]
            kinds.setdefault(kind, []).extend(getattr(t, "name", None) or str(t) for t in rel.to)
    assert sorted(kinds["trainedOn"]) == ["GAIR/lima", "Open-Orca/OpenOrca", "WizardLM/WizardLM_evol_instruct_V2_196k"]
    assert "ai2_arc" in kinds["testedOn"] and "cais/mmlu" in kinds["testedOn"]
    expressions = {
        e._id: e.simplelicensing_licenseExpression for e in objset.foreach_type("simplelicensing_LicenseExpression")
    }
    declared = [
        r for r in objset.foreach_type("Relationship") if str(r.relationshipType).endswith("hasDeclaredLicense")
    ]
    concluded = [
        r for r in objset.foreach_type("Relationship") if str(r.relationshipType).endswith("hasConcludedLicense")
    ]
    assert [expressions[t._id] for r in declared for t in r.to] == ["LicenseRef-scancode-llama-2-license-2023"]
    assert [expressions[t._id] for r in concluded for t in r.to] == [review.effective_license]
    doc = next(iter(objset.foreach_type("SpdxDocument")))
    assert {str(p).rsplit("/", 1)[-1] for p in doc.profileConformance} >= {"ai", "dataset", "simpleLicensing"}


def test_spdx3_dataset_package_and_no_concluded_license_without_review(db: OxigraphStore) -> None:
    spdx = pytest.importorskip("spdx_python_model")
    _, objset = spdx.load_data(json.loads(export_record(db, DATASET, "spdx3")))
    dataset = next(p for p in objset.foreach_type("dataset_DatasetPackage") if p.name == "ambig_qa")
    assert [str(t).rsplit("/", 1)[-1] for t in dataset.dataset_datasetType] == ["text"]
    types = {str(r.relationshipType).rsplit("/", 1)[-1] for r in objset.foreach_type("Relationship")}
    assert "hasConcludedLicense" not in types and {"hasDeclaredLicense", "descendantOf", "contains"} <= types
    hashes = [h.hashValue for f in objset.foreach_type("software_File") for h in f.verifiedUsing]
    assert len(hashes) == 2 and all(len(h) == 64 for h in hashes)


# --- Croissant ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rid", [DATASET, DATASET2])
def test_croissant_validates_with_mlcroissant(db: OxigraphStore, rid: str) -> None:
    mlc = pytest.importorskip("mlcroissant")
    doc = json.loads(export_record(db, rid, "croissant"))
    dataset = mlc.Dataset(jsonld=doc)  # raises ValidationError on any error
    assert not dataset.metadata.ctx.issues.errors
    assert "http://mlcommons.org/croissant/1.1" in doc["conformsTo"]
    assert doc.get("prov:wasDerivedFrom") or rid == DATASET2
    assert any(k.startswith("rai:") for k in doc)
    assert all(f["sha256"] and f["@type"] == "cr:FileObject" for f in doc["distribution"])


def test_croissant_rai_fields_come_from_the_card_sections(db: OxigraphStore) -> None:
    doc = json.loads(export_record(db, DATASET2, "croissant"))
    assert doc["rai:annotatorDemographics"].startswith("The annotators are from Amazon Mechanical Turk")
    assert doc["rai:dataCollectionType"] == "found"
    assert doc["license"] == "http://spdx.org/licenses/CC-BY-SA-4.0"
    lineage = json.loads(export_record(db, DATASET, "croissant"))["prov:wasDerivedFrom"]
    assert lineage == [
        {
            "@id": "https://w3id.org/provaudit/id/dataset/natural_questions",
            "name": "natural_questions",
            "pa:relation": "derived_from",
        }
    ]


# --- cards -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rid", ALL)
def test_card_loads_with_huggingface_hub_and_round_trips(db: OxigraphStore, rid: str, tmp_path: Path) -> None:
    from huggingface_hub import DatasetCard, ModelCard

    record = db.record(rid)
    text = render_card(record)
    cls = DatasetCard if record.kind is Kind.DATASET else ModelCard
    card = cls(text)
    written = list(yaml.safe_load(text.split("---\n")[1]))
    assert card.data.to_dict()["provaudit"]["record"] == rid  # an unknown key is kept
    assert str(card) == text
    card.save(tmp_path / "README.md")
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == text
    loaded = cls.load(tmp_path / "README.md")
    loaded.data.license = "mit"  # an edit through huggingface_hub keeps every key where it was
    edited = yaml.safe_load(str(loaded).split("---\n")[1])
    assert list(edited) == written
    assert edited["license"] == "mit" and edited["provaudit"] == card.data.to_dict()["provaudit"]


def test_card_body_is_the_records_own_card(db: OxigraphStore) -> None:
    record = db.record(BASED)
    text = render_card(record)
    assert text.endswith(record.fact("card"))
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["base_model"] == "LeoLM/leo-mistral-hessianai-7b" and meta["license"] == "apache-2.0"


def test_card_body_from_the_template_when_there_is_no_card(db: OxigraphStore) -> None:
    record = db.record(MODEL)
    record.facts = [f for f in record.facts if f.key != "card"]
    review = review_of(MODEL, "LicenseRef-scancode-llama-2-license-2023")
    text = render_card(record, review)
    body = text.split("---\n", 2)[2]
    assert "# AdaptLLM/finance-chat" in body and "### License review" in body
    assert "| tested_on | dataset:cais/mmlu | README.md:14 [model-index] |" in body
    record.facts.append(record.facts[0].model_copy(update={"key": "description", "value": "<script>x</script>"}))
    assert "<script>" not in render_card(record)


# --- PROV --------------------------------------------------------------------------------------------


def _store_graph(db: OxigraphStore, rid: str) -> Graph:
    """What the store holds for the record's current revision, straight from SPARQL."""
    ctx = context_for(db, db.record(rid))
    revision = ctx.revision.iri
    nt = db.query(
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o . FILTER(?s = <"
        + revision
        + '> || STRSTARTS(STR(?s), "'
        + revision
        + '/") || ?s = <'
        + ctx.iri
        + ">) }"
    ).ntriples
    graph = Graph()
    # exports name local paths relative to the scanned root (provaudit.export.public_paths)
    graph.parse(data=PublicPaths.for_store(db).text(nt or ""), format="nt")
    return graph


@pytest.mark.parametrize("rid", ALL)
def test_prov_jsonld_reads_back_isomorphic(db: OxigraphStore, rid: str) -> None:
    from provaudit.export.prov import graph_of

    jsonld = export_record(db, rid, "prov-jsonld")
    assert json.loads(jsonld)["@context"] == "https://w3id.org/provaudit/context.jsonld"
    from_jsonld = graph_of(jsonld, "prov-jsonld")
    from_turtle = graph_of(export_record(db, rid, "turtle"), "turtle")
    assert isomorphic(from_jsonld, from_turtle)
    stored = _store_graph(db, rid)
    own = Graph()
    for triple in from_jsonld:
        if (triple[0], None, None) in stored:
            own.add(triple)
    assert isomorphic(own, stored)  # every triple the store has of the revision, and nothing else of it


@pytest.mark.parametrize("fmt", PROV_ONLY)
def test_prov_import_into_a_new_store_is_lossless(db: OxigraphStore, fmt: str, tmp_path: Path) -> None:
    from provaudit.export.prov import graph_of

    first = export_record(db, MODEL, fmt)
    path = tmp_path / f"record.{fmt}"
    path.write_bytes(first)
    with OxigraphStore(tmp_path / "new") as new:
        result = import_files(new, [path])
        assert result.outcomes == {MODEL: "new"}
        assert new.record(MODEL).model_dump(exclude={"location"}) == db.record(MODEL).model_dump(exclude={"location"})
        second = export_record(new, MODEL, fmt)
        # the revision keeps the scan that generated it: the whole graph comes back, not just its content
        assert isomorphic(graph_of(first, fmt), graph_of(second, fmt))
        # importing the same file again observes the same revision: nothing changes
        assert import_files(new, [path]).outcomes == {MODEL: "unchanged"}
        assert export_record(new, MODEL, fmt) == second


# --- round trips -------------------------------------------------------------------------------------


def _fits(fmt: str, kind: Kind) -> bool:
    return FORMATS[fmt].kinds is None or kind in FORMATS[fmt].kinds


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f not in PROV_ONLY])
@pytest.mark.parametrize("rid", ALL)
def test_export_import_export_is_byte_identical(db: OxigraphStore, fmt: str, rid: str, tmp_path: Path) -> None:
    if not _fits(fmt, db.record(rid).kind):
        pytest.skip(f"{fmt} does not describe a {db.record(rid).kind.value}")
    first = export_record(db, rid, fmt)
    path = tmp_path / ("README.md" if "card" in fmt else f"record.{fmt}")
    path.write_bytes(first)
    detected, (imported,) = read_file(path)
    assert detected == fmt
    with OxigraphStore(tmp_path / "new") as new:
        import_files(new, [path])
        second = export_record(new, rid, fmt)
        assert second == first
        path.write_bytes(second)
        _, (again,) = read_file(path)
        assert again == imported  # the same record: what the file says, sourced to the file
    assert imported.id == rid and all(c.source.collector == f"import:{fmt}" for c in imported.claims)
    original = db.record(rid)
    # a licence read from a sentence of a card whose YAML names one is no declaration: the release formats
    # leave it out; a UMR carries every claim with its source, and a card keeps the sentence it was read from
    with_yaml = {c.source.file for c in original.claims if c.source.field != "card_prose"}
    declared = {
        c.expression for c in original.claims if c.source.field != "card_prose" or c.source.file not in with_yaml
    }
    every = {c.expression for c in original.claims}
    expected = every if fmt in ("umr", "dataset-card", "model-card") else declared
    assert {c.expression for c in imported.claims} == expected


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f not in PROV_ONLY])
def test_lineage_survives_the_round_trip(db: OxigraphStore, fmt: str) -> None:
    for rid in ALL:
        record = db.record(rid)
        if not _fits(fmt, record.kind):
            continue
        data = export_context(context_for(db, record), fmt)
        (imported,) = __import__("provaudit.export.importer", fromlist=["read_bytes"]).read_bytes(
            data, fmt, "README.md" if "card" in fmt else f"x.{fmt}"
        )
        links = {(u.target, u.relation) for u in record.upstream}
        assert {(u.target, u.relation) for u in imported.upstream} == links, rid


def test_exports_do_not_depend_on_hash_order(db: OxigraphStore) -> None:
    import subprocess
    import sys

    code = (
        "import sys, hashlib; from provaudit.store.oxigraph import OxigraphStore; "
        "from provaudit.export.formats import export_record, FORMATS; db = OxigraphStore(sys.argv[1], read_only=True); "
        "print(hashlib.sha256(b''.join(export_record(db, sys.argv[2], f) for f in FORMATS if f not in "
        "('croissant', 'dataset-card'))).hexdigest())"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code, str(db.path), MODEL],
            capture_output=True,
            text=True,
            check=True,
            env={**__import__("os").environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


# --- UMR ---------------------------------------------------------------------------------------------


def test_umr_has_the_repository_shape(db: OxigraphStore) -> None:
    doc = yaml.safe_load(to_umr_yaml(db.record(MODEL)))
    assert list(doc) == ["mr"] and list(doc["mr"])[:3] == ["type", "metadata", "relations"]
    assert doc["mr"]["type"] == "model"
    assert "Open-Orca/OpenOrca" in doc["mr"]["relations"]["upstream"]
    assert doc["mr"]["provaudit"]["id"] == MODEL


def test_umr_repository_records_import_and_export_back(tmp_path: Path) -> None:
    repo = tmp_path / "repository"
    for name in ("bloomz-560m", "mme"):
        (repo / name).mkdir(parents=True)
        shutil.copy(FIXTURES / "umr" / f"{name}-1.0.0.yaml", repo / name)
    (repo / "bloom").mkdir()
    (repo / "bloom" / "bloom-1.0.0.yaml").write_text("mr:\n  type: model\n  metadata:\n    name: BLOOM\n")
    path = repo / "bloomz-560m" / "bloomz-560m-1.0.0.yaml"
    original = yaml.safe_load(path.read_text())
    assert detect(path.read_bytes(), path.name) == "umr"
    record = from_umr(original, str(path), path)
    assert record.id == "model:bloomz-560m"
    (link,) = record.upstream
    assert (link.target, link.relation, link.version) == ("model:bloom", Relation.USES, ">=1.0.0")
    back = to_umr(record)["mr"]
    for key in ("type", "upstream"):
        assert back[key] == original["mr"][key]
    assert back["metadata"] == {k: v for k, v in original["mr"]["metadata"].items()}
    assert back["relations"] == original["mr"]["relations"]
    mme = from_umr(yaml.safe_load((repo / "mme" / "mme-1.0.0.yaml").read_text()), "mme-1.0.0.yaml", None)
    assert [u.target for u in mme.upstream] == [
        "dataset:coco",
        "dataset:msr-vtt",
        "dataset:flickr30k",
        "dataset:YouCook2",
    ]


def test_review_goes_into_umr_and_cards(db: OxigraphStore) -> None:
    review = review_of(DATASET, "CC-BY-SA-3.0")
    ctx = ExportContext(record=db.record(DATASET), review=review)
    umr = yaml.safe_load(export_context(ctx, "umr"))
    assert umr["mr"]["provaudit"]["review"]["effective_license"] == "CC-BY-SA-3.0"
    card = yaml.safe_load(export_context(ctx, "dataset-card").decode().split("---\n")[1])
    assert card["provaudit"]["review"]["use"] == "commercial"


# --- CycloneDX ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("rid", ALL)
def test_cyclonedx_validates_against_the_1_6_schema(db: OxigraphStore, rid: str) -> None:
    pytest.importorskip("jsonschema")
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    data = export_record(db, rid, "cyclonedx", review_of(rid, "MIT"))
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(data.decode()) is None
    main = json.loads(data)["metadata"]["component"]
    assert main["bom-ref"] == rid
    assert main["type"] == ("data" if rid.startswith("dataset:") else "machine-learning-model")
    if rid == MODEL:
        assert {d["ref"] for d in main["modelCard"]["modelParameters"]["datasets"]} == {
            "dataset:GAIR/lima",
            "dataset:Open-Orca/OpenOrca",
            "dataset:WizardLM/WizardLM_evol_instruct_V2_196k",
        }


def test_detect_rejects_unknown_content() -> None:
    with pytest.raises(InputError, match="cannot tell which export format"):
        detect(b"just some text\n", "notes.txt")
    with pytest.raises(InputError, match="none of the export formats"):
        detect(b'{"hello": 1}', "x.json")
    assert check_kind("umr", api.collect([str(FIXTURES / "models" / "AdaptLLM__finance-chat")])[0]).name == "umr"
