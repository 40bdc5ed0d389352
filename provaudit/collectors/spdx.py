"""SPDX documents: SPDX 2.x (JSON, YAML, tag-value, RDF/XML) and SPDX 3.0 JSON-LD (AI and Dataset profiles).

SPDX 2 is parsed by spdx-tools (``parse_anything.parse_file``). Each package becomes a record — a
model or dataset when it is one (a Hugging Face location, a ``pkg:huggingface`` purl), a software
package otherwise — with its declared and concluded licenses as claims (fields ``licenseDeclared`` /
``licenseConcluded``) and its package relationships as upstream links.

SPDX 3.0 is read as JSON (no context is fetched): ``ai_AIPackage`` → model, ``dataset_DatasetPackage``
→ dataset, ``software_Package`` by its primary purpose; ``hasDeclaredLicense`` / ``hasConcludedLicense``
relationships → claims; ``trainedOn`` / ``testedOn`` / ``dependsOn`` ... → upstream links; AI and dataset
profile properties → facts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from provaudit import limits
from provaudit.collectors import _bounded
from provaudit.collectors.base import CollectOptions
from provaudit.collectors.cards import CardReader
from provaudit.records.identity import clean_name, record_id
from provaudit.records.model import (
    AgentRef,
    Fact,
    Finding,
    Kind,
    Record,
    Relation,
    Severity,
    Source,
    Upstream,
)

COLLECTOR = "spdx"
_HEAD_MARKERS = ('"spdxVersion"', "spdxVersion:", "SPDXVersion:", "spdx.org/rdf/terms", "spdx.org/rdf/3.")
_HF = re.compile(r"^(?:https?://)?huggingface\.co/(?P<datasets>datasets/)?(?P<id>[^/?#@]+(?:/[^/?#@]+)?)")
_LISTED = re.compile(r"^https?://spdx\.org/licenses/(?P<id>[^/#?]+?)(?:\.html|\.json)?$")
_NO_VALUE = {"NOASSERTION", "NONE"}

# SPDX 2 relationship types: (relation, True when the link goes from the element to the related one)
_RELATIONS_2: dict[str, tuple[Relation, bool]] = {
    "DEPENDS_ON": (Relation.USES, True),
    "DYNAMIC_LINK": (Relation.USES, True),
    "STATIC_LINK": (Relation.USES, True),
    "CONTAINS": (Relation.USES, True),
    "HAS_PREREQUISITE": (Relation.USES, True),
    "DEPENDENCY_OF": (Relation.USES, False),
    "BUILD_DEPENDENCY_OF": (Relation.USES, False),
    "DEV_DEPENDENCY_OF": (Relation.USES, False),
    "OPTIONAL_DEPENDENCY_OF": (Relation.USES, False),
    "PROVIDED_DEPENDENCY_OF": (Relation.USES, False),
    "TEST_DEPENDENCY_OF": (Relation.USES, False),
    "RUNTIME_DEPENDENCY_OF": (Relation.USES, False),
    "BUILD_TOOL_OF": (Relation.USES, False),
    "DEV_TOOL_OF": (Relation.USES, False),
    "CONTAINED_BY": (Relation.USES, False),
    "PREREQUISITE_FOR": (Relation.USES, False),
    "OPTIONAL_COMPONENT_OF": (Relation.USES, False),
    "GENERATED_FROM": (Relation.DERIVED_FROM, True),
    "GENERATES": (Relation.DERIVED_FROM, False),
    "DESCENDANT_OF": (Relation.DERIVED_FROM, True),
    "ANCESTOR_OF": (Relation.DERIVED_FROM, False),
    "VARIANT_OF": (Relation.DERIVED_FROM, True),
    "COPY_OF": (Relation.DERIVED_FROM, True),
    "EXPANDED_FROM_ARCHIVE": (Relation.DERIVED_FROM, True),
}
# SPDX 3.0 relationship types (camelCase), same shape
_RELATIONS_3: dict[str, tuple[Relation, bool]] = {
    "trainedOn": (Relation.TRAINED_ON, True),
    "testedOn": (Relation.TESTED_ON, True),
    "dependsOn": (Relation.USES, True),
    "contains": (Relation.USES, True),
    "hasPrerequisite": (Relation.USES, True),
    "usesTool": (Relation.USES, True),
    "hasOptionalComponent": (Relation.USES, True),
    "hasStaticLink": (Relation.USES, True),
    "hasDynamicLink": (Relation.USES, True),
    "descendantOf": (Relation.DERIVED_FROM, True),
    "ancestorOf": (Relation.DERIVED_FROM, False),
    "copiedTo": (Relation.DERIVED_FROM, False),
    "expandsTo": (Relation.DERIVED_FROM, False),
    "generates": (Relation.GENERATED_BY, False),
}
_PACKAGE_TYPES_3 = {"software_Package", "ai_AIPackage", "dataset_DatasetPackage"}
_AGENT_TYPES_3 = {"Person", "Organization", "Agent", "SoftwareAgent"}
_LICENSE_TYPES_3 = {"hasDeclaredLicense", "hasConcludedLicense"}


def is_spdx_file(path: Path) -> bool:
    """An SPDX 2 (any serialization) or SPDX 3 JSON-LD document, judged by its first 64 KiB."""
    try:
        with path.open("rb") as handle:
            head = handle.read(65536).decode("utf-8", errors="replace")
    except OSError:
        return False
    if "\x00" in head:  # UTF-16 files: spdx-tools reads them; decode for the marker check
        try:
            head = _bounded.read_head(path, 131072).decode("utf-16")
        except (OSError, UnicodeDecodeError, _bounded.Refused):
            return False
    return any(marker in head for marker in _HEAD_MARKERS)


class SpdxCollector:
    """An SPDX document → one record per package it describes."""

    name = COLLECTOR
    priority = 15

    def can_collect(self, target: str) -> bool:
        path = Path(target)
        return path.is_file() and is_spdx_file(path)

    def collect(self, target: str, options: CollectOptions) -> Iterator[Record]:
        path = Path(target)
        reader = CardReader(collector=COLLECTOR, max_bytes=options.max_file_bytes)
        head = reader.read_text(path, path.name, [])
        is_v3 = head is not None and "spdx.org/rdf/3." in head[:65536] and '"@graph"' in head
        records = read_spdx3(path, reader) if is_v3 else read_spdx2(path, reader, options.max_elements)
        for record in records:
            if options.progress:
                options.progress(record.id)
            yield record


def _document_record(path: Path, findings: list[Finding]) -> Record:
    """Where document-level problems go when no package could be read."""
    return Record(
        id=record_id(Kind.PACKAGE, f"spdx/{path.stem}"),
        kind=Kind.PACKAGE,
        name=f"spdx/{path.stem}",
        location=str(path.resolve()),
        collectors=[COLLECTOR],
        findings=findings,
    )


def _purl_name(purl: str) -> tuple[Kind, str] | None:
    """``pkg:pypi/Foo_Bar@1.0`` → (package, ``pypi/foo-bar``); ``pkg:huggingface/org/name`` → a model."""
    match = re.match(r"^pkg:(?P<type>[^/]+)/(?P<path>[^@?#]+)", purl.strip())
    if not match:
        return None
    kind, path = match["type"].lower(), match["path"].strip("/")
    if kind == "huggingface":
        return Kind.MODEL, path
    if kind == "pypi":  # PEP 503 normalized, as the pipeline collector names installed distributions
        path = re.sub(r"[-_.]+", "-", path).lower()
    return Kind.PACKAGE, f"{kind}/{path}"


def _identity(name: str, locations: list[str], purls: list[str], purpose: str | None) -> tuple[Kind, str]:
    """Which record a package is: a Hub model or dataset when it says so, else a software package."""
    for location in locations:
        hf = _HF.match(location or "")
        if hf:
            return (Kind.DATASET if hf["datasets"] else Kind.MODEL), clean_name(hf.group(0))
    for purl in purls:
        found = _purl_name(purl)
        if found and found[0] is Kind.MODEL:
            return found
    purpose = (purpose or "").lower()
    if purpose == "model":
        return Kind.MODEL, name
    if purpose == "data":
        return Kind.DATASET, name
    for purl in purls:
        found = _purl_name(purl)
        if found:
            return found
    return Kind.PACKAGE, name


def _broken(record: Record, source: Source, problem: str) -> None:
    record.findings.append(
        Finding(
            rule="PA024",
            severity=Severity.WARNING,
            message=f"{source.describe()}: {problem}",
            source=source,
            fix="declare the element in the document (or an external document reference) or fix the id",
        )
    )


# --- SPDX 2 -------------------------------------------------------------------------------------


def _element_count(doc: object) -> int:
    """Packages, files, snippets and relationships of an SPDX 2 JSON document."""
    if not isinstance(doc, dict):
        return 0
    keys = ("packages", "files", "snippets", "relationships")
    return sum(len(doc[k]) for k in keys if isinstance(doc.get(k), list))


def read_spdx2(path: Path, reader: CardReader, max_elements: int = limits.MAX_ELEMENTS) -> list[Record]:
    from spdx_tools.spdx.parser.error import SPDXParsingError
    from spdx_tools.spdx.parser.parse_anything import parse_file

    rel = path.name
    findings: list[Finding] = []
    if path.suffix.lower() == ".json":
        # malformed JSON is reported with its line (PA004) rather than as spdx-tools' parse failure
        doc = reader.load_json(path, rel, findings)
        if doc is None:
            return [_document_record(path, findings)]
        elements = _element_count(doc)
        if elements > max_elements:  # spdx-tools builds ~1,000 packages a second: bounded, not a hang
            problem = _bounded.Refused(
                f"{elements} SPDX elements, more than the {max_elements} limit (--max-elements); not parsed", "PA042"
            )
            return [_document_record(path, [reader.refused(rel, problem)])]
    else:
        try:
            unreadable = path.stat().st_size > reader.max_bytes
        except OSError:
            unreadable = True
        # tag-value and RDF may be UTF-16 (spdx-tools reads them): only size and access are checked here
        if unreadable and reader.read_text(path, rel, findings) is None:
            return [_document_record(path, findings)]
    try:
        document = parse_file(str(path))
    except SPDXParsingError as exc:
        messages = exc.get_messages()  # type: ignore[no-untyped-call]  # spdx-tools leaves it unannotated
        return [_document_record(path, [_unparsed(rel, "; ".join(dict.fromkeys(messages))[:2000])])]
    except Exception as exc:  # spdx-tools raises many types on malformed input
        return [_document_record(path, [_unparsed(rel, f"{type(exc).__name__}: {exc}")])]
    extracted = {str(info.license_id): info for info in document.extracted_licensing_info}
    records: dict[str, Record] = {}
    for package in document.packages:
        records[package.spdx_id] = _package2(package, rel, reader, extracted, path)
    known = {document.creation_info.spdx_id, *records}
    known |= {f.spdx_id for f in document.files} | {s.spdx_id for s in document.snippets}
    fallback = next(iter(records.values()), None) or _document_record(path, [])
    for relationship in document.relationships:
        kind = relationship.relationship_type.name
        a, b = relationship.spdx_element_id, str(relationship.related_spdx_element_id)
        source = Source(collector=COLLECTOR, file=rel, field="relationships")
        for element in (a, b):
            if element not in known and element not in _NO_VALUE and not element.startswith("DocumentRef-"):
                _broken(records.get(a, fallback), source, f"{kind} names {element!r}, which is not in the document")
        if kind not in _RELATIONS_2 or a not in records or b not in records:
            continue
        relation, forward = _RELATIONS_2[kind]
        child, parent = (records[a], records[b]) if forward else (records[b], records[a])
        if parent.id != child.id:
            upstream = Upstream(
                target=parent.id, raw=f"{a} {kind} {b}", relation=relation, source=source, version=parent.version
            )
            child.add("upstream", upstream)
    out = list(records.values())
    if fallback not in out and fallback.findings:
        out.append(fallback)
    return out


def _unparsed(rel: str, problem: str) -> Finding:
    return Finding(
        rule="PA023",
        severity=Severity.ERROR,
        message=f"{rel}: not a valid SPDX document: {problem}",
        source=Source(collector=COLLECTOR, file=rel),
        fix="validate it with `pyspdxtools -i FILE` and fix what it reports",
    )


def _package2(package: Any, rel: str, reader: CardReader, extracted: dict[str, Any], path: Path) -> Record:
    purls = [ref.locator for ref in package.external_references if str(ref.reference_type).lower() == "purl"]
    locations = [str(v) for v in (package.download_location, package.homepage) if isinstance(v, str)]
    purpose = package.primary_package_purpose.name if package.primary_package_purpose else None
    kind, name = _identity(package.name, locations, purls, purpose)
    record = Record(
        id=record_id(kind, name),
        kind=kind,
        name=name,
        location=str(path.resolve()),
        version=package.version or None,
        collectors=[COLLECTOR],
    )

    def src(field: str) -> Source:
        return Source(collector=COLLECTOR, file=rel, field=field)

    for field, value in (
        ("licenseDeclared", package.license_declared),
        ("licenseConcluded", package.license_concluded),
    ):
        if value is None:
            continue
        text = str(value)
        if text in _NO_VALUE:  # no claim made (NOASSERTION) or none applies (NONE): kept, not read as a license
            record.add("facts", Fact(key=field, value=text, source=src(field)))
            continue
        refs = [s for s in re.findall(r"LicenseRef-[\w.-]+", text) if s in extracted]
        named = str(extracted[refs[0]].license_name) if len(refs) == 1 else None
        reader.add_claim(record, text, rel, field, name=named if named not in _NO_VALUE else None)
    for field, value in (
        ("SPDXID", package.spdx_id),
        ("downloadLocation", package.download_location),
        ("homepage", package.homepage),
        ("summary", package.summary),
        ("description", package.description),
        ("copyrightText", package.copyright_text),
        ("primaryPackagePurpose", purpose),
    ):
        if value is not None and str(value).strip() and str(value) not in _NO_VALUE:
            record.add("facts", Fact(key=field, value=str(value).strip(), source=src(field)))
    for purl in purls:
        record.add("facts", Fact(key="purl", value=purl, source=src("externalRefs")))
    for field, role, actor in (
        ("supplier", "publisher", package.supplier),
        ("originator", "creator", package.originator),
    ):
        actor_name = getattr(actor, "name", None)
        if isinstance(actor_name, str) and actor_name.strip():
            record.add("agents", AgentRef(name=actor_name.strip(), role=role, source=src(field)))
    return record


# --- SPDX 3 -------------------------------------------------------------------------------------


def read_spdx3(path: Path, reader: CardReader) -> list[Record]:
    rel = path.name
    findings: list[Finding] = []
    doc = reader.load_json(path, rel, findings)
    text = reader.read_text(path, rel, []) or ""
    graph = doc.get("@graph") if isinstance(doc, dict) else None
    if doc is not None and not (isinstance(graph, list) and all(isinstance(e, dict) for e in graph)):
        findings.append(
            Finding(
                rule="PA002",
                severity=Severity.ERROR,
                message=f"{rel}: SPDX 3 JSON-LD without a `@graph` list of elements",
                source=Source(collector=COLLECTOR, file=rel, field="@graph"),
            )
        )
    if findings:
        return [_document_record(path, findings)]
    elements = {str(e.get("spdxId") or e.get("@id")): e for e in graph or [] if e.get("spdxId") or e.get("@id")}

    def line_of(element_id: str) -> int | None:
        at = text.find(f'"{element_id}"')
        return text.count("\n", 0, at) + 1 if at >= 0 else None

    records: dict[str, Record] = {}
    for element_id, element in elements.items():
        if element.get("type") in _PACKAGE_TYPES_3:
            records[element_id] = _package3(element, elements, rel, path, line_of(element_id))
    fallback = next(iter(records.values()), None) or _document_record(path, [])
    for element_id, element in elements.items():
        if element.get("type") != "Relationship":
            continue
        kind = str(element.get("relationshipType") or "")
        a = str(element.get("from") or "")
        targets = [str(t) for t in _as_list(element.get("to"))]
        source = Source(collector=COLLECTOR, file=rel, field=kind or "relationshipType", line=line_of(element_id))
        owner = records.get(a, fallback)
        for ref in [a, *targets]:
            if ref and ref not in elements and not _LISTED.match(ref) and not ref.startswith("https://spdx.org/rdf/3."):
                _broken(owner, source, f"{kind} names {ref!r}, which is not in the document")
        if kind in _LICENSE_TYPES_3 and a in records:
            field = kind
            # CardReader.source finds lines by file and field: point it at this relationship element
            if source.line:
                reader._lines.setdefault(rel, {})[field] = source.line
            for ref in targets:
                expression = _license3(ref, elements)
                if expression:
                    reader.add_claim(records[a], expression, rel, field)
            continue
        if kind not in _RELATIONS_3:
            continue
        relation, forward = _RELATIONS_3[kind]
        for b in targets:
            if a not in records or b not in records:
                continue
            child, parent = (records[a], records[b]) if forward else (records[b], records[a])
            if parent.id != child.id:
                raw = f"{a} {kind} {b}"
                upstream = Upstream(target=parent.id, raw=raw, relation=relation, source=source, version=parent.version)
                child.add("upstream", upstream)
    out = list(records.values())
    if fallback not in out and fallback.findings:
        out.append(fallback)
    return out


def _license3(ref: str, elements: dict[str, dict[str, Any]]) -> str | None:
    """The license an element id stands for: an expression element, a license element, or a listed-license IRI."""
    element = elements.get(ref)
    if element is not None:
        for key in ("simplelicensing_licenseExpression", "expandedlicensing_licenseId", "name"):
            value = element.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None
    listed = _LISTED.match(ref)
    if listed:
        return listed["id"]
    if ref.endswith(("/NoAssertionLicense", "/NoneLicense")):
        return None
    return None


def _package3(
    element: dict[str, Any], elements: dict[str, dict[str, Any]], rel: str, path: Path, line: int | None
) -> Record:
    locator_lists = [
        _as_list(x.get("identifierLocator")) for x in _as_list(element.get("externalIdentifier")) if isinstance(x, dict)
    ]
    locations = [str(element.get("software_downloadLocation") or ""), str(element.get("software_homePage") or "")]
    locations += [str(loc) for found in locator_lists for loc in found]
    purls = [str(element["software_packageUrl"])] if element.get("software_packageUrl") else []
    etype = element.get("type")
    purpose = {"ai_AIPackage": "model", "dataset_DatasetPackage": "data"}.get(str(etype)) or element.get(
        "software_primaryPurpose"
    )
    kind, name = _identity(str(element.get("name") or element.get("spdxId")), locations, purls, purpose)
    record = Record(
        id=record_id(kind, name),
        kind=kind,
        name=name,
        location=str(path.resolve()),
        version=str(element["software_packageVersion"]) if element.get("software_packageVersion") else None,
        collectors=[COLLECTOR],
    )

    def fact(key: str, value: Any) -> None:
        record.add(
            "facts",
            Fact(key=key, value=str(value).strip(), source=Source(collector=COLLECTOR, file=rel, field=key, line=line)),
        )

    fact("spdxId", element.get("spdxId") or element.get("@id"))
    for key, value in element.items():
        if key in {"type", "spdxId", "@id", "creationInfo", "name", "software_packageVersion", "externalIdentifier"}:
            continue
        if key in {"originatedBy", "suppliedBy"}:
            role = "creator" if key == "originatedBy" else "publisher"
            for agent_id in _as_list(value):
                agent = elements.get(str(agent_id), {})
                agent_name = agent.get("name") if agent.get("type") in _AGENT_TYPES_3 else None
                if isinstance(agent_name, str) and agent_name.strip():
                    source = Source(collector=COLLECTOR, file=rel, field=key, line=line)
                    record.add("agents", AgentRef(name=agent_name.strip(), role=role, source=source))
            continue
        for item in _as_list(value):
            if isinstance(item, dict):  # DictionaryEntry: ai_metric, ai_hyperparameter ...
                if "key" in item:
                    fact(key, f"{item['key']}={item.get('value', '')}")
            elif item is not None and str(item).strip():
                fact(key, item)
    return record


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
