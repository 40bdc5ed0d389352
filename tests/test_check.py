"""check: a changed data file, a changed package version and a new commit, each named."""

from __future__ import annotations

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
        assert "ok: code, environment and data are as the run recorded them" in clean.output

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
