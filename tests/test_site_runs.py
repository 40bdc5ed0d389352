"""Training runs on the site: the docs' numpy training run twice for real, the site built from its store.

The model page lists both runs (code version, exact data versions linked to the dataset page, params,
metrics, packages, output digests); the lineage graphs draw each run as a node between the data it
used and the model it generated, routed around every node (the geometry check of test_graph).
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import html5lib
import numpy as np
import pytest
from test_graph import LEGEND, SVG, Graph, geometry_problems
from test_runs import git, make_project, train

from provaudit.api import open_store
from provaudit.site.build import build_site_from_store
from provaudit.site.graph import RELATION_LABELS
from provaudit.versions.data import data_version
from provaudit.versions.runs import RunRecord, load_runs

NS = "{http://www.w3.org/1999/xhtml}"
MODEL = "model:acme/credit-scorer"
DATA = "dataset:credit"


@dataclass
class Built:
    repo: Path
    site: Path
    runs: list[RunRecord]  # oldest first
    commits: list[str]
    versions: list[str]  # the data version each run used
    digest: str  # of the model file the second run wrote


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Train, change one data row and commit, train again; then build the site from the store."""
    repo = make_project(tmp_path_factory.mktemp("runs"))
    commits, versions = [], []
    for round_ in range(2):
        if round_:
            with (repo / "data" / "credit" / "train.csv").open("a") as handle:
                handle.write("0.5000,-0.5000,1\n")
            git(repo, "commit", "-q", "-am", "one more row")
        commits.append(git(repo, "rev-parse", "HEAD").strip())
        versions.append(data_version(repo / "data" / "credit", cache=False).dir_hash)
        train(repo)
    digest = "sha256:" + hashlib.sha256((repo / "model.npz").read_bytes()).hexdigest()
    with open_store(repo / ".provaudit", read_only=True) as db:
        runs = load_runs(db)
    site = repo.parent / "site"
    build_site_from_store(repo / ".provaudit", site, workers=1)
    return Built(repo, site, runs, commits, versions, digest)


def parse(path: Path) -> Any:
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=True)
    return parser.parse(path.read_bytes(), transport_encoding="utf-8")


def text(element: Any) -> str:
    return " ".join("".join(element.itertext()).split())


def page_of(site: Path, rid: str) -> Path:
    kind, _, name = rid.partition(":")
    return site / "records" / f"{kind}-{name.replace('/', '--')}.html"


def test_two_real_runs_with_different_data_versions(built: Built) -> None:
    assert [r.status for r in built.runs] == ["succeeded", "succeeded"]
    assert [r.code.commit for r in built.runs] == built.commits and len(set(built.commits)) == 2
    assert [r.inputs[0].version for r in built.runs] == built.versions and len(set(built.versions)) == 2
    assert built.runs[1].outputs[0].sha256 == built.digest


def test_model_page_shows_its_runs(built: Built) -> None:
    page = page_of(built.site, MODEL)
    root = parse(page)  # strict: a parse error fails the test
    articles = [a for a in root.iter(f"{NS}article") if "run" in (a.get("class") or "").split()]
    newest, oldest = built.runs[1], built.runs[0]
    assert len(articles) == 2
    for article, run, commit, version in zip(
        articles, (newest, oldest), built.commits[::-1], built.versions[::-1], strict=True
    ):
        said = text(article)
        assert run.iri in said and "succeeded" in said
        assert run.started in said and run.ended and run.ended in said
        assert commit in [c.text for c in article.iter(f"{NS}code")]
        assert "main" in said and "no uncommitted changes" in said
        assert "train.py" in said  # the command, without the interpreter's local path
        hashes = [c.text for c in article.iter(f"{NS}code") if "data-version" in (c.get("class") or "")]
        assert hashes == [version]
        data_links = {a.get("href"): text(a) for a in article.iter(f"{NS}a")}
        assert data_links.get(page_of(built.site, DATA).name) == DATA
        cells = [[text(td) for td in row.findall(f"{NS}td")] for row in article.iter(f"{NS}tr")]
        values = {c[0]: c[1:] for c in cells if c}
        assert values["lr"] == ["parameter", "0.5"] and values["epochs"] == ["parameter", "300"]
        assert values["accuracy"][0] == "metric"
        assert float(values["accuracy"][1]) == pytest.approx(run.metrics["accuracy"], rel=1e-5)
        assert run.outputs[0].sha256 and run.outputs[0].sha256 in said
        packages = next(d for d in article.iter(f"{NS}details") if "packages" in (d.get("class") or ""))
        assert text(packages.find(f"{NS}summary")).startswith(f"{len(run.packages)} packages")
        rows = [[text(td) for td in row.findall(f"{NS}td")] for row in packages.iter(f"{NS}tr")]
        assert ["numpy", np.__version__] in [r[:2] for r in rows]
        for local in (str(built.repo), sys.executable, str(Path(sys.executable).parent)):
            assert local not in said, local  # no path of this machine is published
    assert built.digest in text(articles[0])
    assert articles[0].get("id") == f"run-{newest.iri.rsplit('/', 1)[-1]}"


def test_other_pages_list_no_runs(built: Built) -> None:
    root = parse(page_of(built.site, DATA))
    assert not [a for a in root.iter(f"{NS}article") if "run" in (a.get("class") or "").split()]


def _run_nodes(graph: Graph) -> set[str]:
    return {n for n, classes in graph.classes.items() if "kind-run" in classes}


def _edges(graph: Graph) -> set[tuple[str, str, str]]:
    return {(e.get("data-source") or "", e.get("data-target") or "", e.get("data-relation") or "") for e in graph.edges}


@pytest.mark.parametrize("focus", [MODEL, DATA])
def test_graph_draws_each_run_between_data_and_model(built: Built, focus: str) -> None:
    graph = Graph(page_of(built.site, focus))
    runs = _run_nodes(graph)
    assert len(runs) == 2
    edges = _edges(graph)
    for node in runs:
        assert (DATA, node, "run") in edges and (node, MODEL, "run") in edges
    assert not [e for e in edges if e[:2] == (DATA, MODEL)]  # the run stands between them
    for edge in graph.edges:
        if "run" in (edge.get("data-relation") or "").split():
            assert "rel-run" in (edge.get("class") or "").split()
            assert edge.get("marker-end") == "url(#arrow-run)"
            title = edge.find(f"{SVG}title")
            assert title is not None and RELATION_LABELS["run"] in (title.text or "")
    rows = {n: graph.boxes[n][1] for n in (DATA, MODEL, *runs)}
    assert all(rows[DATA] < rows[r] < rows[MODEL] for r in runs)  # data above, run between, model below
    assert "run" in set(LEGEND.findall(graph.html)) == graph.relations()
    assert not list(geometry_problems(graph))


def test_run_nodes_link_to_the_run_on_the_model_page(built: Built) -> None:
    graph = Graph(page_of(built.site, DATA))
    anchors = set()
    for link in graph.root.iter(f"{SVG}a"):
        if "kind-run" in (link.get("class") or "").split():
            href = link.get("href") or ""
            assert href.startswith(page_of(built.site, MODEL).name + "#run-")
            anchors.add(href.partition("#")[2])
    assert len(anchors) == 2
    ids = {e.get("id") for e in parse(page_of(built.site, MODEL)).iter()}
    assert anchors <= ids


def test_every_page_of_the_run_site_is_routed_around_its_nodes(built: Built) -> None:
    pages = sorted((built.site / "records").glob("*.html"))
    assert len(pages) >= 3  # the dataset, the model, the code and its packages
    problems = [p for page in pages for p in geometry_problems(Graph(page))]
    assert not problems, problems[:10]


def test_no_page_names_the_work_tree_by_its_absolute_path(built: Built) -> None:
    for page in built.site.rglob("*.html"):
        assert str(built.repo) not in page.read_text(encoding="utf-8"), page
