"""The shared store: a SPARQL 1.1 server (Query + Update, Graph Store Protocol for bulk writes).

Many ``provaudit scan`` processes, on one machine or many, write to one server at once. The design
is the embedded store's (:mod:`provaudit.store.oxigraph`), made safe for concurrent writers:

* A scan writes into its own named graph ``<g>``; the first write (one update) also puts a *lease*
  ``<g> pa:heartbeat NOW()`` into the lease graph, refreshed while the scan runs.
* The commit is one small update that adds the end time, the counts and ``<g> pa:status
  "complete"`` *only if the lease is still there*, and removes the lease. Readers only ever read
  graphs that carry that quad (passed as ``default-graph-uri``/``named-graph-uri``), so a scan's
  graph becomes visible at its commit, all at once.
* Leftovers of dead scans are removed by the next writer, only when clearly dead: a lease whose
  last heartbeat is older than the grace period (``PROVAUDIT_SCAN_GRACE`` seconds, default 3,600,
  measured on the server's clock) is deleted first; an uncommitted graph without a lease can then
  never be committed, so deleting it (conditionally, in one update) cannot lose a live scan.

Endpoints: ``URL/query``, ``URL/update`` and ``URL/store`` (Oxigraph's layout); the URL's query
parameters ``query=``, ``update=`` and ``gsp=`` name others (relative to the URL, ``.`` for the URL
itself, ``gsp=none`` to write with ``INSERT DATA``). See docs/scale.md for Fuseki, GraphDB, Neptune.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import secrets
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, Triple, parse, serialize

from provaudit.errors import InputError, StoreError
from provaudit.records.identity import ID_BASE, record_iri, revision_iri
from provaudit.records.model import Finding, Record
from provaudit.records.observation import failure_of, keeps_last_good
from provaudit.store import rdf
from provaudit.store.base import BinaryOutput, QueryResult, RevisionInfo, ScanCounts, ScanInfo
from provaudit.store.vocab import PA, PREFIXES, RDF, sparql_prefixes

LEASES = NamedNode(f"{ID_BASE}leases")  # the graph of open scans' heartbeats; never read as data
_EMPTY = f"{ID_BASE}no-graph"  # a dataset of no committed graph must not fall back to the server's default graph
_BATCH_QUADS = 50_000  # quads per write request; PROVAUDIT_WRITE_BATCH overrides
_VALUES = 500  # IRIs per VALUES block when reading records back
_HEARTBEAT_S = 60.0
_ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9"
_RDF_FORMATS = {
    "turtle": RdfFormat.TURTLE,
    "ttl": RdfFormat.TURTLE,
    "nt": RdfFormat.N_TRIPLES,
    "ntriples": RdfFormat.N_TRIPLES,
    "nq": RdfFormat.N_QUADS,
    "trig": RdfFormat.TRIG,
    "rdfxml": RdfFormat.RDF_XML,
}


def is_url(location: object) -> bool:
    """Whether a ``--store`` value names a SPARQL server rather than a folder."""
    return isinstance(location, str) and location.startswith(("http://", "https://"))


def _iri(node: NamedNode | str) -> str:
    return f"<{node.value if isinstance(node, NamedNode) else node}>"


def _triples_text(quads: Iterable[Quad]) -> str:
    """N-Triples of the quads' triples: valid as a Graph Store Protocol body and inside INSERT DATA."""
    data = serialize((q.triple for q in quads), format=RdfFormat.N_TRIPLES)
    return (data or b"").decode()


def _server_time(value: str) -> datetime:
    # xsd:dateTime from NOW(): servers print up to nanoseconds, Python reads microseconds
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?", value)
    if not match:
        raise StoreError(f"the SPARQL server's NOW() is not a dateTime: {value!r}")
    fraction = (match.group(2) or ".0")[:7]
    zone = match.group(3) or "Z"
    return datetime.fromisoformat(match.group(1) + fraction + ("+00:00" if zone == "Z" else zone))


class _Http:
    """One keep-alive connection to the server, with timeouts and one-line errors."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if not parts.hostname:
            raise StoreError(f"{url}: no host in the store URL")
        self.url = url
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.timeout = float(os.environ.get("PROVAUDIT_STORE_TIMEOUT") or 300)
        self.headers: dict[str, str] = {}
        if parts.username:
            token = f"{parts.username}:{parts.password or ''}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self._conn = cls(self.host, self.port, timeout=self.timeout)
        return self._conn

    def request(self, method: str, target: str, body: bytes | None, headers: dict[str, str]) -> tuple[str, bytes]:
        """(content type, body) of a 2xx answer. Every request provaudit sends is idempotent, so a
        connection the server closed while idle is retried once."""
        for attempt in (0, 1):
            conn = self._connection()
            try:
                conn.request(method, target, body=body, headers={**self.headers, **headers})
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if attempt == 0:
                    continue
                raise StoreError(f"{self.url}: the SPARQL server closed the connection ({exc})") from exc
            except TimeoutError as exc:
                self.close()
                raise StoreError(
                    f"{self.url}: no answer within {self.timeout:.0f} s (PROVAUDIT_STORE_TIMEOUT raises it)"
                ) from exc
            except OSError as exc:
                self.close()
                raise StoreError(f"{self.url}: cannot reach the SPARQL server ({exc}); is it running?") from exc
            if response.status >= 400:
                first = next((line for line in data.decode("utf-8", "replace").splitlines() if line.strip()), "")
                raise _HttpError(response.status, f"{method} {target.split('?')[0]}", response.reason, first[:300])
            return response.getheader("Content-Type") or "", data
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _HttpError(StoreError):
    def __init__(self, status: int, what: str, reason: str, first_line: str) -> None:
        self.status = status
        self.first_line = first_line
        super().__init__(f"{what} answered {status} {reason}: {first_line}")


class SparqlStore:
    """A provaudit store on a SPARQL 1.1 server, with the methods of :class:`OxigraphStore`."""

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.url = url
        self.read_only = read_only
        self._http = _Http(url)
        self._snapshot: list[str] | None = None

        def endpoint(name: str, default: str) -> str | None:
            value = options.get(name, default)
            if value == "none":
                return None
            if value.startswith(("http://", "https://")):
                return urlsplit(value).path + (f"?{urlsplit(value).query}" if urlsplit(value).query else "")
            path = urlsplit(base).path
            return path or "/" if value == "." else f"{path}/{value.lstrip('/')}"

        self._query_path = endpoint("query", "query") or ""
        self._update_path = endpoint("update", "update") or ""
        self._gsp_path = endpoint("gsp", "store")
        try:
            self._committed()
        except _HttpError as exc:
            raise StoreError(f"{url}: not a SPARQL 1.1 query endpoint ({exc})") from exc

    @property
    def path(self) -> Path:
        """The URL as a path, for code that names a store in messages (use :attr:`url`)."""
        return Path(self.url)

    # --- protocol ----------------------------------------------------------------------------

    def _select(
        self, sparql: str, graphs: Sequence[str] | None = None, *, named: bool = False
    ) -> list[list[str | None]]:
        _, rows, _ = self._query_json(sparql, graphs, named=named)
        return rows

    def _query_json(
        self, sparql: str, graphs: Sequence[str] | None, *, named: bool = False
    ) -> tuple[list[str], list[list[str | None]], bool | None]:
        _, data = self._post_query(sparql, graphs, named=named, accept="application/sparql-results+json")
        doc = json.loads(data)
        if "boolean" in doc:
            return [], [], bool(doc["boolean"])
        variables = list(doc["head"]["vars"])
        rows = [[(b[v]["value"] if v in b else None) for v in variables] for b in doc["results"]["bindings"]]
        return variables, rows, None

    def _post_query(
        self, sparql: str, graphs: Sequence[str] | None, *, named: bool = False, accept: str = _ACCEPT
    ) -> tuple[str, bytes]:
        params: list[tuple[str, str]] = [("query", sparql_prefixes() + sparql)]
        if graphs is not None:
            listed = list(graphs) or [_EMPTY]
            params += [("default-graph-uri", g) for g in listed]
            if named:
                params += [("named-graph-uri", g) for g in listed]
        return self._http.request(
            "POST",
            self._query_path,
            urlencode(params).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": accept},
        )

    def _update(self, sparql: str) -> None:
        if self.read_only:
            raise StoreError(f"{self.url}: opened read-only")
        body = urlencode({"update": sparql_prefixes() + sparql}).encode()
        self._http.request("POST", self._update_path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def _write(self, graph: NamedNode, quads: Sequence[Quad]) -> None:
        """Add quads' triples to a graph."""
        if quads:
            self._write_text(graph, _triples_text(quads).encode())

    def _write_lines(self, graph: NamedNode, lines: Sequence[str]) -> None:
        """Add N-Triples lines (from the ``rdf`` builders) to a graph."""
        if lines:
            self._write_text(graph, rdf.ntriples_text(lines))

    def _write_text(self, graph: NamedNode, ntriples: bytes) -> None:
        """A Graph Store Protocol POST of N-Triples, or INSERT DATA where there is no such endpoint."""
        if self._gsp_path is None:
            # N-Triples lines are valid triples in INSERT DATA; their escapes (\" \\ \n \uXXXX) too
            self._update(f"INSERT DATA {{ GRAPH {_iri(graph)} {{\n{ntriples.decode()}}} }}")
            return
        sep = "&" if "?" in self._gsp_path else "?"
        target = f"{self._gsp_path}{sep}{urlencode({'graph': graph.value})}"
        self._http.request("POST", target, ntriples, {"Content-Type": "application/n-triples"})

    # --- scans -------------------------------------------------------------------------------

    def _committed(self) -> list[str]:
        rows = self._select('SELECT DISTINCT ?g WHERE { GRAPH ?g { ?g pa:status "complete" } }')
        return sorted(r[0] for r in rows if r[0])

    def server_now(self) -> datetime:
        (row,) = self._select("SELECT (NOW() AS ?now) WHERE {}")
        return _server_time(row[0] or "")

    def clean_dead_scans(self, grace_s: float | None = None) -> list[str]:
        """Remove what dead scans left (see the module docstring); returns the graphs removed."""
        if grace_s is None:
            grace_s = float(os.environ.get("PROVAUDIT_SCAN_GRACE") or 3600)
        cutoff = (self.server_now() - timedelta(seconds=grace_s)).isoformat().replace("+00:00", "Z")
        leases = _iri(LEASES)
        self._update(
            f"DELETE {{ GRAPH {leases} {{ ?g pa:heartbeat ?t }} }} WHERE {{ GRAPH {leases} {{ ?g pa:heartbeat ?t }} "
            f'FILTER(?t < "{cutoff}"^^xsd:dateTime) }}'
        )
        rows = self._select(
            f"SELECT ?g WHERE {{ GRAPH ?g {{}} FILTER(?g != {leases}) "
            f'FILTER NOT EXISTS {{ GRAPH ?g {{ ?g pa:status "complete" }} }} '
            f"FILTER NOT EXISTS {{ GRAPH {leases} {{ ?g pa:heartbeat ?t }} }} }}"
        )
        removed = []
        for (graph,) in rows:
            if not graph:
                continue
            g = _iri(graph)
            # Uncommitted and without a lease stays so for ever (a commit needs the lease, a heartbeat
            # never brings one back, a new scan takes a new IRI), so the check and the drop need not
            # be one transaction; the check catches a scan that committed since the listing.
            dead = self._query_json(
                f'ASK {{ FILTER NOT EXISTS {{ GRAPH {g} {{ {g} pa:status "complete" }} }} '
                f"FILTER NOT EXISTS {{ GRAPH {leases} {{ {g} pa:heartbeat ?t }} }} }}",
                None,
            )[2]
            if dead:
                self._update(f"DROP SILENT GRAPH {g}")
                removed.append(graph)
        return removed

    def begin_scan(self, targets: list[str], options: dict[str, object]) -> SparqlScan:
        if self.read_only:
            raise StoreError(f"{self.url}: opened read-only")
        self.clean_dead_scans()
        return SparqlScan(self, targets, options)

    def _open_graph(self, graph: NamedNode, first: Sequence[Quad]) -> None:
        """One update: the lease and the graph's first triples, so no graph is ever seen without a lease."""
        leases = _iri(LEASES)
        self._update(
            f"INSERT {{ GRAPH {leases} {{ {_iri(graph)} pa:heartbeat ?now }} "
            f"GRAPH {_iri(graph)} {{\n{_triples_text(first)}}} }} WHERE {{ BIND(NOW() AS ?now) }}"
        )

    def _heartbeat(self, graph: NamedNode) -> None:
        leases, g = _iri(LEASES), _iri(graph)
        # conditional: a lease another writer removed as dead is not brought back
        held = f"GRAPH {leases} {{ {g} pa:heartbeat ?t }}"
        self._update(
            f"DELETE {{ {held} }} INSERT {{ GRAPH {leases} {{ {g} pa:heartbeat ?now }} }} "
            f"WHERE {{ {held} BIND(NOW() AS ?now) }}"
        )

    def _commit_graph_node(self, graph: NamedNode, last: Sequence[Quad]) -> None:
        """Add the commit quads if the lease is still held, and drop the lease; one request."""
        leases, g = _iri(LEASES), _iri(graph)
        self._update(
            f"INSERT {{ GRAPH {g} {{\n{_triples_text(last)}}} }} "
            f"WHERE {{ GRAPH {leases} {{ {g} pa:heartbeat ?t }} }} ;\n"
            f"DELETE WHERE {{ GRAPH {leases} {{ {g} pa:heartbeat ?t }} }}"
        )
        ask = self._query_json(f'ASK {{ GRAPH {g} {{ {g} pa:status "complete" }} }}', None)[2]
        if not ask:
            raise StoreError(
                f"{self.url}: {graph.value} was not committed: it was idle past the grace period and another "
                "writer removed it as dead; scan again (PROVAUDIT_SCAN_GRACE sets the period in seconds)"
            )

    def scans(self) -> list[ScanInfo]:
        graphs = self._committed()
        if not graphs:
            return []
        rows = self._select("SELECT ?g ?p ?o WHERE { GRAPH ?g { ?g ?p ?o } }", graphs, named=True)
        by_graph: dict[str, list[tuple[str, str]]] = {}
        for g, p, o in rows:
            by_graph.setdefault(g or "", []).append((p or "", o or ""))
        out: list[ScanInfo] = []
        count = PA.count.value
        for graph, pairs in by_graph.items():
            if (RDF.type.value, PA.Scan.value) not in pairs:
                continue  # a committed graph that is no scan (a training run)
            values: dict[str, list[str]] = {}
            for p, o in pairs:
                values.setdefault(p, []).append(o)
            counts = {}
            for p, objects in values.items():
                if p.startswith(count):
                    key = p[len(count) :]
                    counts[key[:1].lower() + key[1:]] = int(objects[0])
            started = values.get("http://www.w3.org/ns/prov#startedAtTime", [""])
            ended = values.get("http://www.w3.org/ns/prov#endedAtTime")
            out.append(
                ScanInfo(
                    iri=graph,
                    started=started[0],
                    ended=ended[0] if ended else None,
                    targets=sorted(values.get(PA.target.value, [])),
                    counts=counts,
                )
            )
        return sorted(out, key=lambda s: (s.started, s.iri))

    def commit_graph(self, graph: str, ntriples: bytes) -> None:
        """Write triples as the named graph ``graph`` and commit it (see :meth:`Store.commit_graph`)."""
        if self.read_only:
            raise StoreError(f"{self.url}: opened read-only")
        node = NamedNode(graph)
        quads = [Quad(t.subject, t.predicate, t.object, node) for t in parse(ntriples, format=RdfFormat.N_TRIPLES)]
        self._open_graph(node, quads[:1])
        batch = int(os.environ.get("PROVAUDIT_WRITE_BATCH") or _BATCH_QUADS)
        for i in range(1, len(quads), batch):
            self._write(node, quads[i : i + batch])
        self._commit_graph_node(node, [Quad(node, PA.status, Literal("complete"), node)])

    # --- reading -----------------------------------------------------------------------------

    def current_revisions(self, only: str | None = None, graphs: Sequence[str] | None = None) -> dict[str, str]:
        """record IRI → IRI of the revision its latest committed observation saw (``only``: one record IRI)."""
        graphs = self._committed() if graphs is None else graphs
        if not graphs:
            return {}
        bind = f"VALUES ?r {{ {_iri(only)} }} " if only else ""
        rows = self._select(
            "SELECT ?r ?v ?end ?s WHERE { "
            + bind
            + "?s pa:observed ?v ; prov:endedAtTime ?end . ?v prov:specializationOf ?r }",
            graphs,
        )
        latest: dict[str, tuple[str, str, str]] = {}
        for r, v, end, s in rows:
            r, v, end, s = r or "", v or "", end or "", s or ""
            if r not in latest or (end, s) > latest[r][:2]:
                latest[r] = (end, s, v)
        return {r: value[2] for r, value in latest.items()}

    def _records_at(
        self, revisions: Sequence[str], *, light: bool = False, graphs: Sequence[str] | None = None
    ) -> dict[str, Record]:
        """Revision IRI → the record it holds, read in batches of one query each.

        ``light`` reads the lean JSON (no card text, no file list) where the revision has it.
        """
        graphs = self._committed() if graphs is None else graphs
        lean = "OPTIONAL { ?v pa:recordJsonLean ?lean } " if light else ""
        out: dict[str, Record] = {}
        for i in range(0, len(revisions), _VALUES):
            chunk = revisions[i : i + _VALUES]
            rows = self._select(
                "SELECT ?v ?json ?loc ?lean WHERE { VALUES ?v { "
                + " ".join(_iri(v) for v in chunk)
                + " } ?v pa:recordJson ?json OPTIONAL { ?v pa:location ?loc } "
                + lean
                + "}",
                graphs,
            )
            for v, full, location, lean_json in rows:
                if not v or full is None or v in out:
                    continue
                record = Record.model_validate_json(lean_json or full)
                if light and not lean_json:
                    record.facts = [f for f in record.facts if f.key not in rdf.LARGE_FACTS]
                    record.files = []
                record.location = location
                out[v] = record
        return out

    def record_at(self, revision: str, *, light: bool = False) -> Record | None:
        """The record one revision holds (``light``: without card text and file lists).

        Revisions never change, so the committed graphs are listed once per store object, not per call
        (a re-scan asks this for every unchanged folder).
        """
        if self._snapshot is None:
            self._snapshot = self._committed()
        return self._records_at([revision], light=light, graphs=self._snapshot).get(revision)

    def reopen(self) -> None:
        """Nothing to reopen: every request reads the server's current state."""
        self._snapshot = None

    def records(self, *, light: bool = False) -> Iterator[Record]:
        """The current revision of every record; ``light`` leaves out card text and file lists."""
        graphs = self._committed()
        current = sorted(self.current_revisions(graphs=graphs).items())
        for i in range(0, len(current), _VALUES):
            chunk = [v for _, v in current[i : i + _VALUES]]
            found = self._records_at(chunk, light=light, graphs=graphs)
            for v in chunk:
                if v in found:
                    yield found[v]

    def record(self, record_id: str) -> Record | None:
        iri = record_iri(record_id)
        graphs = self._committed()
        revision = self.current_revisions(only=iri, graphs=graphs).get(iri)
        return self._records_at([revision], graphs=graphs).get(revision) if revision else None

    def records_at(self, scan: str, *, light: bool = False, only: Collection[str] | None = None) -> list[Record]:
        """The records one committed scan observed, as it observed them (``only``: these revision IRIs)."""
        graphs = self._committed()
        if scan not in graphs:
            return []
        rows = self._select(f"SELECT ?v WHERE {{ {_iri(scan)} pa:observed ?v }}", [scan])
        revisions = sorted(v for (v,) in rows if v and (only is None or v in only))
        found = self._records_at(revisions, light=light, graphs=graphs)
        return [found[v] for v in revisions if v in found]

    def history(self, record_id: str) -> list[RevisionInfo]:
        graphs = self._committed()
        rows = self._select(
            "SELECT ?v ?t ?s ?d ?p WHERE { ?v prov:specializationOf "
            + _iri(record_iri(record_id))
            + " ; prov:generatedAtTime ?t ; prov:wasGeneratedBy ?s ; pa:contentDigest ?d . "
            "OPTIONAL { ?v prov:wasRevisionOf ?p } } ORDER BY ?t ?s",
            graphs,
        )
        found = self._records_at([r[0] or "" for r in rows], graphs=graphs)
        return [
            RevisionInfo(
                iri=v or "",
                record_id=record_id,
                generated=t or "",
                scan=s or "",
                digest=d or "",
                previous=p,
                record=rec,
            )
            for v, t, s, d, p in rows
            if (rec := found.get(v or "")) is not None
        ]

    def query(self, sparql: str) -> QueryResult:
        """Run SPARQL 1.1 over every committed scan (the provaudit prefixes are predeclared)."""
        graphs = self._committed()
        try:
            ctype, data = self._post_query(sparql, graphs, named=True)
        except _HttpError as exc:
            if exc.status == 400:
                raise InputError(None, f"SPARQL error (from {self.url}): {exc.first_line}") from exc
            raise
        if "json" in ctype:
            doc = json.loads(data)
            if "boolean" in doc:
                return QueryResult(boolean=bool(doc["boolean"]))
            variables = list(doc["head"]["vars"])
            rows = [[(b[v]["value"] if v in b else None) for v in variables] for b in doc["results"]["bindings"]]
            return QueryResult(variables=variables, rows=rows)
        return QueryResult(ntriples=self._normalized(data).decode())

    @staticmethod
    def _normalized(ntriples: bytes) -> bytes:
        """N-Triples as pyoxigraph writes them, so both stores export byte-equal lines."""
        data = serialize(parse(ntriples, format=RdfFormat.N_TRIPLES), format=RdfFormat.N_TRIPLES)
        return data or b""

    def _graph_triples(self, graphs: Sequence[str]) -> bytes:
        _, data = self._post_query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", graphs, accept="application/n-triples")
        return self._normalized(data)

    def ntriples(self) -> bytes:
        """Every committed triple, sorted, as N-Triples (deterministic)."""
        graphs = self._committed()
        if not graphs:
            return b""
        lines = sorted(set(self._graph_triples(graphs).decode().splitlines()))
        return ("\n".join(lines) + "\n").encode() if lines else b""

    def export(self, fmt: str, out: BinaryOutput) -> None:
        fmt = fmt.lower()
        if fmt in {"nq", "trig"}:
            quads = (
                Quad(t.subject, t.predicate, t.object, NamedNode(g))
                for g in self._committed()
                for t in parse(self._graph_triples([g]), format=RdfFormat.N_TRIPLES)
            )
            serialize(quads, out, _RDF_FORMATS[fmt])  # type: ignore[arg-type]  # pyoxigraph's stub says IO[bytes]; it calls only write() and flush()
            return
        if fmt in {"jsonld", "json-ld"}:
            from provaudit.store.jsonld import ntriples_to_jsonld

            out.write(ntriples_to_jsonld(self.ntriples()))
            return
        if fmt not in _RDF_FORMATS:
            raise InputError(None, f"unknown export format {fmt!r}; use turtle, jsonld, nt, nq or trig")
        triples: Iterable[Triple] = parse(self.ntriples(), format=RdfFormat.N_TRIPLES)
        prefixes = PREFIXES if fmt != "nt" else None
        serialize(triples, out, _RDF_FORMATS[fmt], prefixes=prefixes)  # type: ignore[arg-type]  # pyoxigraph's stub says IO[bytes]; it calls only write() and flush()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SparqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SparqlScan:
    """One scan being written to the server: batches into its own graph, made visible by commit().

    It writes what :class:`~provaudit.store.oxigraph.OxigraphScan` writes (the same ``rdf`` builders),
    but asks the server whether revisions, records and source nodes exist once per batch, not once each.
    """

    def __init__(self, store: SparqlStore, targets: list[str], options: dict[str, object]) -> None:
        self.store = store
        self.started = rdf.now()
        # several writers start scans in the same microsecond on different machines: a random tail
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(4)
        self.graph = rdf.scan_iri(stamp)
        self.iri = self.graph.value
        self._graphs = store._committed()  # what this scan compares with: the committed store at its start
        self._before = store.current_revisions(graphs=self._graphs)
        # record id → (revision observed, written by this scan, fingerprint written with it)
        self._seen: dict[str, tuple[str, bool, str | None]] = {}
        self._created: set[str] = set()
        self._nodes: set[str] = set()
        self._sources: set[str] = set()  # source node IRIs written by this scan or known to be stored
        self._outcomes: dict[str, str] = {}
        # record id → (what a failed read gave, why it failed): written as pa:FailedObservation at commit
        self._failed: dict[str, tuple[Record, Finding]] = {}
        # records wait here until a batch is full: existence is asked of the server once per batch
        self._waiting: dict[str, tuple[Record, str, str | None, str | None]] = {}  # id → (record, digest, prev, fp)
        self._pending: list[str] = []  # N-Triples lines for this scan's graph
        self._fingerprints: dict[str, str] | None = None  # fingerprint → revision, read on first use
        self._batch = int(os.environ.get("PROVAUDIT_WRITE_BATCH") or _BATCH_QUADS)
        self._beat = time.monotonic()
        store._open_graph(self.graph, rdf.scan_start_quads(self.graph, self.started, targets, options))

    def add(self, records: Iterable[Record], fingerprints: Iterable[str | None] | None = None) -> list[str]:
        """Write records as they come; the same id met twice in one scan is merged (as the embedded store does).

        ``fingerprints`` (one per record, or None): the file-stat fingerprint of each record's folder.
        """
        outcomes: list[str] = []
        prints = iter(fingerprints) if fingerprints is not None else None
        for record in records:
            fingerprint = next(prints, None) if prints is not None else None
            if record.id in self._failed:  # met again after a failed read in this scan: merge, decide again
                held = self._failed.pop(record.id)[0]
                held.merge(record)
                record, fingerprint = held, None
            elif record.id in self._seen:
                record = self._merge_earlier(record)
                fingerprint = None  # a merge of several sources is no one folder's content
            previous = self._before.get(record_iri(record.id))
            why = None
            if failure_of(record) and previous:
                stored = self.store._records_at([previous], light=True, graphs=self._graphs).get(previous)
                why = keeps_last_good(record, stored)
            if why is not None:  # a failed read: the good revision stays current (as in OxigraphScan.add)
                self._failed[record.id] = (record.model_copy(deep=True), why)
                self._outcomes[record.id] = "failed"
                outcomes.append("failed")
                continue
            digest = record.content_digest()
            v = revision_iri(record.id, digest)
            # the outcome does not depend on whether the revision is stored already (as in OxigraphScan.add)
            outcome = "unchanged" if previous == v else ("revised" if previous else "new")
            self._waiting[record.id] = (record, digest, previous, fingerprint)
            self._seen[record.id] = (v, False, fingerprint)
            self._outcomes[record.id] = outcome
            outcomes.append(outcome)
            if len(self._waiting) * 100 + len(self._pending) >= self._batch:  # ~100 lines a record
                self._flush()
        self._keep_alive()
        return outcomes

    def _keep_alive(self) -> None:
        if time.monotonic() - self._beat > _HEARTBEAT_S:
            self.store._heartbeat(self.graph)
            self._beat = time.monotonic()

    def revision_for_fingerprint(self, fingerprint: str) -> str | None:
        """The revision a committed scan read from a folder with exactly this file-stat fingerprint."""
        if self._fingerprints is None:
            # one query for all of them: a re-scan asks once per folder
            rows = self.store._select("SELECT ?v ?f WHERE { ?v pa:fingerprint ?f }", self._graphs)
            self._fingerprints = {f: v for v, f in rows if v and f}
        return self._fingerprints.get(fingerprint)

    def observe(self, record_id: str, revision: str) -> str:
        """Record that this scan saw ``revision`` of ``record_id`` again without re-reading it."""
        if record_id in self._seen or record_id in self._failed:  # met twice: merge as add() does
            record = self.store._records_at([revision], graphs=[*self._graphs, self.iri]).get(revision)
            if record is not None:
                return self.add([record])[0]
        previous = self._before.get(record_iri(record_id))
        outcome = "unchanged" if previous == revision else ("revised" if previous else "new")
        self._pending.append(f"<{self.iri}> <{PA.observed.value}> <{revision}> .")
        self._seen[record_id] = (revision, False, None)
        self._outcomes[record_id] = outcome
        if len(self._pending) >= self._batch:
            self._flush()
        self._keep_alive()
        return outcome

    def _flush(self) -> None:
        if self._waiting:
            self._write_waiting()
        if self._pending:
            self.store._write_lines(self.graph, self._pending)
            self._pending = []

    def _write_waiting(self) -> None:
        waiting = list(self._waiting.values())
        self._waiting = {}
        built: list[tuple[Record, str, str | None, list[str], dict[str, list[str]]]] = []
        ask: set[str] = set()
        for record, digest, previous, fingerprint in waiting:
            v = revision_iri(record.id, digest)
            lines: list[str] = []
            sources: dict[str, list[str]] = {}
            if v != previous and v not in self._created:
                lines, sources = rdf.revision_lines(
                    record, digest, self.iri, self.started, previous, fingerprint=fingerprint
                )
                ask |= {v, record_iri(record.id)} | {s for s in sources if s not in self._sources}
            built.append((record, v, fingerprint, lines, sources))
        existing = self._existing(sorted(ask))
        for record, v, fingerprint, lines, sources in built:
            r = record_iri(record.id)
            created = False
            if lines and v not in existing and v not in self._created:
                if r not in existing and r not in self._nodes and r not in self._before:
                    self._pending += rdf.record_node_lines(record)
                    self._nodes.add(r)
                self._pending += lines
                for iri, node in sources.items():
                    if iri not in self._sources and iri not in existing:
                        self._pending += node
                    self._sources.add(iri)
                self._created.add(v)
                created = True
            elif fingerprint:
                self._pending.append(f"<{v}> <{PA.fingerprint.value}> {json.dumps(fingerprint)} .")
            self._pending.append(f"<{self.iri}> <{PA.observed.value}> <{v}> .")
            self._seen[record.id] = (v, created, fingerprint)

    def _existing(self, iris: Sequence[str]) -> set[str]:
        """Which of these records, revisions and source nodes the store holds already."""
        found: set[str] = set()
        for i in range(0, len(iris), _VALUES):
            rows = self.store._select(
                "SELECT DISTINCT ?x WHERE { VALUES ?x { "
                + " ".join(_iri(x) for x in iris[i : i + _VALUES])
                + " } ?x a ?type }",
                [*self._graphs, self.iri],  # this scan's own graph too: what add_prov wrote
            )
            found |= {x for (x,) in rows if x}
        return found

    def _merge_earlier(self, record: Record) -> Record:
        """Merge with what this scan holds for the same id, dropping the earlier observation."""
        if record.id in self._waiting:
            held = self._waiting.pop(record.id)[0]
            self._seen.pop(record.id)
            # through JSON, as the embedded store reads it back: the merge sees the same record
            earlier = Record.model_validate_json(held.model_dump_json(exclude={"location"}))
            earlier.location = held.location
            earlier.merge(record)
            return earlier
        self._flush()
        v, created, fingerprint = self._seen.pop(record.id)
        stored = self.store._records_at([v], graphs=[*self._graphs, self.iri]).get(v)
        if stored is None:  # pragma: no cover - written a moment ago
            return record
        stored.merge(record)
        g, node = _iri(self.graph), _iri(v)
        drop = f"{g} pa:observed {node} ."
        if fingerprint:  # the folder alone no longer gives what this scan keeps for the id
            drop += f" {node} pa:fingerprint {json.dumps(fingerprint)} ."
        self.store._update(f"DELETE DATA {{ GRAPH {g} {{ {drop} }} }}")
        if created:
            # the revision's nodes (claims, links, facts, findings ...) are the IRIs under it
            self.store._update(
                f"DELETE {{ GRAPH {g} {{ ?s ?p ?o }} }} WHERE {{ GRAPH {g} {{ ?s ?p ?o }} "
                f'FILTER(?s = {node} || STRSTARTS(STR(?s), "{v}/")) }}'
            )
            self._created.discard(v)
        return stored

    @property
    def counts(self) -> ScanCounts:
        found = ScanCounts(records=len(self._outcomes))
        for outcome in self._outcomes.values():
            setattr(found, outcome, getattr(found, outcome) + 1)
        return found

    def add_prov(self, ntriples: bytes) -> int:
        """Triples of an exported provaudit PROV document (``provaudit import``), as the embedded store does.

        Revisions the store holds already are left alone with everything under their IRI; the rest is
        written into this scan's graph (triples other graphs hold too are not looked up one by one).
        """
        triples = list(parse(ntriples, format=RdfFormat.N_TRIPLES))
        revisions = sorted({t.subject.value for t in triples if t.predicate == RDF.type and t.object == PA.Revision})
        existing = tuple(self._existing(revisions))
        fresh = [
            Quad(t.subject, t.predicate, t.object, self.graph)
            for t in triples
            if not (existing and isinstance(t.subject, NamedNode) and t.subject.value.startswith(existing))
        ]
        for i in range(0, len(fresh), self._batch):
            self.store._write(self.graph, fresh[i : i + self._batch])
        return len(fresh)

    def commit(self) -> ScanInfo:
        for record, why in self._failed.values():
            self._pending += rdf.failed_observation_lines(self.iri, record, why, self.started)
        self._flush()
        ended = rdf.now()
        self.store._commit_graph_node(self.graph, rdf.scan_end_quads(self.graph, ended, self.counts.as_dict()))
        return ScanInfo(
            iri=self.iri,
            started=rdf.dt_literal(self.started).value,
            ended=rdf.dt_literal(ended).value,
            targets=[],
            counts=self.counts.as_dict(),
        )
