"""The Unified Model Record collector on records copied from modelrecords/modelrecords."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import provaudit.api as api
from provaudit.collectors.base import CollectOptions, collector_for
from provaudit.collectors.umr import UmrCollector, split_package
from provaudit.records.model import Kind, Record, Relation, Severity, Source

FIXTURES = Path(__file__).parent / "fixtures" / "umr"
REPO = FIXTURES / "repository"


def collect(target: Path) -> list[Record]:
    collector = UmrCollector()
    assert collector.can_collect(str(target))
    return list(collector.collect(str(target), CollectOptions()))


def by_id(records: list[Record]) -> dict[str, Record]:
    return {r.id: r for r in records}


def src(file: str, field: str, line: int | None) -> Source:
    return Source(collector="umr", file=file, field=field, line=line)


@pytest.mark.parametrize(
    ("stem", "expected"),
    [("bloom-1b7-1.0.0", ("bloom-1b7", "1.0.0")), ("mt5", ("mt5", None)), ("test-1.2.0", ("test", "1.2.0"))],
)
def test_split_package(stem: str, expected: tuple[str, str | None]) -> None:
    assert split_package(stem) == expected


def test_repository_tree() -> None:
    records = by_id(collect(REPO))
    # one record per package, the newest version of `test` only
    assert sorted(records) == [
        "dataset:laion-5b",
        "dataset:mc4",
        "family:bloomz",
        "family:laion",
        "family:twitter",
        "model:bloomz-560m",
        "model:mt5",
        "model:mt5-small",
        "model:test",
    ]
    assert records["model:test"].version == "1.2.0"
    assert records["model:test"].fact("title") == "Test Model - 1.2.0"


def test_model_record_values_and_sources() -> None:
    record = by_id(collect(REPO))["model:mt5-small"]
    file = "mt5-small/mt5-small-1.0.0.yaml"
    assert (record.kind, record.name, record.version) == (Kind.MODEL, "mt5-small", "1.0.0")
    assert [(a.name, a.role, a.source) for a in record.agents] == [
        ("Google", "publisher", src(file, "metadata.publisher", 9))
    ]
    # the upstream constraint resolves in the repository to a model record; the link keeps the constraint
    [link] = record.upstream
    assert (link.target, link.raw, link.relation, link.version, link.source) == (
        "model:mt5",
        "mt5>=1.0.0",
        Relation.USES,
        ">=1.0.0",
        src(file, "relations.upstream", 13),
    )
    facts = [(f.key, f.value, f.source) for f in record.facts]
    assert facts == [
        ("title", "mt5-small", src(file, "metadata.name", 3)),
        ("umr_version", "1.0.0", src(file, "metadata.version", 8)),
        ("release_date", "2021-06", src(file, "metadata.release_date", 10)),
        ("model_type", "Text-to-text Transformer-based Language Model", src(file, "metadata.model_type", 11)),
        ("ref", "https://github.com/google-research/multilingual-t5", src(file, "metadata.refs", 4)),
        ("ref", "https://aclanthology.org/2021.naacl-main.41.pdf", src(file, "metadata.refs", 4)),
        ("ref", "https://huggingface.co/google/mt5-small", src(file, "upstream.environmental.refs", 17)),
    ]
    assert record.claims == [] and record.findings == []


def test_upstream_kind_comes_from_the_referenced_record() -> None:
    records = by_id(collect(REPO))
    assert [(u.target, u.version) for u in records["model:mt5"].upstream] == [("dataset:mc4", ">=1.0.0")]
    assert [(u.target, u.version) for u in records["dataset:laion-5b"].upstream] == [("family:laion", None)]


def test_family_with_fmti_answers_and_lists() -> None:
    record = by_id(collect(REPO))["family:bloomz"]
    file = "bloomz/bloomz-1.0.0.yaml"
    assert record.fact("question_set") == "fmti2023"
    assert record.fact("fmti:model.asset_license") == "1"
    assert record.fact("fmti:upstream.data_license_status") == "0"
    uses = [f for f in record.facts if f.key == "intended_use"]
    assert len(uses) == 5
    assert uses[0].value == (
        "Natural language processing tasks, including but not limited to translation, "
        "sentiment analysis, and question answering."
    )
    assert uses[0].source == src(file, "upstream.intended_use", 122)


def test_risk_flags_are_facts() -> None:
    record = by_id(collect(REPO))["dataset:laion-5b"]
    file = "laion-5b/laion-5b-1.0.0.yaml"
    assert [(f.key, f.value, f.source) for f in record.facts if f.key.startswith("risk:")] == [
        ("risk:nsfw", "true", src(file, "risk.nsfw", 8)),
        ("risk:csam", "true", src(file, "risk.csam", 9)),
        ("risk:violence", "true", src(file, "risk.violence", 10)),
    ]


def test_single_file_resolves_upstreams_in_its_repository() -> None:
    [record] = collect(REPO / "mt5-small" / "mt5-small-1.0.0.yaml")
    assert record.id == "model:mt5-small"
    assert [u.target for u in record.upstream] == ["model:mt5"]
    assert record.findings == []


def test_umr_folder_is_not_taken_by_the_local_collector() -> None:
    assert collector_for(str(REPO)).name == "umr"
    assert collector_for(str(FIXTURES / "exampleusage" / "mymodel-1.0.0.yaml")).name == "umr"


# --- bad input ----------------------------------------------------------------------------------


def test_broken_upstream_reference() -> None:
    record = by_id(collect(REPO))["model:bloomz-560m"]
    [finding] = record.findings
    assert (finding.rule, finding.severity) == ("PA025", Severity.WARNING)
    assert finding.source == src("bloomz-560m/bloomz-560m-1.0.0.yaml", "relations.upstream", 13)
    assert "'bloom'" in finding.message
    # the declared dependency is still kept, as a link to the record it names
    assert [(u.target, u.version) for u in record.upstream] == [("model:bloom", ">=1.0.0")]


def test_example_usage_without_type_and_outside_the_repository() -> None:
    [record] = collect(FIXTURES / "exampleusage" / "mymodel-1.0.0.yaml")
    assert (record.id, record.version) == ("model:mymodel", "1.0.0")
    assert [(a.name, a.role) for a in record.agents] == [("Happy panda co.", "publisher")]
    assert [(f.rule, f.severity) for f in record.findings] == [("PA002", Severity.INFO), ("PA025", Severity.WARNING)]
    assert [u.target for u in record.upstream] == ["model:bloomz"]


def test_unsatisfied_version_constraint(tmp_path: Path) -> None:
    shutil.copytree(REPO, tmp_path / "repo")
    path = tmp_path / "repo" / "mt5-small" / "mt5-small-1.0.0.yaml"
    path.write_text(path.read_text().replace("mt5>=1.0.0", "mt5>=2.0.0"))
    [record] = collect(path)
    [finding] = record.findings
    assert finding.rule == "PA026"
    assert finding.message.endswith("no version of 'mt5' (1.0.0) satisfies '>=2.0.0'")


def test_licenses_and_unknown_license(tmp_path: Path) -> None:
    path = tmp_path / "mymodel-2.0.0.yaml"
    text = (FIXTURES / "exampleusage" / "mymodel-1.0.0.yaml").read_text()
    path.write_text(
        text.replace("  metadata:\n", "  type: model\n  metadata:\n    license: [apache-2.0, happy-panda-terms]\n")
    )
    [record] = collect(path)
    assert [(c.raw, c.expression, c.source.field) for c in record.claims] == [
        ("apache-2.0", "Apache-2.0", "metadata.license"),
        ("happy-panda-terms", None, "metadata.license"),
    ]
    assert [f.rule for f in record.findings] == ["PA005", "PA025"]


def test_malformed_yaml_and_wrong_shape(tmp_path: Path) -> None:
    bad = tmp_path / "bad-1.0.0.yaml"
    bad.write_text("mr:\n  type: model\n  metadata: {name: [unclosed\n")
    [record] = collect(bad)
    [finding] = record.findings
    assert (finding.rule, finding.source.file if finding.source else None) == ("PA001", "bad-1.0.0.yaml")
    assert finding.source is not None and finding.source.line == 3
    shape = tmp_path / "shape-1.0.0.yaml"
    shape.write_text("mr:\n- a list\n")
    [record] = collect(shape)
    assert [(f.rule, f.severity) for f in record.findings] == [("PA002", Severity.ERROR)]


def test_scan_into_store(tmp_path: Path, store_path: Path) -> None:
    repo = tmp_path / "repository"
    shutil.copytree(REPO, repo)
    path = repo / "mt5" / "mt5-1.0.0.yaml"
    path.write_text(
        path.read_text().replace("    publisher: Google\n", "    publisher: Google\n    license: apache-2.0\n")
    )
    api.scan([str(repo)], store=store_path)
    with api.open_store(store_path, read_only=True) as store:
        mt5 = store.record("model:mt5")
        small = store.record("model:mt5-small")
    assert mt5 is not None and small is not None
    assert [(c.raw, c.expression, c.source.file, c.source.field) for c in mt5.claims] == [
        ("apache-2.0", "Apache-2.0", "mt5/mt5-1.0.0.yaml", "metadata.license")
    ]
    # the child links to mt5 and holds none of its values
    assert small.claims == []
    assert [(u.target, u.version) for u in small.upstream] == [("model:mt5", ">=1.0.0")]


def test_hub_url_upstream(tmp_path: Path) -> None:
    path = tmp_path / "m-1.0.0.yaml"
    path.write_text(
        "mr:\n  type: model\n  metadata: {name: m}\n  relations:\n    upstream:\n"
        "    - https://huggingface.co/google/mt5-xl\n    - https://huggingface.co/datasets/allenai/c4\n"
    )
    [record] = collect(path)
    assert [(u.target, u.relation, u.version) for u in record.upstream] == [
        ("model:google/mt5-xl", Relation.USES, None),
        ("dataset:allenai/c4", Relation.USES, None),
    ]
    assert record.findings == []


def test_whole_corpus_repository(shared_corpus: Path) -> None:
    records = collect(shared_corpus / "umr" / "repository")
    assert len(records) >= 50
    assert all(r.collectors == ["umr"] for r in records)
    # every finding names its file
    assert all(f.source and f.source.file for r in records for f in r.findings)
