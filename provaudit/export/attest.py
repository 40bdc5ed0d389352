"""Signed provenance beside release artifacts: in-toto Statement v1 in a DSSE envelope, Ed25519.

* Statement: https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md — ``subject`` is
  each artifact's name and sha256, ``predicateType`` :data:`PREDICATE_TYPE`, ``predicate`` the record
  (its JSON, its PROV JSON-LD and, when given, the review verdict).
* Envelope: https://github.com/secure-systems-lab/dsse/blob/master/envelope.md — the signature is over
  ``PAE(payloadType, payload)`` (protocol.md), never over the JSON text of the envelope.
* keyid: the sha256 (hex) of the public key's DER SubjectPublicKeyInfo.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
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


# --- keys ------------------------------------------------------------------------------------------


def keygen(prefix: Path, *, force: bool = False) -> tuple[Path, Path]:
    """Write ``PREFIX.key`` (PKCS#8 PEM, mode 0600) and ``PREFIX.pub``; refuse to overwrite unless force."""
    private_path, public_path = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    if not force:
        for path in (private_path, public_path):
            if path.exists():
                raise InputError(str(path), "exists; pass --force to replace the key pair")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    private_path.parent.mkdir(parents=True, exist_ok=True)
    if force and private_path.exists():
        private_path.unlink()
    # created with 0600 from the start: the secret is never readable by others, not even briefly
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public_path.write_bytes(public_pem(key.public_key()))
    return private_path, public_path


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def keyid(key: Ed25519PublicKey) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(str(path), f"not a readable unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(str(path), "not an Ed25519 key (make one with `provaudit keygen`)")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot be read: {exc.strerror or exc}") from exc
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
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
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


def attach(artifacts: list[Path], ctx: ExportContext, key_path: Path, out: Path | None = None) -> Path:
    """Sign a statement about the artifacts and write it beside them (default ``<first>.provenance.json``)."""
    if not artifacts:
        raise InputError(None, "name at least one artifact to attest")
    out = out or artifacts[0].with_name(artifacts[0].name + ".provenance.json")
    key = load_private(key_path)
    envelope = sign(statement(artifacts, out.parent, ctx), key)
    tmp = out.with_name(out.name + ".partial")
    tmp.write_text(json.dumps(envelope, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out)
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


def verify(attestation: Path, artifacts: list[Path], public_key: Ed25519PublicKey) -> Verification:
    """Every check, in order: signature, then each artifact's digest, then the record."""
    result = Verification()
    try:
        envelope = json.loads(attestation.read_text(encoding="utf-8"))
        payload = _b64(envelope["payload"])
        payload_type = envelope["payloadType"]
        signatures = envelope["signatures"]
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
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
        keyids = ", ".join(str(e.get("keyid")) for e in signatures if isinstance(e, dict)) or "none"
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
    except ValueError as exc:
        result.checks.append(Check("record", False, f"the signed payload is not JSON: {exc}"))
        return result
    subjects = {
        str(s.get("name")): str((s.get("digest") or {}).get("sha256"))
        for s in doc.get("subject") or []
        if isinstance(s, dict)
    }
    base = attestation.parent
    targets = [(subject_name(a, base) if subject_name(a, base) in subjects else a.name, a) for a in artifacts] or [
        (name, base / name) for name in subjects
    ]
    if not targets:
        result.checks.append(Check("digest", False, "the statement names no subject"))
    for name, path in targets:
        label = f"digest of {path}"
        if name not in subjects:
            result.checks.append(Check(label, False, f"{name} is not a subject of this attestation"))
            continue
        if not path.is_file():
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
