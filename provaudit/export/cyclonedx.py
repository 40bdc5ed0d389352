"""CycloneDX 1.6 ML-BOM (JSON, built with cyclonedx-python-lib) to and from records.

The record is ``metadata.component`` (``machine-learning-model``, ``data`` or ``library``), its bom-ref
the record id; its files are nested ``file`` components with SHA-256 hashes; each upstream record is a
component that the record depends on. CycloneDX has one license expression per component, so the
declared licenses are joined with AND; the concluded license of a review and each link's provaudit
relation go in ``provaudit:*`` properties. The library (11.x) has no ``modelCard``/``data`` model yet,
so those two objects are added to its JSON output.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from cyclonedx.model import ExternalReference, ExternalReferenceType, HashAlgorithm, HashType, Property, XsUri
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.contact import OrganizationalContact, OrganizationalEntity
from cyclonedx.model.license import LicenseAcknowledgement, LicenseExpression
from cyclonedx.output.json import JsonV1Dot6

from provaudit import __version__
from provaudit.errors import InputError
from provaudit.export.base import (
    ExportContext,
    agents,
    claim_from,
    declared_expression,
    description,
    facts,
    import_source,
    short_name,
)
from provaudit.records.identity import record_id
from provaudit.records.model import AgentRef, Fact, FileDigest, Kind, Record, Relation, Upstream

FMT = "cyclonedx"
_TYPES = {
    Kind.MODEL: ComponentType.MACHINE_LEARNING_MODEL,
    Kind.FAMILY: ComponentType.MACHINE_LEARNING_MODEL,
    Kind.DATASET: ComponentType.DATA,
    Kind.CODE: ComponentType.APPLICATION,
    Kind.PACKAGE: ComponentType.LIBRARY,
}
_KINDS = {"machine-learning-model": Kind.MODEL, "data": Kind.DATASET, "application": Kind.CODE, "library": Kind.PACKAGE}
_UPSTREAM = "provaudit:upstream"  # value: "<target id> <relation>[ <version constraint>]"
_RELATIONS = frozenset(r.value for r in Relation)
_CONCLUDED = "provaudit:concluded-license"
_SIZE = "provaudit:size"
_NAMESPACE = uuid.UUID("6f0f2b5e-3a8e-5d7c-9d2b-7061a1d17c01")  # fixed: serial numbers derive from the content


def _root(ctx: ExportContext) -> Component:
    record, review = ctx.record, ctx.review
    properties = [
        Property(name=_UPSTREAM, value=" ".join(filter(None, (u.target, u.relation.value, u.version))))
        for u in record.upstream
    ]
    if review is not None and review.effective_license:
        properties.append(Property(name=_CONCLUDED, value=review.effective_license))
    expression = declared_expression(record)
    homepage = facts(record, "homepage")
    publishers = agents(record, "publisher")
    files = [
        Component(
            name=f.path,
            type=ComponentType.FILE,
            bom_ref=f"{record.id}#file:{f.path}",
            hashes=[HashType(alg=HashAlgorithm.SHA_256, content=f.sha256)] if f.sha256 else None,
            properties=[Property(name=_SIZE, value=str(f.size))],
        )
        for f in record.files
    ]
    return Component(
        name=record.name,
        type=_TYPES[record.kind],
        bom_ref=record.id,
        version=record.version,
        description=description(record),
        supplier=OrganizationalEntity(name=publishers[0]) if publishers else None,
        authors=[OrganizationalContact(name=c) for c in agents(record, "creator")] or None,
        licenses=[LicenseExpression(expression, acknowledgement=LicenseAcknowledgement.DECLARED)]
        if expression
        else None,
        external_references=[ExternalReference(type=ExternalReferenceType.WEBSITE, url=XsUri(homepage[0]))]
        if homepage
        else None,
        properties=properties or None,
        components=files or None,
    )


def to_cyclonedx_dict(ctx: ExportContext) -> dict[str, Any]:
    record = ctx.record
    bom = Bom()
    root = _root(ctx)
    bom.metadata.component = root
    bom.metadata.timestamp = ctx.created
    bom.metadata.tools.components.add(Component(name="provaudit", version=__version__, type=ComponentType.APPLICATION))
    upstream: dict[str, Component] = {}
    for link in record.upstream:
        kind = Kind(link.target.split(":", 1)[0])
        upstream.setdefault(
            link.target, Component(name=short_name(link.target), type=_TYPES[kind], bom_ref=link.target)
        )
    for component in upstream.values():
        bom.components.add(component)
    bom.register_dependency(root, list(upstream.values()))
    doc: dict[str, Any] = json.loads(JsonV1Dot6(bom).output_as_string())
    main = doc["metadata"]["component"]
    if record.kind in {Kind.MODEL, Kind.FAMILY}:
        params: dict[str, Any] = {}
        tasks = facts(record, "pipeline_tag")
        if tasks:
            params["task"] = tasks[0]
        trained = [u.target for u in record.upstream if u.relation is Relation.TRAINED_ON]
        if trained:
            params["datasets"] = [{"ref": t} for t in sorted(set(trained))]  # sorted like the library sorts
        if params:
            main["modelCard"] = {"modelParameters": params}
    elif record.kind is Kind.DATASET:
        main["data"] = [{"type": "dataset", "name": record.name}]
    doc.pop("serialNumber", None)
    digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    doc["serialNumber"] = f"urn:uuid:{uuid.uuid5(_NAMESPACE, digest)}"
    return doc


def to_cyclonedx(ctx: ExportContext) -> bytes:
    return (json.dumps(to_cyclonedx_dict(ctx), indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()


def _properties(component: dict[str, Any], name: str) -> list[str]:
    return [str(p.get("value")) for p in component.get("properties") or [] if p.get("name") == name]


def read_cyclonedx(doc: Any, file: str | None) -> Record:
    """A record of what a CycloneDX BOM says about its metadata.component."""
    if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
        raise InputError(file, "not a CycloneDX BOM: bomFormat is not CycloneDX")
    main = (doc.get("metadata") or {}).get("component")
    if not isinstance(main, dict):
        raise InputError(file, "the BOM has no metadata.component to import")
    where = Path(file).name if file else None

    def src(field: str) -> Any:
        return import_source(FMT, where, field)

    kind = _KINDS.get(str(main.get("type")), Kind.PACKAGE)
    ref = str(main.get("bom-ref") or "")
    rid = ref if ref.split(":", 1)[0] in {k.value for k in Kind} else record_id(kind, str(main.get("name")))
    kind = Kind(rid.split(":", 1)[0])
    record = Record(
        id=rid, kind=kind, name=rid.split(":", 1)[1], version=main.get("version"), collectors=[f"import:{FMT}"]
    )
    if main.get("description"):
        record.add(
            "facts",
            Fact(key="description", value=str(main["description"]), source=src("metadata.component.description")),
        )
    for ext in main.get("externalReferences") or []:
        if ext.get("type") == "website" and ext.get("url"):
            record.add(
                "facts",
                Fact(key="homepage", value=str(ext["url"]), source=src("metadata.component.externalReferences")),
            )
    task = ((main.get("modelCard") or {}).get("modelParameters") or {}).get("task")
    if task:
        record.add("facts", Fact(key="pipeline_tag", value=str(task), source=src("metadata.component.modelCard")))
    supplier = (main.get("supplier") or {}).get("name")
    if supplier:
        record.add("agents", AgentRef(name=str(supplier), role="publisher", source=src("metadata.component.supplier")))
    for author in main.get("authors") or []:
        if author.get("name"):
            record.add(
                "agents", AgentRef(name=str(author["name"]), role="creator", source=src("metadata.component.authors"))
            )
    for i, choice in enumerate(main.get("licenses") or []):
        expression = choice.get("expression") or (choice.get("license") or {}).get("id")
        if expression:
            record.add(
                "claims",
                claim_from(str(expression), src(f"metadata.component.licenses[{i}]"), expression=str(expression)),
            )
    links = _properties(main, _UPSTREAM)
    for i, value in enumerate(links):
        # a target id may hold spaces ("model:dpi/OpenAI GPT-3"): the relation is the last known relation word
        words = value.split(" ")
        at = next((n for n in range(len(words) - 1, 0, -1) if words[n] in _RELATIONS), None)
        if at is None:
            raise InputError(file, f"{_UPSTREAM} {value!r} names no relation ({', '.join(sorted(_RELATIONS))})")
        target, version = " ".join(words[:at]), " ".join(words[at + 1 :]) or None
        record.add(
            "upstream",
            Upstream(
                target=target,
                raw=short_name(target),
                relation=Relation(words[at]),
                source=src(f"metadata.component.properties[{_UPSTREAM}][{i}]"),
                version=version,
            ),
        )
    if not links:  # a BOM from another tool: its dependencies, as uses
        components = {c.get("bom-ref"): c for c in doc.get("components") or []}
        for dep in doc.get("dependencies") or []:
            if dep.get("ref") != main.get("bom-ref"):
                continue
            for target_ref in dep.get("dependsOn") or []:
                target = components.get(target_ref, {})
                target_kind = _KINDS.get(str(target.get("type")), Kind.PACKAGE)
                target_id = record_id(target_kind, str(target.get("name") or target_ref))
                record.add(
                    "upstream",
                    Upstream(target=target_id, raw=str(target_ref), relation=Relation.USES, source=src("dependencies")),
                )
    for i, part in enumerate(main.get("components") or []):
        if part.get("type") != "file":
            continue
        sha = next((h.get("content") for h in part.get("hashes") or [] if h.get("alg") == "SHA-256"), None)
        size = next(iter(_properties(part, _SIZE)), "0")
        record.add(
            "files",
            FileDigest(
                path=str(part.get("name")),
                sha256=sha,
                size=int(size) if size.isdigit() else 0,
                source=src(f"metadata.component.components[{i}]"),
            ),
        )
    return record
