"""``provaudit log query``: which predictions did this model, or this data version, affect?

Predictions are read through each log's index (:mod:`provaudit.versions.logindex`), never by a scan
of the log. A model is matched by its logged id (a record id, a name or a model file), its digest or
its version; with a store, a record id also matches every digest its runs produced. A data version
(or a dataset record id) is followed through the run store (:func:`provaudit.versions.runs.load_runs`):
the runs that used it, the runs that used their outputs, and so on; a prediction logged with only a
model id counts when the run in force at the prediction's time (the latest to end before it) is one
of those. Then ``depends_on`` is followed the other way: every prediction of the given logs that
consumed an affected prediction, through any number of steps; one that no other consumed is a final
answer.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provaudit.records.identity import clean_name, record_id
from provaudit.records.model import Kind
from provaudit.versions.logindex import IndexedLine, LogIndex
from provaudit.versions.runs import RunRecord


@dataclass(slots=True)
class Affected:
    """One affected prediction: found directly, or through ``depends_on`` (``via``: the chain of ids)."""

    line: IndexedLine
    via: list[str] = field(default_factory=list)  # ids from a directly affected prediction to this one
    final: bool = True  # no prediction of the given logs consumed it

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.line.id,
            "log": str(self.line.log),
            "file": str(self.line.file),
            "line": self.line.line,
            "time": self.line.time,
            "model": self.line.model,
            "direct": not self.via,
            "via": self.via,
            "final": self.final,
        }


@dataclass
class QueryResult:
    models: list[str] = field(default_factory=list)  # what the model/data filters resolved to
    predictions: list[Affected] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "matched_models": self.models,
            "predictions": [p.to_json() for p in self.predictions],
            "problems": self.problems,
        }


def _as_record(ref: str) -> str | None:
    """The model record id a logged model id names (None for a model file's path)."""
    if ref.startswith(f"{Kind.MODEL.value}:"):
        return ref
    if not ref or (os.path.sep in ref and Path(ref).suffix):
        return None
    return record_id(Kind.MODEL, clean_name(ref))


def model_record(model: dict[str, str], by_digest: dict[str, str]) -> str | None:
    """The record id of a logged model: the record a run made with its digest (or version), else its id's."""
    for value in (model.get("digest"), model.get("version")):
        if value and value in by_digest:
            return by_digest[value]
    return _as_record(model.get("id", ""))


def _affected_runs(runs: Sequence[RunRecord], data: str) -> list[RunRecord]:
    """Runs that used ``data`` (a data version or dataset record id), or an output of such a run, transitively."""
    versions = {data}
    found: dict[str, RunRecord] = {}
    changed = True
    while changed:
        changed = False
        for run in runs:
            if run.iri in found:
                continue
            if any(i.version in versions or (i.record and i.record in versions) for i in run.inputs):
                found[run.iri] = run
                for out in run.outputs:
                    versions |= {v for v in (out.sha256, getattr(out, "data_version", None), out.record) if v}
                changed = True
    return list(found.values())


def _ended(run: RunRecord) -> str:
    return run.ended or run.started


def query_logs(
    logs: Iterable[str | os.PathLike[str]],
    *,
    model: str | None = None,
    data: str | None = None,
    since: str | None = None,
    until: str | None = None,
    runs: Sequence[RunRecord] | None = None,
) -> QueryResult:
    """Predictions of ``logs`` made by ``model`` and/or from ``data`` within [since, until], and all downstream.

    ``runs`` (from the store) are needed for ``data`` and let a model record id match its digests.
    Each log is verified (its index re-hashed, new lines chained); a broken one is a problem.
    """
    result = QueryResult()
    keep: Callable[[str, str, str], bool] | None = None
    by_time: dict[str, list[RunRecord]] = {}  # record id → runs making it, for id-only predictions
    affected_iris: set[str] = set()
    if model is not None:
        names = {model, *filter(None, [_as_record(model)])}
        digests = {model}
        for run in runs or ():
            for out in run.outputs:
                if out.record in names and out.sha256:
                    digests.add(out.sha256)
        result.models.append(f"{model}: {', '.join(sorted(digests - {model})) or 'as logged'}")

        def keep_model(mid: str, digest: str, version: str) -> bool:
            return digest in digests or version in digests or mid in names or _as_record(mid) in names

        keep = keep_model
    if data is not None:
        affected = _affected_runs(runs or (), data)
        digests_d = {o.sha256 for r in affected for o in r.outputs if o.sha256}
        for run in affected:
            made = ", ".join(f"{o.record or o.path} @ {o.sha256}" for o in run.outputs)
            result.models.append(f"{data} → run {run.iri.rsplit('/', 1)[-1]} ({run.name}) → {made}")
        for run in runs or ():
            for out in run.outputs:
                if out.record:
                    by_time.setdefault(out.record, []).append(run)
        for made_by in by_time.values():
            made_by.sort(key=_ended)
        affected_iris = {r.iri for r in affected}
        by_model = keep

        def keep_data(mid: str, digest: str, version: str) -> bool:
            if by_model is not None and not by_model(mid, digest, version):
                return False
            if digest or version:
                return digest in digests_d or version in digests_d
            return any(r.iri in affected_iris for r in by_time.get(_as_record(mid) or "", []))

        keep = keep_data
        if not affected:
            result.problems.append(f"no run in the store used {data}")
    indexes = {os.path.abspath(log): LogIndex(log) for log in logs}
    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of small acyclic objects: the cycle collector only costs time here
    try:
        chosen: dict[tuple[str, str], Affected] = {}
        for path, index in indexes.items():
            problem = index.verify_all()
            if problem is not None:
                result.problems.append(f"{path}: chain broken at {problem}; lines after it are not evidence")
            for line in index.select(keep, since=since, until=until):
                id_only = data is not None and not (line.model.get("digest") or line.model.get("version"))
                if id_only and not _in_force(line, by_time, affected_iris):  # the run in force then
                    continue
                chosen[(path, line.id)] = Affected(line)
        frontier = dict(chosen)
        while frontier:
            wanted: dict[str, set[str]] = {}
            for log, pid in frontier:
                wanted.setdefault(pid, set()).add(log)
            step: dict[tuple[str, str], Affected] = {}
            for path, index in indexes.items():
                for line, target_log, target_id in index.dependents(wanted):
                    source = frontier[(target_log, target_id)]
                    source.final = False
                    key = (path, line.id)
                    if key not in chosen and key not in step:
                        step[key] = Affected(line, [*source.via, source.line.id])
            chosen.update(step)
            frontier = step
        result.predictions = sorted(chosen.values(), key=lambda a: (a.line.time, a.line.n))
    finally:
        if collecting:
            gc.enable()
        for index in indexes.values():
            index.close()
    return result


def _in_force(line: IndexedLine, by_time: dict[str, list[RunRecord]], affected: set[str]) -> bool:
    """An id-only prediction: was the run of its model in force at its time (the last to end before it) affected?"""
    made_by = by_time.get(_as_record(line.model.get("id", "")) or "", [])
    before = [r for r in made_by if _ended(r) <= line.time]
    return bool(before) and before[-1].iri in affected
