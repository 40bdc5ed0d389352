"""Lineage graphs: routed around nodes, styled by relation, with a legend, on real sites.

Every check reads the SVG the site wrote, with an XML parser: node boxes from their shapes, edges
from their polyline points. No edge segment may touch the box of a node that is not one of its ends.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict, deque
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from provaudit import api
from provaudit.records.model import Kind, LicenseClaim, Record, Relation, Source, Upstream
from provaudit.resources import resource
from provaudit.site.build import build_site
from provaudit.site.graph import MAX_FANOUT, MAX_RANK, RELATION_LABELS, RELATION_STYLE
from provaudit.site.review import review

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
SVG = "{http://www.w3.org/2000/svg}"
LINEAGE = re.compile(r'<svg xmlns="http://www.w3.org/2000/svg" class="lineage".*?</svg>', re.S)
LEGEND = re.compile(r'<span class="legend[^"]*" data-relation="([^"]+)">')
CLEARANCE = 1.0  # a segment must stay at least this far outside every box that is not its end

Box = tuple[float, float, float, float]  # x0, y0, x1, y1
Point = tuple[float, float]


def build(targets: list[Path], out: Path) -> Path:
    records = api.collect([str(t) for t in targets])
    build_site(records, review(records), out, workers=1)
    return out


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "site"
    return build([DEMO / "datasets", DEMO / "models", DEMO / "dpi"], out)


class Graph:
    """One page's lineage SVG, read back: node boxes by id, and edges with their points and attributes."""

    def __init__(self, page: Path) -> None:
        self.page = page
        self.html = page.read_text(encoding="utf-8")
        found = LINEAGE.findall(self.html)
        assert len(found) == 1, f"{page.name}: one lineage graph"
        self.root = ET.fromstring(found[0])
        self.boxes: dict[str, Box] = {}
        self.classes: dict[str, set[str]] = {}
        for element in self.root.iter():
            node_id = element.get("data-id")
            if node_id is None:
                continue
            shape = next(c for c in element if c.tag in (f"{SVG}rect", f"{SVG}polygon"))
            self.boxes[node_id] = _box(shape)
            self.classes[node_id] = set((element.get("class") or "").split())
        self.edges = list(self.root.iter(f"{SVG}polyline"))
        self.focus = next(n for n, c in self.classes.items() if "focus" in c)

    def points(self, edge: ET.Element) -> list[Point]:
        return [(float(x), float(y)) for x, y in (p.split(",") for p in (edge.get("points") or "").split())]

    def relations(self) -> set[str]:
        return {r for e in self.edges for r in (e.get("data-relation") or "").split()}


def _box(shape: ET.Element) -> Box:
    if shape.tag == f"{SVG}rect":
        x, y = float(shape.get("x", 0)), float(shape.get("y", 0))
        return x, y, x + float(shape.get("width", 0)), y + float(shape.get("height", 0))
    xs, ys = zip(
        *((float(a), float(b)) for a, b in (p.split(",") for p in (shape.get("points") or "").split())), strict=True
    )
    return min(xs), min(ys), max(xs), max(ys)


def _crosses(a: Point, b: Point, box: Box, clearance: float = CLEARANCE) -> bool:
    """Whether segment a–b meets the box grown by ``clearance`` (Liang–Barsky clipping)."""
    x0, y0, x1, y1 = box[0] - clearance, box[1] - clearance, box[2] + clearance, box[3] + clearance
    dx, dy = b[0] - a[0], b[1] - a[1]
    low, high = 0.0, 1.0
    for p, q in ((-dx, a[0] - x0), (dx, x1 - a[0]), (-dy, a[1] - y0), (dy, y1 - a[1])):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low > high:
            return False
    return True


def _on_border(point: Point, box: Box, tolerance: float = 0.6) -> bool:
    x, y = point
    inside = box[0] - tolerance <= x <= box[2] + tolerance and box[1] - tolerance <= y <= box[3] + tolerance
    on_edge = min(abs(x - box[0]), abs(x - box[2]), abs(y - box[1]), abs(y - box[3])) <= tolerance
    return inside and on_edge


def geometry_problems(graph: Graph) -> Iterator[str]:
    """Every way the drawing misleads: an edge through another node, detached ends, shared arrow tips."""
    tips: dict[str, list[Point]] = defaultdict(list)
    for edge in graph.edges:
        source, target = edge.get("data-source") or "", edge.get("data-target") or ""
        points = graph.points(edge)
        where = f"{graph.page.name}: {source} → {target}"
        if len(points) < 2 or source not in graph.boxes or target not in graph.boxes:
            yield f"{where}: no route or unknown end"
            continue
        if not _on_border(points[0], graph.boxes[source]) or not _on_border(points[-1], graph.boxes[target]):
            yield f"{where}: does not start and end on its nodes"
        tips[target].append(points[-1])
        for node, box in graph.boxes.items():
            if node in (source, target):
                continue
            for a, b in pairwise(points):
                if _crosses(a, b, box):
                    yield f"{where}: segment {a}–{b} crosses {node}"
                    break
    for node, ends in tips.items():
        for i, a in enumerate(ends):
            for b in ends[i + 1 :]:
                if abs(a[0] - b[0]) < 4 and abs(a[1] - b[1]) < 4:
                    yield f"{graph.page.name}: two arrowheads meet in one point on {node}"


def record_pages(site: Path) -> list[Path]:
    return sorted((site / "records").glob("*.html"))


def test_no_edge_crosses_a_node_on_any_demo_page(demo_site: Path) -> None:
    pages = record_pages(demo_site)
    assert len(pages) == 23
    problems = [p for page in pages for p in geometry_problems(Graph(page))]
    assert not problems, problems[:10]


def _css_rule(selector: str) -> str:
    css = re.sub(r"/\*.*?\*/", "", resource("site", "static", "site.css").read_text(encoding="utf-8"), flags=re.S)
    rules = [
        body
        for head, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css)
        if selector in (part.strip() for part in head.split(","))
    ]
    assert rules, selector
    return " ".join(rules)


def test_evaluation_edges_look_unlike_the_base_model(demo_site: Path) -> None:
    graph = Graph(demo_site / "records" / "model-Intel--neural-chat-7b-v3-3.html")
    by_relation: dict[str, list[ET.Element]] = defaultdict(list)
    for edge in graph.edges:
        by_relation[(edge.get("data-relation") or "").split()[0]].append(edge)
    tested, base = by_relation["tested_on"], by_relation["base_model"]
    assert len(tested) == 7 and len(base) >= 2  # the seven Open LLM benchmarks; v3-1, and Mistral above it
    assert all("rel-tested_on" in (e.get("class") or "").split() and "eval" in (e.get("class") or "") for e in tested)
    assert all("rel-base_model" in (e.get("class") or "").split() for e in base)
    assert {e.get("stroke-dasharray") for e in tested} == {RELATION_STYLE["tested_on"][0]}
    assert {e.get("stroke-dasharray") for e in base} == {RELATION_STYLE["base_model"][0]}
    assert tested[0].get("marker-end") != base[0].get("marker-end")  # arrowheads shaped apart too
    # the benchmarks sit in a lane of their own and the page has a toggle for them that needs no script
    benchmarks = {e.get("data-source") for e in tested}
    assert all("eval" in graph.classes[b] for b in benchmarks if b)
    assert "v3-1" not in " ".join(b or "" for b in benchmarks)
    base_row = graph.boxes["model:Intel/neural-chat-7b-v3-1"][1]
    assert all(graph.boxes[b][1] != base_row for b in benchmarks if b)
    assert graph.root.find(f".//{SVG}rect[@class='lane lane-eval']") is not None
    assert 'id="eval-toggle" class="eval-toggle" checked' in graph.html
    assert "display: none" in _css_rule(".eval-toggle:not(:checked) ~ .graph .eval")


def test_every_edge_names_its_relation(demo_site: Path) -> None:
    for page in record_pages(demo_site):
        graph = Graph(page)
        for edge in graph.edges:
            title = edge.find(f"{SVG}title")
            relations = (edge.get("data-relation") or "").split()
            assert title is not None and relations, page.name
            for relation in relations:
                said = RELATION_LABELS["" if relation == "more" else relation]
                assert said in (title.text or ""), (page.name, title.text)


def test_arrowheads_into_one_node_end_apart(demo_site: Path) -> None:
    graph = Graph(demo_site / "records" / "model-Intel--neural-chat-7b-v3-3.html")
    ends = [graph.points(e)[-1] for e in graph.edges if e.get("data-target") == graph.focus]
    assert len(ends) == 8  # seven benchmarks and the base model
    xs = sorted(x for x, _ in ends)
    assert min(b - a for a, b in pairwise(xs)) >= 8
    top = graph.boxes[graph.focus][1]
    assert all(abs(y - top) < 0.6 for _, y in ends)  # on the border, not in one centre point


def test_downstream_shows_more_than_one_level(demo_site: Path) -> None:
    graph = Graph(demo_site / "records" / "model-mistralai--Mistral-7B-v0.1.html")
    children: dict[str, list[str]] = defaultdict(list)
    for edge in graph.edges:
        children[edge.get("data-source") or ""].append(edge.get("data-target") or "")
    depth = {graph.focus: 0}
    queue = deque([graph.focus])
    while queue:
        current = queue.popleft()
        for child in children[current]:
            if child not in depth:
                depth[child] = depth[current] + 1
                queue.append(child)
    assert depth.get("model:Intel/neural-chat-7b-v3-1") == 1
    assert depth.get("model:HuggingFaceH4/zephyr-7b-alpha") == 1
    assert depth.get("model:Intel/neural-chat-7b-v3-3") == 2  # Mistral → v3-1 → v3-3


def test_legend_lists_every_relation_present(demo_site: Path) -> None:
    seen: set[str] = set()
    for page in record_pages(demo_site):
        graph = Graph(page)
        legend = set(LEGEND.findall(graph.html))
        assert legend == graph.relations(), page.name
        seen |= legend
    assert {"base_model", "trained_on", "tested_on", "generated_by", "text_source"} <= seen
    for relation in RELATION_LABELS:  # every relation, "run" included, has a style ready
        _css_rule(f".graph .edge.rel-{relation or 'more'}")


def test_no_edge_crosses_a_node_on_any_corpus_page(shared_corpus: Path, tmp_path: Path) -> None:
    """The whole corpus (about 4,800 records): every record page's graph routed around its nodes."""
    targets = [
        shared_corpus / "hf" / "datasets",
        shared_corpus / "hf" / "models",
        shared_corpus / "dpi" / "data_summaries",
    ]
    records = api.collect([str(t) for t in targets])
    build_site(records, review(records), tmp_path / "site")
    pages = record_pages(tmp_path / "site")
    assert len(pages) == len(records) > 4000
    problems: list[str] = []
    edges = 0
    for page in pages:
        graph = Graph(page)
        edges += len(graph.edges)
        problems.extend(geometry_problems(graph))
        assert set(LEGEND.findall(graph.html)) == graph.relations(), page.name
    assert not problems, (len(problems), problems[:10])
    assert edges > 5000


# --- issue 19 item 5: ranks, bundles, relation styles, licences in nodes ---------------------------


def _model(rid: str, license_id: str, base: str | None = None, relation: Relation = Relation.FINETUNE) -> Record:
    source = Source(collector="test", file="README.md", field="license")
    return Record(
        id=rid,
        kind=Kind.MODEL,
        name=rid.split(":", 1)[1],
        claims=[LicenseClaim(raw=license_id, source=source, expression=license_id, method="hub-id")],
        upstream=[Upstream(target=base, raw=base.split(":", 1)[1], relation=relation, source=source)] if base else [],
    )


LLAMA = "model:meta-llama/Llama-2-7b-hf"
LLAMA2 = "LicenseRef-scancode-llama-2-license-2023"


@pytest.fixture(scope="module")
def popular_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A popular base as the Hub has them: 20 fine-tunes, adapters and quantizations of Llama 2, one of
    them fine-tuned again, one merge of two of them."""
    relations = [Relation.FINETUNE, Relation.ADAPTER, Relation.QUANTIZED, Relation.BASE_MODEL]
    records = [_model(LLAMA, LLAMA2)]
    records += [_model(f"model:org{i:02d}/llama-2-7b-tune", LLAMA2, LLAMA, relations[i % 4]) for i in range(20)]
    records.append(_model("model:acme/tune-of-tune", LLAMA2, "model:org00/llama-2-7b-tune"))
    merged = _model("model:acme/merged", LLAMA2, "model:org01/llama-2-7b-tune", Relation.MERGE)
    merged.upstream.append(merged.upstream[0].model_copy(update={"target": "model:org02/llama-2-7b-tune"}))
    records.append(merged)
    out = tmp_path_factory.mktemp("popular") / "site"
    build_site(records, review(records), out, workers=1)
    return out


def _page(site: Path, rid: str) -> Graph:
    kind, name = rid.split(":", 1)
    return Graph(site / "records" / f"{kind}-{name.replace('/', '--')}.html")


def test_direct_children_share_one_rank_and_fold(popular_site: Path) -> None:
    graph = _page(popular_site, LLAMA)
    children = [e.get("data-target") or "" for e in graph.edges if e.get("data-source") == graph.focus]
    rows = {graph.boxes[c][1] for c in children}
    assert len(rows) == 1, rows  # one generation, one rank: never wrapped into rows that read as generations
    assert len(children) == MAX_RANK  # as many as one rank holds, the last place for "+N more"
    (more,) = [c for c in children if c.startswith("more:")]
    shown = [c for c in children if not c.startswith("more:")]
    assert len(shown) == min(MAX_FANOUT, MAX_RANK - 1)
    label = "".join(graph.root.find(f".//*[@data-id='{more}']").itertext())
    assert f"+{20 - len(shown)} more downstream" in label
    assert not list(geometry_problems(graph))


def _segments(graph: Graph) -> list[tuple[str, Point, Point]]:
    return [(e.get("data-source", "") + ">" + e.get("data-target", ""), a, b) for e in graph.edges
            for a, b in pairwise(graph.points(e))]  # fmt: skip


def bundles(graph: Graph, gap: float = 10.0, length: float = 12.0) -> list[str]:
    """Segments of two different edges running side by side: parallel, closer than ``gap``, overlapping
    over more than ``length`` (what reads as one thick line, a bundle, not two edges)."""
    found = []
    segments = _segments(graph)
    for i, (e1, a1, b1) in enumerate(segments):
        for e2, a2, b2 in segments[i + 1 :]:
            if e1 == e2:
                continue
            d1 = (b1[0] - a1[0], b1[1] - a1[1])
            d2 = (b2[0] - a2[0], b2[1] - a2[1])
            n1, n2 = (d1[0] ** 2 + d1[1] ** 2) ** 0.5, (d2[0] ** 2 + d2[1] ** 2) ** 0.5
            if n1 < length or n2 < length or abs(d1[0] * d2[1] - d1[1] * d2[0]) > 0.03 * n1 * n2:
                continue
            ux, uy = d1[0] / n1, d1[1] / n1
            # the farther of the second segment's ends from the first's line: both close = side by side
            apart = max(abs((p[0] - a1[0]) * uy - (p[1] - a1[1]) * ux) for p in (a2, b2))
            t = sorted([0.0, n1])
            s2 = sorted([(a2[0] - a1[0]) * ux + (a2[1] - a1[1]) * uy, (b2[0] - a1[0]) * ux + (b2[1] - a1[1]) * uy])
            overlap = min(t[1], s2[1]) - max(t[0], s2[0])
            if apart < gap and overlap > length:
                found.append(f"{graph.page.name}: {e1} and {e2} run together ({apart:.1f}px apart, {overlap:.0f}px)")
    return found


def test_no_parallel_edge_bundles(demo_site: Path, popular_site: Path) -> None:
    problems = [b for site in (demo_site, popular_site) for page in record_pages(site) for b in bundles(Graph(page))]
    assert not problems, problems[:10]


def test_relations_differ_in_dash_and_arrowhead(demo_site: Path, popular_site: Path) -> None:
    styles = list(RELATION_STYLE.items())
    for i, (r1, (dash1, arrow1, filled1)) in enumerate(styles):
        for r2, (dash2, arrow2, filled2) in styles[i + 1 :]:
            assert dash1 != dash2, (r1, r2)
            assert (arrow1, filled1) != (arrow2, filled2), (r1, r2)
    # as drawn: every edge carries its relation's dash, and its marker has its relation's arrowhead
    seen: set[str] = set()
    for site in (demo_site, popular_site):
        for page in record_pages(site):
            graph = Graph(page)
            markers = {m.get("id"): m for m in graph.root.iter(f"{SVG}marker")}
            for edge in graph.edges:
                relation = (edge.get("data-relation") or "").split()[0]
                relation = next((r for r in (edge.get("data-relation") or "").split() if r != "tested_on"), relation)
                key = "" if relation == "more" else relation
                dash, arrow, filled = RELATION_STYLE[key]
                assert (edge.get("stroke-dasharray") or "") == dash, (page.name, relation)
                marker = markers[(edge.get("marker-end") or "")[len("url(#") : -1]]
                assert marker.find(f"{SVG}path").get("d") == arrow
                assert ("open" in marker.get("class", "").split()) == (not filled)
                seen.add(relation)
    assert {"finetune", "base_model", "adapter", "merge", "quantized", "trained_on", "tested_on"} <= seen


def test_every_node_names_its_licence(popular_site: Path, demo_site: Path) -> None:
    graph = _page(popular_site, LLAMA)
    for node, classes in graph.classes.items():
        if "missing" in classes or "kind-more" in classes:
            continue
        element = graph.root.find(f".//*[@data-id='{node}']")
        texts = {t.get("class"): t.text for t in element.iter(f"{SVG}text")}
        assert texts.get("license") == "Llama 2 Community Licen…ement" or "Llama 2" in (texts.get("license") or "")
    mistral = _page(demo_site, "model:mistralai/Mistral-7B-v0.1")
    element = mistral.root.find(f".//*[@data-id='{mistral.focus}']")
    assert [t.text for t in element.iter(f"{SVG}text") if t.get("class") == "license"] == ["Apache License 2.0"]
