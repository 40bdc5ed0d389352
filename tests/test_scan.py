"""`provaudit scan` end to end on real cards: records, claims with sources, findings for bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import CARDS

from provaudit import api
from provaudit.collectors.base import CollectOptions
from provaudit.collectors.local import collect_folder
from provaudit.records.model import Kind, Relation, Severity


def _folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir())


def test_every_card_becomes_a_record_with_normalized_hub_licenses(store_path: Path) -> None:
    targets = [CARDS / "datasets", CARDS / "models"]
    result = api.scan([str(t) for t in targets], store=store_path)
    folders = _folders(CARDS / "datasets") + _folders(CARDS / "models")
    ids = {r.id for r in result.records}
    assert len(result.records) == len(folders) == len(ids)
    assert "dataset:imdb" in ids and "model:Intel/neural-chat-7b-v3-3" in ids
    card_claims = [c for r in result.records for c in r.claims if c.source.field == "license"]
    assert card_claims
    for claim in card_claims:
        assert claim.expression, f"{claim.raw} unread"
    with api.open_store(store_path, read_only=True) as db:
        stored = {r.id for r in db.records()}
    assert stored == ids


def test_claims_keep_file_field_and_line() -> None:
    record = collect_folder(CARDS / "datasets" / "imdb")
    claim = next(c for c in record.claims if c.source.field == "license")
    assert (claim.raw, claim.expression, claim.method) == ("other", "LicenseRef-provaudit-other", "hub-id")
    assert claim.source.file == "README.md" and claim.source.line == 9
    record = collect_folder(CARDS / "datasets" / "amazon_reviews_multi")
    (info,) = [c for c in record.claims if c.source.file == "dataset_infos.json"]
    # a paragraph of terms, read by what it allows: "for purposes of academic research"
    assert info.raw.startswith("By accessing the Multilingual Amazon Reviews Corpus")
    assert (info.expression, info.method) == ("LicenseRef-provaudit-academic-only", "statement")


def test_model_lineage_keeps_relation_types() -> None:
    record = collect_folder(CARDS / "models" / "Intel__neural-chat-7b-v3-3")
    assert record.kind is Kind.MODEL and record.id == "model:Intel/neural-chat-7b-v3-3"
    bases = [u for u in record.upstream if u.relation is Relation.BASE_MODEL]
    assert [u.target for u in bases] == ["model:Intel/neural-chat-7b-v3-1"]
    tested = {u.target for u in record.upstream if u.relation is Relation.TESTED_ON}
    assert {"dataset:meta-math/MetaMathQA", "dataset:gsm8k", "dataset:ai2_arc"} <= tested
    parent = collect_folder(CARDS / "models" / "Intel__neural-chat-7b-v3-1")
    trained = {u.target for u in parent.upstream if u.relation is Relation.TRAINED_ON}
    assert "dataset:Open-Orca/SlimOrca" in trained
    merge = collect_folder(CARDS / "models" / "OpenPipe__mistral-ft-optimized-1227")
    assert {u.relation for u in merge.upstream if u.source.field == "base_model"} == {Relation.MERGE}


def test_file_digests_are_sha256_of_each_file() -> None:
    import hashlib

    folder = CARDS / "datasets" / "snli"
    record = collect_folder(folder)
    digests = {f.path: f.sha256 for f in record.files}
    assert digests["README.md"] == hashlib.sha256((folder / "README.md").read_bytes()).hexdigest()
    assert set(digests) == {"README.md", "dataset_infos.json"}


def test_bad_cards_become_findings_and_the_scan_goes_on(store_path: Path) -> None:
    result = api.scan([str(CARDS / "bad")], store=store_path)
    by_id = {r.id: r for r in result.records}
    assert len(by_id) == len(_folders(CARDS / "bad"))

    def rules(rid: str) -> list[tuple[str, str]]:
        return [(f.rule, f.message) for f in by_id[rid].findings]

    ((rule, message),) = rules("dataset:broken_yaml")
    assert rule == "PA001" and message.startswith("README.md:9: malformed YAML")
    assert by_id["dataset:broken_yaml"].findings[0].source.line == 9
    assert rules("dataset:binary_card")[0][0] == "PA003" and "binary" in rules("dataset:binary_card")[0][1]
    assert rules("dataset:hf_invalid_card_data")[0][:1] == ("PA002",)
    assert rules("dataset:hf_template")[0][0] == "PA001"
    assert rules("dataset:hf_no_metadata")[0][0] == "PA007"
    unknown = rules("dataset:unknown_license")
    assert unknown[0][0] == "PA005" and "'Proprietary (see the website)'" in unknown[0][1]
    assert rules("model:hf_invalid_model_index")[0][0] == "PA002"
    # the Windows line breaks card parses like any other
    assert rules("dataset:hf_windows_line_breaks") == []
    assert result.count_at_or_above("error") == 4


def test_oversized_card_is_reported_not_parsed(tmp_path: Path) -> None:
    folder = tmp_path / "snli"
    shutil.copytree(CARDS / "datasets" / "snli", folder)
    record = collect_folder(folder, CollectOptions(max_file_bytes=1000))
    oversized = [f for f in record.findings if f.rule == "PA003"]
    assert oversized and "larger than the 1000-byte limit" in oversized[0].message
    assert oversized[0].severity is Severity.ERROR


def test_a_single_record_folder_is_a_target(store_path: Path) -> None:
    result = api.scan([str(CARDS / "datasets" / "snli")], store=store_path)
    assert [r.id for r in result.records] == ["dataset:snli"]


def test_the_whole_recorded_corpus_scans(shared_corpus: Path, store_path: Path) -> None:
    """About 1,750 real cards: no traceback, every card folder in a record, every Hub id read."""
    hub_ids = {
        line.split("\t")[0]
        for line in (shared_corpus / "hf" / "hub_licenses.tsv").read_text().splitlines()[2:]
        if line.strip()
    }
    # the expected reading of each Hub id: the tests' own table (tests/fixtures/hub_licenses/expected.tsv)
    table = (Path(__file__).parent / "fixtures" / "hub_licenses" / "expected.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in table.splitlines() if line and not line.startswith(("#", "id\t"))]
    expected = {row[0]: row[2] for row in rows}
    assert hub_ids <= set(expected)
    targets = [shared_corpus / "hf" / "datasets", shared_corpus / "hf" / "models"]
    result = api.scan([str(t) for t in targets], store=store_path, options=CollectOptions(digests=False))
    folders = {str(p.resolve()) for t in targets for p in t.iterdir() if p.is_dir()}
    located = {r.location for r in result.records}
    # two folders that are the same Hub repo (a packager's copy names its parent) are one record
    assert len(result.records) >= len(folders) - 5
    assert located <= folders
    for record in result.records:
        for claim in record.claims:
            if claim.raw.lower() in hub_ids:
                assert claim.expression, claim
                if not claim.method.startswith("license_name:"):  # `other` refined by its license_name
                    assert claim.expression == expected[claim.raw.lower()], claim
    with api.open_store(store_path, read_only=True) as db:
        assert sum(1 for _ in db.records()) == len(result.records)
