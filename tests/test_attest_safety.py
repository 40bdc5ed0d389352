"""Keys and attestations under attack: planted symlinks, leaky keys, hostile subject names, bad payloads.

Each case ends with the documented exit code (1 verification failed, 2 input error with one line
naming the file), never a traceback, and nothing is written through a planted link.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from provaudit import api
from provaudit.export import attest
from provaudit.export.commands import COMMANDS

FIXTURES = Path(__file__).parent / "fixtures" / "export"
VICTIM_TEXT = "victim: must never change\n"
PROVAUDIT = Path(sys.executable).with_name("provaudit")


@click.group()
def cli() -> None:
    """The commands of provaudit.export.commands, as cli.py registers them."""


for command in COMMANDS:
    cli.add_command(command)


def run(*args: str | Path) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    # sys.exit is a SystemExit; any other exception is a crash
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def one_error_line(result: Result, path: Path, words: str) -> None:
    """Exit 2 and exactly one error line, naming the file and the problem."""
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("provaudit: error: ") and str(path) in lines[0] and words in lines[0], lines[0]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("attest-safety")
    shutil.copytree(FIXTURES / "models", root / "models")
    api.scan([str(root / "models")], store=root / "store")
    return root / "store"


@pytest.fixture()
def keys(tmp_path: Path) -> dict[str, Path]:
    private, public = attest.keygen(tmp_path / "keys" / "signer")
    return {"key": private, "pub": public}


@pytest.fixture()
def victim(tmp_path: Path) -> Path:
    """A file outside the release folder that a planted link points at."""
    path = tmp_path / "outside" / "victim.txt"
    path.parent.mkdir()
    path.write_text(VICTIM_TEXT)
    return path


def release(tmp_path: Path) -> Path:
    folder = tmp_path / "release"
    folder.mkdir(exist_ok=True)
    (folder / "model.safetensors").write_bytes(b"\x00weights" * 100)
    return folder


def signed(tmp_path: Path, keys: dict[str, Path], doc: Any) -> Path:
    """An attestation whose payload is ``doc``, correctly signed by the test key."""
    folder = release(tmp_path)
    path = folder / "model.safetensors.provenance.json"
    path.write_text(json.dumps(attest.sign(doc, attest.load_private(keys["key"]))))
    return path


def statement(*subjects: dict[str, Any]) -> dict[str, Any]:
    return {
        "_type": attest.STATEMENT_TYPE,
        "subject": list(subjects),
        "predicateType": attest.PREDICATE_TYPE,
        "predicate": {},
    }


# --- writes never go through a planted symlink -----------------------------------------------------


@pytest.mark.parametrize("suffix", [".key", ".pub"])
def test_keygen_force_refuses_a_planted_symlink(tmp_path: Path, victim: Path, suffix: str) -> None:
    prefix = tmp_path / "release"
    run("keygen", "--out", prefix)  # an existing pair, so --force is what an attacker waits for
    (tmp_path / f"release{suffix}").unlink()
    (tmp_path / f"release{suffix}").symlink_to(victim)
    result = run("keygen", "--out", prefix, "--force")
    one_error_line(result, tmp_path / f"release{suffix}", "symbolic link")
    assert victim.read_text() == VICTIM_TEXT
    assert (tmp_path / f"release{suffix}").is_symlink()


def test_keygen_refuses_a_dangling_symlink(tmp_path: Path) -> None:
    """A link to a file that does not exist yet would create it where the attacker chose."""
    target = tmp_path / "outside" / "planted.key"
    target.parent.mkdir()
    (tmp_path / "release.key").symlink_to(target)
    result = run("keygen", "--out", tmp_path / "release")
    one_error_line(result, tmp_path / "release.key", "symbolic link")
    assert not target.exists()


def test_keygen_writes_private_key_0600_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    result = run("keygen", "--out", tmp_path / "release")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "release.key").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release.key", "release.pub"]


def test_attach_refuses_a_planted_symlink(tmp_path: Path, store: Path, keys: dict[str, Path], victim: Path) -> None:
    folder = release(tmp_path)
    out = folder / "model.safetensors.provenance.json"
    out.symlink_to(victim)
    result = run(
        "attach", folder / "model.safetensors", "--record", "finance-chat", "--key", keys["key"], "--store", store
    )
    one_error_line(result, out, "symbolic link")
    assert victim.read_text() == VICTIM_TEXT
    assert out.is_symlink()


def test_attach_ignores_a_planted_partial_file_link(
    tmp_path: Path, store: Path, keys: dict[str, Path], victim: Path
) -> None:
    """The temporary file has an unpredictable name and is opened O_EXCL | O_NOFOLLOW."""
    folder = release(tmp_path)
    (folder / "model.safetensors.provenance.json.partial").symlink_to(victim)
    result = run(
        "attach", folder / "model.safetensors", "--record", "finance-chat", "--key", keys["key"], "--store", store
    )
    assert result.exit_code == 0, result.output
    assert victim.read_text() == VICTIM_TEXT
    written = folder / "model.safetensors.provenance.json"
    assert not written.is_symlink() and json.loads(written.read_text())["payloadType"] == attest.PAYLOAD_TYPE
    assert run("verify", written, "--key", keys["pub"]).exit_code == 0


# --- keys ------------------------------------------------------------------------------------------


def test_a_private_key_readable_by_others_is_warned_about(tmp_path: Path, store: Path, keys: dict[str, Path]) -> None:
    keys["key"].chmod(0o644)
    folder = release(tmp_path)
    result = run(
        "attach", folder / "model.safetensors", "--record", "finance-chat", "--key", keys["key"], "--store", store
    )
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("provaudit: warning:")]
    assert len(warnings) == 1 and str(keys["key"]) in warnings[0] and "0644" in warnings[0], result.stderr


def test_a_private_key_0600_gets_no_warning(tmp_path: Path, store: Path, keys: dict[str, Path]) -> None:
    folder = release(tmp_path)
    result = run(
        "attach", folder / "model.safetensors", "--record", "finance-chat", "--key", keys["key"], "--store", store
    )
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr


def _cli(*args: str | Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """The installed command in its own process: a hang fails the test instead of stalling the suite."""
    return subprocess.run(
        [str(PROVAUDIT), *map(str, args)], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "huge"])
@pytest.mark.parametrize("command", ["verify", "attach"])
def test_a_key_that_is_no_small_regular_file_is_refused(
    tmp_path: Path, keys: dict[str, Path], store: Path, kind: str, command: str
) -> None:
    if kind == "dev-zero":
        key = Path("/dev/zero")
    elif kind == "fifo":
        key = tmp_path / "key.fifo"
        os.mkfifo(key)
    else:
        key = tmp_path / "huge.key"
        key.write_bytes(b"-" * (attest.MAX_KEY_BYTES + 1))
    folder = release(tmp_path)
    if command == "verify":
        attestation = signed(tmp_path, keys, statement())
        proc = _cli("verify", attestation, "--key", key)
    else:
        proc = _cli("attach", folder / "model.safetensors", "--record", "finance-chat", "--key", key, "--store", store)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(key) in lines[0], lines
    assert ("regular file" if kind != "huge" else "limit") in lines[0]
    if command == "attach":
        assert not (folder / "model.safetensors.provenance.json").exists()


def test_an_attestation_that_is_a_device_is_an_input_error(keys: dict[str, Path]) -> None:
    proc = _cli("verify", "/dev/zero", "--key", keys["pub"])
    assert proc.returncode == 2 and "/dev/zero" in proc.stderr and "Traceback" not in proc.stderr


# --- verify: subject names stay inside the folder --------------------------------------------------


@pytest.fixture()
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file verify hashes (the real sha256_file runs; this only records its argument)."""
    seen: list[Path] = []
    real: Callable[[Path], str] = attest.sha256_file

    def spy(path: Path) -> str:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(attest, "sha256_file", spy)
    return seen


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../../../etc/passwd", "climbs out"),
        ("../outside/victim.txt", "climbs out"),
        ("sub/../../outside/victim.txt", "climbs out"),
        ("/etc/passwd", "absolute"),
        ("..\\outside\\victim.txt", "climbs out"),
        ("C:/Windows/win.ini", "absolute"),
        ("", "empty"),
    ],
)
def test_verify_refuses_subject_names_outside_the_folder(
    tmp_path: Path, keys: dict[str, Path], victim: Path, hashed: list[Path], name: str, reason: str
) -> None:
    digest = attest.sha256_file(victim)
    hashed.clear()
    attestation = signed(tmp_path, keys, statement({"name": name, "digest": {"sha256": digest}}))
    result = run("verify", attestation, "--key", keys["pub"])
    assert result.exit_code == 1, result.output
    assert reason in result.output and "FAIL" in result.output
    assert hashed == []


def test_verify_refuses_a_symlink_inside_the_folder_that_leads_out(
    tmp_path: Path, keys: dict[str, Path], victim: Path, hashed: list[Path]
) -> None:
    folder = release(tmp_path)
    (folder / "weights.bin").symlink_to(victim)
    digest = attest.sha256_file(victim)
    hashed.clear()
    attestation = signed(tmp_path, keys, statement({"name": "weights.bin", "digest": {"sha256": digest}}))
    result = run("verify", attestation, "--key", keys["pub"])
    assert result.exit_code == 1, result.output
    assert "symbolic link" in result.output
    assert hashed == []


def test_verify_looks_subjects_up_in_root(tmp_path: Path, keys: dict[str, Path], hashed: list[Path]) -> None:
    folder = release(tmp_path)
    digest = attest.sha256_file(folder / "model.safetensors")
    attestation = tmp_path / "elsewhere" / "a.provenance.json"
    attestation.parent.mkdir()
    doc = statement({"name": "model.safetensors", "digest": {"sha256": digest}})
    attestation.write_text(json.dumps(attest.sign(doc, attest.load_private(keys["key"]))))
    hashed.clear()
    result = run("verify", attestation, "--key", keys["pub"], "--root", folder)
    assert "ok   digest of" in result.output and "matches" in result.output, result.output
    assert hashed == [folder / "model.safetensors"]
    # the record check fails (this statement carries none): exit 1, but no traceback
    assert result.exit_code == 1


# --- malformed statements: a failed check, never a traceback ---------------------------------------


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ([{"name": "model.safetensors"}], "JSON list, not an object"),
        ("a string", "JSON str, not an object"),
        (42, "JSON int, not an object"),
        (None, "JSON NoneType, not an object"),
        ({"_type": attest.STATEMENT_TYPE, "subject": "model.safetensors"}, "subject is not a list"),
        ({"subject": [{"name": "model.safetensors", "digest": "abc"}]}, "subject[0] is not an object"),
        ({"subject": [["model.safetensors"]]}, "subject[0] is not an object"),
        ({"subject": [{"name": 7, "digest": {"sha256": "x"}}]}, "subject[0] is not an object"),
    ],
)
def test_malformed_signed_statements_fail_cleanly(tmp_path: Path, keys: dict[str, Path], doc: Any, words: str) -> None:
    attestation = signed(tmp_path, keys, doc)
    result = run("verify", attestation, "--key", keys["pub"])
    assert result.exit_code == 1, result.output
    assert words in result.output, result.output


def test_a_deeply_nested_payload_fails_cleanly(tmp_path: Path, keys: dict[str, Path]) -> None:
    folder = release(tmp_path)
    payload = b"[" * 100_000 + b"]" * 100_000
    key = attest.load_private(keys["key"])
    envelope = {
        "payloadType": attest.PAYLOAD_TYPE,
        "payload": attest.base64.b64encode(payload).decode(),
        "signatures": [
            {"keyid": "", "sig": attest.base64.b64encode(key.sign(attest.pae(attest.PAYLOAD_TYPE, payload))).decode()}
        ],
    }
    attestation = folder / "deep.provenance.json"
    attestation.write_text(json.dumps(envelope))
    result = run("verify", attestation, "--key", keys["pub"])
    assert result.exit_code == 1, result.output
    assert "not JSON" in result.output


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        '"x"',
        "{}",
        '{"payload": 5, "payloadType": "x", "signatures": []}',
        '{"payload": "", "payloadType": "x", "signatures": [1, "a", null]}',
        "\xff",
    ],
)
def test_malformed_envelopes_fail_cleanly(tmp_path: Path, keys: dict[str, Path], text: str) -> None:
    attestation = release(tmp_path) / "bad.provenance.json"
    attestation.write_bytes(text.encode("latin-1"))
    result = run("verify", attestation, "--key", keys["pub"])
    assert result.exit_code == 1, result.output
    assert "FAIL signature" in result.output
