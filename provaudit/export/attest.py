"""Signed provenance beside release artifacts: in-toto Statement v1 in a DSSE envelope, Ed25519.

* Statement: https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md — ``subject`` is
  each artifact's name and sha256, ``predicateType`` :data:`PREDICATE_TYPE`, ``predicate`` the record
  (its JSON, its PROV JSON-LD and, when given, the review verdict).
* Envelope: https://github.com/secure-systems-lab/dsse/blob/master/envelope.md — the signature is over
  ``PAE(payloadType, payload)`` (protocol.md), never over the JSON text of the envelope.
* keyid: the sha256 (hex) of the public key's DER SubjectPublicKeyInfo.

Keys and attestations are files other people may have planted or tampered with: nothing is
written through a symbolic link (a new file in the same folder, opened with ``O_NOFOLLOW`` and
``O_EXCL``, is renamed into place), every read is bounded and of a regular file only, and
``verify`` hashes only files inside the attestation's folder (or ``--root``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
import stat
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from provaudit.errors import InputError
from provaudit.export.base import ExportContext
from provaudit.records.model import Record
from provaudit.rules.report import RecordReview

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPE = "https://w3id.org/provaudit/attestation/record/v1"
# A PEM Ed25519 key is under 200 bytes; anything far larger is not a key (or is /dev/zero).
MAX_KEY_BYTES = 64 * 1024
# An attestation holds one record, its PROV and its review: megabytes at most.
MAX_ATTESTATION_BYTES = 64 * 1024 * 1024
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)

Warn = Callable[[str], None]


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)


# --- files -----------------------------------------------------------------------------------------


def _open_regular(path: Path) -> tuple[int, os.stat_result]:
    """A descriptor of ``path`` after checking it is a regular file (a FIFO or device is never read).

    Opened non-blocking, so a FIFO cannot stall the open itself; the check is on the opened file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(str(path), f"cannot be read: {exc.strerror or exc}") from exc
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise InputError(str(path), "is not a regular file (a device, FIFO or socket); refusing to read it")
    return fd, info


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; an InputError naming the file otherwise."""
    fd, info = _open_regular(path)
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > limit:
            raise InputError(str(path), f"is {info.st_size} bytes, more than the limit of {limit}")
        data = handle.read(limit + 1)  # the size can grow after fstat: the read itself is bounded too
    if len(data) > limit:
        raise InputError(str(path), f"is more than the limit of {limit} bytes")
    return data


def write_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` whole or not at all, never through a symbolic link.

    A new file in the same folder (``O_CREAT | O_EXCL | O_NOFOLLOW``, created with ``mode``) is
    renamed over ``path``; rename replaces a link planted after the check instead of following it.
    """
    if path.is_symlink():
        raise InputError(str(path), "is a symbolic link; refusing to write through it (remove it)")
    if os.path.lexists(path) and not path.is_file():
        raise InputError(str(path), "exists and is not a regular file")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.partial")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, mode)
    except OSError as exc:
        raise InputError(str(path), f"cannot be written: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError(str(path), f"cannot be written: {exc.strerror or exc}") from exc
        raise


# --- keys ------------------------------------------------------------------------------------------


def keygen(prefix: Path, *, force: bool = False) -> tuple[Path, Path]:
    """Write ``PREFIX.key`` (PKCS#8 PEM, mode 0600) and ``PREFIX.pub``; refuse to overwrite unless force."""
    private_path, public_path = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    for path in (private_path, public_path):
        if path.is_symlink():  # even with --force: replacing a planted link would hide that it was there
            raise InputError(str(path), "is a symbolic link; refusing to write a key through it (remove it)")
        if not force and os.path.lexists(path):
            raise InputError(str(path), "exists; pass --force to replace the key pair")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # created with 0600 from the start: the secret is never readable by others, not even briefly
    write_file(private_path, pem, 0o600)
    write_file(public_path, public_pem(key.public_key()))
    return private_path, public_path


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def keyid(key: Ed25519PublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def _check_key_folder(path: Path, warn: Warn) -> None:
    """``warn`` when others may write to the key's folder: they could swap the key for their own."""
    folder = path.parent if str(path.parent) else Path(".")
    try:
        mode = os.stat(folder).st_mode
    except OSError:
        return
    if os.name == "posix" and mode & 0o002 and not mode & stat.S_ISVTX:
        warn(
            f"{folder}: key folder writable by others (mode {stat.S_IMODE(mode):04o}); anyone could replace "
            f"{path.name} with a key of their own: run `chmod o-w {folder}`"
        )


def load_private(path: Path, warn: Warn = _warn) -> Ed25519PrivateKey:
    """The Ed25519 key in ``path``; ``warn`` is told when others may read it or write to its folder (as ssh does)."""
    _check_key_folder(path, warn)
    data = read_bounded(path, MAX_KEY_BYTES)
    mode = path.stat().st_mode
    if os.name == "posix" and mode & 0o077:
        warn(
            f"{path}: private key is accessible by others (mode {stat.S_IMODE(mode):04o}); "
            f"anyone who can read it can sign as you: run `chmod 600 {path}`"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(str(path), f"not a readable unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(str(path), "not an Ed25519 key (make one with `provaudit keygen`)")
    return key


def load_public(path: Path, warn: Warn = _warn) -> Ed25519PublicKey:
    """The Ed25519 public key in ``path``; ``warn`` is told when others may write to its folder."""
    _check_key_folder(path, warn)
    data = read_bounded(path, MAX_KEY_BYTES)
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        try:  # given the private key by mistake: its public half verifies just the same
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError) as exc:
            raise InputError(str(path), f"not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(str(path), "not an Ed25519 public key")
    return key


# --- statement and envelope ------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    """Digest of a regular file (a FIFO or device would never end)."""
    digest = hashlib.sha256()
    fd, _ = _open_regular(path)
    try:
        with os.fdopen(fd, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise InputError(str(path), f"cannot be read: {exc.strerror or exc}") from exc
    return digest.hexdigest()


def subject_name(artifact: Path, base: Path) -> str:
    """The artifact's path relative to the attestation's folder (verify looks for it there)."""
    try:
        return artifact.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return artifact.name


def predicate(ctx: ExportContext) -> dict[str, Any]:
    from provaudit.export.prov import to_jsonld

    out: dict[str, Any] = {
        "record": ctx.record.model_dump(mode="json", exclude={"location"}),
        "prov": json.loads(to_jsonld(ctx)),
    }
    if ctx.review is not None:
        out["review"] = ctx.review.model_dump(mode="json", exclude_none=True)
    return out


def statement(artifacts: list[Path], base: Path, ctx: ExportContext) -> dict[str, Any]:
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": subject_name(a, base), "digest": {"sha256": sha256_file(a)}} for a in artifacts],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate(ctx),
    }


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 Pre-Authentication Encoding: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def sign(statement_doc: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    payload = json.dumps(statement_doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    signature = key.sign(pae(PAYLOAD_TYPE, payload))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": keyid(key.public_key()), "sig": base64.b64encode(signature).decode()}],
    }


def attach(
    artifacts: list[Path], ctx: ExportContext, key_path: Path, out: Path | None = None, *, warn: Warn = _warn
) -> Path:
    """Sign a statement about the artifacts and write it beside them (default ``<first>.provenance.json``)."""
    if not artifacts:
        raise InputError(None, "name at least one artifact to attest")
    out = out or artifacts[0].with_name(artifacts[0].name + ".provenance.json")
    if out.is_symlink():  # refused before any work; write_file checks again at the end
        raise InputError(str(out), "is a symbolic link; refusing to write through it (remove it)")
    key = load_private(key_path, warn)
    envelope = sign(statement(artifacts, out.parent, ctx), key)
    write_file(out, (json.dumps(envelope, indent=2) + "\n").encode("utf-8"))
    return out


# --- verification ----------------------------------------------------------------------------------


@dataclass
class Check:
    name: str  # "signature", "digest of <file>", "record"
    ok: bool
    message: str


@dataclass
class Verification:
    checks: list[Check] = field(default_factory=list)
    record: Record | None = None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


def _b64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a base64 string")
    return base64.b64decode(text.encode(), validate=True)


def subject_path(name: str, root: Path) -> Path:
    """Where a subject name points inside ``root``; ValueError (with the reason) for any way out.

    Names are signed, but by whoever holds the key: ``../../etc/passwd`` or ``/etc/shadow`` must not
    make verify hash (and so reveal facts about) files outside the release folder.
    """
    if not name or "\x00" in name:
        raise ValueError("is empty or holds a NUL character")
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or name.startswith(("/", "\\")):
        raise ValueError("is an absolute path")
    if ".." in posix.parts or ".." in windows.parts:
        raise ValueError("climbs out of the folder with ..")
    path = root / posix
    if not path.resolve().is_relative_to(root.resolve()):
        raise ValueError(f"leads outside {root} through a symbolic link")
    return path


def _subjects(doc: dict[str, Any]) -> dict[str, str] | str:
    """name → sha256 of each subject, or why the subject list is malformed."""
    listed = doc.get("subject")
    if not isinstance(listed, list):
        return "the statement's subject is not a list"
    out: dict[str, str] = {}
    for i, item in enumerate(listed):
        digest = item.get("digest") if isinstance(item, dict) else None
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not isinstance(digest, dict) or not isinstance(digest.get("sha256"), str):
            return f"subject[{i}] is not an object with a name and a sha256 digest"
        out[name] = digest["sha256"]
    return out


def verify(
    attestation: Path, artifacts: list[Path], public_key: Ed25519PublicKey, root: Path | None = None
) -> Verification:
    """Every check, in order: signature, then each artifact's digest, then the record.

    Subjects are looked up inside ``root`` (default: the attestation's folder) unless ``artifacts``
    name the files. An unreadable attestation file is an InputError; a malformed one a failed check.
    """
    result = Verification()
    text = read_bounded(attestation, MAX_ATTESTATION_BYTES)
    try:
        envelope = json.loads(text.decode("utf-8"))
        payload = _b64(envelope["payload"])
        payload_type = envelope["payloadType"]
        signatures = envelope["signatures"]
    except (ValueError, KeyError, TypeError, IndexError, RecursionError, binascii.Error) as exc:
        result.checks.append(Check("signature", False, f"{attestation} is not a readable DSSE envelope ({exc})"))
        return result
    wanted = keyid(public_key)
    verified = False
    for entry in signatures if isinstance(signatures, list) else []:
        try:
            public_key.verify(_b64(entry.get("sig")), pae(str(payload_type), payload))
            verified = True
            break
        except (InvalidSignature, ValueError, binascii.Error, AttributeError):
            continue
    if not verified:
        listed = signatures if isinstance(signatures, list) else []
        keyids = ", ".join(str(e.get("keyid")) for e in listed if isinstance(e, dict)) or "none"
        why = "signed by another key" if wanted not in keyids else "the signature does not match the payload"
        result.checks.append(
            Check("signature", False, f"no valid Ed25519 signature by key {wanted[:16]}… ({why}; signed: {keyids})")
        )
        return result
    if payload_type != PAYLOAD_TYPE:
        result.checks.append(Check("signature", False, f"payloadType is {payload_type!r}, not {PAYLOAD_TYPE}"))
        return result
    result.checks.append(Check("signature", True, f"Ed25519 signature by key {wanted[:16]}… over the DSSE payload"))
    try:
        doc = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        result.checks.append(Check("record", False, f"the signed payload is not JSON: {exc}"))
        return result
    if not isinstance(doc, dict):
        result.checks.append(Check("record", False, f"the signed payload is JSON {type(doc).__name__}, not an object"))
        return result
    subjects = _subjects(doc)
    if isinstance(subjects, str):
        result.checks.append(Check("digest", False, subjects))
        return result
    base = root or attestation.parent
    targets: list[tuple[str, Path | None]] = []
    for a in artifacts:
        targets.append((subject_name(a, base) if subject_name(a, base) in subjects else a.name, a))
    if not artifacts:
        for name in subjects:
            try:
                targets.append((name, subject_path(name, base)))
            except ValueError as exc:
                result.checks.append(Check(f"digest of {name!r}", False, f"subject name {name!r} {exc}; not read"))
    if not targets and not result.checks[1:]:
        result.checks.append(Check("digest", False, "the statement names no subject"))
    for name, path in targets:
        label = f"digest of {path}"
        if name not in subjects:
            result.checks.append(Check(label, False, f"{name} is not a subject of this attestation"))
            continue
        if path is None or not path.is_file():
            result.checks.append(Check(label, False, f"{path} not found (give the artifact's path)"))
            continue
        actual = sha256_file(path)
        ok = actual == subjects[name]
        message = f"sha256 {actual[:16]}… matches" if ok else f"sha256 {actual[:16]}… ≠ attested {subjects[name][:16]}…"
        result.checks.append(Check(label, ok, message))
    result.checks.append(_check_record(doc, result))
    return result


def _check_record(doc: dict[str, Any], result: Verification) -> Check:
    """The statement is an in-toto v1 provaudit statement whose record validates and matches its PROV."""
    if doc.get("_type") != STATEMENT_TYPE or doc.get("predicateType") != PREDICATE_TYPE:
        return Check(
            "record",
            False,
            f"not a provaudit in-toto statement (_type {doc.get('_type')!r}, "
            f"predicateType {doc.get('predicateType')!r})",
        )
    body = doc.get("predicate")
    if not isinstance(body, dict) or "record" not in body:
        return Check("record", False, "the predicate has no record")
    try:
        record = Record.model_validate(body["record"])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return Check("record", False, f"predicate.record is not a valid record: {where}: {first['msg']}")
    if "prov" in body:
        from provaudit.export.prov import read_records

        try:
            prov = read_records(json.dumps(body["prov"]).encode(), "prov-jsonld", "predicate.prov")
        except InputError as exc:
            return Check("record", False, f"predicate.prov: {exc.problem}")
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            # signed, but not PROV JSON-LD this version reads: a failed check, not a crash
            return Check("record", False, f"predicate.prov cannot be read: {type(exc).__name__}: {exc}")
        if not any(p.content_digest() == record.content_digest() for p in prov):
            return Check("record", False, "predicate.prov describes another revision than predicate.record")
    if "review" in body:
        try:
            review = RecordReview.model_validate(body["review"])
        except ValidationError as exc:
            return Check("record", False, f"predicate.review is not a valid review: {exc.errors()[0]['msg']}")
        if review.id != record.id:
            return Check("record", False, f"predicate.review is of {review.id}, not {record.id}")
    result.record = record
    return Check(
        "record",
        True,
        f"{record.id} is a well-formed record ({len(record.claims)} license claims, "
        f"{len(record.upstream)} upstream links)",
    )
