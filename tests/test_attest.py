"""Attestations: keygen, attach, verify — and every tampering is caught and named."""

from __future__ import annotations

import base64
import json
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from provaudit import api
from provaudit.export import attest
from provaudit.export.commands import COMMANDS
from provaudit.export.formats import context_for
from provaudit.store.oxigraph import OxigraphStore

FIXTURES = Path(__file__).parent / "fixtures" / "export"
RECORD = "model:AdaptLLM/finance-chat"


@click.group()
def cli() -> None:
    """The commands of provaudit.export.commands, as cli.py will register them."""


for command in COMMANDS:
    cli.add_command(command)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("attest")
    shutil.copytree(FIXTURES / "models", root / "models")
    api.scan([str(root / "models")], store=root / "store")
    return root / "store"


@pytest.fixture()
def release(tmp_path: Path, store: Path) -> dict[str, Path]:
    """A release folder with two artifacts, a key pair and a signed attestation beside them."""
    runner = CliRunner()
    folder = tmp_path / "release"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"\x00weights" * 1000)
    (folder / "tokenizer.json").write_text('{"vocab": {}}')
    result = runner.invoke(cli, ["keygen", "--out", str(tmp_path / "signer")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        cli,
        [
            "attach",
            str(folder / "model.safetensors"),
            str(folder / "tokenizer.json"),
            "--record",
            "finance-chat",
            "--key",
            str(tmp_path / "signer.key"),
            "--store",
            str(store),
        ],
    )
    assert result.exit_code == 0, result.output
    return {
        "folder": folder,
        "attestation": folder / "model.safetensors.provenance.json",
        "artifact": folder / "model.safetensors",
        "pub": tmp_path / "signer.pub",
        "key": tmp_path / "signer.key",
    }


def run_verify(release: dict[str, Path], *extra: str, key: Path | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["verify", str(release["attestation"]), *extra, "--key", str(key or release["pub"])]
    )
    return result.exit_code, result.output


def edit_payload(path: Path, change: Callable[[bytearray], None]) -> None:
    envelope = json.loads(path.read_text())
    payload = bytearray(base64.b64decode(envelope["payload"]))
    change(payload)
    envelope["payload"] = base64.b64encode(bytes(payload)).decode()
    path.write_text(json.dumps(envelope))


def test_pae_matches_the_dsse_spec() -> None:
    # the worked example of DSSE protocol.md
    assert attest.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_keygen_writes_a_private_key_only_the_owner_reads(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["keygen", "--out", str(tmp_path / "k")])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600
    assert b"BEGIN PRIVATE KEY" in (tmp_path / "k.key").read_bytes()
    assert b"BEGIN PUBLIC KEY" in (tmp_path / "k.pub").read_bytes()
    before = (tmp_path / "k.key").read_bytes()
    refused = runner.invoke(cli, ["keygen", "--out", str(tmp_path / "k")])
    assert refused.exit_code == 2 and "--force" in refused.output
    assert (tmp_path / "k.key").read_bytes() == before
    assert runner.invoke(cli, ["keygen", "--out", str(tmp_path / "k"), "--force"]).exit_code == 0
    assert (tmp_path / "k.key").read_bytes() != before
    assert stat.S_IMODE((tmp_path / "k.key").stat().st_mode) == 0o600


def test_attestation_is_an_in_toto_statement_in_a_dsse_envelope(release: dict[str, Path]) -> None:
    envelope = json.loads(release["attestation"].read_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    key = attest.load_public(release["pub"])
    (signature,) = envelope["signatures"]
    assert signature["keyid"] == attest.keyid(key)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == attest.PREDICATE_TYPE
    assert [s["name"] for s in statement["subject"]] == ["model.safetensors", "tokenizer.json"]
    assert statement["subject"][0]["digest"]["sha256"] == attest.sha256_file(release["artifact"])
    assert statement["predicate"]["record"]["id"] == RECORD
    assert statement["predicate"]["prov"]["@context"] == "https://w3id.org/provaudit/context.jsonld"


def test_verify_passes_and_finds_artifacts_beside_the_attestation(release: dict[str, Path]) -> None:
    code, output = run_verify(release)
    assert code == 0, output
    assert "ok   signature" in output and "ok   digest of" in output and "ok   record" in output
    assert f"verified: {RECORD}" in output
    code, output = run_verify(release, str(release["artifact"]))
    assert code == 0, output
    assert output.count("digest of") == 1


def test_one_changed_byte_of_an_artifact_fails_its_digest(release: dict[str, Path]) -> None:
    data = bytearray(release["artifact"].read_bytes())
    data[100] ^= 0x01
    release["artifact"].write_bytes(bytes(data))
    code, output = run_verify(release)
    assert code == 1
    assert f"FAIL digest of {release['artifact']}" in output
    assert "verification failed: digest of" in output and "signature" not in output.split("failed:")[1]


def test_one_changed_byte_of_the_record_fails_the_signature(release: dict[str, Path]) -> None:
    def change(payload: bytearray) -> None:
        at = payload.index(b"AdaptLLM/finance-chat")
        payload[at] = ord("B")

    edit_payload(release["attestation"], change)
    code, output = run_verify(release)
    assert code == 1
    assert "FAIL signature" in output and "verification failed: signature" in output


def test_one_changed_byte_of_the_signature_fails(release: dict[str, Path]) -> None:
    envelope = json.loads(release["attestation"].read_text())
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[0] ^= 0x01
    envelope["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    release["attestation"].write_text(json.dumps(envelope))
    code, output = run_verify(release)
    assert code == 1 and "FAIL signature" in output and "does not match" in output


def test_a_wrong_key_fails_the_signature(release: dict[str, Path], tmp_path: Path) -> None:
    attest.keygen(tmp_path / "other")
    code, output = run_verify(release, key=tmp_path / "other.pub")
    assert code == 1 and "FAIL signature" in output and "another key" in output


def test_a_signed_but_malformed_record_fails_the_record_check(release: dict[str, Path], store: Path) -> None:
    with OxigraphStore(store, read_only=True) as db:
        ctx = context_for(db, db.record(RECORD))
    doc = attest.statement([release["artifact"]], release["folder"], ctx)
    doc["predicate"]["record"]["kind"] = "spaceship"
    envelope = attest.sign(doc, attest.load_private(release["key"]))
    release["attestation"].write_text(json.dumps(envelope))
    code, output = run_verify(release)
    assert code == 1
    assert "ok   signature" in output and "FAIL record" in output and "kind" in output
    doc["predicate"]["record"]["kind"] = "model"
    doc["predicate"]["record"]["claims"] = []  # no longer the revision its PROV describes
    release["attestation"].write_text(json.dumps(attest.sign(doc, attest.load_private(release["key"]))))
    code, output = run_verify(release)
    assert code == 1 and "another revision" in output


def test_an_artifact_that_is_not_a_subject_fails(release: dict[str, Path], tmp_path: Path) -> None:
    stranger = tmp_path / "other.bin"
    stranger.write_bytes(b"x")
    code, output = run_verify(release, str(stranger))
    assert code == 1 and "not a subject" in output


def test_a_file_that_is_no_envelope_fails_the_signature(release: dict[str, Path]) -> None:
    release["attestation"].write_text("not json")
    code, output = run_verify(release)
    assert code == 1 and "FAIL signature" in output and "not a readable DSSE envelope" in output


def test_attach_needs_a_known_record(release: dict[str, Path], store: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "attach",
            str(release["artifact"]),
            "--record",
            "no-such-model",
            "--key",
            str(release["key"]),
            "--store",
            str(store),
        ],
    )
    assert result.exit_code == 2 and "no record 'no-such-model'" in result.output
