"""Hugging Face model and dataset cards (``README.md``) from records, and records from cards.

The YAML block goes through huggingface_hub's ``ModelCardData``/``DatasetCardData`` with the key order
kept, so a card loads with ``ModelCard``/``DatasetCard`` and saves back unchanged, unknown keys
included. Hub keys carry what the Hub has keys for (license, datasets, base_model, source_datasets,
tags ...); the ``provaudit`` key carries the record id and the links the Hub has no key for. The body is
the record's own card text when it has one, else rendered from ``cards/{model,dataset}card.md.j2``.
Reading a card back is what a scan of it does (the card collector's code), sourced to the card file.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import DatasetCardData, ModelCardData
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from provaudit.collectors.cards import CardReader, card_records_from_metadata
from provaudit.errors import InputError
from provaudit.export.base import agents, description, facts, import_source, short_name, title, unique
from provaudit.export.umr import review_summary
from provaudit.licenses.normalize import normalize
from provaudit.records.identity import clean_name, folder_to_repo_id, record_id
from provaudit.records.model import BASE_RELATIONS, AgentRef, Finding, Kind, Record, Relation, Upstream
from provaudit.resources import resource
from provaudit.rules.authority import declared_claims
from provaudit.rules.report import RecordReview
from provaudit.site.urls import safe_url

# huggingface_hub dumps card data with PyYAML's default Dumper; the C one writes the same text
_CARD_DUMPER: type[yaml.Dumper] = getattr(yaml, "CDumper", yaml.Dumper)

BLOCK = "provaudit"  # the card key for what the Hub has no key for
_DECLARABLE = {"finetune", "adapter", "merge", "quantized"}  # base_model_relation values the Hub defines
_DATASET_KEYS = (
    ("annotations_creators", "annotations_creators"),
    ("language_creators", "language_creators"),
    ("language", "language"),
    ("multilinguality", "multilinguality"),
    ("size_categories", "size_category"),
    ("task_categories", "task"),
    ("tags", "tag"),
)


def _md(value: object) -> str:
    """Card text is Markdown rendered as HTML on the Hub: record values must not become markup."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(value: object) -> str:
    return _md(" ".join(str(value).split())).replace("|", "\\|")


@cache
def environment() -> Environment:
    """The card templates: ``cards/`` of the installation; autoescape for any HTML template there."""
    env = Environment(
        loader=FileSystemLoader(str(resource("cards"))),
        autoescape=select_autoescape(["html", "htm", "xml"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
    )
    env.filters["md"] = _md
    env.filters["cell"] = _cell
    env.filters["code"] = lambda v: str(v).replace("`", "'")
    env.filters["fence"] = lambda v: str(v).replace("```", "'''")
    env.filters["safe_url"] = safe_url
    return env


def _hub_license_values(record: Record) -> list[str]:
    """One value per distinct license: a Hub id as declared where there is one, else the raw value."""
    by_expression: dict[str, str] = {}
    unread: list[str] = []
    claims = declared_claims(record.claims)
    for claim in claims:
        if claim.method == "text":  # a LICENSE file's first line is no license id
            continue
        if claim.expression is None:
            unread.append(claim.raw)
        elif claim.expression not in by_expression or (
            normalize(claim.raw).method == "hub-id" and normalize(by_expression[claim.expression]).method != "hub-id"
        ):
            by_expression[claim.expression] = claim.raw
    for claim in claims:  # licenses read only from a LICENSE file: the expression itself
        if claim.method == "text" and claim.expression and claim.expression not in by_expression:
            by_expression[claim.expression] = claim.expression
    return unique([*by_expression.values(), *unread])


def _one_or_list(values: list[str]) -> str | list[str] | None:
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def card_metadata(record: Record, review: RecordReview | None = None) -> dict[str, Any]:
    """The YAML block of the card, in the order it is written."""
    meta: dict[str, Any] = {}
    carried: set[int] = set()
    is_model = record.kind is not Kind.DATASET
    # the Hub's own templates put license after language: the same order here
    if not is_model:
        for key, fact in _DATASET_KEYS[:3]:
            meta[key] = facts(record, fact) or None
    else:
        meta["language"] = facts(record, "language") or None
    meta["license"] = _one_or_list(_hub_license_values(record))
    names = unique(c.name or "" for c in record.claims)
    links = unique(c.link or "" for c in record.claims)
    meta["license_name"] = names[0] if names else None
    # the Hub renders license_link as a link: a javascript: or //host value is left out of the card
    meta["license_link"] = safe_url(links[0]) if links else None
    if is_model:
        meta["tags"] = facts(record, "tag") or None
        trained = [
            i
            for i, u in enumerate(record.upstream)
            if u.relation is Relation.TRAINED_ON and u.target.startswith("dataset:")
        ]
        meta["datasets"] = unique(short_name(record.upstream[i].target) for i in trained) or None
        bases = [
            i for i, u in enumerate(record.upstream) if u.relation in BASE_RELATIONS and u.target.startswith("model:")
        ]
        names = unique(short_name(record.upstream[i].target) for i in bases)
        relations = unique(record.upstream[i].relation.value for i in bases)
        # what the card collector reads back: the declared relation, else merge for several, else base_model
        implied = "merge" if len(names) > 1 else "base_model"
        if len(relations) == 1 and relations[0] in _DECLARABLE:
            meta["base_model"] = _one_or_list(names)
            meta["base_model_relation"] = relations[0]
            carried.update(bases)
        elif relations == [implied]:
            meta["base_model"] = _one_or_list(names)
            carried.update(bases)
        carried.update(trained)
        for key, fact in (("pipeline_tag", "pipeline_tag"), ("library_name", "library_name"), ("model_name", "title")):
            found = facts(record, fact)
            meta[key] = found[0] if found else None
        meta["model_creator"] = _one_or_list(agents(record, "creator"))
    else:
        for key, fact in _DATASET_KEYS[3:]:
            meta[key] = facts(record, fact) or None
        sources = facts(record, "source_datasets")
        covered = {record_id(Kind.DATASET, s.split("|", 1)[-1]) for s in sources}
        for i, u in enumerate(record.upstream):
            if u.relation is Relation.DERIVED_FROM and u.target.startswith("dataset:"):
                if u.target not in covered:
                    sources.append(short_name(u.target))
                    covered.add(u.target)
                carried.add(i)
        meta["source_datasets"] = sources or None
        for key, fact in (("paperswithcode_id", "paperswithcode_id"), ("pretty_name", "title")):
            found = facts(record, fact)
            meta[key] = found[0] if found else None
        meta["creator"] = _one_or_list(agents(record, "creator"))
    block: dict[str, Any] = {"record": record.id}
    if record.version:
        block["version"] = record.version
    owner = clean_name(record.name).split("/")[0] if "/" in record.name else None
    publishers = [p for p in agents(record, "publisher") if p != owner]
    if publishers:
        block["publishers"] = publishers
    others = [
        {"target": u.target, "relation": u.relation.value, **({"version": u.version} if u.version else {})}
        for i, u in enumerate(record.upstream)
        if i not in carried
    ]
    if others:
        block["upstream"] = [dict(t) for t in dict.fromkeys(tuple(o.items()) for o in others)]
    if review is not None:
        block["review"] = review_summary(review)
    meta[BLOCK] = block
    return {k: v for k, v in meta.items() if v is not None}


def render_body(record: Record, review: RecordReview | None = None) -> str:
    """The Markdown body from the card template of the record's kind."""
    template = "datasetcard.md.j2" if record.kind is Kind.DATASET else "modelcard.md.j2"
    citation = facts(record, "citation")
    homepage = facts(record, "homepage")
    pipeline = facts(record, "pipeline_tag")
    text = (
        environment()
        .get_template(template)
        .render(
            record=record,
            review=review,
            title=title(record),
            description=description(record),
            publishers=agents(record, "publisher"),
            creators=agents(record, "creator"),
            languages=facts(record, "language"),
            tasks=facts(record, "task"),
            pipeline_tag=pipeline[0] if pipeline else None,
            homepage=homepage[0] if homepage else None,
            citation=citation[0] if citation else None,
            licenses=record.claims,
            upstream=record.upstream,
        )
    )
    return "\n" + text.strip("\n") + "\n"


def render_card(record: Record, review: RecordReview | None = None) -> str:
    """The record as a Hugging Face card ``README.md`` (model card, or dataset card for datasets)."""
    meta = card_metadata(record, review)
    cls = DatasetCardData if record.kind is Kind.DATASET else ModelCardData
    data = cls(**meta, ignore_metadata_errors=True)
    body = record.fact("card")
    if body is None:
        body = render_body(record, review)
    # CardData.to_yaml's text, written by libyaml's emitter where PyYAML has it (its pure-Python emitter was
    # 17% of a site build): the card's fields first in ``meta``'s order, as to_yaml(original_order=...) does
    dumped = data.to_dict()  # type: ignore[no-untyped-call]  # huggingface_hub leaves it unannotated
    ordered = {k: dumped[k] for k in meta if k in dumped} | {k: v for k, v in dumped.items() if k not in meta}
    block = yaml.dump(ordered, Dumper=_CARD_DUMPER, sort_keys=False, allow_unicode=True).strip()
    return f"---\n{block}\n---\n{body}"


def read_card(text: str, file: str | None, fmt: str | None = None) -> Record:
    """A record of what a card says, read the way a scan reads it, sourced to the card file."""
    name = Path(file).name if file else "README.md"
    reader = CardReader(collector=f"import:{fmt or 'card'}")
    findings: list[Finding] = []
    metadata, body = reader.parse_card(text, name, findings)
    if metadata is None:
        raise InputError(file, "not a card with YAML metadata; nothing to import")
    block: dict[str, Any] = metadata[BLOCK] if isinstance(metadata.get(BLOCK), dict) else {}
    rid = block.get("record")
    if isinstance(rid, str) and ":" in rid:
        kind = Kind(rid.split(":", 1)[0])
        repo = rid.split(":", 1)[1]
    else:
        kind = Kind.DATASET if fmt == "dataset-card" else Kind.MODEL if fmt == "model-card" else _guess_kind(metadata)
        repo = folder_to_repo_id(Path(file).resolve().parent.name) if file else "unnamed"
    record = Record(
        id=record_id(kind, repo), kind=kind, name=repo, version=block.get("version"), collectors=[reader.collector]
    )
    card_records_from_metadata(record, metadata, name, reader, body)
    for publisher in block.get("publishers") or []:
        record.add("agents", AgentRef(name=str(publisher), role="publisher", source=reader.source(name, BLOCK)))
    for i, link in enumerate(block.get("upstream") or []):
        if isinstance(link, dict) and link.get("target") and link.get("relation"):
            record.add(
                "upstream",
                Upstream(
                    target=str(link["target"]),
                    raw=str(link["target"]),
                    relation=Relation(str(link["relation"])),
                    source=import_source(reader.collector.split(":", 1)[1], name, f"{BLOCK}.upstream[{i}]"),
                    version=link.get("version"),
                ),
            )
    record.findings[:0] = findings
    return record


def _guess_kind(metadata: dict[str, Any]) -> Kind:
    dataset_keys = {"source_datasets", "task_ids", "size_categories", "annotations_creators", "dataset_info"}
    return Kind.DATASET if dataset_keys & metadata.keys() else Kind.MODEL
