"""Time-aware provenance (issue 17, items 1 and 5): a prediction is traced as of its model's training.

The scenario, built for real once per module: a git repository whose data folder carries the full
CC-BY-4.0 legal code (tests/fixtures/relicensing, see SOURCE.md) and a CC-BY card; the docs' numpy
training script run through ``provaudit.run`` (v1); predictions logged with the model file's digest
and with the model id only; then the owner relicenses the data to CC-BY-NC-4.0 (and adds rows), it
is rescanned and the model retrained (v2). The oracles are independent of the code under test: the
model digests are sha256 of the files as written, the scans are read from `provaudit scans`.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from test_runs import git, make_project, train

from provaudit.api import open_store
from provaudit.cli import main
from provaudit.versions.predictions import log_prediction, read_prediction
from provaudit.versions.runs import load_runs
from provaudit.versions.trace import trace_prediction

FIXTURES = Path(__file__).parent / "fixtures" / "relicensing"
CARD = """---
license: {license}
pretty_name: Credit applications
---
# Credit applications

Synthetic credit applications (income, debt ratio, approved) for testing.
"""


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _next_second(after: str) -> None:
    """Wait until the clock has left the second of ``after``: the store keeps whole seconds, so two
    events in one second could not be ordered (this is what makes the order certain, not luck)."""
    stamp = datetime.fromisoformat(after.replace("Z", "+00:00")).replace(microsecond=0).timestamp()
    while time.time() < stamp + 1:
        time.sleep(0.05)


def _last_scan_end(store: Path) -> str:
    with open_store(store, read_only=True) as db:
        ended = db.scans()[-1].ended
    assert ended
    return ended


@dataclass
class Scenario:
    repo: Path
    store: Path
    log: Path
    v1: str  # the model file's digest after the first training
    v2: str
    run1: str
    run2: str
    first_scan: str  # the scan the first training run wrote
    rescan: str  # the scan that read the relicensed data
    by_digest: str  # prediction ids
    by_id: str
    after: str
    after_by_id: str
    serving: str  # the commit the serving code was logged with

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(main, [*args, "--store", str(self.store)])

    def trace(self, pid: str, *args: str) -> Result:
        return self.cli("trace", pid, "--log", str(self.log), *args)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    repo = make_project(tmp_path_factory.mktemp("relicensing"))
    data = repo / "data" / "credit"
    store = repo / ".provaudit"
    (data / "README.md").write_text(CARD.format(license="cc-by-4.0"))
    (data / "LICENSE").write_bytes((FIXTURES / "CC-BY-4.0.txt").read_bytes())
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "data under CC BY 4.0")
    train(repo)
    v1 = _sha256(repo / "model.npz")
    with open_store(store, read_only=True) as db:
        (run1,) = load_runs(db)
        (first_scan,) = db.scans()
    _next_second(_last_scan_end(store))

    log = repo / "predictions.jsonl"
    serving = git(repo, "rev-parse", "HEAD").strip()
    by_digest = log_prediction(
        model=str(repo / "model.npz"),
        inputs={"income": 1.2, "debt": 0.3},
        output=1,
        log=log,
        keep_inputs=True,
        code={"commit": serving, "path": "serve.py"},
    )
    by_id = log_prediction(model="model:acme/credit-scorer", inputs={"income": 0.1, "debt": 0.9}, output=0, log=log)
    _next_second(read_prediction(log, by_id).time)

    # the owner relicenses the data (and adds rows); it is rescanned, and the model retrained
    (data / "README.md").write_text(CARD.format(license="cc-by-nc-4.0"))
    (data / "LICENSE").write_bytes((FIXTURES / "CC-BY-NC-4.0.txt").read_bytes())
    with (data / "train.csv").open("a") as handle:
        handle.write("1.5000,0.2000,1\n-0.7000,0.4000,0\n")
    git(repo, "commit", "-q", "-am", "data relicensed to CC BY-NC 4.0, two rows more")
    scanned = CliRunner().invoke(main, ["scan", str(data), "--store", str(store), "--fail-on", "never"])
    assert scanned.exit_code == 0, scanned.output
    with open_store(store, read_only=True) as db:
        rescan = db.scans()[-1]
    train(repo)
    v2 = _sha256(repo / "model.npz")
    after = log_prediction(model=str(repo / "model.npz"), inputs={"income": 1.2, "debt": 0.3}, output=1, log=log)
    _next_second(_last_scan_end(store))
    after_by_id = log_prediction(model="acme/credit-scorer", inputs={"income": 2.0, "debt": 0.1}, output=1, log=log)
    with open_store(store, read_only=True) as db:
        _, run2 = load_runs(db)
    assert v1 != v2
    return Scenario(
        repo=repo,
        store=store,
        log=log,
        v1=v1,
        v2=v2,
        run1=run1.iri,
        run2=run2.iri,
        first_scan=first_scan.iri.rsplit("/", 1)[-1],
        rescan=rescan.iri.rsplit("/", 1)[-1],
        by_digest=by_digest,
        by_id=by_id,
        after=after,
        after_by_id=after_by_id,
        serving=serving,
    )


def test_a_v1_prediction_reads_the_licence_in_force_at_training(scenario: Scenario) -> None:
    result = scenario.trace(scenario.by_digest)
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"model version model:acme/credit-scorer @ {scenario.v1} (exact version)" in out
    assert f"training run {scenario.run1} " in out
    assert "trained on dataset:credit: commercial, license CC-BY-4.0 (as of training @ " in out
    assert "verdict for model:acme/credit-scorer:" in out and "license CC-BY-4.0 (as of training)" in out
    assert '  inputs   {"debt": 0.3, "income": 1.2}' in out
    assert f"  serving  commit {scenario.serving}, path serve.py" in out
    assert any(line.startswith("  packages numpy ") for line in out.splitlines())
    assert f"as of training: scan {scenario.first_scan}" in out
    (since,) = [line for line in out.splitlines() if line.startswith("since then: ")]
    assert f"dataset:credit relicensed CC-BY-4.0 → CC-BY-NC-4.0 (scan {scenario.rescan}, " in since
    assert "now non-commercial, license CC-BY-NC-4.0" in since
    # today's licence is only a note: nothing else in the trace names it
    assert [line for line in out.splitlines() if "CC-BY-NC" in line] == [since]
    lines = out.splitlines()
    assert len(lines) == len(set(lines)), "a line is printed twice"

    data = json.loads(scenario.trace(scenario.by_digest, "--json").output)
    assert {"prediction", "model", "run", "review", "datasets", "page", "problems"} <= data.keys()
    assert data["model"]["version"] == scenario.v1 and data["model"]["exact_version"]
    assert data["run"]["iri"] == scenario.run1 and data["problems"] == []
    (dataset,) = data["datasets"]
    assert dataset["id"] == "dataset:credit" and dataset["use"] == "commercial"
    assert dataset["effective_license"] == "CC-BY-4.0"
    assert dataset["data_version"] == data["run"]["inputs"][0]["version"]
    relicensed = [c for c in dataset["since"] if c["what"] == "license"]
    assert relicensed == [
        {
            "what": "license",
            "record": "dataset:credit",
            "from": "CC-BY-4.0",
            "to": "CC-BY-NC-4.0",
            "scan": scenario.rescan,
            "date": relicensed[0]["date"],
        }
    ]
    assert any(c["what"] == "verdict" and c["to"].startswith("non-commercial") for c in dataset["since"])
    review = data["review"]
    assert review["effective_license"] == "CC-BY-4.0" and review["use"] != "non-commercial"
    assert {"what": "version", "from": scenario.v1, "to": scenario.v2} == {
        k: v for c in review["since"] if c["what"] == "version" for k, v in c.items() if k in ("what", "from", "to")
    }


def test_an_id_only_prediction_gets_the_version_in_force_and_the_others_with_why(scenario: Scenario) -> None:
    result = scenario.trace(scenario.by_id)
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"model version model:acme/credit-scorer @ {scenario.v1} (chosen by time" in out
    assert f"  not chosen {scenario.v2} (run {scenario.run2}): trained after the prediction" in out
    assert "NOT the exact version" not in out and "problem" not in out
    assert "trained on dataset:credit: commercial, license CC-BY-4.0" in out

    data = json.loads(scenario.trace(scenario.by_id, "--json").output)
    model = data["model"]
    assert (model["version"], model["chosen_by"], model["exact_version"]) == (scenario.v1, "time", False)
    chosen = {c["version"]: c for c in model["candidates"]}
    assert chosen.keys() == {scenario.v1, scenario.v2}
    assert chosen[scenario.v1]["chosen"] and chosen[scenario.v1]["run"] == scenario.run1
    assert not chosen[scenario.v2]["chosen"] and "after the prediction" in chosen[scenario.v2]["why"]


def test_an_id_only_prediction_after_the_retraining_gets_v2_and_v1_was_superseded(scenario: Scenario) -> None:
    result = scenario.trace(scenario.after_by_id)
    assert result.exit_code == 0, result.output
    assert f"model version model:acme/credit-scorer @ {scenario.v2} (chosen by time" in result.output
    assert f"  not chosen {scenario.v1} (run {scenario.run1}): superseded before the prediction by {scenario.v2}" in (
        result.output
    )
    assert "trained on dataset:credit: non-commercial, license CC-BY-NC-4.0" in result.output


def test_a_v2_prediction_reads_the_new_licence_and_nothing_since(scenario: Scenario) -> None:
    with open_store(scenario.store, read_only=True) as db:
        found = trace_prediction(read_prediction(scenario.log, scenario.after), store=db)
    assert found.ok and found.exact and found.model is not None and found.model.version == scenario.v2
    assert found.run is not None and found.run.iri == scenario.run2
    assert [(d.id, d.use.value, d.effective_license) for d in found.datasets] == [
        ("dataset:credit", "non-commercial", "CC-BY-NC-4.0")
    ]
    assert found.since == {}


def test_review_and_export_as_of_the_first_scan_show_the_old_licence(scenario: Scenario) -> None:
    def licence(result: Result) -> str:
        assert result.exit_code == 0, result.output
        records = {r["id"]: r for r in json.loads(result.stdout)["records"]}
        return str(records["dataset:credit"]["effective_license"])

    assert licence(scenario.cli("review", "--format", "json", "--fail-on", "never")) == "CC-BY-NC-4.0"
    then = scenario.cli("review", "--format", "json", "--fail-on", "never", "--as-of", scenario.first_scan)
    assert licence(then) == "CC-BY-4.0"
    assert json.loads(then.output)["header"]["as_of"]["id"] == scenario.first_scan
    with open_store(scenario.store, read_only=True) as db:
        scans = db.scans()
    # a time: the last scan committed by then (the first scan's end comes a second or more before the rescan)
    by_time = scenario.cli("review", "--format", "json", "--fail-on", "never", "--as-of", str(scans[0].ended))
    assert licence(by_time) == "CC-BY-4.0"
    # a day: everything committed by its end (UTC), so the day of the last scan is the store as it is now
    by_day = scenario.cli("review", "--format", "json", "--fail-on", "never", "--as-of", str(scans[-1].ended)[:10])
    assert licence(by_day) == "CC-BY-NC-4.0"
    text = scenario.cli("review", "--fail-on", "never", "--as-of", scenario.first_scan).output
    assert f"as of: scan {scenario.first_scan}" in text and f"provaudit diff {scenario.first_scan}" in text

    named = scenario.cli("review", "credit", "--as-of", scenario.first_scan, "--format", "json", "--fail-on", "never")
    assert licence(named) == "CC-BY-4.0" and len(json.loads(named.stdout)["records"]) == 1
    assert f"since then: dataset:credit relicensed CC-BY-4.0 → CC-BY-NC-4.0 (scan {scenario.rescan}" in named.stderr

    exported = scenario.cli("export", "dataset:credit", "--format", "umr", "--as-of", scenario.first_scan)
    assert exported.exit_code == 0, exported.output
    assert "effective_license: CC-BY-4.0" in exported.stdout and "CC-BY-NC" not in exported.stdout
    assert f"since then: dataset:credit relicensed CC-BY-4.0 → CC-BY-NC-4.0 (scan {scenario.rescan}" in (
        exported.stderr
    )
    now = scenario.cli("export", "dataset:credit", "--format", "umr")
    assert "effective_license: CC-BY-NC-4.0" in now.stdout and "since then" not in now.stderr


def test_as_of_that_names_nothing_is_a_clear_error(scenario: Scenario) -> None:
    unknown = scenario.cli("review", "--as-of", "last-tuesday")
    assert unknown.exit_code == 2 and "neither a scan" in unknown.output and "provaudit scans" in unknown.output
    before = scenario.cli("review", "--as-of", "2001-01-01")
    assert before.exit_code == 2 and "no scan was committed at or before 2001-01-01" in before.output
    whole = scenario.cli("export", "--as-of", scenario.first_scan)
    assert whole.exit_code == 2 and "give RECORD" in whole.output


def test_a_two_stage_model_lists_the_data_behind_its_data_with_the_path(tmp_path: Path) -> None:
    repo = make_project(tmp_path)  # data/credit under CC BY-NC 4.0 (its card)
    store = tmp_path / "store"
    prepare = "import shutil; shutil.copytree('data/credit', 'data/prepared')"
    fit = "import numpy as np; rows = np.loadtxt('data/prepared/train.csv', delimiter=',', skiprows=1)\n"
    fit += "np.savez('model.npz', w=rows.mean(axis=0))"
    train = ["--used", "data/prepared", "--generated", "model.npz", "--name", "acme/two-stage"]
    old = Path.cwd()
    os.chdir(repo)
    try:
        for args in (
            ["--used", "data/credit", "--generated-data", "data/prepared", "--", sys.executable, "-c", prepare],
            [*train, "--", sys.executable, "-c", fit],
        ):
            done = CliRunner().invoke(main, ["run", "--store", str(store), *args])
            assert done.exit_code == 0, done.output
    finally:
        os.chdir(old)
    log = tmp_path / "p.jsonl"
    pid = log_prediction(model=str(repo / "model.npz"), inputs=[1.0, 0.2], output=1, log=log)
    result = CliRunner().invoke(main, ["trace", pid, "--log", str(log), "--store", str(store), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    by_id = {d["id"]: d for d in data["datasets"]}
    assert "path" not in by_id["dataset:prepared"]  # the run's own input
    credit = by_id["dataset:credit"]
    assert credit["path"] == ["model:acme/two-stage", "dataset:prepared", "dataset:credit"]
    assert credit["use"] == "non-commercial" and "CC-BY-NC-4.0" in credit["effective_license"]
    assert credit["data_version"].endswith(".dir")
    assert data["review"]["use"] == "non-commercial"
    text = CliRunner().invoke(main, ["trace", pid, "--log", str(log), "--store", str(store)]).output
    assert "data from dataset:credit (via dataset:prepared): non-commercial, license CC-BY-NC-4.0" in text
