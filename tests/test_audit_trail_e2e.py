"""Issue 17 end to end: the credit-scoring project built for real (git, a 3-stage `dvc repro`, numpy
training, an MLflow file store, serve.py logging predictions), then each question after a complaint
asked as one command (tests/audit_trail_scenario.py runs them; here their answers are checked).

Oracles are independent of provaudit: git, DVC's dvc.lock and the files' own bytes (sha256).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from audit_trail_scenario import Scenario, story

pytest.importorskip("dvc")
pytest.importorskip("mlflow")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    yield story(tmp_path_factory.mktemp("audit-trail"))


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_check_is_ok_after_dvc_repro_and_commit_and_names_a_param_as_a_param(scenario: Scenario) -> None:
    check = scenario.named["check"]
    assert check.status == 0, check.output
    assert "ok: code, parameters, environment and data are as the run recorded them" in check.output
    # the run's own outputs and DVC's bookkeeping changed, and are said not to count
    assert "dvc.lock" in check.output and "metrics.json" in check.output and "difference" not in check.output

    edited = scenario.named["check-params"]
    assert edited.status == 1, edited.output
    assert "param train.C 0.5 → 0.25" in edited.output
    assert "file params.yaml" not in edited.output and "dvc.lock changed" not in edited.output


def test_runs_diff_shows_params_data_versions_metrics_and_outputs(scenario: Scenario) -> None:
    lock = yaml.safe_load((scenario.repo / "dvc.lock").read_text())["stages"]["train"]
    features_now = next(d["md5"] for d in lock["deps"] if d["path"] == "data/features")
    diff = scenario.named["runs-diff"]
    assert diff.status == 0, diff.output
    assert "param train.C 1.0 → 0.5" in diff.output
    assert f"→ {features_now}" in diff.output  # the v2 data version is DVC's own hash of data/features
    assert "file data/credit/LICENSE changed between the commits" in diff.output
    assert f"→ {sha256(scenario.repo / 'model.npz')}" in diff.output
    assert "metric accuracy" in diff.output
    assert "train.lr" not in diff.output  # unchanged parameters are not differences

    found = json.loads(scenario.named["runs-diff-json"].output)
    assert {"a", "b", "same", "code", "params", "data", "packages", "metrics", "outputs"} <= found.keys()
    assert found["same"] is False
    assert found["params"] == [{"name": "train.C", "old": "1.0", "new": "0.5", "message": "param train.C 1.0 → 0.5"}]
    (features,) = [d for d in found["data"] if d["name"] == "data/features"]
    assert features["new"] == features_now and features["old"] != features_now
    assert found["packages"] == []  # both runs ran in the same environment


def test_reproduce_is_identical_for_the_deterministic_training(scenario: Scenario) -> None:
    done = scenario.named["reproduce"]
    assert done.status == 0, done.output
    model = sha256(scenario.repo / "model.npz")
    assert f"identical  model.npz  {model}" in done.output
    commit = next(line.split()[-1] for line in done.output.splitlines() if line.strip().startswith("commit"))
    assert commit == scenario.sh("git log -1 --format=%H -- params.yaml").output.strip()  # the v2 training commit
    assert "recorded packages at their recorded versions" in done.output
    # the checkout was a temporary worktree, gone afterwards; the work tree is untouched
    assert scenario.sh("git worktree list").output.count("\n") == 1
    assert scenario.sh("git status --porcelain").output == ""


def test_reproduce_names_the_output_an_unseeded_run_does_not_reproduce(scenario: Scenario) -> None:
    done = scenario.named["reproduce-explore"]
    assert done.status == 1, done.output
    recorded = sha256(scenario.repo / "explore.npz")
    assert f"different  explore.npz: recorded {recorded}, reproduced sha256:" in done.output
    assert "different: explore.npz" in done.output
