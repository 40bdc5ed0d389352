"""Runs compose: prepare → features → train, run for real natively, with `dvc repro` and with MLflow.

The raw data's card says CC BY-NC 4.0; the model is three stages away from it. Whatever recorded the
stages (``provaudit run`` per stage, a DVC import, both), the model's review must reach the raw data's
terms, imports must be idempotent, and one model file must be one model record.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from time import time_ns

import pytest
import yaml
from click.testing import CliRunner
from test_runs import git

from provaudit.api import open_store
from provaudit.cli import main
from provaudit.records.model import Kind, Record
from provaudit.rules.review import review_records
from provaudit.versions.data import data_version
from provaudit.versions.imports import import_runs, import_sources
from provaudit.versions.runs import load_runs, runs_generating

RAW_CARD = """---
license: {license}
pretty_name: Credit applications
---
# Credit applications

Synthetic credit applications (income, debt, approved).
"""
PREPARE = """import csv, os
rows = list(csv.reader(open("data/raw/credit.csv")))
os.makedirs("data/prepared", exist_ok=True)
with open("data/prepared/credit.csv", "w", newline="") as out:
    csv.writer(out).writerows([rows[0]] + [r for r in rows[1:] if all(r)])
"""
FEATURES = """import os
import numpy as np
rows = np.loadtxt("data/prepared/credit.csv", delimiter=",", skiprows=1)
ratio = rows[:, 1] / (np.abs(rows[:, 0]) + 1.0)
os.makedirs("data/features", exist_ok=True)
np.savetxt("data/features/features.csv", np.column_stack([rows[:, :2], ratio, rows[:, 2]]), delimiter=",",
           fmt="%.6f", header="income,debt,ratio,approved", comments="")
"""
TRAIN = """import os
import numpy as np

def fit():
    rows = np.loadtxt("data/features/features.csv", delimiter=",", skiprows=1)
    x, y = rows[:, :-1], rows[:, -1]
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(200):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        w -= 0.5 * x.T @ (p - y) / len(y)
        b -= 0.5 * float(np.mean(p - y))
    np.savez("model.npz", w=w, b=b)
    open("metrics.json", "w").write('{"rows": %d}' % len(y))

if os.environ.get("RECORD_NATIVELY"):  # the stage records itself with provaudit.run (inside `dvc repro`)
    import provaudit
    with provaudit.run("train") as run:
        run.used("data/features")
        fit()
        run.generated("model.npz", name="acme/credit-scorer")
else:
    fit()
"""
STAGES = {
    "prepare": {"cmd": "python prepare.py", "deps": ["data/raw", "prepare.py"], "outs": ["data/prepared"]},
    "features": {"cmd": "python features.py", "deps": ["data/prepared", "features.py"], "outs": ["data/features"]},
    "train": {
        "cmd": "python train.py",
        "deps": ["data/features", "train.py"],
        "outs": ["model.npz"],
        "metrics": [{"metrics.json": {"cache": False}}],
    },
}
MODEL = "model:acme/credit-scorer"


def make_pipeline(root: Path, license: str = "cc-by-nc-4.0") -> Path:
    """A git repo: raw CSV data under a card with ``license``, and the three stage scripts."""
    repo = root / "pipeline"
    (repo / "data" / "raw").mkdir(parents=True)
    lines = ["income,debt,approved"]
    for i in range(120):  # deterministic rows, a few with a missing value for `prepare` to drop
        income, debt = (i * 37 % 101) / 10 - 5, (i * 53 % 97) / 10 - 4.8
        lines.append(f"{income:.1f},{'' if i % 17 == 0 else f'{debt:.1f}'},{int(income > debt)}")
    (repo / "data" / "raw" / "credit.csv").write_text("\n".join(lines) + "\n")
    (repo / "data" / "raw" / "README.md").write_text(RAW_CARD.format(license=license))
    (repo / "requirements.txt").write_text("numpy\n")  # what the stages import
    for name, text in (("prepare.py", PREPARE), ("features.py", FEATURES), ("train.py", TRAIN)):
        (repo / name).write_text(text)
    (repo / ".gitignore").write_text(".provaudit/\nstore/\nmodel.npz\n/data/prepared\n/data/features\nmlruns/\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "raw data and the three stages")
    return repo


def env_with(repo: Path, **extra: str) -> dict[str, str]:
    # `python` in the stage commands is this interpreter; provaudit imports from this checkout
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"], "DVC_NO_ANALYTICS": "1", **extra}


def dvc_repro(repo: Path, env: dict[str, str]) -> None:
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": STAGES}, sort_keys=False))
    for args in (["init", "-q"], ["repro", "-q"]):
        done = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "dvc pipeline")


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def model_review(store: Path, rid: str) -> tuple[Record, object]:
    with open_store(store, read_only=True) as db:
        records = list(db.records(light=True))
    by_id = {r.id: r for r in records}
    review = {r.id: r for r in review_records(records).records}[rid]
    return by_id[rid], review


def lineage_chain(store: Path, rid: str) -> list[tuple[str, str, str | None]]:
    """(record, relation, version) following the first upstream link of each record from ``rid``."""
    with open_store(store, read_only=True) as db:
        records = {r.id: r for r in db.records(light=True)}
    chain = []
    while records.get(rid) is not None and records[rid].upstream:
        link = records[rid].upstream[0]
        chain.append((link.target, link.relation.value, link.version))
        rid = link.target
    return chain


def test_native_three_stages_carry_the_nc_license_to_the_model(tmp_path: Path) -> None:
    repo = make_pipeline(tmp_path)
    store = tmp_path / "store"
    stages = [
        ["--used", "data/raw", "--generated-data", "data/prepared", "--", sys.executable, "prepare.py"],
        ["--used", "data/prepared", "--generated-data", "data/features", "--", sys.executable, "features.py"],
        ["--used", "data/features", "--generated", "model.npz", "--name", "acme/credit-scorer", "--"],
    ]
    stages[2].extend([sys.executable, "train.py"])
    old = Path.cwd()
    os.chdir(repo)
    try:
        for args in stages:
            result = CliRunner().invoke(main, ["run", "--store", str(store), *args])
            assert result.exit_code == 0, result.output
    finally:
        os.chdir(old)
    versions = {name: data_version(repo / "data" / name, cache=False).dir_hash for name in ("raw", "prepared")}
    versions["features"] = data_version(repo / "data" / "features", cache=False).dir_hash

    with open_store(store, read_only=True) as db:
        runs = load_runs(db)
    assert [r.name for r in runs] == ["prepare.py", "features.py", "train.py"]
    assert [o.record for r in runs for o in r.outputs] == ["dataset:prepared", "dataset:features", MODEL]
    # each later stage's input is the earlier stage's output record, by data version
    assert (runs[1].inputs[0].record, runs[1].inputs[0].version) == ("dataset:prepared", versions["prepared"])
    assert (runs[2].inputs[0].record, runs[2].inputs[0].version) == ("dataset:features", versions["features"])

    assert lineage_chain(store, MODEL) == [
        ("dataset:features", "trained_on", versions["features"]),
        ("dataset:prepared", "derived_from", versions["prepared"]),
        ("dataset:raw", "derived_from", versions["raw"]),
    ]
    model, review = model_review(store, MODEL)
    assert model.version == sha256(repo / "model.npz")
    assert review.effective_license == "CC-BY-NC-4.0" and review.use.value == "non-commercial"  # type: ignore[attr-defined]
    step = next(s for s in review.evidence if s.record == "dataset:raw")  # type: ignore[attr-defined]
    assert step.license == "CC-BY-NC-4.0"


def test_dvc_three_stages_import_once_and_carry_the_nc_license(tmp_path: Path) -> None:
    pytest.importorskip("dvc")
    repo = make_pipeline(tmp_path)
    dvc_repro(repo, env_with(repo))
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    out_md5 = {name: stage["outs"][0]["md5"] for name, stage in lock.items()}
    store = tmp_path / "store"

    first = import_sources([str(repo / "dvc.lock")], store=store)
    assert [(o.run.name, o.outcome) for o in first] == [
        ("prepare", "imported"),
        ("features", "imported"),
        ("train", "imported"),
    ]
    again = import_sources([str(repo)], store=store)  # the folder holding the same lock
    assert [o.outcome for o in again] == ["already imported"] * 3
    assert [o.run.iri for o in again] == [o.run.iri for o in first]
    cli = CliRunner().invoke(main, ["runs", "import", str(repo / "dvc.lock"), "--store", str(store)])
    assert cli.exit_code == 0, cli.output
    assert cli.stdout.count("import   already imported") == 3
    assert "0 run(s) imported, 3 already in the store" in cli.stderr
    with open_store(store, read_only=True) as db:
        runs = load_runs(db)
        records = list(db.records(light=True))
        models = [r for r in records if r.kind is Kind.MODEL]
    assert len(runs) == 3 and len(models) == 1
    # the metrics file is an out of the train stage with its digest, but no dataset
    assert [(o.path, o.kind, o.record) for o in runs[2].outputs if o.path == "metrics.json"] == [
        ("metrics.json", "file", None)
    ]
    assert sorted(r.id for r in records if r.kind is Kind.DATASET) == [
        "dataset:features",
        "dataset:prepared",
        "dataset:raw",
    ]

    (model,) = models
    assert model.version == sha256(repo / "model.npz")
    raw = next(d["md5"] for d in lock["prepare"]["deps"] if d["path"] == "data/raw")
    assert lineage_chain(store, model.id) == [
        ("dataset:features", "trained_on", out_md5["features"]),
        ("dataset:prepared", "derived_from", out_md5["prepare"]),
        ("dataset:raw", "derived_from", raw),
    ]
    _, review = model_review(store, model.id)
    assert review.effective_license == "CC-BY-NC-4.0" and review.use.value == "non-commercial"  # type: ignore[attr-defined]


def test_a_native_run_inside_dvc_and_its_import_are_one_run_and_one_model(tmp_path: Path) -> None:
    pytest.importorskip("dvc")
    repo = make_pipeline(tmp_path)
    store = repo / ".provaudit"
    env = env_with(repo, RECORD_NATIVELY="1", PROVAUDIT_STORE=str(store))
    dvc_repro(repo, env)
    digest = sha256(repo / "model.npz")
    with open_store(store, read_only=True) as db:
        (native,) = load_runs(db)
    assert native.source == "provaudit" and native.outputs[0].sha256 == digest

    outcomes = import_sources([str(repo / "dvc.lock")], store=store)
    assert [o.outcome.split(" (")[0] for o in outcomes][:2] == ["imported", "imported"]
    assert outcomes[2].run.iri == native.iri and outcomes[2].outcome.startswith("same outputs as run")
    assert import_sources([str(repo / "dvc.lock")], store=store)[2].run.iri == native.iri  # idempotent too

    with open_store(store, read_only=True) as db:
        runs = load_runs(db)
        made = runs_generating(db, digest=digest)
        models = [r for r in db.records(light=True) if r.kind is Kind.MODEL]
    assert [r.source for r in runs] == ["provaudit", "dvc", "dvc"]  # the native train, dvc prepare and features
    assert [r.iri for r in made] == [native.iri]
    assert made[0].python and made[0].packages  # the run `trace` finds is the one that knows its environment
    assert [(m.id, m.version) for m in models] == [(MODEL, digest)]
    _, review = model_review(store, MODEL)
    assert review.effective_license == "CC-BY-NC-4.0"  # type: ignore[attr-defined]


def test_mlflow_import_keeps_the_logged_data_version_after_the_folder_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow = pytest.importorskip("mlflow")
    pd = pytest.importorskip("pandas")
    repo = make_pipeline(tmp_path, license="cc-by-4.0")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    logged_version = data_version(repo / "data" / "raw", cache=False).dir_hash
    commit = git(repo, "rev-parse", "HEAD").strip()
    mlflow.set_tracking_uri((repo / "mlruns").as_uri())
    mlflow.set_experiment("credit")
    with mlflow.start_run(run_name="fit") as active:
        mlflow.set_tag("mlflow.source.git.commit", commit)
        frame = pd.read_csv("data/raw/credit.csv")
        dataset = mlflow.data.from_pandas(frame, source="data/raw", name="raw")
        mlflow.log_input(dataset, context="training")
        Path("model.npz").write_bytes(b"weights v1")
        mlflow.log_artifact("model.npz", artifact_path="model")
    # afterwards the owner relicenses the data and adds rows; the import must not read today's folder
    (repo / "data" / "raw" / "README.md").write_text(RAW_CARD.format(license="cc-by-nc-4.0"))
    with (repo / "data" / "raw" / "credit.csv").open("a") as handle:
        handle.write("9.9,1.0,1\n")
    git(repo, "commit", "-q", "-am", "relicensed, one more row")
    today = data_version(repo / "data" / "raw", cache=False).dir_hash
    assert today != logged_version

    store = tmp_path / "store"
    (run,) = import_runs([str(repo / "mlruns")], store=store)
    (data,) = run.inputs
    assert (data.path, data.record, data.version) == ("data/raw", "dataset:raw", logged_version)
    assert dataset.digest in run.tags["provaudit.input.raw"]
    with open_store(store, read_only=True) as db:
        raw = db.record("dataset:raw")
        model = db.record(run.outputs[0].record or "")
    assert raw is not None and raw.version == logged_version
    assert {c.expression for c in raw.claims} == {"CC-BY-4.0"}  # the card as committed then
    # read from a temporary copy of the commit, but named by the work tree's path
    assert [c.source.file for c in raw.claims] == ["README.md"]
    assert "provaudit-at-commit" not in (raw.location or "") and (raw.location or "").endswith("data/raw")
    assert model is not None and model.upstream[0].version == logged_version
    (again,) = import_runs([str(repo / "mlruns")], store=store)
    assert again.iri == run.iri and again.external_id == active.info.run_id


def test_a_model_input_marked_with_used_model(tmp_path: Path) -> None:
    repo = make_pipeline(tmp_path)
    (repo / "embeddings").mkdir()
    (repo / "embeddings" / "vectors.npy").write_bytes(b"\x93NUMPY pretrained vectors")
    (repo / "embeddings" / "README.md").write_text("---\nlicense: cc-by-nc-4.0\n---\n# Embeddings\n")
    store = tmp_path / "store"
    script = "import numpy as np; np.savez('model.npz', w=np.ones(2))"
    old = Path.cwd()
    os.chdir(repo)
    try:
        args = ["run", "--store", str(store), "--used-model", "embeddings", "--used-model", "model:acme/base"]
        args += ["--generated", "model.npz", "--name", "acme/tuned", "--", sys.executable, "-c", script]
        result = CliRunner().invoke(main, args)
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.output
    with open_store(store, read_only=True) as db:
        (run,) = load_runs(db)
        tuned = db.record("model:acme/tuned")
    assert [(i.record, i.relation) for i in run.inputs] == [
        ("model:embeddings", "base_model"),
        ("model:acme/base", "base_model"),
    ]
    assert tuned is not None
    assert [(u.target, u.relation.value) for u in tuned.upstream] == [
        ("model:embeddings", "base_model"),
        ("model:acme/base", "base_model"),
    ]


def test_the_site_of_a_run_store_publishes_no_path_of_this_machine(tmp_path: Path) -> None:
    """Data outside the work tree, the venv outside it too: the site names neither by its absolute path."""
    from provaudit.site.build import build_site_from_store

    repo = make_pipeline(tmp_path)
    shared = tmp_path / "shared-data" / "credit"
    shared.mkdir(parents=True)
    (shared / "rows.csv").write_text("income,debt,approved\n1.0,2.0,0\n")
    (shared / "README.md").write_text(RAW_CARD.format(license="cc-by-4.0"))
    store = tmp_path / "store"
    old = Path.cwd()
    os.chdir(repo)
    try:
        args = ["run", "--store", str(store), "--used", str(shared), "--used", "data/raw", "--generated", "model.npz"]
        script = "import numpy as np; np.savez('model.npz', w=np.ones(2))"
        result = CliRunner().invoke(main, [*args, "--name", "acme/m", "--", sys.executable, "-c", script])
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.output
    site = tmp_path / "site"
    build_site_from_store(store, site, workers=1)
    machine = {str(tmp_path), str(Path(sys.prefix).resolve()), str(Path(sys.executable).parent)}
    leaks = []
    files = [f for f in site.rglob("*") if f.is_file()]
    for file in files:
        text = file.read_text(encoding="utf-8", errors="replace")
        leaks += [(file.relative_to(site).as_posix(), m) for m in machine if m in text]
    assert files and not leaks, leaks[:10]
    pages = " ".join(f.read_text(encoding="utf-8", errors="replace") for f in files if f.suffix == ".html")
    assert "pypi/numpy" in pages and "credit" in pages  # the packages and the outside data are published
    with open_store(store, read_only=True) as db:
        packages = [r for r in db.records(light=True) if r.kind is Kind.PACKAGE]
    assert packages and "package:pypi/igraph" not in {p.id for p in packages}  # provaudit's, not the code's


def test_dvc_import_reads_what_the_lock_recorded_not_todays_tree(tmp_path: Path) -> None:
    """After `dvc repro` the intermediate folder is deleted and the model file overwritten: the import still
    links the stages by md5 and names the model by the digest of the file the lock recorded (DVC's cache)."""
    pytest.importorskip("dvc")
    import shutil

    repo = make_pipeline(tmp_path)
    dvc_repro(repo, env_with(repo))
    recorded = sha256(repo / "model.npz")
    shutil.rmtree(repo / "data" / "prepared")
    (repo / "model.npz").write_bytes(b"a different model, written after the lock")
    store = tmp_path / "store"
    runs = import_runs([str(repo / "dvc.lock")], store=store)
    assert [r.name for r in runs] == ["prepare", "features", "train"]
    features_input = next(i for i in runs[1].inputs if i.path == "data/prepared")
    assert (features_input.record, features_input.relation) == ("dataset:prepared", "trained_on")
    model_out = next(o for o in runs[2].outputs if o.path == "model.npz")
    assert model_out.sha256 == recorded and model_out.record is not None
    assert [link[0] for link in lineage_chain(store, model_out.record)] == [
        "dataset:features",
        "dataset:prepared",
        "dataset:raw",
    ]
    _, review = model_review(store, model_out.record)
    assert review.effective_license == "CC-BY-NC-4.0"  # type: ignore[attr-defined]


def test_an_mlflow_run_that_also_ran_provaudit_run_is_one_run_and_one_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow = pytest.importorskip("mlflow")
    import numpy as np

    import provaudit

    repo = make_pipeline(tmp_path)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = tmp_path / "store"
    mlflow.set_tracking_uri((repo / "mlruns").as_uri())
    mlflow.set_experiment("credit")
    with mlflow.start_run(run_name="fit"), provaudit.run("fit", store=store) as run:
        run.used("data/raw")
        np.savez("model.npz", w=np.arange(3.0))
        run.generated("model.npz", name="acme/credit-scorer")
        mlflow.log_artifact("model.npz", artifact_path="model")
    (outcome,) = import_sources([str(repo / "mlruns")], store=store)
    assert outcome.run.iri == run.iri and outcome.outcome.startswith("same outputs as run")
    with open_store(store, read_only=True) as db:
        assert [r.iri for r in load_runs(db)] == [run.iri]
        models = [(m.id, m.version) for m in db.records(light=True) if m.kind is Kind.MODEL]
    assert models == [(MODEL, sha256(repo / "model.npz"))]


def test_mlflow_import_of_untracked_data_changed_since_keeps_mlflows_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Data outside git that changed after the run: neither the commit nor today's folder is the logged
    data, so the input keeps MLflow's own digest and no record is read from today's folder."""
    mlflow = pytest.importorskip("mlflow")
    pd = pytest.importorskip("pandas")
    repo = make_pipeline(tmp_path)
    (repo / ".gitignore").write_text((repo / ".gitignore").read_text() + "/scratch\n")
    scratch = repo / "scratch"
    scratch.mkdir()
    (scratch / "rows.csv").write_text("income,debt,approved\n1.0,2.0,0\n")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    mlflow.set_tracking_uri((repo / "mlruns").as_uri())
    mlflow.set_experiment("credit")
    with mlflow.start_run(run_name="fit"):
        mlflow.set_tag("mlflow.source.git.commit", git(repo, "rev-parse", "HEAD").strip())
        dataset = mlflow.data.from_pandas(pd.read_csv(scratch / "rows.csv"), source="scratch", name="scratch")
        mlflow.log_input(dataset, context="training")
    (scratch / "rows.csv").write_text("income,debt,approved\n1.0,2.0,0\n3.0,1.0,1\n")
    os.utime(scratch / "rows.csv", ns=(time_ns() + 10**9, time_ns() + 10**9))  # surely after the run
    (run,) = import_runs([str(repo / "mlruns")], store=tmp_path / "store")
    (data,) = run.inputs
    assert data.version == f"mlflow:{dataset.digest}" and data.record == "dataset:scratch"
    assert "changed since" in run.tags["provaudit.input.scratch"]
    with open_store(tmp_path / "store", read_only=True) as db:
        assert db.record("dataset:scratch") is None


def test_an_mlflow_training_run_on_natively_prepared_features_inherits_their_lineage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """prepare and features recorded by provaudit.run, train logged to MLflow only: the imported model
    reaches the raw data's CC BY-NC terms through the features' record."""
    mlflow = pytest.importorskip("mlflow")
    pd = pytest.importorskip("pandas")
    import provaudit

    repo = make_pipeline(tmp_path)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = tmp_path / "store"
    for script, used, made in (
        ("prepare.py", "data/raw", "data/prepared"),
        ("features.py", "data/prepared", "data/features"),
    ):
        with provaudit.run(script, store=store) as run:
            run.used(used)
            subprocess.run([sys.executable, script], check=True)
            run.generated(made, kind="dataset")
    mlflow.set_tracking_uri((repo / "mlruns").as_uri())
    mlflow.set_experiment("credit")
    with mlflow.start_run(run_name="train"):
        frame = pd.read_csv("data/features/features.csv")
        mlflow.log_input(mlflow.data.from_pandas(frame, source="data/features", name="features"), context="training")
        subprocess.run([sys.executable, "train.py"], check=True)
        mlflow.log_artifact("model.npz", artifact_path="model")
    (imported,) = import_runs([str(repo / "mlruns")], store=store)
    (data,) = imported.inputs
    assert (data.record, data.version) == (
        "dataset:features",
        data_version(repo / "data" / "features", cache=False).dir_hash,
    )
    model = next(o.record for o in imported.outputs if o.kind == "model")
    assert model == "model:credit/model"
    assert [link[:2] for link in lineage_chain(store, model)] == [
        ("dataset:features", "trained_on"),
        ("dataset:prepared", "derived_from"),
        ("dataset:raw", "derived_from"),
    ]
    _, review = model_review(store, model)
    assert review.effective_license == "CC-BY-NC-4.0"  # type: ignore[attr-defined]
