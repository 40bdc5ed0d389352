"""PROV-O of one record: its revision graph as JSON-LD (published context) or Turtle, and back.

The graph is what the store holds for the record's current revision (``rdf.revision_quads``): the
record node, the revision with every claim, derivation, attribution, file, fact and finding and their
sources, ``pa:recordJson`` (the whole record, so an import is lossless), and the scan activity that
generated it. Reading it back takes every revision that no other revision in the document revises.
"""

from __future__ import annotations

import json
from typing import Any

from pyoxigraph import NamedNode, RdfFormat, Triple, parse, serialize
from rdflib import Graph, URIRef
from rdflib import Literal as RdfLiteral

from provaudit.errors import InputError
from provaudit.export.base import ExportContext
from provaudit.records.model import Record
from provaudit.store import rdf
from provaudit.store.jsonld import CONTEXT_URL, context, jsonld_to_graph, rdflib_graph, sorted_values
from provaudit.store.vocab import PA, PA_NS, PREFIXES, PROV_NS, RDF_NS

_GRAPH = NamedNode("urn:provaudit:export")  # a placeholder: exports are triples, the graph name is dropped


def revision_triples(ctx: ExportContext) -> list[Triple]:
    """The record's revision graph, sorted (N-Triples order) so every export of it is the same.

    From a store: the triples the store holds (literals as it keeps them); else generated from the record.
    """
    if ctx.stored is not None:
        return sorted(set(ctx.stored), key=str)
    record = ctx.record
    digest = record.content_digest()
    quads = rdf.record_node_quads(record, _GRAPH) + rdf.revision_quads(
        record, digest, NamedNode(f"{PA_NS}export"), _GRAPH, ctx.created, None
    )
    return sorted({Triple(q.subject, q.predicate, q.object) for q in quads}, key=str)


def stored_triples(store: Any, record_iri: str, revision_iri: str, scan_iri: str) -> list[Triple]:
    """What the store holds of one revision: the record node, the revision and its parts, its agents,
    the sources they cite, and the scan activity that generated it (type, times, software agent; not what
    else it observed)."""
    keep = ", ".join(
        f"<{p}>"
        for p in (f"{RDF_NS}type", f"{PROV_NS}startedAtTime", f"{PROV_NS}endedAtTime", f"{PROV_NS}wasAssociatedWith")
    )
    result = store.query(
        "CONSTRUCT { ?s ?p ?o } WHERE { "
        f'{{ ?s ?p ?o FILTER(?s = <{record_iri}> || ?s = <{revision_iri}> || STRSTARTS(STR(?s), "{revision_iri}/")) }}'
        f" UNION {{ <{revision_iri}> prov:wasAttributedTo ?s . ?s ?p ?o }}"
        # the shared source nodes its claims, facts and links point at
        f' UNION {{ ?x pa:source ?s . ?s ?p ?o FILTER(STRSTARTS(STR(?x), "{revision_iri}/")) }}'
        f" UNION {{ BIND(<{scan_iri}> AS ?s) ?s ?p ?o FILTER(?p IN ({keep})) }}"
        f" UNION {{ <{scan_iri}> prov:wasAssociatedWith ?s . ?s ?p ?o }} }}"
    )
    return list(parse((result.ntriples or "").encode(), format=RdfFormat.N_TRIPLES))


def to_turtle(ctx: ExportContext) -> bytes:
    data = serialize(revision_triples(ctx), format=RdfFormat.TURTLE, prefixes=PREFIXES)
    return data or b""


def to_ntriples(ctx: ExportContext) -> bytes:
    return "".join(f"{t} .\n" for t in revision_triples(ctx)).encode()


def to_jsonld(ctx: ExportContext) -> bytes:
    """Compacted with the published context, referenced by its URL; nodes and value sets sorted."""
    graph = rdflib_graph(revision_triples(ctx))  # from the terms, never re-read from N-Triples text
    text = graph.serialize(format="json-ld", context=context()["@context"], auto_compact=True)
    doc = json.loads(text)
    nodes = doc.get("@graph", [doc] if "@id" in doc or "id" in doc else [])
    nodes = [{k: v for k, v in n.items() if k != "@context"} for n in nodes]
    body = {"@context": CONTEXT_URL, "@graph": sorted((sorted_values(n) for n in nodes), key=_node_key)}
    return (json.dumps(body, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()


def _node_key(node: dict[str, Any]) -> str:
    return str(node.get("id") or node.get("@id") or json.dumps(node, sort_keys=True))


def graph_of(data: bytes, fmt: str) -> Graph:
    """An rdflib graph of a PROV export (JSON-LD by URL or inline context, Turtle or N-Triples)."""
    if fmt == "prov-jsonld":
        return jsonld_to_graph(data)
    graph = Graph()
    graph.parse(data=data.decode("utf-8"), format="turtle" if fmt == "turtle" else "nt")
    return graph


def read_records(data: bytes, fmt: str, file: str | None) -> list[Record]:
    """The current revision of each record in the document, exactly as it was exported."""
    try:
        graph = graph_of(data, fmt)
    except Exception as exc:  # rdflib raises many parser types
        raise InputError(file, f"not readable as {fmt}: {exc}") from exc
    revision = URIRef(PA.Revision.value)
    rdf_type = URIRef(RDF_NS + "type")
    revised = {o for _, _, o in graph.triples((None, URIRef(PROV_NS + "wasRevisionOf"), None))}
    out: list[Record] = []
    for subject in sorted(set(graph.subjects(rdf_type, revision)), key=str):
        if subject in revised:
            continue
        value = graph.value(subject, URIRef(PA.recordJson.value))
        if not isinstance(value, RdfLiteral):
            raise InputError(file, f"revision {subject} has no pa:recordJson; it cannot be read back as a record")
        try:
            record = Record.model_validate_json(str(value))
        except ValueError as exc:
            raise InputError(file, f"revision {subject}: pa:recordJson is not a valid record: {exc}") from exc
        location = graph.value(subject, URIRef(PA.location.value))
        record.location = str(location) if location is not None else None
        if record.content_digest() != str(graph.value(subject, URIRef(PA.contentDigest.value)) or ""):
            raise InputError(file, f"revision {subject}: pa:recordJson does not match its pa:contentDigest")
        out.append(record)
    if not out:
        raise InputError(file, f"no provaudit revision (pa:Revision with pa:recordJson) in this {fmt} document")
    return out
