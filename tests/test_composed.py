"""Issue 23: a prediction made from other models' outputs traces every model involved.

Three real numpy models trained on real files in a git repository, each recorded with provaudit.run:
an embedding model (PCA) on CC BY-NC 4.0 data, a scorer (logistic regression) on CC BY 4.0 data, and
a combiner (least squares over both outputs) on its own CC0 data. The embedder serves from another
service with its own log; the scorer and the combiner log into one log, the combiner's answers with
``depends_on`` both upstream predictions. Licence texts: tests/fixtures/relicensing (SOURCE.md there).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

import provaudit
from provaudit.cli import main
from provaudit.versions.data import data_version

FIXTURES = Path(__file__).parent / "fixtures" / "relicensing"
CC0_CARD = "---\nlicense: cc0-1.0\npretty_name: Combiner labels\n---\n# Combiner labels\n\nHand-made labels, CC0.\n"


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def write_csv(path: Path, header: str, rows: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "\n".join(",".join(f"{v:.5f}" for v in row) for row in rows) + "\n")


def read_csv(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def train_embedder(data: Path, out: Path) -> None:
    """PCA to 2 components: the mean and the first two right singular vectors."""
    x = read_csv(data / "texts.csv")
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    np.savez(out, mean=mean, components=vt[:2])


def train_scorer(data: Path, out: Path) -> None:
    """Logistic regression by gradient descent on (income, debt) → approved."""
    table = read_csv(data / "credit.csv")
    x, y = np.c_[table[:, :2], np.ones(len(table))], table[:, 2]
    w = np.zeros(3)
    for _ in range(300):
        w -= 0.5 * x.T @ (1 / (1 + np.exp(-x @ w)) - y) / len(y)
    np.savez(out, w=w)


def train_combiner(data: Path, out: Path) -> None:
    """Least squares from (embedding 1, embedding 2, score) to the label."""
    table = read_csv(data / "labels.csv")
    x = np.c_[table[:, :3], np.ones(len(table))]
    w, *_ = np.linalg.lstsq(x, table[:, 3], rcond=None)
    np.savez(out, w=w)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("composed")
    repo = root / "project"
    rng = np.random.default_rng(23)
    write_csv(repo / "data" / "reviews" / "texts.csv", "f1,f2,f3,f4,f5", rng.normal(size=(120, 5)))
    (repo / "data" / "reviews" / "LICENSE").write_text((FIXTURES / "CC-BY-NC-4.0.txt").read_text())
    credit = rng.normal(size=(150, 2))
    write_csv(
        repo / "data" / "credit" / "credit.csv", "income,debt,approved", np.c_[credit, credit[:, 0] > credit[:, 1]]
    )
    (repo / "data" / "credit" / "LICENSE").write_text((FIXTURES / "CC-BY-4.0.txt").read_text())
    write_csv(repo / "data" / "labels" / "labels.csv", "e1,e2,score,label", rng.normal(size=(60, 4)))
    (repo / "data" / "labels" / "README.md").write_text(CC0_CARD)
    (repo / ".gitignore").write_text(".provaudit/\n*.npz\nlogs/\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "three models' data")
    store = repo / ".provaudit"
    old = Path.cwd()
    os.chdir(repo)
    try:
        for name, folder, trainer, model in (
            ("train-embedder", "reviews", train_embedder, "acme/embedder"),
            ("train-scorer", "credit", train_scorer, "acme/scorer"),
            ("train-combiner", "labels", train_combiner, "acme/combiner"),
        ):
            with provaudit.run(name, store=str(store), path=repo) as run:
                run.used(f"data/{folder}")
                trainer(repo / "data" / folder, repo / f"{model.split('/')[1]}.npz")
                run.generated(f"{model.split('/')[1]}.npz", kind="model", name=model)
    finally:
        os.chdir(old)

    # serving: the embedder in its own service and log, scorer and combiner in the answers log
    emb_log, answers = repo / "logs" / "embedder" / "preds.jsonl", repo / "logs" / "answers.jsonl"
    emb = np.load(repo / "embedder.npz")
    scorer_w = np.load(repo / "scorer.npz")["w"]
    combiner_w = np.load(repo / "combiner.npz")["w"]
    request = {"text_features": [0.3, -1.2, 0.5, 0.0, 2.0], "income": 1.1, "debt": 0.4}
    embedding = (np.array(request["text_features"]) - emb["mean"]) @ emb["components"].T
    eid = provaudit.log_prediction(
        model=str(repo / "embedder.npz"), inputs=request["text_features"], output=embedding, log=emb_log
    )
    score = float(1 / (1 + np.exp(-(np.array([request["income"], request["debt"], 1.0]) @ scorer_w))))
    sid = provaudit.log_prediction(model=str(repo / "scorer.npz"), inputs=request, output=score, log=answers)
    answer = float(np.r_[embedding, score, 1.0] @ combiner_w)
    aid = provaudit.log_prediction(
        model=str(repo / "combiner.npz"),
        inputs={"embedding": embedding, "score": score},
        output={"answer": answer},
        log=answers,
        depends_on=[f"embedder/preds.jsonl#{eid}", sid],
        code={"commit": "serve-1"},
    )
    return {"repo": repo, "store": str(store), "emb_log": emb_log, "answers": answers, "ids": (eid, sid, aid)}


def trace(p: dict[str, Any], pid: str, *extra: str, log: Path | None = None) -> Result:
    return CliRunner().invoke(main, ["trace", pid, "--log", str(log or p["answers"]), "--store", p["store"], *extra])


def test_the_combiners_answer_names_every_model_and_dataset_and_is_non_commercial(project: dict[str, Any]) -> None:
    eid, sid, aid = project["ids"]
    result = trace(project, aid)
    assert result.exit_code == 0, result.output
    out = result.output
    for model in ("model:acme/combiner", "model:acme/embedder", "model:acme/scorer"):
        assert model in out
    assert "answer: non-commercial" in out
    tree = out[out.index("every model involved:") :]
    assert f"prediction {eid}: model:acme/embedder" in tree and f"prediction {sid}: model:acme/scorer" in tree
    assert "├─ " in tree and "└─ " in tree

    data = json.loads(trace(project, aid, "--json").output)
    # the models declare no licence of their own: each takes its training data's terms (the combiner: CC0)
    assert data["model"]["id"] == "model:acme/combiner" and data["review"]["use"] == "commercial"
    upstream = {u["model"]["id"]: u for u in data["upstream_predictions"]}
    assert set(upstream) == {"model:acme/embedder", "model:acme/scorer"}
    emb, scorer = upstream["model:acme/embedder"], upstream["model:acme/scorer"]
    assert emb["prediction"]["id"] == eid and emb["model"]["exact_version"] and emb["run"]["name"] == "train-embedder"
    reviews_version = data_version(project["repo"] / "data" / "reviews").dir_hash
    assert [(d["id"], d["effective_license"], d["data_version"]) for d in emb["datasets"]] == [
        ("dataset:reviews", "CC-BY-NC-4.0", reviews_version)
    ]
    assert [(d["id"], d["effective_license"]) for d in scorer["datasets"]] == [("dataset:credit", "CC-BY-4.0")]
    assert scorer["answer"]["use"] == "commercial" and emb["answer"]["use"] == "non-commercial"
    answer = data["answer"]
    assert answer["use"] == "non-commercial"
    assert answer["decided_by"] == ["model:acme/combiner", "model:acme/embedder", "dataset:reviews"]
    assert set(answer["effective_license"].split(" AND ")) == {"CC0-1.0", "CC-BY-4.0", "CC-BY-NC-4.0"}
    assert data["prediction"]["code"] == {"commit": "serve-1"} and data["problems"] == []

    # a prediction without depends_on: its answer is its own model's verdict
    alone = json.loads(trace(project, sid, "--json").output)
    assert alone["upstream_predictions"] == []
    assert alone["answer"] == {
        "use": "commercial",
        "effective_license": "CC-BY-4.0",
        "decided_by": ["model:acme/scorer", "dataset:credit"],
    }


def test_a_missing_dependency_is_named_and_fails_the_trace(project: dict[str, Any], tmp_path: Path) -> None:
    _, sid, _ = project["ids"]
    log = project["answers"]
    pid = provaudit.log_prediction(
        model=str(project["repo"] / "combiner.npz"), inputs=1, output=0, log=log, depends_on=[sid, "never-logged"]
    )
    result = trace(project, pid)
    assert result.exit_code == 1
    assert f"problem  depends_on 'never-logged' of prediction {pid} (answers.jsonl:" in result.output
    assert "no prediction with id 'never-logged'" in result.output
    assert "model:acme/scorer" in result.output  # the link that exists is still followed
    problems = json.loads(trace(project, pid, "--json").output)["problems"]
    assert len(problems) == 1 and "never-logged" in problems[0]


def test_log_query_finds_the_final_answer_from_the_embedder_or_its_data(project: dict[str, Any]) -> None:
    eid, sid, aid = project["ids"]
    logs = [str(project["emb_log"]), str(project["answers"])]
    digest = "sha256:" + __import__("hashlib").sha256((project["repo"] / "embedder.npz").read_bytes()).hexdigest()
    by_model = CliRunner().invoke(main, ["log", "query", *logs, "--model", digest, "--json"])
    assert by_model.exit_code == 0, by_model.output
    found = {p["id"]: p for p in json.loads(by_model.output)["predictions"]}
    assert found[eid]["direct"] and not found[eid]["final"]
    assert found[aid]["via"] == [eid] and found[aid]["final"] and sid not in found
    version = data_version(project["repo"] / "data" / "reviews").dir_hash
    by_data = CliRunner().invoke(main, ["log", "query", *logs, "--data", version, "--store", project["store"]])
    assert by_data.exit_code == 0, by_data.output
    assert eid in by_data.output and aid in by_data.output and f"  {sid}  " not in by_data.output
    assert "1 prediction(s) made by the matched models" in by_data.output


def test_a_tampered_upstream_line_fails_the_trace_naming_it(project: dict[str, Any]) -> None:
    _, _, aid = project["ids"]
    emb_log: Path = project["emb_log"]
    original = emb_log.read_bytes()
    try:
        emb_log.write_bytes(original.replace(b'"output":[', b'"output":[0.0,', 1))
        result = trace(project, aid)
        assert result.exit_code == 1
        assert f"chain broken at {emb_log}:1: edited: its content does not match its hash" in result.output
        assert "(fails verification; not traced)" in result.output
        assert "prediction" in result.output and "model:acme/embedder" not in result.output.split("every model")[1]
    finally:
        emb_log.write_bytes(original)
    assert trace(project, aid).exit_code == 0


def test_site_model_pages_show_the_models_using_their_predictions(project: dict[str, Any], tmp_path: Path) -> None:
    from html.parser import HTMLParser

    class UsedBy(HTMLParser):
        """The links and text of the "Used by" list of a page."""

        def __init__(self) -> None:
            super().__init__()
            self.inside, self.links, self.text = False, [], ""

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "ul" and ("class", "used-by") in attrs:
                self.inside = True
            elif tag == "a" and self.inside:
                self.links.append(dict(attrs)["href"])

        def handle_endtag(self, tag: str) -> None:
            self.inside = self.inside and tag != "ul"

        def handle_data(self, data: str) -> None:
            self.text += data if self.inside else ""

    out = tmp_path / "site"
    logs = ["--log", str(project["emb_log"]), "--log", str(project["answers"])]
    result = CliRunner().invoke(main, ["site", "--out", str(out), "--store", project["store"], *logs])
    assert result.exit_code == 0, result.output
    pages = {}
    for name in ("embedder", "scorer", "combiner"):
        parser = UsedBy()
        parser.feed((out / "records" / f"model-acme--{name}.html").read_text())
        pages[name] = parser
    assert pages["embedder"].links == ["model-acme--combiner.html"] and "(1 prediction)" in pages["embedder"].text
    assert pages["scorer"].links == ["model-acme--combiner.html"]
    combiner_page = (out / "records" / "model-acme--combiner.html").read_text()
    assert pages["combiner"].links == [] and "Used by" not in combiner_page
