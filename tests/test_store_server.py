"""The shared store: every command against a real Oxigraph SPARQL server, and several writers at once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CARDS
from pyshacl import validate
from rdflib import Graph
from sparqlserver import oxigraph_server

from provaudit import api
from provaudit.cli import main
from provaudit.errors import InputError, StoreError
from provaudit.records.model import Record
from provaudit.resources import resource
from provaudit.store.sparql import LEASES, SparqlStore

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with oxigraph_server(tmp_path / "oxigraph") as url:
        yield url


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _normalized_nt(text: str) -> set[str]:
    """N-Triples lines with scan IRIs and times made equal: what two scans of the same data share."""
    text = re.sub(r"https://w3id\.org/provaudit/id/scan/[^>]+", "SCAN", text)
    text = re.sub(r'"[0-9T:.+-]+Z?"\^\^<http://www\.w3\.org/2001/XMLSchema#dateTime>', '"TIME"', text)
    return set(text.splitlines())


def test_every_command_works_against_the_server(server: str, tmp_path: Path) -> None:
    _run("scan", str(DEMO), "--store", server, "--fail-on", "never")
    review = json.loads(_run("review", "--store", server, "--format", "json", "--fail-on", "never"))
    ids = {r["id"] for r in review["records"]}
    assert len(ids) == 24 and "dataset:imdb" in ids and "model:mistralai/Mistral-7B-v0.1" in ids

    nt = _run("export", "--store", server, "--format", "nt")
    assert len(Graph().parse(data=nt, format="nt")) > 1000

    (revision,) = json.loads(_run("history", "dataset:imdb", "--store", server, "--json"))
    assert revision["scan_id"] in _run("scans", "--store", server)

    out = _run(
        "query", "--store", server, "--format", "json", "SELECT ?id WHERE { ?v dcterms:identifier ?id ; a pa:Revision }"
    )
    assert "dataset:imdb" in out

    site = tmp_path / "site"
    _run("site", "--store", server, "--out", str(site))
    assert (site / "index.html").is_file()
    assert len(list(site.rglob("*.html"))) > 15

    scans = json.loads(_run("scans", "--store", server, "--json"))
    assert len(scans) == 1 and scans[0]["counts"]["records"] == 24  # dpi/ and merges/ too


def test_the_server_and_the_embedded_store_hold_the_same_graph(server: str, tmp_path: Path) -> None:
    embedded = tmp_path / "embedded"
    api.scan([str(DEMO)], store=embedded)
    api.scan([str(DEMO)], store=server)
    # a second scan: unchanged records add only the activity, in both stores
    api.scan([str(DEMO / "datasets")], store=embedded)
    api.scan([str(DEMO / "datasets")], store=server)
    with api.open_store(embedded, read_only=True) as db:
        local_nt = db.ntriples().decode()
        local_records = {r.id: r.model_dump(mode="json") for r in db.records()}
    with api.open_store(server, read_only=True) as db:
        assert isinstance(db, SparqlStore)
        server_nt = db.ntriples().decode()
        server_records = {r.id: r.model_dump(mode="json") for r in db.records()}
        assert [s.counts for s in db.scans()] == [
            {"records": 24, "new": 24, "revised": 0, "unchanged": 0},
            {"records": 9, "new": 0, "revised": 0, "unchanged": 9},
        ]
    assert local_records == server_records
    assert len(local_nt.splitlines()) == len(server_nt.splitlines())
    assert _normalized_nt(local_nt) == _normalized_nt(server_nt)


def test_a_changed_record_becomes_a_revision_on_the_server(server: str, tmp_path: Path) -> None:
    collection = tmp_path / "collection"
    for name in ("snli", "imdb"):
        (collection / name).mkdir(parents=True)
        (collection / name / "README.md").write_bytes((CARDS / "datasets" / name / "README.md").read_bytes())
    api.scan([str(collection)], store=server)
    card = collection / "snli" / "README.md"
    card.write_text(card.read_text(encoding="utf-8").replace("- cc-by-4.0", "- cc-by-sa-4.0", 1), encoding="utf-8")
    second = api.scan([str(collection)], store=server)
    assert second.outcomes == {"dataset:snli": "revised", "dataset:imdb": "unchanged"}
    with api.open_store(server, read_only=True) as db:
        history = db.history("dataset:snli")
        assert [h.record.claims[0].expression for h in history] == ["CC-BY-4.0", "CC-BY-SA-4.0"]
        assert history[1].previous == history[0].iri
        current = db.record("dataset:snli")
        assert current is not None and current.claims[0].expression == "CC-BY-SA-4.0"


def _build_collection(root: Path, count: int, offset: int = 0) -> None:
    """``count`` distinct record folders, each a hard link of a real card under its own name."""
    cards = sorted(
        p for kind in ("datasets", "models") for p in (CARDS / kind).iterdir() if (p / "README.md").is_file()
    )
    for i in range(offset, offset + count):
        src = cards[i % len(cards)]
        dst = root / src.parent.name / f"{src.name}-{i:06d}"
        dst.mkdir(parents=True)
        for name in ("README.md", "dataset_infos.json"):
            if (src / name).is_file():
                os.link(src / name, dst / name)


def test_four_concurrent_writers_lose_nothing_and_commit_atomically(server: str, tmp_path: Path) -> None:
    workers, per_worker = 4, 500
    folders = []
    for w in range(workers):
        folder = tmp_path / f"worker{w}"
        _build_collection(folder, per_worker, offset=w * per_worker)
        folders.append(folder)
    env = {**os.environ, "PROVAUDIT_WRITE_BATCH": "5000"}  # many small writes, interleaved between writers
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "provaudit.cli",
                "scan",
                str(f),
                "--store",
                server,
                "--no-digests",
                "--fail-on",
                "never",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for f in folders
    ]
    # while they write, a reader only ever sees whole scans: 0, 500, 1000 ... records, never a part
    seen: set[int] = set()
    with api.open_store(server, read_only=True) as db:
        assert isinstance(db, SparqlStore)
        while any(p.poll() is None for p in procs):
            seen.add(len(db.current_revisions()))
            time.sleep(0.05)
    errors = [p.stderr.read().decode() if p.stderr else "" for p in procs]
    assert [p.returncode for p in procs] == [0] * workers, errors
    assert seen <= {0, 500, 1000, 1500, 2000}, seen

    with api.open_store(server, read_only=True) as db:
        assert isinstance(db, SparqlStore)
        records = list(db.records())
        assert len(records) == len({r.id for r in records}) == workers * per_worker
        scans = db.scans()
        assert [s.counts for s in scans] == [{"records": 500, "new": 500, "revised": 0, "unchanged": 0}] * workers
        # no lease and no uncommitted graph is left behind
        (row,) = db._select(
            f"SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{LEASES.value}>) }}"
        )
        assert int(row[0] or 0) == workers
        assert db._select(f"SELECT ?s WHERE {{ GRAPH <{LEASES.value}> {{ ?s ?p ?o }} }}") == []
        revisions = db.query("SELECT (COUNT(DISTINCT ?v) AS ?n) WHERE { ?v a pa:Revision }").rows
        assert revisions == [[str(workers * per_worker)]]
        data = Graph().parse(data=db.ntriples().decode(), format="nt")
    ontology = Graph().parse(resource("ontology", "provaudit.ttl"))
    shapes = Graph().parse(resource("ontology", "shapes.ttl"))
    conforms, _, text = validate(data, shacl_graph=shapes, ont_graph=ontology, inference="rdfs")
    assert conforms, text[:3000]


def test_a_dead_scan_is_removed_by_the_next_writer_and_a_live_one_is_kept(server: str, tmp_path: Path) -> None:
    api.scan([str(CARDS / "datasets" / "snli")], store=server)
    with api.open_store(server) as db:
        assert isinstance(db, SparqlStore)
        dead = db.begin_scan(["dead"], {})
        dead.add([_record("dataset:dead-one")])
        dead._flush()
        live = db.begin_scan(["live"], {})
        live.add([_record("dataset:live-one")])
        live._flush()
        # within the grace period nothing is removed; readers never see either
        assert db.clean_dead_scans(grace_s=3600) == []
        assert {r.id for r in db.records()} == {"dataset:snli"}
        # the live scan beats its heartbeat; then everything older than 0 s but it is dead
        time.sleep(1.1)
        db._heartbeat(live.graph)
        assert db.clean_dead_scans(grace_s=1) == [dead.iri]
        live.commit()
        with pytest.raises(StoreError, match="removed it as dead"):
            dead.commit()
        assert {r.id for r in db.records()} == {"dataset:snli", "dataset:live-one"}
        assert len(db.scans()) == 2
    with api.open_store(server) as db:
        assert isinstance(db, SparqlStore)
        assert db.clean_dead_scans(grace_s=3600) == []  # what the dead scan wrote after its removal is gone too


def _record(record_id: str) -> Record:
    record = api.collect([str(CARDS / "datasets" / "imdb")])[0]
    return record.model_copy(update={"id": record_id, "name": record_id.split(":", 1)[1]})


def test_clear_errors(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(StoreError, match="cannot reach the SPARQL server"):
        SparqlStore("http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(StoreError, match=r"not a SPARQL 1\.1 query endpoint.*404"):
        SparqlStore(server + "?query=nowhere")
    with api.open_store(server, read_only=True) as db, pytest.raises(InputError, match="SPARQL error"):
        db.query("SELECT WHERE { ?s }")
    result = CliRunner().invoke(main, ["query", "--store", "http://127.0.0.1:9/ds", "SELECT * WHERE { ?s ?p ?o }"])
    assert result.exit_code == 2 and "cannot reach the SPARQL server" in result.output
    # PROVAUDIT_STORE names a server as --store does
    monkeypatch.setenv("PROVAUDIT_STORE", server)
    with api.open_store(read_only=True) as db:
        assert isinstance(db, SparqlStore)
