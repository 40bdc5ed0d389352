"""Training runs on the site: what a model page lists of the runs that made it, and their graph nodes.

Runs come from the store (:func:`provaudit.versions.runs.load_runs`, the ``pa:runJson`` of each run).
A run keeps local paths (the work tree, the interpreter, absolute inputs); none of them is published:
paths read relative to the work tree, anything else by its last name.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from urllib.parse import urlsplit, urlunsplit

from provaudit.records.identity import ID_BASE
from provaudit.site.graph import RUN, RUN_SEP, Node, RunLink
from provaudit.versions.runs import RunRecord, order_key


@dataclass(frozen=True)
class RecordRef:
    """A record a run names, and its page when the site has one."""

    id: str
    href: str | None


@dataclass(frozen=True)
class DataRow:
    path: str
    record: RecordRef | None
    relation: str
    version: str
    files: int
    size: int


@dataclass(frozen=True)
class OutputRow:
    path: str
    kind: str
    record: RecordRef | None
    digest: str | None
    size: int


@dataclass(frozen=True)
class RunView:
    """One run as ``_runs.html`` shows it."""

    anchor: str  # the element id on the page of the record it generated
    iri: str
    name: str
    source: str
    external_id: str | None
    started: str
    ended: str | None
    status: str
    error: str | None
    command: str | None
    params: list[tuple[str, str]]
    metrics: list[tuple[str, str]]
    tags: list[tuple[str, str]]
    code: RecordRef | None
    commit: str | None
    branch: str | None
    remote: str | None
    dirty: list[tuple[str, str, str]]  # (git status, path, sha256)
    python: str | None
    packages: list[tuple[str, str, str]]  # (name, version, license)
    inputs: list[DataRow]
    outputs: list[OutputRow]


def short_id(iri: str) -> str:
    """``…/id/run/20250102T101500-ab12cd34`` → ``20250102T101500-ab12cd34``."""
    return iri.removeprefix(f"{ID_BASE}run/").rsplit("/", 1)[-1]


def node_id(run: RunRecord) -> str:
    return f"{RUN}:{short_id(run.iri)}"


def anchor(run: RunRecord) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in short_id(run.iri))
    return f"run-{safe}"


def _public_path(path: str, roots: Iterable[str | None]) -> str:
    """Relative to the work tree (or the folder the run ran in), else only the file's own name."""
    pure = PurePath(path)
    if not pure.is_absolute():
        return path
    for root in roots:
        if root and pure.is_relative_to(root):
            return pure.relative_to(root).as_posix() or "."
    return pure.name


def _command(run: RunRecord) -> str | None:
    if not run.command:
        return None
    roots = (run.code.toplevel, run.cwd)
    args = [_public_path(a, roots) if PurePath(a).is_absolute() else a for a in run.command]
    return shlex.join(args)


def _remote(url: str | None) -> str | None:
    """A remote without credentials; a remote on this machine (a path) is not published."""
    if not url or PurePath(url).is_absolute() or url.startswith("file:"):
        return None
    parts = urlsplit(url)
    if parts.username or parts.password:
        parts = parts._replace(netloc=parts.hostname or "")
    return urlunsplit(parts) if parts.scheme else url


def run_view(run: RunRecord, record_hrefs: Mapping[str, str]) -> RunView:
    def ref(rid: str | None) -> RecordRef | None:
        return RecordRef(rid, record_hrefs.get(rid)) if rid else None

    roots = (run.code.toplevel, run.cwd)
    return RunView(
        anchor=anchor(run),
        iri=run.iri,
        name=run.name,
        source=run.source,
        external_id=run.external_id,
        started=run.started,
        ended=run.ended,
        status=run.status,
        error=run.error,
        command=_command(run),
        params=sorted(run.params.items()),
        metrics=[(k, f"{v:g}") for k, v in sorted(run.metrics.items())],
        tags=sorted(run.tags.items()),
        code=ref(run.code.record),
        commit=run.code.commit,
        branch=run.code.branch,
        remote=_remote(run.code.remote),
        dirty=[(d.get("status") or "", d.get("path") or "", d.get("sha256") or "") for d in run.code.dirty],
        python=run.python,
        packages=sorted((p.name, p.version or "", p.license or "") for p in run.packages),
        inputs=[
            DataRow(
                _public_path(d.path, roots), ref(d.record), d.relation.replace("_", " "), d.version, d.files, d.size
            )
            for d in run.inputs
        ],
        outputs=[OutputRow(_public_path(o.path, roots), o.kind, ref(o.record), o.sha256, o.size) for o in run.outputs],
    )


def runs_by_record(runs: Iterable[RunRecord], record_hrefs: Mapping[str, str]) -> dict[str, list[RunView]]:
    """Record id → the runs that generated it, newest first."""
    found: dict[str, list[RunView]] = {}
    # the store's own order (start in ns, then write order): two runs in one second keep theirs
    for run in sorted(runs, key=order_key, reverse=True):
        view = run_view(run, record_hrefs)
        for rid in dict.fromkeys(o.record for o in run.outputs if o.record):
            found.setdefault(rid, []).append(view)
    return found


def run_links(runs: Iterable[RunRecord], record_hrefs: Mapping[str, str]) -> list[RunLink]:
    """Graph nodes of the runs that generated a record with a page; each links to its part of that page."""
    links = []
    for run in runs:
        made = [o.record for o in run.outputs if o.record and o.record in record_hrefs]
        if not made:
            continue
        when = run.started[:19].replace("T", " ")
        node = Node(
            id=node_id(run),
            label=f"{run.name}{RUN_SEP}{when}",
            kind=RUN,
            use=run.status,
            href=f"{record_hrefs[made[0]]}#{anchor(run)}",
        )
        used = tuple(d.record for d in run.inputs if d.record)
        links.append(RunLink(node, used, tuple(made)))
    return links
