"""`provaudit resolve` and `scan --resolve` against the local Hub (tests/hubserver.py) serving real recorded cards.

The chains (tests/fixtures/hub/SOURCE.md): Intel/neural-chat-7b-v3-3 → base Intel/neural-chat-7b-v3-1 →
base mistralai/Mistral-7B-v0.1 and trained on Open-Orca/SlimOrca (not on the Hub here: a 404);
deepset/xlm-roberta-large-squad2 → squad_v2; roberta-large → bookcorpus and wikipedia (a 404);
neuralmind/bert-base-portuguese-cased → brWaC, which the Hub holds as brwac.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from huggingface_hub import constants as hf_constants

from provaudit import api
from provaudit.cli import main
from provaudit.records.model import Relation
from provaudit.resolve import fetch_failure, resolve, unresolved_upstreams

sys.path.insert(0, str(Path(__file__).parent))  # hubserver.py is a script next to this file, not a package module
from hubserver import HubServer

HUB = Path(__file__).parent / "fixtures" / "hub"
CHAIN = ("Intel__neural-chat-7b-v3-3", "deepset__xlm-roberta-large-squad2", "roberta-large")
FETCHED = {
    "model:Intel/neural-chat-7b-v3-1",
    "dataset:squad_v2",
    "dataset:bookcorpus",
    "model:mistralai/Mistral-7B-v0.1",
}
NOT_ON_HUB = {"dataset:wikipedia", "dataset:Open-Orca/SlimOrca"}


@pytest.fixture(scope="module")
def hub_server() -> Iterator[HubServer]:
    with HubServer(HUB) as server:
        yield server


@pytest.fixture(autouse=True)
def hub(hub_server: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HubServer:
    """Every test: the local Hub at HF_ENDPOINT, an empty cache in tmp, no token, online."""
    hub_server.reset()
    monkeypatch.setenv("HF_ENDPOINT", hub_server.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    for name in ("HF_HUB_CACHE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    # huggingface_hub would otherwise find a login saved in the real home folder
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    return hub_server


def local_cards(tmp_path: Path, *names: str) -> Path:
    """Local copies of recorded model cards (a folder of model folders), not fetched from the Hub."""
    folder = tmp_path / "cards" / "models"
    for name in names:
        shutil.copytree(HUB / "models" / name, folder / name)
    return folder


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout


def stored(store: Path) -> dict[str, object]:
    with api.open_store(store, read_only=True) as db:
        return {r.id: r for r in db.records(light=True)}


def test_unresolved_upstreams_lists_propagating_links_without_records(tmp_path: Path) -> None:
    store = tmp_path / "store"
    api.scan([str(local_cards(tmp_path, *CHAIN))], store=store)
    with api.open_store(store, read_only=True) as db:
        found = {u.target: u for u in unresolved_upstreams(db.records(light=True))}
    # declared base model and training data; the model-index datasets (tested_on) carry no terms
    declared = {"model:Intel/neural-chat-7b-v3-1", "dataset:squad_v2", "dataset:bookcorpus", "dataset:wikipedia"}
    assert {t for t, u in found.items() if not u.inferred} == declared
    # the card's prose ("fine-tuned from mistralai/Mistral-7B-v0.1") may add an inferred base, marked so
    assert set(found) - declared <= {"model:mistralai/Mistral-7B-v0.1"}
    base = found["model:Intel/neural-chat-7b-v3-1"]
    assert (base.relation, base.hub, base.needed_by) == (
        Relation.BASE_MODEL,
        "hf:models/Intel/neural-chat-7b-v3-1",
        ["model:Intel/neural-chat-7b-v3-3"],
    )
    assert found["dataset:wikipedia"].hub == "hf:datasets/wikipedia"
    assert all(u.reason is None for u in found.values())  # not asked for yet


def test_ids_match_as_the_hub_matches_them(tmp_path: Path) -> None:
    store = tmp_path / "store"
    api.scan([str(local_cards(tmp_path, "neuralmind__bert-base-portuguese-cased"))], store=store)
    with api.open_store(store, read_only=True) as db:
        (missing,) = unresolved_upstreams(db.records(light=True))
    assert (missing.target, missing.relation, missing.hub) == (
        "dataset:brWaC",
        Relation.TRAINED_ON,
        "hf:datasets/brWaC",
    )
    # the card says brWaC, the Hub repo is brwac: one repo, so the upstream is resolved
    api.scan(["hf:datasets/brwac"], store=store)
    with api.open_store(store, read_only=True) as db:
        assert unresolved_upstreams(db.records(light=True)) == []


def test_resolve_completes_the_lineage_and_keeps_404s_unresolved(tmp_path: Path) -> None:
    store = tmp_path / "store"
    api.scan([str(local_cards(tmp_path, *CHAIN))], store=store)
    code, out = run("resolve", "--store", str(store), "--json")
    assert code == 1, out  # two upstreams are not on the Hub
    result = json.loads(out)
    assert set(result["fetched"]) == FETCHED and result["complete"] is False
    # one scan activity per level: the base's own base and data are asked for in the second round
    # (Mistral in the first when the card's prose already names it)
    first, second = result["rounds"]
    assert {"model:Intel/neural-chat-7b-v3-1", "dataset:squad_v2", "dataset:bookcorpus"} <= set(first["resolved"])
    assert "hf:datasets/Open-Orca/SlimOrca" in second["targets"] and "hf:datasets/wikipedia" in first["targets"]
    assert {u["target"]: u["rule"] for u in result["unresolved"]} == dict.fromkeys(NOT_ON_HUB, "PA011")
    slim = next(u for u in result["unresolved"] if u["target"] == "dataset:Open-Orca/SlimOrca")
    assert slim["needed_by"] == ["model:Intel/neural-chat-7b-v3-1"] and "not found" in slim["reason"].lower()

    records = stored(store)
    for rid in FETCHED:
        assert records[rid].version and records[rid].claims, rid  # type: ignore[attr-defined]
    # the 404 leaves a record holding only the Hub's answer, which does not count as the upstream
    assert fetch_failure(records["dataset:wikipedia"]) is not None  # type: ignore[arg-type]
    with api.open_store(store, read_only=True) as db:
        assert {u.target for u in unresolved_upstreams(db.records(light=True))} == NOT_ON_HUB
        assert len(db.scans()) == 3

    code, out = run("resolve", "--store", str(store))
    assert code == 1
    assert "2 unresolved upstreams" in out and "dataset:wikipedia" in out and "resolved 0" in out


def test_depth_bounds_the_rounds(tmp_path: Path) -> None:
    store = tmp_path / "store"
    api.scan([str(local_cards(tmp_path, "Intel__neural-chat-7b-v3-3"))], store=store)
    result = resolve(store=store, depth=1)
    assert len(result.rounds) == 1 and "model:Intel/neural-chat-7b-v3-1" in result.fetched
    left = {u.target: u.reason or "" for u in result.unresolved}
    # the base's own upstreams are a level further than asked for
    assert "dataset:Open-Orca/SlimOrca" in left
    assert set(left) <= {"model:mistralai/Mistral-7B-v0.1", "dataset:Open-Orca/SlimOrca"}
    assert all("beyond --depth 1" in reason for reason in left.values())


def test_scan_resolve_in_one_command_then_nothing_left_to_fetch(tmp_path: Path, hub: HubServer) -> None:
    store = tmp_path / "store"
    cards = local_cards(tmp_path, "deepset__xlm-roberta-large-squad2")
    code, out = run("scan", str(cards), "--store", str(store), "--resolve", "--json")
    assert code == 0, out
    data = json.loads(out)
    assert [r["id"] for r in data["records"]] == ["model:deepset/xlm-roberta-large-squad2"]
    assert data["resolve"]["fetched"] == ["dataset:squad_v2"] and data["resolve"]["complete"] is True
    assert "dataset:squad_v2" in stored(store)

    hub.reset()
    code, out = run("resolve", "--store", str(store))
    assert code == 0, out
    assert "nothing to fetch" in out
    assert hub.requests == []
    with api.open_store(store, read_only=True) as db:
        assert len(db.scans()) == 2  # the scan and its one resolve round; nothing new


def test_scan_resolve_fails_like_findings_unless_fail_on_never(tmp_path: Path) -> None:
    cards = str(local_cards(tmp_path, "roberta-large"))
    code, out = run("scan", cards, "--store", str(tmp_path / "a"), "--resolve")
    assert code == 1 and "dataset:wikipedia" in out
    code, _ = run("scan", cards, "--store", str(tmp_path / "b"), "--resolve", "--fail-on", "never")
    assert code == 0


def test_offline_resolve_reads_the_local_cache(tmp_path: Path, hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    cards = str(local_cards(tmp_path, *CHAIN))
    api.scan([cards], store=tmp_path / "online")
    resolve(store=tmp_path / "online")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with socket.socket() as s:  # nothing listens here: no request can succeed
        s.bind(("127.0.0.1", 0))
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{s.getsockname()[1]}")
    hub.reset()
    store = tmp_path / "offline"
    api.scan([cards], store=store)
    result = resolve(store=store)
    assert hub.requests == []
    assert set(result.fetched) == FETCHED
    # never cached (the Hub had nothing): unresolved, saying it was not in the cache
    assert {u.target: u.rule for u in result.unresolved} == dict.fromkeys(NOT_ON_HUB, "PA014")


def test_resolve_without_a_store_is_an_input_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["resolve", "--store", str(tmp_path / "none")])
    assert result.exit_code == 2 and "no provaudit store" in result.output
