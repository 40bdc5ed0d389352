"""PROV JSON-LD: the store's triples compacted with the published context (ontology/context.jsonld)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from typing import Any

from pyoxigraph import BlankNode, Literal, NamedNode, Triple
from rdflib import BNode, Graph, URIRef
from rdflib import Literal as RdfLiteral

from provaudit.resources import resource

CONTEXT_URL = "https://w3id.org/provaudit/context.jsonld"


@cache
def context() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(resource("ontology", "context.jsonld").read_text(encoding="utf-8"))
    return loaded


def ntriples_to_jsonld(data: bytes) -> bytes:
    graph = Graph()
    graph.parse(data=data.decode(), format="nt")
    text = graph.serialize(format="json-ld", context=context()["@context"], sort_keys=True, indent=2)
    return text.encode()


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def rdflib_term(term: Any) -> Any:
    """A pyoxigraph term as the rdflib term rdflib's own N-Triples reader makes of it."""
    if isinstance(term, NamedNode):
        return URIRef(term.value)
    if isinstance(term, BlankNode):
        return BNode(term.value)
    if isinstance(term, Literal):
        if term.language:
            return RdfLiteral(term.value, lang=term.language)
        datatype = term.datatype.value
        return RdfLiteral(term.value, datatype=None if datatype == _XSD_STRING else URIRef(datatype))
    raise ValueError(f"unexpected RDF term {term}")


def rdflib_graph(triples: Iterable[Triple]) -> Graph:
    """An rdflib graph of pyoxigraph triples, built from the terms: rdflib's N-Triples reader is quadratic
    in a line's length (a 9 MB card text took minutes), pyoxigraph's refuses lines over 16 MiB."""
    graph = Graph()
    for triple in triples:
        graph.add((rdflib_term(triple.subject), rdflib_term(triple.predicate), rdflib_term(triple.object)))
    return graph


def sorted_values(node: Any) -> Any:
    """JSON-LD arrays without @list are sets: sorting them changes nothing but makes output stable."""
    if isinstance(node, dict):
        return {k: sorted_values(v) for k, v in node.items()}
    if isinstance(node, list):
        items = [sorted_values(v) for v in node]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return node


def triples_to_jsonld(triples: Iterable[Triple]) -> bytes:
    """JSON-LD of the triples with the published context, nodes sorted by id: rdflib writes them in the
    order of its hash tables, which changes from one process to the next."""
    text = rdflib_graph(triples).serialize(format="json-ld", context=context()["@context"], sort_keys=True, indent=2)
    doc = json.loads(text)
    if isinstance(doc, dict) and isinstance(doc.get("@graph"), list):
        doc["@graph"] = sorted_values(doc["@graph"])
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False).encode()


def jsonld_to_graph(data: bytes | str) -> Graph:
    """Read PROV JSON-LD back (the context inline or by the published URL, resolved locally)."""
    doc = json.loads(data)
    if isinstance(doc, dict) and doc.get("@context") == CONTEXT_URL:
        doc["@context"] = context()["@context"]
    graph = Graph()
    graph.parse(data=json.dumps(doc), format="json-ld")
    return graph
