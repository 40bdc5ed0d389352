"""The PROV-O store: append-only revisions, atomic scans, SHACL conformance, SPARQL and export."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph
import pytest
from conftest import CARDS
from pyshacl import validate
from rdflib import Graph

from provaudit import api
from provaudit.resources import resource

DATASETS = CARDS / "datasets"


def _count(store_path: Path, sparql: str) -> int:
    with api.open_store(store_path, read_only=True) as db:
        (row,) = db.query(sparql).rows
    return int(row[0] or 0)


def test_second_scan_adds_one_activity_and_no_duplicate_records(store_path: Path) -> None:
    first = api.scan([str(DATASETS)], store=store_path)
    triples = _count(store_path, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    second = api.scan([str(DATASETS)], store=store_path)
    assert second.scan.counts == {
        "records": len(first.records),
        "new": 0,
        "revised": 0,
        "unchanged": len(first.records),
    }
    assert _count(store_path, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a prov:Activity }") == 2
    assert _count(store_path, "SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE { ?r a pa:Dataset }") == len(first.records)
    assert _count(store_path, "SELECT (COUNT(DISTINCT ?v) AS ?n) WHERE { ?v a pa:Revision }") == len(first.records)
    # the second scan only adds its activity and what it observed
    added = _count(store_path, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }") - triples
    assert 0 < added <= len(first.records) + 30


def test_changed_license_becomes_a_revision_and_the_old_value_stays(tmp_path: Path, store_path: Path) -> None:
    collection = tmp_path / "collection"
    shutil.copytree(DATASETS / "snli", collection / "snli")
    shutil.copytree(DATASETS / "imdb", collection / "imdb")
    api.scan([str(collection)], store=store_path)
    api.scan([str(collection)], store=store_path)
    card = collection / "snli" / "README.md"
    card.write_text(card.read_text(encoding="utf-8").replace("- cc-by-4.0", "- cc-by-sa-4.0", 1), encoding="utf-8")
    third = api.scan([str(collection)], store=store_path)
    assert third.outcomes == {"dataset:snli": "revised", "dataset:imdb": "unchanged"}

    with api.open_store(store_path, read_only=True) as db:
        history = db.history("dataset:snli")
        assert [h.record.claims[0].expression for h in history] == ["CC-BY-4.0", "CC-BY-SA-4.0"]
        assert history[1].previous == history[0].iri and history[0].previous is None
        current = db.record("dataset:snli")
        assert current is not None and current.claims[0].expression == "CC-BY-SA-4.0"
        rows = db.query(
            'SELECT ?old ?new WHERE { ?v dcterms:identifier "dataset:snli" ; prov:wasRevisionOf ?p ;'
            # the card's prose names CC BY-SA 4.0 in both revisions (a claim of its own): the change is YAML's
            " dcterms:license ?new . ?p dcterms:license ?old FILTER(?old != ?new) }"
        ).rows
    assert rows == [["http://spdx.org/licenses/CC-BY-4.0", "http://spdx.org/licenses/CC-BY-SA-4.0"]]
    assert _count(store_path, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a pa:Scan }") == 3


def test_every_scan_graph_conforms_to_the_shapes(store_path: Path) -> None:
    api.scan([str(DATASETS), str(CARDS / "models"), str(CARDS / "bad")], store=store_path)
    api.scan([str(CARDS / "models")], store=store_path)
    data = Graph()
    with api.open_store(store_path, read_only=True) as db:
        data.parse(data=db.ntriples().decode(), format="nt")
    ontology = Graph().parse(resource("ontology", "provaudit.ttl"))
    shapes = Graph().parse(resource("ontology", "shapes.ttl"))
    conforms, _, text = validate(data, shacl_graph=shapes, ont_graph=ontology, inference="rdfs")
    assert conforms, text


def test_shapes_catch_a_broken_graph(store_path: Path) -> None:
    api.scan([str(DATASETS / "snli")], store=store_path)
    data = Graph()
    with api.open_store(store_path, read_only=True) as db:
        text = db.ntriples().decode()
    # a revision whose content digest is not a sha256 must not conform
    broken = "\n".join(line for line in text.splitlines() if "contentDigest" not in line)
    broken += (
        '\n<https://w3id.org/provaudit/id/dataset/snli/rev/x> <https://w3id.org/provaudit/ns#contentDigest> "nope" .\n'
    )
    broken += (
        "<https://w3id.org/provaudit/id/dataset/snli/rev/x> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
        " <https://w3id.org/provaudit/ns#Revision> .\n"
    )
    data.parse(data=broken, format="nt")
    shapes = Graph().parse(resource("ontology", "shapes.ttl"))
    conforms, _, _ = validate(data, shacl_graph=shapes, inference="none")
    assert not conforms


def _make_collection(root: Path, copies: int) -> None:
    for i in range(copies):
        for folder in sorted(DATASETS.iterdir()):
            shutil.copytree(folder, root / f"{folder.name}-{i:04d}")


def test_kill_9_in_the_middle_of_a_scan_leaves_earlier_scans_intact(tmp_path: Path, store_path: Path) -> None:
    api.scan([str(DATASETS)], store=store_path)
    with api.open_store(store_path, read_only=True) as db:
        before = db.ntriples()
        before_ids = {r.id for r in db.records()}
    big = tmp_path / "big"
    _make_collection(big, 80)
    env = {**os.environ, "PROVAUDIT_WRITE_BATCH": "1000"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "provaudit.cli", "scan", str(big), "--store", str(store_path), "--no-digests"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # wait until the scan has written part of its graph (more than its start), then kill it
    deadline = time.monotonic() + 120
    partial = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            peek = pyoxigraph.Store.read_only(str(store_path / "oxigraph"))
            graphs = list(peek.named_graphs())
            if len(graphs) > 1:
                newest = max(graphs, key=lambda g: g.value)
                partial = sum(1 for _ in peek.quads_for_pattern(None, None, None, newest))
            del peek
        except (OSError, RuntimeError):
            pass  # a read-only view can race the writer's compaction; look again
        if partial > 4000:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the scan finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert partial > 4000

    with api.open_store(store_path, read_only=True) as db:
        assert db.ntriples() == before
        assert {r.id for r in db.records()} == before_ids
        assert len(db.scans()) == 1
    # the next writer clears what the killed scan left, and scans as usual
    again = api.scan([str(DATASETS / "snli")], store=store_path)
    assert again.scan.counts["unchanged"] == 1
    with api.open_store(store_path, read_only=True) as db:
        assert len(db.scans()) == 2
        assert {r.id for r in db.records()} == before_ids


def test_export_formats_parse(store_path: Path, tmp_path: Path) -> None:
    api.scan([str(DATASETS / "snli"), str(CARDS / "models" / "Intel__neural-chat-7b-v3-3")], store=store_path)
    graphs = {}
    with api.open_store(store_path, read_only=True) as db:
        for fmt, rdflib_format in (("turtle", "turtle"), ("nt", "nt"), ("jsonld", "json-ld"), ("nq", "nquads")):
            out = tmp_path / f"export.{fmt}"
            with out.open("wb") as handle:
                db.export(fmt, handle)
            graph = Graph()
            graph.parse(out, format=rdflib_format)
            graphs[fmt] = len(graph)
    assert graphs["turtle"] == graphs["nt"] == graphs["jsonld"] > 100


def test_read_only_store_that_does_not_exist_says_so(tmp_path: Path) -> None:
    from provaudit.errors import StoreError

    with pytest.raises(StoreError, match="no provaudit store here"):
        api.open_store(tmp_path / "nowhere", read_only=True)


def test_the_same_record_twice_in_one_scan_is_merged_in_the_store(tmp_path: Path, store_path: Path) -> None:
    # a packager's copy of a repo names its parent in hub_manifest.yaml: same record, two folders
    collection = tmp_path / "models"
    shutil.copytree(CARDS / "models" / "01-ai__Yi-34B", collection / "01-ai__Yi-34B")
    copy = collection / "packager-copy"
    shutil.copytree(CARDS / "models" / "01-ai__Yi-34B", copy)
    card = copy / "README.md"
    card.write_text(card.read_text(encoding="utf-8").replace("license: other", "license: apache-2.0", 1))
    result = api.scan([str(collection)], store=store_path)
    assert [r.id for r in result.records] == ["model:01-ai/Yi-34B"]
    with api.open_store(store_path, read_only=True) as db:
        (stored,) = list(db.records())
        assert {c.raw for c in stored.claims if c.source.field == "license"} == {"other", "apache-2.0"}
        assert _count(store_path, "SELECT (COUNT(DISTINCT ?v) AS ?n) WHERE { ?v a pa:Revision }") == 1
        assert _count(store_path, "SELECT (COUNT(*) AS ?n) WHERE { ?s pa:observed ?v }") == 1
        # nothing of the earlier, replaced revision is left behind
        claims = _count(store_path, "SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?c a pa:LicenseClaim }")
        assert claims == len(stored.claims)
