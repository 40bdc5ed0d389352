"""PROV JSON-LD: the store's triples compacted with the published context (ontology/context.jsonld)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from rdflib import Graph

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


def jsonld_to_graph(data: bytes | str) -> Graph:
    """Read PROV JSON-LD back (the context inline or by the published URL, resolved locally)."""
    doc = json.loads(data)
    if isinstance(doc, dict) and doc.get("@context") == CONTEXT_URL:
        doc["@context"] = context()["@context"]
    graph = Graph()
    graph.parse(data=json.dumps(doc), format="json-ld")
    return graph
