"""A read that failed is a failed observation of the record, never a new revision (issue 19, item 1).

Against the local Hub (tests/hubserver.py serves recorded real cards from tests/fixtures/hub) through the
real huggingface_hub client, and against both stores with the writer API.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from huggingface_hub import constants as hf_constants

from provaudit import api
from provaudit.cli import main
from provaudit.records.model import Finding, Kind, LicenseClaim, Record, Severity, Source
from provaudit.store.base import Store
from provaudit.versions.observations import failed_reads

sys.path.insert(0, str(Path(__file__).parent))  # helper scripts next to this file, not a package
from hubserver import HubServer
from sparqlserver import oxigraph_server

FIXTURES = Path(__file__).parent / "fixtures" / "hub"
MODEL = "model:Intel/neural-chat-7b-v3-3"
TARGET = "hf:models/Intel/neural-chat-7b-v3-3"


@pytest.fixture(scope="module")
def hub_server() -> Iterator[HubServer]:
    with HubServer(FIXTURES) as server:
        yield server


@pytest.fixture
def hub(hub_server: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HubServer:
    """The local Hub at HF_ENDPOINT, an empty cache in tmp, no token, online, fast retries."""
    hub_server.reset()
    monkeypatch.setenv("HF_ENDPOINT", hub_server.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("PROVAUDIT_HUB_RETRIES", "0")
    for name in ("HF_HUB_CACHE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    return hub_server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scan(store: Path, *targets: str, depth: int = 1) -> dict[str, object]:
    result = CliRunner().invoke(
        main, ["scan", *targets, "--depth", str(depth), "--json", "--fail-on", "never", "--store", str(store)]
    )
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.output)
    return data


def _outcomes(data: dict[str, object]) -> dict[str, str]:
    records = data["records"]
    assert isinstance(records, list)
    return {r["id"]: r["outcome"] for r in records}


def _review(store: Path) -> dict[str, dict[str, object]]:
    result = CliRunner().invoke(main, ["review", "--store", str(store), "--format", "json", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    return {r["id"]: r for r in json.loads(result.output)["records"]}


def _claims(store: Path, rid: str) -> list[tuple[str, str | None]]:
    with api.open_store(store, read_only=True) as db:
        record = db.record(rid)
        assert record is not None
        return sorted((c.raw, c.expression) for c in record.claims)


@pytest.mark.parametrize("how", ["offline, not cached", "offline, from the cache", "connection refused"])
def test_a_failed_fetch_keeps_the_good_revision(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    store = tmp_path / "store"
    first = _scan(store, TARGET)
    assert _outcomes(first)[MODEL] == "new"
    with api.open_store(store, read_only=True) as db:
        good = db.history(MODEL)
        before = db.record(MODEL)
    assert len(good) == 1 and before is not None and before.claims and before.upstream

    if how == "offline, not cached":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        monkeypatch.setenv("HF_HOME", str(tmp_path / "empty_cache"))
        why = "offline and not in the local Hugging Face cache"
    elif how == "offline, from the cache":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the cache lacks the API's base-model tags: partial
        why = "read offline from the local Hugging Face cache"
    else:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_free_port()}")  # nothing listens there
        monkeypatch.setenv("HF_HOME", str(tmp_path / "empty_cache"))
        why = "hf:models/Intel/neural-chat-7b-v3-3:"
    second = _scan(store, TARGET)
    assert _outcomes(second)[MODEL] == "failed"
    counts = second["counts"]
    assert isinstance(counts, dict) and counts["failed"] >= 1 and counts["revised"] == 0

    with api.open_store(store, read_only=True) as db:
        assert [r.iri for r in db.history(MODEL)] == [good[0].iri]  # no revision was written
        after = db.record(MODEL)
        assert after is not None
        assert after.model_dump(exclude={"location"}) == before.model_dump(exclude={"location"})
        failed = db.query(
            "SELECT ?s ?rule ?why WHERE { ?s pa:failedObservation ?f . ?f pa:ofRecord ?r ; "
            "pa:failureRule ?rule ; pa:failureMessage ?why . ?r dcterms:identifier '" + MODEL + "' }"
        ).rows
    assert len(failed) == 1 and failed[0][0] == second["scan"] and why in (failed[0][2] or "")

    review = _review(store)[MODEL]
    findings = review["findings"]
    assert isinstance(findings, list)
    stale = [f for f in findings if f["rule"] == "PA016"]
    assert len(stale) == 1
    assert stale[0]["message"].startswith(f"last fetched {first['started']}; the fetch of {second['started']} failed:")
    assert why in stale[0]["message"]
    assert review["effective_license"] == "Apache-2.0"  # the verdict of the good revision, not "no license"

    # a good read afterwards: the same content is seen again and the note is gone
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    assert _outcomes(_scan(store, TARGET))[MODEL] == "unchanged"
    assert not [f for f in _review(store)[MODEL]["findings"] if f["rule"] == "PA016"]  # type: ignore[index, union-attr]


def test_a_record_never_read_is_stored_with_why(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing good to keep: the first, failed read is the record (its finding says why), as before."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    store = tmp_path / "store"
    assert _outcomes(_scan(store, TARGET, depth=0)) == {MODEL: "new"}
    assert _outcomes(_scan(store, TARGET, depth=0)) == {MODEL: "unchanged"}
    review = _review(store)[MODEL]
    assert [f["rule"] for f in review["findings"] if f["rule"].startswith("PA01")] == ["PA014"]  # type: ignore[union-attr, index]


# --- both stores, through the writer ------------------------------------------------------------------


def _record(claims: list[str], findings: list[Finding] | None = None, name: str = "acme/data") -> Record:
    source = Source(collector="local", file="README.md", field="license", line=2)
    return Record(
        id=f"dataset:{name}",
        kind=Kind.DATASET,
        name=name,
        claims=[LicenseClaim(raw=c, expression=c, source=source, method="spdx") for c in claims],
        findings=findings or [],
        collectors=["local"],
    )


UNREADABLE = Finding(
    rule="PA003",
    severity=Severity.ERROR,
    message="README.md: cannot be read: Permission denied",
    source=Source(collector="local", file="README.md"),
)
TOO_LARGE = Finding(
    rule="PA003",
    severity=Severity.ERROR,
    message="README.md: 99 bytes, larger than the 10-byte limit (--max-file-bytes); not parsed",
    source=Source(collector="local", file="README.md"),
)


def _write(db: Store, record: Record) -> str:
    writer = db.begin_scan(["/data"], {})
    (outcome,) = writer.add([record])
    writer.commit()
    return outcome


def _check_store(db: Store) -> None:
    assert _write(db, _record(["MIT"])) == "new"
    good = db.record("dataset:acme/data")
    assert _write(db, _record([], [UNREADABLE])) == "failed"
    assert db.record("dataset:acme/data") == good
    assert len(db.history("dataset:acme/data")) == 1
    (stale,) = failed_reads(db).values()
    assert stale.record_id == "dataset:acme/data" and stale.rule == "PA003" and stale.last_read
    assert stale.failed_at >= stale.last_read and "Permission denied" in stale.finding().message
    # a limit is not a failure: the same every time, it is what the record is now
    assert _write(db, _record([], [TOO_LARGE])) == "revised"
    assert len(db.history("dataset:acme/data")) == 2
    assert _write(db, _record([], [TOO_LARGE, UNREADABLE])) == "failed"
    assert _write(db, _record(["Apache-2.0"])) == "revised"
    assert failed_reads(db) == {}  # read well again: nothing stale
    # never read well: the failed read is the record, and a later one is written as usual
    assert _write(db, _record([], [UNREADABLE], name="acme/other")) == "new"
    assert _write(db, _record([], [UNREADABLE, TOO_LARGE], name="acme/other")) == "revised"
    assert _write(db, _record(["MIT"], name="acme/other")) == "revised"


def test_the_embedded_store_keeps_the_good_revision(tmp_path: Path) -> None:
    with api.open_store(tmp_path / "store") as db:
        _check_store(db)


def test_the_server_store_keeps_the_good_revision(tmp_path: Path) -> None:
    with oxigraph_server(tmp_path / "oxigraph") as url, api.open_store(url) as db:
        _check_store(db)


def test_a_failed_and_a_good_read_in_one_scan_are_one_failed_observation(tmp_path: Path) -> None:
    """The same record read well by one collector and not by another is a partial read: still failed."""
    with api.open_store(tmp_path / "store") as db:
        _write(db, _record(["MIT"]))
        writer = db.begin_scan(["/data"], {})
        assert writer.add([_record([], [UNREADABLE])]) == ["failed"]
        assert writer.add([_record(["MIT"])]) == ["failed"]
        info = writer.commit()
        assert info.counts == {"records": 1, "new": 0, "revised": 0, "unchanged": 0, "failed": 1}
        assert len(db.history("dataset:acme/data")) == 1


# --- a Hub that cannot be reached fails fast, and its retries are one status line ---------------------


def test_a_refused_hub_fails_at_once_not_after_minutes_of_retries(
    hub: HubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connection refused: every retry would get the same answer. The listing is an input error and a named
    repo a PA012 finding, without one request (huggingface_hub retried each page 5 times, 25 lines, 135 s)."""
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{_free_port()}")
    monkeypatch.setenv("PROVAUDIT_HUB_RETRIES", "4")
    result = CliRunner().invoke(main, ["scan", "hf:models?author=mistralai", "--store", "unused"])
    assert result.exit_code == 2
    assert "cannot list repos (PA012)" in result.stderr and "Connection refused" in result.stderr
    assert "Retrying" not in result.output
    records = api.collect([TARGET])
    assert [(f.rule, "does not answer" in f.message) for f in records[0].findings] == [("PA012", True)]


def test_huggingface_hubs_retry_lines_become_one_status_message(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from provaudit.collectors import _hub_http as http

    http.quiet_retries()
    http.quiet_retries()  # idempotent
    raw = logging.getLogger("huggingface_hub.utils._http")
    with caplog.at_level(logging.INFO):
        for n in (1, 2):
            raw.warning("'[Errno 111] Connection refused' thrown while requesting GET http://h/api/models")
            raw.warning(f"Retrying in {n}s [Retry {n}/5].")
        raw.warning("something else")
    shown = [(r.name, r.getMessage()) for r in caplog.records]
    assert shown == [
        ("provaudit.hub", "Hub: [Errno 111] Connection refused; retrying in 1s [retry 1/5]"),
        ("provaudit.hub", "Hub: [Errno 111] Connection refused; retrying in 2s [retry 2/5]"),
        ("huggingface_hub.utils._http", "something else"),
    ]


def test_the_issues_case_demo_then_offline_hub_scan(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README command 1 scanned the demo, then `HF_HUB_OFFLINE=1 provaudit scan hf:... --depth 2` with an
    empty cache: the demo's good record of the model stays current, its licenses are not marked gone."""
    demo = Path(__file__).resolve().parents[1] / "data" / "demo" / "models"
    store = tmp_path / "store"
    assert CliRunner().invoke(main, ["scan", str(demo), "--store", str(store), "--fail-on", "never"]).exit_code == 0
    claims = _claims(store, MODEL)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    data = _scan(store, "hf:datasets/squad", TARGET, depth=2)
    assert _outcomes(data)[MODEL] == "failed"
    assert _claims(store, MODEL) == claims and claims
    history = CliRunner().invoke(main, ["history", "neural-chat-7b-v3-3", "--store", str(store)])
    assert history.exit_code == 0 and "1 revision(s)" in history.stdout and "[gone]" not in history.stdout
    assert f"read by scan {str(data['scan']).rsplit('/', 1)[-1]} ({data['started']}) failed" in history.stdout
    assert "offline and not in the local Hugging Face cache" in history.stdout
    review = _review(store)[MODEL]
    assert "PA014" not in {f["rule"] for f in review["findings"]}  # type: ignore[union-attr, index]
    assert review["effective_license"] == "Apache-2.0"
