"""Local folders of Hugging Face dataset and model repositories.

A *record folder* holds a card (``README.md`` with YAML front matter), and optionally
``dataset_infos.json`` / ``dataset_info.json`` (``datasets``' DatasetInfo), ``hub_manifest.yaml``
(the Hub's tags for the repo) and LICENSE/COPYING/NOTICE files. A scan target is either one record
folder or a collection: a folder whose sub-folders (at any depth up to 4) are record folders.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from provaudit.collectors import basemodel
from provaudit.collectors.base import CollectOptions
from provaudit.collectors.cards import CardReader, YamlLoader, card_records_from_metadata, license_link_path
from provaudit.records.identity import folder_to_repo_id, record_id
from provaudit.records.model import FileDigest, Finding, Kind, Record, Severity, Source

CARD_NAMES = ("README.md", "readme.md", "README.MD")
INFO_NAMES = ("dataset_infos.json", "dataset_info.json")
LICENSE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE)([-._].*)?$", re.IGNORECASE)
# files beside a model's card that name its base (collectors.basemodel)
BASE_FILES = ("adapter_config.json", "config.json", "model_index.json")
_MARKERS = {*CARD_NAMES, *INFO_NAMES, "hub_manifest.yaml"}
_MAX_DEPTH = 4
_SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".provaudit", ".cache", "node_modules"})


def is_record_folder(path: Path) -> bool:
    try:
        return any((path / name).is_file() for name in _MARKERS)
    except OSError:
        return False


def find_folders(
    root: Path, accept: Callable[[Path], object], depth: int = _MAX_DEPTH, skip: frozenset[str] = _SKIP_DIRS
) -> Iterator[Path]:
    """Folders under root that ``accept`` (root itself when it does), sorted for deterministic scans."""
    if accept(root):
        yield root
        return
    if depth <= 0:
        return
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir() and p.name not in skip)
    except OSError:
        return
    for child in children:
        yield from find_folders(child, accept, depth - 1, skip)


def find_record_folders(root: Path, depth: int = _MAX_DEPTH) -> Iterator[Path]:
    """Record folders under root (root itself when it is one)."""
    return find_folders(root, is_record_folder, depth)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _digests(folder: Path, collector: str) -> list[FileDigest]:
    out: list[FileDigest] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not path.is_file():
                continue
            rel = path.relative_to(folder).as_posix()
            out.append(
                FileDigest(
                    path=rel,
                    sha256=_sha256(path),
                    size=path.stat().st_size,
                    source=Source(collector=collector, file=rel),
                )
            )
    return out


def _guess_kind(folder: Path, metadata: dict[str, Any] | None, manifest: dict[str, Any] | None) -> Kind:
    if manifest and str(manifest.get("object", "")).lower() == "model":
        return Kind.MODEL
    if any((folder / name).is_file() for name in INFO_NAMES):
        return Kind.DATASET
    if any((folder / name).is_file() for name in BASE_FILES):  # weights' configs: only models carry them
        return Kind.MODEL
    if metadata:
        model_keys = {"base_model", "library_name", "pipeline_tag", "model-index", "model_name", "datasets"}
        dataset_keys = {"source_datasets", "task_ids", "size_categories", "annotations_creators", "dataset_info"}
        if model_keys & metadata.keys() and not dataset_keys & metadata.keys():
            return Kind.MODEL
        if dataset_keys & metadata.keys():
            return Kind.DATASET
    for part in reversed(folder.parts[:-1]):
        if part.lower() in {"models", "model"}:
            return Kind.MODEL
        if part.lower() in {"datasets", "dataset", "data_summaries"}:
            return Kind.DATASET
    return Kind.DATASET


def _repo_name(folder: Path, manifest: dict[str, Any] | None) -> str:
    if manifest and isinstance(manifest.get("parent_id"), str) and "/" in manifest["parent_id"]:
        return str(manifest["parent_id"])
    return folder_to_repo_id(folder.name)


class LocalCollector:
    """Folders of Hugging Face cards on disk."""

    name = "local"
    priority = 10

    def can_collect(self, target: str) -> bool:
        return Path(target).is_dir()

    def collect(self, target: str, options: CollectOptions) -> Iterator[Record]:
        root = Path(target)
        for folder in find_record_folders(root):
            record = collect_folder(folder, options)
            if options.progress:
                options.progress(record.id)
            yield record


def collect_folder(folder: Path, options: CollectOptions | None = None) -> Record:
    """Read one record folder. Problems become findings on the record; this never raises on content."""
    options = options or CollectOptions()
    collector = "local"
    reader = CardReader(collector=collector, max_bytes=options.max_file_bytes)
    findings: list[Finding] = []

    manifest = _read_manifest(folder / "hub_manifest.yaml", reader, findings)
    card_path = next((folder / n for n in CARD_NAMES if (folder / n).is_file()), None)
    metadata, card_text = (None, None)
    if card_path is not None:
        metadata, card_text = reader.read_card(card_path, card_path.name, findings)
    else:
        findings.append(
            Finding(
                rule="PA007",
                severity=Severity.WARNING,
                message=f"{folder}: no README.md card",
                source=Source(collector=collector, file=str(folder)),
                fix="add a Hugging Face card (README.md with YAML metadata)",
            )
        )

    kind = _guess_kind(folder, metadata, manifest)
    record = Record(
        id=record_id(kind, _repo_name(folder, manifest)),
        kind=kind,
        name=_repo_name(folder, manifest),
        location=str(folder.resolve()),
        collectors=[collector],
    )
    card_records_from_metadata(record, metadata or {}, card_path.name if card_path else None, reader, card_text)
    if manifest:
        reader.read_manifest(record, manifest, "hub_manifest.yaml")
    for name in INFO_NAMES:
        if (folder / name).is_file():
            reader.read_dataset_infos(record, folder / name, name)
    for path in sorted(folder.iterdir()):
        if path.is_file() and LICENSE_FILE.match(path.name):
            reader.read_license_file(record, path, path.name)
    # a license_link to a file of the repo that is not named LICENSE (MODEL_LICENSE, docs/terms.md): its text
    # is the actual license
    linked = license_link_path((metadata or {}).get("license_link"), record.name)
    if linked and not ("/" not in linked and LICENSE_FILE.match(linked)) and (folder / linked).is_file():
        reader.read_license_file(record, folder / linked, linked)
    if kind is Kind.MODEL:
        files: dict[str, tuple[Any, str | None]] = {}
        for name in BASE_FILES:
            if (folder / name).is_file():
                data = reader.load_json(folder / name, name, record.findings)
                if data is not None:
                    files[name] = (data, reader.read_text(folder / name, name, []))
        card_name = card_path.name if card_path else None
        basemodel.infer(
            record,
            collector=collector,
            files=files,
            body=card_text,
            card_file=card_name,
            body_first_line=reader.body_lines.get(card_name or "", 1),
        )
    if options.digests:
        try:
            record.files = _digests(folder, collector)
        except OSError as exc:
            findings.append(
                Finding(
                    rule="PA003",
                    severity=Severity.ERROR,
                    message=f"{folder}: cannot read files for digests: {exc}",
                    source=Source(collector=collector, file=str(folder)),
                )
            )
    record.findings[:0] = findings
    return record


def _read_manifest(path: Path, reader: CardReader, findings: list[Finding]) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    text = reader.read_text(path, path.name, findings)
    if text is None:
        return None
    try:
        data = yaml.load(text, Loader=YamlLoader)
    except yaml.YAMLError as exc:
        findings.append(reader.yaml_finding(path.name, exc, 0))
        return None
    return data if isinstance(data, dict) else None
