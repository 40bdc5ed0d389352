"""Reading Hugging Face card metadata into records: shared by the local and Hub collectors.

Cards are parsed with huggingface_hub's card-data classes (``DatasetCardData``/``ModelCardData``,
``ignore_metadata_errors=True`` so one bad field does not lose the rest); problems become findings
that name the file, the line and the field.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import DatasetCardData, ModelCardData

from provaudit import limits
from provaudit.collectors import _bounded
from provaudit.collectors.lineage_text import PROSE_LICENSE_CONFIDENCE, prose_licenses, tag_parent
from provaudit.licenses.normalize import normalize
from provaudit.records.identity import clean_name, record_id
from provaudit.records.model import (
    AgentRef,
    Fact,
    Finding,
    Kind,
    LicenseClaim,
    Record,
    Relation,
    Severity,
    Source,
    Upstream,
)
from provaudit.rules.authority import PROSE_FIELD

# huggingface_hub's own pattern for the front matter (repocard.REGEX_YAML_BLOCK)
_YAML_BLOCK = re.compile(r"^(\s*---[\r\n]+)([\S\s]*?)([\r\n]+---(\r\n|\n|$))")
# huggingface_hub logs card problems itself; provaudit reports them as findings instead
logging.getLogger("huggingface_hub.repocard_data").setLevel(logging.ERROR)
logging.getLogger("huggingface_hub.repocard").setLevel(logging.ERROR)

# libyaml when present: the pure-Python parser dominates scan time on large collections
YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RELATIONS = {
    "finetune": Relation.FINETUNE,
    "adapter": Relation.ADAPTER,
    "merge": Relation.MERGE,
    "quantized": Relation.QUANTIZED,
}
_NOT_SOURCES = {"original", "extended", "other", "unknown", ""}
_UNREAD = object()  # load_yaml: nothing read (a finding says why)


class CardReader:
    """Reads card files safely and turns their metadata into sourced values on a record."""

    def __init__(
        self,
        collector: str,
        max_bytes: int = _bounded.MAX_FILE_BYTES,
        *,
        root: Path | None = None,
        max_nesting: int = _bounded.MAX_NESTING,
        max_yaml_bytes: int = _bounded.MAX_YAML_BYTES,
        max_yaml_nodes: int = _bounded.MAX_YAML_NODES,
    ) -> None:
        self.collector = collector
        self.max_bytes = max_bytes
        # the folder no read may leave (a scan root); None: files handed over by a trusted cache
        self.root = root
        self.max_nesting = max_nesting
        self.max_yaml_bytes = max_yaml_bytes
        self.max_yaml_nodes = max_yaml_nodes
        self._lines: dict[str, dict[str, int]] = {}
        # the file line each card's Markdown body starts on (after the front matter)
        self.body_lines: dict[str, int] = {}

    def source(self, file: str | None, field: str | None = None, url: str | None = None) -> Source:
        line = self._lines.get(file or "", {}).get(field.split(".")[0]) if field else None
        return Source(collector=self.collector, file=file, field=field, line=line, url=url)

    def file_problem(
        self, rel: str, problem: str, severity: Severity = Severity.ERROR, fix: str | None = None
    ) -> Finding:
        """PA003: a file that cannot be read as the text it should be."""
        return Finding(
            rule="PA003",
            severity=severity,
            message=f"{rel}: {problem}",
            source=Source(collector=self.collector, file=rel),
            fix=fix,
        )

    def refused(self, rel: str, exc: _bounded.Refused) -> Finding:
        """The finding for a file or value that was not read (names the file and the limit or reason)."""
        finding = self.file_problem(rel, str(exc), Severity.ERROR if exc.rule != "PA040" else Severity.WARNING)
        finding.rule = exc.rule
        if "--max-" in str(exc):
            finding.fix = "raise the limit named in the message if this file really is metadata"
        return finding

    def read_text(self, path: Path, rel: str, findings: list[Finding]) -> str | None:
        """A text file's content, or None with a finding (outside the root, not a regular file, too
        large, binary, unreadable). Never opens a FIFO, device or socket; never reads past max_bytes."""
        rel = _bounded.escape(rel)
        try:
            data = _bounded.read_regular(path, root=self.root, max_bytes=self.max_bytes)
        except _bounded.Refused as exc:
            findings.append(self.refused(rel, exc))
            return None
        return self.decode(data, rel, findings)

    def decode(self, data: bytes, rel: str, findings: list[Finding]) -> str | None:
        if b"\x00" in data[:8192]:
            findings.append(self.file_problem(rel, "binary content where text was expected; not parsed"))
            return None
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            findings.append(
                self.file_problem(
                    rel,
                    f"not valid UTF-8 (byte {exc.start}); undecodable bytes replaced",
                    Severity.WARNING,
                    "save the file as UTF-8",
                )
            )
            return data.decode("utf-8", errors="replace")

    def load_json(self, path: Path, rel: str, findings: list[Finding]) -> Any:
        """Parse a JSON file; a malformed one becomes a finding naming file, line and column."""
        text = self.read_text(path, rel, findings)
        if text is None:
            return None
        try:
            return _bounded.loads_json(text, max_nesting=self.max_nesting)
        except _bounded.Refused as exc:
            findings.append(self.refused(_bounded.escape(rel), exc))
            return None
        except json.JSONDecodeError as exc:
            findings.append(
                Finding(
                    rule="PA004",
                    severity=Severity.ERROR,
                    message=f"{rel}:{exc.lineno}:{exc.colno}: malformed JSON: {exc.msg}",
                    source=Source(collector=self.collector, file=rel, line=exc.lineno),
                    fix="fix the JSON syntax (a validator such as `python -m json.tool` shows where)",
                )
            )
            return None

    def yaml_finding(self, rel: str, exc: yaml.YAMLError, line_offset: int) -> Finding:
        """A YAML error located where the broken construct starts (``context``) and where it broke."""
        problem_mark = getattr(exc, "problem_mark", None)
        context_mark = getattr(exc, "context_mark", None)
        mark = context_mark or problem_mark
        line = mark.line + 1 + line_offset if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        if context and problem_mark is not None:
            problem = f"{context} (line {line}): {problem} (line {problem_mark.line + 1 + line_offset})"
        where = f"{rel}:{line}" if line else rel
        return Finding(
            rule="PA001",
            severity=Severity.ERROR,
            message=f"{where}: malformed YAML metadata: {problem}",
            source=Source(collector=self.collector, file=rel, line=line),
            fix="fix the YAML front matter (between the --- lines) so that it parses",
        )

    def load_yaml(self, text: str, rel: str, findings: list[Finding], line_offset: int = 0) -> Any:
        """Parse YAML within the limits; ``_UNREAD`` with a finding when it does not parse or is refused.
        Duplicate keys are a finding each (the last value is the one kept, as YAML loaders do)."""
        try:
            data, duplicates = _bounded.load_yaml(
                text, max_bytes=self.max_yaml_bytes, max_nesting=self.max_nesting, max_nodes=self.max_yaml_nodes
            )
        except _bounded.Refused as exc:
            findings.append(self.refused(rel, exc))
            return _UNREAD
        except yaml.YAMLError as exc:
            findings.append(self.yaml_finding(rel, exc, line_offset))
            return _UNREAD
        for key, line in duplicates:
            findings.append(
                Finding(
                    rule="PA043",
                    severity=Severity.WARNING,
                    message=f"{rel}:{line + line_offset}: duplicate YAML key {key!r}; the last value is the one read",
                    source=Source(collector=self.collector, file=rel, line=line + line_offset),
                    fix="keep one value per key",
                )
            )
        return data

    def read_card(self, path: Path, rel: str, findings: list[Finding]) -> tuple[dict[str, Any] | None, str | None]:
        text = self.read_text(path, rel, findings)
        if text is None:
            return None, None
        return self.parse_card(text, rel, findings)

    def parse_card(self, text: str, rel: str, findings: list[Finding]) -> tuple[dict[str, Any] | None, str]:
        """(metadata dict or None, Markdown body). Broken YAML is a finding with the file line."""
        match = _YAML_BLOCK.search(text)
        if not match:
            findings.append(
                Finding(
                    rule="PA007",
                    severity=Severity.WARNING,
                    message=f"{rel}: card has no YAML metadata block",
                    source=Source(collector=self.collector, file=rel),
                    fix="add YAML front matter with at least `license:`",
                )
            )
            return None, text
        offset = match.group(1).count("\n")
        block = match.group(2)
        body = text[match.end() :]
        self.body_lines[rel] = text.count("\n", 0, match.end()) + 1
        data = self.load_yaml(block, rel, findings, offset)
        if data is _UNREAD:
            return None, body
        if data is None:
            data = {}
        if not isinstance(data, dict):
            findings.append(
                Finding(
                    rule="PA002",
                    severity=Severity.ERROR,
                    message=f"{rel}:{offset + 1}: YAML metadata is a {type(data).__name__}, not a mapping",
                    source=Source(collector=self.collector, file=rel, line=offset + 1),
                    fix="the front matter must be `key: value` pairs",
                )
            )
            return None, body
        lines: dict[str, int] = {}
        for number, line in enumerate(block.splitlines(), start=offset + 1):
            key = re.match(r"^([A-Za-z_][\w-]*)\s*:", line)
            if key:
                lines.setdefault(key.group(1), number)
        self._lines[rel] = lines
        return {str(k): v for k, v in data.items()}, body

    # --- claims -----------------------------------------------------------------------------

    def add_claim(
        self,
        record: Record,
        raw: Any,
        file: str | None,
        field: str,
        *,
        name: str | None = None,
        link: str | None = None,
        url: str | None = None,
    ) -> None:
        text = " ".join(str(raw).split()) if raw is not None else ""
        if not text:
            return
        source = self.source(file, field, url)
        if len(record.claims) >= limits.MAX_EXPRESSION_TERMS:  # a list of licences is an expression too
            fix = "declare the licences that apply, or raise --max-expression-terms if the list is real"
            _over_limit(record, source, "licences declared", limits.MAX_EXPRESSION_TERMS, "--max-expression-terms", fix)
            return
        read = normalize(text)
        expression, method, confidence = read.expression, read.method, read.confidence
        if expression is None and len(text) > 80 and method != "too-long":
            expression, method, confidence = _read_license_statement(text)
        too_long = read if read.method == "too-long" else None
        if text.lower() == "other" and name:
            named = normalize(name)
            too_long = named if named.method == "too-long" else too_long
            if named.expression and named.expression not in {"LicenseRef-provaudit-other"}:
                expression, method, confidence = named.expression, f"license_name:{named.method}", named.confidence
        claim = LicenseClaim(
            raw=text,
            source=source,
            expression=expression,
            method=method,
            confidence=confidence,
            name=name,
            link=link,
        )
        if not record.add("claims", claim):
            return
        if too_long is not None:
            record.findings.append(
                Finding(
                    rule="PA042",
                    severity=Severity.ERROR,
                    message=f"{source.describe()}: license string of {too_long.unread[0]}; not read",
                    source=source,
                    fix="declare the licences as a list, or raise --max-expression-terms if the expression is real",
                )
            )
        if expression is None and too_long is not read:
            record.findings.append(
                Finding(
                    rule="PA005",
                    severity=Severity.WARNING,
                    message=f"{source.describe()}: license string {text!r} is not a known license id or name",
                    source=source,
                    fix="use an SPDX id or a Hub license id (https://huggingface.co/docs/hub/repositories-licenses)",
                )
            )

    def read_manifest(self, record: Record, manifest: dict[str, Any], rel: str) -> None:
        """``hub_manifest.yaml``: the Hub's own tags for a repository (license:x, base_model:y)."""
        if manifest.get("licence") and str(manifest["licence"]).strip() not in {"<nil>", "null", "None"}:
            self.add_claim(record, manifest["licence"], rel, "licence")
        for tag in manifest.get("tags") or []:
            tag = str(tag)
            if tag.startswith("license:"):
                self.add_claim(record, tag.removeprefix("license:"), rel, "tags")
            elif parent := tag_parent(tag):
                target = record_id(Kind.MODEL, parent[0])
                if target != record.id:  # the packager tags the repo with its own parent
                    _add_upstream(record, target, tag, parent[1], self.source(rel, "tags"))
        owner = manifest.get("owned_by")
        if isinstance(owner, str) and owner:
            record.add("agents", AgentRef(name=owner, role="publisher", source=self.source(rel, "owned_by")))

    def read_prose(self, record: Record, body: str, rel: str | None) -> None:
        """Licence sentences of a card's body as claims at card-prose authority (field ``card_prose``, the
        file line, the sentence quoted): a stricter one counts beside the YAML, one fills a missing YAML."""
        first = self.body_lines.get(rel or "", 1)
        for found in prose_licenses(body, first):
            source = Source(collector=self.collector, file=rel, field=PROSE_FIELD, line=found.line)
            record.add(
                "claims",
                LicenseClaim(
                    raw=found.sentence,
                    source=source,
                    expression=found.expression,
                    method=f"prose:{found.method}",
                    confidence=PROSE_LICENSE_CONFIDENCE,
                ),
            )

    def read_dataset_infos(self, record: Record, path: Path, rel: str) -> None:
        """``dataset_infos.json`` (config → DatasetInfo) or ``dataset_info.json`` (one DatasetInfo).

        Read as plain JSON with ``DatasetInfo``'s field names (:mod:`provaudit.collectors.dataset_info_json`):
        importing ``datasets`` in every scan worker cost more than a tenth of the scan.
        """
        from provaudit.collectors.dataset_info_json import info_from_dict

        data = self.load_json(path, rel, record.findings)
        if not isinstance(data, dict):
            return
        configs = data if rel == "dataset_infos.json" else {"default": data}
        licenses: dict[str, list[str]] = {}
        # one fact per value, not one per config: most files repeat homepage, citation and version in
        # every config (a third of all facts were such copies); the source field names every config
        shared: dict[tuple[str, str], list[str]] = {}
        checksums: dict[str, Any] = {}
        for config, raw in sorted(configs.items()):
            if not isinstance(raw, dict):
                continue
            try:
                info = info_from_dict(raw)
            except (TypeError, ValueError, KeyError, RecursionError) as exc:
                record.findings.append(
                    Finding(
                        rule="PA004",
                        severity=Severity.WARNING,
                        message=f"{rel}: config {config!r} is not a valid DatasetInfo: {exc}",
                        source=Source(collector=self.collector, file=rel, field=config),
                    )
                )
                continue
            if info.license and info.license.strip():
                licenses.setdefault(info.license.strip(), []).append(config)
            for key, value in (("homepage", info.homepage), ("citation", info.citation)):
                if value and value.strip():
                    shared.setdefault((key, value.strip()), []).append(config)
            if info.version is not None and str(info.version) not in {"0.0.0", ""}:
                shared.setdefault(("dataset_version", str(info.version)), []).append(config)
            checksums.update({f"{config}:{k}": v for k, v in (info.download_checksums or {}).items()})
            if info.dataset_size:
                _add_fact(
                    record,
                    f"size_bytes[{config}]",
                    str(info.dataset_size),
                    Source(collector=self.collector, file=rel, field=f"{config}.dataset_size"),
                )
        for (key, value), config_names in shared.items():
            field = "version" if key == "dataset_version" else key
            _add_fact(
                record,
                key,
                value,
                Source(collector=self.collector, file=rel, field=f"{','.join(config_names)}.{field}"),
            )
        for license_text, config_names in licenses.items():
            field = "license" if len(configs) == 1 else f"{config_names[0]}.license"
            self.add_claim(record, license_text, rel, field)
        if checksums:
            blob = json.dumps(checksums, sort_keys=True, default=str).encode()
            record.version = record.version or f"checksums:sha256:{hashlib.sha256(blob).hexdigest()[:16]}"

    def read_license_file(self, record: Record, path: Path, rel: str) -> None:
        """A LICENSE/COPYING/NOTICE file: the licenses its text matches."""
        text = self.read_text(path, rel, record.findings)
        if text is None:
            return
        expression, confidence = _detect(text, rel)
        source = Source(collector=self.collector, file=rel, field="text")
        claim = LicenseClaim(
            raw=text.strip().splitlines()[0][:200] if text.strip() else "(empty file)",
            source=source,
            expression=expression,
            method="text",
            confidence=confidence,
        )
        record.add("claims", claim)
        if expression is None:
            record.findings.append(
                Finding(
                    rule="PA005",
                    severity=Severity.WARNING,
                    message=f"{rel}: no known license text recognized in this file",
                    source=source,
                    fix="check the file holds a license; custom terms should be named in the card's license_name",
                )
            )


_ACADEMIC = re.compile(r"\b(academic|non-?commercial)\s+(research|use|purposes?)\b|\bresearch purposes only\b", re.I)
_NO_COMMERCIAL = re.compile(
    r"\b(no|not|may not make any|without)\s+(make\s+any\s+)?commercial use\b|\bnon-?commercial\b", re.I
)


def _read_license_statement(text: str) -> tuple[str | None, str, float]:
    """A license written out as a sentence or paragraph: a known license text, else its use terms."""
    expression, confidence = _detect(text, "statement")
    if expression:
        return expression, "text", confidence
    if _ACADEMIC.search(text):
        return "LicenseRef-provaudit-academic-only", "statement", 0.6
    if _NO_COMMERCIAL.search(text):
        return "LicenseRef-provaudit-non-commercial", "statement", 0.6
    return None, "unread", 0.0


def _detect(text: str, rel: str) -> tuple[str | None, float]:
    try:
        from provaudit.licenses.detect import detect_text
    except ImportError:  # the text detector is optional while it is being built
        return None, 0.0
    detection = detect_text(text, file=rel)
    return detection.expression, detection.confidence


def license_link_path(link: str | None, repo_id: str) -> str | None:
    """The repo file a card's ``license_link`` names: a relative path, or a Hub URL into the same repo.

    ``LICENSE.md``, ``./MODEL_LICENSE`` and ``https://huggingface.co/<this repo>/blob/main/MODEL_LICENSE`` name
    a file of the repo; a URL elsewhere, an absolute path or one that leaves the repo (``..``) does not.
    """
    value = str(link or "").strip()
    if not value or value.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", value):
        return None
    if "://" in value:
        url = re.match(r"^https?://(?:www\.)?huggingface\.co/(.+?)/(?:blob|resolve|raw)/[^/]+/(.+)$", value)
        if not url or url.group(1).removeprefix("datasets/").casefold() != clean_name(repo_id).casefold():
            return None
        value = url.group(2)
    path = value.split("#", 1)[0].split("?", 1)[0].removeprefix("./")
    if not path or any(part in {"", ".", ".."} for part in path.split("/")):
        return None
    return path


def _over_limit(record: Record, source: Source, what: str, limit: int, flag: str, fix: str) -> None:
    """One PA042 per record and kind of list: past ``limit`` the rest of the list is not read."""
    if not any(f.rule == "PA042" and what in f.message for f in record.findings):
        message = f"{source.describe()}: more than {limit} {what} ({flag}); the rest are not read"
        record.findings.append(Finding(rule="PA042", severity=Severity.ERROR, message=message, source=source, fix=fix))


def _add_fact(record: Record, key: str, value: str, source: Source) -> None:
    record.add("facts", Fact(key=key, value=value, source=source))


def _add_upstream(record: Record, target: str, raw: str, relation: Relation, source: Source) -> None:
    """Link an upstream; past --max-upstreams links a finding says the rest were not read."""
    if len(record.upstream) >= limits.MAX_UPSTREAMS:
        fix = "name the upstreams that were really used, or raise --max-upstreams if the list is real"
        _over_limit(record, source, "upstream links", limits.MAX_UPSTREAMS, "--max-upstreams", fix)
        return
    record.add("upstream", Upstream(target=target, raw=raw, relation=relation, source=source))


def _links(value: Any) -> list[Any]:
    """A list of upstream names, cut one past --max-upstreams (so the finding is made, and no more is read)."""
    return _as_list(value)[: limits.MAX_UPSTREAMS + 1]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _validated(kind: Kind, metadata: dict[str, Any], rel: str | None, record: Record, collector: str) -> dict[str, Any]:
    """Pass the metadata through huggingface_hub's card-data class for its kind."""
    cls = ModelCardData if kind is Kind.MODEL else DatasetCardData
    try:
        # huggingface_hub leaves CardData.to_dict unannotated
        data = cls(**metadata, ignore_metadata_errors=True).to_dict()  # type: ignore[no-untyped-call]
    except Exception as exc:  # the card-data classes raise on shapes they cannot take
        record.findings.append(
            Finding(
                rule="PA002",
                severity=Severity.WARNING,
                message=f"{rel}: metadata rejected by huggingface_hub {cls.__name__}: {exc}",
                source=Source(collector=collector, file=rel),
            )
        )
        return metadata
    if kind is Kind.MODEL and metadata.get("model-index") and not data.get("model-index"):
        record.findings.append(
            Finding(
                rule="PA002",
                severity=Severity.WARNING,
                message=f"{rel}: `model-index` is not valid (huggingface_hub could not read its eval results)",
                source=Source(collector=collector, file=rel, field="model-index"),
                fix="every result needs task.type, dataset.type/name and metrics[].type/value",
            )
        )
    # to_dict drops keys whose value is None; keep the original order and keys
    return {**metadata, **{k: v for k, v in data.items() if k in metadata}}


def card_records_from_metadata(
    record: Record, metadata: dict[str, Any], rel: str | None, reader: CardReader, body: str | None
) -> None:
    """Fill a record from card metadata: license claims, upstream links, agents and facts."""
    meta = _validated(record.kind, metadata, rel, record, reader.collector) if metadata else {}
    src = reader.source
    license_name = meta.get("license_name")
    license_link = meta.get("license_link")
    for value in _as_list(meta.get("license")):
        reader.add_claim(
            record,
            value,
            rel,
            "license",
            name=str(license_name) if license_name else None,
            link=str(license_link) if license_link else None,
        )
    for key in ("licence", "licenses", "license_details"):
        for value in _as_list(meta.get(key)):
            reader.add_claim(record, value, rel, key)
    if "licence" in meta and "license" not in meta:
        record.findings.append(
            Finding(
                rule="PA006",
                severity=Severity.WARNING,
                message=f"{src(rel, 'licence').describe()}: misspelled key `licence`; the Hub reads `license`",
                source=src(rel, "licence"),
                fix="rename the key to `license`",
            )
        )
    for value in _links(meta.get("source_datasets")):
        raw = str(value).strip()
        _add_fact(record, "source_datasets", raw, src(rel, "source_datasets"))
        name = raw.split("|", 1)[1] if "|" in raw else raw
        if name.lower() in _NOT_SOURCES:
            continue
        # `other-flicker-30k`: a source named outside the Hub's ids — still a source whose terms bind
        # (Flickr30k's are non-commercial), so it is a link no Hub scan can complete
        target = f"source/{name.removeprefix('other-')}" if name.lower().startswith("other-") else name
        _add_upstream(record, record_id(Kind.DATASET, target), raw, Relation.DERIVED_FROM, src(rel, "source_datasets"))
    if record.kind is Kind.MODEL:
        for value in _links(meta.get("datasets")):
            if str(value).strip():
                _add_upstream(
                    record, record_id(Kind.DATASET, str(value)), str(value), Relation.TRAINED_ON, src(rel, "datasets")
                )
        bases = [str(b).strip() for b in _links(meta.get("base_model")) if str(b).strip()]
        declared = str(meta.get("base_model_relation") or "").lower()
        relation = _RELATIONS.get(declared) or (Relation.MERGE if len(bases) > 1 else Relation.BASE_MODEL)
        for base in bases:
            if base.startswith(("/", "./", "../", "~")) or re.match(r"^[A-Za-z]:\\", base):
                record.findings.append(
                    Finding(
                        rule="PA008",
                        severity=Severity.WARNING,
                        message=f"{src(rel, 'base_model').describe()}: base_model {base!r} is a local path",
                        source=src(rel, "base_model"),
                        fix="name the base model by its Hub repo id",
                    )
                )
                continue
            _add_upstream(record, record_id(Kind.MODEL, base), base, relation, src(rel, "base_model"))
        for entry in _as_list(meta.get("model-index")):
            for result in _as_list(entry.get("results") if isinstance(entry, dict) else None):
                dataset = result.get("dataset") if isinstance(result, dict) else None
                tested = dataset.get("type") or dataset.get("name") if isinstance(dataset, dict) else None
                if isinstance(tested, str) and tested.strip():
                    _add_upstream(
                        record, record_id(Kind.DATASET, tested), tested, Relation.TESTED_ON, src(rel, "model-index")
                    )
    for key, fact in (
        ("pretty_name", "title"),
        ("model_name", "title"),
        ("paperswithcode_id", "paperswithcode_id"),
        ("pipeline_tag", "pipeline_tag"),
        ("library_name", "library_name"),
    ):
        if meta.get(key):
            _add_fact(record, fact, str(meta[key]), src(rel, key))
    for key, fact in (
        ("language", "language"),
        ("task_categories", "task"),
        ("tags", "tag"),
        ("multilinguality", "multilinguality"),
        ("size_categories", "size_category"),
        ("annotations_creators", "annotations_creators"),
        ("language_creators", "language_creators"),
    ):
        for value in _as_list(meta.get(key)):
            if value is not None and str(value).strip():
                _add_fact(record, fact, str(value), src(rel, key))
    for key, role in (("model_creator", "creator"), ("creator", "creator"), ("author", "creator")):
        for value in _as_list(meta.get(key)):
            if isinstance(value, str) and value.strip():
                record.add("agents", AgentRef(name=value.strip(), role=role, source=src(rel, key)))
    if "/" in record.name and not record.name.startswith("gh__"):
        owner = clean_name(record.name).split("/")[0]
        record.add(
            "agents", AgentRef(name=owner, role="publisher", source=Source(collector=reader.collector, field="repo id"))
        )
    for tag in _as_list(meta.get("tags")):
        tag = str(tag).strip()
        if tag.startswith("license:"):
            reader.add_claim(record, tag.removeprefix("license:"), rel, "tags")
        elif record.kind is Kind.MODEL and (parent := tag_parent(tag)):
            target = record_id(Kind.MODEL, parent[0])
            if target != record.id and not parent[0].startswith(("/", "./", "../", "~")):
                _add_upstream(record, target, tag, parent[1], src(rel, "tags"))
    if body and body.strip():
        _add_fact(record, "card", body, src(rel, "body"))
        reader.read_prose(record, body, rel)
