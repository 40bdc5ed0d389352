"""Issue 17 end to end: the credit-scoring project built for real (git, a 3-stage `dvc repro`, numpy
training, an MLflow file store, serve.py logging predictions), then each question after a complaint
asked as one command (tests/audit_trail_scenario.py runs them; here their answers are checked).

Oracles are independent of provaudit: git, DVC's dvc.lock at each training commit, DVC's cache (the v1
model file as DVC stored it) and the files' own bytes (sha256). One test per item of the issue.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from audit_trail_scenario import Scenario, run_iris, story

DOCS = Path(__file__).resolve().parents[1] / "docs"
pytest.importorskip("dvc")
pytest.importorskip("mlflow")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    yield story(tmp_path_factory.mktemp("audit-trail"))


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def lock_at(scenario: Scenario, message: str) -> dict[str, dict[str, str]]:
    """dvc.lock as the commit with MESSAGE has it: {stage: {path: md5}} of its deps and outs."""
    commit = scenario.sh(f"git log --format=%H --grep='^{message}$'").output.strip()
    stages = yaml.safe_load(scenario.sh(f"git show {commit}:dvc.lock").output)["stages"]
    return {name: {e["path"]: e["md5"] for e in [*st["deps"], *st["outs"]]} for name, st in stages.items()}


def dvc_cached(scenario: Scenario, md5: str) -> Path:
    return scenario.repo / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def versions(scenario: Scenario) -> tuple[str, str]:
    """The v1 and v2 model digests: the files DVC cached for each training commit's dvc.lock."""
    v1 = sha256(dvc_cached(scenario, lock_at(scenario, "train v1")["train"]["model.npz"]))
    return v1, sha256(scenario.repo / "model.npz")


def train_runs(scenario: Scenario) -> list[str]:
    return run_iris(scenario.named["runs-list"].output, "train")


def lines_once(output: str) -> bool:
    """No line printed twice (an upstream is listed under each dataset it is upstream of: not a repeat)."""
    lines = [line for line in output.splitlines() if line.strip() and not line.startswith("  upstream ")]
    return len(lines) == len(set(lines))


# --- item 1: the licence in force when the model was trained; the later change a note --------------


def test_item1_a_v1_prediction_traces_to_v1_with_the_licence_as_of_training(scenario: Scenario) -> None:
    v1, v2 = versions(scenario)
    lock = lock_at(scenario, "train v1")
    first = train_runs(scenario)[0]
    trace = scenario.named["trace-v1"]
    assert trace.status == 0, trace.output
    out = trace.output
    assert f"model version model:acme/credit-scorer @ {v1} (exact version)" in out
    assert f"training run https://w3id.org/provaudit/id/run/{first} " in out
    assert "param    train.C = 1.0" in out
    features = lock["train"]["data/features"]
    assert "trained on dataset:credit-features: " in out and f"license CC-BY-4.0 (as of training @ {features})" in out
    assert "→ dataset:credit-prepared → dataset:credit: CC-BY-4.0 (commercial), declared in README.md" in out
    assert "verdict for model:acme/credit-scorer: " in out and "license CC-BY-4.0 (as of training)" in out
    (since,) = [line for line in out.splitlines() if line.startswith("since then: ")]
    assert "dataset:credit relicensed CC-BY-4.0 → CC-BY-NC-4.0" in since
    assert [line for line in out.splitlines() if "CC-BY-NC" in line] == [since]  # today's licence only as a note

    data = json.loads(scenario.named["trace-v1-json"].output)
    assert {"prediction", "model", "run", "review", "datasets", "page", "problems"} <= data.keys()
    assert (data["model"]["version"], data["model"]["exact_version"]) == (v1, True)
    assert data["run"]["iri"].endswith(first) and data["problems"] == []
    # every dataset of the lineage at the version the runs used, with its licence as of training
    datasets = {d["id"]: d for d in data["datasets"]}
    assert datasets["dataset:credit-features"]["data_version"] == features
    assert datasets["dataset:credit-prepared"]["data_version"] == lock["features"]["data/prepared"]
    credit = datasets["dataset:credit"]
    assert (credit["data_version"], credit["effective_license"]) == (lock["prepare"]["data/credit"], "CC-BY-4.0")
    (relicensed,) = [c for c in credit["since"] if c["what"] == "license"]
    assert relicensed["from"] == "CC-BY-4.0" and relicensed["to"].startswith("CC-BY-NC-4.0")
    assert data["review"]["effective_license"] == "CC-BY-4.0"
    # the pipeline's own stages declare no licence: the model takes its data's terms (commercial, attribution)
    assert data["review"]["use"] == "commercial" and data["review"]["attribution"]
    assert {"what": "version", "from": v1, "to": v2} in [
        {k: c[k] for k in ("what", "from", "to")} for c in data["review"]["since"]
    ]
    assert any(c["what"] == "verdict" and c["to"].startswith("non-commercial") for c in data["review"]["since"])


# --- item 2: imports keep what was logged, are idempotent, one model record per digest -------------


def test_item2_imports_are_idempotent_and_merge_with_the_native_runs(scenario: Scenario) -> None:
    first, second = train_runs(scenario)
    mlflow = scenario.named["import-mlflow"]
    assert mlflow.status == 0, mlflow.output
    # the MLflow run logged the v1 model file: it is the v1 run, not a new run with today's data
    assert f"same outputs as run https://w3id.org/provaudit/id/run/{first} " in mlflow.output
    for name in ("import-dvc", "import-dvc-again"):
        done = scenario.named[name]
        assert done.status == 0, done.output
        assert "0 run(s) imported, 3 already in the store" in done.output
    assert scenario.named["import-dvc-again"].output.count("import   already imported as ") == 3
    assert (
        f"already imported as https://w3id.org/provaudit/id/run/{second}" in scenario.named["import-dvc-again"].output
    )

    before = {line.split("\t")[0] for line in scenario.named["runs-list"].output.splitlines()}
    after = scenario.named["runs-after-import"].output.splitlines()
    assert before <= {line.split("\t")[0] for line in after}
    assert len(after) == len(before) + 1  # only the explore run is new; the imports added none
    made = {line.split("\t")[-1] for line in after}
    assert made == {
        "dataset:credit-prepared",
        "dataset:credit-features",
        "model:acme/credit-scorer",
        "model:acme/explorer",
    }

    again = scenario.named["trace-v1-after-import"]
    assert again.status == 0, again.output
    assert f"training run https://w3id.org/provaudit/id/run/{first} " in again.output
    features = lock_at(scenario, "train v1")["train"]["data/features"]
    assert f"(as of training @ {features})" in again.output and "python ? with 0" not in again.output


# --- item 3: the NC licence reaches the model through three stages ---------------------------------


def test_item3_the_nc_licence_reaches_the_v2_model_through_three_stages(scenario: Scenario) -> None:
    _, v2 = versions(scenario)
    trace = scenario.named["trace-v2"]
    assert trace.status == 0, trace.output
    out = trace.output
    assert f"model version model:acme/credit-scorer @ {v2} (exact version)" in out
    assert "verdict for model:acme/credit-scorer: non-commercial, license CC-BY-NC-4.0" in out
    chain = "model:acme/credit-scorer → dataset:credit-features → dataset:credit-prepared → dataset:credit: "
    assert chain + "CC-BY-NC-4.0 (non-commercial)" in out
    lock = lock_at(scenario, "train v2")
    assert f"(as of training @ {lock['train']['data/features']})" in out


# --- item 4: a tampered or cut log is refused; which answers did a model give -----------------------


def test_item4_edited_and_cut_logs_are_refused_and_log_query_finds_the_v1_answers(scenario: Scenario) -> None:
    assert scenario.named["verify"].status == 0 and "chain intact" in scenario.named["verify"].output
    edited = scenario.named["trace-edited"]
    assert edited.status == 1, edited.output
    assert "chain broken at" in edited.output and "edited/predictions.jsonl:2" in edited.output
    assert "approve" not in edited.output and "model version" not in edited.output  # not traced as evidence

    assert scenario.named["seal"].status == 0, scenario.named["seal"].output
    cut = scenario.named["verify-cut"]
    assert cut.status == 1, cut.output
    assert "checkpoint 1" in cut.output and "no longer holds" in cut.output and "truncated" in cut.output

    query = scenario.named["log-query"]
    assert query.status == 0, query.output
    found = [line.split()[1] for line in query.output.splitlines() if line[:4].isdigit()]
    assert found == ["v1-0", "v1-1", "v1-2"]


# --- item 5: an id-only prediction gets the version in force then, and the others with why ----------


def test_item5_an_id_only_prediction_gets_the_version_in_force_then(scenario: Scenario) -> None:
    v1, v2 = versions(scenario)
    first, second = train_runs(scenario)
    trace = scenario.named["trace-id-only"]
    assert trace.status == 0, trace.output
    out = trace.output
    assert f"model version model:acme/credit-scorer @ {v1} (chosen by time" in out
    assert f"not chosen {v2} (run https://w3id.org/provaudit/id/run/{second}): trained after the prediction" in out
    assert f"training run https://w3id.org/provaudit/id/run/{first} " in out
    assert "NOT the exact version" not in out


# --- item 7: smaller things ----------------------------------------------------------------------


def test_item7_missing_outputs_run_names_and_no_duplicate_or_foreign_obligations(scenario: Scenario) -> None:
    missing = scenario.named["missing-output"]
    assert missing.status != 0 and "missing.npz" in missing.output and "succeeded" not in missing.output
    explore = next(s for s in scenario.steps if s.command.startswith("provaudit run --used data/features"))
    assert "(provaudit: explore.py)" in explore.output  # the script, not "python"
    for name in ("trace-v1", "trace-v2", "trace-id-only"):
        assert lines_once(scenario.named[name].output), scenario.named[name].output
    site = scenario.named["site"]
    assert site.status == 0, site.output
    published = [f for f in (scenario.root / "site").rglob("*") if f.is_file()]
    assert published
    leaks = [
        f.relative_to(scenario.root).as_posix()
        for f in published
        if str(scenario.root) in (text := f.read_text(encoding="utf-8", errors="replace")) or "site-packages" in text
    ]
    assert leaks == [], f"{len(leaks)} of {len(published)} published files name a path of this machine"
    # the packages' GPL and share-alike terms are not the model's obligations
    obligations = [line for line in scenario.named["trace-v2"].output.splitlines() if "obligations" in line]
    assert obligations == ["  obligations attribution"]


# --- item 6 and the rest of item 4: check, runs diff, reproduce ----------------------------------


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
    v1, _ = versions(scenario)
    old = scenario.named["reproduce-v1"]  # the v1 run: its inputs come back from DVC's cache
    assert old.status == 0, old.output
    assert f"identical  model.npz  {v1}" in old.output
    assert "restored from the DVC cache" in old.output
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


# --- docs/versioning.md walks this very scenario --------------------------------------------------


def test_the_docs_walkthrough_is_what_these_commands_print(scenario: Scenario) -> None:
    spec = importlib.util.spec_from_file_location("make_versioning_doc", DOCS / "make_versioning_doc.py")
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    section = generator.render(scenario)
    doc = (DOCS / "versioning.md").read_text(encoding="utf-8")
    assert generator.normalise(generator.committed(doc)) == generator.normalise(section), (
        "docs/versioning.md's walkthrough is not what the commands print now: run python docs/make_versioning_doc.py"
    )
    assert str(scenario.root) not in section and "site-packages" not in section  # no path of this machine
