"""check: a changed data file, a changed package version and a new commit, each named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner
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


def test_check_names_each_difference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_project(tmp_path)
    # a separate environment, so a package can really be upgraded in it without touching this one;
    # this environment's packages (numpy, provaudit) reach it through PYTHONPATH
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
    python = str(venv / "bin" / "python")
    install_dist(venv, "tinydep", "2.1")
    train(repo, python=python)
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
    repo = make_project(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in sys.path if p))
    python = str(venv / "bin" / "python")
    install_dist(venv, "tinydep", "2.1")
    train(repo, python=python)
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
