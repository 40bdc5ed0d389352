"""Records as PROV-O: the triples one observed revision of a record becomes.

A record (``pa:Dataset``/``pa:Model``, a ``prov:Entity``) has a stable IRI; what a scan observed of
it is a *revision* (``pa:Revision``, ``prov:specializationOf`` the record) whose IRI is the hash of
its content, so observing the same content again writes nothing new. Every claim, link, fact and
finding is a node of the revision that points (``pa:source``) at where it was read: a ``pa:Source``
node (collector, file, field, line, URL) whose IRI is the hash of those values, so one source is one
node, shared by every claim, fact and link read there, in every revision and record.

The builders produce N-Triples text (one line per triple), the form both stores load fastest; the
``*_quads`` functions give the same triples as pyoxigraph quads for callers that want objects.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from json.encoder import encode_basestring as _encode_string
from typing import TypeVar, cast
from urllib.parse import quote

from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, parse

from provaudit import __version__
from provaudit.licenses.normalize import license_iri, license_symbols
from provaudit.records.identity import ID_BASE, record_iri, revision_iri
from provaudit.records.model import Fact, Finding, Kind, Record, Severity, Source
from provaudit.records.observation import failure_of
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
SOURCE_BASE = f"{ID_BASE}source/"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def dt_literal(value: datetime) -> Literal:
    return Literal(_dt_text(value), datatype=XSD.dateTime)


def _dt_text(value: datetime) -> str:
    # keyed with the offset too: equal instants in two time zones are equal datetimes but different text
    return _dt_text_of(value, value.utcoffset())


@lru_cache(maxsize=8)  # a scan writes its start time into every revision
def _dt_text_of(value: datetime, offset: timedelta | None) -> str:
    return value.isoformat().replace("+00:00", "Z")


def software_agent() -> NamedNode:
    return NamedNode(f"{ID_BASE}agent/provaudit/{__version__}")


def agent_iri(name: str) -> NamedNode:
    return NamedNode(f"{ID_BASE}agent/{quote(name.strip(), safe='')}")


def scan_iri(stamp: str) -> NamedNode:
    return NamedNode(f"{ID_BASE}scan/{stamp}")


# --- N-Triples terms ------------------------------------------------------------------------------
# Built as text: pyoxigraph term objects cost more to make than the store takes to load the text.


def _i(node: NamedNode | str) -> str:
    return f"<{node.value if isinstance(node, NamedNode) else node}>"


def _l(value: str) -> str:
    # JSON string escaping is exactly what N-Triples needs (quote, backslash, line breaks, control
    # chars); the C encoder without json.dumps' wrapper, as it is called for every literal
    return _encode_string(value)


def _typed(value: str, datatype: NamedNode) -> str:
    return f"{_l(value)}^^<{datatype.value}>"


class _Terms:
    """A vocabulary's terms as N-Triples text, each made once: ``_PA.rawValue`` is ``_i(PA.rawValue)``
    (a revision writes about 80 terms: looked up as plain attributes after the first time)."""

    def __init__(self, base: str) -> None:
        self._base = base

    def __getattr__(self, name: str) -> str:
        text = f"<{self._base}{name}>"
        setattr(self, name, text)
        return text


_PA, _PROV, _DCT, _RDFS, _FOAF, _RDF = (_Terms(ns.base) for ns in (PA, PROV, DCT, RDFS, FOAF, RDF))


_TYPE, _SPEC, _GEN_BY, _GEN_AT = (
    _RDF.type,
    _PROV.specializationOf,
    _PROV.wasGeneratedBy,
    _PROV.generatedAtTime,
)


def source_iri(source: Source) -> str:
    """One IRI per distinct (collector, file, field, line, url): the node is shared wherever it is cited."""
    key = json.dumps([source.collector, source.file, source.field, source.line, source.url], ensure_ascii=False)
    return SOURCE_BASE + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def source_lines(iri: str, source: Source) -> list[str]:
    """The triples of one shared source node."""
    s = _i(iri)
    lines = [f"{s} {_TYPE} {_PA.Source} .", f"{s} {_PA.collector} {_l(source.collector)} ."]
    if source.file:
        lines.append(f"{s} {_PA.sourceFile} {_l(source.file)} .")
    if source.field:
        lines.append(f"{s} {_PA.sourceField} {_l(source.field)} .")
    if source.line:
        lines.append(f"{s} {_PA.sourceLine} {_typed(str(source.line), XSD.integer)} .")
    if source.url:
        lines.append(f"{s} {_PA.sourceUrl} {_typed(source.url, XSD.anyURI)} .")
    return lines


@lru_cache(maxsize=8192)
def _source_node(source: Source) -> tuple[str, tuple[str, ...]]:
    """A source node's IRI and triples, made once per distinct source (most are README.md's fields, met in
    every record of a collection)."""
    iri = source_iri(source)
    return iri, tuple(source_lines(iri, source))


def record_node_lines(record: Record) -> list[str]:
    """The stable part: the record itself (written once, the first time it is seen)."""
    r = _i(record_iri(record.id))
    return [
        f"{r} {_TYPE} {_i(KIND_CLASS[record.kind])} .",
        f"{r} {_TYPE} {_PROV.Entity} .",
        f"{r} {_DCT.identifier} {_l(record.id)} .",
        f"{r} {_RDFS.label} {_l(record.name)} .",
    ]


def lean_json(record: Record) -> str:
    """The record without card text and file list: what review and other light readers parse."""
    large = {i for i, fact in enumerate(record.facts) if fact.key in LARGE_FACTS}
    exclude: dict[str, object] = {"location": True, "files": True}
    if large:
        exclude["facts"] = large
    return record.model_dump_json(exclude=exclude)  # type: ignore[arg-type]


def _grouped_facts(facts: Iterable[Fact]) -> list[tuple[str, Source, list[str]]]:
    """Facts by (key, source), in first-seen order: the values of one list field are one node."""
    groups: dict[tuple[str, Source], list[str]] = {}
    for fact in facts:
        values = groups.setdefault((fact.key, fact.source), [])
        if fact.value not in values:
            values.append(fact.value)
    return [(key, source, values) for (key, source), values in groups.items()]


def revision_lines(
    record: Record,
    digest: str,
    scan: str,
    generated: datetime,
    previous: str | None,
    *,
    fingerprint: str | None = None,
    entry: ScanEntry | None = None,
) -> tuple[list[str], dict[str, list[str]]]:
    """The observed content of a record as one revision: its N-Triples lines, and the lines of every
    shared node it cites by IRI (a store writes those only when it does not hold them yet).

    Sources, agents, claims, facts and findings are shared nodes: each IRI is the hash of the node's
    triples, so the same statement read the same way ("MIT" from README.md's ``license`` field, a
    language) is one node for every revision and record that cites it, and a revision adds one triple
    per statement. Derivations and attributions (PROV-O's qualified influences) stay the revision's own.
    """
    v_iri = revision_iri(record.id, digest)
    r, v = _i(record_iri(record.id)), _i(v_iri)
    nodes: dict[str, list[str]] = {}

    def src(source: Source) -> str:
        iri, node = _source_node(source)
        if iri not in nodes:
            nodes[iri] = list(node)
        return f"<{iri}>"

    def shared(kind: str, body: list[tuple[str, str]]) -> str:
        """The node with these (predicate, object) triples, named by their hash."""
        text = "\n".join(f"{p} {o}" for p, o in body)
        iri = f"{ID_BASE}{kind}/{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}"
        if iri not in nodes:
            nodes[iri] = [f"<{iri}> {p} {o} ." for p, o in body]
        return f"<{iri}>"

    lines = [
        f"{v} {_TYPE} {_PA.Revision} .",
        f"{v} {_TYPE} {_PROV.Entity} .",
        f"{v} {_SPEC} {r} .",
        f"{v} {_GEN_BY} <{scan}> .",
        f"{v} {_GEN_AT} {_typed(_dt_text(generated), XSD.dateTime)} .",
        f"{v} {_PA.contentDigest} {_l(digest)} .",
        f"{v} {_DCT.identifier} {_l(record.id)} .",
        f"{v} {_RDFS.label} {_l(record.name)} .",
        f"{v} {_PA.recordJson} {_typed(record.model_dump_json(exclude={'location'}), JSON_DATATYPE)} .",
        f"{v} {_PA.recordJsonLean} {_typed(lean_json(record), JSON_DATATYPE)} .",
        f"{v} {_PA.scanSummary} {_typed((entry or ScanEntry.of(record)).to_json(), JSON_DATATYPE)} .",
    ]
    if previous:
        lines.append(f"{v} {_PROV.wasRevisionOf} <{previous}> .")
    if record.version:
        lines.append(f"{v} {_PA.scannedVersion} {_l(record.version)} .")
    if record.location:
        lines.append(f"{v} {_PA.location} {_l(record.location)} .")
    if fingerprint:
        lines.append(f"{v} {_PA.fingerprint} {_l(fingerprint)} .")
    licenses: set[str] = set()
    for claim in record.claims:
        body = [
            (_TYPE, _PA.LicenseClaim),
            (_PA.rawValue, _l(claim.raw)),
            (_PA.method, _l(claim.method)),
            (_PA.confidence, _typed(f"{claim.confidence:.3f}", XSD.decimal)),
        ]
        if claim.expression:
            body.append((_PA.licenseExpression, _l(claim.expression)))
            for symbol in license_symbols(claim.expression):
                iri = license_iri(symbol)
                body.append((_DCT.license, f"<{iri}>"))
                licenses.add(iri)
        if claim.name:
            body.append((_PA.licenseName, _l(claim.name)))
        if claim.link:
            body.append((_PA.licenseLink, _l(claim.link)))
        body.append((_PA.source, src(claim.source)))
        lines.append(f"{v} {_PA.hasLicenseClaim} {shared('claim', body)} .")
    lines += [f"{v} {_DCT.license} <{iri}> ." for iri in sorted(licenses)]
    for i, link in enumerate(record.upstream):
        d = f"<{v_iri}/derivation/{i}>"
        target = _i(record_iri(link.target))
        lines += [
            f"{v} {_PROV.wasDerivedFrom} {target} .",
            f"{v} {_PROV.qualifiedDerivation} {d} .",
            f"{d} {_TYPE} {_PROV.Derivation} .",
            f"{d} {_PROV.entity} {target} .",
            f"{d} {_PA.relation} {_l(link.relation.value)} .",
            f"{d} {_PA.rawValue} {_l(link.raw)} .",
        ]
        if link.version:
            lines.append(f"{d} {_PA.versionConstraint} {_l(link.version)} .")
        if link.inferred:  # read from evidence, not declared: queries and shapes can tell them apart
            lines += [
                f"{d} {_PA.inferred} {_typed('true', XSD.boolean)} .",
                f"{d} {_PA.confidence} {_typed(f'{link.confidence:.3f}', XSD.decimal)} .",
            ]
            if link.evidence:
                lines.append(f"{d} {_PA.evidence} {_l(link.evidence)} .")
        lines.append(f"{d} {_PA.source} {src(link.source)} .")
    for i, agent in enumerate(record.agents):
        a_iri = agent_iri(agent.name).value
        a = _i(a_iri)
        if a_iri not in nodes:
            nodes[a_iri] = [f"{a} {_TYPE} {_PROV.Agent} .", f"{a} {_FOAF.name} {_l(agent.name)} ."]
        q = f"<{v_iri}/attribution/{i}>"
        lines += [
            f"{v} {_PROV.wasAttributedTo} {a} .",
            f"{v} {_PROV.qualifiedAttribution} {q} .",
            f"{q} {_TYPE} {_PROV.Attribution} .",
            f"{q} {_PROV.agent} {a} .",
            f"{q} {_PA.role} {_l(agent.role)} .",
        ]
        if agent.role in AGENT_ROLE:
            lines.append(f"{v} {_i(AGENT_ROLE[agent.role])} {a} .")
        lines.append(f"{q} {_PA.source} {src(agent.source)} .")
    for i, file in enumerate(record.files):
        f = f"<{v_iri}/file/{i}>"
        lines += [
            f"{v} {_PA.hasFile} {f} .",
            f"{f} {_TYPE} {_PA.File} .",
            f"{f} {_PA.path} {_l(file.path)} .",
            f"{f} {_PA.byteSize} {_typed(str(file.size), XSD.integer)} .",
        ]
        if file.sha256:
            lines.append(f"{f} {_PA.sha256} {_l(file.sha256)} .")
    for key, source, values in _grouped_facts(record.facts):
        body = [(_TYPE, _PA.Fact), (_PA.key, _l(key))]
        for value in values:
            # the card body is kept once, in pa:recordJson: as a literal here it would double the store
            if key not in LARGE_FACTS:
                body.append((_PA.value, _l(value)))
            if key in FACT_PREDICATE:
                lines.append(f"{v} {_i(FACT_PREDICATE[key])} {_l(value)} .")
        body.append((_PA.source, src(source)))
        lines.append(f"{v} {_PA.hasFact} {shared('fact', body)} .")
    for finding in record.findings:
        body = [
            (_TYPE, _PA.Finding),
            (_PA.rule, _l(finding.rule)),
            (_PA.severity, _l(finding.severity.value)),
            (_PA.message, _l(finding.message)),
        ]
        if finding.fix:
            body.append((_PA.fix, _l(finding.fix)))
        if finding.source:
            body.append((_PA.source, src(finding.source)))
        lines.append(f"{v} {_PA.hasFinding} {shared('finding', body)} .")
    return lines, nodes


SHOWN_PER_LEVEL = 25  # errors (and warnings) a scan's summary names; the rest are counted


@dataclass(frozen=True, slots=True)
class ScanEntry:
    """What a scan's summary keeps of one record: its kind, counts and the errors and warnings it names.

    Stored with each revision (``pa:scanSummary``), so a scan that observes an unchanged folder again
    counts it without reading the record back.
    """

    id: str
    kind: str
    licensed: bool  # some claim has a license expression
    severities: tuple[int, int, int]  # findings: errors, warnings, infos
    shown: tuple[tuple[str, str, str], ...]  # (severity, rule, message) of its first errors and warnings

    @classmethod
    def of(cls, record: Record) -> ScanEntry:
        counts = {s: 0 for s in Severity}
        shown: list[tuple[str, str, str]] = []
        for finding in record.findings:
            counts[finding.severity] += 1
            if finding.severity is not Severity.INFO and counts[finding.severity] <= SHOWN_PER_LEVEL:
                shown.append((finding.severity.value, finding.rule, finding.message))
        return cls(
            id=record.id,
            kind=record.kind.value,
            licensed=any(c.expression for c in record.claims),
            severities=(counts[Severity.ERROR], counts[Severity.WARNING], counts[Severity.INFO]),
            shown=tuple(shown),
        )

    def to_json(self) -> str:
        return json.dumps([self.id, self.kind, self.licensed, self.severities, self.shown], ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, record_id: str | None = None) -> ScanEntry:
        """The entry of a stored summary. A re-scan keeps one per record: kinds, counts, severities and
        rules are shared between entries, and ``record_id`` (the id the caller holds, when it is the
        summary's) is kept instead of a copy."""
        rid, kind, licensed, severities, shown = json.loads(text)
        return cls(
            record_id if record_id is not None and record_id == rid else rid,
            _shared(kind),
            licensed,
            _shared(tuple(severities)),
            tuple((_shared(level), _shared(rule), message) for level, rule, message in shown) if shown else (),
        )


_T = TypeVar("_T")
_SHARED: dict[object, object] = {}


def _shared(value: _T) -> _T:
    """One object for each of the few distinct small values (a kind, a rule, a tuple of counts)."""
    if len(_SHARED) >= 4096:  # bounded: odd summaries cannot grow it without end
        return value
    return cast(_T, _SHARED.setdefault(value, value))


@dataclass(frozen=True, slots=True)
class PreparedRevision:
    """One record as the store text a scan writes, made where the record was read (a scan worker).

    The writer only decides what of it is new (the record node, the revision, each source node) and adds
    what depends on the store: the revision it revises, the folder's fingerprint, the observation.
    """

    record_id: str
    revision: str
    node: bytes  # the record node's N-Triples (written the first time the record is seen)
    body: bytes  # the revision's N-Triples
    size: int  # triples in ``body``
    sources: dict[str, bytes]  # shared node IRI (source, agent, claim, fact, finding) → its N-Triples
    entry: ScanEntry
    summary: str  # ``entry`` as its pa:scanSummary JSON
    failed: bool  # the read failed (records.observation): the writer may keep the last good revision


def prepare_revision(record: Record, scan: str, generated: datetime) -> PreparedRevision:
    """The store text of ``record`` observed by ``scan`` (see :class:`PreparedRevision`)."""
    digest = record.content_digest()
    entry = ScanEntry.of(record)
    lines, sources = revision_lines(record, digest, scan, generated, None, entry=entry)
    return PreparedRevision(
        record_id=record.id,
        revision=revision_iri(record.id, digest),
        node=ntriples_text(record_node_lines(record)),
        body=ntriples_text(lines),
        size=len(lines),
        sources={iri: ntriples_text(node) for iri, node in sources.items()},
        entry=entry,
        summary=entry.to_json(),
        failed=failure_of(record) is not None,
    )


def failed_observation_lines(scan: str, record: Record, why: Finding, attempted: datetime) -> list[str]:
    """A scan's failed attempt to observe a record (``pa:FailedObservation``): when, which rule, why.

    Written instead of a revision when the record has a good one already, so that revision stays current
    (see :mod:`provaudit.records.observation`).
    """
    key = hashlib.sha256(record.id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    f = _i(f"{scan}/failed/{key}")
    lines = [
        f"<{scan}> {_PA.failedObservation} {f} .",
        f"{f} {_TYPE} {_PA.FailedObservation} .",
        f"{f} {_TYPE} {_PROV.Activity} .",
        f"{f} {_PA.ofRecord} {_i(record_iri(record.id))} .",
        f"{f} {_PROV.startedAtTime} {_typed(_dt_text(attempted), XSD.dateTime)} .",
        f"{f} {_PA.failureRule} {_l(why.rule)} .",
        f"{f} {_PA.failureMessage} {_l(why.message)} .",
    ]
    return lines


def ntriples_text(lines: Iterable[str]) -> bytes:
    """Lines as one N-Triples document (a lone surrogate from a badly decoded file becomes U+FFFD)."""
    return "\n".join(lines).encode("utf-8", "replace") + b"\n"


def _quads(lines: list[str], graph: NamedNode) -> list[Quad]:
    return [Quad(t.subject, t.predicate, t.object, graph) for t in parse(ntriples_text(lines), RdfFormat.N_TRIPLES)]


def record_node_quads(record: Record, graph: NamedNode) -> list[Quad]:
    """:func:`record_node_lines` as quads in ``graph``."""
    return _quads(record_node_lines(record), graph)


def revision_quads(
    record: Record, digest: str, scan: NamedNode, graph: NamedNode, generated: datetime, previous: str | None
) -> list[Quad]:
    """:func:`revision_lines` (with every source node it cites) as quads in ``graph``."""
    lines, sources = revision_lines(record, digest, scan.value, generated, previous)
    return _quads(lines + [line for node in sources.values() for line in node], graph)


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
