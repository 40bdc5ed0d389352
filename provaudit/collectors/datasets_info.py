"""`datasets` metadata on disk: ``save_to_disk`` folders, builder caches and ``dataset_infos.json`` files.

Targets:

* a ``Dataset.save_to_disk`` folder (``dataset_info.json`` + ``state.json``);
* a ``DatasetDict.save_to_disk`` folder (``dataset_dict.json`` + one such folder per split);
* a builder cache folder (``~/.cache/huggingface/datasets/<name>/<config>/<version>/<hash>/``), or a cache
  root holding many of them;
* a bare ``dataset_infos.json`` (config → DatasetInfo) or ``dataset_info.json`` file.

Each becomes one dataset record: license claims, citation, homepage, download checksums, splits and
sizes as facts, and the ``state.json`` fingerprint (or a digest of the download checksums) as version.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from provaudit.collectors._bounded import digest_bound
from provaudit.collectors.base import CollectOptions
from provaudit.collectors.cards import CardReader
from provaudit.collectors.dataset_info_json import DatasetInfoJson, info_from_dict
from provaudit.records.identity import folder_to_repo_id, record_id
from provaudit.records.model import (
    Fact,
    FileDigest,
    Finding,
    Kind,
    Record,
    Relation,
    Severity,
    Source,
    Upstream,
)

COLLECTOR = "datasets"
INFO = "dataset_info.json"
INFOS = "dataset_infos.json"
STATE = "state.json"
DICT = "dataset_dict.json"
_VERSION_DIR = re.compile(r"^\d+\.\d+\.\d+$")
# `datasets`' packaged builders: their name says how files were read, not which dataset they hold
PACKAGED = {
    "arrow",
    "audiofolder",
    "cache",
    "csv",
    "generator",
    "imagefolder",
    "json",
    "pandas",
    "parquet",
    "sql",
    "text",
    "videofolder",
    "webdataset",
    "xml",
}
_MAX_DEPTH = 5
_SKIP_DIRS = frozenset({".git", "downloads", "__pycache__", ".provaudit"})


def folder_kind(path: Path) -> str | None:
    """``save_to_disk``, ``dataset_dict`` or ``builder_cache`` when path is such a folder, else None."""
    try:
        if (path / DICT).is_file():
            return "dataset_dict"
        if not (path / INFO).is_file():
            return None
        if (path / STATE).is_file():
            return "save_to_disk"
        # a builder cache folder: <name>/<config>/<version>/<hash>/ with the split .arrow files beside the info
        if not (path / "README.md").is_file() and (
            _VERSION_DIR.match(path.parent.name) or any(p.suffix == ".arrow" for p in path.iterdir())
        ):
            return "builder_cache"
    except OSError:
        return None
    return None


def find_dataset_folders(root: Path, depth: int = _MAX_DEPTH) -> Iterator[Path]:
    """Recognized folders under root (root itself when it is one)."""
    from provaudit.collectors.local import find_folders

    return find_folders(root, folder_kind, depth, _SKIP_DIRS)


class DatasetsCollector:
    """Metadata that the `datasets` library writes: DatasetInfo, fingerprints, split layout."""

    name = COLLECTOR
    priority = 20  # above the local collector (10), which would read these folders as bare cards

    def can_collect(self, target: str) -> bool:
        path = Path(target)
        if path.is_file():
            return path.name in {INFO, INFOS}
        if not path.is_dir():
            return False
        if folder_kind(path):
            return True
        # a cache root or a folder of saved datasets: mine only when it holds nothing but such folders.
        # The local collector's walk is lazy: a collection of card folders is turned down at its first card.
        from provaudit.collectors.local import find_record_folders

        root = path.resolve()
        seen = False
        for folder in find_record_folders(path):
            folder = folder.resolve()
            chain = [folder, *(p for p in folder.parents if p == root or root in p.parents)]
            if not any(folder_kind(p) for p in chain):
                return False
            seen = True
        return seen or next(find_dataset_folders(path), None) is not None

    def collect(self, target: str, options: CollectOptions) -> Iterator[Record]:
        path = Path(target)
        reader = CardReader(collector=COLLECTOR, max_bytes=options.max_file_bytes)
        if path.is_file():
            folders = [path.parent] if path.name == INFO and folder_kind(path.parent) else []
            records = [collect_info_file(path, reader)] if not folders else []
        else:
            folders = list(find_dataset_folders(path))
            records = []
        for folder in folders:
            records.append(collect_folder(folder, reader, options))
        for record in records:
            if options.progress:
                options.progress(record.id)
            yield record


# --- one folder ---------------------------------------------------------------------------------


def collect_folder(folder: Path, reader: CardReader, options: CollectOptions | None = None) -> Record:
    """Read one recognized folder into a dataset record; problems become findings, never exceptions."""
    options = options or CollectOptions()
    kind = folder_kind(folder)
    name = _cache_name(folder) if kind == "builder_cache" else folder_to_repo_id(folder.name)
    record = Record(
        id=record_id(Kind.DATASET, name),
        kind=Kind.DATASET,
        name=name,
        location=str(folder.resolve()),
        collectors=[COLLECTOR],
    )
    record.add("facts", Fact(key="datasets_layout", value=kind or "", source=Source(collector=COLLECTOR)))
    data_files: list[str] = []
    if kind == "dataset_dict":
        data_files = _read_dataset_dict(record, folder, reader)
    elif kind == "save_to_disk":
        infos = _read_info(record, folder / INFO, INFO, reader)
        _link_builder(record, infos, INFO)
        data_files = _read_state(record, folder / STATE, STATE, reader, split=None)
    else:
        infos = _read_info(record, folder / INFO, INFO, reader)
        config = folder.parent.parent.name if _VERSION_DIR.match(folder.parent.name) else None
        if config:
            _fact(record, "cache_config_dir", config, None, "path")
        record.version = record.version or f"cache:{folder.name}"
        data_files = sorted(p.name for p in folder.iterdir() if p.suffix == ".arrow")
    if options.digests:
        _add_digests(record, folder, [INFO, STATE, DICT, *data_files], options.max_digest_bytes)
    return record


def collect_info_file(path: Path, reader: CardReader) -> Record:
    """A bare ``dataset_infos.json`` / ``dataset_info.json``: named after its folder, as the local collector does."""
    name = folder_to_repo_id(path.resolve().parent.name)
    record = Record(
        id=record_id(Kind.DATASET, name),
        kind=Kind.DATASET,
        name=name,
        location=str(path.resolve().parent),
        collectors=[COLLECTOR],
    )
    _read_info(record, path, path.name, reader, multi=path.name == INFOS)
    return record


def _cache_name(folder: Path) -> str:
    """``<namespace>___<name>/<config>/<version>/<hash>`` → ``namespace/name``; packaged builders keep their config."""
    if not _VERSION_DIR.match(folder.parent.name):
        return folder_to_repo_id(folder.name)
    config_dir = folder.parent.parent
    builder = config_dir.parent.name
    if builder in PACKAGED:
        # json/default-<hash>: the config hash names the data files read, so two caches stay two records
        return f"{builder}/{config_dir.name}"
    return builder.replace("___", "/", 1)


def _read_dataset_dict(record: Record, folder: Path, reader: CardReader) -> list[str]:
    data = reader.load_json(folder / DICT, DICT, record.findings)
    splits = data.get("splits") if isinstance(data, dict) else None
    if data is not None and not (isinstance(splits, list) and all(isinstance(s, str) for s in splits)):
        record.findings.append(
            Finding(
                rule="PA002",
                severity=Severity.ERROR,
                message=f"{DICT}: `splits` is not a list of split names",
                source=Source(collector=COLLECTOR, file=DICT, field="splits"),
                fix="save the DatasetDict again with `save_to_disk`",
            )
        )
        return []
    files: list[str] = []
    fingerprints: dict[str, str] = {}
    for split in splits or []:
        sub = folder / split
        if not (sub / INFO).is_file() or not (sub / STATE).is_file():
            record.findings.append(
                _broken(DICT, "splits", f"split {split!r} is listed but {split}/ has no saved dataset")
            )
            continue
        infos = _read_info(record, sub / INFO, f"{split}/{INFO}", reader)
        _link_builder(record, infos, f"{split}/{INFO}")
        files += [f"{split}/{name}" for name in (INFO, STATE)]
        files += [f"{split}/{name}" for name in _read_state(record, sub / STATE, f"{split}/{STATE}", reader, split)]
        fingerprint = record.fact(f"fingerprint[{split}]")
        if fingerprint:
            fingerprints[split] = fingerprint
    if fingerprints:
        blob = json.dumps(fingerprints, sort_keys=True).encode()
        record.version = f"fingerprints:sha256:{hashlib.sha256(blob).hexdigest()[:16]}"
    return files


def _read_state(record: Record, path: Path, rel: str, reader: CardReader, split: str | None) -> list[str]:
    """``state.json``: the fingerprint (the dataset's version) and the data files it lists."""
    state = reader.load_json(path, rel, record.findings)
    if not isinstance(state, dict):
        return []
    fingerprint = state.get("_fingerprint")
    if isinstance(fingerprint, str) and fingerprint:
        _fact(record, f"fingerprint[{split}]" if split else "fingerprint", fingerprint, rel, "_fingerprint")
        if split is None:
            record.version = fingerprint
    if isinstance(state.get("_split"), str):
        _fact(record, "split", state["_split"], rel, "_split")
    files: list[str] = []
    for entry in state.get("_data_files") or []:
        filename = entry.get("filename") if isinstance(entry, dict) else None
        if not isinstance(filename, str):
            continue
        if not (path.parent / filename).is_file():
            record.findings.append(_broken(rel, "_data_files", f"data file {filename!r} is listed but missing"))
            continue
        files.append(filename)
    return files


def _broken(rel: str, field: str, problem: str) -> Finding:
    return Finding(
        rule="PA020",
        severity=Severity.ERROR,
        message=f"{rel}: {problem}",
        source=Source(collector=COLLECTOR, file=rel, field=field),
        fix="save the dataset again with `save_to_disk`, or restore the missing files",
    )


# --- DatasetInfo ----------------------------------------------------------------------------------


def _read_info(
    record: Record, path: Path, rel: str, reader: CardReader, *, multi: bool = False
) -> list[DatasetInfoJson]:
    """Read a DatasetInfo file into the record (as plain JSON, no ``datasets`` import); returns the infos read."""
    data = reader.load_json(path, rel, record.findings)
    if data is None:
        return []
    if not isinstance(data, dict):
        record.findings.append(
            Finding(
                rule="PA002",
                severity=Severity.ERROR,
                message=f"{rel}: a JSON {type(data).__name__}, not a DatasetInfo object",
                source=Source(collector=COLLECTOR, file=rel),
            )
        )
        return []
    configs: dict[str, Any] = data if multi else {"": data}
    read: list[tuple[str, DatasetInfoJson]] = []
    for config, raw in sorted(configs.items()):
        try:
            if not isinstance(raw, dict):
                raise TypeError(f"a {type(raw).__name__}, not an object")
            read.append((config, info_from_dict(raw)))
        except (TypeError, ValueError, KeyError, RecursionError) as exc:
            record.findings.append(
                Finding(
                    rule="PA002",
                    severity=Severity.ERROR,
                    message=f"{rel}: {f'config {config!r} is' if config else 'it is'} not a valid DatasetInfo: {exc}",
                    source=Source(collector=COLLECTOR, file=rel, field=config or None),
                    fix="regenerate it with `datasets` (DatasetInfo.write_to_directory / save_to_disk)",
                )
            )
    licenses: dict[str, str] = {}
    checksums: dict[str, Any] = {}
    for config, info in read:
        prefix = f"{config}." if config else ""
        tag = f"[{config}]" if config else ""
        text = info.license.strip()
        if text:
            # one claim per distinct license; a license shared by every config is claimed once
            licenses.setdefault(text, f"{prefix}license" if len(read) > 1 else "license")
        for key in ("description", "citation", "homepage"):
            value = getattr(info, key).strip()
            if value:
                _fact(record, key, value, rel, f"{prefix}{key}")
        for key in ("builder_name", "config_name", "dataset_name"):
            value = getattr(info, key, None)
            if isinstance(value, str) and value:
                _fact(record, f"{key}{tag}", value, rel, f"{prefix}{key}")
        if info.version is not None and info.version != "0.0.0":
            _fact(record, f"dataset_version{tag}", info.version, rel, f"{prefix}version")
        for key, fact in (("dataset_size", "size_bytes"), ("download_size", "download_size_bytes")):
            value = getattr(info, key)
            if value:
                _fact(record, f"{fact}{tag}", str(value), rel, f"{prefix}{key}")
        for split in (info.splits or {}).values():
            _fact(
                record,
                f"split{tag}",
                f"{split.name}: {split.num_examples} examples, {split.num_bytes} bytes",
                rel,
                f"{prefix}splits",
            )
        for url, entry in sorted((info.download_checksums or {}).items()):
            entry = entry if isinstance(entry, dict) else {}
            checksum = entry.get("checksum")
            _fact(
                record,
                "download",
                f"{url} sha256:{checksum} ({entry.get('num_bytes')} bytes)" if checksum else url,
                rel,
                f"{prefix}download_checksums",
            )
            checksums[f"{config}:{url}"] = entry
    for text, field in licenses.items():
        reader.add_claim(record, text, rel, field)
    if checksums:
        blob = json.dumps(checksums, sort_keys=True, default=str).encode()
        record.version = record.version or f"checksums:sha256:{hashlib.sha256(blob).hexdigest()[:16]}"
    return [info for _, info in read]


def _link_builder(record: Record, infos: list[DatasetInfoJson], rel: str) -> None:
    """A dataset saved from a loaded one names its builder: that dataset is its source (a link, not a copy)."""
    for info in infos:
        name = info.dataset_name or info.builder_name
        if not name or name in PACKAGED:
            continue
        target = record_id(Kind.DATASET, name.replace("___", "/", 1))
        if target != record.id:
            source = Source(
                collector=COLLECTOR, file=rel, field="dataset_name" if info.dataset_name else "builder_name"
            )
            record.add("upstream", Upstream(target=target, raw=name, relation=Relation.DERIVED_FROM, source=source))


def _fact(record: Record, key: str, value: str, file: str | None, field: str) -> None:
    record.add("facts", Fact(key=key, value=value, source=Source(collector=COLLECTOR, file=file, field=field)))


def _add_digests(record: Record, folder: Path, names: list[str], max_digest_bytes: int) -> None:
    for name in dict.fromkeys(names):
        path = folder / name
        try:
            if not path.is_file():
                continue
            info = os.stat(path)
            unhashed = digest_bound(info, max_digest_bytes)
            if unhashed:
                record.findings.append(
                    Finding(
                        rule="PA042",
                        severity=Severity.WARNING if info.st_size > max_digest_bytes else Severity.INFO,
                        message=f"{name}: {unhashed}",
                        source=Source(collector=COLLECTOR, file=name),
                    )
                )
            if info.st_size > max_digest_bytes:
                source = Source(collector=COLLECTOR, file=name)
                record.add("files", FileDigest(path=name, sha256=None, size=info.st_size, source=source))
                continue
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            size = os.stat(path).st_size
        except OSError as exc:
            record.findings.append(
                Finding(
                    rule="PA003",
                    severity=Severity.ERROR,
                    message=f"{name}: cannot be read for its digest: {exc.strerror or exc}",
                    source=Source(collector=COLLECTOR, file=name),
                )
            )
            continue
        record.add(
            "files",
            FileDigest(path=name, sha256=digest.hexdigest(), size=size, source=Source(collector=COLLECTOR, file=name)),
        )
