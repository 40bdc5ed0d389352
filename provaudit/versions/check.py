"""``provaudit check MODEL``: is what made this model still what is here?

Compares the model's latest training run with the work tree, the Python environment and the data as
they are now, and names every difference: the commit, each changed file, each package whose version
changed, each input whose data version changed (and, where the run kept file digests, which file),
and the model file itself.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provaudit.errors import InputError
from provaudit.records.identity import clean_name, record_id
from provaudit.records.model import Kind
from provaudit.versions.data import data_version, file_md5
from provaudit.versions.runs import RunRecord, RunStore, read_environment, runs_generating, sha256_file


@dataclass(frozen=True)
class Difference:
    kind: str  # code | file | python | package | data | output
    name: str  # the commit, file, package or data path it is about
    recorded: str | None
    current: str | None
    message: str


@dataclass
class CheckReport:
    model: str
    run: RunRecord
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "run": self.run.iri,
            "ok": self.ok,
            "differences": [d.__dict__ for d in self.differences],
        }


def find_run(store: RunStore, model: str) -> tuple[str, RunRecord]:
    """The latest run that made MODEL: a record id, a model name, or the path of the model file."""
    path = Path(model)
    if path.is_file():
        runs = runs_generating(store, digest=sha256_file(path))
        if runs:
            out = next(o for o in runs[0].outputs if o.sha256 == sha256_file(path))
            return out.record or out.path, runs[0]
    rid = model if model.startswith(f"{Kind.MODEL.value}:") else record_id(Kind.MODEL, clean_name(model))
    runs = runs_generating(store, record=rid)
    if not runs:
        raise InputError(model, "no training run in the store made this model (record id, name or model file)")
    return rid, runs[0]


def _git(top: str, *args: str) -> list[str]:
    done = subprocess.run(["git", "-C", top, *args], capture_output=True, text=True, check=False)
    return [line for line in done.stdout.splitlines() if line.strip()] if done.returncode == 0 else []


def _where(recorded: str, location: str, top: str | None, recorded_top: str | None) -> Path:
    """A recorded path now: relative to the current work tree when it was inside the recorded one."""
    if top and recorded_top and not Path(recorded).is_absolute():
        return Path(top) / recorded
    return Path(location)


def check(model: str, *, store: RunStore, path: str | Path = ".", python: str | None = None) -> CheckReport:
    rid, run = find_run(store, model)
    report = CheckReport(model=rid, run=run)
    add = report.differences.append
    _, code, env = read_environment(path, python)
    was, now = run.code, code
    if was.commit and was.commit != now.commit:
        add(
            Difference(
                "code", "commit", was.commit, now.commit, f"commit {was.commit[:12]} → {(now.commit or '?')[:12]}"
            )
        )
    if was.commit and now.toplevel:
        recorded_dirty = {str(d["path"]): d.get("sha256") for d in was.dirty}
        changed = set(_git(now.toplevel, "diff", "--name-only", was.commit, "--"))
        changed |= set(recorded_dirty)
        for rel in sorted(changed):
            file = Path(now.toplevel) / rel
            digest = sha256_file(file) if file.is_file() else None
            if rel in recorded_dirty and recorded_dirty[rel] == digest:
                continue  # uncommitted then, the same bytes now
            state = "removed" if digest is None else "changed"
            add(Difference("file", rel, recorded_dirty.get(rel) or was.commit, digest, f"file {rel} {state}"))
    if run.python and env.python and run.python != env.python:
        add(Difference("python", "python", run.python, env.python, f"python {run.python} → {env.python}"))
    before = {p.name: p.version for p in run.packages}
    after = {p.name: p.version for p in env.packages}
    if before:  # an imported run (MLflow, DVC) may not know its environment
        for name in sorted(before.keys() | after.keys()):
            old, new = before.get(name), after.get(name)
            if name not in after:
                add(Difference("package", name, old, None, f"package {name} {old} removed"))
            elif name not in before:
                add(Difference("package", name, None, new, f"package {name} {new} added"))
            elif old != new:
                add(Difference("package", name, old, new, f"package {name} {old} → {new}"))
    for data in run.inputs:
        where = _where(data.path, data.location, now.toplevel, was.toplevel)
        if not where.exists():
            add(Difference("data", data.path, data.version, None, f"data {data.path} is missing"))
            continue
        if where.is_dir():
            version = data_version(where, with_files=data.entries is not None)
            current, entries = version.dir_hash, {e.relpath: e.md5 for e in version.entries or ()}
        else:
            current, entries = file_md5(where)[0], {}
        if current == data.version:
            continue
        add(
            Difference("data", data.path, data.version, current, f"data {data.path} version {data.version} → {current}")
        )
        for rel in sorted((data.entries or {}).keys() | entries.keys()):
            old, new = (data.entries or {}).get(rel), entries.get(rel)
            if old != new and data.entries is not None:
                state = "added" if old is None else "removed" if new is None else "changed"
                add(Difference("file", f"{data.path}/{rel}", old, new, f"file {data.path}/{rel} {state}"))
    for out in run.outputs:
        if out.record != rid or not out.sha256 or not out.sha256.startswith("sha256:"):
            continue
        where = _where(out.path, out.location, now.toplevel, was.toplevel)
        made = sha256_file(where) if where.is_file() else None
        if made != out.sha256:
            state = "missing" if made is None else "changed since the run made it"
            add(Difference("output", out.path, out.sha256, made, f"model file {out.path} {state}"))
    return report


def render_text(report: CheckReport) -> str:
    head = f"{report.model}: made by run {report.run.iri} ({report.run.started})"
    if report.ok:
        return f"{head}\nok: code, environment and data are as the run recorded them\n"
    lines = [head, f"{len(report.differences)} difference(s):"]
    lines += [f"  {d.message}" for d in report.differences]
    return "\n".join(lines) + "\n"
