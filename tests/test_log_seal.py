"""Seals of the prediction log (issue 17, item 3): truncation and rewrites back to a signed checkpoint."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from provaudit.cli import main
from provaudit.versions.predictions import ChainBroken, log_prediction, read_prediction, verify_log
from provaudit.versions.seal import seals_path

MODEL = {"id": "model:acme/credit-scorer", "digest": "sha256:" + "ab" * 32}


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def keys(folder: Path, name: str = "audit") -> tuple[Path, Path]:
    result = run("keygen", "--out", str(folder / name))
    assert result.exit_code == 0, result.output
    return folder / f"{name}.key", folder / f"{name}.pub"


def write(log: Path, n: int, start: int = 0) -> list[str]:
    return [
        log_prediction(model=MODEL, inputs={"row": i}, output={"decision": "approve"}, log=log)
        for i in range(start, start + n)
    ]


def rechain(records: list[dict[str, object]], prev: str | None) -> bytes:
    """Lines of the documented format, chained from ``prev`` (what someone rewriting the log would do)."""
    out = b""
    for record in records:
        body = {k: v for k, v in record.items() if k != "hash"}
        body["prev"] = prev
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        prev = hashlib.sha256(text).hexdigest()
        out += b'{"hash":"' + prev.encode() + b'",' + text[1:] + b"\n"
    return out


@pytest.fixture
def sealed(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A log of 60 lines sealed at 40 and at 60 lines."""
    key, pub = keys(tmp_path)
    log = tmp_path / "predictions.jsonl"
    write(log, 40)
    first = run("log", "seal", str(log), "--key", str(key))
    assert first.exit_code == 0, first.output
    assert "checkpoint 1 (40 lines" in first.output
    write(log, 20, start=40)
    second = run("log", "seal", str(log), "--key", str(key))
    assert second.exit_code == 0 and "checkpoint 2 (60 lines" in second.output, second.output
    return log, key, pub


def test_sealed_log_verifies_and_every_seal_is_a_signed_dsse_envelope(sealed: tuple[Path, Path, Path]) -> None:
    log, _, pub = sealed
    result = run("log", "verify", str(log), "--key", str(pub))
    assert result.exit_code == 0, result.output
    assert "2 checkpoint(s) hold" in result.output and "checkpoint 2 (60 lines" in result.output
    lines = seals_path(log).read_text().splitlines()
    assert len(lines) == 2
    envelope = json.loads(lines[1])
    statement = json.loads(__import__("base64").b64decode(envelope["payload"]))
    head = json.loads(log.read_bytes().splitlines()[-1])["hash"]
    assert statement["predicate"]["lines"] == 60 and statement["predicate"]["hash"] == head
    assert statement["subject"] == [{"name": "predictions.jsonl", "digest": {"sha256": head}}]
    as_json = json.loads(run("log", "verify", str(log), "--key", str(pub), "--json").output)
    assert as_json["ok"] and as_json["seals"]["checkpoints"] == 2 and as_json["seals"]["last"]["lines"] == 60


def test_truncation_passes_the_chain_but_not_the_seal(sealed: tuple[Path, Path, Path]) -> None:
    log, _, pub = sealed
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:50]))  # the tail cut off
    assert verify_log(log).ok  # the chain alone cannot tell
    result = run("log", "verify", str(log), "--key", str(pub))
    assert result.exit_code == 1
    assert "seal 2: checkpoint 2 (60 lines" in result.output and "the log was truncated" in result.output
    assert "seal 1" not in result.output  # the first checkpoint still holds


def test_rewritten_chain_passes_the_chain_but_not_the_seals(sealed: tuple[Path, Path, Path]) -> None:
    log, _, pub = sealed
    raw = log.read_bytes().splitlines(keepends=True)
    records = [json.loads(line) for line in raw]
    for record in records[30:]:
        record["output"] = {"decision": "decline"}  # the answers changed after a complaint
    log.write_bytes(b"".join(raw[:30]) + rechain(records[30:], records[29]["hash"]))
    assert verify_log(log).ok and verify_log(log).lines == 60
    result = run("log", "verify", str(log), "--key", str(pub), "--json")
    assert result.exit_code == 1
    broken = json.loads(result.output)["seals"]["broken"]
    assert [b["seal"] for b in broken] == [1, 2]
    assert "line 40 now has hash" in broken[0]["message"] and "rewritten" in broken[0]["message"]


def test_rewritten_line_is_refused_by_the_index_once_it_was_indexed(tmp_path: Path) -> None:
    log = tmp_path / "p.jsonl"
    ids = write(log, 30)
    assert read_prediction(log, ids[-1]).line == 30  # indexes the log
    raw = log.read_bytes().splitlines(keepends=True)
    records = [json.loads(line) for line in raw]
    records[10]["output"] = {"decision": "decline"}
    log.write_bytes(b"".join(raw[:10]) + rechain(records[10:], records[9]["hash"]))
    assert verify_log(log).ok
    with pytest.raises(ChainBroken) as refused:
        read_prediction(log, ids[20])
    assert str(refused.value).startswith(f"chain broken at {log}:11: rewritten: a well-formed line, but not the one")
    assert read_prediction(log, ids[5]).line == 6  # lines before the rewrite are still evidence


def test_seals_of_another_key_and_broken_chains(sealed: tuple[Path, Path, Path], tmp_path: Path) -> None:
    log, _, pub = sealed
    other_key, _ = keys(tmp_path, "other")
    write(log, 1, start=60)
    assert run("log", "seal", str(log), "--key", str(other_key)).exit_code == 0
    result = run("log", "verify", str(log), "--key", str(pub))
    assert result.exit_code == 1 and "seal 3: no valid signature by key" in result.output
    lines = log.read_bytes().splitlines(keepends=True)
    lines[3] = lines[3].replace(b"approve", b"decline")
    log.write_bytes(b"".join(lines))
    refused = run("log", "seal", str(log), "--key", str(other_key))
    assert refused.exit_code == 1 and f"{log}:4: edited" in refused.output
    assert len(seals_path(log).read_text().splitlines()) == 3  # nothing sealed


def test_verify_with_a_key_but_no_seals(tmp_path: Path) -> None:
    _, pub = keys(tmp_path)
    log = tmp_path / "p.jsonl"
    write(log, 2)
    result = run("log", "verify", str(log), "--key", str(pub))
    assert result.exit_code == 2 and "p.jsonl.seals: no seals beside the log" in result.output


def test_a_verified_file_left_alone_is_trusted_until_it_changes(tmp_path: Path) -> None:
    """Rotated files verified whole are not re-hashed while unchanged; an edit of the same size is still found."""
    log = tmp_path / "p.jsonl"
    ids = [
        log_prediction(model=MODEL, inputs={"row": i}, output={"decision": "approve"}, log=log, max_bytes=4000)
        for i in range(40)
    ]
    rotated = sorted(tmp_path.glob("p.jsonl.[0-9]*"))
    assert len(rotated) >= 3
    time.sleep(2.1)  # files changed within the last 2 s are never trusted (one timestamp tick could hide an edit)
    assert read_prediction(log, ids[-1]).id == ids[-1]  # verified whole: the rotated files are trusted now
    oldest = tmp_path / "p.jsonl.3"
    raw = oldest.read_bytes().splitlines(keepends=True)
    raw[1] = raw[1].replace(b"approve", b"decline")  # same size, same inode
    oldest.write_bytes(b"".join(raw))
    with pytest.raises(ChainBroken, match=r"p\.jsonl\.3:2: edited"):
        read_prediction(log, ids[-1])
