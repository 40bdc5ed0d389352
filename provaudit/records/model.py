"""The record model: what provaudit knows about one dataset or model, each value with its source.

Collectors build :class:`Record` objects; the store turns them into PROV-O; review reads them back.
A record never holds a value copied from another record: lineage is kept as :class:`Upstream` links.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr


class Kind(StrEnum):
    DATASET = "dataset"
    MODEL = "model"
    FAMILY = "family"
    CODE = "code"  # a training/processing pipeline's source tree (git commit as version)
    PACKAGE = "package"  # an installed software distribution a pipeline used


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


class Relation(StrEnum):
    """How a record depends on an upstream one."""

    DERIVED_FROM = "derived_from"  # dataset built from a source dataset (source_datasets, DPI Derived from)
    TEXT_SOURCE = "text_source"  # DPI "Text Sources": where the raw text was taken from
    GENERATED_BY = "generated_by"  # synthetic data produced by a model (DPI "Model Generated")
    TRAINED_ON = "trained_on"  # model trained on a dataset (card `datasets`)
    TESTED_ON = "tested_on"  # model evaluated on a dataset (model-index)
    FINETUNE = "finetune"
    ADAPTER = "adapter"
    MERGE = "merge"
    MERGE_BASE = "merge_base"  # a merge recipe's `base_model`: the model the merged deltas are taken against
    QUANTIZED = "quantized"
    BASE_MODEL = "base_model"  # base_model without a declared relation
    USES = "uses"  # UMR relations.upstream, pipeline dependencies


# links from a model to the model it was made from: the base's terms bind the derivative
BASE_RELATIONS = frozenset(
    {
        Relation.FINETUNE,
        Relation.ADAPTER,
        Relation.MERGE,
        Relation.MERGE_BASE,
        Relation.QUANTIZED,
        Relation.BASE_MODEL,
    }
)


class Source(BaseModel):
    """Where a value was read: a file and field (with line when known) or a URL, by which collector."""

    model_config = ConfigDict(frozen=True)

    collector: str
    file: str | None = None
    field: str | None = None
    line: int | None = None
    url: str | None = None

    def describe(self) -> str:
        where = self.file or self.url or "?"
        if self.line:
            where += f":{self.line}"
        return f"{where} [{self.field}]" if self.field else where


class LicenseClaim(BaseModel):
    """A license as declared somewhere, kept as declared, with how provaudit reads it."""

    model_config = ConfigDict(frozen=True)

    raw: str
    source: Source
    expression: str | None = None  # normalized SPDX expression, None when it could not be read
    method: str = "unread"  # how it was normalized: hub-id, spdx, alias, name, text, unread
    confidence: float = 0.0
    name: str | None = None  # license_name for `other`
    link: str | None = None  # license_link


class Upstream(BaseModel):
    """A declared dependency on another record (by its id), never a copy of its values."""

    model_config = ConfigDict(frozen=True)

    target: str  # the record id it points at, e.g. "dataset:squad"
    raw: str  # as declared
    relation: Relation
    source: Source
    version: str | None = None  # version constraint, e.g. ">=1.0.0" in UMR
    # A link read from evidence rather than declared (adapter_config.json, config.json, the card's prose,
    # the repo name): kept apart so it never silently counts as declared. confidence is 0..1.
    inferred: bool = False
    confidence: float = 1.0
    evidence: str | None = None  # the words or value it was inferred from, e.g. "Finetuned from model: ..."


class AgentRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    role: str  # creator | publisher | annotator | author
    source: Source


class FileDigest(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str  # relative to the record's folder (or repo root)
    sha256: str | None = None
    size: int
    source: Source


class Fact(BaseModel):
    """Any other sourced value: title, homepage, citation, languages, version, description ..."""

    model_config = ConfigDict(frozen=True)

    key: str
    value: str
    source: Source


class Finding(BaseModel):
    rule: str  # stable id, e.g. PA001
    severity: Severity
    message: str
    source: Source | None = None
    fix: str | None = None
    evidence: list[str] = Field(default_factory=list)


_HASHABLE = ("claims", "upstream", "agents", "files", "facts")


class Record(BaseModel):
    """One dataset or model as observed by one or more collectors in one scan."""

    id: str  # "<kind>:<name>", e.g. "dataset:squad", "model:01-ai/Yi-34B"
    kind: Kind
    name: str
    location: str | None = None  # folder path or URL it was read from (not part of its content)
    version: str | None = None  # commit sha, fingerprint, checksum digest: what was scanned
    claims: list[LicenseClaim] = Field(default_factory=list)
    upstream: list[Upstream] = Field(default_factory=list)
    agents: list[AgentRef] = Field(default_factory=list)
    files: list[FileDigest] = Field(default_factory=list)
    facts: list[Fact] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    collectors: list[str] = Field(default_factory=list)

    _seen: set[object] = PrivateAttr(default_factory=set)

    def add(self, field: str, item: BaseModel) -> bool:
        """Append a claim, link, agent, file or fact unless the same one is there already."""
        items: list[Any] = getattr(self, field)
        if not self._seen:
            self._seen.update((name, x) for name in _HASHABLE for x in getattr(self, name))
        key = (field, item)
        if key in self._seen:
            return False
        self._seen.add(key)
        items.append(item)
        return True

    def fact(self, key: str) -> str | None:
        """First value of a fact, or None."""
        return next((f.value for f in self.facts if f.key == key), None)

    def content_digest(self) -> str:
        """Hash of everything observed (not where it was read from): equal content, equal revision."""
        payload = self.model_dump(mode="json", exclude={"location"})
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def merge(self, other: Record) -> None:
        """Add another collector's observation of the same real-world record, claims side by side."""
        if other.id != self.id:
            raise ValueError(f"cannot merge {other.id} into {self.id}")
        for name in _HASHABLE:
            for item in getattr(other, name):
                self.add(name, item)
        for name in ("findings", "collectors"):
            mine: list[Any] = getattr(self, name)
            mine.extend(item for item in getattr(other, name) if item not in mine)
        self.version = self.version or other.version
        self.location = self.location or other.location
