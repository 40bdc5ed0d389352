"""Local folders of Hugging Face dataset and model repositories.

A *record folder* holds a card (``README.md`` with YAML front matter), and optionally
``dataset_infos.json`` / ``dataset_info.json`` (``datasets``' DatasetInfo), ``hub_manifest.yaml``
(the Hub's tags for the repo) and LICENSE/COPYING/NOTICE files. A scan target is either one record
folder or a collection: a folder whose sub-folders (at any depth up to 4) are record folders; a
collection's own README describes it and is no card.

The scan target is a boundary: no symlink that resolves outside it is followed, only regular files
are read, and every read is bounded (``provaudit.collectors._bounded``); every file or folder left out
is a finding naming it and the reason.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from provaudit import limits
from provaudit.collectors import _bounded, basemodel
from provaudit.collectors.base import CollectOptions
from provaudit.collectors.cards import CardReader, card_records_from_metadata, license_link_path
from provaudit.errors import file_kind
from provaudit.records.identity import folder_to_repo_id, record_id
from provaudit.records.model import FileDigest, Finding, Kind, Record, Severity, Source

CARD_NAMES = ("README.md", "readme.md", "README.MD")
INFO_NAMES = ("dataset_infos.json", "dataset_info.json")
# COPYING3, LICENSE2 too: the files ScanCode's notices point at ("see COPYING3") are read as licenses
LICENSE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE)\d?([-._].*)?$", re.IGNORECASE)
# files beside a model's card that name its base (collectors.basemodel)
BASE_FILES = ("adapter_config.json", "config.json", "model_index.json")
_MARKERS = {*CARD_NAMES, *INFO_NAMES, "hub_manifest.yaml"}
_MAX_DEPTH = 4
_SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".provaudit", ".cache", "node_modules"})
# a dataset's or model's own files: a folder holding one is a record, never a collection
_RECORD_FILES = frozenset({*INFO_NAMES, "hub_manifest.yaml", *BASE_FILES})


def _present(path: Path) -> bool:
    """A directory entry that is not a folder exists at path (a FIFO or a dangling link counts: reading
    it then reports why it is not read, instead of the folder vanishing from the scan)."""
    try:
        return not stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


def is_record_folder(path: Path) -> bool:
    return any(_present(path / name) for name in _MARKERS)


def _names_present(entries: Iterable[os.DirEntry[str]], names: frozenset[str] | set[str]) -> bool:
    """:func:`_present` for any of ``names``, from a listing instead of one lstat per name."""
    return any(entry.name in names and not entry.is_dir(follow_symlinks=False) for entry in entries)


def _subfolders(
    folder: Path,
    skip: frozenset[str],
    bound: Path | None,
    problems: list[tuple[Path, str, str]] | None,
    entries: Iterable[os.DirEntry[str]] | None = None,
) -> list[Path]:
    """Sub-folders to walk into, sorted; a symlinked folder that leaves ``bound`` is a problem, not a child.

    ``entries``: the folder's listing when the caller has it (else it is listed here)."""
    out: list[Path] = []
    here: Path | None = None
    for entry in _bounded.walk_entries(folder) if entries is None else entries:
        if entry.name in skip:
            continue
        path = Path(entry.path)
        if entry.is_symlink():
            try:
                os.stat(path)
            except OSError as exc:
                if exc.errno == errno.ELOOP and problems is not None:  # a link loop is reported, not dropped
                    problems.append((path, f"a symlink loop ({exc.strerror}); not followed", "PA041"))
                continue
            if not path.is_dir():
                continue
            try:
                real = _bounded.inside(path, bound)
            except _bounded.Refused as exc:
                if problems is not None:
                    problems.append((path, str(exc), exc.rule))
                continue
            here = here or Path(os.path.realpath(folder))
            if real == here or real in here.parents:  # walking into it would go round forever
                if problems is not None:
                    problems.append(
                        (
                            path,
                            f"symlink to {_bounded.escape(real)}, a folder containing it (a loop); not followed",
                            "PA041",
                        )
                    )
                continue
        elif not entry.is_dir(follow_symlinks=False):
            continue
        out.append(path)
    return out


def find_folders(
    root: Path,
    accept: Callable[[Path], object],
    depth: int = _MAX_DEPTH,
    skip: frozenset[str] = _SKIP_DIRS,
    *,
    bound: Path | None = None,
    problems: list[tuple[Path, str, str]] | None = None,
) -> Iterator[Path]:
    """Folders under root that ``accept`` (root itself when it does), sorted for deterministic scans.

    Folders that cannot be listed and symlinked folders that leave ``bound`` are appended to
    ``problems`` as (path, reason, rule) instead of being skipped silently.
    """
    if accept(root):
        yield root
        return
    if depth <= 0:
        return
    try:
        children = _subfolders(root, skip, bound, problems)
    except OSError as exc:
        if problems is not None:
            problems.append((root, f"cannot be listed ({exc.strerror or exc}); nothing under it was scanned", "PA003"))
        return
    for child in children:
        yield from find_folders(child, accept, depth - 1, skip, bound=bound, problems=problems)


def is_collection(path: Path, entries: list[os.DirEntry[str]] | None = None) -> bool:
    """A folder with a README whose sub-folders (or theirs) are record folders is a collection: its README
    describes the collection and is no card. A folder with a dataset's or model's own files is a record.

    ``entries``: the folder's listing when the caller has it (:func:`find_listed_record_folders`)."""
    try:
        children = _subfolders(path, _SKIP_DIRS, None, None, entries)  # first: most record folders have none
        if not children:
            return False
        if entries is None:
            if any(_present(path / name) for name in _RECORD_FILES):
                return False
        elif _names_present(entries, _RECORD_FILES):
            return False
        for child in children:
            if is_record_folder(child) or any(is_record_folder(g) for g in _subfolders(child, _SKIP_DIRS, None, None)):
                return True
    except OSError:
        return False
    return False


def find_record_folders(
    root: Path,
    depth: int = _MAX_DEPTH,
    *,
    bound: Path | None = None,
    problems: list[tuple[Path, str, str]] | None = None,
) -> Iterator[Path]:
    """Record folders under root (root itself when it is one and no collection).

    Folders that cannot be walked go to ``problems``; a caller that passes none gets them yielded
    last, and :func:`collect_folder` makes each a record saying why it was not read.
    """
    yield from (folder for folder, _ in find_listed_record_folders(root, depth, bound=bound, problems=problems))


def find_listed_record_folders(
    root: Path,
    depth: int = _MAX_DEPTH,
    *,
    bound: Path | None = None,
    problems: list[tuple[Path, str, str]] | None = None,
) -> Iterator[tuple[Path, list[os.DirEntry[str]] | None]]:
    """:func:`find_record_folders`, each folder with the listing that found it (None: it could not be
    listed), so a caller that needs its entries (the scan's fingerprint) does not list it again.

    Each folder is listed once: whether it is a record folder, whether it is a collection and where to
    walk on are all read from that listing.
    """
    if root.is_symlink():  # the folder the user named is the boundary, wherever it points
        root = Path(os.path.realpath(root))
    own: list[tuple[Path, str, str]] = [] if problems is None else problems
    yield from _find_listed(root, depth, bound or _bounded.boundary(root), own)
    if problems is None:
        yield from ((path, None) for path, _, _ in own)


def _find_listed(
    folder: Path, depth: int, bound: Path, problems: list[tuple[Path, str, str]]
) -> Iterator[tuple[Path, list[os.DirEntry[str]] | None]]:
    """:func:`find_folders` accepting record folders that are no collection, from one listing of each."""
    try:
        entries = list(_bounded.walk_entries(folder))
    except OSError as exc:
        # not listable (a folder without read permission): decided from lstat alone, as find_folders does
        if is_record_folder(folder) and not is_collection(folder):
            yield folder, None
        elif depth > 0:
            reason = f"cannot be listed ({exc.strerror or exc}); nothing under it was scanned"
            problems.append((folder, reason, "PA003"))
        return
    if _names_present(entries, _MARKERS) and not is_collection(folder, entries):
        yield folder, entries
        return
    if depth <= 0:
        return
    children = _subfolders(folder, _SKIP_DIRS, bound, problems, entries)
    del entries  # a collection's listing (100,000 entries) is not kept while its folders are walked
    for child in children:
        yield from _find_listed(child, depth - 1, bound, problems)


def _sha256(path: Path) -> str:
    """sha256 of a regular file (opened without blocking: a file swapped for a FIFO is refused, not waited on)."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError(f"{path.name}: not a regular file")
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _digests(
    folder: Path,
    collector: str,
    bound: Path | None,
    max_files: int,
    findings: list[Finding],
    max_digest_bytes: int = limits.MAX_DIGEST_BYTES,
) -> list[FileDigest]:
    """sha256 of every regular file under the folder (pre-order, sorted, like os.walk). Every file or
    folder left out is a finding: unreadable, not a regular file, a symlink out of the root, past max_files.
    A file above max_digest_bytes is listed by size alone, with a finding giving its mtime."""
    out: list[FileDigest] = []

    def problem(rel: str, message: str, rule: str = "PA003", severity: Severity = Severity.WARNING) -> None:
        findings.append(
            Finding(
                rule=rule,
                severity=severity,
                message=f"{rel}: {message}",
                source=Source(collector=collector, file=rel),
            )
        )

    stack = [folder]
    while stack:
        current = stack.pop()
        here = _bounded.escape(current.relative_to(folder).as_posix())
        try:
            entries = list(_bounded.walk_entries(current))
        except OSError as exc:
            problem(f"{here}/", f"folder cannot be listed ({exc.strerror or exc}); its files are not in the digests")
            continue
        subfolders: list[Path] = []
        for entry in entries:
            path = Path(entry.path)
            rel = _bounded.escape(path.relative_to(folder).as_posix())
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in _SKIP_DIRS:
                        subfolders.append(path)
                    continue
                if entry.is_symlink():
                    real = _bounded.inside(path, bound)
                    if real.is_dir():
                        problem(rel, "symlink to a folder; not followed for digests", "PA041")
                        continue
                info = path.stat()
                if not stat.S_ISREG(info.st_mode):
                    problem(rel, f"is {file_kind(info.st_mode)}; not hashed", "PA041")
                    continue
                if len(out) >= max_files:
                    problem(here or ".", f"more than {max_files} files (--max-files); the rest are not hashed", "PA042")
                    return out
                unhashed = _bounded.digest_bound(info, max_digest_bytes)
                if unhashed:
                    problem(
                        rel, unhashed, "PA042", Severity.WARNING if info.st_size > max_digest_bytes else Severity.INFO
                    )
                digest = None if info.st_size > max_digest_bytes else _sha256(path)
                out.append(
                    FileDigest(path=rel, sha256=digest, size=info.st_size, source=Source(collector=collector, file=rel))
                )
            except _bounded.Refused as exc:
                problem(rel, str(exc), exc.rule)
            except OSError as exc:
                problem(rel, f"cannot be read ({exc.strerror or exc}); not in the digests")
        stack.extend(reversed(subfolders))
    return out


def _guess_kind(folder: Path, metadata: dict[str, Any] | None, manifest: dict[str, Any] | None) -> Kind:
    if manifest and str(manifest.get("object", "")).lower() == "model":
        return Kind.MODEL
    if any(_present(folder / name) for name in INFO_NAMES):
        return Kind.DATASET
    if any(_present(folder / name) for name in BASE_FILES):  # weights' configs: only models carry them
        return Kind.MODEL
    if metadata:
        model_keys = {"base_model", "library_name", "pipeline_tag", "model-index", "model_name", "datasets"}
        dataset_keys = {"source_datasets", "task_ids", "size_categories", "annotations_creators", "dataset_info"}
        if model_keys & metadata.keys() and not dataset_keys & metadata.keys():
            return Kind.MODEL
        if dataset_keys & metadata.keys():
            return Kind.DATASET
    for part in reversed(folder.parts[:-1]):
        if part.lower() in {"models", "model"}:
            return Kind.MODEL
        if part.lower() in {"datasets", "dataset", "data_summaries"}:
            return Kind.DATASET
    return Kind.DATASET


def _repo_name(folder: Path, manifest: dict[str, Any] | None) -> str:
    if manifest and isinstance(manifest.get("parent_id"), str) and "/" in manifest["parent_id"]:
        return str(manifest["parent_id"])
    return folder_to_repo_id(_bounded.escape(folder.name))


class LocalCollector:
    """Folders of Hugging Face cards on disk."""

    name = "local"
    priority = 10

    def can_collect(self, target: str) -> bool:
        return Path(target).is_dir()

    def collect(self, target: str, options: CollectOptions) -> Iterator[Record]:
        root = Path(target)
        bound = _bounded.boundary(root)
        problems: list[tuple[Path, str, str]] = []
        for folder in find_record_folders(root, bound=bound, problems=problems):
            record = collect_folder(folder, options, bound=bound)
            if options.progress:
                options.progress(record.id)
            yield record
        # a folder that could not be walked is a record of its own holding why: never silently missing
        for folder, reason, rule in problems:
            yield _problem_record(folder, reason, rule)


def _problem_record(folder: Path, reason: str, rule: str) -> Record:
    """The record of a folder that was not read (unlisted, or a symlink out of the root), with why."""
    name = _repo_name(folder, None)
    kind = _guess_kind(folder, None, None)
    where = _bounded.escape(folder)
    record = Record(id=record_id(kind, name), kind=kind, name=name, location=where, collectors=["local"])
    record.findings.append(
        Finding(
            rule=rule,
            severity=Severity.ERROR if rule == "PA003" else Severity.WARNING,
            message=f"{where}: {reason}",
            source=Source(collector="local", file=where),
            fix="make the folder readable by the scanning user" if rule == "PA003" else None,
        )
    )
    return record


def collect_folder(folder: Path, options: CollectOptions | None = None, *, bound: Path | None = None) -> Record:
    """Read one record folder. Problems become findings on the record; this never raises on content.

    ``bound``: the folder no read may leave (default: this folder resolved).
    """
    options = options or CollectOptions()
    if bound is None:  # a symlinked record folder must stay inside the folder that holds it
        bound = _bounded.boundary(folder.parent if folder.is_symlink() else folder)
    try:
        _bounded.inside(folder, bound)
        os.listdir(folder)
    except _bounded.Refused as exc:
        return _problem_record(folder, str(exc), exc.rule)
    except OSError as exc:
        return _problem_record(folder, f"cannot be listed ({exc.strerror or exc}); nothing in it was read", "PA003")
    try:
        return _collect_folder(folder, options, bound)
    except Exception as exc:  # a reading bug must not end the scan of every other folder; it is reported
        if os.environ.get("PROVAUDIT_DEBUG"):
            raise
        record = _problem_record(folder, f"could not be read ({type(exc).__name__}: {exc})", "PA003")
        record.findings[0].fix = "please report this at the provaudit issue tracker with PROVAUDIT_DEBUG=1 output"
        return record


def _collect_folder(folder: Path, options: CollectOptions, bound: Path) -> Record:
    collector = "local"
    reader = CardReader(
        collector=collector,
        max_bytes=options.max_file_bytes,
        root=bound,
        max_nesting=options.max_nesting,
        max_yaml_bytes=options.max_yaml_bytes,
    )
    findings: list[Finding] = []
    where = _bounded.escape(folder)

    manifest = _read_manifest(folder / "hub_manifest.yaml", reader, findings)
    card_path = next((folder / n for n in CARD_NAMES if _present(folder / n)), None)
    metadata, card_text = (None, None)
    if card_path is not None:
        metadata, card_text = reader.read_card(card_path, card_path.name, findings)
    else:
        findings.append(
            Finding(
                rule="PA007",
                severity=Severity.WARNING,
                message=f"{where}: no README.md card",
                source=Source(collector=collector, file=where),
                fix="add a Hugging Face card (README.md with YAML metadata)",
            )
        )

    kind = _guess_kind(folder, metadata, manifest)
    record = Record(
        id=record_id(kind, _repo_name(folder, manifest)),
        kind=kind,
        name=_repo_name(folder, manifest),
        location=_bounded.escape(folder.resolve()),
        collectors=[collector],
    )
    card_records_from_metadata(record, metadata or {}, card_path.name if card_path else None, reader, card_text)
    if manifest:
        reader.read_manifest(record, manifest, "hub_manifest.yaml")
    for name in INFO_NAMES:
        if _present(folder / name):
            reader.read_dataset_infos(record, folder / name, name)
    try:
        names = [e.name for e in _bounded.walk_entries(folder) if not e.is_dir(follow_symlinks=False)]
    except OSError as exc:
        names = []
        findings.append(
            reader.file_problem(where, f"folder cannot be listed ({exc.strerror or exc}); LICENSE files not read")
        )
    for name in names:
        if LICENSE_FILE.match(name):
            reader.read_license_file(record, folder / name, _bounded.escape(name))
    # a license_link to a file of the repo that is not named LICENSE (MODEL_LICENSE, docs/terms.md): its text
    # is the actual license
    linked = license_link_path((metadata or {}).get("license_link"), record.name)
    if linked and not ("/" not in linked and LICENSE_FILE.match(linked)) and _present(folder / linked):
        reader.read_license_file(record, folder / linked, linked)
    if kind is Kind.MODEL:
        files: dict[str, tuple[Any, str | None]] = {}
        for name in BASE_FILES:
            if _present(folder / name):
                data = reader.load_json(folder / name, name, record.findings)
                if data is not None:
                    files[name] = (data, reader.read_text(folder / name, name, []))
        card_name = card_path.name if card_path else None
        basemodel.infer(
            record,
            collector=collector,
            files=files,
            body=card_text,
            card_file=card_name,
            body_first_line=reader.body_lines.get(card_name or "", 1),
        )
    if options.digests:
        record.files = _digests(folder, collector, bound, options.max_files, findings, options.max_digest_bytes)
    record.findings[:0] = findings
    return record


def _read_manifest(path: Path, reader: CardReader, findings: list[Finding]) -> dict[str, Any] | None:
    if not _present(path):
        return None
    text = reader.read_text(path, path.name, findings)
    if text is None:
        return None
    data = reader.load_yaml(text, path.name, findings)
    if data is not None and not isinstance(data, dict) and isinstance(data, str | int | float | list):
        findings.append(reader.file_problem(path.name, f"is a YAML {type(data).__name__}, not a mapping; not read"))
    return data if isinstance(data, dict) else None
