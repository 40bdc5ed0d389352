"""Import the runs teams already record: DVC pipelines and MLflow tracking, as provaudit runs.

One entry point, ``provaudit runs import SOURCE``:

- ``dvc.lock`` (or the folder holding it): one run per stage, in dependency order, with its command,
  params and every dep and out with DVC's own hash; the dep's data version *is* that hash
  (``<md5>.dir`` for a folder, as :func:`provaudit.versions.data.data_version` computes it too). A
  stage's outs are records (model files: ``model:``; anything else: ``dataset:`` derived from the
  stage's data), so a later stage whose dep has an earlier out's md5 inherits its lineage. The code
  version is the git commit that last changed ``dvc.lock``.
- MLflow: a ``mlruns/`` folder (read with ``MLFLOW_ALLOW_FILE_STORE=true``: MLflow 3 refuses its own
  file store otherwise) or a tracking URI (``sqlite:///mlflow.db``, ``http://...``) through
  ``mlflow-skinny``'s client (``pip install 'provaudit[mlflow]'``): params, metrics, tags,
  ``mlflow.source.git.commit``, logged dataset inputs and artifacts. A logged dataset keeps what was
  logged: today's folder only when nothing in it changed since the run started, else its files as of
  the logged git commit when git holds them, else MLflow's own digest -- never today's changed folder.

Imports are idempotent: a stage (the lock's entry for it) or an MLflow run id always gives the same
run IRI, and importing it again returns the run already stored. A run whose outputs have the digest of
a run provaudit recorded natively (``provaudit.run`` inside the DVC stage) *is* that run: the import is
kept as an alias of it, so one artifact has one run and one record.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml
from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, serialize

from provaudit.errors import InputError, ProvauditError
from provaudit.records.identity import ID_BASE, record_id
from provaudit.records.model import Kind, Record, Relation
from provaudit.store.vocab import DCT, PA
from provaudit.versions.data import file_md5
from provaudit.versions.runs import (
    CodeVersion,
    DataInput,
    Made,
    Output,
    RunRecord,
    RunStore,
    commit_run,
    dataset_record,
    iso,
    load_run,
    made_outputs,
    measure_input,
    opened,
    relative_path,
    sha256_file,
)

MODEL_SUFFIXES = frozenset(
    {".pkl", ".joblib", ".safetensors", ".pt", ".pth", ".onnx", ".h5", ".keras", ".bin", ".npz", ".ckpt", ".gguf"}
)
CODE_SUFFIXES = frozenset({".py", ".sh", ".ipynb", ".r", ".jl", ".yaml", ".yml", ".toml", ".json", ".cfg"})


@dataclass
class Imported:
    """One run read from a tracker, with the records it makes, before it is written."""

    run: RunRecord
    inputs: list[Record] = field(default_factory=list)
    made: list[Made] = field(default_factory=list)


@dataclass
class Outcome:
    """What importing one run did: ``imported``, ``already imported`` or ``same as run <iri>``."""

    run: RunRecord
    outcome: str


def _import_iri(kind: str, key: str) -> str:
    return f"{ID_BASE}run/{kind}-{hashlib.sha256(key.encode()).hexdigest()[:20]}"


def _flat(data: object, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from _flat(value, f"{prefix}{key}.")
    else:
        yield prefix.rstrip("."), data if isinstance(data, str) else json.dumps(data)


def _git(root: Path, *args: str) -> str | None:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    return done.stdout.strip() or None if done.returncode == 0 else None


def _input(path: Path, shown: str, version: str, files: int = 1, size: int = 0) -> tuple[DataInput, Record | None]:
    """A dep as DVC or MLflow recorded it; a local data folder or file also becomes a dataset record."""
    data = DataInput(path=shown, location=str(path.resolve()), version=version, files=files, size=size)
    if path.suffix.lower() in CODE_SUFFIXES or not path.exists():
        data.relation = Relation.USES.value
        return data, None
    record = dataset_record(path, version)
    data.record = record.id
    return data, record


# --- DVC ----------------------------------------------------------------------------------------


def _stage_order(stages: dict[str, Any]) -> list[str]:
    """Stages so that one whose dep is another's out (same md5) comes after it; ties keep the lock's order."""
    made_by = {
        str(out.get("md5")): name
        for name, stage in stages.items()
        if isinstance(stage, dict)
        for out in stage.get("outs") or []
        if isinstance(out, dict) and out.get("md5")
    }
    order: list[str] = []

    def visit(name: str, stack: tuple[str, ...]) -> None:
        if name in order or name in stack:
            return
        for dep in stages[name].get("deps") or []:
            before = made_by.get(str(dep.get("md5"))) if isinstance(dep, dict) else None
            if before is not None and before != name:
                visit(before, (*stack, name))
        order.append(name)

    for name, stage in stages.items():
        if isinstance(stage, dict):
            visit(name, ())
    return order


def _dvc_cached(root: Path, md5: str) -> Path | None:
    """The DVC cache's copy of a file by md5 (DVC 3 ``files/md5/``, DVC 2 layout)."""
    cache = root / ".dvc" / "cache"
    for candidate in (cache / "files" / "md5" / md5[:2] / md5[2:], cache / md5[:2] / md5[2:]):
        if candidate.is_file():
            return candidate
    return None


def _model_digest(path: Path, md5: str | None, root: Path) -> str | None:
    """The sha256 of the model file the lock recorded: today's file if its md5 still matches, else DVC's cache."""
    if not md5:
        return None
    if path.is_file() and file_md5(path)[0] == md5:
        return sha256_file(path)
    cached = _dvc_cached(root, md5)
    return sha256_file(cached) if cached is not None else None


def import_dvc(lock: Path) -> list[Imported]:
    """Every stage of a ``dvc.lock`` as a run with DVC's hashes as its data versions, in dependency order."""
    if lock.is_dir():
        lock = lock / "dvc.lock"
    if not lock.is_file():
        raise InputError(str(lock), "no dvc.lock here (run `dvc repro` first)")
    root = lock.parent.resolve()
    try:
        data = yaml.safe_load(lock.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise InputError(str(lock), f"not valid YAML: {exc}") from exc
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        raise InputError(str(lock), "no stages: (a dvc.lock of schema 2.0 is expected)")
    toplevel = _git(root, "rev-parse", "--show-toplevel")
    code = CodeVersion(
        toplevel=toplevel,
        commit=_git(root, "log", "-1", "--format=%H", "--", lock.name),  # the commit that recorded this lock
        branch=_git(root, "rev-parse", "--abbrev-ref", "HEAD"),
        remote=_git(root, "config", "--get", "remote.origin.url"),
    )
    shown_lock = relative_path(lock, toplevel)
    when = lock.stat().st_mtime_ns
    imported: list[Imported] = []
    for name in _stage_order(stages):
        stage = stages[name]
        cmd = stage.get("cmd")
        # the stage's lock entry is its identity: the same lock imports as the same run
        key = json.dumps({"lock": shown_lock, "stage": name, "entry": stage}, sort_keys=True, default=str)
        run = RunRecord(
            iri=_import_iri("dvc", key),
            name=str(name),
            source="dvc",
            external_id=f"{shown_lock}:{name}",
            started=iso(when),
            started_ns=when,
            ended=iso(when),
            status="succeeded",
            command=[str(c) for c in cmd] if isinstance(cmd, list) else [str(cmd or "")],
            cwd=str(root),
            code=code,
        )
        for file, values in (stage.get("params") or {}).items():
            run.params.update({f"{file}:{k}": v for k, v in _flat(values)})
        found = Imported(run)
        for dep in stage.get("deps") or []:
            version = dep.get("md5") or dep.get("etag") or dep.get("checksum")
            if not version:
                continue
            path = root / str(dep["path"])
            item, record = _input(path, str(dep["path"]), str(version), dep.get("nfiles") or 1, dep.get("size") or 0)
            run.inputs.append(item)
            if record is not None:
                found.inputs.append(record)
        for out in stage.get("outs") or []:
            path = root / str(out["path"])
            md5 = str(out.get("md5") or "") or None
            made = Output(
                path=str(out["path"]), location=str(path.resolve()), kind="dataset", size=out.get("size") or 0
            )
            made.data_version = md5
            if path.suffix.lower() in MODEL_SUFFIXES and not (md5 or "").endswith(".dir"):
                # a model's digest is its sha256 (what log_prediction records), of the file the lock names
                made.kind, made.sha256 = Kind.MODEL.value, _model_digest(path, md5, root)
            else:
                made.sha256 = md5
            run.outputs.append(made)
            if path.suffix.lower() in CODE_SUFFIXES:  # metrics.json, a plot's data: kept with its digest only
                made.kind = "file"
                continue
            found.made.append((made, Kind(made.kind), None, path.stem))
        imported.append(found)
    return imported


# --- MLflow -------------------------------------------------------------------------------------

_STATUS = {"FINISHED": "succeeded", "FAILED": "failed", "KILLED": "failed", "RUNNING": "running"}


def _mlflow_client(source: str) -> tuple[Any, Path]:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise ProvauditError("importing MLflow runs needs mlflow-skinny: pip install 'provaudit[mlflow]'") from exc
    path = Path(source)
    if path.is_dir():
        # MLflow 3 refuses to open its (maintenance-mode) file store unless asked; reading one is what we want
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        return MlflowClient(tracking_uri=path.resolve().as_uri()), path.resolve().parent
    return MlflowClient(tracking_uri=source), Path.cwd()


def _local(uri: str, base: Path) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme not in {"", "file"}:
        return None
    path = Path(unquote(parsed.path))
    return path if path.is_absolute() else base / path


def _artifacts(client: Any, run_id: str, folder: str | None = None) -> Iterator[str]:
    for item in client.list_artifacts(run_id, folder):
        if item.is_dir:
            yield from _artifacts(client, run_id, item.path)
        else:
            yield item.path


def _newest_mtime_ns(path: Path) -> int:
    if path.is_file():
        return path.stat().st_mtime_ns
    return max((p.stat().st_mtime_ns for p in path.rglob("*") if p.is_file()), default=path.stat().st_mtime_ns)


def _at_commit(path: Path, commit: str) -> tuple[DataInput, Record] | None:
    """The input as git holds it at ``commit`` (files, card, LICENSE), measured from a temporary copy."""
    top = _git(path.parent if path.is_file() else path, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    rel = relative_path(path, top)
    listed = _git(Path(top), "ls-tree", "-r", "--name-only", commit, "--", rel)
    if not listed:
        return None
    archive = subprocess.run(["git", "-C", top, "archive", commit, "--", rel], capture_output=True, check=False)
    if archive.returncode != 0:
        return None
    with tempfile.TemporaryDirectory(prefix="provaudit-at-commit-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        copy = Path(tmp) / rel
        data = measure_input(copy, tmp, cache=False)
        record = dataset_record(copy, data.version)
        # what was read came from the commit; name the work tree's paths, not the temporary copy's
        text = record.model_dump_json().replace(json.dumps(str(Path(tmp).resolve()))[1:-1], json.dumps(top)[1:-1])
        record = Record.model_validate_json(text)
    data.path, data.location, data.record = rel, str(path.resolve()), record.id
    return data, record


def _logged_input(ds: Any, base: Path, commit: str | None, started_ns: int) -> tuple[DataInput, Record | None, str]:
    """A logged dataset input as it was when logged; also how its version was established."""
    try:
        uri = str(json.loads(ds.source).get("uri") or "")
    except (ValueError, AttributeError):
        uri = ""
    path = _local(uri, base) if uri else None
    why = "a remote or in-memory dataset"
    if path is not None and path.exists():
        if _newest_mtime_ns(path) <= started_ns:  # nothing in it changed since the run started: it is the data
            item = measure_input(path, str(base))
            record = dataset_record(path, item.version)
            item.record = record.id
            return item, record, "the folder, unchanged since the run"
        found = _at_commit(path, commit) if commit else None
        if found is not None:
            return found[0], found[1], f"its files at the logged git commit {commit[:12] if commit else ''}"
        why = "the folder changed since the run and git does not hold it at the logged commit"
    # MLflow's digest as logged, and a record to resolve by name
    item = DataInput(path=uri or ds.name, location=uri, version=f"mlflow:{ds.digest}")
    item.record = record_id(Kind.DATASET, ds.name)
    return item, None, f"MLflow's digest ({why})"


def import_mlflow(source: str) -> list[Imported]:
    """Every run of every active experiment, as provaudit runs."""
    client, base = _mlflow_client(source)
    imported: list[Imported] = []
    for experiment in client.search_experiments():
        for found in client.search_runs([experiment.experiment_id]):
            info, data = found.info, found.data
            tags = dict(data.tags)
            started_ns = int(info.start_time) * 1_000_000
            run = RunRecord(
                iri=_import_iri("mlflow", info.run_id),
                name=info.run_name or tags.get("mlflow.runName") or info.run_id,
                source="mlflow",
                external_id=info.run_id,
                started=iso(started_ns),
                started_ns=started_ns,
                ended=iso(int(info.end_time) * 1_000_000) if info.end_time else None,
                status=_STATUS.get(info.status, info.status.lower()),
                command=[tags["mlflow.source.name"]] if tags.get("mlflow.source.name") else [],
                params=dict(data.params),
                metrics={k: float(v) for k, v in data.metrics.items()},
                tags={k: v for k, v in tags.items() if not k.startswith("mlflow.log-model")},
                code=CodeVersion(
                    commit=tags.get("mlflow.source.git.commit"),
                    branch=tags.get("mlflow.source.git.branch"),
                    remote=tags.get("mlflow.source.git.repoURL"),
                ),
            )
            pending = Imported(run)
            for given in found.inputs.dataset_inputs if found.inputs else []:
                ds = given.dataset
                item, record, how = _logged_input(ds, base, run.code.commit, started_ns)
                run.tags[f"provaudit.input.{ds.name}"] = f"mlflow digest {ds.digest}; version from {how}"
                run.inputs.append(item)
                if record is not None:
                    pending.inputs.append(record)
            root = _local(info.artifact_uri, base)
            for artifact in _artifacts(client, info.run_id):
                file = root / artifact if root is not None else None
                made = Output(path=artifact, location=str(file) if file else artifact, kind="file")
                if file is not None and file.is_file():
                    made.sha256, made.size = sha256_file(file), file.stat().st_size
                    made.data_version = file_md5(file)[0]
                    if file.suffix.lower() in MODEL_SUFFIXES:
                        made.kind = Kind.MODEL.value
                        pending.made.append((made, Kind.MODEL, None, f"{experiment.name}/{file.stem}"))
                run.outputs.append(made)
            imported.append(pending)
    return imported


# --- writing ------------------------------------------------------------------------------------


def _aliases(store: RunStore) -> dict[str, str]:
    """Import IRI → the native run it was found to be."""
    result = store.query("SELECT ?run ?key WHERE { GRAPH ?g { ?run pa:importedAs ?key } }")
    return {row[1]: row[0] for row in result.rows if row[0] and row[1]}


def _same_native_run(store: RunStore, run: RunRecord) -> RunRecord | None:
    """The newest run provaudit recorded itself that made an output with one of this run's digests."""
    digests = {d for out in run.outputs for d in (out.sha256, out.data_version) if d}
    for out in reversed(made_outputs(store)):
        if out.source == "provaudit" and digests & {out.digest, out.data_version}:
            return load_run(store, out.run)
    return None


def write_imported(found: Imported, store: RunStore) -> Outcome:
    """Write one imported run, unless it is already stored (idempotent) or is a native run's twin."""
    stored = load_run(store, found.run.iri)
    if stored is not None:
        return Outcome(stored, "already imported")
    native_iri = _aliases(store).get(found.run.iri)
    native = load_run(store, native_iri) if native_iri else None
    if native is not None:
        return Outcome(native, f"already imported as {native.iri}")
    native = _same_native_run(store, found.run)
    if native is not None:
        node = NamedNode(native.iri)
        quads = [Quad(node, PA.importedAs, Literal(found.run.iri))]
        quads.append(Quad(node, DCT.identifier, Literal(f"{found.run.source}:{found.run.external_id}")))
        store.commit_graph(found.run.iri, serialize([q.triple for q in quads], format=RdfFormat.N_TRIPLES) or b"")
        return Outcome(native, f"same outputs as run {native.iri} (recorded by provaudit.run): kept as that run")
    commit_run(found.run, inputs=found.inputs, made=found.made, store=store)
    return Outcome(found.run, "imported")


def import_sources(sources: list[str], *, store: RunStore | str | Path | None = None) -> list[Outcome]:
    """Import each source (dvc.lock, a folder with one, mlruns/, a tracking URI); what each run became."""
    outcomes: list[Outcome] = []
    with opened(store) as db:
        for source in sources:
            path = Path(source)
            if path.name == "dvc.lock" or (path.is_dir() and (path / "dvc.lock").is_file()):
                found = import_dvc(path)
            elif path.is_dir() or "://" in source or source.startswith(("sqlite:", "databricks")):
                found = import_mlflow(source)
            else:
                raise InputError(
                    source, "not a dvc.lock, a folder with one, an mlruns/ folder or an MLflow tracking URI"
                )
            outcomes += [write_imported(item, db) for item in found]
    return outcomes


def import_runs(sources: list[str], *, store: RunStore | str | Path | None = None) -> list[RunRecord]:
    """Import each source and write its runs; the runs as stored (see :func:`import_sources`)."""
    return [o.run for o in import_sources(sources, store=store)]
