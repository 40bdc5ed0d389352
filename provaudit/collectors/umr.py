"""Unified Model Records: the public ``mr:`` YAML format of modelrecords/modelrecords.

A record lives at ``<repository>/<pkg>/<pkg>-<version>.yaml``::

    mr:
      type: model            # model | dataset | family
      metadata: {name, refs, description, version, publisher, release_date, model_type, ...}
      relations:
        upstream: [bloom>=1.0.0, xp3]   # other packages, optionally with a version constraint
      risk: {nsfw: true, ...}
      model: {...}  downstream: {...}  upstream: {...}   # FMTI 2023 answers and free-text lists

Targets: one such file, or a folder tree of them (a whole repository: the newest version of each package).
Upstream packages are looked up in the same repository to learn their kind; the record links to them
(never merges their fields, unlike the UMR site generator).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from provaudit.collectors import _bounded
from provaudit.collectors.base import CollectOptions
from provaudit.collectors.cards import _UNREAD, CardReader
from provaudit.records.identity import clean_name, record_id
from provaudit.records.model import (
    AgentRef,
    Fact,
    Finding,
    Kind,
    Record,
    Relation,
    Severity,
    Source,
    Upstream,
)

COLLECTOR = "umr"
_SUFFIXES = {".yaml", ".yml"}
_ROOT = re.compile(r"^mr:\s*(#.*)?$", re.MULTILINE)
_CONSTRAINT = re.compile(r"^(?P<pkg>.+?)\s*(?P<op>>=|==|<=)\s*(?P<ver>\S+)$")
_SEMVER = re.compile(r"^\d+(\.\d+){0,2}([-+.].*)?$")
_KINDS = {"model": Kind.MODEL, "dataset": Kind.DATASET, "family": Kind.FAMILY}
_FMTI_SECTIONS = ("model", "downstream", "upstream")


def is_umr_file(path: Path) -> bool:
    """A YAML file whose root key is ``mr:`` (read from its first 64 KiB; a FIFO or device is not opened)."""
    if path.suffix.lower() not in _SUFFIXES:
        return False
    try:
        head = _bounded.read_head(path, 65536).decode("utf-8", errors="replace")
    except (OSError, _bounded.Refused):
        return False
    return bool(_ROOT.search(head))


def find_umr_files(root: Path, depth: int = 3, *, bound: Path | None = None) -> list[Path]:
    """UMR files under root (``<pkg>/<pkg>-<version>.yaml`` and loose ones), sorted.

    A ``.yaml`` entry that is no regular file inside ``bound`` (a symlink out, a FIFO, a device, a link
    loop) is listed too, so reading it turns it into a record with a finding instead of dropping it.
    """
    found: list[Path] = []
    try:
        children = sorted(root.iterdir())
    except OSError:
        return found
    for child in children:
        if child.name.startswith((".", "_")):  # `_refs/`, `.git/`: not records
            continue
        try:
            info = child.lstat()
            real = Path(os.path.realpath(child)) if stat.S_ISLNK(info.st_mode) else child
            inside = bound is None or real == bound or bound in real.parents or not stat.S_ISLNK(info.st_mode)
            target = os.stat(child) if inside else info
        except OSError:  # a dangling link or a loop: read (and reported) as a file if it is named like one
            inside, target = True, None
        if child.suffix.lower() in _SUFFIXES and (target is None or not stat.S_ISDIR(target.st_mode)):
            if target is None or not inside or not stat.S_ISREG(target.st_mode) or is_umr_file(child):
                found.append(child)
        elif target is not None and stat.S_ISDIR(target.st_mode) and inside and depth > 1:
            found.extend(find_umr_files(child, depth - 1, bound=bound))
    return found


def split_package(stem: str) -> tuple[str, str | None]:
    """``bloom-1b7-1.0.0`` → (``bloom-1b7``, ``1.0.0``); the version is the part after the last dash."""
    if "-" in stem:
        pkg, version = stem.rsplit("-", 1)
        if _SEMVER.match(version):
            return pkg, version
    return stem, None


def _version_key(version: str | None) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version or "0")[:3])


@dataclass
class _Entry:
    pkg: str
    version: str | None
    path: Path
    kind: Kind | None  # None until read (or unreadable)


class _Repository:
    """The UMR files reachable from a scan: package → versions, to resolve upstream references."""

    def __init__(self, files: list[Path], reader: CardReader) -> None:
        self.packages: dict[str, list[_Entry]] = {}
        for path in files:
            pkg, version = split_package(path.stem)
            self.packages.setdefault(pkg, []).append(_Entry(pkg, version, path, _peek_kind(path, reader)))
        for entries in self.packages.values():
            entries.sort(key=lambda e: _version_key(e.version))

    def latest(self) -> list[_Entry]:
        return [entries[-1] for _, entries in sorted(self.packages.items())]


def _peek_kind(path: Path, reader: CardReader) -> Kind | None:
    """The kind a UMR file declares, read within the reader's limits (None when it cannot be read)."""
    text = reader.read_text(path, path.name, [])
    data = reader.load_yaml(text, path.name, []) if text is not None else None
    mr = data.get("mr") if isinstance(data, dict) else None
    kind = mr.get("type") if isinstance(mr, dict) else None
    return _KINDS.get(str(kind).strip().lower()) if kind else Kind.MODEL if isinstance(mr, dict) else None


class UmrCollector:
    """Unified Model Record YAML files (``mr:`` root)."""

    name = COLLECTOR
    priority = 15  # above the local collector (10), which claims every folder

    def can_collect(self, target: str) -> bool:
        path = Path(target)
        if path.is_file():
            return is_umr_file(path)
        if not path.is_dir():
            return False
        from provaudit.collectors.local import find_record_folders

        # a folder that also holds Hugging Face card folders is the local collector's (checked first: it is lazy)
        return next(iter(find_record_folders(path)), None) is None and bool(find_umr_files(path))

    def collect(self, target: str, options: CollectOptions) -> Iterator[Record]:
        path = Path(target)
        if path.is_file():
            pkg, _ = split_package(path.stem)
            # the repository layout is <root>/<pkg>/<pkg>-<version>.yaml: look for upstreams beside it
            root = path.parent.parent if path.parent.name == pkg else path.parent
            bound = _bounded.boundary(root)
            reader = _reader(options, bound)
            repo = _Repository(find_umr_files(root, bound=bound), reader)
            entries = [_Entry(pkg, split_package(path.stem)[1], path, _peek_kind(path, reader))]
            base = path.parent
        else:
            root = base = path
            bound = _bounded.boundary(path)
            reader = _reader(options, bound)
            repo = _Repository(find_umr_files(path, bound=bound), reader)
            entries = repo.latest()
        for entry in entries:
            record = read_record(entry.path, _rel(entry.path, base), reader, repo, root)
            if options.progress:
                options.progress(record.id)
            yield record


def _reader(options: CollectOptions, bound: Path) -> CardReader:
    """Reads UMR files within the scan's limits, never out of the scanned folder."""
    return CardReader(
        collector=COLLECTOR,
        max_bytes=options.max_file_bytes,
        root=bound,
        max_nesting=options.max_nesting,
        max_yaml_bytes=max(options.max_yaml_bytes, options.max_file_bytes),  # a UMR file is all YAML
    )


def _rel(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.name


# --- one record -------------------------------------------------------------------------------------


class _Lines:
    """Line numbers of YAML keys by dotted path (``mr.metadata.publisher`` → 7)."""

    def __init__(self, text: str) -> None:
        self.lines: dict[str, int] = {}
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            return
        self._walk(node, "")

    def _walk(self, node: Any, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                path = f"{prefix}.{key.value}" if prefix else str(key.value)
                self.lines.setdefault(path, key.start_mark.line + 1)
                self._walk(value, path)

    def get(self, path: str) -> int | None:
        return self.lines.get(path)


def read_record(path: Path, rel: str, reader: CardReader, repo: _Repository, root: Path) -> Record:
    """Read one UMR file; problems become findings on the record, never exceptions."""
    pkg, version = split_package(path.stem)
    findings: list[Finding] = []
    text = reader.read_text(path, rel, findings)
    data: Any = None
    if text is not None:
        before = len(findings)
        data = reader.load_yaml(text, rel, findings)
        data = None if data is _UNREAD else data
        for i in range(before, len(findings)):
            if findings[i].rule == "PA001":
                findings[i] = findings[i].model_copy(
                    update={"fix": "fix the YAML syntax of the record so that it parses"}
                )
    mr = data.get("mr") if isinstance(data, dict) else None
    lines = _Lines(
        text if text is not None and isinstance(data, dict) else ""
    )  # composed again only once it parsed within the limits

    def src(field: str) -> Source:
        return Source(collector=COLLECTOR, file=rel, field=field, line=lines.get(f"mr.{field}"))

    if text is not None and data is not None and not isinstance(mr, dict):
        findings.append(
            Finding(
                rule="PA002",
                severity=Severity.ERROR,
                message=f"{rel}: not a Unified Model Record: no `mr:` mapping at the root",
                source=Source(collector=COLLECTOR, file=rel),
                fix="a UMR file is `mr:` with `type`, `metadata` and `relations` under it",
            )
        )
    mr = mr if isinstance(mr, dict) else {}
    declared = str(mr.get("type") or "").strip().lower()
    kind = _KINDS.get(declared, Kind.MODEL)
    if mr and declared not in _KINDS:
        problem = f"`type` is {mr['type']!r}, not model, dataset or family" if declared else "no `type`"
        findings.append(
            Finding(
                rule="PA002",
                severity=Severity.WARNING if declared else Severity.INFO,
                message=f"{rel}: {problem}; read as a model",
                source=src("type") if declared else Source(collector=COLLECTOR, file=rel),
                fix="set `type:` to model, dataset or family",
            )
        )
    record = Record(
        id=record_id(kind, pkg),
        kind=kind,
        name=pkg,
        location=str(path.resolve()),
        version=version,
        collectors=[COLLECTOR],
    )
    record.findings.extend(findings)
    metadata: dict[str, Any] = mr["metadata"] if isinstance(mr.get("metadata"), dict) else {}
    _read_metadata(record, metadata, src, reader, rel)
    for key in ("license", "licenses"):  # not in the published schema; read when a record adds one
        for value in _as_list(mr.get(key)):
            reader.add_claim(record, value, rel, key)
    relations: dict[str, Any] = mr["relations"] if isinstance(mr.get("relations"), dict) else {}
    for raw in _as_list(relations.get("upstream")):
        _read_upstream(record, raw, src("relations.upstream"), repo, root)
    risk = mr.get("risk")
    if isinstance(risk, dict):
        for key, value in risk.items():
            if value is not None:
                _fact(record, f"risk:{key}", _text(value), src(f"risk.{key}"))
    for value in _as_list(mr.get("question_sets")):
        _fact(record, "question_set", _text(value), src("question_sets"))
    for section in _FMTI_SECTIONS:
        if isinstance(mr.get(section), dict):
            _read_section(record, mr[section], section, src)
    return record


def _read_metadata(record: Record, metadata: dict[str, Any], src: Any, reader: CardReader, rel: str) -> None:
    for key, fact in (
        ("name", "title"),
        ("description", "description"),
        ("version", "umr_version"),
        ("release_date", "release_date"),
        ("model_type", "model_type"),
    ):
        value = metadata.get(key)
        if value is not None and _text(value).strip():
            _fact(record, fact, _text(value).strip(), src(f"metadata.{key}"))
    for value in _as_list(metadata.get("refs")):
        if value is not None and _text(value).strip():
            _fact(record, "ref", _text(value).strip(), src("metadata.refs"))
    for value in _as_list(metadata.get("tags")):
        if value is not None:
            _fact(record, "tag", _text(value), src("metadata.tags"))
    for key, role in (("publisher", "publisher"), ("authors", "author"), ("author", "author"), ("creator", "creator")):
        for value in _as_list(metadata.get(key)):
            name = value.get("name") if isinstance(value, dict) else value
            if isinstance(name, str) and name.strip():
                record.add("agents", AgentRef(name=name.strip(), role=role, source=src(f"metadata.{key}")))
    for key in ("license", "licenses"):
        for value in _as_list(metadata.get(key)):
            reader.add_claim(record, value, rel, f"metadata.{key}")


def _read_section(record: Record, section: dict[str, Any], prefix: str, src: Any) -> None:
    """FMTI answers (0/1 per indicator) and the free-text lists (intended_use, training_data, ...)."""
    for key, value in section.items():
        field = f"{prefix}.{key}"
        if isinstance(value, bool | int | float):
            _fact(record, f"fmti:{field}", _text(value), src(field))
        elif isinstance(value, dict):
            _read_section(record, value, field, src)
        else:
            fact = "ref" if key == "refs" else key
            for item in _as_list(value):
                if item is not None and _text(item).strip():
                    _fact(record, fact, _text(item).strip(), src(field))


def _read_upstream(record: Record, raw: Any, source: Source, repo: _Repository, root: Path) -> None:
    text = _text(raw).strip() if raw is not None else ""
    if not text:
        return
    if text.startswith(("http://", "https://", "hf://")):
        hub_kind = Kind.DATASET if "/datasets/" in text else Kind.MODEL
        record.add(
            "upstream",
            Upstream(target=record_id(hub_kind, clean_name(text)), raw=text, relation=Relation.USES, source=source),
        )
        return
    match = _CONSTRAINT.match(text)
    constraint: str | None
    if match:
        pkg, constraint = match["pkg"].strip(), f"{match['op']}{match['ver']}"
    else:
        pkg, pinned = split_package(text)
        constraint = f"=={pinned}" if pinned else None
    entries = repo.packages.get(pkg, [])
    kind: Kind | None = next((e.kind for e in reversed(entries) if e.kind), None)
    if not entries:
        kind = Kind.DATASET if record.kind is Kind.DATASET else Kind.MODEL
        record.findings.append(
            Finding(
                rule="PA025",
                severity=Severity.WARNING,
                message=(
                    f"{source.describe()}: upstream {text!r} names package {pkg!r}, which is not in the repository "
                    f"at {root}; linked as {kind.value}:{pkg}"
                ),
                source=source,
                fix=f"add {pkg}/{pkg}-<version>.yaml to the repository, or fix the package name",
            )
        )
    elif constraint and not any(_satisfies(e.version, constraint) for e in entries):
        versions = ", ".join(e.version or "?" for e in entries)
        record.findings.append(
            Finding(
                rule="PA026",
                severity=Severity.WARNING,
                message=f"{source.describe()}: no version of {pkg!r} ({versions}) satisfies {constraint!r}",
                source=source,
                fix="relax the version constraint or add the required version of the upstream record",
            )
        )
    target = record_id(kind or Kind.MODEL, pkg)
    if target == record.id:
        return
    record.add("upstream", Upstream(target=target, raw=text, relation=Relation.USES, source=source, version=constraint))


def _satisfies(version: str | None, constraint: str) -> bool:
    op, wanted = constraint[:2], constraint[2:]
    have, want = _version_key(version), _version_key(wanted)
    width = max(len(have), len(want), 3)
    have, want = have + (0,) * (width - len(have)), want + (0,) * (width - len(want))
    return {">=": have >= want, "<=": have <= want, "==": have == want}[op]


def _fact(record: Record, key: str, value: str, source: Source) -> None:
    record.add("facts", Fact(key=key, value=value, source=source))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
