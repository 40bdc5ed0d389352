"""The collector interface and registry.

A collector turns a scan target (a folder, a file, an ``hf:`` reference) into records. Built-ins and
third-party collectors register the same way, through the ``provaudit.collectors`` entry-point group::

    [project.entry-points."provaudit.collectors"]
    mycollector = "mypackage.collector:MyCollector"
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol, runtime_checkable

from provaudit import limits
from provaudit.errors import InputError
from provaudit.records.model import Record

ENTRY_POINT_GROUP = "provaudit.collectors"

# The built-ins, by entry-point name, so a source checkout that is not installed still finds them.
BUILTIN = {
    "dpi": "provaudit.collectors.dpi:DpiCollector",
    "hub": "provaudit.collectors.hub:HubCollector",
    "local": "provaudit.collectors.local:LocalCollector",
    "datasets": "provaudit.collectors.datasets_info:DatasetsCollector",
    "croissant": "provaudit.collectors.croissant:CroissantCollector",
    "spdx": "provaudit.collectors.spdx:SpdxCollector",
    "umr": "provaudit.collectors.umr:UmrCollector",
    "pipeline": "provaudit.collectors.pipeline:PipelineCollector",
}


@dataclass
class CollectOptions:
    """What a scan asks of collectors."""

    digests: bool = True  # sha256 of every file in a local record folder
    max_file_bytes: int = limits.MAX_FILE_BYTES
    max_nesting: int = limits.MAX_NESTING
    max_yaml_bytes: int = limits.MAX_YAML_BYTES
    max_files: int = limits.MAX_FILES
    max_digest_bytes: int = limits.MAX_DIGEST_BYTES  # larger files: size and mtime, no sha256
    max_elements: int = limits.MAX_ELEMENTS  # SPDX elements read from one document
    depth: int = 0  # how far to follow upstream links (collectors that can fetch them)
    progress: Callable[[str], None] | None = None  # called with a record id as each one is collected
    extra: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class Collector(Protocol):
    """Reads one kind of source. ``priority``: higher is asked first."""

    name: str
    priority: int

    def can_collect(self, target: str) -> bool: ...

    def collect(self, target: str, options: CollectOptions) -> Iterator[Record]: ...


def _load(spec: str) -> type:
    module_name, _, attr = spec.partition(":")
    module = __import__(module_name, fromlist=[attr])
    loaded: type = getattr(module, attr)
    return loaded


def available_collectors() -> list[Collector]:
    """Every registered collector, highest priority first."""
    found: dict[str, str] = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep.value
    collectors: list[Collector] = []
    for name, spec in found.items():
        try:
            instance = _load(spec)()
        except Exception as exc:  # a broken plugin must not stop a scan of everything else
            raise InputError(None, f"collector plugin {name!r} ({spec}) failed to load: {exc}") from exc
        collectors.append(instance)
    return sorted(collectors, key=lambda c: -c.priority)


def collector_for(target: str, collectors: list[Collector] | None = None) -> Collector:
    for collector in collectors or available_collectors():
        if collector.can_collect(target):
            return collector
    raise InputError(target, why_unreadable(target))


# file names that belong to a record folder: scanning the folder reads them together
_CARD_FILES = {"readme.md", "license", "license.md", "license.txt", "dataset_infos.json", "config.json"}


def why_unreadable(target: str) -> str:
    """Why no collector reads this target, and what to run instead (the message of the InputError)."""
    path = Path(target)
    parent = shlex.quote(str(path.parent)) if str(path.parent) not in {"", "."} else "."
    if path.is_file() and path.suffix.lower() in {".json", ".jsonld"}:
        try:
            with path.open(encoding="utf-8") as handle:
                json.load(handle)
        except UnicodeDecodeError as exc:
            return f"not UTF-8 text ({exc.reason} at byte {exc.start}); a JSON summary must be UTF-8"
        except json.JSONDecodeError as exc:
            return (
                f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}; "
                "fix the file, then run the scan again"
            )
        except OSError as exc:
            return f"cannot be read ({exc.strerror})"
        return (
            "a JSON file provaudit does not recognize (not a DPI summary, Croissant, SPDX or UMR document); "
            f"if it belongs to a dataset or model folder, scan the folder: provaudit scan {parent}"
        )
    if path.is_file() and path.name.lower() in _CARD_FILES | {"readme"}:
        return f"{path.name} is one file of a dataset or model folder; scan the folder instead: provaudit scan {parent}"
    if path.is_file():
        return (
            "no collector reads this file (folders of datasets/models, DPI summaries, Croissant, SPDX, UMR, "
            f"hf: and pipeline: references); to scan the folder that holds it: provaudit scan {parent}"
        )
    return "no collector can read this target (not a folder, file, hf: or pipeline: reference)"
