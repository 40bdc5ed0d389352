"""Click commands: ``export`` (whole store or one record), ``import``, ``keygen``, ``attach``, ``verify``.

Thin wrappers over :mod:`provaudit.export.formats`, :mod:`provaudit.export.importer` and
:mod:`provaudit.export.attest`. Exit codes as everywhere in provaudit: 0 fine, 1 a check failed
(``verify``), 2 usage or input error.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from provaudit.cli_options import record_limit_options, store_option
from provaudit.errors import InputError, ProvauditError
from provaudit.export.formats import FORMATS, context_for, export_context, resolve_record
from provaudit.export.importer import IMPORT_FORMATS
from provaudit.records.model import Record
from provaudit.rules.report import RecordReview
from provaudit.store.base import Store

EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
STORE_FORMATS = ("turtle", "jsonld", "nt", "nq", "trig")  # whole-store RDF (OxigraphStore.export)
RECORD_FORMATS = tuple(FORMATS)
_ALIASES = {"jsonld": "prov-jsonld", "json-ld": "prov-jsonld", "ttl": "turtle"}  # with a RECORD
F = TypeVar("F", bound=Callable[..., Any])


def _errors(func: F) -> F:
    """provaudit's own errors as one line and exit 2, also when a command runs outside the main group."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ProvauditError as exc:
            if os.environ.get("PROVAUDIT_DEBUG"):
                raise
            click.echo(f"provaudit: error: {exc}", err=True)
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]


def _warning(message: str) -> None:
    click.echo(f"provaudit: warning: {message}", err=True)


def _open(store: Path | None, *, read_only: bool) -> Store:
    from provaudit.api import open_store

    return open_store(store, read_only=read_only)


def _write(data: bytes, out: Path | None) -> None:
    """To a file (written whole or not at all) or to standard output."""
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    tmp.write_bytes(data)
    tmp.replace(out)


def review_for(db: Store, record: Record, policy: str = "default") -> RecordReview | None:
    """The review of one record (with its upstream records from the store), when the engine is there."""
    try:
        from provaudit.rules.review import review_records  # type: ignore[import-not-found, unused-ignore]
    except ImportError:  # the review engine is optional for exports: they are complete without it
        return None
    records = {record.id: record}
    pending = [u.target for u in record.upstream]
    while pending:  # the lineage closure: the review combines upstream licenses
        rid = pending.pop()
        if rid in records:
            continue
        upstream = db.record(rid)
        if upstream is not None:
            records[rid] = upstream
            pending += [u.target for u in upstream.upstream]
    report = review_records(list(records.values()), policy=policy)
    return next((r for r in report.records if r.id == record.id), None)


def record_as_of(
    db: Store, record_id: str, as_of: str, policy: str = "default", *, review: bool = True
) -> tuple[Record, RecordReview | None, str]:
    """The record at the revision in effect right after the scan ``as_of`` names (a scan id, a date or
    a time), its review over the lineage as it was then, and one line of what changed since."""
    from provaudit.versions.asof import AsOf, find_as_of, record_since, since_phrases

    at = find_as_of(db, as_of)
    state = AsOf(db, at)
    revision = state.revision(record_id)
    found = db.record_at(revision) if revision else None
    if revision is None or found is None:
        when = at.ended or at.started
        raise InputError(None, f"{record_id} was not in the store as of scan {at.iri.rsplit('/', 1)[-1]} ({when})")
    if not review:
        return found, None, since_phrases(record_since(db, state, record_id, None))
    from provaudit.rules.review import review_records

    report = review_records(list(state.lineage([record_id]).values()), policy=policy)
    then = next((r for r in report.records if r.id == record_id), None)
    return found, then, since_phrases(record_since(db, state, record_id, then, policy))


def export_record_cli(
    store: Path | None,
    record: str,
    fmt: str,
    out: Path | None,
    *,
    review: bool = True,
    policy: str = "default",
    base_url: str | None = None,
    as_of: str | None = None,
) -> None:
    """What ``provaudit export RECORD --format F [--out FILE] [--as-of SCAN|DATE]`` does."""
    fmt = _ALIASES.get(fmt, fmt)
    if fmt not in FORMATS:
        raise InputError(None, f"--format {fmt} exports the whole store; for one record use {', '.join(FORMATS)}")
    with _open(store, read_only=True) as db:
        found = resolve_record(db, record)
        if as_of is not None:
            found, verdict, since = record_as_of(db, found.id, as_of, policy, review=review)
            click.echo(f"{found.id} as of {as_of}; since then: {since or 'nothing changed'}", err=True)
        else:
            verdict = review_for(db, found, policy) if review else None
        data = export_context(context_for(db, found, verdict, base_url=base_url), fmt)
    _write(data, out)
    if out is not None:
        click.echo(f"{found.id} → {out} ({FORMATS[fmt].title})", err=True)


def export_store_cli(store: Path | None, fmt: str, out: Path | None, base_url: str | None = None) -> None:
    """The whole store as RDF (what `provaudit export` without RECORD has always done), local paths
    relative to the scanned roots."""
    from provaudit.export.public_paths import PublicPaths

    if fmt not in STORE_FORMATS:
        raise InputError(None, f"--format {fmt} describes one record: give RECORD (e.g. dataset:squad)")
    with _open(store, read_only=True) as db:
        paths = PublicPaths.for_store(db, base_url)
        if out is None:
            stream = paths.writer(sys.stdout.buffer)
            db.export(fmt, stream)
            stream.flush()
            return
        tmp = out.with_name(out.name + ".partial")
        with tmp.open("wb") as handle:
            stream = paths.writer(handle)
            db.export(fmt, stream)
            stream.flush()
        tmp.replace(out)
    click.echo(f"the whole store ({fmt}) written to {out}", err=True)


@click.command()
@click.argument("record", required=False)
@store_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(set(STORE_FORMATS + RECORD_FORMATS))),
    default="turtle",
    show_default=True,
    help="Without RECORD: the whole store as turtle, jsonld, nt, nq or trig. With RECORD: "
    + ", ".join(RECORD_FORMATS)
    + " (turtle/jsonld: the record's PROV-O).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File (default stdout).")
@click.option("--policy", default="default", show_default=True, help="Review policy for the concluded license.")
@click.option("--no-review", is_flag=True, help="Leave the review verdict (concluded license) out.")
@click.option(
    "--base-url",
    default=None,
    help="Where the scanned folders are published (e.g. a repository URL): local paths become "
    "BASE-URL/<folder>/... instead of <folder>/...",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="SCAN|DATE",
    help="With RECORD: the record (and its review) as it was right after this scan, or after the last scan "
    "committed by this date or time (as in `provaudit review --as-of`).",
)
@record_limit_options
@_errors
def export(
    record: str | None,
    store: Path | None,
    fmt: str,
    out: Path | None,
    policy: str,
    no_review: bool,
    base_url: str | None,
    as_of: str | None,
) -> None:
    """Export the whole store as RDF, or one RECORD (id like dataset:squad, or a name) to a standard.

    \b
    umr           Unified Model Record YAML (mr: root)
    prov-jsonld   PROV-O JSON-LD of the record's revision (published @context)
    turtle        PROV-O Turtle of the same
    spdx3         SPDX 3.0.1 JSON-LD with the AI and Dataset profiles
    croissant     Croissant 1.1 JSON-LD with RAI fields and prov: lineage (datasets)
    model-card    Hugging Face model card README.md (models)
    dataset-card  Hugging Face dataset card README.md (datasets)
    cyclonedx     CycloneDX 1.6 ML-BOM
    """
    if record is None:
        if as_of is not None:
            raise InputError(None, "--as-of exports one record as it was: give RECORD (e.g. dataset:squad)")
        export_store_cli(store, fmt, out, base_url)
    else:
        export_record_cli(store, record, fmt, out, review=not no_review, policy=policy, base_url=base_url, as_of=as_of)


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@store_option
@click.option(
    "--format", "fmt", type=click.Choice(IMPORT_FORMATS), default=None, help="Skip detection (default: detected)."
)
@_errors
def import_(files: tuple[Path, ...], store: Path | None, fmt: str | None) -> None:
    """Read exports (any format `provaudit export` writes) back into the store, as one scan."""
    from provaudit.export.importer import import_files

    with _open(store, read_only=False) as db:
        result = import_files(db, list(files), fmt)
    for path, found in result.formats.items():
        click.echo(f"{path}: {found}")
    for record in result.records:
        click.echo(f"  {record.id}: {result.outcomes.get(record.id)}")
    click.echo(f"imported {len(result.records)} records in scan {result.scan.iri.rsplit('/', 1)[-1]}")


@click.command()
@click.option(
    "--out",
    "prefix",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Writes PREFIX.key (private, mode 0600) and PREFIX.pub.",
)
@click.option("--force", is_flag=True, help="Replace an existing key pair.")
@_errors
def keygen(prefix: Path, force: bool) -> None:
    """Make an Ed25519 key pair for signing attestations."""
    from provaudit.export.attest import keygen as make_keys
    from provaudit.export.attest import keyid, load_public

    private, public = make_keys(prefix, force=force)
    click.echo(f"private key: {private} (keep it secret)")
    click.echo(f"public key:  {public} (keyid {keyid(load_public(public, _warning))})")


@click.command()
@click.argument("artifacts", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--record", "record_ref", required=True, help="The record the artifacts are (id or name).")
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Private key (PREFIX.key from `provaudit keygen`).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Attestation file (default: <first artifact>.provenance.json).",
)
@store_option
@click.option("--policy", default="default", show_default=True, help="Review policy for the verdict.")
@click.option("--no-review", is_flag=True, help="Leave the review verdict out of the predicate.")
@_errors
def attach(
    artifacts: tuple[Path, ...],
    record_ref: str,
    key_path: Path,
    out: Path | None,
    store: Path | None,
    policy: str,
    no_review: bool,
) -> None:
    """Sign the record's provenance for ARTIFACTS: an in-toto statement in a DSSE envelope, beside them."""
    from provaudit.export.attest import attach as sign_artifacts

    with _open(store, read_only=True) as db:
        record = resolve_record(db, record_ref)
        verdict = None if no_review else review_for(db, record, policy)
        ctx = context_for(db, record, verdict)
    written = sign_artifacts(list(artifacts), ctx, key_path, out, warn=_warning)
    click.echo(f"{written}: {record.id} attested for {len(artifacts)} artifact(s)")


@click.command()
@click.argument("attestation", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("artifacts", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Public key (PREFIX.pub).",
)
@click.option(
    "--root",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Folder the subject names are looked up in (default: the attestation's folder); "
    "names with .. or absolute names are refused.",
)
@_errors
def verify(attestation: Path, artifacts: tuple[Path, ...], key_path: Path, root: Path | None) -> None:
    """Check an attestation: signature, each artifact's digest, and the record.

    ARTIFACTS default to the attestation's subjects, looked up beside it (or in --root). Exit 0 only
    when every check holds, 1 when one fails, 2 when a file cannot be read.
    """
    from provaudit.export.attest import load_public
    from provaudit.export.attest import verify as check

    result = check(attestation, list(artifacts), load_public(key_path, _warning), root)
    for item in result.checks:
        click.echo(f"{'ok  ' if item.ok else 'FAIL'} {item.name}: {item.message}")
    if not result.ok:
        failed = ", ".join(c.name for c in result.failed()) or "nothing was checked"
        click.echo(f"provaudit: verification failed: {failed}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(f"verified: {result.record.id if result.record else '?'}")


COMMANDS = (export, import_, keygen, attach, verify)
