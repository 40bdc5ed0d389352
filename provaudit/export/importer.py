"""Read exports back into records and into the store: ``provaudit import FILE``.

The format is detected from the content (``--format`` overrides). PROV JSON-LD and Turtle bring back
each record exactly as exported; the other formats bring back what the file says, each value sourced
to the file and field it was read from (collector ``import:<format>``). All files of one import are
written as one scan, like ``provaudit scan`` (``begin_scan``/``add``/``commit``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from provaudit.errors import InputError
from provaudit.records.model import Record
from provaudit.store.base import ScanInfo, Store

IMPORT_FORMATS = ("umr", "prov-jsonld", "turtle", "spdx3", "croissant", "model-card", "dataset-card", "cyclonedx")


@dataclass
class ImportResult:
    scan: ScanInfo
    records: list[Record]
    formats: dict[str, str] = field(default_factory=dict)  # file → detected format
    outcomes: dict[str, str] = field(default_factory=dict)  # record id → new | revised | unchanged


def _context_urls(doc: dict[str, Any]) -> list[str]:
    ctx = doc.get("@context")
    items = ctx if isinstance(ctx, list) else [ctx]
    return [i for i in items if isinstance(i, str)]


def detect(data: bytes, name: str = "") -> str:
    """Which export format the bytes are (content first, the file name only to break ties)."""
    from provaudit.export.spdx3 import CONTEXT as SPDX_CONTEXT
    from provaudit.store.jsonld import CONTEXT_URL

    text = data.decode("utf-8-sig", errors="replace")
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(name, f"looks like JSON but does not parse: {exc}") from exc
        if isinstance(doc, dict):
            if doc.get("bomFormat") == "CycloneDX":
                return "cyclonedx"
            urls = _context_urls(doc)
            if SPDX_CONTEXT in urls:
                return "spdx3"
            if CONTEXT_URL in urls:
                return "prov-jsonld"
            conforms = json.dumps(doc.get("conformsTo") or doc.get("dct:conformsTo") or "")
            if "mlcommons.org/croissant" in conforms or "Dataset" in str(doc.get("@type")):
                return "croissant"
            if "@context" in doc or "@graph" in doc:
                return "prov-jsonld"
        raise InputError(name, "JSON that is none of the export formats (CycloneDX, SPDX 3, Croissant, PROV JSON-LD)")
    if stripped.startswith("---"):
        return "dataset-card" if _card_kind(text) == "dataset" else "model-card"
    if stripped.startswith(("@prefix", "@base", "PREFIX", "<", "#")) and not stripped.startswith("# "):
        return "turtle"
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("mr"), dict):
        return "umr"
    if name.endswith((".ttl", ".nt")):
        return "turtle"
    raise InputError(name, "cannot tell which export format this is; pass --format")


def _card_kind(text: str) -> str:
    from provaudit.export.cards import BLOCK, _guess_kind
    from provaudit.records.model import Kind

    parts = text.lstrip().split("---", 2)
    try:
        meta = yaml.safe_load(parts[1]) if len(parts) > 2 else None
    except yaml.YAMLError:
        meta = None
    if not isinstance(meta, dict):
        return "model"
    block = meta.get(BLOCK)
    if isinstance(block, dict) and isinstance(ref := block.get("record"), str):
        return ref.split(":", 1)[0]
    return "dataset" if _guess_kind(meta) is Kind.DATASET else "model"


def read_file(path: Path, fmt: str | None = None) -> tuple[str, list[Record]]:
    """(format, records) of one export file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot be read: {exc.strerror or exc}") from exc
    fmt = fmt or detect(data, path.name)
    if fmt not in IMPORT_FORMATS:
        raise InputError(str(path), f"unknown format {fmt!r}; use one of {', '.join(IMPORT_FORMATS)}")
    return fmt, read_bytes(data, fmt, str(path))


def read_bytes(data: bytes, fmt: str, file: str | None = None) -> list[Record]:
    text = data.decode("utf-8-sig")
    if fmt in {"prov-jsonld", "turtle"}:
        from provaudit.export.prov import read_records

        return read_records(data, fmt, file)
    if fmt in {"model-card", "dataset-card"}:
        from provaudit.export.cards import read_card

        return [read_card(text, file, fmt)]
    if fmt == "umr":
        from provaudit.export.umr import from_umr

        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(file, f"malformed YAML: {exc}") from exc
        return [from_umr(doc, file, Path(file) if file else None)]
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(file, f"malformed JSON at line {exc.lineno}: {exc.msg}") from exc
    if fmt == "spdx3":
        from provaudit.export.spdx3 import read_spdx3

        return [read_spdx3(doc, file)]
    if fmt == "croissant":
        from provaudit.export.croissant import read_croissant

        return [read_croissant(doc, file)]
    from provaudit.export.cyclonedx import read_cyclonedx

    return [read_cyclonedx(doc, file)]


def import_files(store: Store, paths: list[Path], fmt: str | None = None) -> ImportResult:
    """Read every file (all of them before writing anything), then write the records as one scan."""
    formats: dict[str, str] = {}
    merged: dict[str, Record] = {}
    prov_documents: list[bytes] = []
    for path in paths:
        found, records = read_file(path, fmt)
        formats[str(path)] = found
        if found in {"prov-jsonld", "turtle"}:
            from provaudit.export.prov import graph_of

            prov_documents.append(graph_of(path.read_bytes(), found).serialize(format="nt").encode())
        for record in records:
            if record.id in merged:
                merged[record.id].merge(record)
            else:
                merged[record.id] = record
    records = list(merged.values())
    writer = store.begin_scan([str(p.resolve()) for p in paths], {"import": sorted(set(formats.values()))})
    for document in prov_documents:  # PROV keeps its own triples, the generating scan included
        writer.add_prov(document)
    outcomes = writer.add(records)
    info = writer.commit()
    info.targets = [str(p.resolve()) for p in paths]
    return ImportResult(
        scan=info,
        records=records,
        formats=formats,
        outcomes={r.id: o for r, o in zip(records, outcomes, strict=True)},
    )
