"""Incremental site builds: each record page keyed by everything it shows, unchanged pages carried over.

A page's key is a digest of what its rendering reads: the record (every field, its card text
included), its review, the nodes and edges of its lineage graph (with each neighbour's label,
verdict and licence), the links it makes to other pages, its revisions, runs and consumers, and
the build's fingerprint (provaudit version, the site code, every template and static asset, the
site title and policy). A rebuild renders only the pages whose key changed; the others, with their
card downloads, are hard-linked from the previous site into the new folder (copied where the file
system refuses links), so the new site is still complete before the atomic swap.

The keys are kept in ``.provaudit-manifest.json`` in the site folder. A missing, unreadable or
foreign manifest only costs a full build: a page is reused only when its key and files match.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import provaudit
from provaudit.resources import resource

MANIFEST = ".provaudit-manifest.json"
MANIFEST_VERSION = 2  # 2: each page names its Markdown cache files
# Cached Markdown renderings, one file per card body (content hash), carried over like the pages.
MARKDOWN_DIR = ".provaudit-markdown"
# outside the site package, modules whose output the pages show (read as files, not imported)
_SEPARATORS = re.compile(r"[\\/]")  # either separator: a manifest written on another system is read alike
_PAGE_CODE = ("rules/render.py", "rules/audit.py", "rules/report.py", "export/cards.py", "export/umr.py")


@dataclass
class Entry:
    """One page of the manifest: its key, the files written with it, and the warnings its build gave."""

    key: str
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # the Markdown cache files (MARKDOWN_DIR) the page read: carried with it, so a rebuild that links the page
    # need not read its record's card text to keep the rendering
    cache: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "files": self.files, "warnings": self.warnings, "cache": self.cache}


def _tree_digest(hasher: Any, folder: Path, suffixes: tuple[str, ...]) -> None:
    """Every file of ``folder`` (names and bytes, sorted) into ``hasher``."""
    if not folder.is_dir():
        return
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in suffixes):
        hasher.update(f"{path.relative_to(folder)}\0".encode())
        hasher.update(path.read_bytes())
        hasher.update(b"\0")


@cache
def _code_digest() -> str:
    """The site package's source and the modules of _PAGE_CODE, read once: the code this process runs."""
    hasher = hashlib.sha256()
    _tree_digest(hasher, Path(__file__).parent, (".py",))
    package = Path(provaudit.__file__).parent
    for module in _PAGE_CODE:
        path = package / module
        hasher.update(path.read_bytes() if path.is_file() else b"-")
    return hasher.hexdigest()


def fingerprint(template_dirs: Sequence[str | Path], *parts: str) -> str:
    """What every page depends on besides its data: code, templates, static assets and ``parts``.

    The site package's own source is part of it, so a change of a view or of the graph layout
    rebuilds every page, as a template change does.
    """
    hasher = hashlib.sha256(f"{MANIFEST_VERSION}\0{provaudit.__version__}\0{_code_digest()}\0".encode())
    for folder in [*(Path(d) for d in template_dirs), resource("site", "templates"), resource("site", "static")]:
        hasher.update(f"{folder.name}\0".encode())
        _tree_digest(hasher, folder, (".html", ".js", ".css", ".svg", ".txt", ".jinja", ".j2"))
    for part in parts:
        hasher.update(part.encode("utf-8", "surrogatepass"))
        hasher.update(b"\0")
    return hasher.hexdigest()


class KeyHasher:
    """A page key built from text parts, each one delimited so that no two sequences collide."""

    def __init__(self, base: str) -> None:
        self._hash = hashlib.sha256(base.encode())

    def add(self, *parts: object) -> KeyHasher:
        for part in parts:
            text = part if isinstance(part, str) else repr(part)
            data = text.encode("utf-8", "surrogatepass")
            self._hash.update(len(data).to_bytes(8, "little"))
            self._hash.update(data)
        return self

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def load(site: Path, build_fingerprint: str) -> dict[str, Entry]:
    """The previous site's page entries; empty when it has none or they were made by another build setup."""
    try:
        data = json.loads((site / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        return {}
    if data.get("fingerprint") != build_fingerprint or not isinstance(data.get("pages"), dict):
        return {}
    out: dict[str, Entry] = {}
    for rel, raw in data["pages"].items():
        if isinstance(raw, dict) and isinstance(raw.get("key"), str):
            files = [f for f in raw.get("files", []) if isinstance(f, str)]
            warnings = [w for w in raw.get("warnings", []) if isinstance(w, str)]
            cache = [c for c in raw.get("cache", []) if isinstance(c, str)]
            out[rel] = Entry(raw["key"], files, warnings, cache)
    return out


def save(site: Path, build_fingerprint: str, pages: dict[str, Entry]) -> None:
    """Write the manifest of the new site (sorted, so equal builds write equal manifests)."""
    data = {
        "version": MANIFEST_VERSION,
        "fingerprint": build_fingerprint,
        "pages": {rel: pages[rel].as_json() for rel in sorted(pages)},
    }
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    (site / MANIFEST).write_text(text + "\n", encoding="utf-8")


def _plain(rel: str) -> bool:
    """``rel`` is a plain relative path that stays inside the folder it is joined to (manifest is input)."""
    parts = _SEPARATORS.split(rel)
    return bool(rel) and not os.path.isabs(rel) and all(p not in {"..", ".", ""} for p in parts)


def link_or_copy(source: str | Path, target: str | Path) -> None:
    """A hard link of ``source`` at ``target``; a copy where links are refused (other device, FAT).

    An existing ``target`` is left alone: it may itself be a link into the previous site, which
    must stay byte-identical until the swap, so nothing here ever opens it for writing.
    """
    try:
        os.link(source, target)
    except FileExistsError:
        return
    except OSError:
        partial = f"{target}.{os.getpid()}.partial"
        shutil.copyfile(source, partial)
        os.replace(partial, target)


def carry_over(previous: Path, work: Path, files: Iterable[str]) -> int:
    """Link ``files`` of the previous site into the new one; their total size, or -1 when one is missing.

    Only regular files directly named by the manifest are taken (never a symlink), so a tampered
    manifest can point nowhere outside the previous site.
    """
    size = 0
    done: list[str] = []
    old, new = os.fspath(previous), os.fspath(work)
    for rel in files:
        source = os.path.join(old, rel)
        try:  # one lstat: a regular file, not a symlink, and its size
            found = os.lstat(source) if _plain(rel) else None
        except OSError:
            found = None
        if found is None or not stat.S_ISREG(found.st_mode):
            for path in done:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            return -1
        target = os.path.join(new, rel)
        link_or_copy(source, target)
        done.append(target)
        size += found.st_size
    return size
