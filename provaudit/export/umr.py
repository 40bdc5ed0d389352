"""Unified Model Record YAML (the ``mr:`` root of modelrecords' repository) to and from records.

The UMR keys hold what UMR has a place for: ``type``, ``metadata`` (name, refs, description,
version, publisher, release_date, model_type) and ``relations.upstream`` as ``name`` or
``name>=1.0.0`` strings. What UMR has no key for goes under ``mr.provaudit``: the record id, the
declared licenses (raw and as SPDX), each upstream link's relation and, when given, the review verdict.
Other UMR sections of an imported record (``risk``, FMTI indicators ...) come back where they were.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from provaudit.errors import InputError
from provaudit.export.base import agents, claim_from, description, facts, import_source, short_name, title, unique
from provaudit.records.identity import record_id
from provaudit.records.model import AgentRef, Fact, Kind, Record, Relation, Upstream
from provaudit.rules.authority import PROSE_FIELD
from provaudit.rules.report import RecordReview

FMT = "umr"
_UMR_TYPES = {
    Kind.DATASET: "dataset",
    Kind.MODEL: "model",
    Kind.FAMILY: "family",
    Kind.CODE: "code",
    Kind.PACKAGE: "package",
}
_CONSTRAINT = re.compile(r"^\s*(?P<name>[^<>=!~\s]+)\s*(?P<version>(?:[<>=!~]=?|===?)\s*\S.*)?$")
_EXTRA = "umr:"  # facts that hold an imported UMR section verbatim (JSON), written back in place


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Block style, and multi-line strings as literal blocks so card-like text stays readable.

    libyaml's emitter when present: the pure-Python one dominated site builds (a UMR file per record).
    """


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def _upstream_entry(link: Upstream) -> str:
    name = short_name(link.target)
    if not link.version:
        return name
    version = link.version.strip()
    return f"{name}{version}" if version[0] in "<>=!~" else f"{name}=={version}"


def review_summary(review: RecordReview) -> dict[str, Any]:
    """The verdict in a few keys (the full evidence is `provaudit review --format json`)."""
    out: dict[str, Any] = {
        "effective_license": review.effective_license,
        "use": review.use.value,
        "attribution": review.attribution,
        "share_alike": review.share_alike,
        "no_derivatives": review.no_derivatives,
        "use_restrictions": review.use_restrictions,
        "complete": review.complete,
    }
    if review.unresolved:
        out["unresolved"] = [u.target for u in review.unresolved]
    if review.attribution_notices:
        out["attribution_notices"] = list(review.attribution_notices)
    findings = [f"{f.rule} {f.severity.value}: {f.message}" for f in review.findings]
    if findings:
        out["findings"] = findings
    return out


def to_umr(record: Record, review: RecordReview | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": title(record)}
    metadata["refs"] = unique(facts(record, "homepage") + facts(record, "ref")) or None
    metadata["description"] = description(record) or ""
    version = next(iter(facts(record, "version") + facts(record, "dataset_version")), None)
    if version:
        metadata["version"] = version
    publishers = agents(record, "publisher")
    if publishers:
        metadata["publisher"] = publishers[0]
    for key in ("release_date", "model_type"):
        found = facts(record, key)
        if found:
            metadata[key] = found[0]
    mr: dict[str, Any] = {
        "type": _UMR_TYPES[record.kind],
        "metadata": metadata,
        "relations": {"upstream": unique(_upstream_entry(u) for u in record.upstream) or None},
    }
    for fact in record.facts:
        if fact.key.startswith(_EXTRA) and fact.key[len(_EXTRA) :] not in mr:
            mr[fact.key[len(_EXTRA) :]] = json.loads(fact.value)
    block: dict[str, Any] = {"id": record.id}
    if record.version:
        block["version"] = record.version
    licenses = [
        {
            "raw": c.raw,
            "expression": c.expression,
            **({"license_name": c.name} if c.name else {}),
            **({"license_link": c.link} if c.link else {}),
            # a sentence of the card's body stays prose when read back (it never becomes the card's metadata)
            **({"source": PROSE_FIELD} if c.source.field == PROSE_FIELD else {}),
        }
        for c in record.claims
    ]
    if licenses:
        block["licenses"] = [dict(t) for t in dict.fromkeys(tuple(x.items()) for x in licenses)]
    links = [
        {
            "target": u.target,
            "relation": u.relation.value,
            **({"version": u.version} if u.version else {}),
            **({"inferred": True, "confidence": u.confidence} if u.inferred else {}),
        }
        for u in record.upstream
    ]
    if links:
        block["upstream"] = [dict(t) for t in dict.fromkeys(tuple(x.items()) for x in links)]
    if review is not None:
        block["review"] = review_summary(review)
    mr["provaudit"] = block
    return {"mr": mr}


def to_umr_yaml(record: Record, review: RecordReview | None = None) -> str:
    """The record as a UMR YAML document (what the site offers for download)."""
    return dump_yaml(to_umr(record, review))


def _guess_kind(name: str, file: Path | None, default: Kind) -> Kind:
    """An upstream's kind, read from its own UMR record beside this one (repository/<name>/*.yaml)."""
    if file is not None:
        folder = file.resolve().parent.parent / name
        for candidate in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            try:
                data = yaml.safe_load(candidate.read_text(encoding="utf-8"))
                kind = str(data["mr"]["type"])
                return Kind(kind) if kind in {k.value for k in Kind} else default
            except (OSError, yaml.YAMLError, KeyError, TypeError):
                continue
    return default


def from_umr(data: Any, file: str | None, path: Path | None = None) -> Record:
    """A record of what a UMR document says (a provaudit export or a modelrecords repository file)."""
    if not isinstance(data, dict) or not isinstance(data.get("mr"), dict):
        raise InputError(file, "not a UMR record: the document has no `mr:` mapping")
    mr: dict[str, Any] = data["mr"]
    meta: dict[str, Any] = mr["metadata"] if isinstance(mr.get("metadata"), dict) else {}
    block: dict[str, Any] = mr["provaudit"] if isinstance(mr.get("provaudit"), dict) else {}
    umr_type = str(mr.get("type") or "model")
    if umr_type not in {k.value for k in Kind}:
        raise InputError(file, f"UMR type {umr_type!r} is not one of {', '.join(k.value for k in Kind)}")
    kind = Kind(umr_type)
    stem = re.sub(r"-\d[\w.]*$", "", Path(file).name.split(".yaml")[0]) if file else None
    rid = str(block.get("id") or record_id(kind, stem or str(meta.get("name") or "unnamed")))
    if not rid.startswith(f"{kind.value}:"):
        raise InputError(file, f"mr.provaudit.id {rid!r} does not match mr.type {kind.value!r}")
    name = rid.split(":", 1)[1]
    record = Record(id=rid, kind=kind, name=name, version=block.get("version"), collectors=[f"import:{FMT}"])

    def src(field: str) -> Any:
        return import_source(FMT, Path(file).name if file else None, field)

    if meta.get("name") and str(meta["name"]) != name:
        record.add("facts", Fact(key="title", value=str(meta["name"]), source=src("mr.metadata.name")))
    for ref in meta.get("refs") or []:
        record.add("facts", Fact(key="ref", value=str(ref), source=src("mr.metadata.refs")))
    if meta.get("description"):
        record.add(
            "facts", Fact(key="description", value=str(meta["description"]), source=src("mr.metadata.description"))
        )
    for key, fact in (("version", "version"), ("release_date", "release_date"), ("model_type", "model_type")):
        if meta.get(key) not in (None, ""):
            record.add("facts", Fact(key=fact, value=str(meta[key]), source=src(f"mr.metadata.{key}")))
    if meta.get("publisher"):
        record.add(
            "agents", AgentRef(name=str(meta["publisher"]), role="publisher", source=src("mr.metadata.publisher"))
        )
    for i, claim in enumerate(block.get("licenses") or []):
        if isinstance(claim, dict) and claim.get("raw"):
            record.add(
                "claims",
                claim_from(
                    str(claim["raw"]),
                    src(PROSE_FIELD if claim.get("source") == PROSE_FIELD else f"mr.provaudit.licenses[{i}]"),
                    expression=claim.get("expression"),
                ),
            )
    declared: dict[str, dict[str, Any]] = {}
    for link in block.get("upstream") or []:
        if isinstance(link, dict) and link.get("target"):
            entry = _upstream_entry(
                Upstream(
                    target=str(link["target"]),
                    raw="",
                    relation=Relation.USES,
                    source=src(""),
                    version=link.get("version"),
                )
            )
            declared.setdefault(entry, link)
    relations: dict[str, Any] = mr["relations"] if isinstance(mr.get("relations"), dict) else {}
    # relations.upstream is the UMR field and governs; the provaudit block only adds what it cannot say
    for i, raw in enumerate(relations.get("upstream") or []):
        match = _CONSTRAINT.match(str(raw))
        if not match:
            continue
        link = declared.get(str(raw).strip())
        target_name, version = match.group("name"), (match.group("version") or "").replace(" ", "") or None
        if version and version.startswith("=="):
            version = version[2:]
        if link:
            target, relation = str(link["target"]), Relation(str(link.get("relation") or "uses"))
            version = link.get("version")
        else:
            target = record_id(_guess_kind(target_name, path, kind), target_name)
            relation = Relation.USES
        record.add(
            "upstream",
            Upstream(
                target=target,
                raw=str(raw),
                relation=relation,
                source=src(f"mr.relations.upstream[{i}]"),
                version=version,
            ),
        )
    for key, value in mr.items():
        if key not in {"type", "metadata", "relations", "provaudit"} and value is not None:
            record.add(
                "facts", Fact(key=_EXTRA + key, value=json.dumps(value, ensure_ascii=False), source=src(f"mr.{key}"))
            )
    return record
