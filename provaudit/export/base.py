"""What every exporter and importer shares: the export context and the portable view of a record.

Exports other than PROV carry what their standard has a place for (licenses, lineage, agents, file
digests, descriptive facts); importing one records what that file says, each value sourced to the file
and the field it was read from. PROV JSON-LD and Turtle carry the whole record with every source.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from provaudit.licenses.normalize import normalize
from provaudit.records.identity import record_iri
from provaudit.records.model import LicenseClaim, Record, Source
from provaudit.rules.authority import declared_claims
from provaudit.rules.report import RecordReview
from provaudit.store.base import RevisionInfo

TOOL = "provaudit"
SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"  # reproducible-builds convention: fixes every timestamp an export writes


@dataclass
class ExportContext:
    """Everything an exporter may use besides the record itself."""

    record: Record
    review: RecordReview | None = None
    revision: RevisionInfo | None = None  # the store revision the record is, when exported from a store
    stored: list[Any] | None = None  # the revision's triples as the store holds them (PROV exports use them)

    @property
    def created(self) -> datetime:
        """The document time: $SOURCE_DATE_EPOCH, else when the revision was generated, else now."""
        epoch = os.environ.get(SOURCE_DATE_EPOCH)
        if epoch and epoch.strip().isdigit():
            return datetime.fromtimestamp(int(epoch), UTC)
        if self.revision and self.revision.generated:
            return datetime.fromisoformat(self.revision.generated.replace("Z", "+00:00")).astimezone(UTC)
        return datetime.now(UTC).replace(microsecond=0)

    @property
    def created_text(self) -> str:
        return self.created.replace(microsecond=0).isoformat().replace("+00:00", "Z")

    @property
    def iri(self) -> str:
        return record_iri(self.record.id)


def import_source(fmt: str, file: str | None, field: str | None = None, line: int | None = None) -> Source:
    """Where an imported value was read: the export file, the field inside it, by the importer."""
    return Source(collector=f"import:{fmt}", file=file, field=field, line=line)


def claim_from(raw: str, source: Source, *, expression: str | None = None) -> LicenseClaim:
    """A license claim read from an imported document, normalized like a scanned one."""
    read = normalize(raw)
    return LicenseClaim(
        raw=raw,
        source=source,
        expression=expression or read.expression,
        method=read.method,
        confidence=read.confidence,
    )


def unique(values: Iterable[str]) -> list[str]:
    """Values in first-seen order, blanks and repeats dropped."""
    seen: dict[str, None] = {}
    for value in values:
        if value and value.strip() and value not in seen:
            seen[value] = None
    return list(seen)


def facts(record: Record, key: str) -> list[str]:
    return unique(f.value for f in record.facts if f.key == key)


def declared_expressions(record: Record) -> list[str]:
    """The distinct SPDX expressions the record's declared claims read as (unread claims left out)."""
    return unique(c.expression or "" for c in declared_claims(record.claims))


def declared_expression(record: Record) -> str | None:
    """All readable claims as one expression (AND: every declaration binds), None when none reads."""
    found = declared_expressions(record)
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    return " AND ".join(f"({e})" if " OR " in e else e for e in found)


def agents(record: Record, role: str) -> list[str]:
    return unique(a.name for a in record.agents if a.role == role)


def title(record: Record) -> str:
    return next(iter(facts(record, "title")), record.name)


def description(record: Record) -> str | None:
    """The declared description, else the summary section of the record's card."""
    found = facts(record, "description")
    if found:
        return found[0]
    card = record.fact("card")
    sections = card_sections(card) if card else {}
    return next((sections[h] for h in _SUMMARY_HEADINGS if h in sections), None)


_SUMMARY_HEADINGS = ("dataset summary", "model summary", "model description")
_EMPTY = re.compile(r"^\s*\[(more information needed|needs more information|n/a)\]\s*$", re.IGNORECASE)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def card_sections(text: str) -> dict[str, str]:
    """Heading (lower case) → the section's own text, up to the next heading of any level."""
    out: dict[str, str] = {}
    heading: str | None = None
    lines: list[str] = []
    fenced = False
    for line in [*text.splitlines(), "# end"]:
        fenced ^= line.strip().startswith("```")
        match = None if fenced else _HEADING.match(line)
        if match:
            if heading is not None:
                body = "\n".join(lines).strip()
                if body and not _EMPTY.match(body):
                    out.setdefault(heading, body)
            heading, lines = match.group(2).strip().lower(), []
        else:
            lines.append(line)
    return out


def dump_json(data: Any) -> bytes:
    """Stable JSON: sorted keys where order carries no meaning, two-space indent, final newline."""
    return (json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()


def short_name(record_id: str) -> str:
    """``dataset:squad`` → ``squad``: how UMR and cards name a record."""
    return record_id.split(":", 1)[1] if ":" in record_id else record_id
