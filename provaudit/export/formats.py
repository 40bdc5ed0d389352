"""Export one record to a standard: the format registry, record lookup and ``export_record``.

>>> from provaudit.api import open_store                        # doctest: +SKIP
>>> with open_store(read_only=True) as db:                      # doctest: +SKIP
...     data = export_record(db, "squad", "spdx3")
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass

from provaudit.errors import InputError
from provaudit.export.base import ExportContext
from provaudit.records.identity import clean_name, record_iri
from provaudit.records.model import Kind, Record
from provaudit.rules.report import RecordReview
from provaudit.store.base import RevisionInfo, Store


@dataclass(frozen=True)
class ExportFormat:
    name: str
    title: str
    suffix: str  # what `--out` defaults to end with
    media_type: str
    kinds: frozenset[Kind] | None  # None: any kind of record
    write: Callable[[ExportContext], bytes]


def _umr(ctx: ExportContext) -> bytes:
    from provaudit.export.umr import to_umr_yaml

    return to_umr_yaml(ctx.record, ctx.review).encode()


def _card(ctx: ExportContext) -> bytes:
    from provaudit.export.cards import render_card

    return render_card(ctx.record, ctx.review).encode()


def _prov_jsonld(ctx: ExportContext) -> bytes:
    from provaudit.export.prov import to_jsonld

    return to_jsonld(ctx)


def _turtle(ctx: ExportContext) -> bytes:
    from provaudit.export.prov import to_turtle

    return to_turtle(ctx)


def _spdx3(ctx: ExportContext) -> bytes:
    from provaudit.export.spdx3 import to_spdx3

    return to_spdx3(ctx)


def _croissant(ctx: ExportContext) -> bytes:
    from provaudit.export.croissant import to_croissant

    return to_croissant(ctx)


def _cyclonedx(ctx: ExportContext) -> bytes:
    from provaudit.export.cyclonedx import to_cyclonedx

    return to_cyclonedx(ctx)


_DATA = frozenset({Kind.DATASET})
_MODELS = frozenset({Kind.MODEL, Kind.FAMILY})

FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("umr", "Unified Model Record YAML (mr: root)", ".umr.yaml", "application/yaml", None, _umr),
        ExportFormat(
            "prov-jsonld",
            "PROV-O JSON-LD of the record's revision",
            ".prov.jsonld",
            "application/ld+json",
            None,
            _prov_jsonld,
        ),
        ExportFormat("turtle", "PROV-O Turtle of the record's revision", ".prov.ttl", "text/turtle", None, _turtle),
        ExportFormat(
            "spdx3", "SPDX 3.0.1 JSON-LD, AI and Dataset profiles", ".spdx3.json", "application/spdx+json", None, _spdx3
        ),
        ExportFormat(
            "croissant",
            "Croissant 1.1 JSON-LD with RAI fields",
            ".croissant.json",
            "application/ld+json",
            _DATA,
            _croissant,
        ),
        ExportFormat("model-card", "Hugging Face model card README.md", ".README.md", "text/markdown", _MODELS, _card),
        ExportFormat(
            "dataset-card", "Hugging Face dataset card README.md", ".README.md", "text/markdown", _DATA, _card
        ),
        ExportFormat(
            "cyclonedx", "CycloneDX 1.6 ML-BOM JSON", ".cdx.json", "application/vnd.cyclonedx+json", None, _cyclonedx
        ),
    )
}


def _sparql_string(text: str) -> str:
    return json.dumps(text)  # JSON string escapes are valid SPARQL string escapes


def resolve_record(store: Store, ref: str) -> Record:
    """A record by id (``dataset:squad``) or by name (``squad``, ``org/name``, a Hub URL)."""
    ref = ref.strip()
    kind, sep, _ = ref.partition(":")
    if sep and kind in {k.value for k in Kind}:
        record = store.record(ref)
        if record is not None:
            return record
        name = ref.split(":", 1)[1]
    else:
        name = clean_name(ref)
    rows = store.query(
        "SELECT DISTINCT ?id WHERE { ?r a prov:Entity ; dcterms:identifier ?id ; rdfs:label ?label . "
        "FILTER(!CONTAINS(STR(?r), '/rev/') && (LCASE(STR(?label)) = LCASE(" + _sparql_string(name) + ") || "
        "STRENDS(LCASE(STR(?label)), LCASE(" + _sparql_string("/" + name) + ")))) } ORDER BY ?id"
    ).rows
    ids = [row[0] for row in rows if row[0]]
    # an exact name beats a case-insensitive one, which beats the last part of an org/name
    exact = [i for i in ids if i.split(":", 1)[1] == name]
    folded = [i for i in ids if i.split(":", 1)[1].lower() == name.lower()]
    candidates = exact or folded or ids
    if sep and kind in {k.value for k in Kind}:
        candidates = [i for i in candidates if i.startswith(f"{kind}:")]
    if len(candidates) == 1:
        record = store.record(candidates[0])
        if record is not None:
            return record
    if len(candidates) > 1:
        raise InputError(None, f"{ref!r} names {len(candidates)} records: {', '.join(candidates)}; give the id instead")
    everything = [
        row[0] or ""
        for row in store.query(
            "SELECT DISTINCT ?id WHERE { ?r a prov:Entity ; dcterms:identifier ?id . "
            "FILTER(!CONTAINS(STR(?r), '/rev/')) }"
        ).rows
    ]
    names = {i.split(":", 1)[-1]: i for i in everything}
    close = difflib.get_close_matches(name, list(names), n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(names[c] for c in close)}?" if close else ""
    raise InputError(None, f"no record {ref!r} in the store (ids look like dataset:squad or model:org/name){hint}")


def context_for(
    store: Store, record: Record, review: RecordReview | None = None, *, base_url: str | None = None
) -> ExportContext:
    """The record with its store revision (when it is the current one) and generating scan.

    Local absolute paths are rewritten relative to the scanned roots (see provaudit.export.public_paths):
    every export and attestation is made from this context.
    """
    from provaudit.export.public_paths import PublicPaths

    digest = record.content_digest()
    revision: RevisionInfo | None = next((r for r in store.history(record.id) if r.digest == digest), None)
    stored = None
    if revision is not None:
        from provaudit.export.prov import stored_triples

        stored = stored_triples(store, record_iri(record.id), revision.iri, revision.scan)
    paths = PublicPaths.for_store(store, base_url)
    return ExportContext(
        record=paths.record(record),
        review=paths.model(review) if review is not None else None,
        revision=revision,
        stored=paths.triples(stored) if stored is not None else None,
    )


def check_kind(fmt: str, record: Record) -> ExportFormat:
    spec = FORMATS.get(fmt)
    if spec is None:
        raise InputError(None, f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if spec.kinds is not None and record.kind not in spec.kinds:
        fits = [f.name for f in FORMATS.values() if f.kinds is None or record.kind in f.kinds]
        raise InputError(
            None, f"{record.id} is a {record.kind.value}; {fmt} does not describe one (use {', '.join(fits)})"
        )
    return spec


def export_context(ctx: ExportContext, fmt: str) -> bytes:
    """Export an already resolved record (the site and `attach` use this)."""
    return check_kind(fmt, ctx.record).write(ctx)


def export_record(store: Store, record_ref: str, fmt: str, review: RecordReview | None = None) -> bytes:
    """One record of the store (by id or name) in a standard format, as the bytes of the file."""
    record = resolve_record(store, record_ref)
    spec = check_kind(fmt, record)
    if review is not None and review.id != record.id:
        raise InputError(None, f"the review is of {review.id}, not of {record.id}")
    return spec.write(context_for(store, record, review))
