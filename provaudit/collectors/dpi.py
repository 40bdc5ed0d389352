"""Data Provenance Initiative collection summaries (``data_summaries/<Collection>.json``).

Each file maps a DPI uid to a record with ``Licenses``, ``Derived from Datasets``, ``Model Generated``,
``Text Sources``, ``Creators`` and, under ``Inferred Metadata``, the licenses declared elsewhere
(``HF Yaml License``, ``HF Config License``, ``GitHub License``, ``PwC License Name``). Every one of
them becomes its own claim or link, sourced to the file, the record and the field.
"""

from __future__ import annotations

import os
import re
import stat
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from provaudit.collectors import _bounded
from provaudit.collectors.base import CollectOptions
from provaudit.collectors.cards import CardReader, _add_fact, _add_upstream
from provaudit.records.identity import clean_name, hub_target, record_id
from provaudit.records.model import AgentRef, Finding, Kind, Record, Relation, Severity, Source

COLLECTOR = "dpi"
# Inferred Metadata fields that declare a license, as DPI reads them
INFERRED_LICENSES = ("HF Yaml License", "HF Config License", "GitHub License", "PwC License Name")
# `Model Generated` values that name no model: the examples were filled into the creators' own templates
NOT_MODELS = frozenset({"templates", "template", "templated"})
_HF_DATASET = re.compile(r"huggingface\.co/datasets/([^?#\s]+)")


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def dpi_id(uid: str) -> str:
    """The id of a DPI record that is not a whole Hugging Face dataset."""
    return record_id(Kind.DATASET, f"dpi/{uid}")


def _hf_dataset(entry: dict[str, Any]) -> str | None:
    raw = entry.get("Inferred Metadata")
    inferred = raw if isinstance(raw, dict) else {}
    name = str(inferred.get("HF Dataset") or "").strip()
    if not name:
        match = _HF_DATASET.search(str(entry.get("Hugging Face URL") or ""))
        name = match.group(1) if match else ""
    return clean_name(name) or None


def _hf_identity(uid: str, entry: dict[str, Any]) -> str | None:
    """The Hub dataset this DPI record is as a whole (so a card of it merges), or None for a part of one."""
    hf = _hf_dataset(entry)
    if hf and _squash(uid) in {_squash(hf), _squash(hf.split("/")[-1])}:
        return record_id(Kind.DATASET, hf)
    return None


def looks_like_dpi(data: Any) -> bool:
    if not isinstance(data, dict) or not data:
        return False
    first = next(iter(data.values()))
    return isinstance(first, dict) and "Licenses" in first and ("Dataset Name" in first or "Collection" in first)


class DpiCollector:
    """DPI summaries: a JSON file, or a folder of them (the ``data_summaries/`` layout)."""

    name = COLLECTOR
    priority = 50

    def can_collect(self, target: str) -> bool:
        path = Path(target)
        if path.is_file():
            return path.suffix.lower() == ".json" and self._sniff(path)
        if path.is_dir():
            return any(self._sniff(p) for p in sorted(path.glob("*.json"))[:3] if not p.name.startswith("_"))
        return False

    @staticmethod
    def _sniff(path: Path) -> bool:
        # only a regular file is opened (a FIFO named *.json would block the open), without blocking
        try:
            if not stat.S_ISREG(path.stat().st_mode):
                return False
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
            try:
                head = os.read(fd, 4096).decode("utf-8", errors="replace")
            finally:
                os.close(fd)
        except OSError:
            return False
        return '"Licenses"' in head or '"Unique Dataset Identifier"' in head or '"Dataset Name"' in head

    def collect(self, target: str, options: CollectOptions) -> Iterator[Record]:
        path = Path(target)
        # a folder of summaries is a boundary (no symlink out of it is read); a file named on the command
        # line is read where it points
        files = [path] if path.is_file() else sorted(p for p in path.glob("*.json") if not p.name.startswith("_"))
        loaded: list[tuple[Path, str, dict[str, Any]]] = []
        broken: list[Record] = []
        reader = CardReader(
            collector=COLLECTOR,
            max_bytes=max(options.max_file_bytes, 64 * 1024 * 1024),
            root=None if path.is_file() else _bounded.boundary(path),
            max_nesting=options.max_nesting,
        )
        for file in files:
            findings: list[Finding] = []
            rel = _bounded.escape(file.name)
            data = reader.load_json(file, rel, findings)
            if not findings and not isinstance(data, dict):
                findings.append(
                    Finding(
                        rule="PA002",
                        severity=Severity.ERROR,
                        message=f"{rel}: a JSON {type(data).__name__}, not a DPI summary "
                        "(expected an object of uid → record); not read",
                        source=Source(collector=COLLECTOR, file=rel),
                    )
                )
            if findings:
                broken.append(_broken_file(file, findings))
                continue
            wrong = [str(uid) for uid, entry in data.items() if not isinstance(entry, dict)]
            for uid, entry in data.items():
                if isinstance(entry, dict):
                    loaded.append((file, str(uid), entry))
            if wrong:
                shown = ", ".join(repr(u) for u in wrong[:5]) + (
                    f" and {len(wrong) - 5} more" if len(wrong) > 5 else ""
                )
                broken.append(
                    _broken_file(
                        file,
                        [
                            Finding(
                                rule="PA002",
                                severity=Severity.ERROR,
                                message=f"{rel}: {len(wrong)} entries are not records (objects): {shown}; not read",
                                source=Source(collector=COLLECTOR, file=rel),
                            )
                        ],
                    )
                )
        # two DPI records that name the same Hub dataset are parts of it, not the dataset itself
        hub_ids = Counter(_hf_identity(uid, entry) for _, uid, entry in loaded)
        by_uid = {str(entry.get("Unique Dataset Identifier") or uid): (uid, entry) for _, uid, entry in loaded}
        for file, uid, entry in loaded:
            hub = _hf_identity(uid, entry)
            rid = hub if hub and hub_ids[hub] == 1 else dpi_id(uid)
            record = self._record(file, uid, entry, rid, reader, by_uid, hub_ids)
            if options.progress:
                options.progress(record.id)
            yield record
        yield from broken

    def _record(
        self,
        file: Path,
        uid: str,
        entry: dict[str, Any],
        rid: str,
        reader: CardReader,
        by_uid: dict[str, tuple[str, dict[str, Any]]],
        hub_ids: Counter[str | None],
    ) -> Record:
        rel = file.name
        record = Record(
            id=rid,
            kind=Kind.DATASET,
            name=rid.split(":", 1)[1],
            location=f"{file.resolve()}#{uid}",
            collectors=[COLLECTOR],
        )

        def src(field: str, url: str | None = None) -> Source:
            return Source(collector=COLLECTOR, file=rel, field=f"{uid}.{field}", url=url)

        licenses = entry.get("Licenses")
        # DPI's shape is a list of {"License", "License URL"}; other shapes are read as far as they go, and
        # said (a bare "MIT" string is still a declared license, not something to drop)
        items = licenses if isinstance(licenses, list) else [] if licenses in (None, "") else [licenses]
        if items is not licenses and licenses not in (None, ""):
            record.findings.append(_wrong_type(rel, uid, "Licenses", licenses, "a list of {License, License URL}"))
        for item in items:
            if isinstance(item, str | int | float) and not isinstance(item, bool):
                if items is licenses:
                    record.findings.append(_wrong_type(rel, uid, "Licenses[]", item, "{License, License URL}"))
                reader.add_claim(record, str(item), rel, f"{uid}.Licenses")
                continue
            if not isinstance(item, dict):
                record.findings.append(_wrong_type(rel, uid, "Licenses[]", item, "{License, License URL}"))
                continue
            name, url = _text(item.get("License")), _text(item.get("License URL")) or None
            if name:
                reader.add_claim(record, name, rel, f"{uid}.Licenses", url=url, link=url)
        raw = entry.get("Inferred Metadata")
        inferred = raw if isinstance(raw, dict) else {}
        for field in INFERRED_LICENSES:
            value = str(inferred.get(field) or "").strip()
            if value:
                reader.add_claim(record, value, rel, f"{uid}.Inferred Metadata.{field}")
        own_hub = _hf_dataset(entry)
        license_hubs = [
            clean_name(m.group(1))
            for item in items
            if isinstance(item, dict) and (m := _HF_DATASET.search(_text(item.get("License URL"))))
        ]
        for name in _strings(entry.get("Derived from Datasets")):
            if name.lower() in {"original", ""}:
                continue
            target = by_uid.get(name)
            up = _hf_identity(*target) if target else None
            named = _named_by_license_url(name, [h for h in license_hubs if h != own_hub]) if not target else None
            if target:
                target_id = up if up and hub_ids[up] == 1 else dpi_id(target[0])
            else:
                target_id = record_id(Kind.DATASET, named) if named else _derived_id(name)
            _add_upstream(record, target_id, name, Relation.DERIVED_FROM, src("Derived from Datasets"))
        for name in _strings(entry.get("Model Generated")):
            if name.lower() in NOT_MODELS:  # generated by the creators' own templates: no model, no model terms
                _add_fact(record, "generated_with", name, src("Model Generated"))
                continue
            _add_upstream(
                record, record_id(Kind.MODEL, f"dpi/{name}"), name, Relation.GENERATED_BY, src("Model Generated")
            )
        for name in _strings(entry.get("Text Sources")):
            _add_upstream(
                record, record_id(Kind.DATASET, f"source/{name}"), name, Relation.TEXT_SOURCE, src("Text Sources")
            )
        for name in _strings(entry.get("Creators")):
            record.add("agents", AgentRef(name=name, role="creator", source=src("Creators")))
        for key, fact in (
            ("Dataset Name", "title"),
            ("Collection", "collection"),
            ("Dataset URL", "homepage"),
            ("Hugging Face URL", "hf_url"),
            ("GitHub URL", "github_url"),
            ("Paper Title", "paper"),
            ("ArXiv URL", "arxiv_url"),
            ("License Notes", "license_notes"),
            ("License Verified By", "license_verified_by"),
            ("Bibtex", "citation"),
        ):
            given = entry.get(key)
            if isinstance(given, str | int | float) and str(given).strip():
                _add_fact(record, fact, str(given).strip(), src(key))
        for key, fact in (("Languages", "language"), ("Task Categories", "task"), ("Format", "format")):
            for value in _strings(entry.get(key)):
                _add_fact(record, fact, value, src(key))
        hf = _hf_dataset(entry)
        if hf:
            _add_fact(record, "hf_dataset", hf, src("Inferred Metadata.HF Dataset"))
        uid_field = entry.get("Unique Dataset Identifier")
        if uid_field is not None and str(uid_field) != uid:
            record.findings.append(
                Finding(
                    rule="PA030",
                    severity=Severity.WARNING,
                    message=f"{rel}: record key {uid!r} differs from its Unique Dataset Identifier {uid_field!r}",
                    source=src("Unique Dataset Identifier"),
                )
            )
        return record


def _text(value: Any) -> str:
    """A scalar field as stripped text; a container is no text (its str() would be a fake value)."""
    return str(value).strip() if isinstance(value, str | int | float) and not isinstance(value, bool) else ""


def _wrong_type(rel: str, uid: str, field: str, value: Any, expected: str) -> Finding:
    return Finding(
        rule="PA002",
        severity=Severity.WARNING,
        message=f"{rel}: {uid}.{field} is a {type(value).__name__} ({str(value)[:60]!r}), expected {expected}",
        source=Source(collector=COLLECTOR, file=rel, field=f"{uid}.{field}"),
        fix="use the DPI summary's shape for this field",
    )


def _broken_file(file: Path, findings: list[Finding]) -> Record:
    """The record of a summary file (or its part) that could not be read as records, holding why."""
    record = Record(
        id=dpi_id(f"file/{_bounded.escape(file.stem)}"),
        kind=Kind.DATASET,
        name=_bounded.escape(file.stem),
        location=_bounded.escape(file.resolve()),
        collectors=[COLLECTOR],
    )
    record.findings += findings
    return record


def _named_by_license_url(name: str, hubs: list[str]) -> str | None:
    """DPI's own alias: the Hub dataset a record's `Licenses` URL points to, when the `Derived from` name is
    that dataset's name, a word of it ("arc" → allenai/ai2_arc) or its initials ("genetic association
    database" → bigbio/gad). The annotators linked that dataset's licence to this record, naming it."""
    key = _squash(name)
    words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]
    initials = "".join(w[0] for w in words) if len(words) >= 2 else ""
    found = []
    for hub in hubs:
        last = hub.rsplit("/", 1)[-1].lower()
        parts = [p for p in re.split(r"[^a-z0-9]+", last) if p]
        if key and (key == _squash(last) or key in parts or (initials and initials == _squash(last))):
            found.append(hub)
    return found[0] if len(set(found)) == 1 else None


def _derived_id(name: str) -> str:
    """The id of a `Derived from Datasets` name that is no DPI uid: a Hub id where it reads as one
    ("snli", "allenai/c4", a Hub URL), so a scan or `provaudit resolve` of the Hub can complete it;
    otherwise a name in DPI's namespace ("common crawl"), which no command can fetch."""
    hub = record_id(Kind.DATASET, name)
    return hub if hub_target(hub) else dpi_id(name)


def _strings(value: Any) -> list[str]:
    """A DPI list field as strings (fields change type between records: str, int, list)."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in items if v is not None and str(v).strip()]
