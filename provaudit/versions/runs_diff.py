"""``provaudit runs diff RUN_A RUN_B``: what differs between two training runs.

Part by part, as a reviewer asks after a complaint: the code (commit, the files changed between the
two commits when the repository is here, uncommitted files), the parameters as parameters
(``train.C 1.0 → 0.5``, DVC's ``params.yaml:`` prefix dropped as DVC shows it), the command, each
input's data version (and which files, where both runs kept file digests), the Python version and
packages, the metrics and each output's digest.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from provaudit.versions.check import not_code, param_changes, param_message, pipeline_outputs
from provaudit.versions.runs import RunRecord

PARTS = ("code", "params", "command", "data", "python", "packages", "metrics", "outputs")


@dataclass(frozen=True)
class Change:
    name: str  # the file, parameter, data path, package, metric or output it is about
    old: str | None  # in RUN_A (None: not there)
    new: str | None  # in RUN_B
    message: str


@dataclass
class RunsDiff:
    a: RunRecord
    b: RunRecord
    parts: dict[str, list[Change]] = field(default_factory=lambda: {p: [] for p in PARTS})
    skipped: set[str] = field(default_factory=set)  # changed files that are not code (bookkeeping, outputs)

    @property
    def same(self) -> bool:
        return not any(self.parts.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.a.iri,
            "b": self.b.iri,
            "same": self.same,
            **{part: [asdict(c) for c in self.parts[part]] for part in PARTS},
            "not_compared": sorted(self.skipped),
        }


def _changed_files(top: str | None, a: str, b: str) -> list[str] | None:
    """Files changed between two commits of the repository at TOP; None when it cannot tell."""
    if not top or not Path(top).is_dir():
        return None
    done = subprocess.run(
        ["git", "-C", top, "diff", "--name-only", a, b, "--"], capture_output=True, text=True, check=False
    )
    return [line for line in done.stdout.splitlines() if line.strip()] if done.returncode == 0 else None


def _versus(old: str | None, new: str | None) -> str:
    if old is None:
        return f"{new} added"
    if new is None:
        return f"{old} removed"
    return f"{old} → {new}"


def diff_runs(a: RunRecord, b: RunRecord) -> RunsDiff:
    """Every difference between run A and run B (A the earlier one, as the arrows read)."""
    found = RunsDiff(a, b)
    code = found.parts["code"]
    ca, cb = a.code, b.code
    top = cb.toplevel or ca.toplevel
    generated = pipeline_outputs(a, top) | pipeline_outputs(b, top)
    if ca.commit != cb.commit:
        moved = f"commit {(ca.commit or '?')[:12]} → {(cb.commit or '?')[:12]}"
        code.append(Change("commit", ca.commit, cb.commit, moved))
        files = _changed_files(top, ca.commit, cb.commit) if ca.commit and cb.commit else None
        for rel in files or []:
            if not_code(rel, generated):
                found.skipped.add(rel)
            else:
                code.append(Change(rel, ca.commit, cb.commit, f"file {rel} changed between the commits"))
    dirty_a = {str(d["path"]): d.get("sha256") for d in ca.dirty}
    dirty_b = {str(d["path"]): d.get("sha256") for d in cb.dirty}
    for rel in sorted(dirty_a.keys() | dirty_b.keys()):
        old, new = dirty_a.get(rel), dirty_b.get(rel)
        if rel in dirty_a and rel in dirty_b and old == new:
            continue
        if not_code(rel, generated):
            found.skipped.add(rel)
            continue
        where = "in B only" if rel not in dirty_a else "in A only" if rel not in dirty_b else "in both, differently"
        code.append(Change(rel, old, new, f"file {rel} uncommitted {where}"))
    for name, old, new in param_changes(a.params, b.params):
        found.parts["params"].append(Change(name, old, new, param_message(name, old, new)))
    if a.command != b.command:
        old_cmd, new_cmd = shlex.join(a.command), shlex.join(b.command)
        found.parts["command"].append(Change("command", old_cmd, new_cmd, f"command {old_cmd} → {new_cmd}"))
    inputs_a = {d.path: d for d in a.inputs}
    inputs_b = {d.path: d for d in b.inputs}
    for key in sorted(inputs_a.keys() | inputs_b.keys()):
        da, db = inputs_a.get(key), inputs_b.get(key)
        va, vb = (da.version if da else None), (db.version if db else None)
        if va == vb:
            continue
        found.parts["data"].append(Change(key, va, vb, f"data {key} {_versus(va, vb)}"))
        if da and db and da.entries is not None and db.entries is not None:
            for rel in sorted(da.entries.keys() | db.entries.keys()):
                old, new = da.entries.get(rel), db.entries.get(rel)
                if old != new:
                    state = "added" if old is None else "removed" if new is None else "changed"
                    found.parts["data"].append(Change(f"{key}/{rel}", old, new, f"file {key}/{rel} {state}"))
    if a.python != b.python:
        found.parts["python"].append(Change("python", a.python, b.python, f"python {_versus(a.python, b.python)}"))
    pa = {p.name: p.version for p in a.packages}
    pb = {p.name: p.version for p in b.packages}
    if pa and pb:  # an imported run may not know its environment: nothing to compare then
        for name in sorted(pa.keys() | pb.keys()):
            old, new = pa.get(name), pb.get(name)
            if old != new:
                found.parts["packages"].append(Change(name, old, new, f"package {name} {_versus(old, new)}"))
    for name in sorted(a.metrics.keys() | b.metrics.keys()):
        ma, mb = a.metrics.get(name), b.metrics.get(name)
        if ma != mb:
            old, new = (None if ma is None else f"{ma:g}"), (None if mb is None else f"{mb:g}")
            found.parts["metrics"].append(Change(name, old, new, f"metric {name} {_versus(old, new)}"))
    outs_a = {o.path: o.sha256 for o in a.outputs}
    outs_b = {o.path: o.sha256 for o in b.outputs}
    for path in sorted(outs_a.keys() | outs_b.keys()):
        oa, ob = outs_a.get(path), outs_b.get(path)
        if oa != ob or (path in outs_a) != (path in outs_b):
            found.parts["outputs"].append(Change(path, oa, ob, f"output {path} {_versus(oa, ob)}"))
    return found


def render_text(found: RunsDiff) -> str:
    lines = [f"A {found.a.iri} ({found.a.source}: {found.a.name}, {found.a.started})"]
    lines.append(f"B {found.b.iri} ({found.b.source}: {found.b.name}, {found.b.started})")
    if found.same:
        lines.append("same: code, parameters, command, data, environment, metrics and outputs")
    for part in PARTS:
        for change in found.parts[part]:
            lines.append(f"  {part:<9} {change.message}")
    if found.skipped:
        lines.append(f"  not code (bookkeeping, written by the pipeline): {', '.join(sorted(found.skipped))}")
    return "\n".join(lines) + "\n"
