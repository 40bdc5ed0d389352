"""provaudit's plain-JSON DatasetInfo reader against the owner's ``datasets.DatasetInfo.from_dict``.

The oracle is ``datasets`` itself: every ``dataset_infos.json`` / ``dataset_info.json`` in tests/fixtures (always)
and under ../shared/corpus (when present) is read by both, and every value provaudit's collectors use must be
equal; where ``from_dict`` raises, the reader raises too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provaudit.collectors.dataset_info_json import DatasetInfoJson, info_from_dict

FIXTURES = Path(__file__).parent / "fixtures"
NAMES = ("dataset_infos.json", "dataset_info.json")


def _configs(path: Path) -> Iterator[tuple[str, Any]]:
    """(config, raw dict) as the collectors split a file: config → info, or one info."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return
    if not isinstance(data, dict):
        return
    if path.name == "dataset_infos.json":
        yield from ((config, raw) for config, raw in data.items() if isinstance(raw, dict))
    else:
        yield "", data


def _expected(info: Any) -> DatasetInfoJson:
    """What DatasetInfo says, in the reader's shape."""
    from provaudit.collectors.dataset_info_json import SplitJson

    return DatasetInfoJson(
        description=info.description,
        citation=info.citation,
        homepage=info.homepage,
        license=info.license,
        builder_name=info.builder_name if isinstance(info.builder_name, str) else None,
        dataset_name=info.dataset_name if isinstance(info.dataset_name, str) else None,
        config_name=info.config_name if isinstance(info.config_name, str) else None,
        version=None if info.version is None else str(info.version),
        splits=None
        if info.splits is None
        else {
            key: SplitJson(name=split.name, num_bytes=split.num_bytes, num_examples=split.num_examples)
            for key, split in info.splits.items()
        },
        download_checksums=info.download_checksums,
        download_size=info.download_size,
        dataset_size=info.dataset_size,
        feature_names=None if info.features is None else tuple(info.features),
    )


def _compare(paths: list[Path]) -> tuple[int, int]:
    """Both readers on every config of every file; returns (configs read, configs both rejected)."""
    from datasets import DatasetInfo

    read = rejected = 0
    for path in paths:
        for config, raw in _configs(path):
            where = f"{path} config {config!r}"
            try:
                info = DatasetInfo.from_dict(raw)
            except Exception:
                with pytest.raises((ValueError, TypeError, KeyError)):
                    info_from_dict(raw)
                rejected += 1
                continue
            assert info_from_dict(raw) == _expected(info), where
            read += 1
    return read, rejected


def test_fixture_files_read_as_datasets_reads_them() -> None:
    paths = sorted(p for name in NAMES for p in FIXTURES.rglob(name))
    assert len(paths) >= 30
    read, _ = _compare(paths)
    assert read >= 100


def test_corpus_files_read_as_datasets_reads_them(shared_corpus: Path) -> None:
    paths = sorted(p for name in NAMES for p in shared_corpus.rglob(name))
    assert len(paths) >= 400
    read, _ = _compare(paths)
    assert read >= 1000


@pytest.mark.parametrize(
    "change",
    [
        {"version": "1.0"},
        {"version": {"version_str": "one"}},
        {"version": 3},
        {"splits": [{"name": "train"}, {"name": "train"}]},
        {"splits": [{"name": "train", "rows": 3}]},
        {"splits": ["train"]},
        {"splits": 7},
        {"features": {"text": {"_type": "Text"}}},
        {"features": {"text": {"_type": None}}},
        {"features": {"text": "string"}},
        {"features": {"tokens": {"_type": "List"}}},
        {"features": 5},
        {"supervised_keys": ["a", "b", "c"]},
        {"supervised_keys": {"input": "a", "label": "b"}},
        {"post_processed": "none"},
    ],
)
def test_what_datasets_rejects_is_rejected(change: dict[str, Any]) -> None:
    from datasets import DatasetInfo

    raw = {**json.loads((FIXTURES / "datasets_info" / "tweet_qa" / "dataset_infos.json").read_text())["default"]}
    raw.update(change)
    with pytest.raises(Exception):  # noqa: B017 - datasets raises many types; the oracle only has to fail
        DatasetInfo.from_dict(raw)
    with pytest.raises((ValueError, TypeError, KeyError)):
        info_from_dict(raw)


@pytest.mark.parametrize(
    "change",
    [
        {"version": "01.2.03"},
        {"version": {"version_str": "1.0.0", "description": "first", "major": 1, "minor": 0, "patch": 0}},
        {"splits": {"train": {"name": "train", "num_bytes": 10, "num_examples": 2, "dataset_name": "x"}}},
        {"splits": [], "features": None, "license": None, "download_checksums": None},
        {"supervised_keys": ["Question", "Answer"], "post_processed": {"resources_checksums": {}}},
        {"unknown_key": [1, 2], "builder_name": 5},
    ],
)
def test_odd_but_valid_infos_read_as_datasets_reads_them(change: dict[str, Any]) -> None:
    from datasets import DatasetInfo

    raw = {**json.loads((FIXTURES / "datasets_info" / "tweet_qa" / "dataset_infos.json").read_text())["default"]}
    raw.update(change)
    info = DatasetInfo.from_dict(raw)
    expected = _expected(info)
    if raw.get("license") is None:  # DatasetInfo keeps None; the reader reads it as no text
        assert info.license is None
        expected = DatasetInfoJson(**{**_fields(expected), "license": ""})
    assert info_from_dict(raw) == expected


def test_text_of_the_wrong_type_is_rejected() -> None:
    """DatasetInfo keeps a list licence as is (the collectors then failed on .strip()); the reader rejects it."""
    with pytest.raises(TypeError, match="license"):
        info_from_dict({"license": ["mit"]})


def _fields(info: DatasetInfoJson) -> dict[str, Any]:
    return {name: getattr(info, name) for name in DatasetInfoJson.__dataclass_fields__}
