"""Seals of a prediction log: signed checkpoints of its head, in ``LOG.seals`` beside it.

A hash chain shows a line edited, removed or moved, but not a log whose tail was cut off or whose
whole chain was written anew. A seal pins the head: ``provaudit log seal LOG --key KEY`` verifies the
chain, then signs *(line count, hash of that line)* and appends the signed checkpoint to
``LOG.seals``. ``provaudit log verify LOG --key PUB`` checks every checkpoint against the log: the
line a checkpoint counts must still be there (else the log was truncated) and still have the hash
it signed (else the chain was rewritten from some line up to there).

Each line of ``LOG.seals`` is a DSSE envelope (the code and keys of :mod:`provaudit.export.attest`,
``provaudit keygen``) over an in-toto Statement v1: ``subject`` is the log's file name with the
head line's chain hash as its ``sha256``, ``predicateType`` :data:`PREDICATE_TYPE`, ``predicate``
``{"lines", "hash", "sealed", "files"}``. Seals prove the log up to the last one; copy them (or keep
them as CI artifacts) where the log's writer cannot rewrite them too.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from provaudit.errors import InputError
from provaudit.export.attest import PAYLOAD_TYPE, STATEMENT_TYPE, keyid, load_private, pae, read_bounded, sign
from provaudit.versions.predictions import ChainBroken, VerifyReport, verify_log

SUFFIX = ".seals"
PREDICATE_TYPE = "https://w3id.org/provaudit/log-seal/v1"
MAX_SEALS_BYTES = 256 * 1024 * 1024
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def seals_path(log: str | os.PathLike[str]) -> Path:
    """``LOG.seals``, beside the log."""
    return Path(f"{os.path.abspath(log)}{SUFFIX}")


@dataclass(frozen=True)
class Checkpoint:
    """One sealed head: the log had ``lines`` lines and the last one's chain hash was ``hash``."""

    number: int  # 1-based, the line of LOG.seals
    lines: int
    hash: str
    sealed: str
    keyid: str

    def __str__(self) -> str:
        return f"checkpoint {self.number} ({self.lines} lines, head {self.hash[:16]}…, sealed {self.sealed})"


def seal_log(log: str | os.PathLike[str], key_path: Path, warn: Callable[[str], None] | None = None) -> Checkpoint:
    """Verify the chain of ``log``, sign its head with ``key_path`` and append the seal to ``LOG.seals``.

    A broken chain is never sealed: :class:`ChainBroken` names its first bad line.
    """
    key = load_private(key_path, warn) if warn is not None else load_private(key_path)
    report = verify_log(log)
    if report.problem is not None:
        raise ChainBroken(report.problem, "; a broken chain is not sealed")
    if report.last_hash is None:
        raise InputError(os.fspath(log), "the log holds no prediction yet; nothing to seal")
    sealed = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    name = Path(os.path.abspath(log)).name
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": report.last_hash}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "lines": report.lines,
            "hash": report.last_hash,
            "sealed": sealed,
            "files": [f.name for f in report.files],
        },
    }
    envelope = sign(statement, key)
    line = (json.dumps(envelope, sort_keys=True, separators=(",", ":")) + "\n").encode("ascii")
    target = seals_path(log)
    if target.is_symlink():
        raise InputError(str(target), "is a symbolic link; refusing to write seals through it (remove it)")
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise InputError(str(target), f"cannot be written: {exc.strerror or exc}") from exc
    try:
        number = _count_lines(target)
        os.write(fd, line)  # one write(2) of one line: concurrent sealers never interleave
        os.fsync(fd)
    finally:
        os.close(fd)
    return Checkpoint(number + 1, report.lines, report.last_hash, sealed, str(envelope["signatures"][0]["keyid"]))


def _count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


@dataclass
class SealReport:
    """Result of :func:`check_seals`: the chain's own check and every checkpoint, held or not."""

    chain: VerifyReport
    checkpoints: list[Checkpoint] = field(default_factory=list)
    broken: list[tuple[Checkpoint | None, int, str]] = field(default_factory=list)  # (checkpoint, seal line, why)

    @property
    def ok(self) -> bool:
        return self.chain.ok and bool(self.checkpoints) and not self.broken

    @property
    def last(self) -> Checkpoint | None:
        return self.checkpoints[-1] if self.checkpoints else None


def _read_seal(number: int, raw: bytes, key: Ed25519PublicKey) -> Checkpoint | str:
    """The checkpoint of one line of LOG.seals, or why it cannot be trusted."""
    try:
        envelope = json.loads(raw)
        payload = base64.b64decode(envelope["payload"], validate=True)
        payload_type = str(envelope["payloadType"])
        signatures = envelope["signatures"]
        assert isinstance(signatures, list)
    except (ValueError, KeyError, TypeError, AssertionError, binascii.Error) as exc:
        return f"not a readable DSSE envelope ({type(exc).__name__}: {exc})"
    wanted = keyid(key)
    for entry in signatures:
        try:
            key.verify(base64.b64decode(entry["sig"], validate=True), pae(payload_type, payload))
            break
        except (InvalidSignature, ValueError, KeyError, TypeError, binascii.Error):
            continue
    else:
        signers = ", ".join(str(e.get("keyid", "?"))[:16] for e in signatures if isinstance(e, dict)) or "none"
        return f"no valid signature by key {wanted[:16]}… (signed by {signers}): forged, edited or another key"
    try:
        doc: dict[str, Any] = json.loads(payload)
        body = doc["predicate"]
        if payload_type != PAYLOAD_TYPE or doc.get("predicateType") != PREDICATE_TYPE:
            return f"signed, but not a provaudit log seal (predicateType {doc.get('predicateType')!r})"
        return Checkpoint(number, int(body["lines"]), str(body["hash"]), str(body["sealed"]), wanted)
    except (ValueError, KeyError, TypeError) as exc:
        return f"signed, but its payload is not a log seal ({type(exc).__name__}: {exc})"


def check_seals(log: str | os.PathLike[str], key: Ed25519PublicKey) -> SealReport:
    """Check the chain of ``log`` and every checkpoint of ``LOG.seals`` signed by ``key``.

    A checkpoint holds when the log still has its line and that line still has the signed hash.
    Truncation shows as a checkpoint counting more lines than the log has; a rewrite as a
    checkpoint whose line now has another hash (the chain itself may verify).
    """
    path = seals_path(log)
    if not path.exists():
        raise InputError(str(path), "no seals beside the log: run `provaudit log seal LOG --key KEY` first")
    parsed: list[Checkpoint] = []
    bad: list[tuple[Checkpoint | None, int, str]] = []
    for number, raw in enumerate(read_bounded(path, MAX_SEALS_BYTES).splitlines(), 1):
        if not raw.strip():
            continue
        found = _read_seal(number, raw, key)
        if isinstance(found, str):
            bad.append((None, number, found))
        else:
            parsed.append(found)
    chain = verify_log(log, at={c.lines for c in parsed})
    report = SealReport(chain, parsed, bad)
    intact = chain.lines if chain.ok else chain.lines - 1  # lines before the first bad one
    for checkpoint in parsed:
        if checkpoint.lines > chain.lines:
            report.broken.append(
                (
                    checkpoint,
                    checkpoint.number,
                    f"{checkpoint} no longer holds: the log has {chain.lines} lines, the checkpoint counts "
                    f"{checkpoint.lines}: the log was truncated",
                )
            )
        elif checkpoint.lines > intact:
            report.broken.append(
                (checkpoint, checkpoint.number, f"{checkpoint} no longer holds: the chain breaks before its line")
            )
        elif chain.hashes.get(checkpoint.lines) != checkpoint.hash:
            report.broken.append(
                (
                    checkpoint,
                    checkpoint.number,
                    f"{checkpoint} no longer holds: line {checkpoint.lines} now has hash "
                    f"{str(chain.hashes.get(checkpoint.lines))[:16]}…: the chain was rewritten up to it",
                )
            )
    report.broken.sort(key=lambda b: b[1])
    return report
