"""Golden reviews of issue 9's cases on real cards, before and after `provaudit resolve` completes the lineage.

Each case is scanned from a local copy of real files (the upstreams are not scanned), reviewed, then
`provaudit resolve` fetches the upstreams from the local Hub test server (real recorded cards) and the
review is repeated. The review JSON of both moments is compared with `tests/golden/lineage_cases/`
(PROVAUDIT_REGEN_GOLDEN=1 rewrites it); the assertions below say what a lawyer needs to see in it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from huggingface_hub import constants as hf_constants

from provaudit import api
from provaudit.cli import main

sys.path.insert(0, str(Path(__file__).parent))  # hubserver.py is a script next to this file
from hubserver import HubServer

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden" / "lineage_cases"
CASES = {
    # a Llama 2 finetune whose card declares apache-2.0 and names its base only in the repo name
    "llama2-finetune-declared-apache": FIXTURES / "cards" / "models" / "clibrain__Llama-2-7b-ft-instruct-es",
    # a PEFT adapter whose card declares neither license nor base: only adapter_config.json names it
    "adapter-only-in-adapter-config": FIXTURES
    / "repo_files"
    / "GQ131__fine-tuned-Llama-2-model-on-IMDB-sentiment-analysis-dataset",
    # a model trained on a dataset that is not scanned
    "trained-on-unscanned-dataset": FIXTURES / "hub" / "models" / "deepset__xlm-roberta-large-squad2",
}


@pytest.fixture(scope="module")
def hub_server() -> Iterator[HubServer]:
    with HubServer(FIXTURES / "hub") as server:
        yield server


@pytest.fixture
def hub(hub_server: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HubServer:
    hub_server.reset()
    monkeypatch.setenv("HF_ENDPOINT", hub_server.url)
    for name in ("HF_HUB_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    return hub_server


def _review(store: Path, rid: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["review", "--store", str(store), "--format", "json", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    records = {r["id"]: r for r in json.loads(result.stdout)["records"]}
    record = records[rid]
    # what is compared with the golden file: the verdict and its reasons, not paths of this machine
    keep = ("use", "complete", "effective_license", "use_restrictions", "attribution", "share_alike", "upstream")
    return {
        **{k: record.get(k) for k in keep},
        "unresolved": [
            {k: u.get(k) for k in ("target", "relation", "inferred", "command")} for u in record["unresolved"]
        ],
        "findings": sorted(f"{f['severity']} {f['rule']}: {f['message']}" for f in record["findings"]),
    }


def _golden(case: str, moment: str, got: dict[str, Any]) -> None:
    path = GOLDEN / f"{case}.{moment}.json"
    if os.environ.get("PROVAUDIT_REGEN_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(got, indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    assert got == json.loads(path.read_text())


def _scan(tmp_path: Path, case: str) -> tuple[Path, str]:
    folder = tmp_path / "models" / CASES[case].name
    shutil.copytree(CASES[case], folder)
    store = tmp_path / "store"
    result = api.scan([str(folder)], store=store)
    (rid,) = [r.id for r in result.records]
    return store, rid


def _resolve(store: Path) -> None:
    result = CliRunner().invoke(main, ["resolve", "--store", str(store), "--depth", "3"])
    assert result.exit_code in (0, 1), result.output


def test_llama2_finetune_declared_apache(tmp_path: Path, hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    store, rid = _scan(tmp_path, "llama2-finetune-declared-apache")
    before = _review(store, rid)
    _golden("llama2-finetune-declared-apache", "before", before)
    # the Llama 2 terms are in the verdict at once (the family's license is known), but the base is not audited
    assert before["use"] == "unspecified" and before["complete"] is False
    assert "LicenseRef-scancode-llama-2-license-2023" in before["effective_license"]
    assert before["unresolved"] == [
        {
            "target": "model:meta-llama/Llama-2-7b-hf",
            "relation": "base_model",
            "inferred": True,
            "command": "provaudit scan hf:models/meta-llama/Llama-2-7b-hf",
        }
    ]
    assert any(f.startswith("error PA117:") and "Apache-2.0" in f for f in before["findings"])
    # the base is gated: a user who accepted Meta's license has a token that opens LICENSE.txt
    monkeypatch.setenv("HF_TOKEN", "hf_provaudit_fixture_token")
    _resolve(store)
    after = _review(store, rid)
    _golden("llama2-finetune-declared-apache", "after", after)
    # complete now: Llama 2 allows commercial use, with its use restrictions, and the Apache-2.0 claim is an error
    assert (after["use"], after["complete"], after["use_restrictions"]) == ("commercial", True, True)
    assert "model:meta-llama/Llama-2-7b-hf" in after["upstream"]
    pa117 = [f for f in after["findings"] if " PA117:" in f]
    assert pa117 and pa117[0].startswith("error") and "more permissive than its base model permits" in pa117[0]


def test_adapter_found_only_in_adapter_config(tmp_path: Path, hub: HubServer) -> None:
    store, rid = _scan(tmp_path, "adapter-only-in-adapter-config")
    before = _review(store, rid)
    _golden("adapter-only-in-adapter-config", "before", before)
    assert before["use"] == "unspecified" and before["complete"] is False
    assert {"target": "model:meta-llama/Llama-2-7b-hf", "relation": "adapter", "inferred": True} in [
        {k: u[k] for k in ("target", "relation", "inferred")} for u in before["unresolved"]
    ]
    assert any(" PA118:" in f and "adapter_config.json" in f for f in before["findings"])
    _resolve(store)
    after = _review(store, rid)
    _golden("adapter-only-in-adapter-config", "after", after)
    assert "model:meta-llama/Llama-2-7b-hf" in after["upstream"]
    assert "LicenseRef-scancode-llama-2-license-2023" in (after["effective_license"] or "")
    assert after["use_restrictions"] is True


def test_trained_on_unscanned_dataset_then_resolved(tmp_path: Path, hub: HubServer) -> None:
    store, rid = _scan(tmp_path, "trained-on-unscanned-dataset")
    before = _review(store, rid)
    _golden("trained-on-unscanned-dataset", "before", before)
    assert before["use"] == "unspecified" and before["complete"] is False
    assert {
        "target": "dataset:squad_v2",
        "relation": "trained_on",
        "inferred": False,
        "command": "provaudit scan hf:datasets/squad_v2",
    } in before["unresolved"]
    pa112 = next(f for f in before["findings"] if " PA112:" in f)
    assert "not audited" in pa112
    _resolve(store)
    after = _review(store, rid)
    _golden("trained-on-unscanned-dataset", "after", after)
    assert "dataset:squad_v2" in after["upstream"]
    assert "dataset:squad_v2" not in [u["target"] for u in after["unresolved"]]
