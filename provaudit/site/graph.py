"""Lineage graphs drawn at build time as inline SVG (readable with JavaScript off).

Each record page shows its neighbourhood: upstream records up to a few links away, and the records
that depend on it. igraph's Sugiyama layout places the nodes in layers (sources on top); the SVG
draws every node as a link to its page, shaped by kind and coloured by use category. Upstream ids
with no record are drawn dashed as "missing". Layouts are cached by neighbourhood, so records that
share one (a parent and its only child, every isolated record) are laid out once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from html import escape

import igraph
from markupsafe import Markup

from provaudit.records.identity import split_id
from provaudit.records.model import Kind

NODE_W, NODE_H = 176, 38
H_GAP, V_GAP = 22, 46
MARGIN = 12
LABEL_CHARS = 24
UP_DEPTH, DOWN_DEPTH = 3, 1
MAX_FANOUT = 14  # neighbours shown per node and direction; the rest are summed up in a "+N more" node
MAX_ROW = 5  # nodes side by side; a wider level wraps into more rows so pages stay narrow


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    kind: str  # a Kind value, or "more"
    use: str  # a Use value, or "missing" / "more"
    href: str | None
    missing: bool = False


@dataclass(frozen=True)
class Edge:
    source: str  # the upstream record
    target: str  # the record that depends on it
    relation: str


class LineageIndex:
    """Upstream and downstream links of every record, for neighbourhood look-ups."""

    def __init__(
        self,
        upstream: dict[str, list[tuple[str, str]]],
        known: dict[str, str],
        href: Callable[[str], str | None],
    ) -> None:
        """upstream: record id → [(upstream id, relation)]; known: record id → use category."""
        self.up = upstream
        self.known = known
        self.href = href
        self.down: dict[str, list[tuple[str, str]]] = {}
        for rid, links in upstream.items():
            for target, relation in links:
                self.down.setdefault(target, []).append((rid, relation))
        for links in self.down.values():
            links.sort()

    def node(self, rid: str) -> Node:
        kind, name = _split(rid)
        missing = rid not in self.known
        return Node(
            id=rid,
            label=name,
            kind=kind,
            use="missing" if missing else self.known[rid],
            href=None if missing else self.href(rid),
            missing=missing,
        )

    def neighbourhood(self, rid: str, more_href: str | None = None) -> tuple[list[Node], list[Edge]]:
        """Nodes and edges around a record: upstream up to UP_DEPTH links, downstream up to DOWN_DEPTH."""
        nodes: dict[str, Node] = {rid: self.node(rid)}
        edges: set[Edge] = set()
        for links, depth, upward in ((self.up, UP_DEPTH, True), (self.down, DOWN_DEPTH, False)):
            queue: deque[tuple[str, int]] = deque([(rid, 0)])
            seen = {rid}
            while queue:
                current, level = queue.popleft()
                if level >= depth:
                    continue
                neighbours = _unique(links.get(current, []))
                for other, relation in neighbours[:MAX_FANOUT]:
                    nodes.setdefault(other, self.node(other))
                    edges.add(Edge(other, current, relation) if upward else Edge(current, other, relation))
                    if other not in seen:
                        seen.add(other)
                        queue.append((other, level + 1))
                hidden = len(neighbours) - MAX_FANOUT
                if hidden > 0:
                    more = f"more:{'up' if upward else 'down'}:{current}"
                    label = f"+{hidden} more {'upstream' if upward else 'downstream'}"
                    href = more_href if current == rid else self.href(current)
                    nodes[more] = Node(id=more, label=label, kind="more", use="more", href=href)
                    edges.add(Edge(more, current, "") if upward else Edge(current, more, ""))
        return list(nodes.values()), sorted(edges, key=lambda e: (e.source, e.target, e.relation))


def _split(rid: str) -> tuple[str, str]:
    try:
        kind, name = split_id(rid)
        return kind.value, name
    except ValueError:
        return Kind.DATASET.value, rid


def _unique(links: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """One link per neighbour (a model may list a dataset as trained_on and tested_on): relations joined."""
    merged: dict[str, list[str]] = {}
    for other, relation in links:
        merged.setdefault(other, [])
        if relation not in merged[other]:
            merged[other].append(relation)
    return [(other, ", ".join(relations)) for other, relations in merged.items()]


Layout = tuple[tuple[tuple[float, float], ...], tuple[tuple[tuple[float, float], ...], ...]]


def layers_for(count: int, pairs: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    """Layer of each node: edges always point down, wide layers wrap into rows of at most MAX_ROW.

    Longest-path layering from the sources (cycles, which real metadata has, are broken by dropping the
    edge that closes them), then every source moves down next to its highest successor so a dataset
    used only by the focus sits right above it rather than at the top of the picture.
    """
    succ: list[list[int]] = [[] for _ in range(count)]
    pred: list[list[int]] = [[] for _ in range(count)]
    state = [0] * count  # 0 new, 1 on the stack, 2 done
    order: list[int] = []
    for a, b in pairs:
        succ[a].append(b)
    for root in range(count):
        if state[root]:
            continue
        stack = [(root, iter(succ[root]))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                order.append(node)
                stack.pop()
            elif state[nxt] == 0:
                pred[nxt].append(node)
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
            elif state[nxt] == 2:
                pred[nxt].append(node)
            # state 1: a cycle; that edge is not used for layering
    order.reverse()  # topological order of the acyclic part
    level = [0] * count
    for node in order:
        level[node] = max((level[p] + 1 for p in pred[node]), default=0)
    kept = [[b for b in succ[a] if a in pred[b]] for a in range(count)]
    for node in reversed(order):
        if not pred[node] and kept[node]:
            level[node] = min(level[b] for b in kept[node]) - 1
    by_level: dict[int, list[int]] = {}
    for node in range(count):
        by_level.setdefault(level[node], []).append(node)
    rows = [0] * count
    layer = 0
    for value in sorted(by_level):
        members = by_level[value]
        for k, node in enumerate(members):
            rows[node] = layer + k // MAX_ROW
        layer += -(-len(members) // MAX_ROW)
    return tuple(rows)


@lru_cache(maxsize=4096)
def _layout(count: int, pairs: tuple[tuple[int, int], ...], layers: tuple[int, ...]) -> Layout:
    """Sugiyama positions (in layer/slot units) of the nodes and the bend points of each edge."""
    graph = igraph.Graph(n=count, edges=list(pairs), directed=True)
    layout = graph.layout_sugiyama(layers=list(layers))
    coords = tuple((float(x), float(y)) for x, y in layout.coords[:count])
    routing = getattr(layout, "edge_routing", None) or [[] for _ in pairs]
    bends = tuple(tuple((float(x), float(y)) for x, y in points) for points in routing)
    return coords, bends


def _compact(coords: tuple[tuple[float, float], ...]) -> list[float]:
    """Slot of each node: Sugiyama's order within each layer, packed side by side and centred.

    igraph reserves slots for the dummy vertices of long edges, which spreads a wide fan of
    records over thousands of pixels; packing keeps every graph within MAX_ROW nodes of width.
    Edges are then drawn straight (under the nodes).
    """
    layers: dict[float, list[int]] = {}
    for i, (_, y) in enumerate(coords):
        layers.setdefault(y, []).append(i)
    widest = max((len(m) for m in layers.values()), default=1)
    slots = [0.0] * len(coords)
    for members in layers.values():
        members.sort(key=lambda i: coords[i][0])
        offset = (widest - len(members)) / 2
        for k, i in enumerate(members):
            slots[i] = offset + k
    return slots


def _truncate(text: str, limit: int = LABEL_CHARS) -> str:
    """Cut in the middle: versions and sizes at the end of names (v3-1, v3-3, 7B) tell nodes apart."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[-(limit - 1 - head) :]


def _label(node: Node, x: float, y: float) -> str:
    """One line, or the owner small above the name for ``owner/name`` ids."""
    cx, cy = x + NODE_W / 2, y + NODE_H / 2
    owner, _, name = node.label.rpartition("/") if node.kind != "more" else ("", "", node.label)
    if not owner:
        return (
            f'<text x="{cx:.0f}" y="{cy:.0f}" text-anchor="middle" dominant-baseline="central">'
            f"{escape(_truncate(node.label))}</text>"
        )
    return (
        f'<text x="{cx:.0f}" y="{cy - 7:.0f}" text-anchor="middle" dominant-baseline="central" class="owner">'
        f"{escape(_truncate(owner, LABEL_CHARS + 4))}</text>"
        f'<text x="{cx:.0f}" y="{cy + 7:.0f}" text-anchor="middle" dominant-baseline="central">'
        f"{escape(_truncate(name))}</text>"
    )


def _shape(kind: str, x: float, y: float, w: float, h: float) -> str:
    """The node outline: pill for datasets, box for models, hexagon for families, slanted for code."""
    if kind == Kind.DATASET.value:
        return f'<rect x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" height="{h:.0f}" rx="{h / 2:.0f}"/>'
    if kind == Kind.FAMILY.value:
        d = h / 2
        pts = [(x + d, y), (x + w - d, y), (x + w, y + d), (x + w - d, y + h), (x + d, y + h), (x, y + d)]
    elif kind == Kind.CODE.value:
        d = 10
        pts = [(x + d, y), (x + w, y), (x + w - d, y + h), (x, y + h)]
    elif kind == Kind.PACKAGE.value:
        d = 8
        pts = [
            (x + d, y),
            (x + w - d, y),
            (x + w, y + d),
            (x + w, y + h - d),
            (x + w - d, y + h),
            (x + d, y + h),
            (x, y + h - d),
            (x, y + d),
        ]
    else:
        radius = 2 if kind == Kind.MODEL.value else 6
        return f'<rect x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" height="{h:.0f}" rx="{radius}"/>'
    return '<polygon points="' + " ".join(f"{px:.0f},{py:.0f}" for px, py in pts) + '"/>'


def _kind_text(node: Node) -> str:
    if node.kind == "more":
        return "more records"
    state = "missing (no record) " if node.missing else ""
    return f"{state}{node.kind}, use: {node.use}" if not node.missing else f"{state}{node.kind}"


def render_svg(focus: str, nodes: list[Node], edges: list[Edge], title: str) -> Markup:
    """The neighbourhood as an accessible SVG: a titled group of links, one per node."""
    order = sorted(nodes, key=lambda n: n.id)
    index = {n.id: i for i, n in enumerate(order)}
    pairs = tuple((index[e.source], index[e.target]) for e in edges)
    coords, _ = _layout(len(order), pairs, layers_for(len(order), pairs))
    slots = _compact(coords)
    step_x, step_y = NODE_W + H_GAP, NODE_H + V_GAP
    xs = [MARGIN + x * step_x for x in slots]
    ys = [MARGIN + y * step_y for _, y in coords]
    width = int(max(xs, default=0) + NODE_W + MARGIN)
    height = int(max(ys, default=0) + NODE_H + MARGIN)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" role="group" aria-labelledby="lineage-title" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f'<title id="lineage-title">{escape(title)}</title>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path class="arrowhead" d="M0,0 L10,5 L0,10 z"/></marker></defs>',
        '<g class="edges">',
    ]
    for edge, (s, t) in zip(edges, pairs, strict=True):
        sx, sy, tx, ty = xs[s] + NODE_W / 2, ys[s], xs[t] + NODE_W / 2, ys[t]
        down = ty >= sy
        path = f"{sx:.0f},{sy + NODE_H if down else sy:.0f} {tx:.0f},{ty if down else ty + NODE_H:.0f}"
        label = escape(edge.relation.replace("_", " ")) if edge.relation else "more"
        out.append(f'<polyline class="edge" points="{path}" marker-end="url(#arrow)"><title>{label}</title></polyline>')
    out.append('</g><g class="nodes">')
    for node, i in ((n, index[n.id]) for n in order):
        x, y = xs[i], ys[i]
        classes = f"node kind-{node.kind} use-{node.use}" + (" missing" if node.missing else "")
        classes += " focus" if node.id == focus else ""
        name = f"{node.label} ({_kind_text(node)})"
        shape = _shape(node.kind, x, y, NODE_W, NODE_H)
        text = _label(node, x, y)
        inner = f"<title>{escape(name)}</title>{shape}{text}"
        if node.href and node.id != focus:
            out.append(f'<a class="{classes}" href="{escape(node.href)}" aria-label="{escape(name)}">{inner}</a>')
        else:
            out.append(f'<g class="{classes}" role="img" aria-label="{escape(name)}">{inner}</g>')
    out.append("</g></svg>")
    return Markup("".join(out))
