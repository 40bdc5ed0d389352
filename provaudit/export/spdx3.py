"""SPDX 3.0.1 JSON-LD (Core, Software, SimpleLicensing, AI and Dataset profiles) to and from records.

The record is the document's root element: an ``ai_AIPackage`` (model, family), a
``dataset_DatasetPackage`` or a ``software_Package`` (code, package), identified by its record IRI.
Declared licenses are the record's claims (``hasDeclaredLicense``); the concluded license is the
review's effective license (``hasConcludedLicense``) when a review is given. Lineage links are
``trainedOn``/``testedOn`` (AI profile), ``descendantOf`` (derivations, base models) and ``dependsOn``
(uses), each with ``comment: "relation: <provaudit relation>[; version: <constraint>]"`` so the exact
relation survives a round trip. Upstream records appear as packages of their own kind.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from provaudit import __version__
from provaudit.errors import InputError
from provaudit.export.base import (
    ExportContext,
    agents,
    claim_from,
    declared_expressions,
    description,
    facts,
    import_source,
    short_name,
    title,
)
from provaudit.licenses.normalize import license_iri, license_symbols
from provaudit.records.identity import ID_BASE, id_from_iri, record_id, record_iri
from provaudit.records.model import AgentRef, Fact, FileDigest, Kind, Record, Relation, Upstream
from provaudit.store.rdf import agent_iri

FMT = "spdx3"
CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
SPEC_VERSION = "3.0.1"
_TYPES = {
    Kind.MODEL: "ai_AIPackage",
    Kind.FAMILY: "ai_AIPackage",
    Kind.DATASET: "dataset_DatasetPackage",
    Kind.CODE: "software_Package",
    Kind.PACKAGE: "software_Package",
}
_PURPOSE = {
    Kind.MODEL: "model",
    Kind.FAMILY: "model",
    Kind.DATASET: "data",
    Kind.CODE: "source",
    Kind.PACKAGE: "library",
}
_RELATIONSHIP = {
    Relation.TRAINED_ON: "trainedOn",
    Relation.TESTED_ON: "testedOn",
    Relation.USES: "dependsOn",
}  # every other relation is a descendantOf
_READ_RELATIONSHIP = {
    "trainedOn": Relation.TRAINED_ON,
    "testedOn": Relation.TESTED_ON,
    "dependsOn": Relation.USES,
    "descendantOf": Relation.DERIVED_FROM,
}
_COMMENT = re.compile(r"^relation: (?P<relation>\w+)(?:; version: (?P<version>.+))?$")
_SIZE = re.compile(r"^(\d+) bytes$")
_DATASET_TYPES = (  # task or modality words → SPDX dataset_DatasetType
    ("image", "image"),
    ("video", "video"),
    ("audio", "audio"),
    ("speech", "audio"),
    ("tabular", "structured"),
    ("time-series", "timeseries"),
    ("graph", "graph"),
    ("text", "text"),
    ("question-answering", "text"),
    ("translation", "text"),
    ("summarization", "text"),
    ("token-classification", "text"),
    ("fill-mask", "text"),
    ("conversational", "text"),
)


def _dataset_types(record: Record) -> list[str]:
    words = [t.lower() for t in facts(record, "task") + facts(record, "modality")]
    found = sorted({kind for word in words for key, kind in _DATASET_TYPES if key in word})
    return found or ["noAssertion"]


def _custom_ids(expression: str) -> list[dict[str, str]]:
    """Where a LicenseRef is defined: ScanCode LicenseDB for scancode keys, provaudit's aliases otherwise."""
    out = []
    for symbol in sorted(set(license_symbols(expression))):
        if not symbol.startswith("LicenseRef-"):
            continue
        url = license_iri(symbol)
        out.append({"type": "DictionaryEntry", "key": symbol, "value": url})
    return out


class _Doc:
    """Collects elements with stable ids, in a stable order."""

    def __init__(self, ctx: ExportContext) -> None:
        self.ctx = ctx
        self.base = ctx.iri + "/spdx3"
        self.elements: dict[str, dict[str, Any]] = {}

    def add(self, element: dict[str, Any]) -> str:
        element.setdefault("creationInfo", "_:creationinfo")
        self.elements.setdefault(element["spdxId"], element)
        return str(element["spdxId"])

    def license(self, expression: str) -> str:
        element: dict[str, Any] = {
            "type": "simplelicensing_LicenseExpression",
            "spdxId": f"{self.base}#license-{_slug(expression)}",
            "simplelicensing_licenseExpression": expression,
        }
        custom = _custom_ids(expression)
        if custom:
            element["simplelicensing_customIdToUri"] = custom
        return self.add(element)

    def agent(self, name: str) -> str:
        return self.add({"type": "Agent", "spdxId": agent_iri(name).value, "name": name})

    def relationship(self, source: str, kind: str, targets: list[str], comment: str | None = None) -> None:
        element: dict[str, Any] = {
            "type": "Relationship",
            "spdxId": f"{self.base}#rel-{kind}-{_slug(' '.join([*targets, comment or '']))}",
            "from": source,
            "relationshipType": kind,
            "to": targets,
        }
        if comment:
            element["comment"] = comment
        self.add(element)


def _slug(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _package(kind: Kind, spdx_id: str, name: str) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": _TYPES[kind],
        "spdxId": spdx_id,
        "name": name,
        "software_primaryPurpose": _PURPOSE[kind],
    }
    if kind is Kind.DATASET:
        element["dataset_datasetType"] = ["noAssertion"]
    return element


def to_spdx3_dict(ctx: ExportContext) -> dict[str, Any]:
    record, review = ctx.record, ctx.review
    doc = _Doc(ctx)
    root = _package(record.kind, ctx.iri, record.name)
    if record.kind is Kind.DATASET:
        root["dataset_datasetType"] = _dataset_types(record)
    if record.version:
        root["software_packageVersion"] = record.version
    titles = facts(record, "title")
    if titles:
        root["summary"] = title(record)
    described = description(record)
    if described:
        root["description"] = described
    homepage = facts(record, "homepage")
    if homepage:
        root["software_homePage"] = homepage[0]
    if record.kind in {Kind.MODEL, Kind.FAMILY}:
        tasks = facts(record, "pipeline_tag")
        if tasks:
            root["ai_typeOfModel"] = tasks
    publishers = agents(record, "publisher")
    if publishers:
        root["suppliedBy"] = doc.agent(publishers[0])
    creators = agents(record, "creator")
    if creators:
        root["originatedBy"] = [doc.agent(c) for c in creators]
    files = []
    for file in record.files:
        element: dict[str, Any] = {
            "type": "software_File",
            "spdxId": f"{ctx.iri}/file/{quote(file.path, safe='/')}",
            "name": file.path,
            "comment": f"{file.size} bytes",
        }
        if file.sha256:
            element["verifiedUsing"] = [{"type": "Hash", "algorithm": "sha256", "hashValue": file.sha256}]
        files.append(doc.add(element))
    root_id = doc.add(root)
    declared = declared_expressions(record)
    if declared:
        doc.relationship(root_id, "hasDeclaredLicense", [doc.license(e) for e in declared])
    if review is not None and review.effective_license:
        doc.relationship(root_id, "hasConcludedLicense", [doc.license(review.effective_license)])
    for link in record.upstream:
        target_kind, _, target_name = link.target.partition(":")
        target = doc.add(_package(Kind(target_kind), record_iri(link.target), target_name))
        comment = f"relation: {link.relation.value}" + (f"; version: {link.version}" if link.version else "")
        doc.relationship(root_id, _RELATIONSHIP.get(link.relation, "descendantOf"), [target], comment)
    if files:
        doc.relationship(root_id, "contains", files)
    document_id = doc.base
    tool = f"{ID_BASE}agent/provaudit/{__version__}"
    creation = {
        "type": "CreationInfo",
        "@id": "_:creationinfo",
        "specVersion": SPEC_VERSION,
        "created": ctx.created_text,
        "createdBy": [tool + "#agent"],
        "createdUsing": [tool],
    }
    head = [
        creation,
        {"type": "SoftwareAgent", "spdxId": tool + "#agent", "name": "provaudit", "creationInfo": "_:creationinfo"},
        {"type": "Tool", "spdxId": tool, "name": f"provaudit {__version__}", "creationInfo": "_:creationinfo"},
        {
            "type": "SpdxDocument",
            "spdxId": document_id,
            "name": f"provenance of {record.id}",
            "creationInfo": "_:creationinfo",
            "profileConformance": ["core", "software", "simpleLicensing", "ai", "dataset"],
            "rootElement": [root_id],
            "element": sorted(doc.elements),
        },
    ]
    body = [doc.elements[k] for k in sorted(doc.elements)]
    return {"@context": CONTEXT, "@graph": head + body}


def to_spdx3(ctx: ExportContext) -> bytes:
    return (json.dumps(to_spdx3_dict(ctx), indent=2, ensure_ascii=False) + "\n").encode()


_KINDS = {"ai_AIPackage": Kind.MODEL, "dataset_DatasetPackage": Kind.DATASET, "software_Package": Kind.PACKAGE}


def _kind_of(element: dict[str, Any], iri: str) -> Kind:
    rid = id_from_iri(iri)
    if rid:
        return Kind(rid.split(":", 1)[0])
    return _KINDS.get(str(element.get("type")), Kind.PACKAGE)


def read_spdx3(doc: Any, file: str | None) -> Record:
    """A record of what an SPDX 3 document says about its root element (a package)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("@graph"), list):
        raise InputError(file, "not SPDX 3 JSON-LD: no @graph")
    by_id = {str(e.get("spdxId") or e.get("@id")): e for e in doc["@graph"] if isinstance(e, dict)}
    document = next((e for e in doc["@graph"] if isinstance(e, dict) and e.get("type") == "SpdxDocument"), None)
    roots = [r for r in (document or {}).get("rootElement") or [] if str(by_id.get(r, {}).get("type")) in _KINDS]
    if not roots:
        roots = [i for i, e in by_id.items() if e.get("type") in _KINDS][:1]
    if not roots:
        raise InputError(file, "SPDX 3 document has no AI, dataset or software package to import")
    root_id = str(roots[0])
    root = by_id[root_id]
    kind = _kind_of(root, root_id)
    rid = id_from_iri(root_id) or record_id(kind, str(root.get("name") or root_id))
    name = rid.split(":", 1)[1]
    record = Record(
        id=rid, kind=kind, name=name, version=root.get("software_packageVersion"), collectors=[f"import:{FMT}"]
    )
    where = Path(file).name if file else None

    def src(field: str) -> Any:
        return import_source(FMT, where, field)

    if root.get("summary"):
        record.add("facts", Fact(key="title", value=str(root["summary"]), source=src(f"{root_id} summary")))
    if root.get("description"):
        record.add(
            "facts", Fact(key="description", value=str(root["description"]), source=src(f"{root_id} description"))
        )
    if root.get("software_homePage"):
        record.add(
            "facts",
            Fact(key="homepage", value=str(root["software_homePage"]), source=src(f"{root_id} software_homePage")),
        )
    for modality in root.get("dataset_datasetType") or []:
        if modality != "noAssertion":
            record.add("facts", Fact(key="modality", value=str(modality), source=src(f"{root_id} dataset_datasetType")))
    for task in root.get("ai_typeOfModel") or []:
        record.add("facts", Fact(key="pipeline_tag", value=str(task), source=src(f"{root_id} ai_typeOfModel")))
    supplier = by_id.get(str(root.get("suppliedBy")))
    if supplier and supplier.get("name"):
        record.add(
            "agents", AgentRef(name=str(supplier["name"]), role="publisher", source=src(f"{root_id} suppliedBy"))
        )
    for agent_id in root.get("originatedBy") or []:
        agent = by_id.get(str(agent_id))
        if agent and agent.get("name"):
            record.add(
                "agents", AgentRef(name=str(agent["name"]), role="creator", source=src(f"{root_id} originatedBy"))
            )
    relationships = [
        e for e in doc["@graph"] if isinstance(e, dict) and e.get("type") == "Relationship" and e.get("from") == root_id
    ]
    for rel in relationships:
        kind_name = str(rel.get("relationshipType"))
        for target_id in rel.get("to") or []:
            target = by_id.get(str(target_id), {})
            field = f"{rel.get('spdxId')} {kind_name}"
            if kind_name == "hasDeclaredLicense" and target.get("simplelicensing_licenseExpression"):
                expression = str(target["simplelicensing_licenseExpression"])
                record.add("claims", claim_from(expression, src(field), expression=expression))
            elif kind_name in _READ_RELATIONSHIP:
                match = _COMMENT.match(str(rel.get("comment") or ""))
                relation = _READ_RELATIONSHIP[kind_name]
                version = None
                if match and match.group("relation") in {r.value for r in Relation}:
                    relation, version = Relation(match.group("relation")), match.group("version")
                target_rid = id_from_iri(str(target_id)) or record_id(
                    _kind_of(target, str(target_id)), str(target.get("name") or target_id)
                )
                record.add(
                    "upstream",
                    Upstream(
                        target=target_rid,
                        raw=short_name(target_rid),
                        relation=relation,
                        source=src(field),
                        version=version,
                    ),
                )
            elif kind_name == "contains" and target.get("type") == "software_File":
                digest = next(
                    (
                        h.get("hashValue")
                        for h in target.get("verifiedUsing") or []
                        if isinstance(h, dict) and h.get("algorithm") == "sha256"
                    ),
                    None,
                )
                size = _SIZE.match(str(target.get("comment") or ""))
                record.add(
                    "files",
                    FileDigest(
                        path=str(target.get("name")),
                        sha256=digest,
                        size=int(size.group(1)) if size else 0,
                        source=src(field),
                    ),
                )
    return record
