"""Namespaces of the provaudit vocabulary (ontology/provaudit.ttl) and the standards it extends."""

from __future__ import annotations

from pyoxigraph import NamedNode

PA_NS = "https://w3id.org/provaudit/ns#"
PROV_NS = "http://www.w3.org/ns/prov#"
DCT_NS = "http://purl.org/dc/terms/"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS_NS = "http://www.w3.org/2000/01/rdf-schema#"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"
FOAF_NS = "http://xmlns.com/foaf/0.1/"

PREFIXES = {
    "pa": PA_NS,
    "prov": PROV_NS,
    "dcterms": DCT_NS,
    "rdf": RDF_NS,
    "rdfs": RDFS_NS,
    "xsd": XSD_NS,
    "foaf": FOAF_NS,
    "spdx": "http://spdx.org/licenses/",
}


class _Namespace:
    def __init__(self, base: str) -> None:
        self.base = base

        self._terms: dict[str, NamedNode] = {}

    def __getattr__(self, name: str) -> NamedNode:
        return self.term(name)

    def term(self, name: str) -> NamedNode:
        node = self._terms.get(name)
        if node is None:
            node = self._terms[name] = NamedNode(self.base + name)
        return node


PA = _Namespace(PA_NS)
PROV = _Namespace(PROV_NS)
DCT = _Namespace(DCT_NS)
RDF = _Namespace(RDF_NS)
RDFS = _Namespace(RDFS_NS)
XSD = _Namespace(XSD_NS)
FOAF = _Namespace(FOAF_NS)


def sparql_prefixes() -> str:
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())
