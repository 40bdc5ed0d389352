"""DVC and MLflow runs, made for real here, imported as provaudit runs with DVC's own hashes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_runs import git, make_project

from provaudit.api import open_store
from provaudit.versions.data import data_version
from provaudit.versions.imports import import_runs
from provaudit.versions.runs import load_runs

FIT = """import pickle, yaml, numpy as np
lr = yaml.safe_load(open("params.yaml"))["lr"]
rows = np.loadtxt("data/credit/train.csv", delimiter=",", skiprows=1)
pickle.dump({"w": rows[:, :-1].mean(axis=0) * lr}, open("model.pkl", "wb"))
"""


def test_dvc_pipeline_imports_with_dvcs_hashes(tmp_path: Path) -> None:
    pytest.importorskip("dvc")
    repo = make_project(tmp_path)
    (repo / "fit.py").write_text(FIT)
    (repo / "params.yaml").write_text("lr: 0.1\n")
    stage = {
        "cmd": f"{sys.executable} fit.py",
        "deps": ["data/credit", "fit.py"],
        "params": ["lr"],
        "outs": ["model.pkl"],
    }
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"train": stage}}))
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    for args in (["init", "-q"], ["repro", "-q"]):
        done = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "dvc pipeline")
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]["train"]
    dvc_dir_hash = next(d["md5"] for d in lock["deps"] if d["path"] == "data/credit")

    (run,) = import_runs([str(repo / "dvc.lock")], store=tmp_path / "store")
    data = next(i for i in run.inputs if i.path == "data/credit")
    assert data.version == dvc_dir_hash == data_version(repo / "data" / "credit", cache=False).dir_hash
    assert data.record == "dataset:credit" and data.relation == "trained_on"
    assert run.source == "dvc" and run.params == {"params.yaml:lr": "0.1"}
    assert run.code.commit == git(repo, "rev-parse", "HEAD").strip()
    (out,) = run.outputs
    assert out.record == "model:model" and out.kind == "model"
    with open_store(tmp_path / "store", read_only=True) as db:
        model = db.record("model:model")
        assert [r.iri for r in load_runs(db)] == [run.iri]
    assert model is not None and model.upstream[0].version == dvc_dir_hash


def test_mlflow_run_imports_params_metrics_commit_data_and_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow = pytest.importorskip("mlflow")
    repo = make_project(tmp_path)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 writes its file store only when asked
    import pandas as pd

    mlflow.set_tracking_uri((repo / "mlruns").as_uri())
    mlflow.set_experiment("credit")
    frame = pd.read_csv("data/credit/train.csv")
    with mlflow.start_run(run_name="fit") as active:
        mlflow.log_params({"lr": 0.5, "epochs": 10})
        mlflow.log_metric("accuracy", 0.93)
        mlflow.set_tag("mlflow.source.git.commit", git(repo, "rev-parse", "HEAD").strip())
        mlflow.log_input(mlflow.data.from_pandas(frame, source="data/credit", name="credit"), context="training")
        Path("model.pkl").write_bytes(b"weights")
        mlflow.log_artifact("model.pkl", artifact_path="model")

    (run,) = import_runs([str(repo / "mlruns")], store=tmp_path / "store")
    assert run.source == "mlflow" and run.external_id == active.info.run_id and run.status == "succeeded"
    assert run.params == {"lr": "0.5", "epochs": "10"} and run.metrics == {"accuracy": 0.93}
    assert run.code.commit == git(repo, "rev-parse", "HEAD").strip()
    (data,) = run.inputs
    assert data.record == "dataset:credit"
    assert data.version == data_version(repo / "data" / "credit", cache=False).dir_hash
    model = next(o for o in run.outputs if o.kind == "model")
    assert model.record == "model:credit/model" and model.path == "model/model.pkl"
    with open_store(tmp_path / "store", read_only=True) as db:
        record = db.record("model:credit/model")
    assert record is not None and record.upstream[0].target == "dataset:credit"
