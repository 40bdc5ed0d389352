"""A ``DatasetInfo`` dict (one config of ``dataset_infos.json``, or a ``dataset_info.json``) read as plain JSON.

``datasets.DatasetInfo.from_dict`` stays the reference (tests/test_dataset_infos_json.py compares every corpus
file with it), but importing ``datasets`` costs every scan worker a second and more than a tenth of its time. This
reader keeps ``DatasetInfo``'s field names and the values a collector reads from it, and rejects the inputs
``from_dict`` rejects (a version not ``x.y.z``, a split with an unknown key or a repeated name, an unknown feature
type, malformed supervised keys), raising ``ValueError`` or ``TypeError`` as it does. Unlike ``DatasetInfo`` it
also rejects a text field or ``download_checksums`` of the wrong JSON type, which the collectors could not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_VERSION = re.compile(r"^(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)$")
# the keys `datasets.SplitInfo(**split)` accepts (any other raises TypeError)
_SPLIT_KEYS = frozenset(
    {"name", "num_bytes", "num_examples", "shard_lengths", "original_shard_lengths", "dataset_name"}
)
# `datasets.features.features._FEATURE_TYPES` (5.x); a `_type` outside it raises ValueError in `from_dict`
FEATURE_TYPES = frozenset(
    {
        "Array2D",
        "Array3D",
        "Array4D",
        "Array5D",
        "Audio",
        "BioSequence",
        "BioStructure",
        "ClassLabel",
        "Image",
        "Json",
        "LargeList",
        "List",
        "Mesh",
        "Nifti",
        "Pdf",
        "Sequence",
        "Translation",
        "TranslationVariableLanguages",
        "Value",
        "Video",
    }
)
_TEXT = ("description", "citation", "homepage", "license")


@dataclass(frozen=True, slots=True)
class SplitJson:
    """One entry of ``splits`` (``datasets.SplitInfo``): counts as written, not checked."""

    name: str
    num_bytes: Any
    num_examples: Any


@dataclass(frozen=True, slots=True)
class DatasetInfoJson:
    """The fields of ``datasets.DatasetInfo`` that provaudit reads, under the same names."""

    description: str = ""
    citation: str = ""
    homepage: str = ""
    license: str = ""
    builder_name: str | None = None
    dataset_name: str | None = None
    config_name: str | None = None
    version: str | None = None  # ``str(DatasetInfo.version)``: ``"x.y.z"`` with the numbers as integers
    splits: dict[str, SplitJson] | None = None
    download_checksums: dict[str, Any] | None = None
    download_size: Any = None
    dataset_size: Any = None
    feature_names: tuple[str, ...] | None = None  # ``tuple(DatasetInfo.features)``: the top-level columns


def info_from_dict(raw: dict[str, Any]) -> DatasetInfoJson:
    """One DatasetInfo dict read as ``DatasetInfo.from_dict`` reads it; ValueError/TypeError where it fails."""
    text: dict[str, str] = {}
    for key in _TEXT:
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise TypeError(f"`{key}` is a {type(value).__name__}, not a string")
        text[key] = value or ""
    checksums = raw.get("download_checksums")
    if checksums is not None and not isinstance(checksums, dict):
        raise TypeError(f"`download_checksums` is a {type(checksums).__name__}, not an object")
    features = raw.get("features")
    if features is not None:
        _check_features(features)
    if raw.get("post_processed") is not None:
        _check_post_processed(raw["post_processed"])
    if raw.get("supervised_keys") is not None:
        _check_supervised_keys(raw["supervised_keys"])
    return DatasetInfoJson(
        description=text["description"],
        citation=text["citation"],
        homepage=text["homepage"],
        license=text["license"],
        builder_name=_name(raw, "builder_name"),
        dataset_name=_name(raw, "dataset_name"),
        config_name=_name(raw, "config_name"),
        version=_version(raw.get("version")),
        splits=_splits(raw.get("splits")),
        download_checksums=checksums,
        download_size=raw.get("download_size"),
        dataset_size=raw.get("dataset_size"),
        feature_names=tuple(features) if isinstance(features, dict) else None,
    )


def _name(raw: dict[str, Any], key: str) -> str | None:
    """``builder_name`` and kin: DatasetInfo keeps any value; only a string names something."""
    value = raw.get(key)
    return value if isinstance(value, str) else None


def _version(value: Any) -> str | None:
    """``datasets.Version``: a string, or a dict with ``version_str``; normalized to ``major.minor.patch``."""
    if value is None:
        return None
    if isinstance(value, dict):
        unknown = set(value) - {"version_str", "description", "major", "minor", "patch"}
        if "version_str" not in value and not unknown:
            raise TypeError("version: missing `version_str`")
        value = value.get("version_str")
    if not isinstance(value, str):
        raise TypeError(f"version: a {type(value).__name__}, not a string")
    match = _VERSION.match(value)
    if not match:
        raise ValueError(f"Invalid version '{value}'. Format should be x.y.z with {{x,y,z}} being digits.")
    return ".".join(str(int(match.group(part))) for part in ("major", "minor", "patch"))


def _splits(value: Any) -> dict[str, SplitJson] | None:
    """``datasets.SplitDict.from_split_dict``: a dict's values or a list, each a SplitInfo dict, names unique."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list):
        if not value:  # an empty string or 0: `from_split_dict` iterates nothing
            return {}
        raise TypeError(f"splits: a {type(value).__name__}, not a list or an object")
    splits: dict[str, SplitJson] = {}
    for entry in value:
        if not isinstance(entry, dict):
            raise TypeError(f"splits: an entry is a {type(entry).__name__}, not an object")
        unknown = sorted(set(entry) - _SPLIT_KEYS)
        if unknown:
            raise TypeError(f"splits: unexpected key {unknown[0]!r}")
        name = entry.get("name", "")
        if name in splits:
            raise ValueError(f"Split {name} already present")
        splits[name] = SplitJson(
            name=name, num_bytes=entry.get("num_bytes", 0), num_examples=entry.get("num_examples", 0)
        )
    return splits


def _check_features(value: Any) -> None:
    """``datasets.features.generate_from_dict``'s structure: nested dicts and lists, each ``_type`` known."""
    if isinstance(value, list):
        for item in value:
            _check_features(item)
        return
    if not isinstance(value, dict):
        raise TypeError(f"features: a {type(value).__name__} where a feature or a dict of features belongs")
    kind = value.get("_type")
    if "_type" not in value or isinstance(kind, dict):
        for item in value.values():
            _check_features(item)
        return
    if kind not in FEATURE_TYPES:
        raise ValueError(f"Feature type '{kind}' not found")
    if kind in {"List", "LargeList", "Sequence"}:
        if "feature" not in value:
            raise KeyError("feature")
        _check_features(value["feature"])
    elif kind == "Value" and not isinstance(value.get("dtype"), str):
        raise TypeError("features: a Value without a string `dtype`")


def _check_post_processed(value: Any) -> None:
    if not isinstance(value, dict):
        raise TypeError(f"post_processed: a {type(value).__name__}, not an object")
    if value.get("features") is not None:
        _check_features(value["features"])


def _check_supervised_keys(value: Any) -> None:
    """``SupervisedKeysData(*list)`` or ``SupervisedKeysData(**dict)``: at most ``input`` and ``output``."""
    if isinstance(value, list):
        if len(value) > 2:
            raise TypeError(f"supervised_keys: {len(value)} keys, at most 2 (input, output)")
    elif not isinstance(value, dict) or set(value) - {"input", "output"}:
        raise TypeError("supervised_keys: not an object of `input` and `output`")
