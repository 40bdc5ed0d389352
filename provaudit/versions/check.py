"""``provaudit check MODEL``: is what made this model still what is here?

Compares the model's training run (the run whose output has the model file's digest) with the work
tree, the Python environment and the data as they are now, and names every difference: each changed
code file, each parameter (``train.C 1.0 → 0.5``, read from ``params.yaml`` and the files the run's
parameters name, as DVC reads them), each package whose version changed, each input whose data
version changed (and, where the run kept file digests, which file), and the model file itself.

What the run and its pipeline write is not code: the run's own outputs, DVC's bookkeeping
(``dvc.lock``, ``.dvc/``, ``.dvcignore``, and ``.gitignore`` files, where DVC lists its outs) and
the outs, metrics and plots files ``dvc.yaml`` declares. So after the standard DVC workflow (``dvc repro``, commit
``dvc.lock``) a model whose code, parameters, environment and data are unchanged checks ok; a new
commit that changed only those files is a note, not a difference.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from provaudit.errors import InputError
from provaudit.records.identity import clean_name, record_id
from provaudit.records.model import Kind
from provaudit.versions.data import data_version, file_md5
from provaudit.versions.runs import (
    Output,
    RunRecord,
    RunStore,
    load_runs,
    read_environment,
    runs_generating,
    sha256_file,
)

DEFAULT_PARAMS = "params.yaml"  # DVC's default parameters file
# written by git and DVC, not code: a difference in them says nothing about what the run computed
BOOKKEEPING = frozenset({"dvc.lock", ".dvcignore", ".gitignore"})


@dataclass(frozen=True)
class Difference:
    kind: str  # code | file | param | python | package | data | output
    name: str  # the commit, file, parameter, package or data path it is about
    recorded: str | None
    current: str | None
    message: str


@dataclass
class CheckReport:
    model: str
    run: RunRecord
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what changed but does not count (bookkeeping, outputs)

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "run": self.run.iri,
            "ok": self.ok,
            "differences": [d.__dict__ for d in self.differences],
            "notes": self.notes,
        }


def digest_like(recorded: str, path: Path) -> str | None:
    """PATH's digest in the form RECORDED has: ``sha256:`` of a file, DVC's ``.dir`` hash, or a file's md5."""
    if recorded.endswith(".dir"):
        return data_version(path).dir_hash if path.is_dir() else None
    if not path.is_file():
        return None
    return sha256_file(path) if recorded.startswith("sha256:") else file_md5(path)[0]


def output_path(run: RunRecord, out: Output, top: str | None = None) -> Path:
    """Where a run's output is now: relative to TOP (else the recorded work tree) when it was inside it."""
    return _where(out.path, out.location, top or run.code.toplevel, run.code.toplevel)


def find_run(store: RunStore, model: str) -> tuple[str, RunRecord]:
    """The run that made MODEL: a record id, a model name, or the path of the model file.

    Chosen by digest: the run whose output has the model file's digest (the file given, else the
    file at the output's place now); without such a file, the latest run that made the record.
    """
    path = Path(model)
    if path.is_file():
        digest = sha256_file(path)
        runs = runs_generating(store, digest=digest)
        if runs:
            out = next(o for o in runs[0].outputs if o.sha256 == digest)
            return out.record or out.path, runs[0]
    rid = model if model.startswith(f"{Kind.MODEL.value}:") else record_id(Kind.MODEL, clean_name(model))
    runs = runs_generating(store, record=rid)
    if not runs:
        raise InputError(model, "no training run in the store made this model (record id, name or model file)")
    for candidate in runs:  # newest first: the newest run that made the file as it is now
        for out in candidate.outputs:
            if out.record == rid and out.sha256 and digest_like(out.sha256, output_path(candidate, out)) == out.sha256:
                return rid, candidate
    return rid, runs[0]


def resolve_run(store: RunStore, ref: str) -> RunRecord:
    """A run by IRI (or its end), DVC stage, MLflow run id or an output's sha256; else the run that made model REF."""
    runs = load_runs(store)
    found = [r for r in runs if ref in (r.iri, r.external_id) or r.iri.endswith("/" + ref.lstrip("/"))]
    if ref.startswith("sha256:"):  # an output's digest, as the prediction log records it
        found = runs_generating(store, digest=ref)[::-1]
    if found:
        return found[-1]
    try:
        return find_run(store, ref)[1]
    except InputError:
        raise InputError(ref, "no such run (an IRI or its end, a DVC stage, an MLflow run id, or a model)") from None


def _git(top: str, *args: str) -> list[str]:
    done = subprocess.run(["git", "-C", top, *args], capture_output=True, text=True, check=False)
    return [line for line in done.stdout.splitlines() if line.strip()] if done.returncode == 0 else []


def _git_show(top: str, commit: str, rel: str) -> str | None:
    done = subprocess.run(["git", "-C", top, "show", f"{commit}:{rel}"], capture_output=True, text=True, check=False)
    return done.stdout if done.returncode == 0 else None


def _where(recorded: str, location: str, top: str | None, recorded_top: str | None) -> Path:
    """A recorded path now: relative to the current work tree when it was inside the recorded one."""
    if top and recorded_top and not Path(recorded).is_absolute():
        return Path(top) / recorded
    return Path(location)


# --- parameters as parameters ---------------------------------------------------------------------


def flat_params(data: object, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Nested parameters as DVC names them (``train.C``), each value as JSON unless a string."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from flat_params(value, f"{prefix}{key}.")
    elif prefix:
        yield prefix.rstrip("."), data if isinstance(data, str) else json.dumps(data)


def read_params(text: str | None, name: str) -> dict[str, str] | None:
    """A parameters file's flat values (YAML, JSON or TOML by its name); None when it does not parse."""
    if text is None:
        return None
    try:
        if name.endswith(".toml"):
            data: object = tomllib.loads(text)
        elif name.endswith(".json"):
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return None
    return dict(flat_params(data)) if isinstance(data, Mapping) else None


def param_name(key: str) -> str:
    """A run's parameter key as DVC shows it: ``params.yaml:train.C`` is ``train.C``."""
    return key.removeprefix(DEFAULT_PARAMS + ":")


def param_changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[tuple[str, str | None, str | None]]:
    """(name, from, to) of every parameter added, removed or changed, by name."""
    old = {param_name(k): v for k, v in before.items()}
    new = {param_name(k): v for k, v in after.items()}
    return [(k, old.get(k), new.get(k)) for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)]


def param_message(name: str, old: str | None, new: str | None) -> str:
    if old is None:
        return f"param {name} = {new} added"
    if new is None:
        return f"param {name} = {old} removed"
    return f"param {name} {old} → {new}"


def _params_files(run: RunRecord) -> set[str]:
    """The parameters files the run's parameters name (DVC: ``params.yaml:train.C``), and params.yaml."""
    named = {k.split(":", 1)[0] for k in run.params if ":" in k}
    return {n for n in named if Path(n).suffix in {".yaml", ".yml", ".json", ".toml"}} | {DEFAULT_PARAMS}


def _param_differences(run: RunRecord, top: str, rel: str, recorded_text: str | None) -> list[Difference] | None:
    """A changed parameters file as parameter differences; None when it cannot be read as one."""
    now = read_params((Path(top) / rel).read_text(encoding="utf-8"), rel) if (Path(top) / rel).is_file() else {}
    if now is None:
        return None
    declared = {k.split(":", 1)[1]: v for k, v in run.params.items() if k.startswith(rel + ":")}
    if declared:  # a DVC stage: only the parameters it declared matter, compared with the values it recorded
        before, after = declared, {k: v for k, v in now.items() if k in declared}
    else:
        was = read_params(recorded_text, rel)
        if was is None:
            return None
        before, after = was, now
    label = "" if rel == DEFAULT_PARAMS else f"{rel}:"
    return [
        Difference("param", label + name, old, new, param_message(label + name, old, new))
        for name, old, new in param_changes(before, after)
    ]


# --- what does not count --------------------------------------------------------------------------


def _dvc_declared(top: str) -> set[str]:
    """Files and folders ``dvc.yaml`` says its stages write: outs, metrics and plots."""
    path = Path(top) / "dvc.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, yaml.YAMLError):
        return set()
    stages = data.get("stages") if isinstance(data, dict) else None
    found: set[str] = set()
    for stage in (stages or {}).values() if isinstance(stages, dict) else ():
        if not isinstance(stage, dict):
            continue
        for key in ("outs", "metrics", "plots"):
            for item in stage.get(key) or []:
                found.update(str(k) for k in (item if isinstance(item, dict) else {item: None}))
    return {f.rstrip("/") for f in found}


def _under(rel: str, paths: Iterable[str]) -> bool:
    return any(rel == p or rel.startswith(p.rstrip("/") + "/") for p in paths if p)


def pipeline_outputs(run: RunRecord, top: str | None) -> set[str]:
    """What the run and its pipeline write, relative to the work tree: its outputs and dvc.yaml's outs."""
    return {o.path for o in run.outputs if not Path(o.path).is_absolute()} | (_dvc_declared(top) if top else set())


def not_code(rel: str, generated: set[str]) -> str | None:
    """Why a changed file is not a code difference (None: it is one); GENERATED from :func:`pipeline_outputs`."""
    if Path(rel).name in BOOKKEEPING or rel.startswith(".dvc/"):
        return "bookkeeping"
    if _under(rel, generated):
        return "written by the pipeline"
    return None


# --- the check ------------------------------------------------------------------------------------


def check(model: str, *, store: RunStore, path: str | Path = ".", python: str | None = None) -> CheckReport:
    rid, run = find_run(store, model)
    report = CheckReport(model=rid, run=run)
    add = report.differences.append
    _, code, env = read_environment(path, python)
    was, now = run.code, code
    code_changed = False
    known = bool(was.commit and now.toplevel and _git(now.toplevel, "cat-file", "-t", was.commit))
    if was.commit and not known:
        where = now.toplevel or f"{path} (not a git work tree)"
        add(Difference("code", "commit", was.commit, now.commit, f"commit {was.commit[:12]} is not in {where}"))
    elif was.commit and now.toplevel:
        top = now.toplevel
        recorded_dirty = {str(d["path"]): d.get("sha256") for d in was.dirty}
        changed = set(_git(top, "diff", "--name-only", was.commit, "--"))
        changed |= set(recorded_dirty)
        inputs = [d.path for d in run.inputs if not Path(d.path).is_absolute()]
        generated = pipeline_outputs(run, top)
        params_files = _params_files(run)
        skipped: dict[str, list[str]] = {}
        for rel in sorted(changed):
            file = Path(top) / rel
            digest = sha256_file(file) if file.is_file() else None
            if rel in recorded_dirty and recorded_dirty[rel] == digest:
                continue  # uncommitted then, the same bytes now
            why = not_code(rel, generated)
            if why or _under(rel, inputs):  # inputs: compared below as data versions, file by file
                skipped.setdefault(why or "data", []).append(rel)
                continue
            if rel in params_files:
                recorded_text = None if rel in recorded_dirty else _git_show(top, was.commit, rel)
                params = _param_differences(run, top, rel, recorded_text)
                if params is not None:
                    report.differences.extend(params)
                    code_changed = code_changed or bool(params)
                    continue
            state = "removed" if digest is None else "changed"
            add(Difference("file", rel, recorded_dirty.get(rel) or was.commit, digest, f"file {rel} {state}"))
            code_changed = True
        for why, files in skipped.items():
            if why != "data":
                report.notes.append(f"not compared ({why}): {', '.join(files)}")
    if was.commit and was.commit != now.commit and known:
        message = f"commit {was.commit[:12]} → {(now.commit or '?')[:12]}"
        if code_changed:
            report.differences.insert(0, Difference("code", "commit", was.commit, now.commit, message))
        else:
            report.notes.insert(0, f"{message}: no code or parameter changed")
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
        place = _where(data.path, data.location, now.toplevel, was.toplevel)
        if not place.exists():
            add(Difference("data", data.path, data.version, None, f"data {data.path} is missing"))
            continue
        if place.is_dir():
            version = data_version(place, with_files=data.entries is not None)
            current, entries = version.dir_hash, {e.relpath: e.md5 for e in version.entries or ()}
        else:
            current, entries = file_md5(place)[0], {}
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
        model_file = output_path(run, out, now.toplevel)
        made = sha256_file(model_file) if model_file.is_file() else None
        if made != out.sha256:
            state = "missing" if made is None else "changed since the run made it"
            add(Difference("output", out.path, out.sha256, made, f"model file {out.path} {state}"))
    return report


def render_text(report: CheckReport) -> str:
    head = f"{report.model}: made by run {report.run.iri} ({report.run.started})"
    notes = [f"  note: {n}" for n in report.notes]
    if report.ok:
        return (
            "\n".join([head, "ok: code, parameters, environment and data are as the run recorded them", *notes]) + "\n"
        )
    lines = [head, f"{len(report.differences)} difference(s):"]
    lines += [f"  {d.message}" for d in report.differences]
    return "\n".join([*lines, *notes]) + "\n"
