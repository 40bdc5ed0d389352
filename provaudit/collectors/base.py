"""The collector interface and registry.

A collector turns a scan target (a folder, a file, an ``hf:`` reference) into records. Built-ins and
third-party collectors register the same way, through the ``provaudit.collectors`` entry-point group::

    [project.entry-points."provaudit.collectors"]
    mycollector = "mypackage.collector:MyCollector"
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

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
    max_file_bytes: int = 16 * 1024 * 1024  # larger cards / metadata files are reported, not parsed
    depth: int = 0  # how far to follow upstream links (collectors that can fetch them)
    progress: Callable[[str], None] | None = None  # called with a record id as each one is collected
    extra: dict[str, object] = field(default_factory=dict)
    max_nesting: int = 100  # JSON/YAML values nested deeper are reported, not parsed
    max_yaml_bytes: int = 4 * 1024 * 1024  # a larger card front matter is reported, not parsed
    max_files: int = 10_000  # files hashed per record folder; the rest are reported


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
    raise InputError(target, "no collector can read this target (not a folder, DPI summary or known reference)")
