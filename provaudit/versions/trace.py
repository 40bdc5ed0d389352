"""``provaudit trace PREDICTION_ID``: from one logged answer back to the data and its licenses.

The prediction (:func:`read_prediction`) names a model id and its digest; the run whose output has
that digest is the training run (else the latest run that made a record of that id); the model's
revision of that digest is the model version. Its review (:func:`review_records` over the model's
lineage) gives the verdict and, step by step, the datasets it was trained on with their licenses.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provaudit.errors import InputError
from provaudit.records.identity import clean_name, record_id
from provaudit.records.model import Kind, Record
from provaudit.rules.report import RecordReview
from provaudit.rules.review import review_records
from provaudit.site.paths import slugs_for
from provaudit.versions.predictions import LoggedPrediction, read_prediction
from provaudit.versions.runs import RunRecord, RunStore, runs_generating


@dataclass
class Trace:
    prediction: LoggedPrediction
    model: Record | None = None
    exact: bool = False  # the stored model revision has the prediction's digest
    run: RunRecord | None = None
    review: RecordReview | None = None
    datasets: list[RecordReview] = field(default_factory=list)
    page: str | None = None
    problems: list[str] = field(default_factory=list)

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
                "output": p.record.get("output"),
            },
            "model": None
            if self.model is None
            else {"id": self.model.id, "version": self.model.version, "exact_version": self.exact},
            "run": self.run.model_dump(mode="json") if self.run else None,
            "review": self.review.model_dump(mode="json") if self.review else None,
            "datasets": [d.model_dump(mode="json") for d in self.datasets],
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


def _lineage(records: dict[str, Record], start: str) -> list[Record]:
    """The record and everything upstream of it that the store holds (what its review needs)."""
    folded = {rid.casefold(): rid for rid in records}
    seen: dict[str, Record] = {}
    todo = [start]
    while todo:
        rid = folded.get(todo.pop().casefold())
        if rid is None or rid in seen:
            continue
        seen[rid] = records[rid]
        todo.extend(u.target for u in records[rid].upstream)
    return list(seen.values())


def trace(
    prediction_id: str, *, store: RunStore, log: str | os.PathLike[str] | None = None, policy: str = "default"
) -> Trace:
    prediction = read_prediction(log, prediction_id)
    found = Trace(prediction=prediction)
    ref = prediction.model
    digest = ref.get("digest") or ref.get("version")
    rid = _model_id(ref)
    runs = runs_generating(store, digest=digest) if digest else []
    if not runs and rid:
        runs = runs_generating(store, record=rid)
        if runs and digest:
            found.problems.append(f"no run made a model with digest {digest}; the latest run of {rid} is shown")
    found.run = runs[0] if runs else None
    if found.run is not None:
        rid = next((o.record for o in found.run.outputs if o.record and (not digest or o.sha256 == digest)), rid)
    if rid is None:
        raise InputError(str(prediction.file), f"prediction {prediction_id!r}: no run or record matches {ref}")
    records = {r.id: r for r in store.records(light=True)}
    model = records.get(rid)
    if model is not None and digest and model.version != digest:
        # retrained since: the revision the prediction's model digest names
        earlier = next((h.record for h in reversed(store.history(rid)) if h.record.version == digest), None)
        if earlier is not None:
            model = records[rid] = earlier
    if model is None:
        found.problems.append(f"{rid} is not in the store: run `provaudit run` or scan it")
        return found
    found.model = model
    found.exact = bool(digest) and model.version == digest
    if digest and not found.exact:
        found.problems.append(f"the store has no revision of {rid} with digest {digest} (it has {model.version})")
    report = review_records(_lineage(records, rid), policy)
    by_id = {r.id: r for r in report.records}
    found.review = by_id.get(rid)
    used = [d.record for d in found.run.inputs if d.record] if found.run else []
    used += [u.target for u in model.upstream if u.target not in used]
    found.datasets = [by_id[d] for d in used if d in by_id]
    found.page = f"records/{slugs_for(records)[rid]}.html"
    return found


def render_text(found: Trace, site: str | None = None) -> str:
    p = found.prediction
    lines = [f"prediction {p.id} at {p.time} ({p.file}:{p.line})"]
    lines.append(f"  model    {p.model.get('id')} {p.model.get('digest') or p.model.get('version') or ''}".rstrip())
    lines.append(f"  output   {p.record.get('output')!r}, inputs sha256 {p.record.get('input_sha256')}")
    if found.model is not None:
        exact = "exact version" if found.exact else "NOT the exact version"
        lines.append(f"model version {found.model.id} @ {found.model.version} ({exact})")
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
        for data in run.inputs:
            lines.append(f"  data     {data.path} = {data.record} @ {data.version}")
    for used in found.datasets:
        lines.append(f"trained on {used.id}: {used.use.value}, license {used.effective_license or 'none'}")
        for declared in used.declared:
            lines.append(f"  declared {declared.raw!r} → {declared.expression or '?'} ({declared.source})")
        for upstream in used.upstream:
            lines.append(f"  upstream {upstream}")
    review = found.review
    if review is not None:
        lines.append(f"verdict for {review.id}: {review.use.value}, license {review.effective_license or 'none'}")
        obligations = [
            name
            for name, on in (
                ("attribution", review.attribution),
                ("share-alike", review.share_alike),
                ("no derivatives", review.no_derivatives),
                ("use restrictions", review.use_restrictions),
            )
            if on
        ]
        if obligations:
            lines.append(f"  obligations {', '.join(obligations)}")
        for step in review.evidence:
            if step.record != review.id:
                lines.append(f"  evidence {' → '.join(step.path)}: {step.license or '-'} ({step.use or '-'})")
                if step.note:
                    lines.append(f"           {step.note}")
        if not review.complete:
            lines.append(f"  incomplete: {', '.join(u.target for u in review.unresolved)} not audited")
    if found.page:
        lines.append(f"page     {(site.rstrip('/') + '/') if site else ''}{found.page}")
    lines += [f"problem  {problem}" for problem in found.problems]
    return "\n".join(lines) + "\n"
