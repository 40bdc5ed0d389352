"""Training runs: the docs' numpy training script run for real through provaudit.run in a real git repo."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from provaudit.api import open_store
from provaudit.rules.review import review_records
from provaudit.versions.data import data_version
from provaudit.versions.runs import load_runs

DOCS = Path(__file__).resolve().parents[1] / "docs" / "versioning.md"
# a dataset card as the Hub writes them, under CC BY-NC 4.0: the terms a model trained on it inherits
CARD = """---
license: cc-by-nc-4.0
pretty_name: Credit applications
task_categories:
- tabular-classification
size_categories:
- n<1K
---
# Credit applications

Synthetic credit applications (income, debt ratio, approved) for testing.
Licensed under Creative Commons Attribution-NonCommercial 4.0.
"""


def training_script() -> str:
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"<!-- train-example -->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/versioning.md lost its training example"
    return match.group(1)


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


def make_project(root: Path) -> Path:
    """A git repo with the docs' train.py, a CSV made here and its CC BY-NC card."""
    repo = root / "project"
    (repo / "data" / "credit").mkdir(parents=True)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] - x[:, 1] > 0).astype(int)
    rows = "\n".join(f"{a:.4f},{b:.4f},{c}" for (a, b), c in zip(x, y, strict=True))
    (repo / "data" / "credit" / "train.csv").write_text("income,debt,approved\n" + rows + "\n")
    (repo / "data" / "credit" / "README.md").write_text(CARD)
    (repo / "train.py").write_text(training_script())
    (repo / ".gitignore").write_text(".provaudit/\nmodel.npz\n*.jsonl*\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "training code and data")
    return repo


def train(repo: Path, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROVAUDIT_STORE": str(repo / ".provaudit")}
    done = subprocess.run([python, "train.py"], cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def trained(tmp_path: Path) -> Path:
    repo = make_project(tmp_path)
    train(repo)
    return repo


def test_training_script_records_run_data_code_and_inherited_terms(trained: Path) -> None:
    commit = git(trained, "rev-parse", "HEAD").strip()
    version = data_version(trained / "data" / "credit", cache=False).dir_hash
    with open_store(trained / ".provaudit", read_only=True) as db:
        (run,) = load_runs(db)
        model = db.record("model:acme/credit-scorer")
        records = list(db.records(light=True))
    assert run.status == "succeeded" and run.params == {"lr": "0.5", "epochs": "300"}
    assert run.metrics["accuracy"] > 0.9  # the numpy model really learned the rule
    assert run.code.commit == commit and run.code.branch == "main" and run.code.dirty == []
    assert any(p.name == "numpy" and p.version == np.__version__ for p in run.packages)
    (used,) = run.inputs
    assert (used.path, used.record, used.version) == ("data/credit", "dataset:credit", version)
    assert used.entries is not None and "train.csv" in used.entries
    (out,) = run.outputs
    assert out.record == "model:acme/credit-scorer" and out.sha256 and out.sha256.startswith("sha256:")

    assert model is not None and model.version == out.sha256
    assert model.fact("training_run") == run.iri and model.fact("code_version") == commit
    (link,) = model.upstream
    assert (link.target, link.relation.value, link.version) == ("dataset:credit", "trained_on", version)

    review = {r.id: r for r in review_records(records).records}["model:acme/credit-scorer"]
    assert review.use.value == "non-commercial" and review.attribution
    # the card's YAML says cc-by-nc-4.0; its prose sentence adds a non-commercial LicenseRef (issue 18's prose
    # reading), so the YAML's licence is asserted to be in force, not to be the whole expression
    assert "CC-BY-NC-4.0" in (review.effective_license or "").split(" AND ")
    step = next(s for s in review.evidence if s.record == "dataset:credit" and s.license == "CC-BY-NC-4.0")
    assert step.relation == "trained_on"
    assert step.note and version in step.note and run.iri in step.note


def test_a_failing_block_is_recorded_as_failed_without_a_model(tmp_path: Path) -> None:
    repo = make_project(tmp_path)
    script = "import provaudit\nwith provaudit.run('train') as run:\n    run.used('data/credit')\n"
    script += "    run.generated('model.npz', name='acme/broken')\n    raise RuntimeError('out of memory')\n"
    (repo / "fail.py").write_text(script)
    env = {**os.environ, "PROVAUDIT_STORE": str(repo / ".provaudit")}
    done = subprocess.run([sys.executable, "fail.py"], cwd=repo, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "out of memory" in done.stderr
    with open_store(repo / ".provaudit", read_only=True) as db:
        (run,) = load_runs(db)
        assert db.record("model:acme/broken") is None
    assert run.status == "failed" and run.error == "RuntimeError: out of memory"
    assert any("fail.py" in (d["path"] or "") for d in run.code.dirty)  # the untracked script is named, with its digest


def test_cli_run_wraps_a_command(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from provaudit.cli import main

    repo = make_project(tmp_path)
    (repo / "fit.py").write_text(
        "import json, numpy as np\nnp.save('weights.npy', np.ones(3))\njson.dump({'loss': 0.25}, open('m.json', 'w'))\n"
    )
    store = tmp_path / "store"
    old = Path.cwd()
    os.chdir(repo)
    try:
        args = ["run", "--used", "data/credit", "--generated", "weights.npy", "--name", "acme/w", "--param", "lr=0.1"]
        args += ["--metrics", "m.json", "--store", str(store), "--", sys.executable, "fit.py"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        failed = CliRunner().invoke(
            main, ["run", "--store", str(store), "--", sys.executable, "-c", "raise SystemExit(3)"]
        )
        assert failed.exit_code == 3
    finally:
        os.chdir(old)
    with open_store(store, read_only=True) as db:
        ok, bad = load_runs(db)  # both start within one second: ordered by ns and write order, not by luck
        model = db.record("model:acme/w")
    assert ok.status == "succeeded" and ok.params == {"lr": "0.1"} and ok.metrics == {"loss": 0.25}
    assert bad.status == "failed" and "status 3" in (bad.error or "")
    assert ok.started_ns is not None and bad.started_ns is not None and ok.started_ns < bad.started_ns
    assert ok.seq is not None and bad.seq == ok.seq + 1
    assert ok.name == "fit.py" and bad.name.endswith(" -c")  # the script Python ran, not "python"
    assert model is not None and model.upstream[0].target == "dataset:credit"


def test_runs_in_one_second_keep_their_order(tmp_path: Path) -> None:
    """Ten runs in a row (well within a second or two): load_runs gives them back in the order they ran."""
    import provaudit

    store = tmp_path / "store"
    for i in range(10):
        with provaudit.run(f"r{i}", store=store, path=tmp_path, python=sys.executable):
            pass
    with open_store(store, read_only=True) as db:
        runs = load_runs(db)
    assert [r.name for r in runs] == [f"r{i}" for i in range(10)]
    assert [r.seq for r in runs] == list(range(1, 11))


def test_a_declared_output_that_is_never_written_fails_the_run(tmp_path: Path) -> None:
    repo = make_project(tmp_path)
    script = "import provaudit\nwith provaudit.run('train') as run:\n    run.used('data/credit')\n"
    script += "    run.generated('model.npz', name='acme/forgot')\n"
    (repo / "forgot.py").write_text(script)
    env = {**os.environ, "PROVAUDIT_STORE": str(repo / ".provaudit")}
    done = subprocess.run([sys.executable, "forgot.py"], cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 1 and "model.npz" in done.stderr and "MissingOutputError" in done.stderr
    with open_store(repo / ".provaudit", read_only=True) as db:
        (run,) = load_runs(db)
        assert db.record("model:acme/forgot") is None
    assert run.status == "failed" and "model.npz" in (run.error or "")
    (out,) = run.outputs
    assert out.path == "model.npz" and out.sha256 is None and out.record is None


def test_cli_run_with_a_missing_output_exits_1(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from provaudit.cli import main

    repo = make_project(tmp_path)
    store = tmp_path / "store"
    old = Path.cwd()
    os.chdir(repo)
    try:
        args = ["run", "--used", "data/credit", "--generated", "nothing.npz", "--store", str(store)]
        result = CliRunner().invoke(main, [*args, "--", sys.executable, "-c", "pass"])
    finally:
        os.chdir(old)
    assert result.exit_code == 1, result.output
    assert "nothing.npz" in result.output
    with open_store(store, read_only=True) as db:
        (run,) = load_runs(db)
    assert run.status == "failed" and run.outputs[0].sha256 is None
