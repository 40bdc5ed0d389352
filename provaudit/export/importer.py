"""Read exports back into records and into the store: ``provaudit import FILE``.

The format is detected from the content (``--format`` overrides). PROV JSON-LD and Turtle bring back
each record exactly as exported; the other formats bring back what the file says, each value sourced
to the file and field it was read from (collector ``import:<format>``). A record the store holds already
is never replaced by such a view of it: when the file adds no license or upstream link (an export
imported back) the import observes the current revision (no new one); otherwise what it adds is merged
beside what the store knew. All files of one import are
written as one scan, like ``provaudit scan`` (``begin_scan``/``add``/``commit``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from provaudit.errors import InputError
from provaudit.licenses.normalize import license_symbols
from provaudit.records.identity import record_iri
from provaudit.records.model import Record
from provaudit.store.base import ScanInfo, Store

# formats that carry a record's revision exactly (its triples); the others are lossy views of it
EXACT_FORMATS = frozenset({"prov-jsonld", "turtle"})
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


def adds_nothing(imported: Record, current: Record) -> bool:
    """Whether a record read back from a lossy export (UMR, SPDX, Croissant, a card, CycloneDX) says nothing
    about licensing or lineage that the store's current revision does not: the license ids (as read, else
    as declared) and the upstream links (target, relation). Such an import is a round-trip and adds no revision.

    Sources differ by design (the imported values cite the file), and descriptions, tags, a card's prose
    (a generated card states the verdict in words, which read back as a restriction) and the like are
    re-worded by each format: they are not compared.
    """

    def licenses(record: Record, prose: bool) -> set[str]:
        # by license id: a concluded expression exported beside the declared ones (CycloneDX, SPDX) combines
        # licenses the record declares already
        found: set[str] = set()
        for claim in record.claims:
            if prose or not claim.method.startswith("prose"):
                found |= set(license_symbols(claim.expression)) if claim.expression else {claim.raw}
        return found

    def links(record: Record) -> set[tuple[str, str]]:
        return {(u.target, u.relation.value) for u in record.upstream}

    # what the imported file's prose reads as is left out (each export words it anew), the store's is not
    return licenses(imported, prose=False) <= licenses(current, prose=True) and links(imported) <= links(current)


def import_files(store: Store, paths: list[Path], fmt: str | None = None) -> ImportResult:
    """Read every file (all of them before writing anything), then write the records as one scan.

    Records from PROV files are written as they are (an unchanged one is "unchanged"); a record from a
    lossy format is compared with what the store (or a PROV file of the same import) holds of it first.
    """
    formats: dict[str, str] = {}
    exact: dict[str, Record] = {}  # id → the record a PROV file brings back
    lossy: dict[str, Record] = {}  # id → what the other formats say of it
    prov_documents: list[bytes] = []
    for path in paths:
        found, records = read_file(path, fmt)
        formats[str(path)] = found
        if found in EXACT_FORMATS:
            from provaudit.export.prov import graph_of

            prov_documents.append(graph_of(path.read_bytes(), found).serialize(format="nt").encode())
        into = exact if found in EXACT_FORMATS else lossy
        for record in records:
            if record.id in into:
                into[record.id].merge(record)
            else:
                into[record.id] = record
    writer = store.begin_scan([str(p.resolve()) for p in paths], {"import": sorted(set(formats.values()))})
    for document in prov_documents:  # PROV keeps its own triples, the generating scan included
        writer.add_prov(document)
    outcomes: dict[str, str] = {}
    kept: dict[str, Record] = {}
    for rid, record in exact.items():
        (outcomes[rid],) = writer.add([record])
        kept[rid] = record
    for rid, record in lossy.items():
        base, revision = exact.get(rid), None
        if base is None:
            iri = record_iri(rid)
            revision = store.current_revisions(only=iri).get(iri)
            base = store.record(rid) if revision else None
        if base is None:
            (outcomes[rid],) = writer.add([record])
            kept[rid] = record
        elif adds_nothing(record, base):  # an export read back: seen again, no revision
            if revision is not None:
                outcomes[rid] = writer.observe(rid, revision)
            kept.setdefault(rid, base)
        else:  # what the file adds goes beside what the store knew: nothing is lost
            base = base.model_copy(deep=True)
            base.merge(record)
            (outcomes[rid],) = writer.add([base])
            kept[rid] = base
    info = writer.commit()
    info.targets = [str(p.resolve()) for p in paths]
    return ImportResult(scan=info, records=list(kept.values()), formats=formats, outcomes=outcomes)
