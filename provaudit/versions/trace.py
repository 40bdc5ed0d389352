"""``provaudit trace PREDICTION_ID``: from one logged answer back to the data and its licenses, as of then.

Every part of the answer is read from the revisions in effect when the model was trained, never from
today's (the store keeps every revision):

- the model version: the digest the prediction logged; for an id-only reference (``model="model:x"``),
  the version in force at the prediction's time (the latest trained before it), with every other
  version listed as a candidate and why it was not chosen;
- the training run: the one that made that digest (the latest one finished before the prediction);
- the state as of training: every record at the revision in effect right after the scan that recorded
  that model version, and each used dataset at the revision that carried the data version the run
  used; the review of that lineage is the verdict (:func:`trace_prediction`);
- since then: per record, each later change (relicensed, new upstream, new version, new verdict).

:func:`trace_prediction` is the stable entry point (one prediction; composed traces build on it),
:func:`render_text` the text a support engineer reads.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from provaudit.errors import InputError
from provaudit.records.identity import clean_name, id_from_iri, record_id
from provaudit.records.model import Kind, Record
from provaudit.rules.render import obligations
from provaudit.rules.report import RecordReview
from provaudit.rules.review import review_records
from provaudit.site.paths import slugs_for
from provaudit.store.base import RevisionInfo, ScanInfo
from provaudit.versions.asof import (
    AsOf,
    AsOfStore,
    Change,
    changes_since,
    current_lineage,
    end_of,
    moment,
    same_second,
    since_phrases,
    verdict_change,
    verdict_text,
)
from provaudit.versions.diff import scan_id
from provaudit.versions.predictions import LoggedPrediction, read_prediction
from provaudit.versions.runs import RunRecord, RunStore, load_runs

# the distributions a support engineer asks about first; the others are counted
KEY_PACKAGES = (
    "numpy",
    "scipy",
    "pandas",
    "polars",
    "scikit-learn",
    "torch",
    "tensorflow",
    "keras",
    "jax",
    "xgboost",
    "lightgbm",
    "catboost",
    "statsmodels",
    "transformers",
    "tokenizers",
    "datasets",
    "sentence-transformers",
    "onnx",
    "onnxruntime",
    "safetensors",
)


class TraceStore(AsOfStore, RunStore, Protocol):
    """What ``trace`` reads of a store: the as-of reads and the runs."""


@dataclass
class Candidate:
    """One stored version of the model an id-only prediction names, and why it was (not) chosen."""

    version: str
    revision: str
    run: str | None
    trained: str | None  # when its run finished (else when the store recorded it)
    chosen: bool = False
    why: str = ""
    started_ns: int | None = None  # when its run started, in ns (runs record it exactly)

    def after(self, when: datetime) -> bool:
        """Trained after ``when`` for certain: finished in a later second, or started after it."""
        t = moment(self.trained)
        started = self.started_ns is not None and self.started_ns > when.timestamp() * 1e9
        return started or (t is not None and t > when)

    def unsure(self, when: datetime) -> bool:
        """Finished in the same second as ``when`` and not known to have started after it."""
        t = moment(self.trained)
        return t is not None and same_second(t, when) and not self.after(when)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "revision": self.revision,
            "run": self.run,
            "trained": self.trained,
            "chosen": self.chosen,
            "why": self.why,
        }


@dataclass
class Trace:
    """One prediction traced as of its model's training (see the module docstring).

    ``exact``: the prediction logged the digest and the store has that version. ``chosen_by``:
    ``digest`` or ``time`` (id-only: the version in force at the prediction's time). ``revisions``:
    record id → the revision IRI the answer rests on. ``since``: record id → its later changes.
    """

    prediction: LoggedPrediction
    model: Record | None = None
    exact: bool = False
    run: RunRecord | None = None
    review: RecordReview | None = None
    datasets: list[RecordReview] = field(default_factory=list)
    page: str | None = None
    problems: list[str] = field(default_factory=list)
    chosen_by: str | None = None
    candidates: list[Candidate] = field(default_factory=list)
    as_of: ScanInfo | None = None
    revisions: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)  # record id → the data version the run used
    paths: dict[str, list[str]] = field(default_factory=dict)  # a dataset further up → record ids to it
    since: dict[str, list[Change]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """A complete answer: model version and run found, by digest or unambiguously by time."""
        return self.model is not None and self.run is not None and self.chosen_by is not None and not self.problems

    def _review_json(self, review: RecordReview) -> dict[str, Any]:
        data = review.model_dump(mode="json")
        data["revision"] = self.revisions.get(review.id)
        if review.id in self.versions:
            data["data_version"] = self.versions[review.id]
        if review.id in self.paths:  # not a direct input: reached through these records
            data["path"] = self.paths[review.id]
        data["since"] = [c.to_json() for c in self.since.get(review.id, [])]
        return data

    def to_json(self) -> dict[str, Any]:
        p = self.prediction
        return {
            "prediction": {
                "id": p.id,
                "time": p.time,
                "log": str(p.file),
                "line": p.line,
                "model": p.model,
                "input_sha256": p.record.get("input_sha256"),
                "inputs": p.record.get("inputs"),
                "code": p.record.get("code"),
                "output": p.record.get("output"),
            },
            "model": None
            if self.model is None
            else {
                "id": self.model.id,
                "version": self.model.version,
                "exact_version": self.exact,
                "chosen_by": self.chosen_by,
                "revision": self.revisions.get(self.model.id),
                "candidates": [c.to_json() for c in self.candidates],
            },
            "run": self.run.model_dump(mode="json") if self.run else None,
            "as_of": None
            if self.as_of is None
            else {"scan": scan_id(self.as_of.iri), "iri": self.as_of.iri, "date": self.as_of.ended},
            "review": self._review_json(self.review) if self.review else None,
            "datasets": [self._review_json(d) for d in self.datasets],
            "page": self.page,
            "problems": self.problems,
        }


def _model_id(ref: dict[str, str]) -> str | None:
    raw = ref.get("id") or ""
    if raw.startswith(f"{Kind.MODEL.value}:"):
        return raw
    if not raw or (os.path.sep in raw and Path(raw).suffix):  # a model file's path names no record
        return None
    return record_id(Kind.MODEL, clean_name(raw))


def _finished(run: RunRecord) -> datetime | None:
    return moment(run.ended) or moment(run.started)


def _in_force(runs: Sequence[RunRecord], when: datetime | None) -> RunRecord | None:
    """Of runs that made the same output, the latest finished by ``when`` (else the newest)."""
    done = [r for r in runs if when is None or ((f := _finished(r)) is not None and f <= when)]
    return (done or list(runs))[-1] if runs else None


def _candidates(history: list[RevisionInfo], runs: dict[str, RunRecord]) -> list[Candidate]:
    """One candidate per stored version of a model, oldest first."""
    out: dict[str, Candidate] = {}
    for h in history:
        version = h.record.version
        if not version or version in out:
            continue
        run = runs.get(h.record.fact("training_run") or "")
        trained = (run.ended or run.started) if run else h.generated
        out[version] = Candidate(
            version=version,
            revision=h.iri,
            run=run.iri if run else None,
            trained=trained,
            started_ns=run.started_ns if run else None,
        )
    return list(out.values())


def _choose_by_time(candidates: list[Candidate], when: datetime | None, problems: list[str]) -> Candidate | None:
    """The candidate in force at ``when``: the latest trained at or before it; the others say why not."""
    if not candidates:
        return None
    dated = sorted(candidates, key=lambda c: moment(c.trained) or datetime.min.replace(tzinfo=UTC))
    before = [c for c in dated if when is not None and moment(c.trained) is not None and not c.after(when)]
    chosen = before[-1] if before else dated[0]
    chosen.chosen = True
    if when is None:
        chosen.why = "the oldest version (the prediction's time cannot be read)"
        problems.append("the prediction has no readable time: the oldest version is shown")
        return chosen
    if not before:
        chosen.why = "the oldest version; none was trained before the prediction"
        problems.append(f"every stored version of the model was trained after the prediction ({when.isoformat()})")
    else:
        chosen.why = "in force at the prediction's time: the latest version trained before it"
    for c in dated:
        if c is not chosen:
            c.why = (
                f"trained after the prediction (finished {c.trained})"
                if c.after(when)
                else f"superseded before the prediction by {chosen.version} (finished {chosen.trained})"
            )
    problems += [
        f"version {c.version} finished in the same second as the prediction: the choice by time is not certain"
        for c in dated
        if c.unsure(when)
    ]
    return chosen


def _revision(history: list[RevisionInfo], version: str | None, when: datetime | None, run: str | None) -> RevisionInfo:
    """The revision of a model version in force at ``when``: the one ``run`` recorded if any, else the
    latest recorded by then (else the first). No version: whatever revision was in force then."""
    same = [h for h in history if version is None or h.record.version == version] or history
    pool = [h for h in same if run and h.record.fact("training_run") == run] or same
    before = [h for h in pool if when is not None and (g := moment(h.generated)) is not None and g <= when]
    return before[-1] if before else pool[0]


def _data_revisions(store: TraceStore, run: RunRecord, state: AsOf, until: datetime | None, found: Trace) -> None:
    """Point each used dataset at the revision that carried the data version the run used."""
    for data in run.inputs:
        if not data.record or not data.version:  # a model input named by id: the revision in force then
            continue
        found.versions[data.record] = data.version
        history = store.history(data.record)
        carrying = [h for h in history if h.record.version == data.version]
        if any(h.iri == state.revision(data.record) for h in carrying):
            continue
        if not carrying:
            found.problems.append(
                f"no revision of {data.record} carries data version {data.version}: "
                "its licenses are those in effect when the model was recorded"
            )
            continue
        earlier = [h for h in carrying if until is None or ((g := moment(h.generated)) is not None and g <= until)]
        state.pin(data.record, (earlier or carrying)[-1 if earlier else 0].iri)


def trace_prediction(
    prediction: LoggedPrediction,
    *,
    store: TraceStore,
    runs: Sequence[RunRecord] | None = None,
    policy: str = "default",
) -> Trace:
    """Trace one logged prediction as of its model's training (see the module docstring).

    ``runs``: every run of the store, oldest first (:func:`provaudit.versions.runs.load_runs`); give it
    when tracing many predictions so it is read once. Problems (a version the store lacks, a choice
    by time that is not certain) are in ``Trace.problems``; ``Trace.ok`` says whether the answer is
    complete. Raises :class:`InputError` when nothing in the store matches the prediction's model.
    """
    found = Trace(prediction=prediction)
    when = moment(prediction.time)
    ref = prediction.model
    digest = ref.get("digest") or ref.get("version")
    rid = _model_id(ref)
    every = list(runs) if runs is not None else load_runs(store)
    by_iri = {r.iri: r for r in every}
    made = [r for r in every if digest and any(o.sha256 == digest for o in r.outputs)]
    run = _in_force(made, when)
    if run is not None:
        rid = next((o.record for o in run.outputs if o.record and o.sha256 == digest), rid)
    if rid is None:
        raise InputError(str(prediction.file), f"prediction {prediction.id!r}: no run or record matches {ref}")
    history = store.history(rid)
    if not history:
        found.problems.append(f"{rid} is not in the store: run `provaudit run` or scan it")
        found.run = run
        return found
    candidates = _candidates(history, by_iri)
    chosen = next((c for c in candidates if digest and c.version == digest), None)
    if chosen is not None:
        chosen.chosen, chosen.why = True, "the digest the prediction logged"
        found.chosen_by, found.exact = "digest", True
        candidates = [chosen]  # the digest decides: other versions are no candidates
    else:
        if digest:
            if run is None:
                found.problems.append(f"no run made a model with digest {digest}; the version in force then is shown")
            found.problems.append(f"the store has no revision of {rid} with digest {digest}")
        chosen = _choose_by_time(candidates, when, found.problems)
        found.chosen_by = "time" if chosen is not None else None
    found.candidates = candidates
    if chosen is not None and run is None:
        run = by_iri.get(chosen.run or "") or _in_force(
            [r for r in every if any(o.sha256 == chosen.version for o in r.outputs)], when
        )
    if chosen is None:
        found.problems.append(f"no revision of {rid} records a version (digest): the one in force then is shown")
    revision = _revision(history, chosen.version if chosen else None, when, run.iri if run else None)
    found.run = run
    if run is None:
        found.problems.append(f"no training run of {rid} @ {revision.record.version} is in the store")

    # the state as of training: right after the scan that recorded this model version
    scans = store.scans()
    found.as_of = next((s for s in scans if s.iri == revision.scan), None)
    state = AsOf(store, found.as_of, scans)
    state.pin(rid, revision.iri)
    if run is not None:
        _data_revisions(store, run, state, end_of(found.as_of) if found.as_of else None, found)
    used = [d.record for d in run.inputs if d.record] if run else []
    lineage = state.lineage([rid, *used])
    model = lineage.get(rid) or revision.record
    found.model = model
    used += [u.target for u in model.upstream if u.target not in used]
    found.revisions = {r: v for r in lineage if (v := state.revision(r))}
    by_id = {r.id: r for r in review_records(lineage.values(), policy).records}
    found.review = by_id.get(rid)
    found.datasets = [by_id[d] for d in used if d in by_id]
    if found.review is not None:
        # the data behind the data: every record further up the lineage (a multi-stage pipeline), at its
        # revision then, with the path it is reached by
        for step in found.review.evidence:
            if step.record != rid and step.record not in used and step.record in by_id:
                used.append(step.record)
                found.datasets.append(by_id[step.record])
                found.paths[step.record] = step.path
                if lineage[step.record].version:
                    found.versions.setdefault(step.record, str(lineage[step.record].version))
    found.since = _since(store, found, lineage, policy)
    # slugs as the site makes them: unique over every record of the store
    ids = {i for iri in store.current_revisions() if (i := id_from_iri(iri))}
    found.page = f"records/{slugs_for(ids | set(lineage))[rid]}.html"
    return found


def _since(store: TraceStore, found: Trace, lineage: dict[str, Record], policy: str) -> dict[str, list[Change]]:
    """Each traced record's later changes, and a new verdict where the lineage now reads otherwise."""
    since = {rid: changes_since(store, rid, found.revisions[rid]) for rid in lineage}
    now = {r.id: r for r in review_records(current_lineage(store, lineage).values(), policy).records}
    for then in [*([found.review] if found.review else []), *found.datasets]:
        upstream = [c for rid in (then.id, *then.upstream) for c in since.get(rid, [])]
        change = verdict_change(then, now.get(then.id), upstream)
        if change is not None:
            since[then.id].append(change)
    return {rid: changes for rid, changes in since.items() if changes}


def trace(
    prediction_id: str, *, store: TraceStore, log: str | os.PathLike[str] | None = None, policy: str = "default"
) -> Trace:
    """Trace the prediction with this id in ``log`` (see :func:`trace_prediction`)."""
    return trace_prediction(read_prediction(log, prediction_id), store=store, policy=policy)


# --- text ---------------------------------------------------------------------------------------


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _code(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items() if v is not None)
    return _short(value)


def _packages(run: RunRecord) -> str:
    """The key ML distributions with their versions; the others counted (provaudit's own apart)."""
    versions = {p.name.lower(): p.version for p in run.packages}
    key = [name for name in KEY_PACKAGES if name in versions]
    rest = [p for p in run.packages if p.name.lower() not in key]
    tooling = sum(1 for p in rest if p.tooling)
    counted = f"{len(rest) - tooling} more" + (f", {tooling} of provaudit's own tooling" if tooling else "")
    return ", ".join(f"{name} {versions[name] or '?'}" for name in key) + (f" (+{counted})" if key else counted)


def _evidence(review: RecordReview) -> list[str]:
    """One line per path and license, naming every source that declared it (and its note once)."""
    grouped: dict[tuple[str, ...], list[str]] = {}
    notes: dict[tuple[str, ...], str | None] = {}
    for step in review.evidence:
        if step.record == review.id:
            continue
        use = step.use.value if step.use else "-"
        key = (" → ".join(step.path), step.license or "-", use)
        sources = grouped.setdefault(key, [])
        if step.source and step.source not in sources:
            sources.append(step.source)
        notes.setdefault(key, step.note)
    lines = []
    noted: set[tuple[str, str]] = set()  # a record with two licenses has one note: print it once
    for (path, license_, use), sources in grouped.items():
        said = f", declared in {'; '.join(sources)}" if sources else ""
        lines.append(f"  evidence {path}: {license_} ({use}){said}")
        note = notes[(path, license_, use)]
        if note and (path, note) not in noted:
            noted.add((path, note))
            lines.append(f"           {note}")
    return lines


def since_line(found: Trace) -> str:
    """One line: per record of the traced lineage, what changed after training (details in ``--json``)."""
    changes = [c for _, items in sorted(found.since.items()) for c in items]
    return "since then: " + (since_phrases(changes) or "nothing changed in this lineage")


def render_text(found: Trace, site: str | None = None) -> str:
    """The trace as a support engineer reads it: the prediction, the model version (and why that one),
    the run, its code, parameters and key packages, each data version with its licenses as of
    training, the verdict then, and one line of what changed since."""
    p = found.prediction
    lines = [f"prediction {p.id} at {p.time} ({p.file}:{p.line})"]
    logged = f"{p.model.get('id')} {p.model.get('digest') or p.model.get('version') or '(no digest logged)'}"
    lines.append(f"  model    {logged}")
    lines.append(f"  output   {_short(p.record.get('output'))}, inputs sha256 {p.record.get('input_sha256')}")
    if "inputs" in p.record:
        lines.append(f"  inputs   {_short(p.record['inputs'])}")
    if p.record.get("code") is not None:
        lines.append(f"  serving  {_code(p.record['code'])}")
    model = found.model
    if model is not None:
        how = {
            "digest": "exact version",
            "time": "chosen by time: the version in force at the prediction; the log names no digest"
            if not p.model.get("digest") and not p.model.get("version")
            else "NOT the exact version: the version in force at the prediction",
        }.get(found.chosen_by or "", "NOT the exact version")
        lines.append(f"model version {model.id} @ {model.version} ({how})")
        for c in found.candidates:
            if not c.chosen:
                lines.append(f"  not chosen {c.version} (run {c.run or '?'}): {c.why}")
    run = found.run
    if run is not None:
        lines.append(f"training run {run.iri} ({run.source} {run.name}, {run.status}, {run.started} → {run.ended})")
        if run.command:
            lines.append(f"  command  {' '.join(run.command)}")
        code = run.code
        dirty = f", {len(code.dirty)} uncommitted file(s)" if code.dirty else ""
        lines.append(f"  code     {code.record or '?'} commit {code.commit or '?'} ({code.branch or '-'}{dirty})")
        for key, value in sorted(run.params.items()):
            lines.append(f"  param    {key} = {value}")
        for key, number in sorted(run.metrics.items()):
            lines.append(f"  metric   {key} = {number:g}")
        lines.append(f"  python   {run.python or '?'} with {len(run.packages)} distributions")
        if run.packages:
            lines.append(f"  packages {_packages(run)}")
        for data in run.inputs:
            lines.append(f"  data     {data.path} = {data.record} @ {data.version}")
    if found.as_of is not None:
        lines.append(f"as of training: scan {scan_id(found.as_of.iri)} ({found.as_of.ended or found.as_of.started})")
    for used in found.datasets:
        version = f" @ {found.versions[used.id]}" if used.id in found.versions else ""
        via = found.paths.get(used.id)
        head = f"data from {used.id} (via {' → '.join(via[1:-1])})" if via and len(via) > 2 else f"trained on {used.id}"
        lines.append(f"{head}: {verdict_text(used)} (as of training{version})")
        for declared in used.declared:
            lines.append(f"  declared {declared.raw!r} → {declared.expression or '?'} ({declared.where()})")
        for upstream in used.upstream:
            lines.append(f"  upstream {upstream}")
    review = found.review
    if review is not None:
        lines.append(f"verdict for {review.id}: {verdict_text(review)} (as of training)")
        if obligations(review):
            lines.append(f"  obligations {', '.join(obligations(review))}")
        lines += _evidence(review)
        if not review.complete:
            lines.append(f"  incomplete: {', '.join(u.target for u in review.unresolved)} not audited")
    if model is not None:
        lines.append(since_line(found))
    if found.page:
        lines.append(f"page     {(site.rstrip('/') + '/') if site else ''}{found.page}")
    lines += [f"problem  {problem}" for problem in found.problems]
    return "\n".join(lines) + "\n"
