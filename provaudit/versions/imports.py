"""Import the runs teams already record: DVC pipelines and MLflow tracking, as provaudit runs.

One entry point, ``provaudit runs import SOURCE``:

- ``dvc.lock`` (or the folder holding it): one run per stage with its command, params and every dep
  and out with DVC's own hash; the dep's data version *is* that hash (``<md5>.dir`` for a folder, as
  :func:`provaudit.versions.data.data_version` computes it too). The code version is the git commit
  that last changed ``dvc.lock``.
- MLflow: a ``mlruns/`` folder (read with ``MLFLOW_ALLOW_FILE_STORE=true``: MLflow 3 refuses its own
  file store otherwise) or a tracking URI (``sqlite:///mlflow.db``, ``http://...``) through
  ``mlflow-skinny``'s client (``pip install 'provaudit[mlflow]'``): params, metrics, tags,
  ``mlflow.source.git.commit``, logged dataset inputs (local ones get a data version) and artifacts.

Local data folders become dataset records (cards, LICENSE files) and model files become model records
linked ``trained_on`` to them with the data version, exactly as :func:`provaudit.run` does.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from provaudit.errors import InputError, ProvauditError
from provaudit.records.identity import record_id
from provaudit.records.model import Kind, Record, Relation
from provaudit.versions.runs import (
    CodeVersion,
    DataInput,
    Output,
    RunRecord,
    RunStore,
    dataset_record,
    measure_input,
    new_run_iri,
    output_record,
    sha256_file,
    write_run,
)

MODEL_SUFFIXES = frozenset(
    {".pkl", ".joblib", ".safetensors", ".pt", ".pth", ".onnx", ".h5", ".keras", ".bin", ".npz", ".ckpt", ".gguf"}
)
CODE_SUFFIXES = frozenset({".py", ".sh", ".ipynb", ".r", ".jl", ".yaml", ".yml", ".toml", ".json", ".cfg"})
Imported = tuple[RunRecord, list[Record]]


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _flat(data: object, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from _flat(value, f"{prefix}{key}.")
    else:
        yield prefix.rstrip("."), data if isinstance(data, str) else json.dumps(data)


def _git(root: Path, *args: str) -> str | None:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
    return done.stdout.strip() or None if done.returncode == 0 else None


def _model_outputs(run: RunRecord, outputs: list[tuple[Output, str]], datasets: list[Record]) -> list[Record]:
    models = []
    for out, name in outputs:
        record = output_record(run, out, Kind.MODEL, name)
        out.record = record.id
        models.append(record)
    return [*datasets, *models]


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


def import_dvc(lock: Path) -> list[Imported]:
    """Every stage of a ``dvc.lock`` as a run with DVC's hashes as its data versions."""
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
    when = _iso(lock.stat().st_mtime)
    imported: list[Imported] = []
    for name, stage in stages.items():
        if not isinstance(stage, dict):
            continue
        cmd = stage.get("cmd")
        run = RunRecord(
            iri=new_run_iri(),
            name=str(name),
            source="dvc",
            external_id=f"{lock.name}:{name}",
            started=when,
            ended=when,
            status="succeeded",
            command=[str(c) for c in cmd] if isinstance(cmd, list) else [str(cmd or "")],
            cwd=str(root),
            code=code,
        )
        for file, values in (stage.get("params") or {}).items():
            run.params.update({f"{file}:{k}": v for k, v in _flat(values)})
        datasets: list[Record] = []
        for dep in stage.get("deps") or []:
            version = dep.get("md5") or dep.get("etag") or dep.get("checksum")
            if not version:
                continue
            path = root / str(dep["path"])
            item, record = _input(path, str(dep["path"]), str(version), dep.get("nfiles") or 1, dep.get("size") or 0)
            run.inputs.append(item)
            if record is not None:
                datasets.append(record)
        outputs: list[tuple[Output, str]] = []
        for out in stage.get("outs") or []:
            path = root / str(out["path"])
            made = Output(path=str(out["path"]), location=str(path.resolve()), kind="data", size=out.get("size") or 0)
            # a model file gets its sha256 (what log_prediction records); anything else keeps DVC's md5
            if path.is_file() and path.suffix.lower() in MODEL_SUFFIXES:
                made.kind, made.sha256 = "model", sha256_file(path)
                outputs.append((made, path.stem))
            else:
                made.sha256 = str(out.get("md5") or "") or None
            run.outputs.append(made)
        imported.append((run, _model_outputs(run, outputs, datasets)))
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


def import_mlflow(source: str) -> list[Imported]:
    """Every run of every active experiment, as provaudit runs."""
    client, base = _mlflow_client(source)
    imported: list[Imported] = []
    for experiment in client.search_experiments():
        for found in client.search_runs([experiment.experiment_id]):
            info, data = found.info, found.data
            tags = dict(data.tags)
            run = RunRecord(
                iri=new_run_iri(),
                name=info.run_name or tags.get("mlflow.runName") or info.run_id,
                source="mlflow",
                external_id=info.run_id,
                started=_iso(info.start_time / 1000),
                ended=_iso(info.end_time / 1000) if info.end_time else None,
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
            datasets: list[Record] = []
            for given in found.inputs.dataset_inputs if found.inputs else []:
                ds = given.dataset
                try:
                    uri = str(json.loads(ds.source).get("uri") or "")
                except (ValueError, AttributeError):
                    uri = ""
                path = _local(uri, base) if uri else None
                if path is not None and path.exists():
                    item = measure_input(path, str(base))
                    record = dataset_record(path, item.version)
                    item.record = record.id
                    datasets.append(record)
                else:  # a remote or in-memory dataset: MLflow's digest, a record to resolve by name
                    item = DataInput(path=uri or ds.name, location=uri, version=f"mlflow:{ds.digest}")
                    item.record = record_id(Kind.DATASET, ds.name)
                run.inputs.append(item)
            outputs: list[tuple[Output, str]] = []
            root = _local(info.artifact_uri, base)
            for artifact in _artifacts(client, info.run_id):
                file = root / artifact if root is not None else None
                made = Output(path=artifact, location=str(file) if file else artifact, kind="file")
                if file is not None and file.is_file():
                    made.sha256, made.size = sha256_file(file), file.stat().st_size
                    if file.suffix.lower() in MODEL_SUFFIXES and run.status == "succeeded":
                        made.kind = "model"
                        outputs.append((made, f"{experiment.name}/{file.stem}"))
                run.outputs.append(made)
            imported.append((run, _model_outputs(run, outputs, datasets)))
    return imported


def import_runs(sources: list[str], *, store: RunStore | str | Path | None = None) -> list[RunRecord]:
    """Import each source (dvc.lock, a folder with one, mlruns/, a tracking URI) and write its runs."""
    runs: list[RunRecord] = []
    for source in sources:
        path = Path(source)
        if path.name == "dvc.lock" or (path.is_dir() and (path / "dvc.lock").is_file()):
            found = import_dvc(path)
        elif path.is_dir() or "://" in source or source.startswith(("sqlite:", "databricks")):
            found = import_mlflow(source)
        else:
            raise InputError(source, "not a dvc.lock, a folder with one, an mlruns/ folder or an MLflow tracking URI")
        for run, records in found:
            write_run(run, records, store=store)
            runs.append(run)
    return runs
