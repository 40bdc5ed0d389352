"""No local absolute paths in what provaudit publishes (site, exports, attestations).

The store keeps where each record was read as the scan saw it (``/srv/data/demo/datasets/snli``);
that names a user's machine, so whatever leaves the machine says ``datasets/snli``: the path relative
to the scanned root, the root named once by its folder name, or by ``--base-url`` when given
(``https://github.com/acme/data/tree/main/datasets/snli``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import IO, Any, TypeVar

from pydantic import BaseModel
from pyoxigraph import RdfFormat, parse

from provaudit.records.model import Record

PIPELINE_PREFIX = "pipeline:"
M = TypeVar("M", bound=BaseModel)


def target_root(target: str) -> str | None:
    """The local absolute path a scan target names (``pipeline:/x#model=m`` → ``/x``), else None."""
    if target.startswith(PIPELINE_PREFIX):
        target = target[len(PIPELINE_PREFIX) :].split("#", 1)[0]
    path = PurePath(target)
    return str(path) if path.is_absolute() and str(path) != path.anchor else None


@dataclass
class PublicPaths:
    """Rewrites local absolute paths in text: each scanned root to its public name."""

    names: dict[str, str] = field(default_factory=dict)  # absolute root → public name
    _pattern: re.Pattern[str] | None = None

    @classmethod
    def for_targets(cls, targets: Iterable[str], base_url: str | None = None) -> PublicPaths:
        names: dict[str, str] = {}
        for target in targets:
            root = target_root(target)
            if root is None:
                continue
            name = PurePath(root).name
            names[root] = f"{base_url.rstrip('/')}/{name}" if base_url else name
        try:
            # the last resort for a path under no scanned root (a tool's or a cache's): ~ for the home folder
            home = str(Path.home())
        except RuntimeError:
            home = ""
        if home and home not in names and target_root(home):
            names[home] = "~"
        return cls(names)

    @classmethod
    def for_store(cls, store: Any, base_url: str | None = None) -> PublicPaths:
        return cls.for_targets((t for scan in store.scans() for t in scan.targets), base_url)

    def pattern(self) -> re.Pattern[str] | None:
        if self._pattern is None and self.names:
            # longest first, and only whole path names: /data/demo must not rewrite /data/demo-old
            alternatives = "|".join(re.escape(r) for r in sorted(self.names, key=len, reverse=True))
            self._pattern = re.compile(f"(?:{alternatives})(?![\\w.-])")
        return self._pattern

    def text(self, text: str) -> str:
        pattern = self.pattern()
        if pattern is None:
            return text
        return pattern.sub(lambda m: self.names[m.group(0)], text)

    def targets(self, targets: Sequence[str]) -> list[str]:
        return [self.text(t) for t in targets]

    def model(self, value: M) -> M:
        """A pydantic model (a record, a review) with every path in it rewritten; the same object if none."""
        pattern = self.pattern()
        if pattern is None:
            return value
        dumped = value.model_dump_json()
        if not pattern.search(dumped):
            return value
        # rewritten in JSON text: a path in a JSON string is written as is (json escapes no "/")
        data = json.loads(dumped)
        return type(value).model_validate(_rewrite(data, self.text))

    def record(self, record: Record) -> Record:
        return self.model(record)

    def ntriples(self, text: str) -> str:
        return self.text(text)

    def triples(self, triples: list[Any]) -> list[Any]:
        text = "".join(f"{t} .\n" for t in triples)
        clean = self.text(text)
        return triples if clean == text else list(parse(clean.encode(), format=RdfFormat.N_TRIPLES))

    def writer(self, out: IO[bytes]) -> _LineWriter:
        return _LineWriter(out, self)


def _rewrite(data: Any, rewrite: Any) -> Any:
    if isinstance(data, str):
        return rewrite(data)
    if isinstance(data, list):
        return [_rewrite(v, rewrite) for v in data]
    if isinstance(data, dict):
        return {k: _rewrite(v, rewrite) for k, v in data.items()}
    return data


class _LineWriter:
    """A binary stream that rewrites paths line by line (a path never spans lines), so a whole-store
    export streams without being held in memory."""

    def __init__(self, out: IO[bytes], paths: PublicPaths) -> None:
        self.out, self.paths, self.pending = out, paths, b""

    def write(self, data: bytes) -> int:
        self.pending += data
        head, sep, self.pending = self.pending.rpartition(b"\n")
        if sep:
            self.out.write(
                self.paths.text((head + sep).decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
            )
        return len(data)

    def flush(self) -> None:
        if self.pending:
            self.out.write(
                self.paths.text(self.pending.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
            )
            self.pending = b""
        self.out.flush()
