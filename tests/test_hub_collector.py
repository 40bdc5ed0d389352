"""The Hub collector against a local Hub (tests/hubserver.py) through the real huggingface_hub client.

The server serves recorded real cards (tests/fixtures/hub, see SOURCE.md there) and misbehaves as
tests/fixtures/hub/behaviours.json says: gated repos, 404s, 429 with Retry-After, 5xx, a slow route.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from huggingface_hub import constants as hf_constants

from provaudit import api
from provaudit.cli import main as cli_main
from provaudit.collectors.base import CollectOptions, available_collectors, collector_for
from provaudit.collectors.hub import HubCollector, HubQuery, HubRef, parse_target
from provaudit.errors import InputError
from provaudit.records.model import Kind, Record, Relation, Severity

sys.path.insert(0, str(Path(__file__).parent))  # hubserver.py is a script next to this file, not a package module
from hubserver import HubServer

FIXTURES = Path(__file__).parent / "fixtures" / "hub"
TOKEN = "hf_provaudit_fixture_token"  # the token behaviours.json lets through the gates
# fast retries for tests; Retry-After is still honoured (up to hub_max_wait)
FAST: dict[str, object] = {"hub_retries": 2, "hub_backoff": 0.01, "hub_timeout": 5}


@pytest.fixture(scope="session")
def hub_server() -> Iterator[HubServer]:
    with HubServer(FIXTURES) as server:
        yield server


@pytest.fixture(autouse=True)
def hub(hub_server: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HubServer:
    """Every test: the local Hub at HF_ENDPOINT, an empty cache in tmp, no token, online, fresh behaviours."""
    hub_server.reset()
    monkeypatch.setenv("HF_ENDPOINT", hub_server.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    for name in (
        "HF_HUB_CACHE",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_OIDC_RESOURCE",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "PROVAUDIT_HUB_TIMEOUT",
        "PROVAUDIT_HUB_RETRIES",
        "PROVAUDIT_HUB_WORKERS",
    ):
        monkeypatch.delenv(name, raising=False)
    # huggingface_hub would otherwise find a login saved in the real home folder
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    return hub_server


def collect(*targets: str, depth: int = 0, **extra: object) -> dict[str, Record]:
    options = CollectOptions(depth=depth, extra={**FAST, **extra})
    return {r.id: r for r in api.collect(list(targets), options)}


def sha(hub: HubServer, key: str) -> str:
    return hub.state.repos[key].sha


def rules(record: Record) -> list[str]:
    """The Hub-access findings of a record (PA010-PA014); card content findings are not these tests' concern."""
    return [f.rule for f in record.findings if f.rule.startswith("PA01")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --- targets ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("hf:datasets/squad", HubRef(Kind.DATASET, "squad")),
        ("hf:datasets/rajpurkar/squad", HubRef(Kind.DATASET, "rajpurkar/squad")),
        ("hf://datasets/squad", HubRef(Kind.DATASET, "squad")),
        ("hf:models/01-ai/Yi-34B", HubRef(Kind.MODEL, "01-ai/Yi-34B")),
        ("hf:models/roberta-large", HubRef(Kind.MODEL, "roberta-large")),
        ("hf:mistralai/Mistral-7B-v0.1", HubRef(Kind.MODEL, "mistralai/Mistral-7B-v0.1")),
        ("hf:models/org/name@v1.0", HubRef(Kind.MODEL, "org/name", "v1.0")),
        ("hf:models?author=Intel", HubQuery(Kind.MODEL, (("author", "Intel"),))),
        ("hf:datasets?search=squad&limit=5", HubQuery(Kind.DATASET, (("limit", "5"), ("search", "squad")))),
    ],
)
def test_targets_parse(target: str, expected: HubRef | HubQuery) -> None:
    assert parse_target(target) == expected


@pytest.mark.parametrize(
    "target",
    [
        "hf:",
        "hf:datasets/",
        "hf:models/a/b/c",
        "hf:models/org/name@",
        "hf:spaces/org/app",
        "hf:models?",
        "hf:models?sort=downloads",
        "hf:models?author=x&limit=0",
        "hf:papers?search=x",
    ],
)
def test_malformed_targets_are_input_errors(target: str) -> None:
    with pytest.raises(InputError):
        api.collect([target], CollectOptions())


def test_hub_collector_is_registered_and_takes_hf_targets() -> None:
    collector = collector_for("hf:datasets/squad_v2", available_collectors())
    assert isinstance(collector, HubCollector)
    assert collector.name == "hub"
    assert not HubCollector().can_collect(str(FIXTURES / "datasets" / "squad_v2"))


# --- reading repos ------------------------------------------------------------------------------


def test_dataset_record_keeps_commit_and_hub_urls(hub: HubServer) -> None:
    commit = sha(hub, "datasets/squad_v2")
    record = collect("hf:datasets/squad_v2")["dataset:squad_v2"]
    assert record.kind is Kind.DATASET
    assert record.version == commit
    assert record.collectors == ["hub"]
    assert not record.findings, record.findings
    readme = f"{hub.url}/datasets/squad_v2/blob/{commit}/README.md"
    card = [c for c in record.claims if c.source.file == "README.md"]
    assert [(c.raw, c.expression, c.source.field, c.source.url) for c in card] == [
        ("cc-by-sa-4.0", "CC-BY-SA-4.0", "license", readme)
    ]
    assert card[0].source.line is not None  # the card was parsed from the file itself, lines known
    assert card[0].source.collector == "hub"
    infos = [f for f in record.facts if f.source.file == "dataset_infos.json"]
    assert infos and {f.source.url for f in infos} == {f"{hub.url}/datasets/squad_v2/blob/{commit}/dataset_infos.json"}
    assert record.fact("title") == "SQuAD2.0"
    sizes = {f.path: f.size for f in record.files}
    assert sizes == {p: len(d) for p, d in hub.state.repos["datasets/squad_v2"].files.items()}
    assert all(f.sha256 for f in record.files)  # both files were downloaded and hashed


def test_model_ids_match_the_local_collector(hub: HubServer) -> None:
    records = collect("hf:models/roberta-large", "hf:facebook/bart-large-mnli")
    assert set(records) == {"model:roberta-large", "model:facebook/bart-large-mnli"}
    assert [c.expression for c in records["model:roberta-large"].claims] == ["MIT"]
    bart = records["model:facebook/bart-large-mnli"]
    assert [(u.target, u.relation) for u in bart.upstream] == [("dataset:multi_nli", Relation.TRAINED_ON)]
    assert any(a.name == "facebook" and a.role == "publisher" for a in bart.agents)


def test_listing_by_author_reads_every_repo(hub: HubServer) -> None:
    records = collect("hf:models?author=Intel")
    assert set(records) == {"model:Intel/neural-chat-7b-v3-1", "model:Intel/neural-chat-7b-v3-3"}
    assert all(r.version for r in records.values())


def test_listing_by_search_follows_pages(hub: HubServer) -> None:
    records = collect("hf:models?search=-7b")
    assert set(records) == {
        "model:Intel/neural-chat-7b-v3-1",
        "model:Intel/neural-chat-7b-v3-3",
        "model:meta-llama/Llama-2-7b-hf",
        "model:mistralai/Mistral-7B-v0.1",
        "model:teknium/OpenHermes-2.5-Mistral-7B",
        "model:allenai/tulu-2-7b",
    }
    assert any("cursor=" in r.path for r in hub.requests_to("/api/models?")), "6 results, 3 a page: two pages"
    datasets = collect("hf:datasets?search=NLI")
    assert set(datasets) == {"dataset:multi_nli", "dataset:snli"}


def test_listing_that_matches_nothing_is_an_input_error() -> None:
    with pytest.raises(InputError, match="match"):
        collect("hf:datasets?author=nobody-at-all")


SEVEN_B = [
    "Intel/neural-chat-7b-v3-1",
    "Intel/neural-chat-7b-v3-3",
    "meta-llama/Llama-2-7b-hf",
    "mistralai/Mistral-7B-v0.1",
    "teknium/OpenHermes-2.5-Mistral-7B",
    "allenai/tulu-2-7b",
]


def slow_down(hub: HubServer, repos: list[str], delay: float = 0.3) -> None:
    hub.reset()
    for repo in repos:
        hub.add_rule(repo=f"models/{repo}", route="api", delay=delay)  # long enough for requests to overlap


@pytest.mark.parametrize(("workers", "peak"), [(1, 1), (2, 2)])
def test_parallel_requests_are_bounded(hub: HubServer, workers: int, peak: int) -> None:
    slow_down(hub, SEVEN_B)
    assert len(collect("hf:models?search=-7b", hub_workers=workers)) == len(SEVEN_B)
    assert hub.state.peak == peak


def test_requests_run_in_parallel(hub: HubServer) -> None:
    slow_down(hub, SEVEN_B)
    started = time.monotonic()
    assert len(collect("hf:models?search=-7b")) == len(SEVEN_B)
    assert hub.state.peak > 2  # default: up to 8 at once
    assert time.monotonic() - started < 0.3 * len(SEVEN_B)


def test_collect_many_reads_several_targets_in_parallel(hub: HubServer) -> None:
    slow_down(hub, SEVEN_B)
    started = time.monotonic()
    records = list(HubCollector().collect_many([f"hf:models/{r}" for r in SEVEN_B], CollectOptions(extra=FAST)))
    assert [r.name for r in records] == SEVEN_B  # in the order asked, though fetched in parallel
    assert hub.state.peak > 2
    assert time.monotonic() - started < 0.3 * len(SEVEN_B)


# --- following links ----------------------------------------------------------------------------


def test_depth_zero_reads_only_the_target(hub: HubServer) -> None:
    assert set(collect("hf:models/Intel/neural-chat-7b-v3-3")) == {"model:Intel/neural-chat-7b-v3-3"}
    assert not hub.requests_to("/api/models/Intel/neural-chat-7b-v3-1")


def test_base_model_chain_followed_into_the_store(hub: HubServer, tmp_path: Path) -> None:
    options = CollectOptions(depth=2, extra=FAST)
    result = api.scan(["hf:models/Intel/neural-chat-7b-v3-3"], store=tmp_path / "store", options=options)
    ids = [r.id for r in result.records]
    assert ids[:2] == ["model:Intel/neural-chat-7b-v3-3", "model:Intel/neural-chat-7b-v3-1"]
    assert "model:mistralai/Mistral-7B-v0.1" in ids
    # v3-1 declares datasets: Open-Orca/SlimOrca, not on this Hub: a record with the finding, not a crash
    assert rules(next(r for r in result.records if r.id == "dataset:Open-Orca/SlimOrca")) == ["PA011"]
    with api.open_store(tmp_path / "store", read_only=True) as store:
        rows = store.query(
            """SELECT ?child ?up WHERE {
                 ?v prov:specializationOf ?c ; prov:wasDerivedFrom ?up ; prov:qualifiedDerivation ?d .
                 ?d prov:entity ?up ; pa:relation "finetune" .
                 ?c dcterms:identifier ?child .
               } ORDER BY ?child"""
        ).rows
        assert [(child, str(up).rsplit("/model/", 1)[1]) for child, up in rows] == [
            ("model:Intel/neural-chat-7b-v3-1", "mistralai/Mistral-7B-v0.1"),
            ("model:Intel/neural-chat-7b-v3-3", "Intel/neural-chat-7b-v3-1"),
        ]
        # the card's own (undeclared) relation is kept next to the Hub's reading, each with its source
        declared = store.query(
            """SELECT ?file WHERE { ?d pa:relation "base_model" ; pa:source/pa:sourceFile ?file ;
                                       prov:entity <https://w3id.org/provaudit/id/model/Intel/neural-chat-7b-v3-1> }"""
        ).rows
        assert declared and {row[0] for row in declared} == {"README.md"}
        assert store.record("model:mistralai/Mistral-7B-v0.1") is not None


def test_merge_bases_are_followed_with_their_relation() -> None:
    records = collect("hf:models/Weyaxi/OpenHermes-2.5-neural-chat-v3-3-Slerp", depth=1)
    slerp = records["model:Weyaxi/OpenHermes-2.5-neural-chat-v3-3-Slerp"]
    merged = {(u.target, u.source.field) for u in slerp.upstream if u.relation is Relation.MERGE}
    assert merged == {
        ("model:teknium/OpenHermes-2.5-Mistral-7B", "base_model"),
        ("model:Intel/neural-chat-7b-v3-3", "base_model"),
        ("model:teknium/OpenHermes-2.5-Mistral-7B", "tags"),
        ("model:Intel/neural-chat-7b-v3-3", "tags"),
    }
    assert {"model:teknium/OpenHermes-2.5-Mistral-7B", "model:Intel/neural-chat-7b-v3-3"} <= set(records)
    assert "model:Intel/neural-chat-7b-v3-1" not in records  # depth 1 stops there


def test_datasets_and_source_datasets_are_followed() -> None:
    records = collect("hf:datasets/lambada", "hf:models/deepset/xlm-roberta-large-squad2", depth=1)
    assert {"dataset:bookcorpus", "dataset:squad_v2"} <= set(records)
    lambada = records["dataset:lambada"]
    assert [(u.target, u.relation) for u in lambada.upstream] == [("dataset:bookcorpus", Relation.DERIVED_FROM)]
    assert records["dataset:bookcorpus"].claims and records["dataset:squad_v2"].claims


def test_a_repo_reached_twice_is_fetched_once_and_merged_cleanly(hub: HubServer) -> None:
    records = collect("hf:models/Intel/neural-chat-7b-v3-3", "hf:models/Intel/neural-chat-7b-v3-1", depth=1)
    assert len(hub.requests_to("/api/models/Intel/neural-chat-7b-v3-1")) == 1
    v31 = records["model:Intel/neural-chat-7b-v3-1"]
    assert len(v31.claims) == len({c for c in v31.claims})


# --- failures become findings --------------------------------------------------------------------


def test_missing_repo_is_a_finding_on_its_record(hub: HubServer) -> None:
    record = collect("hf:models/provaudit-test/does-not-exist")["model:provaudit-test/does-not-exist"]
    assert rules(record) == ["PA011"]
    assert record.findings[0].severity is Severity.ERROR
    assert record.findings[0].source is not None
    assert record.findings[0].source.url == f"{hub.url}/api/models/provaudit-test/does-not-exist"
    assert record.version is None and not record.claims


def test_missing_revision_is_a_finding() -> None:
    record = collect("hf:datasets/squad_v2@no-such-branch")["dataset:squad_v2"]
    assert rules(record) == ["PA011"]
    assert "revision" in record.findings[0].message


def test_malformed_repo_id_is_a_finding(hub: HubServer) -> None:
    record = collect("hf:models/org/a..b")["model:org/a..b"]
    assert rules(record) == ["PA011"]
    assert "valid Hub repo id" in record.findings[0].message
    assert hub.requests == []  # huggingface_hub refuses it before any request


def test_unreadable_readme_falls_back_to_the_api_card_data(hub: HubServer) -> None:
    hub.add_rule(
        repo="models/facebook/bart-large-mnli", route="file", file="README.md", status=403, error_code="GatedRepo"
    )
    record = collect("hf:models/facebook/bart-large-mnli")["model:facebook/bart-large-mnli"]
    commit = sha(hub, "models/facebook/bart-large-mnli")
    assert [(f.rule, f.severity) for f in record.findings if f.rule != "PA007"] == [("PA010", Severity.WARNING)]
    assert [c.expression for c in record.claims] == ["MIT"]  # the Hub's own parse of the front matter
    source = record.claims[0].source
    assert (source.file, source.field) == ("README.md", "license")
    assert source.url == f"{hub.url}/api/models/facebook/bart-large-mnli/revision/{commit}"
    assert [(u.target, u.relation) for u in record.upstream] == [("dataset:multi_nli", Relation.TRAINED_ON)]


def test_files_over_the_size_limit_are_not_downloaded(hub: HubServer) -> None:
    options = CollectOptions(max_file_bytes=5000, extra=FAST)
    record = next(iter(api.collect(["hf:datasets/squad_v2"], options)))
    too_large = [f for f in record.findings if f.rule == "PA003"]
    assert [f.source.file if f.source else None for f in too_large] == ["README.md"]  # 7519 bytes
    assert all("README.md" not in r.path for r in hub.requests_to("/resolve/"))
    assert record.claims  # dataset_infos.json (2398 bytes) was still read


def test_progress_is_reported_per_record() -> None:
    seen: list[str] = []
    options = CollectOptions(depth=1, progress=seen.append, extra=FAST)
    api.collect(["hf:models/Intel/neural-chat-7b-v3-3"], options)
    assert seen == ["model:Intel/neural-chat-7b-v3-3", "model:Intel/neural-chat-7b-v3-1"]


def test_gated_files_are_a_warning_and_the_open_card_is_still_read(hub: HubServer) -> None:
    record = collect("hf:models/meta-llama/Llama-2-7b-hf")["model:meta-llama/Llama-2-7b-hf"]
    gated = [f for f in record.findings if f.rule == "PA010"]
    assert [(f.severity, f.source.file if f.source else None) for f in gated] == [(Severity.WARNING, "LICENSE.txt")]
    assert record.fact("gated") == "manual"
    assert record.fact("pipeline_tag") == "text-generation"  # from the README, which is not gated
    assert not [c for c in record.claims if c.source.file == "LICENSE.txt"]


def test_hf_token_opens_the_gate(hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    record = collect("hf:models/meta-llama/Llama-2-7b-hf")["model:meta-llama/Llama-2-7b-hf"]
    assert "PA010" not in rules(record)
    license_claims = [c for c in record.claims if c.source.file == "LICENSE.txt"]
    assert len(license_claims) == 1
    assert license_claims[0].source.url and license_claims[0].source.url.endswith("/LICENSE.txt")
    assert {r.authorization for r in hub.requests_to("Llama-2-7b-hf")} == {f"Bearer {TOKEN}"}


def test_gated_repo_metadata_is_a_finding_not_a_crash() -> None:
    record = collect("hf:models/meta-llama/Meta-Llama-3-8B-Instruct")["model:meta-llama/Meta-Llama-3-8B-Instruct"]
    assert rules(record) == ["PA010"]
    assert record.findings[0].severity is Severity.ERROR
    assert "gated" in record.findings[0].message
    assert record.findings[0].fix and "HF_TOKEN" in record.findings[0].fix


def test_gated_upstream_is_reported_on_the_upstream_record() -> None:
    records = collect("hf:models/allenai/tulu-2-7b", depth=1)
    assert "model:meta-llama/Llama-2-7b-hf" in records
    assert "PA010" in rules(records["model:meta-llama/Llama-2-7b-hf"])
    assert "PA010" not in rules(records["model:allenai/tulu-2-7b"])


def test_rate_limit_is_retried_after_the_time_the_hub_asks(hub: HubServer) -> None:
    started = time.monotonic()
    record = collect("hf:datasets/imdb")["dataset:imdb"]
    elapsed = time.monotonic() - started
    assert rules(record) == []
    assert record.claims
    assert len(hub.requests_to("/api/datasets/imdb")) == 3  # 429, 429, 200
    assert elapsed >= 2.0  # Retry-After: 1, twice; the test's own backoff is 0.01 s


def test_rate_limit_that_never_ends_is_a_finding(hub: HubServer) -> None:
    record = collect("hf:datasets/squadshifts", hub_retries=2, hub_max_wait=0.05)["dataset:squadshifts"]
    assert rules(record) == ["PA013"]
    assert len(hub.requests_to("/api/datasets/squadshifts")) == 3  # bounded: first try + 2 retries


def test_server_error_once_is_retried(hub: HubServer) -> None:
    record = collect("hf:datasets/multi_nli")["dataset:multi_nli"]
    assert rules(record) == []
    assert record.claims
    assert len(hub.requests_to("/api/datasets/multi_nli")) == 2


def test_server_down_is_a_finding_after_bounded_retries(hub: HubServer) -> None:
    record = collect("hf:models/upstage/SOLAR-10.7B-v1.0", hub_retries=3)["model:upstage/SOLAR-10.7B-v1.0"]
    assert rules(record) == ["PA012"]
    assert "503" in record.findings[0].message
    assert len(hub.requests_to("/api/models/upstage/SOLAR-10.7B-v1.0")) == 4


def test_timeout_is_a_finding(hub: HubServer) -> None:
    started = time.monotonic()
    records = collect("hf:models/openchat/openchat-3.5-0106", "hf:datasets/snli", hub_timeout=0.3, hub_retries=1)
    assert time.monotonic() - started < 3.0  # the route takes 3 s per request: the client gave up first
    record = records["model:openchat/openchat-3.5-0106"]
    assert rules(record) == ["PA012"]
    assert "in time" in record.findings[0].message
    assert records["dataset:snli"].claims  # the other target was read all the same


def test_timeout_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVAUDIT_HUB_TIMEOUT", "0.3")
    monkeypatch.setenv("PROVAUDIT_HUB_RETRIES", "0")
    options = CollectOptions()
    record = next(iter(api.collect(["hf:models/openchat/openchat-3.5-0106"], options)))
    assert rules(record) == ["PA012"]


def test_bad_setting_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVAUDIT_HUB_TIMEOUT", "soon")
    with pytest.raises(InputError, match="PROVAUDIT_HUB_TIMEOUT"):
        api.collect(["hf:datasets/squad_v2"], CollectOptions())


# --- cache and offline ----------------------------------------------------------------------------


def test_offline_scan_reads_the_cache(hub: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    online = collect("hf:datasets/squad_v2", "hf:models/Intel/neural-chat-7b-v3-3")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")  # nothing listens: no network used
    hub.reset()
    offline = collect("hf:datasets/squad_v2", "hf:models/Intel/neural-chat-7b-v3-3", "hf:datasets/snli")
    assert hub.requests == []
    for rid in ("dataset:squad_v2", "model:Intel/neural-chat-7b-v3-3"):
        before, after = online[rid], offline[rid]
        assert after.version == before.version
        assert rules(before) == []
        # the cache has the files but not the Hub API's tags: a partial read, said as such (info)
        assert rules(after) == ["PA015"] and after.findings[0].severity is Severity.INFO
        assert [(c.raw, c.expression, c.source.file, c.source.field) for c in after.claims] == [
            (c.raw, c.expression, c.source.file, c.source.field) for c in before.claims
        ]
        assert all(
            c.source.url and c.source.url.endswith(f"/blob/{before.version}/{c.source.file}") for c in after.claims
        )
        assert [(u.target, u.relation) for u in after.upstream if u.source.file == "README.md"] == [
            (u.target, u.relation) for u in before.upstream if u.source.file == "README.md"
        ]
    assert rules(offline["dataset:snli"]) == ["PA014"]  # never scanned online: not in the cache


def test_offline_listing_is_an_input_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match="offline"):
        collect("hf:models?author=Intel")


def test_unreachable_hub_falls_back_to_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    online = collect("hf:datasets/squad_v2")["dataset:squad_v2"]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    record = collect("hf:datasets/squad_v2", hub_retries=0)["dataset:squad_v2"]
    assert rules(record) == ["PA012"]
    assert record.findings[0].severity is Severity.WARNING
    assert "local cache" in record.findings[0].message
    assert record.version == online.version
    assert [c.expression for c in record.claims] == [c.expression for c in online.claims]


# --- one record from a local folder and the Hub -----------------------------------------------------


def test_local_folder_and_hub_merge_into_one_record(hub: HubServer, tmp_path: Path) -> None:
    folder = tmp_path / "datasets" / "squad_v2"
    shutil.copytree(FIXTURES / "datasets" / "squad_v2", folder)
    records = api.collect([str(folder), "hf:datasets/squad_v2"], CollectOptions(extra=FAST))
    assert [r.id for r in records] == ["dataset:squad_v2"]
    record = records[0]
    assert record.collectors == ["local", "hub"]
    card = [c for c in record.claims if c.source.file == "README.md" and c.source.field == "license"]
    assert sorted((c.source.collector, c.source.url) for c in card) == [
        ("hub", f"{hub.url}/datasets/squad_v2/blob/{sha(hub, 'datasets/squad_v2')}/README.md"),
        ("local", None),
    ]
    assert {c.expression for c in card} == {"CC-BY-SA-4.0"}


# --- the command line ---------------------------------------------------------------------------------


def test_cli_scan_with_depth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVAUDIT_HUB_RETRIES", "1")
    store = str(tmp_path / "store")
    result = CliRunner().invoke(
        cli_main, ["scan", "hf:models/Intel/neural-chat-7b-v3-3", "--depth", "1", "--json", "--store", store]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    ids = [r["id"] for r in report["records"]]
    assert ids == ["model:Intel/neural-chat-7b-v3-3", "model:Intel/neural-chat-7b-v3-1"]
    assert {"target": "model:Intel/neural-chat-7b-v3-1", "relation": "finetune"} in report["records"][0]["upstream"]
    missing = CliRunner().invoke(cli_main, ["scan", "hf:models/provaudit-test/nope", "--store", store])
    assert missing.exit_code == 1, missing.output  # the PA011 error fails the scan; it does not crash it
