"""Records as PROV-O: the triples one observed revision of a record becomes.

A record (``pa:Dataset``/``pa:Model``, a ``prov:Entity``) has a stable IRI; what a scan observed of
it is a *revision* (``pa:Revision``, ``prov:specializationOf`` the record) whose IRI is the hash of
its content, so observing the same content again writes nothing new. Every claim, link, fact and
finding is a node of the revision that carries its source (file, field, line, URL, collector).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote

from pyoxigraph import Literal, NamedNode, Quad

from provaudit import __version__
from provaudit.licenses.normalize import license_iri, license_symbols
from provaudit.records.identity import ID_BASE, record_iri, revision_iri
from provaudit.records.model import Kind, Record, Source
from provaudit.store.vocab import DCT, FOAF, PA, PROV, RDF, RDFS, XSD

KIND_CLASS = {
    Kind.DATASET: PA.Dataset,
    Kind.MODEL: PA.Model,
    Kind.FAMILY: PA.ModelFamily,
    Kind.CODE: PA.Code,
    Kind.PACKAGE: PA.Package,
}
AGENT_ROLE = {"creator": DCT.creator, "publisher": DCT.publisher}
FACT_PREDICATE = {
    "title": DCT.title,
    "language": DCT.language,
    "homepage": FOAF.homepage,
    "citation": DCT.bibliographicCitation,
    "description": DCT.description,
}
LARGE_FACTS = {"card"}
JSON_DATATYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON")


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def dt_literal(value: datetime) -> Literal:
    return Literal(value.isoformat().replace("+00:00", "Z"), datatype=XSD.dateTime)


def software_agent() -> NamedNode:
    return NamedNode(f"{ID_BASE}agent/provaudit/{__version__}")


def agent_iri(name: str) -> NamedNode:
    return NamedNode(f"{ID_BASE}agent/{quote(name.strip(), safe='')}")


def scan_iri(stamp: str) -> NamedNode:
    return NamedNode(f"{ID_BASE}scan/{stamp}")


def _source_triples(node: NamedNode, source: Source) -> Iterator[tuple[NamedNode, NamedNode, Literal]]:
    yield node, PA.collector, Literal(source.collector)
    if source.file:
        yield node, PA.sourceFile, Literal(source.file)
    if source.field:
        yield node, PA.sourceField, Literal(source.field)
    if source.line:
        yield node, PA.sourceLine, Literal(str(source.line), datatype=XSD.integer)
    if source.url:
        yield node, PA.sourceUrl, Literal(source.url, datatype=XSD.anyURI)


def record_node_quads(record: Record, graph: NamedNode) -> list[Quad]:
    """The stable part: the record itself (written once, the first time it is seen)."""
    r = NamedNode(record_iri(record.id))
    return [
        Quad(r, RDF.type, KIND_CLASS[record.kind], graph),
        Quad(r, RDF.type, PROV.Entity, graph),
        Quad(r, DCT.identifier, Literal(record.id), graph),
        Quad(r, RDFS.label, Literal(record.name), graph),
    ]


def revision_quads(
    record: Record, digest: str, scan: NamedNode, graph: NamedNode, generated: datetime, previous: str | None
) -> list[Quad]:
    """The observed content of a record as one revision (written once per distinct content)."""
    r = NamedNode(record_iri(record.id))
    v = NamedNode(revision_iri(record.id, digest))
    triples: list[tuple[NamedNode, NamedNode, NamedNode | Literal]] = [
        (v, RDF.type, PA.Revision),
        (v, RDF.type, PROV.Entity),
        (v, PROV.specializationOf, r),
        (v, PROV.wasGeneratedBy, scan),
        (v, PROV.generatedAtTime, dt_literal(generated)),
        (v, PA.contentDigest, Literal(digest)),
        (v, DCT.identifier, Literal(record.id)),
        (v, RDFS.label, Literal(record.name)),
        (v, PA.recordJson, Literal(record.model_dump_json(exclude={"location"}), datatype=JSON_DATATYPE)),
    ]
    if previous:
        triples.append((v, PROV.wasRevisionOf, NamedNode(previous)))
    if record.version:
        triples.append((v, PA.scannedVersion, Literal(record.version)))
    if record.location:
        triples.append((v, PA.location, Literal(record.location)))
    for i, claim in enumerate(record.claims):
        c = NamedNode(f"{v.value}/claim/{i}")
        triples += [
            (v, PA.hasLicenseClaim, c),
            (c, RDF.type, PA.LicenseClaim),
            (c, PA.rawValue, Literal(claim.raw)),
            (c, PA.method, Literal(claim.method)),
            (c, PA.confidence, Literal(f"{claim.confidence:.3f}", datatype=XSD.decimal)),
        ]
        if claim.expression:
            triples.append((c, PA.licenseExpression, Literal(claim.expression)))
            for symbol in license_symbols(claim.expression):
                triples += [
                    (c, DCT.license, NamedNode(license_iri(symbol))),
                    (v, DCT.license, NamedNode(license_iri(symbol))),
                ]
        if claim.name:
            triples.append((c, PA.licenseName, Literal(claim.name)))
        if claim.link:
            triples.append((c, PA.licenseLink, Literal(claim.link)))
        triples += _source_triples(c, claim.source)
    for i, link in enumerate(record.upstream):
        d = NamedNode(f"{v.value}/derivation/{i}")
        target = NamedNode(record_iri(link.target))
        triples += [
            (v, PROV.wasDerivedFrom, target),
            (v, PROV.qualifiedDerivation, d),
            (d, RDF.type, PROV.Derivation),
            (d, PROV.entity, target),
            (d, PA.relation, Literal(link.relation.value)),
            (d, PA.rawValue, Literal(link.raw)),
        ]
        if link.version:
            triples.append((d, PA.versionConstraint, Literal(link.version)))
        if link.inferred:  # read from evidence, not declared: queries and shapes can tell them apart
            triples += [
                (d, PA.inferred, Literal("true", datatype=XSD.boolean)),
                (d, PA.confidence, Literal(f"{link.confidence:.3f}", datatype=XSD.decimal)),
            ]
            if link.evidence:
                triples.append((d, PA.evidence, Literal(link.evidence)))
        triples += _source_triples(d, link.source)
    for i, agent in enumerate(record.agents):
        a = agent_iri(agent.name)
        q = NamedNode(f"{v.value}/attribution/{i}")
        triples += [
            (a, RDF.type, PROV.Agent),
            (a, FOAF.name, Literal(agent.name)),
            (v, PROV.wasAttributedTo, a),
            (v, PROV.qualifiedAttribution, q),
            (q, RDF.type, PROV.Attribution),
            (q, PROV.agent, a),
            (q, PA.role, Literal(agent.role)),
        ]
        if agent.role in AGENT_ROLE:
            triples.append((v, AGENT_ROLE[agent.role], a))
        triples += _source_triples(q, agent.source)
    for i, file in enumerate(record.files):
        f = NamedNode(f"{v.value}/file/{i}")
        triples += [
            (v, PA.hasFile, f),
            (f, RDF.type, PA.File),
            (f, PA.path, Literal(file.path)),
            (f, PA.byteSize, Literal(str(file.size), datatype=XSD.integer)),
        ]
        if file.sha256:
            triples.append((f, PA.sha256, Literal(file.sha256)))
    for i, fact in enumerate(record.facts):
        x = NamedNode(f"{v.value}/fact/{i}")
        triples += [(v, PA.hasFact, x), (x, RDF.type, PA.Fact), (x, PA.key, Literal(fact.key))]
        # the card body is kept once, in pa:recordJson: as a literal here it would double the store
        if fact.key not in LARGE_FACTS:
            triples.append((x, PA.value, Literal(fact.value)))
        if fact.key in FACT_PREDICATE:
            triples.append((v, FACT_PREDICATE[fact.key], Literal(fact.value)))
        triples += _source_triples(x, fact.source)
    for i, finding in enumerate(record.findings):
        n = NamedNode(f"{v.value}/finding/{i}")
        triples += [
            (v, PA.hasFinding, n),
            (n, RDF.type, PA.Finding),
            (n, PA.rule, Literal(finding.rule)),
            (n, PA.severity, Literal(finding.severity.value)),
            (n, PA.message, Literal(finding.message)),
        ]
        if finding.fix:
            triples.append((n, PA.fix, Literal(finding.fix)))
        if finding.source:
            triples += _source_triples(n, finding.source)
    return [Quad(s, p, o, graph) for s, p, o in triples]


def scan_start_quads(scan: NamedNode, started: datetime, targets: list[str], options: dict[str, object]) -> list[Quad]:
    agent = software_agent()
    quads = [
        Quad(scan, RDF.type, PROV.Activity, scan),
        Quad(scan, RDF.type, PA.Scan, scan),
        Quad(scan, PROV.startedAtTime, dt_literal(started), scan),
        Quad(scan, PROV.wasAssociatedWith, agent, scan),
        Quad(agent, RDF.type, PROV.SoftwareAgent, scan),
        Quad(agent, RDF.type, PROV.Agent, scan),
        Quad(agent, RDFS.label, Literal("provaudit"), scan),
        Quad(agent, PA.softwareVersion, Literal(__version__), scan),
        Quad(scan, PA.options, Literal(json.dumps(options, sort_keys=True, default=str)), scan),
    ]
    quads += [Quad(scan, PA.target, Literal(t), scan) for t in targets]
    return quads


def scan_end_quads(scan: NamedNode, ended: datetime, summary: dict[str, int]) -> list[Quad]:
    quads = [
        Quad(scan, PROV.endedAtTime, dt_literal(ended), scan),
        Quad(scan, PA.status, Literal("complete"), scan),
    ]
    for key, value in summary.items():
        quads.append(
            Quad(scan, PA.term(f"count{key[:1].upper()}{key[1:]}"), Literal(str(value), datatype=XSD.integer), scan)
        )
    return quads
