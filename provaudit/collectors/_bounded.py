"""Bounded reads of files that strangers wrote: regular files only, inside the scan root, limited.

Every refusal is a :class:`Refused` with a one-line reason that names the limit, so a collector can
turn it into a finding naming the file. Nothing here follows a symlink out of the root, opens a FIFO,
device or socket, reads more than the size limit, or builds a structure deeper or larger than the
nesting and node limits (deep JSON raises ``RecursionError``; YAML aliases can expand exponentially).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from provaudit.errors import file_kind

# Defaults of the limits; each has a `provaudit scan` flag (CollectOptions fields of the same name).
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_NESTING = 100  # JSON/YAML containers inside each other
MAX_YAML_BYTES = 4 * 1024 * 1024  # a card's front matter (the YAML parser is the slow part)
MAX_YAML_NODES = 1_000_000  # YAML nodes with aliases expanded (a "billion laughs" card)
MAX_FILES = 10_000  # files hashed per record folder
_SPARSE_MIN = 1 << 20  # smaller files are not worth calling sparse

# libyaml when present: the pure-Python parser dominates scan time on large collections
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Refused(Exception):
    """A file or value that is not read, and why (the message names the limit or the reason).

    ``rule``: PA003 unreadable or too large, PA040 a symlink out of the scanned folder, PA041 not a
    regular file, PA042 past a nesting or size limit of the parsed value.
    """

    def __init__(self, message: str, rule: str = "PA003") -> None:
        super().__init__(message)
        self.rule = rule


def escape(text: str | os.PathLike[str]) -> str:
    """A file name as text that can be stored: undecodable bytes (kept by Python as surrogates) become
    ``\\xNN`` escapes, so a non-UTF-8 name is reported and scanned instead of aborting the store write."""
    value = os.fspath(text)
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return os.fsencode(value).decode("utf-8", errors="backslashreplace")


def boundary(root: Path) -> Path:
    """The folder no read may leave for a scan of ``root`` (resolved).

    A Hugging Face cache snapshot (``models--org--name/snapshots/<rev>``) is made of symlinks into
    the repo's ``blobs/``, so its boundary is the cached repo folder.
    """
    real = Path(os.path.realpath(root))
    if real.parent.name == "snapshots" and real.parent.parent.name.startswith(("models--", "datasets--", "spaces--")):
        return real.parent.parent
    return real


def inside(path: Path, root: Path | None) -> Path:
    """The real path of ``path``; Refused when it resolves outside ``root`` (a symlink out)."""
    real = Path(os.path.realpath(path))
    if root is not None and real != root and root not in real.parents:
        raise Refused(f"symlink to {escape(real)}, outside the scanned folder {escape(root)}; not followed", "PA040")
    return real


def read_regular(path: Path, *, root: Path | None, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; Refused otherwise (never opens a FIFO,
    device or socket: the type is checked before opening and again on the open descriptor)."""
    real = inside(path, root)
    try:
        info = os.stat(real)
    except OSError as exc:
        raise Refused(f"cannot be read: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise Refused(f"is {file_kind(info.st_mode)}, not a regular file; not read", "PA041")
    if info.st_size > max_bytes:
        raise Refused(f"{info.st_size} bytes, larger than the {max_bytes}-byte limit (--max-file-bytes); not parsed")
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        raise Refused(f"cannot be read: {exc.strerror or exc}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped between the check and the open
            raise Refused("is not a regular file; not read", "PA041")
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            block = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not block:
                break
            chunks.append(block)
            size += len(block)
    except OSError as exc:
        raise Refused(f"cannot be read: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    if size > max_bytes:
        raise Refused(f"grew past the {max_bytes}-byte limit (--max-file-bytes) while read; not parsed")
    return b"".join(chunks)


def read_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of a regular file, to sniff its format; Refused for anything else (a FIFO,
    device or socket is never opened, so sniffing cannot block)."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise Refused(f"is {file_kind(info.st_mode)}, not a regular file; not read", "PA041")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Refused("is not a regular file; not read", "PA041")
        return os.read(fd, size)
    finally:
        os.close(fd)


def digest_bound(info: os.stat_result, max_digest_bytes: int) -> str | None:
    """Why a file is not hashed (above the digest limit), or is hashed though mostly holes (a sparse file:
    its size says little about its content); None for an ordinary file."""
    sparse = info.st_size > _SPARSE_MIN and info.st_blocks * 512 < info.st_size // 2
    holes = f"a sparse file ({info.st_blocks * 512} of {info.st_size} bytes on disk); " if sparse else ""
    if info.st_size > max_digest_bytes:
        mtime = datetime.fromtimestamp(info.st_mtime, UTC).isoformat(timespec="seconds")
        return (
            f"{holes}{info.st_size} bytes, more than the {max_digest_bytes}-byte digest limit (--max-digest-bytes); "
            f"recorded by size and mtime {mtime}, not hashed"
        )
    return f"{holes}hashed as read (holes read as zeros)" if sparse else None


def nesting(value: Any) -> int:
    """How deeply containers nest in a parsed value (iterative: a deep value must not recurse).

    Counted level by level: the depth is the number of levels that hold a dict or a list (no tuple per
    value, as a stack of (value, depth) needs: a dataset_infos.json holds thousands)."""
    deepest = 0
    level: list[Any] = [value]
    while level:
        containers = [item for item in level if isinstance(item, dict | list)]
        if not containers:
            break
        deepest += 1
        level = []
        for item in containers:
            level.extend(item.values() if isinstance(item, dict) else item)
    return deepest


def loads_json(text: str, *, max_nesting: int = MAX_NESTING) -> Any:
    """``json.loads`` that refuses values nested deeper than the limit (never a RecursionError)."""
    try:
        value = json.loads(text)
    except RecursionError as exc:  # the C parser counts its recursion and stops cleanly
        raise Refused(f"nested deeper than the {max_nesting}-level limit (--max-nesting); not parsed", "PA042") from exc
    if nesting(value) > max_nesting:
        raise Refused(f"nested deeper than the {max_nesting}-level limit (--max-nesting); not parsed", "PA042")
    return value


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """A safe loader that records duplicate mapping keys instead of letting the last one win silently."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = (key_node.tag, key_node.value)
                if key in seen:
                    self.duplicates.append((key_node.value, key_node.start_mark.line + 1))
                seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def _within(root: yaml.Node, max_nesting: int, max_nodes: int) -> bool:
    """Whether a YAML node *tree* (no alias: no node is shared) is within both limits, counted level by
    level. Its size and depth bound every part's, so True means :func:`_measure` finds nothing."""
    level: list[yaml.Node] = [root]
    depth = size = 0
    while level:
        depth += 1
        size += len(level)
        if depth > max_nesting or size > max_nodes:
            return False
        deeper: list[yaml.Node] = []
        for node in level:
            if isinstance(node, yaml.SequenceNode):
                deeper.extend(node.value)
            elif isinstance(node, yaml.MappingNode):
                for pair in node.value:
                    deeper.extend(pair)
        level = deeper
    return True


def _measure(root: yaml.Node, max_nesting: int, max_nodes: int) -> None:
    """Refuse a YAML node graph deeper than max_nesting or larger than max_nodes with aliases expanded
    (memoized by node: an alias is a shared node, so exponential expansion is counted, not walked)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    busy: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if done:
            busy.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if size[key] > max_nodes:
                raise Refused(
                    f"more than {max_nodes} YAML nodes with aliases expanded (--max-yaml-nodes); not parsed", "PA042"
                )
            if depth[key] > max_nesting:
                raise Refused(f"nested deeper than the {max_nesting}-level limit (--max-nesting); not parsed", "PA042")
            continue
        if key in size:
            continue
        if key in busy:
            raise Refused("a YAML alias refers to the value that contains it (a cycle); not parsed", "PA042")
        busy.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in size)


def load_yaml(
    text: str,
    *,
    max_bytes: int = MAX_YAML_BYTES,
    max_nesting: int = MAX_NESTING,
    max_nodes: int = MAX_YAML_NODES,
) -> tuple[Any, list[tuple[str, int]]]:
    """(value, duplicate keys as (key, 1-based line in ``text``)); Refused past a limit, yaml.YAMLError
    when it does not parse."""
    if len(text) > max_bytes:
        raise Refused(
            f"{len(text)} characters of YAML, more than the {max_bytes} limit (--max-yaml-bytes); not parsed", "PA042"
        )
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        # an alias is written with "*": without one the nodes form a tree, measured in one cheap pass; past
        # a limit (or with aliases) the memoized walk gives the exact refusal
        if "*" in text or not _within(node, max_nesting, max_nodes):
            _measure(node, max_nesting, max_nodes)
        return loader.construct_document(node), loader.duplicates
    except RecursionError as exc:
        raise Refused(f"nested deeper than Python can parse (limit {max_nesting}, --max-nesting)", "PA042") from exc
    finally:
        loader.dispose()


def walk_entries(folder: Path) -> Iterator[os.DirEntry[str]]:
    """A folder's entries, sorted by name (OSError from listing propagates to the caller)."""
    with os.scandir(folder) as entries:
        yield from sorted(entries, key=lambda e: e.name)


def read_argument_file(path: str, what: str, max_bytes: int = MAX_FILE_BYTES) -> str:
    """A text file named on the command line (``query @FILE``): regular, bounded, UTF-8; InputError otherwise."""
    from provaudit.errors import InputError

    try:
        data = read_regular(Path(path), root=None, max_bytes=max_bytes)
        return data.decode("utf-8-sig")
    except Refused as exc:
        raise InputError(path, f"{what} {exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(path, f"{what} is not UTF-8 text (byte {exc.start})") from exc
