"""The credit-scoring project of issue 17, built for real: used by tests/test_audit_trail_e2e.py and
docs/make_versioning_doc.py (which writes its commands and their output into docs/versioning.md).

A git repository with a synthetic CSV of credit applications and its card and LICENSE (the real
CC-BY-4.0 text, later relicensed to the real CC-BY-NC-4.0 text), a three-stage DVC pipeline
(prepare → features → train, each script recording itself with ``provaudit.run``), a numpy logistic
regression, a ``serve.py`` that logs every answer with ``provaudit.log_prediction``, and an MLflow
file-store run. Every command runs as a user would type it (``provaudit``, ``dvc``, ``git``,
``python``) in a shell in the repository, and is kept with its output and exit status.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import provaudit

FIXTURES = Path(__file__).parent / "fixtures" / "audit_trail"
CHECKOUT = Path(provaudit.__file__).resolve().parents[1]  # the provaudit being tested

CARD = """---
license: {license}
pretty_name: Credit applications
task_categories:
- tabular-classification
size_categories:
- n<1K
---
# Credit applications

Synthetic credit applications (income in thousands, debt ratio, age, approved) published by the
Acme lending data team. Licensed under {name}; see LICENSE.
"""
LICENSES = {
    "CC-BY-4.0": ("cc-by-4.0", "Creative Commons Attribution 4.0 International"),
    "CC-BY-NC-4.0": ("cc-by-nc-4.0", "Creative Commons Attribution-NonCommercial 4.0 International"),
}

PARAMS = "prepare:\n  min_income: 5.0\ntrain:\n  C: {C}\n  lr: 0.5\n  epochs: 400\n"

PREPARE = '''"""Stage 1: drop applications without a usable income."""
import csv
from pathlib import Path

import yaml

import provaudit

params = yaml.safe_load(open("params.yaml"))["prepare"]
with provaudit.run("prepare", params={"prepare.min_income": params["min_income"]}) as run:
    run.used("data/credit")
    with open("data/credit/applications.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if float(r["income"]) >= params["min_income"]]
    Path("data/prepared").mkdir(parents=True, exist_ok=True)
    with open("data/prepared/applications.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    run.generated("data/prepared", kind="dataset", name="credit-prepared")
'''

FEATURES = '''"""Stage 2: standardised features and the label."""
from pathlib import Path

import numpy as np

import provaudit

with provaudit.run("features") as run:
    run.used("data/prepared")
    rows = np.loadtxt("data/prepared/applications.csv", delimiter=",", skiprows=1)
    x, y = rows[:, :-1], rows[:, -1]
    mean, scale = x.mean(axis=0), x.std(axis=0)
    Path("data/features").mkdir(parents=True, exist_ok=True)
    np.savetxt("data/features/features.csv", np.column_stack([(x - mean) / scale, y]), delimiter=",", fmt="%.6f")
    np.savetxt("data/features/scaler.csv", np.vstack([mean, scale]), delimiter=",", fmt="%.6f")
    run.generated("data/features", kind="dataset", name="credit-features")
'''

TRAIN = '''"""Stage 3: an L2-regularised logistic regression in numpy (deterministic: no randomness)."""
import json

import numpy as np
import yaml

import provaudit

params = yaml.safe_load(open("params.yaml"))["train"]
with provaudit.run("train", params={f"train.{k}": v for k, v in params.items()}) as run:
    run.used("data/features")
    rows = np.loadtxt("data/features/features.csv", delimiter=",")
    mean, scale = np.loadtxt("data/features/scaler.csv", delimiter=",")
    x, y = rows[:, :-1], rows[:, -1]
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(params["epochs"]):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        w -= params["lr"] * (x.T @ (p - y) / len(y) + w / (params["C"] * len(y)))
        b -= params["lr"] * float(np.mean(p - y))
    accuracy = float(np.mean((p > 0.5) == y))
    run.log_metric("accuracy", accuracy)
    np.savez("model.npz", w=w, b=b, mean=mean, scale=scale)
    json.dump({"accuracy": round(accuracy, 4)}, open("metrics.json", "w"))
    run.generated("model.npz", kind="model", name="acme/credit-scorer")
'''

SERVE = '''"""Score applications with the current model; every answer goes to the audit log."""
import sys

import numpy as np

import provaudit

model = np.load("model.npz")
batch = sys.argv[1]  # request ids of this batch: <batch>-0, <batch>-1, ...
applicants = [[52.0, 0.31, 41.0], [18.5, 0.62, 23.0], [75.0, 0.12, 56.0]]
for i, x in enumerate(applicants):
    z = (np.array(x) - model["mean"]) / model["scale"]
    p = float(1 / (1 + np.exp(-(z @ model["w"] + model["b"]))))
    answer = {"decision": "approve" if p >= 0.5 else "decline", "p": round(p, 4)}
    # model="model.npz": the log records the file's sha256, the exact model version that answered
    provaudit.log_prediction(model="model.npz", inputs=x, output=answer, request_id=f"{batch}-{i}", keep_inputs=True)
    print(f"{batch}-{i}", answer)
'''

TRACK = '''"""The same training run as the team's MLflow file store sees it (params, metrics, data, model)."""
import json
import logging
import subprocess
import warnings
from pathlib import Path

import mlflow
import pandas as pd
import yaml

warnings.filterwarnings("ignore")  # MLflow's hints about pandas schemas
logging.getLogger("mlflow").setLevel(logging.ERROR)
mlflow.set_tracking_uri(Path("mlruns").resolve().as_uri())
mlflow.set_experiment("credit")
with mlflow.start_run(run_name="train"):
    mlflow.log_params(yaml.safe_load(open("params.yaml"))["train"])
    mlflow.log_metrics(json.load(open("metrics.json")))
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    mlflow.set_tag("mlflow.source.git.commit", commit)
    frame = pd.read_csv("data/credit/applications.csv")
    mlflow.log_input(mlflow.data.from_pandas(frame, source="data/credit", name="credit"), context="training")
    mlflow.log_artifact("model.npz", artifact_path="model")
'''

EXPLORE = '''"""An experiment with minibatch SGD whose seed is not pinned: each run draws a new one."""
import numpy as np

rows = np.loadtxt("data/features/features.csv", delimiter=",")
x, y = rows[:, :-1], rows[:, -1]
rng = np.random.default_rng()  # no seed: a different shuffle, and different weights, on every run
w, b = rng.normal(scale=0.1, size=x.shape[1]), 0.0
for _ in range(50):
    for batch in np.array_split(rng.permutation(len(y)), 10):
        p = 1 / (1 + np.exp(-(x[batch] @ w + b)))
        w -= 0.1 * x[batch].T @ (p - y[batch]) / len(batch)
        b -= 0.1 * float(np.mean(p - y[batch]))
np.savez("explore.npz", w=w, b=b)
'''

DVC_YAML = """stages:
  prepare:
    cmd: python prepare.py
    deps: [prepare.py, data/credit]
    params: [prepare.min_income]
    outs: [data/prepared]
  features:
    cmd: python features.py
    deps: [features.py, data/prepared]
    outs: [data/features]
  train:
    cmd: python train.py
    deps: [train.py, data/features]
    params: [train.C, train.lr, train.epochs]
    outs: [model.npz]
    metrics:
    - metrics.json:
        cache: false
"""

LEGACY = (
    "import provaudit; provaudit.log_prediction(model='model:acme/credit-scorer', inputs=[40.0, 0.55, 30.0], "
    "output={'decision': 'decline'}, request_id='v1-legacy')"
)

GITIGNORE = ".provaudit/\n.cache/\nmlruns/\npredictions.jsonl*\nexplore.npz\n"


def applications(seed: int, n: int) -> str:
    """Synthetic applications: approval follows income and debt ratio, with some noise."""
    rng = np.random.default_rng(seed)
    income = rng.gamma(4.0, 12.0, size=n).round(1)
    debt = rng.uniform(0.05, 0.8, size=n).round(2)
    age = rng.integers(19, 75, size=n)
    score = 0.05 * income - 4.0 * debt + 0.01 * age + rng.normal(scale=0.4, size=n)
    approved = (score > 0.8).astype(int)
    rows = [f"{a},{b},{c},{d}" for a, b, c, d in zip(income, debt, age, approved, strict=True)]
    return "income,debt_ratio,age,approved\n" + "\n".join(rows) + "\n"


@dataclass
class Step:
    """One command as typed in the repository, with what it printed (stdout then stderr) and its exit status."""

    command: str
    output: str
    status: int


@dataclass
class Scenario:
    root: Path
    steps: list[Step] = field(default_factory=list)
    named: dict[str, Step] = field(default_factory=dict)  # the answers the tests and the doc read

    @property
    def repo(self) -> Path:
        return self.root / "credit"

    @property
    def store(self) -> Path:
        return self.repo / ".provaudit"

    @property
    def log(self) -> Path:
        return self.repo / "predictions.jsonl"

    def env(self) -> dict[str, str]:
        """The user's shell: provaudit (this checkout), python, dvc on PATH; git identity; hermetic caches."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PROVAUDIT_", "MLFLOW_", "GIT_"))}
        env["PATH"] = os.pathsep.join([str(self.root / "bin"), str(Path(sys.executable).parent), env.get("PATH", "")])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")]))
        env |= {"GIT_AUTHOR_NAME": "Dana Analyst", "GIT_AUTHOR_EMAIL": "dana@acme.example"}
        env |= {"GIT_COMMITTER_NAME": "Dana Analyst", "GIT_COMMITTER_EMAIL": "dana@acme.example"}
        env |= {
            "DVC_NO_ANALYTICS": "1",
            "MLFLOW_ALLOW_FILE_STORE": "true",
            "PROVAUDIT_CACHE_DIR": str(self.root / "cache"),
        }
        env |= {"PROVAUDIT_PREDICTION_LOG": str(self.log), "HOME": str(self.root / "home"), "COLUMNS": "200"}
        env |= {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "PYTHONHASHSEED": "0"}
        return env

    def sh(self, command: str, *, ok: bool = True, name: str | None = None) -> Step:
        """Run COMMAND in the repository's shell; with OK, a non-zero exit fails with its output.

        NAME keeps the step as an answer (``named``) for the tests and the doc.
        """
        done = subprocess.run(
            command, shell=True, cwd=self.repo, env=self.env(), capture_output=True, text=True, check=False
        )
        step = Step(command, done.stdout + done.stderr, done.returncode)
        self.steps.append(step)
        if name:
            self.named[name] = step
        if ok and done.returncode != 0:
            raise AssertionError(f"$ {command}\nexit {done.returncode}\n{step.output}")
        return step

    def write(self, rel: str, text: str) -> None:
        path = self.repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def set_license(self, spdx: str) -> None:
        key, name = LICENSES[spdx]
        self.write("data/credit/README.md", CARD.format(license=key, name=name))
        self.write("data/credit/LICENSE", (FIXTURES / f"{spdx}.txt").read_text(encoding="utf-8"))

    def head(self) -> str:
        return self.sh("git rev-parse HEAD").output.strip()

    # --- the story, step by step ------------------------------------------------------------------

    def create(self) -> None:
        """The project at v1: CC-BY-4.0 data, the pipeline, committed."""
        (self.root / "bin").mkdir(parents=True, exist_ok=True)
        (self.root / "home").mkdir(exist_ok=True)
        shim = self.root / "bin" / "provaudit"
        shim.write_text(f"#!{sys.executable}\nfrom provaudit.cli import main\n\nmain()\n")
        shim.chmod(0o755)
        self.repo.mkdir(parents=True)
        self.write("data/credit/applications.csv", applications(1, 300))
        self.set_license("CC-BY-4.0")
        for rel, text in {
            "prepare.py": PREPARE,
            "features.py": FEATURES,
            "train.py": TRAIN,
            "serve.py": SERVE,
            "track.py": TRACK,
            "params.yaml": PARAMS.format(C=1.0),
            "dvc.yaml": DVC_YAML,
            ".gitignore": GITIGNORE,
        }.items():
            self.write(rel, text)
        self.sh("git init -q -b main && dvc init -q && git add . && git commit -q -m 'credit scoring v1'")

    def train(self, message: str) -> None:
        """``dvc repro`` (each stage records its provaudit run) and commit what DVC wrote."""
        self.sh("dvc repro -q")
        self.sh(f"git add -A && git commit -q -m {shlex.quote(message)}")

    def v1(self) -> None:
        self.create()
        self.train("train v1")
        self.sh("python track.py")
        self.sh("python serve.py v1")
        # an older client logs by model id only, as README's first snippet did
        self.sh(f"python -c {shlex.quote(LEGACY)}")

    def relicense(self) -> None:
        """v2: the owner relicenses the data CC-BY-NC-4.0 and adds applications; C is tuned to 0.5."""
        self.set_license("CC-BY-NC-4.0")
        self.write("data/credit/applications.csv", applications(1, 300) + applications(2, 100).split("\n", 1)[1])
        self.write("params.yaml", PARAMS.format(C=0.5))
        self.sh("git commit -q -am 'v2 data: 100 more applications, relicensed CC-BY-NC-4.0; C=0.5'")

    def v2(self) -> None:
        self.relicense()
        self.train("train v2")
        self.sh("python serve.py v2")

    def explore(self) -> None:
        """An unseeded experiment recorded with ``provaudit run`` (for ``reproduce`` to catch)."""
        self.write("explore.py", EXPLORE)
        self.sh("git add explore.py && git commit -q -m 'SGD experiment'")
        self.sh("provaudit run --used data/features --generated explore.npz --name acme/explorer -- python explore.py")


def run_iris(runs_list: str, name: str) -> list[str]:
    """The short ids (IRI ends) of the runs named NAME in ``provaudit runs list`` output, oldest first."""
    rows = [line.split("\t") for line in runs_list.splitlines()]
    return [row[0].rsplit("/", 1)[-1] for row in rows if len(row) > 2 and row[2] == name]


def story(root: Path) -> Scenario:
    """From v1 to a complaint about a v1 answer, and every question asked after it, each one command.

    The named steps are what tests/test_audit_trail_e2e.py asserts and docs/versioning.md shows.
    """
    s = Scenario(root)
    s.v1()
    s.v2()
    # the standard DVC workflow ran (dvc repro, commit dvc.lock): is what made the model still here?
    s.sh("provaudit check model.npz", ok=False, name="check")
    s.sh("sed -i 's/C: 0.5/C: 0.25/' params.yaml && provaudit check model.npz", ok=False, name="check-params")
    s.sh("git checkout -q params.yaml")
    # the complaint: applicant v1-1 was declined by the v1 model
    s.sh("provaudit log verify predictions.jsonl", ok=False, name="verify")
    s.sh("provaudit trace v1-1", ok=False, name="trace-v1")
    s.sh("provaudit trace v1-1 --json", ok=False, name="trace-v1-json")
    s.sh("provaudit trace v1-legacy", ok=False, name="trace-id-only")
    s.sh("provaudit trace v2-1", ok=False, name="trace-v2")
    first, second = run_iris(s.sh("provaudit runs list", name="runs-list").output, "train")[:2]
    s.sh(f"provaudit runs diff {first} {second}", ok=False, name="runs-diff")
    s.sh(f"provaudit runs diff {first} {second} --json", ok=False, name="runs-diff-json")
    s.sh(f"provaudit reproduce {first}", ok=False, name="reproduce-v1")
    s.sh("provaudit reproduce model.npz", ok=False, name="reproduce")
    s.explore()
    s.sh("provaudit reproduce explore.npz", ok=False, name="reproduce-explore")
    # which other answers did the v1 model give?
    v1_model = json.loads(s.named["trace-v1-json"].output)["model"]["version"]
    s.sh(f"provaudit log query --model {v1_model}", ok=False, name="log-query")
    # the team's MLflow and DVC records join the store: imported once, the same runs and models
    s.sh("provaudit runs import mlruns/", ok=False, name="import-mlflow")
    s.sh("provaudit runs import dvc.lock", ok=False, name="import-dvc")
    s.sh("provaudit runs import dvc.lock", ok=False, name="import-dvc-again")
    s.sh("provaudit runs list", name="runs-after-import")
    s.sh("provaudit trace v1-1", ok=False, name="trace-v1-after-import")
    # the log proves itself: sealed from cron or CI; an edited line and a cut tail are caught
    s.sh(
        "provaudit keygen --out ../keys/audit && provaudit log seal predictions.jsonl --key ../keys/audit.key",
        ok=False,
        name="seal",
    )
    s.sh("mkdir -p ../edited && sed '2s/decline/approve/' predictions.jsonl > ../edited/predictions.jsonl")
    s.sh("provaudit trace v1-1 --log ../edited/predictions.jsonl", ok=False, name="trace-edited")
    s.sh(
        "mkdir -p ../cut && head -n -1 predictions.jsonl > ../cut/predictions.jsonl"
        " && cp predictions.jsonl.seals ../cut/"
    )
    s.sh("provaudit log verify ../cut/predictions.jsonl --key ../keys/audit.pub", ok=False, name="verify-cut")
    # smaller things: a missing output is an error; nothing published names a path of this machine
    s.sh("provaudit run --generated missing.npz -- python -c pass", ok=False, name="missing-output")
    s.sh("provaudit site --out ../site", ok=False, name="site")
    return s
