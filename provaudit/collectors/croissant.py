"""Croissant JSON-LD (MLCommons): a dataset's licenses, agents, provenance links and RAI fields.

The file is read as RDF with rdflib's JSON-LD parser, so any context that maps its keys to the
schema.org / Croissant / RAI / PROV-O IRIs works (``license``, ``sc:license``, ``rai:dataBiases``,
``dataBiases`` → ``cr:dataBiases`` in early 1.0 files ...). Remote contexts are never fetched: a
built-in Croissant context stands in for them. mlcroissant is not used: it validates far more than
an audit needs and does not read ``prov:`` or ``isBasedOn``.

``license`` becomes claims; ``sdLicense`` licenses the metadata file itself, not the data, so it is
kept as a fact. ``prov:wasDerivedFrom`` and ``isBasedOn`` become derived-from links,
``prov:wasGeneratedBy`` a generated-by link when it names a model; RAI fields become facts.
"""

from __future__ import annotations

import contextlib
import json
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF

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

COLLECTOR = "croissant"
SCHEMA = ("https://schema.org/", "http://schema.org/")
CR = "http://mlcommons.org/croissant/"
RAI = "http://mlcommons.org/croissant/RAI/"
PROV = "http://www.w3.org/ns/prov#"
DCT = "http://purl.org/dc/terms/"
_MARKERS = ("mlcommons.org/croissant", "w3id.org/croissant")
_SUFFIXES = {".json", ".jsonld"}
# Croissant 1.0 drafts put a few RAI properties under cr: before the RAI vocabulary existed
_CR_RAI = {"dataCollection", "dataBiases", "personalSensitiveInformation", "dataCollectionType"}
# the context every Croissant file declares, used in place of remote contexts (never fetched)
BUILTIN_CONTEXT: dict[str, Any] = {
    "@vocab": "https://schema.org/",
    "sc": "https://schema.org/",
    "cr": CR,
    "rai": RAI,
    "prov": PROV,
    "dct": DCT,
    "citeAs": "cr:citeAs",
    "conformsTo": "dct:conformsTo",
    "isLiveDataset": "cr:isLiveDataset",
    "recordSet": "cr:recordSet",
    "field": "cr:field",
    "source": "cr:source",
    "data": {"@id": "cr:data", "@type": "@json"},
    "examples": {"@id": "cr:examples", "@type": "@json"},
}
_HF = re.compile(r"^(?:https?://)?huggingface\.co/(?P<datasets>datasets/)?(?P<id>[^/?#]+(?:/[^/?#]+)?)")


def is_croissant_file(path: Path) -> bool:
    if path.suffix.lower() not in _SUFFIXES:
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(65536).decode("utf-8", errors="replace")
    except OSError:
        return False
    return '"@context"' in head and any(marker in head for marker in _MARKERS)


class CroissantCollector:
    """One Croissant JSON-LD file → one dataset record."""

    name = COLLECTOR
    priority = 15

    def can_collect(self, target: str) -> bool:
        path = Path(target)
        return path.is_file() and is_croissant_file(path)

    def collect(self, target: str, options: CollectOptions) -> Iterator[Record]:
        reader = CardReader(collector=COLLECTOR, max_bytes=options.max_file_bytes)
        record = read_croissant(Path(target), reader)
        if options.progress:
            options.progress(record.id)
        yield record


def key_lines(text: str) -> dict[str, int]:
    """Line of each key of the top-level JSON object (first occurrence), for sources."""
    lines: dict[str, int] = {}
    depth, line, i, n = 0, 1, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        elif ch == '"':
            start, start_line = i, line
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\":
                    i += 1
                elif text[i] == "\n":
                    line += 1
                i += 1
            if depth == 1:
                rest = re.match(r"\s*:", text[i + 1 : i + 64])
                if rest:
                    with contextlib.suppress(ValueError):  # an odd key is just left without a line
                        lines.setdefault(json.loads(text[start : i + 1]), start_line)
        i += 1
    return lines


def read_croissant(path: Path, reader: CardReader) -> Record:
    """Read one Croissant file; problems become findings on the record, never exceptions."""
    rel = path.name
    findings: list[Finding] = []
    doc = reader.load_json(path, rel, findings)
    text = reader.read_text(path, rel, []) if doc is not None else None
    record = Record(
        id=record_id(Kind.DATASET, path.stem),
        kind=Kind.DATASET,
        name=path.stem,
        location=str(path.resolve()),
        collectors=[COLLECTOR],
    )
    record.findings.extend(findings)
    if doc is None:
        return record
    if not isinstance(doc, dict):
        record.findings.append(_not_croissant(rel, f"a JSON {type(doc).__name__}, not a JSON-LD object"))
        return record
    graph = Graph()
    try:
        with warnings.catch_warnings():  # rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph
            warnings.simplefilter("ignore", DeprecationWarning)
            local = _local_context(doc, rel, record.findings)
            graph.parse(data=json.dumps(local), format="json-ld", base=path.resolve().as_uri())
    except Exception as exc:  # rdflib raises many types on bad JSON-LD
        record.findings.append(_not_croissant(rel, f"cannot be read as JSON-LD: {exc}"))
        return record
    root = _root_dataset(graph)
    if root is None:
        record.findings.append(_not_croissant(rel, "no schema.org Dataset node"))
        return record
    lines = key_lines(text or "")
    # CardReader.source looks lines up by file and top-level key: give it this file's, so claims carry them
    reader._lines[rel] = lines
    reading = _Reading(graph, root, record, reader, rel, lines, doc)
    reading.run()
    return record


def _not_croissant(rel: str, problem: str) -> Finding:
    return Finding(
        rule="PA021",
        severity=Severity.ERROR,
        message=f"{rel}: not a readable Croissant dataset: {problem}",
        source=Source(collector=COLLECTOR, file=rel),
        fix="validate the file with `mlcroissant validate --jsonld FILE`",
    )


_BUNDLED = (*_MARKERS, "schema.org")  # context IRIs the built-in context stands for


def _context_finding(rel: str, where: str, value: Any) -> Finding:
    shown = repr(value) if len(repr(value)) <= 120 else repr(value)[:117] + "..."
    return Finding(
        rule="PA044",
        severity=Severity.WARNING,
        message=(
            f"{rel}: {where} names {shown}, which is not one of provaudit's bundled contexts (Croissant, "
            "schema.org); not fetched or opened, its terms are not read"
        ),
        source=Source(collector=COLLECTOR, file=rel, field="@context"),
        fix="inline the context in the file, or use the Croissant context",
    )


def _local_context(doc: dict[str, Any], rel: str = "", findings: list[Finding] | None = None) -> dict[str, Any]:
    """The document with every ``@context`` (nested or imported) taken from provaudit's bundled contexts.

    A context IRI of Croissant or schema.org becomes the built-in Croissant context; any other context
    reference (a path, ``file:`` or ``http:`` IRI, an ``@import``) is dropped with a finding, so the JSON-LD
    parser never opens a file or a connection.
    """
    out = findings if findings is not None else []

    def context(value: Any, where: str) -> Any:
        parts = value if isinstance(value, list) else [value]
        kept: list[Any] = []
        for part in parts:
            if part is None:
                kept.append(None)
            elif isinstance(part, str) and any(marker in part for marker in _BUNDLED):
                kept.append(BUILTIN_CONTEXT)
            elif isinstance(part, dict):
                if "@import" in part:
                    out.append(_context_finding(rel, f"{where} @import", part["@import"]))
                kept.append({k: sub(v, f"{where} {k}") for k, v in part.items() if k != "@import"})
            else:
                out.append(_context_finding(rel, where, part))
        if not kept:
            return BUILTIN_CONTEXT if where == "@context" else {}
        return kept if len(kept) > 1 else kept[0]

    def sub(value: Any, where: str) -> Any:
        """A value inside a context: a term definition may carry its own (scoped) ``@context``."""
        if isinstance(value, dict) and "@context" in value:
            return {**value, "@context": context(value["@context"], f"{where} @context")}
        return value

    def walk(value: Any, where: str) -> Any:
        if isinstance(value, dict):
            return {
                k: context(v, f"{where}@context" if not where else f"{where} @context")
                if k == "@context"
                else walk(v, f"{where}{k}" if not where else f"{where}.{k}")
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [walk(v, where) for v in value]
        return value

    local = walk(doc, "")
    if "@context" not in doc:
        local["@context"] = BUILTIN_CONTEXT
    return local  # type: ignore[no-any-return]


def _root_dataset(graph: Graph) -> URIRef | BNode | None:
    """The Dataset node that no other node points at (nested isBasedOn datasets are not the root)."""
    datasets = [s for iri in SCHEMA for s in graph.subjects(RDF.type, URIRef(iri + "Dataset"))]
    roots = [d for d in datasets if next(iter(graph.subjects(None, d)), None) is None]
    chosen = roots or datasets
    return sorted(chosen, key=str)[0] if chosen else None  # type: ignore[return-value]


class _Reading:
    def __init__(
        self,
        graph: Graph,
        root: URIRef | BNode,
        record: Record,
        reader: CardReader,
        rel: str,
        lines: dict[str, int],
        doc: dict[str, Any],
    ) -> None:
        self.graph, self.root, self.record, self.reader, self.rel = graph, root, record, reader, rel
        self.lines = lines
        self.keys = [k for k in doc if not k.startswith("@")]

    # -- helpers ------------------------------------------------------------------------------------

    def values(self, node: Any, *iris: str) -> list[Any]:
        out: list[Any] = []
        for iri in iris:
            out.extend(o for o in self.graph.objects(node, URIRef(iri)) if o not in out)
        return sorted(out, key=str)

    def schema(self, node: Any, local: str) -> list[Any]:
        return self.values(node, *(base + local for base in SCHEMA))

    def first(self, node: Any, local: str) -> str | None:
        found = [str(v).strip() for v in self.schema(node, local) if isinstance(v, Literal | URIRef)]
        return next((v for v in found if v), None)

    def source(self, local: str) -> Source:
        """The source of a top-level property: the key as written in the file, with its line."""
        key = next((k for k in self.keys if k.split(":")[-1] == local), local)
        return Source(collector=COLLECTOR, file=self.rel, field=key, line=self.lines.get(key))

    def fact(self, key: str, value: str, local: str) -> None:
        if value.strip():
            self.record.add("facts", Fact(key=key, value=value.strip(), source=self.source(local)))

    # -- reading ------------------------------------------------------------------------------------

    def run(self) -> None:
        record, root = self.record, self.root
        name = self.first(root, "name")
        url = self.first(root, "url")
        hf = _HF.match(url or "")
        ident = clean_name(hf.group(0)) if hf and hf["datasets"] else name
        if ident:
            record.name = ident
            record.id = record_id(Kind.DATASET, ident)
        if name:
            self.fact("title", name, "name")
        if url:
            self.fact("homepage", url, "url")
        version = self.first(root, "version")
        if version:
            record.version = version
            self.fact("dataset_version", version, "version")
        for local, key in (
            ("description", "description"),
            ("citation", "citation"),
            ("datePublished", "date_published"),
            ("alternateName", "alternate_name"),
            ("keywords", "tag"),
            ("inLanguage", "language"),
        ):
            for value in self.schema(root, local):
                if isinstance(value, Literal | URIRef):
                    self.fact(key, str(value), local)
        for value in self.values(root, CR + "citeAs"):
            self.fact("citation", str(value), "citeAs")
        for value in self.values(root, DCT + "conformsTo"):
            self.fact("conforms_to", str(value), "conformsTo")
        self.licenses()
        for local, role in (("creator", "creator"), ("publisher", "publisher"), ("author", "author")):
            for agent in self.schema(root, local):
                label = self.first(agent, "name") if not isinstance(agent, Literal) else str(agent)
                label = label or (str(agent) if isinstance(agent, URIRef) else None)
                if label:
                    record.add("agents", AgentRef(name=label, role=role, source=self.source(local)))
        self.rai()
        for value in self.values(root, PROV + "wasDerivedFrom"):
            self.link(value, Relation.DERIVED_FROM, "wasDerivedFrom")
        for value in self.schema(root, "isBasedOn"):
            self.link(value, Relation.DERIVED_FROM, "isBasedOn")
        for value in self.values(root, PROV + "wasGeneratedBy"):
            self.generated_by(value)
        for item in self.schema(root, "distribution"):
            content = self.first(item, "contentUrl")
            sha = self.first(item, "sha256") or next((str(v) for v in self.values(item, CR + "md5")), None)
            if content and sha and re.fullmatch(r"[0-9a-fA-F]{32,64}", sha):
                self.fact(
                    "download", f"{content} sha256:{sha}" if len(sha) == 64 else f"{content} md5:{sha}", "distribution"
                )

    def licenses(self) -> None:
        for value in self.schema(self.root, "license"):
            raw, link = self.describe(value)
            if raw:
                self.reader.add_claim(self.record, raw, self.rel, self.source("license").field or "license", link=link)
        for value in self.schema(self.root, "sdLicense"):
            raw, _ = self.describe(value)
            if raw:
                self.fact("sd_license", raw, "sdLicense")

    def describe(self, value: Any) -> tuple[str | None, str | None]:
        """A license value as declared: a string (SPDX id or URL) or a CreativeWork with name/url."""
        if isinstance(value, Literal):
            text = str(value).strip()
            return text or None, text if text.startswith(("http://", "https://")) else None
        url = self.first(value, "url") or (str(value) if isinstance(value, URIRef) else None)
        name = self.first(value, "name") or self.first(value, "identifier")
        return name or url, url

    def rai(self) -> None:
        for predicate, value in sorted(
            self.graph.predicate_objects(self.root), key=lambda po: (str(po[0]), str(po[1]))
        ):
            iri = str(predicate)
            if iri.startswith(RAI):
                local = iri[len(RAI) :]
            elif iri.startswith(CR) and iri[len(CR) :] in _CR_RAI:
                local = iri[len(CR) :]
            else:
                continue
            if isinstance(value, Literal | URIRef):
                self.fact(f"rai:{local}", str(value), local)

    def reference(self, value: Any) -> tuple[Kind, str, str] | None:
        """(kind, name, raw) for a referenced resource, or None when it names nothing resolvable."""
        url = self.first(value, "url") if not isinstance(value, Literal) else None
        iri = str(value) if isinstance(value, URIRef) and not str(value).startswith("file:") else None
        name = self.first(value, "name") if not isinstance(value, Literal) else str(value).strip()
        for candidate in (url, iri, name):
            if not candidate:
                continue
            hf = _HF.match(candidate)
            if hf:
                kind = Kind.DATASET if hf["datasets"] else Kind.MODEL
                return kind, clean_name(hf.group(0)), candidate
        raw = url or iri or name
        return (Kind.DATASET, raw, raw) if raw else None

    def link(self, value: Any, relation: Relation, local: str) -> None:
        source = self.source(local)
        found = self.reference(value)
        if found is None:
            shown = "an object" if isinstance(value, BNode) else repr(str(value))
            self.record.findings.append(
                Finding(
                    rule="PA022",
                    severity=Severity.WARNING,
                    message=f"{source.describe()}: reference {shown} names no resource (no @id, url or name)",
                    source=source,
                    fix='give the source an "@id" or "url" (e.g. its Hugging Face or DOI URL)',
                )
            )
            return
        kind, name, raw = found
        target = record_id(kind, name)
        if target != self.record.id:
            self.record.add("upstream", Upstream(target=target, raw=raw, relation=relation, source=source))

    def generated_by(self, value: Any) -> None:
        """An activity (or its agent) that generated the data: a fact; a link when it is a model."""
        label = self.first(value, "name") or self.first(value, "description") or str(value)
        self.fact("generated_by", label, "wasGeneratedBy")
        agents = [value, *self.values(value, PROV + "wasAssociatedWith", PROV + "used")]
        for agent in agents:
            found = self.reference(agent)
            if found and found[0] is Kind.MODEL:
                target = record_id(Kind.MODEL, found[1])
                source = self.source("wasGeneratedBy")
                self.record.add(
                    "upstream", Upstream(target=target, raw=found[2], relation=Relation.GENERATED_BY, source=source)
                )
