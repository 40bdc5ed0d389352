"""check, runs diff and reproduce on the docs' training script in a real git repository.

check: a changed data file, a changed package version and a new commit, each named. The whole
credit-scoring case (DVC, MLflow, check after dvc repro, reproduce) is tests/test_audit_trail_e2e.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from test_imports import FIT
from test_runs import git, make_project, train

from provaudit.cli import main


def install_dist(venv: Path, name: str, version: str) -> None:
    """Install a distribution's metadata as pip leaves it (dist-info), replacing an older one."""
    purelib = sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)})
    for old in Path(purelib).glob(f"{name}-*.dist-info"):
        for file in old.iterdir():
            file.unlink()
        old.rmdir()
    info = Path(purelib) / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nLicense: MIT\n")


def trained_in_venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, str]:
    """The project trained in a separate environment holding tinydep 2.1: (repo, venv, its python).

    Separate, so a package can really be upgraded in it without touching this one; this
    environment's packages (numpy, provaudit) reach it through PYTHONPATH.
    """
    repo = make_project(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
    python = str(venv / "bin" / "python")
    install_dist(venv, "tinydep", "2.1")
    train(repo, python=python)
    return repo, venv, python


def test_check_names_each_difference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, venv, python = trained_in_venv(tmp_path, monkeypatch)
    store = str(repo / ".provaudit")
    old = Path.cwd()
    os.chdir(repo)
    try:
        clean = CliRunner().invoke(main, ["check", "model:acme/credit-scorer", "--store", store, "--python", python])
        assert clean.exit_code == 0, clean.output
        assert "ok: code, parameters, environment and data are as the run recorded them" in clean.output

        recorded = git(repo, "rev-parse", "HEAD").strip()
        with (repo / "data" / "credit" / "train.csv").open("a") as handle:
            handle.write("9.0,-9.0,1\n")
        install_dist(venv, "tinydep", "2.3")
        (repo / "train.py").write_text((repo / "train.py").read_text().replace('"lr": 0.5', '"lr": 0.25'))
        git(repo, "commit", "-q", "-am", "lower the learning rate")
        now = git(repo, "rev-parse", "HEAD").strip()

        result = CliRunner().invoke(main, ["check", "acme/credit-scorer", "--store", store, "--python", python])
    finally:
        os.chdir(old)
    assert result.exit_code == 1, result.output
    out = result.output
    assert f"commit {recorded[:12]} → {now[:12]}" in out
    assert "file train.py changed" in out
    assert "package tinydep 2.1 → 2.3" in out
    assert "data data/credit version " in out and "file data/credit/train.csv changed" in out
    assert "file data/credit/README.md" not in out


def test_reproduce_says_when_a_recorded_version_does_not_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run recorded tinydep 2.1; the environment now has 2.3 and pip can reach no index: the
    command runs with 2.3 and the report says so (the model is deterministic: still identical)."""
    repo, venv, _ = trained_in_venv(tmp_path, monkeypatch)
    install_dist(venv, "tinydep", "2.3")
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # no network in tests: pip finds nothing to install
    store = str(repo / ".provaudit")
    result = CliRunner().invoke(main, ["reproduce", "acme/credit-scorer", "--store", store])
    assert result.exit_code == 0, result.output
    assert "package tinydep 2.1 did not install" in result.output and "ran with 2.3" in result.output
    assert "identical  model.npz  sha256:" in result.output

    skipped = CliRunner().invoke(main, ["reproduce", "acme/credit-scorer", "--store", store, "--no-install", "--json"])
    assert skipped.exit_code == 0, skipped.output
    found = json.loads(skipped.output)
    assert found["identical"] is True and found["exit_status"] == 0
    assert "package tinydep: recorded 2.1, ran with 2.3 (--no-install)" in found["notes"]
    assert [o["path"] for o in found["outputs"]] == ["model.npz"]


def test_reproduce_and_runs_diff_refuse_an_unknown_run(tmp_path: Path) -> None:
    repo = make_project(tmp_path)
    train(repo)
    store = str(repo / ".provaudit")
    for args in (["reproduce", "no-such-run"], ["runs", "diff", "no-such-run", "acme/credit-scorer"]):
        result = CliRunner().invoke(main, [*args, "--store", store])
        assert result.exit_code == 2, result.output
        assert "no-such-run" in result.output and "no such run" in result.output


def test_runs_diff_part_by_part() -> None:
    """Two runs as a DVC import and provaudit.run record them: parameters compared by name across the
    DVC ``params.yaml:`` prefix, packages, data files, uncommitted files, metrics and outputs."""
    from provaudit.versions.runs import CodeVersion, DataInput, Output, Package, RunRecord
    from provaudit.versions.runs_diff import diff_runs, render_text

    a = RunRecord(
        iri="run:a",
        name="train",
        started="2026-01-01T00:00:00Z",
        params={"params.yaml:train.C": "1.0", "params.yaml:train.lr": "0.5", "other.yaml:seed": "1"},
        metrics={"accuracy": 0.9},
        code=CodeVersion(commit="a" * 40, dirty=[{"status": "M", "path": "train.py", "sha256": "sha256:1"}]),
        packages=[Package(name="numpy", version="2.3.0"), Package(name="tinydep", version="2.1")],
        inputs=[DataInput(path="data/x", location="/x", version="1.dir", entries={"a.csv": "m1", "b.csv": "m"})],
        outputs=[Output(path="model.npz", location="/m", sha256="sha256:aa"), Output(path="dvc.lock", location="/l")],
    )
    b = a.model_copy(
        update={
            "iri": "run:b",
            "params": {"train.C": "0.5", "train.lr": "0.5"},
            "metrics": {"accuracy": 0.95, "auc": 0.97},
            "code": CodeVersion(commit="a" * 40, dirty=[{"status": "M", "path": "dvc.lock", "sha256": "sha256:2"}]),
            "packages": [Package(name="numpy", version="2.4.6"), Package(name="tinydep", version="2.1")],
            "inputs": [DataInput(path="data/x", location="/x", version="2.dir", entries={"a.csv": "m1", "c.csv": "m"})],
            "outputs": [Output(path="model.npz", location="/m", sha256="sha256:bb")],
        }
    )
    found = diff_runs(a, b).to_json()
    assert [(c["name"], c["old"], c["new"]) for c in found["params"]] == [
        ("other.yaml:seed", "1", None),
        ("train.C", "1.0", "0.5"),
    ]
    assert [c["message"] for c in found["packages"]] == ["package numpy 2.3.0 → 2.4.6"]
    assert [c["message"] for c in found["data"]] == [
        "data data/x 1.dir → 2.dir",
        "file data/x/b.csv removed",
        "file data/x/c.csv added",
    ]
    assert [c["message"] for c in found["code"]] == ["file train.py uncommitted in A only"]
    assert found["not_compared"] == ["dvc.lock"]  # DVC's bookkeeping is not code
    assert [c["message"] for c in found["metrics"]] == ["metric accuracy 0.9 → 0.95", "metric auc 0.97 added"]
    assert [c["name"] for c in found["outputs"]] == ["dvc.lock", "model.npz"]
    assert found["same"] is False and found["command"] == [] and found["python"] == []
    text = render_text(diff_runs(a, b))
    assert "  params    param train.C 1.0 → 0.5" in text and "  params    param other.yaml:seed = 1 removed" in text
    same = diff_runs(a, a)
    assert same.same and "same: code, parameters" in render_text(same)


def test_check_of_a_dvc_stage_reads_its_declared_params_and_ignores_dvc_bookkeeping(tmp_path: Path) -> None:
    """A DVC stage (no provaudit in it) run with dvc repro, committed and imported: check is ok; a
    declared parameter changed is named as a parameter, an undeclared one is not a difference."""
    pytest.importorskip("dvc")
    repo = make_project(tmp_path)
    (repo / "params.yaml").write_text("lr: 0.1\nunused: 1\n")
    stage = {"cmd": f"{sys.executable} fit.py", "deps": ["data/credit", "fit.py"], "params": ["lr"]}
    stage |= {"outs": ["model.pkl"], "metrics": [{"metrics.json": {"cache": False}}]}
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"train": stage}}))
    (repo / "fit.py").write_text(FIT + 'open("metrics.json", "w").write(\'{"n": 1}\')\n')
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    for args in (["init", "-q"], ["repro", "-q"]):
        done = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "dvc pipeline")
    store = str(tmp_path / "store")
    imported = CliRunner().invoke(main, ["runs", "import", str(repo / "dvc.lock"), "--store", store])
    assert imported.exit_code == 0, imported.output
    (repo / "metrics.json").write_text('{"n": 2}')  # the pipeline's own metrics file: not a difference

    def check() -> str:
        result = CliRunner().invoke(main, ["check", str(repo / "model.pkl"), "--store", store, "--path", str(repo)])
        assert result.exit_code in (0, 1), result.output
        return f"exit {result.exit_code}\n{result.output}"

    assert check().startswith("exit 0\n"), check()
    (repo / "params.yaml").write_text("lr: 0.1\nunused: 2\n")  # a key the stage does not declare
    assert check().startswith("exit 0\n")
    (repo / "params.yaml").write_text("lr: 0.2\nunused: 2\n")
    changed = check()
    assert changed.startswith("exit 1\n") and "param lr 0.1 → 0.2" in changed
    assert "params.yaml changed" not in changed and "metrics.json" not in changed.split("note:")[0]
