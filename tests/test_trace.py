"""trace: a prediction logged by the docs' trained model, walked back to the training data's licenses."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner
from test_runs import git, make_project, train

from provaudit.cli import main
from provaudit.versions.predictions import log_prediction


def test_trace_prints_the_chain_down_to_the_data_licenses(tmp_path: Path) -> None:
    repo = make_project(tmp_path)
    train(repo)
    log = tmp_path / "predictions.jsonl"
    pid = log_prediction(model=str(repo / "model.npz"), inputs={"income": 1.2, "debt": 0.3}, output=1, log=log)
    log_prediction(model="model:other", inputs={}, output=0, log=log)
    store = str(repo / ".provaudit")
    result = CliRunner().invoke(
        main, ["trace", pid, "--log", str(log), "--store", store, "--site", "https://a.example"]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    commit = git(repo, "rev-parse", "HEAD").strip()
    assert "model version model:acme/credit-scorer @ sha256:" in out and "(exact version)" in out
    assert f"commit {commit}" in out and "param    lr = 0.5" in out and "metric   accuracy" in out
    assert "data     data/credit = dataset:credit @ " in out
    assert "trained on dataset:credit: non-commercial, license CC-BY-NC-4.0" in out
    assert "declared 'cc-by-nc-4.0' → CC-BY-NC-4.0 (README.md" in out
    assert "verdict for model:acme/credit-scorer: non-commercial" in out and "attribution" in out
    assert "page     https://a.example/records/model-acme--credit-scorer.html" in out

    as_json = CliRunner().invoke(main, ["trace", pid, "--log", str(log), "--store", store, "--json"])
    data = json.loads(as_json.output)
    assert data["model"]["exact_version"] and data["run"]["inputs"][0]["record"] == "dataset:credit"
    # the card's prose ("Licensed under ... NonCommercial 4.0") may add a LicenseRef beside the YAML's id
    assert "CC-BY-NC-4.0" in data["datasets"][0]["effective_license"].split(" AND ")


def test_trace_names_a_model_version_the_store_does_not_have(tmp_path: Path) -> None:
    repo = make_project(tmp_path)
    train(repo)
    log = tmp_path / "p.jsonl"
    (repo / "model.npz").write_bytes(b"retrained elsewhere, never recorded")
    os.utime(repo / "model.npz", (1, 1))
    pid = log_prediction(
        model={"id": "model:acme/credit-scorer", "digest": "sha256:" + "0" * 64}, inputs=1, output=0, log=log
    )
    result = CliRunner().invoke(main, ["trace", pid, "--log", str(log), "--store", str(repo / ".provaudit")])
    assert result.exit_code == 1
    assert "NOT the exact version" in result.output and "no run made a model with digest sha256:000" in result.output


def test_trace_refuses_a_line_the_chain_reports_as_edited(tmp_path: Path) -> None:
    """Issue 17, item 4: an edited line is never traced; the first bad line is named, before and after indexing."""
    repo = make_project(tmp_path)
    train(repo)
    store = str(repo / ".provaudit")
    log = tmp_path / "p.jsonl"
    model = str(repo / "model.npz")
    ids = [log_prediction(model=model, inputs={"row": i}, output={"decision": "decline"}, log=log) for i in range(4)]
    assert CliRunner().invoke(main, ["trace", ids[3], "--log", str(log), "--store", store]).exit_code == 0
    lines = log.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"decline"', b'"approve"')
    log.write_bytes(b"".join(lines))
    verified = CliRunner().invoke(main, ["log", "verify", str(log)])
    assert verified.exit_code == 1 and f"{log}:2: edited" in verified.output
    for pid in (ids[1], ids[3]):  # the edited line itself, and a line after it
        result = CliRunner().invoke(main, ["trace", pid, "--log", str(log), "--store", store])
        assert result.exit_code == 1, result.output
        assert f"refused: chain broken at {log}:2: edited: its content does not match its hash" in result.output
        assert "approve" not in result.output and "verdict" not in result.output
    as_json = CliRunner().invoke(main, ["trace", ids[3], "--log", str(log), "--store", store, "--json"])
    refused = json.loads(as_json.output)
    assert as_json.exit_code == 1 and f"{log}:2: edited" in refused["problems"][0]
    assert refused["prediction"] is None and refused["review"] is None and refused["datasets"] == []
    assert CliRunner().invoke(main, ["trace", ids[0], "--log", str(log), "--store", store]).exit_code == 0
    (tmp_path / "p.jsonl.index").unlink()  # never indexed: the first read verifies while indexing
    result = CliRunner().invoke(main, ["trace", ids[3], "--log", str(log), "--store", store])
    assert result.exit_code == 1 and f"{log}:2: edited" in result.output
