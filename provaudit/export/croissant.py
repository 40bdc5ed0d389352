"""Croissant 1.1 JSON-LD (with the RAI vocabulary and ``prov:`` lineage) to and from dataset records.

Dataset-level fields come from the record's facts and agents; ``license`` is one URL per license
(or the SPDX expression as text when it combines several); ``distribution`` lists the record's files
as ``cr:FileObject`` with their sha256; lineage is ``prov:wasDerivedFrom`` with each link's provaudit
relation (``pa:relation``) and version constraint. RAI fields are read from the sections of the
record's dataset card (the Hugging Face template's "Personal and Sensitive Information",
"Discussion of Biases" ...) or from ``rai:*`` facts of an imported record.
"""

from __future__ import annotations

import json
import mimetypes
import re
from pathlib import Path
from typing import Any

from provaudit.errors import InputError
from provaudit.export.base import (
    ExportContext,
    agents,
    card_sections,
    claim_from,
    declared_expressions,
    description,
    facts,
    import_source,
    short_name,
    title,
    unique,
)
from provaudit.licenses.normalize import license_iri, license_symbols, symbol_from_iri
from provaudit.records.identity import id_from_iri, record_id, record_iri
from provaudit.records.model import AgentRef, Fact, FileDigest, Kind, Record, Relation, Upstream
from provaudit.store.vocab import PA_NS, PROV_NS

FMT = "croissant"
CONFORMS_TO = "http://mlcommons.org/croissant/1.1"
RAI_CONFORMS_TO = "http://mlcommons.org/croissant/RAI/1.0"

# mlcroissant's own context for 1.1 (core/rdf.py make_context), plus prov: and pa: for lineage
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "description": {"@container": "@language"},
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "name": {"@container": "@language"},
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
    "prov": PROV_NS,
    "pa": PA_NS,
}

# Hugging Face dataset-card sections (datasets' card template) → Croissant RAI properties
RAI_SECTIONS = {
    "initial data collection and normalization": "rai:dataCollection",
    "annotation process": "rai:dataAnnotationProtocol",
    "who are the annotators?": "rai:annotatorDemographics",
    "personal and sensitive information": "rai:personalSensitiveInformation",
    "social impact of dataset": "rai:dataSocialImpact",
    "discussion of biases": "rai:dataBiases",
    "other known limitations": "rai:dataLimitations",
    "curation rationale": "rai:dataUseCases",
}
RAI_KEYS = (
    "rai:dataCollection",
    "rai:dataCollectionType",
    "rai:dataAnnotationProtocol",
    "rai:annotatorDemographics",
    "rai:personalSensitiveInformation",
    "rai:dataSocialImpact",
    "rai:dataBiases",
    "rai:dataLimitations",
    "rai:dataUseCases",
    "rai:hasSyntheticData",
)
_SPDX_URL = "https://spdx.org/licenses/"


def rai_fields(record: Record) -> dict[str, Any]:
    """RAI values: an imported record's rai:* facts, else its card's sections and creators metadata."""
    imported = {f.key: json.loads(f.value) for f in record.facts if f.key.startswith("rai:")}
    if imported:  # an imported record: what its document said (values kept as JSON)
        return {k: imported[k] for k in RAI_KEYS if k in imported}
    out: dict[str, Any] = {}
    card = record.fact("card")
    if card:
        for heading, body in card_sections(card).items():
            key = RAI_SECTIONS.get(heading)
            if key:
                out.setdefault(key, body)
    creators = facts(record, "language_creators")
    if creators:
        out["rai:dataCollectionType"] = creators if len(creators) > 1 else creators[0]
    synthetic = any(u.relation is Relation.GENERATED_BY for u in record.upstream) or "machine-generated" in creators
    if synthetic:
        out["rai:hasSyntheticData"] = True
    return {k: out[k] for k in RAI_KEYS if k in out}


def _license_values(record: Record) -> list[str]:
    values = []
    for expression in declared_expressions(record):
        symbols = license_symbols(expression)
        values.append(license_iri(symbols[0]) if len(symbols) == 1 and symbols[0] == expression else expression)
    return values


def _agent(name: str) -> dict[str, str]:
    return {"@type": "sc:Organization", "name": name}


def to_croissant_dict(ctx: ExportContext) -> dict[str, Any]:
    record = ctx.record
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "@id": ctx.iri,
        "name": title(record),
        "conformsTo": [CONFORMS_TO, RAI_CONFORMS_TO],
        "identifier": record.id,
    }
    doc["description"] = description(record) or f"{title(record)} ({record.id})"  # Croissant requires one
    homepage = facts(record, "homepage")
    doc["url"] = homepage[0] if homepage else ctx.iri
    licenses = _license_values(record)
    if licenses:
        doc["license"] = licenses if len(licenses) > 1 else licenses[0]
    version = facts(record, "version") + facts(record, "dataset_version")
    if version:
        doc["version"] = version[0]
    if record.version:
        doc["pa:scannedVersion"] = record.version
    released = facts(record, "release_date")
    if released:  # never the export date: that is not when the data was published
        doc["datePublished"] = released[0]
    citation = facts(record, "citation")
    if citation:
        doc["citeAs"] = citation[0]
    creators = agents(record, "creator")
    if creators:
        doc["creator"] = [_agent(c) for c in creators]
    publishers = agents(record, "publisher")
    if publishers:
        doc["publisher"] = [_agent(p) for p in publishers]
    languages = facts(record, "language")
    if languages:
        doc["inLanguage"] = languages
    keywords = unique(facts(record, "task") + facts(record, "tag"))
    if keywords:
        doc["keywords"] = keywords
    doc.update(rai_fields(record))
    if record.upstream:
        doc["prov:wasDerivedFrom"] = [
            {
                "@id": record_iri(u.target),
                "name": short_name(u.target),
                "pa:relation": u.relation.value,
                **({"pa:versionConstraint": u.version} if u.version else {}),
            }
            for u in record.upstream
        ]
    files = [f for f in record.files if f.sha256]
    if files:
        doc["distribution"] = [
            {
                "@type": "cr:FileObject",
                "@id": f.path,
                "name": f.path,
                "contentUrl": f.path,
                "contentSize": f"{f.size} B",
                "encodingFormat": mimetypes.guess_type(f.path)[0] or "application/octet-stream",
                "sha256": f.sha256,
            }
            for f in files
        ]
    return doc


def to_croissant(ctx: ExportContext) -> bytes:
    return (json.dumps(to_croissant_dict(ctx), indent=2, ensure_ascii=False) + "\n").encode()


def _text(value: Any) -> str | None:
    """A plain or language-tagged JSON-LD value as text."""
    if isinstance(value, dict):
        value = value.get("@value", value.get("en", next(iter(value.values()), None)))
    return None if value is None else str(value)


def _many(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _license_from(value: str) -> str:
    """A license URL back to its symbol (the store's license IRIs, SPDX list pages), or the text as is."""
    if value.startswith(_SPDX_URL):
        return value[len(_SPDX_URL) :].removesuffix(".html").removesuffix(".json")
    if value.startswith("http"):
        symbol = symbol_from_iri(value)
        return symbol or value
    return value


def read_croissant(doc: Any, file: str | None) -> Record:
    """A dataset record of what a Croissant document says."""
    if not isinstance(doc, dict) or "Dataset" not in str(doc.get("@type")):
        raise InputError(file, "not a Croissant dataset: @type is not sc:Dataset")
    where = Path(file).name if file else None

    def src(field: str) -> Any:
        return import_source(FMT, where, field)

    iri = str(doc.get("@id") or "")
    rid = id_from_iri(iri) or (
        str(doc["identifier"])
        if str(doc.get("identifier", "")).startswith("dataset:")
        else record_id(Kind.DATASET, _text(doc.get("name")) or "unnamed")
    )
    kind, _, name = rid.partition(":")
    if kind != Kind.DATASET.value:
        raise InputError(file, f"Croissant describes datasets; {rid} is a {kind}")
    record = Record(
        id=rid, kind=Kind.DATASET, name=name, version=_text(doc.get("pa:scannedVersion")), collectors=[f"import:{FMT}"]
    )
    label = _text(doc.get("name"))
    if label and label != name:
        record.add("facts", Fact(key="title", value=label, source=src("name")))
    described = _text(doc.get("description"))
    if described and described != f"{label or name} ({rid})":  # the export's stand-in when none was declared
        record.add("facts", Fact(key="description", value=described, source=src("description")))
    url = _text(doc.get("url"))
    if url and url != iri:
        record.add("facts", Fact(key="homepage", value=url, source=src("url")))
    for i, value in enumerate(_many(doc.get("license"))):
        text = _text(value.get("url") or value.get("name") if isinstance(value, dict) else value)
        if text:
            expression = _license_from(text)
            record.add("claims", claim_from(expression, src(f"license[{i}]"), expression=expression))
    if doc.get("datePublished"):
        record.add("facts", Fact(key="release_date", value=str(doc["datePublished"]), source=src("datePublished")))
    for key, fact in (("version", "version"), ("citeAs", "citation")):
        text = _text(doc.get(key))
        if text:
            record.add("facts", Fact(key=fact, value=text, source=src(key)))
    for key, role in (("creator", "creator"), ("publisher", "publisher")):
        for agent in _many(doc.get(key)):
            agent_name = _text(agent.get("name") if isinstance(agent, dict) else agent)
            if agent_name:
                record.add("agents", AgentRef(name=agent_name, role=role, source=src(key)))
    for language in _many(doc.get("inLanguage")):
        record.add("facts", Fact(key="language", value=str(language), source=src("inLanguage")))
    for keyword in _many(doc.get("keywords")):
        record.add("facts", Fact(key="tag", value=str(keyword), source=src("keywords")))
    for key in RAI_KEYS:
        if key in doc:
            record.add("facts", Fact(key=key, value=json.dumps(doc[key], ensure_ascii=False), source=src(key)))
    for i, link in enumerate(_many(doc.get("prov:wasDerivedFrom"))):
        target_iri = str(link.get("@id") if isinstance(link, dict) else link)
        target = id_from_iri(target_iri) or record_id(Kind.DATASET, target_iri)
        relation = str(link.get("pa:relation") or "derived_from") if isinstance(link, dict) else "derived_from"
        version = link.get("pa:versionConstraint") if isinstance(link, dict) else None
        record.add(
            "upstream",
            Upstream(
                target=target,
                raw=short_name(target),
                relation=Relation(relation),
                source=src(f"prov:wasDerivedFrom[{i}]"),
                version=version,
            ),
        )
    for i, item in enumerate(_many(doc.get("distribution"))):
        if isinstance(item, dict) and "FileObject" in str(item.get("@type")) and item.get("sha256"):
            size = re.match(r"^(\d+)\s*B$", str(item.get("contentSize") or ""))
            record.add(
                "files",
                FileDigest(
                    path=str(item.get("contentUrl") or item.get("name")),
                    sha256=item["sha256"],
                    size=int(size.group(1)) if size else 0,
                    source=src(f"distribution[{i}]"),
                ),
            )
    return record
