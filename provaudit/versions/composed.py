"""Composed models: a prediction made from other predictions, traced through every model involved.

A prediction logged with ``depends_on`` consumed the outputs of earlier predictions (of the same log,
or ``other.jsonl#ID`` of another). :func:`trace_graph` traces each prediction with
:func:`provaudit.versions.trace.trace_prediction` (its model version, run, data and licences as of
training)
and follows ``depends_on`` through any number of steps. The answer's verdict is the most restrictive
over every model and dataset involved; ``decided_by`` is the path to the record that decided it:
the models along the prediction graph, then the evidence path inside the deciding model's review.

A reference to a prediction that is in no log, or in a log whose chain is broken up to it, is a
problem of the prediction that names it: the graph is never silently shortened.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provaudit.errors import InputError, ProvauditError
from provaudit.licenses.kb import Use
from provaudit.records.identity import record_iri
from provaudit.records.model import Record
from provaudit.rules.report import RecordReview
from provaudit.store.base import QueryResult, RevisionInfo, ScanInfo
from provaudit.versions.predictions import ChainBroken, LoggedPrediction, log_path, read_prediction, split_ref
from provaudit.versions.runs import RunRecord, load_runs
from provaudit.versions.trace import Trace, TraceStore, trace_prediction

MAX_DEPTH = 64


class _Snapshot:
    """A store read by one graph walk: what every node asks again (scans, current revisions, histories,
    records) is read once. The walk only reads, and one answer should rest on one state of the store.
    """

    def __init__(self, store: TraceStore) -> None:
        self._store = store
        self._cache: dict[tuple[str, Any], Any] = {}

    def _once(self, key: tuple[str, Any], read: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = read()
        return self._cache[key]

    def scans(self) -> list[ScanInfo]:
        return list(self._once(("scans", None), self._store.scans))

    def current_revisions(self, only: str | None = None) -> dict[str, str]:
        # one read of every record's current revision answers the one-record questions too
        every: dict[str, str] = self._once(("current", None), self._store.current_revisions)
        if only is None:
            return dict(every)
        return {only: every[only]} if only in every else {}

    def history(self, record_id: str) -> list[RevisionInfo]:
        return list(self._once(("history", record_id), lambda: self._store.history(record_id)))

    def record(self, record_id: str) -> Record | None:
        revision = self.current_revisions().get(record_iri(record_id))
        found: Record | None = (
            self._once(("record", revision), lambda: self._store.record_at(revision)) if revision else None
        )
        return found

    def query(self, sparql: str) -> QueryResult:
        return self._store.query(sparql)

    def records_at(self, scan: str, *, light: bool = False, only: Collection[str] | None = None) -> list[Record]:
        return self._store.records_at(scan, light=light, only=only)

    def record_at(self, revision: str, *, light: bool = False) -> Record | None:
        return self._store.record_at(revision, light=light)

    def records(self, *, light: bool = False) -> Iterator[Record]:
        return self._store.records(light=light)

    def begin_scan(self, targets: list[str], options: dict[str, object]) -> Any:
        raise ProvauditError("a trace only reads the store")

    def commit_graph(self, graph: str, ntriples: bytes) -> None:
        raise ProvauditError("a trace only reads the store")


@dataclass
class Node:
    """One prediction of the graph: its trace, the predictions it consumed, and the broken links."""

    log: Path
    trace: Trace
    upstream: list[Node] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # references that could not be followed

    @property
    def model_id(self) -> str:
        t = self.trace
        return t.model.id if t.model is not None else str(t.prediction.model.get("id") or "?")


@dataclass(frozen=True)
class Answer:
    """The verdict of a final answer over every model and dataset it depended on."""

    use: Use
    effective_license: str | None
    decided_by: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"use": self.use.value, "effective_license": self.effective_license, "decided_by": self.decided_by}


def trace_graph(
    prediction_id: str,
    *,
    store: TraceStore,
    log: str | os.PathLike[str] | None = None,
    policy: str = "default",
) -> Node:
    """The prediction and, through ``depends_on``, every prediction it consumed (each traced once).

    The root's own log must hold it with an intact chain (:class:`ChainBroken`, :class:`InputError`
    otherwise); an upstream that cannot be read is a problem of the prediction naming it.
    """
    root_log = Path(log_path(log))
    done: dict[tuple[Path, str], Node] = {}
    store = _Snapshot(store)
    runs = load_runs(store)  # read once for every prediction of the graph

    def traced(prediction: LoggedPrediction) -> Trace:
        return trace_prediction(prediction, store=store, runs=runs, policy=policy)

    def visit(node: Node, path: tuple[tuple[Path, str], ...]) -> None:
        p = node.trace.prediction
        for ref in p.depends_on:
            target_log, target_id = split_ref(ref, node.log)
            key = (Path(os.path.abspath(target_log)), target_id)
            where = f"depends_on {ref!r} of prediction {p.id} ({p.file.name}:{p.line})"
            if key in path:
                node.problems.append(f"{where}: a cycle back to a prediction that depends on this one")
                continue
            if len(path) >= MAX_DEPTH:
                node.problems.append(f"{where}: more than {MAX_DEPTH} steps of depends_on; not followed")
                continue
            child = done.get(key)
            if child is None:
                try:
                    upstream = read_prediction(*key)
                except ChainBroken as exc:
                    node.problems.append(f"{where}: {exc} (fails verification; not traced)")
                    continue
                except InputError as exc:
                    node.problems.append(f"{where}: not found: {exc}")
                    continue
                try:
                    found = traced(upstream)
                except InputError as exc:
                    node.problems.append(f"{where}: cannot be traced: {exc}")
                    continue
                child = done[key] = Node(key[0], found)
                visit(child, (*path, key))
            if child.trace.prediction.time > p.time:
                node.problems.append(f"{where}: logged at {child.trace.prediction.time}, after the prediction using it")
            node.upstream.append(child)

    root = Node(root_log, traced(read_prediction(root_log, prediction_id)))
    visit(root, ((root_log, prediction_id),))
    return root


def walk(node: Node) -> Iterator[Node]:
    """Every node once, the root first (depth first, in ``depends_on`` order)."""
    seen: set[int] = set()
    todo = [node]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(reversed(current.upstream))


def complete(node: Node) -> bool:
    """Every prediction of the graph traced to its exact model version and run, and every link followed."""
    return all(n.trace.ok and not n.problems for n in walk(node))


def _deciding_path(review: RecordReview) -> list[str]:
    """Record ids from the reviewed record to the one whose terms set its use (the record alone if itself)."""
    steps = [s for s in review.evidence if s.use == review.use and s.record != review.id]
    if not steps:
        return [review.id]
    step = max(steps, key=lambda s: len(s.path))
    return step.path if step.path and step.path[0] == review.id else [review.id, *step.path]


def _candidates(node: Node, models: list[str], seen: set[int]) -> Iterator[tuple[Use, str | None, list[str]]]:
    """(use, licence, path) of every model and dataset of the graph, in graph order."""
    if id(node) in seen:
        return
    seen.add(id(node))
    t = node.trace
    here = [*models, node.model_id]
    if t.review is None:
        yield Use.UNSPECIFIED, None, here  # not in the store: nothing says it may be used
    else:
        yield t.review.use, t.review.effective_license, [*models, *_deciding_path(t.review)]
    for data in t.datasets:
        yield data.use, data.effective_license, [*here, data.id]
    for up in node.upstream:
        yield from _candidates(up, here, seen)


def _and(licenses: list[str]) -> str | None:
    """Distinct SPDX expressions joined with AND (compound ones in parentheses), sorted."""
    parts = sorted({f"({x})" if " OR " in x or " AND " in x else x for x in licenses})
    return " AND ".join(parts) or None


def answer(node: Node) -> Answer:
    """The most restrictive use over the graph (the first found in graph order on a tie) and its path."""
    found = list(_candidates(node, [], set()))
    use, _, path = found[0]
    for candidate_use, _, candidate_path in found[1:]:
        if candidate_use.restrictiveness > use.restrictiveness:
            use, path = candidate_use, candidate_path
    return Answer(use, _and([lic for _, lic, _ in found if lic]), path)


def to_json(node: Node) -> dict[str, Any]:
    """The trace JSON of one prediction with ``upstream_predictions`` (the same objects) and ``answer``."""
    out = node.trace.to_json()
    out["problems"] = [*out.get("problems", []), *node.problems]
    out["upstream_predictions"] = [to_json(up) for up in node.upstream]
    out["answer"] = answer(node).to_json()
    return out


def _summary(node: Node) -> list[str]:
    """The lines of one node in the tree: model version and run, then each data version with its licences."""
    t = node.trace
    p = t.prediction
    version = (t.model.version if t.model else None) or p.model.get("digest") or p.model.get("version") or "?"
    version = version if len(version) <= 24 else version[:23] + "…"  # the full digest is in each trace
    verdict = f"{t.review.use.value}, license {t.review.effective_license or 'none'}" if t.review else "not reviewed"
    run = f"run {t.run.iri.rsplit('/', 1)[-1]}" if t.run else "no run"
    exact = "" if t.ok else " (not certain: see its problems)"
    lines = [f"prediction {p.id}: {node.model_id} @ {version} ({run}){exact}: {verdict}"]
    reviews = {d.id: d for d in t.datasets}
    inputs = list(t.run.inputs) if t.run else []
    for data in inputs:
        review = reviews.pop(data.record or "", None)
        licence = f": {review.use.value}, license {review.effective_license or 'none'}" if review else ""
        lines.append(f"data {data.record or data.path} @ {data.version}{licence}")
    for review in reviews.values():
        lines.append(f"data {review.id}: {review.use.value}, license {review.effective_license or 'none'}")
    return lines


def render_tree(node: Node) -> str:
    """Every model involved as a small text tree, then the answer and the deciding path."""
    lines = ["every model involved:"]

    def draw(current: Node, lead: str, tail: str, seen: set[int]) -> None:
        first, *rest = _summary(current)
        lines.append(f"{lead}{first}" + (" (shown above)" if id(current) in seen else ""))
        if id(current) in seen:
            return
        seen.add(id(current))
        for line in rest:
            lines.append(f"{tail}{'│  ' if current.upstream else '   '}{line}")
        for i, up in enumerate(current.upstream):
            last = i == len(current.upstream) - 1
            draw(up, tail + ("└─ " if last else "├─ "), tail + ("   " if last else "│  "), seen)

    draw(node, "  ", "  ", set())
    result = answer(node)
    lines.append(f"answer: {result.use.value}, license {result.effective_license or 'none'}")
    lines.append(f"  decided by {' → '.join(result.decided_by)}")
    for current in walk(node):
        lines += [f"problem  {problem}" for problem in current.problems]
    return "\n".join(lines) + "\n"


def used_by(
    logs: Iterable[str | os.PathLike[str]], runs: Sequence[RunRecord]
) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Which models consume each model's predictions, from the ``depends_on`` links of ``logs``.

    Returns (upstream model record id → {consuming model record id: number of links}, problems). A
    logged model is its record by digest (the run that made it), else by its id.
    """
    from provaudit.versions.logindex import LogIndex
    from provaudit.versions.logquery import model_record

    by_digest = {o.sha256: o.record for r in runs for o in r.outputs if o.sha256 and o.record}
    links: list[tuple[Path, str, dict[str, str]]] = []
    problems: list[str] = []
    for log in logs:
        with LogIndex(log) as index:
            problem = index.verify_all()
            if problem is not None:
                problems.append(f"{log}: chain broken at {problem}; links after it are not shown")
            links += index.links()
    wanted: dict[Path, set[str]] = {}
    for target, pid, _ in links:
        wanted.setdefault(target, set()).add(pid)
    upstream: dict[tuple[Path, str], dict[str, str]] = {}
    for target, ids in wanted.items():
        try:
            with LogIndex(target) as index:
                upstream.update({(target, pid): m for pid, m in index.models_of(ids).items()})
        except InputError as exc:
            problems.append(f"depends_on names {len(ids)} prediction(s) of {exc}")
    found: dict[str, dict[str, int]] = {}
    for target, pid, model in links:
        source = upstream.get((target, pid))
        up, down = model_record(source, by_digest) if source else None, model_record(model, by_digest)
        if up and down and up != down:
            found.setdefault(up, {}).setdefault(down, 0)
            found[up][down] += 1
    return found, problems
