"""The `datasets` collector on folders that `datasets` itself writes, and on recorded dataset_infos.json files."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import provaudit.api as api
from provaudit.collectors.base import CollectOptions, collector_for
from provaudit.collectors.datasets_info import DatasetsCollector
from provaudit.records.model import Record, Relation, Severity, Source

FIXTURES = Path(__file__).parent / "fixtures" / "datasets_info"
TWEET_QA = json.loads((FIXTURES / "tweet_qa" / "dataset_infos.json").read_text())["default"]
ROWS = {"Question": ["who?"], "Answer": [["me"]], "Tweet": ["a tweet"], "qid": ["1"]}


def src(file: str | None, field: str | None) -> Source:
    return Source(collector="datasets", file=file, field=field)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A save_to_disk folder, a DatasetDict folder and a builder cache, written by `datasets`."""
    from datasets import Dataset, DatasetDict, DatasetInfo, load_dataset

    root = tmp_path_factory.mktemp("made")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_DATASETS_OFFLINE", "1")
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("HF_HOME", str(root / "hf-home"))
        info = DatasetInfo.from_dict(TWEET_QA)
        dataset = Dataset.from_dict(ROWS, features=info.features, info=info)
        dataset.save_to_disk(str(root / "tweet_qa_sample"))
        splits = {"train": dataset, "test": Dataset.from_dict(ROWS, features=info.features, info=info)}
        DatasetDict(splits).save_to_disk(str(root / "tweet_qa_dict"))
        (root / "data.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
        load_dataset("json", data_files={"train": str(root / "data.jsonl")}, cache_dir=str(root / "cache"))
    yield root


def collect(target: Path | str) -> list[Record]:
    collector = DatasetsCollector()
    assert collector.can_collect(str(target))
    return list(collector.collect(str(target), CollectOptions()))


def test_save_to_disk_folder(made: Path) -> None:
    folder = made / "tweet_qa_sample"
    [record] = collect(folder)
    state = json.loads((folder / "state.json").read_text())
    assert record.id == "dataset:tweet_qa_sample"
    assert record.version == state["_fingerprint"]
    assert [(c.raw, c.expression, c.source) for c in record.claims] == [
        ("CC BY-SA 4.0", "CC-BY-SA-4.0", src("dataset_info.json", "license"))
    ]
    assert record.fact("homepage") == "https://tweetqa.github.io/"
    assert record.fact("citation") == TWEET_QA["citation"].strip()
    assert record.fact("fingerprint") == state["_fingerprint"]
    splits = [(f.value, f.source) for f in record.facts if f.key == "split"]
    assert splits == [
        ("train: 10692 examples, 2770036 bytes", src("dataset_info.json", "splits")),
        ("test: 1979 examples, 473730 bytes", src("dataset_info.json", "splits")),
        ("validation: 1086 examples, 295435 bytes", src("dataset_info.json", "splits")),
    ]
    assert record.fact("size_bytes") == "3539201"
    # the builder it was loaded with is its source: a link, never a copy of that record
    [link] = record.upstream
    assert (link.target, link.relation, link.source) == (
        "dataset:tweet_qa",
        Relation.DERIVED_FROM,
        src("dataset_info.json", "builder_name"),
    )
    data = folder / "data-00000-of-00001.arrow"
    digests = {f.path: f.sha256 for f in record.files}
    assert digests["data-00000-of-00001.arrow"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert set(digests) == {"dataset_info.json", "state.json", "data-00000-of-00001.arrow"}
    assert record.findings == []


def test_save_to_disk_download_checksums_are_kept_when_present(tmp_path: Path, made: Path) -> None:
    folder = tmp_path / "with_checksums"
    shutil.copytree(made / "tweet_qa_sample", folder)
    info = json.loads((folder / "dataset_info.json").read_text())
    info["download_checksums"] = TWEET_QA["download_checksums"]
    (folder / "dataset_info.json").write_text(json.dumps(info))
    [record] = collect(folder)
    assert [(f.value, f.source) for f in record.facts if f.key == "download"] == [
        (
            "https://sites.cs.ucsb.edu/~xwhan/datasets/tweetqa.zip "
            "sha256:e0db1b71836598aaea8785f1911369b5bca0d839504b97836eb5cb7427c7e4d9 (1573980 bytes)",
            src("dataset_info.json", "download_checksums"),
        )
    ]
    # the fingerprint, not the checksums, is the version of a saved dataset
    assert record.version == json.loads((folder / "state.json").read_text())["_fingerprint"]


def test_dataset_dict_folder(made: Path) -> None:
    folder = made / "tweet_qa_dict"
    [record] = collect(folder)
    assert record.id == "dataset:tweet_qa_dict"
    fingerprints = {
        split: json.loads((folder / split / "state.json").read_text())["_fingerprint"] for split in ("train", "test")
    }
    expected = hashlib.sha256(json.dumps(fingerprints, sort_keys=True).encode()).hexdigest()[:16]
    assert record.version == f"fingerprints:sha256:{expected}"
    assert record.fact("fingerprint[train]") == fingerprints["train"]
    assert [(c.expression, c.source) for c in record.claims] == [
        ("CC-BY-SA-4.0", src("train/dataset_info.json", "license")),
        ("CC-BY-SA-4.0", src("test/dataset_info.json", "license")),
    ]
    assert {f.path for f in record.files} >= {"dataset_dict.json", "train/data-00000-of-00001.arrow"}
    assert record.findings == []


def test_builder_cache_folder_and_cache_root(made: Path) -> None:
    [hash_dir] = list((made / "cache" / "json").glob("*/*/*/dataset_info.json"))
    folder = hash_dir.parent
    config_dir = folder.parent.parent.name
    [record] = collect(folder)
    # a packaged builder's records are named by their config hash: two caches of `json` stay two records
    assert record.id == f"dataset:json/{config_dir}"
    assert record.version == f"cache:{folder.name}"
    assert record.fact("builder_name") == "json"
    assert next(f.value for f in record.facts if f.key == "split").startswith("train: 2 examples")
    assert record.claims == []  # the json builder declares no license
    assert record.upstream == []
    # the cache root holds nothing but builder caches: the whole root is this collector's
    assert [r.id for r in collect(made / "cache")] == [record.id]


def test_hub_dataset_cache_is_named_by_repo_id(tmp_path: Path, made: Path) -> None:
    [info] = list((made / "cache" / "json").glob("*/*/*/dataset_info.json"))
    folder = tmp_path / "rajpurkar___squad" / "plain_text" / "0.0.0" / info.parent.name
    shutil.copytree(info.parent, folder)
    [record] = collect(folder)
    assert record.id == "dataset:rajpurkar/squad"
    assert record.fact("cache_config_dir") == "plain_text"


def test_bare_dataset_infos_file_with_two_configs() -> None:
    [record] = collect(FIXTURES / "stereoset" / "dataset_infos.json")
    assert record.id == "dataset:stereoset"
    # one license shared by both configs: one claim, sourced to the first config
    assert [(c.raw, c.expression, c.source) for c in record.claims] == [
        ("CC BY-SA 4.0", "CC-BY-SA-4.0", src("dataset_infos.json", "intersentence.license"))
    ]
    assert record.fact("split[intersentence]") == "validation: 2123 examples, 2286120 bytes"
    assert record.fact("split[intrasentence]") == "validation: 2106 examples, 2289458 bytes"
    assert record.version is not None and record.version.startswith("checksums:sha256:")
    assert record.fact("homepage") == "https://Stereoset.mit.edu/"


def test_local_collector_yields_to_datasets_for_saved_folders(tmp_path: Path, made: Path) -> None:
    assert collector_for(str(made / "tweet_qa_sample")).name == "datasets"
    assert collector_for(str(made / "tweet_qa_dict")).name == "datasets"
    # a Hugging Face repository folder (a card beside dataset_infos.json) stays with the local collector
    repo = tmp_path / "stereoset"
    shutil.copytree(FIXTURES / "stereoset", repo)
    (repo / "README.md").write_text("---\nlicense: cc-by-sa-4.0\n---\n")
    assert not DatasetsCollector().can_collect(str(repo))
    assert not DatasetsCollector().can_collect(str(tmp_path))


# --- bad input ----------------------------------------------------------------------------------


def test_unknown_license_string_is_a_finding() -> None:
    [record] = collect(FIXTURES / "text2log" / "dataset_infos.json")
    assert [(c.raw, c.expression) for c in record.claims] == [("none provided", None)]
    [finding] = record.findings
    assert (finding.rule, finding.severity) == ("PA005", Severity.WARNING)
    assert finding.source == src("dataset_infos.json", "license")


def test_malformed_json_is_a_finding_with_its_line(tmp_path: Path, made: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(made / "tweet_qa_sample", folder)
    text = (folder / "dataset_info.json").read_text()
    (folder / "dataset_info.json").write_text(text.replace('"license"', "license", 1))
    [record] = collect(folder)
    [finding] = record.findings
    assert finding.rule == "PA004" and finding.source is not None
    assert finding.source.file == "dataset_info.json"
    assert finding.source.line == text[: text.index('"license"')].count("\n") + 1
    assert record.claims == []
    assert record.version is not None  # state.json still read


def test_not_a_dataset_info_is_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "odd" / "dataset_info.json"
    path.parent.mkdir()
    path.write_text("[1, 2]")
    [record] = collect(path)
    assert [(f.rule, f.severity) for f in record.findings] == [("PA002", Severity.ERROR)]


def test_broken_split_and_data_file_references(tmp_path: Path, made: Path) -> None:
    folder = tmp_path / "dict"
    shutil.copytree(made / "tweet_qa_dict", folder)
    (folder / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "test", "validation"]}))
    (folder / "test" / "data-00000-of-00001.arrow").unlink()
    [record] = collect(folder)
    problems = [(f.rule, f.source.file if f.source else None, f.message) for f in record.findings]
    assert problems == [
        ("PA020", "test/state.json", "test/state.json: data file 'data-00000-of-00001.arrow' is listed but missing"),
        (
            "PA020",
            "dataset_dict.json",
            "dataset_dict.json: split 'validation' is listed but validation/ has no saved dataset",
        ),
    ]


def test_scan_into_store(made: Path, store_path: Path) -> None:
    result = api.scan([str(made / "tweet_qa_sample")], store=store_path)
    assert [r.id for r in result.records] == ["dataset:tweet_qa_sample"]
    with api.open_store(store_path, read_only=True) as store:
        record = store.record("dataset:tweet_qa_sample")
    assert record is not None
    assert [(c.raw, c.expression, c.source.file, c.source.field) for c in record.claims] == [
        ("CC BY-SA 4.0", "CC-BY-SA-4.0", "dataset_info.json", "license")
    ]
    assert [u.target for u in record.upstream] == ["dataset:tweet_qa"]


def test_whole_corpus_of_dataset_infos(shared_corpus: Path) -> None:
    files = sorted((shared_corpus / "hf" / "datasets").glob("*/dataset_infos.json"))
    assert len(files) > 400
    collector = DatasetsCollector()
    for path in files:
        [record] = collector.collect(str(path), CollectOptions())
        assert record.id == f"dataset:{path.parent.name}"
        assert all(f.source and f.source.file == "dataset_infos.json" for f in record.findings)
