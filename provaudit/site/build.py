"""Build the static site: catalog, record pages, collection cards, audit page, card downloads.

The site is plain files: it opens from ``file://`` on a laptop or from any static host. The data
the catalog and audit filters need is written as shards of rows (``catalog/NNNNN.js``, indexed by
``catalog.js``; ``findings/`` and ``findings.js`` likewise: provaudit.site.shards), scripts that
assign a global since browsers refuse ``fetch()`` of local files, loaded a page at a time. Pages
work without JavaScript; scripts only add search, filters, paging, tabs and the theme toggle.

Per page the work is small: templates are compiled once, graph layouts are cached by
neighbourhood, Markdown renderings are cached between builds, and each page is streamed to its
file as it renders. Record pages are rendered by forked worker processes, one per core. A rebuild
renders only the record pages whose key changed (provaudit.site.incremental).
"""

from __future__ import annotations

import ctypes
import errno
import gc
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import stat
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from provaudit.errors import InputError
from provaudit.licenses.kb import Use
from provaudit.records.model import Finding, Record, Severity
from provaudit.resources import resource
from provaudit.rules.audit import SiteAudit, unaudited_verdicts
from provaudit.rules.conditions import KIND_LABELS, KINDS
from provaudit.rules.lineage import OTHER
from provaudit.rules.render import evidence_groups, expression_label, expression_names, humanize
from provaudit.rules.report import RecordReview, ReviewReport
from provaudit.rules.review import agent_key, merge_agents
from provaudit.site import incremental, shards, views
from provaudit.site.charts import bar_chart
from provaudit.site.graph import LineageIndex, render_svg
from provaudit.site.markdown import RENDER_VERSION, render_raw, sanitize
from provaudit.site.paths import slugs_for
from provaudit.site.runs import RunView, run_links, runs_by_record
from provaudit.site.urls import safe_url
from provaudit.store.base import RevisionInfo, Store
from provaudit.versions.runs import RunRecord, load_runs

if TYPE_CHECKING:
    from provaudit.export.public_paths import PublicPaths
    from provaudit.rules.review_cache import StreamedReview

MARKER = ".provaudit-site"
CACHE_DIR = incremental.MARKDOWN_DIR
# what a build writes besides pages; never carried over from the previous site as a user's file
_BOOKKEEPING = {CACHE_DIR, incremental.MANIFEST, ".provaudit-markdown-cache.json"}  # the last: older builds' cache
# Catalog rows written into index.html: a browser parses 5,000 table rows slowly, search.js renders the rest.
STATIC_ROWS = 200
USE_LABELS = {
    Use.COMMERCIAL.value: "commercial use",
    Use.UNSPECIFIED.value: "unspecified",
    Use.NON_COMMERCIAL.value: "non-commercial",
    Use.ACADEMIC_ONLY.value: "academic only",
}
# Strict: every script and style is a file of the site; nothing inline, nothing remote, no forms posted.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "base-uri 'none'; form-action 'none'; object-src 'none'"
)
# Control characters and noncharacters are parse errors in HTML5; cards and DPI data do hold some.
# Astral noncharacters (U+1FFFE ...) are handled apart: listing them in one class makes `re` 15x slower.
_INVALID_BMP = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff\ud800-\udfff]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _html_safe_chars(text: str) -> str:
    """Text with every character HTML5 forbids replaced by U+FFFD."""
    text = _INVALID_BMP.sub("\ufffd", text)
    if not text.isascii() and _ASTRAL.search(text):
        text = _ASTRAL.sub(lambda m: "\ufffd" if ord(m.group()) & 0xFFFE == 0xFFFE else m.group(), text)
    return text


GENERATED_DIRS = ("records", "collections", "downloads", "static", "catalog", "findings")

HistoryLookup = Callable[[str], list[RevisionInfo]] | Mapping[str, list[RevisionInfo]]
# Record pages rendered per batch: a process holds at most this many whole records (card text, file list) at once.
PAGE_SIZE = 200


class FullRecords:
    """The whole records (card text, file list) of a page of light ones, read from the store when a page asks.

    The build holds every record light; a page's process reads the whole ones of the pages it renders, a
    batch at a time, over its own read-only view of the store (opened there: a store is never shared
    with a forked process) and closed by :meth:`close`. A record the store no longer holds stays light.
    """

    def __init__(self, store: str | Path | None, revisions: Mapping[str, str], public: Callable[[Record], Record]):
        self._where = store
        self._revisions = revisions  # record id -> its current revision IRI
        self._public = public
        self._store: Store | None = None
        self._pid = 0

    def __call__(self, light: Sequence[Record]) -> list[Record]:
        from provaudit import api

        if self._store is None or self._pid != os.getpid():
            self._store, self._pid = api.open_store(self._where, read_only=True), os.getpid()
        out: list[Record] = []
        for record in light:
            revision = self._revisions.get(record.id)
            full = self._store.record_at(revision) if revision else None
            out.append(self._public(full) if full is not None else record)
        return out

    def close(self) -> None:
        """Close this process's view of the store (a worker's ends with its batch of pages)."""
        if self._store is not None and self._pid == os.getpid():
            self._store.close()
        self._store = None


@dataclass
class SiteStats:
    """What a build wrote and how long it took."""

    records: int = 0
    pages: int = 0
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    card_files: int = 0
    reused: int = 0  # record pages carried over unchanged from the previous site (counted in pages too)
    held: int = 0  # the most whole records (card text, file list) a process held at once for its pages
    warnings: list[str] = field(default_factory=list)

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def environment(template_dirs: Sequence[str | Path] = ()) -> jinja2.Environment:
    """Jinja environment: the user's template folders first, then the shipped ones (as datasette does)."""
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(str(d)) for d in template_dirs]
    loaders.append(jinja2.FileSystemLoader(str(resource("site", "templates"))))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )
    env.globals.update(use_labels=USE_LABELS, csp=CSP, not_stated=views.NOT_STATED)
    env.filters["use_label"] = lambda use: USE_LABELS.get(str(use), str(use))
    # the review's own readings, so the site and `provaudit review` name licenses and group evidence alike
    env.filters["license_label"] = expression_label
    env.filters["license_names"] = expression_names
    env.filters["humanize"] = humanize  # licence ids in messages and fixes named, the id beside
    env.globals["evidence_groups"] = evidence_groups
    # every href/src a template builds from record data goes through this allow-list of schemes
    env.filters["safe_url"] = safe_url
    return env


class _Writer:
    """Writes pages and files under the output folder, counting them."""

    def __init__(self, out: Path, stats: SiteStats) -> None:
        self.out = out
        self.stats = stats

    def page(self, template: jinja2.Template, rel: str, context: dict[str, Any]) -> None:
        """Render straight into the file, a block at a time, without characters HTML5 forbids."""
        path = self.out / rel
        with path.open("w", encoding="utf-8", newline="\n", errors="replace") as handle:
            chunks = template.generate(**context)
            # joined a few thousand at a time in C: pages stream to disk without a Python step per chunk
            while block := "".join(islice(chunks, 4096)):
                handle.write(_html_safe_chars(block))
            self.stats.bytes += handle.tell()
        self.stats.pages += 1
        self.stats.files += 1

    def text(self, rel: str, text: str) -> None:
        data = text.encode("utf-8")
        (self.out / rel).write_bytes(data)
        self.stats.bytes += len(data)
        self.stats.files += 1


def _check_out(out: Path) -> None:
    """An empty folder or an earlier site (replaced as a whole); never anything else."""
    if out.exists() and not out.is_dir():
        raise InputError(str(out), "exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise InputError(str(out), "folder is not empty and holds no provaudit site; choose an empty or new folder")


def _sibling(out: Path, kind: str, pid: int) -> Path:
    """``.<out>.tmp-<pid>`` / ``.<out>.old-<pid>``: beside ``out``, so renames stay on one file system."""
    return out.with_name(f".{out.name}.{kind}-{pid}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # another user's process, or a platform without signals: leave its folders alone
    return True


def _clean_leftovers(out: Path) -> None:
    """Remove what builds killed before the end left beside ``out``; put a previous site back if needed.

    A ``.tmp-`` folder is an unfinished build (or, after an exchange, the replaced site): removed.
    An ``.old-`` folder is the previous site, moved aside: when the build died between its two
    renames, ``out`` is missing and the previous site is renamed back.
    """
    pattern = re.compile(rf"\.{re.escape(out.name)}\.(tmp|old)-(\d+)")
    try:
        entries = sorted(out.parent.iterdir()) if out.parent.is_dir() else []
    except OSError:
        return
    for path in entries:
        match = pattern.fullmatch(path.name)
        if not match or _alive(int(match.group(2))) or path.is_symlink() or not path.is_dir():
            continue
        if match.group(1) == "old" and not out.exists() and (path / MARKER).exists():
            os.rename(path, out)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _start(out: Path) -> Path:
    """A new, empty site folder beside ``out``, with the folders every build writes into."""
    out.parent.mkdir(parents=True, exist_ok=True)
    work = _sibling(out, "tmp", os.getpid())
    shutil.rmtree(work, ignore_errors=True)  # this process's own earlier attempt
    work.mkdir()
    if out.is_dir():  # keep the folder's permissions (a static host may need more than the umask gives)
        os.chmod(work, stat.S_IMODE(out.stat().st_mode))
    for name in GENERATED_DIRS:
        (work / name).mkdir()
    (work / MARKER).write_text("written by `provaudit site`; the whole folder is replaced on every build\n")
    return work


def _carry_over(out: Path, work: Path) -> None:
    """Top-level files a user put into the previous site (CNAME, .nojekyll) are kept, as copies."""
    if not out.is_dir():
        return
    for path in out.iterdir():
        target = work / path.name
        if path.name in GENERATED_DIRS or path.name in _BOOKKEEPING or os.path.lexists(target):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.copytree(path, target, symlinks=True)
        else:
            shutil.copy2(path, target, follow_symlinks=False)


# renameat2(2) flag: swap two paths in one step (Linux 3.15+, on most local file systems)
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
USE_EXCHANGE = True  # tests turn it off to exercise the two-rename fallback


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths with ``renameat2(RENAME_EXCHANGE)``; False where unavailable."""
    if not USE_EXCHANGE or not sys.platform.startswith("linux"):
        return False
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # a libc without it (glibc < 2.28, older musl)
        return False
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    if function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in {errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP}:
        return False  # kernel or file system without the flag: fall back to two renames
    raise OSError(code, os.strerror(code), str(b))


def _swap(work: Path, out: Path) -> None:
    """Put the finished site at ``out``; the previous one stays whole until this point.

    Where ``renameat2(RENAME_EXCHANGE)`` works, the swap is one atomic step. Elsewhere it is two
    renames (``out`` → ``.old-<pid>``, new → ``out``): between them, for microseconds, ``out`` does
    not exist; a build killed right there leaves the previous site in ``.old-<pid>``, and the next
    build renames it back before it starts.
    """
    try:
        if not os.path.lexists(out):
            os.rename(work, out)
        elif _exchange(work, out):
            shutil.rmtree(work, ignore_errors=True)  # now the previous site
        else:
            old = _sibling(out, "old", os.getpid())
            shutil.rmtree(old, ignore_errors=True)
            os.rename(out, old)
            try:
                os.rename(work, out)
            except OSError:
                os.rename(old, out)  # put the previous site back rather than leave no site
                raise
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise InputError(
            str(out), f"cannot replace the folder ({exc.strerror or exc}); if it is a mount point, use a folder in it"
        ) from exc


def _copy_static(out: Path, stats: SiteStats) -> None:
    for path in sorted(resource("site", "static").iterdir()):
        if path.is_file():
            shutil.copyfile(path, out / "static" / path.name)
            stats.files += 1
            stats.bytes += path.stat().st_size


def _exporters() -> tuple[Callable[..., str] | None, Callable[..., str] | None]:
    """The card and UMR exporters when they load (the site builds without its downloads otherwise)."""
    card: Callable[..., str] | None
    umr: Callable[..., str] | None
    try:
        from provaudit.export.cards import render_card

        card = render_card
    except Exception:  # missing, or broken: a site without downloads beats no site
        card = None
    try:
        from provaudit.export.umr import to_umr_yaml

        umr = to_umr_yaml
    except Exception:
        umr = None
    return card, umr


def _all_findings(record: Record, review: RecordReview | None) -> list[Finding]:
    """The review's findings plus the collectors' own ones it did not repeat."""
    found = list(review.findings) if review else []
    seen = {(f.rule, f.message) for f in found}
    found += [f for f in record.findings if (f.rule, f.message) not in seen]
    return sorted(found, key=lambda f: (-f.severity.rank, f.rule, f.message))


def _publisher(record: Record) -> str:
    for role in ("publisher", "creator", "author"):
        for agent in record.agents:
            if agent.role == role:
                return agent.name
    return ""


def _lookup_history(history: HistoryLookup | None, rid: str) -> list[RevisionInfo]:
    if history is None:
        return []
    if callable(history):
        return history(rid)
    return list(history.get(rid, []))


@dataclass
class _Job:
    """Everything record pages need, prepared once (and shared with worker processes by fork)."""

    out: Path
    env: jinja2.Environment
    records: list[Record]
    reviews: dict[str, RecordReview]
    slugs: dict[str, str]
    lineage: LineageIndex
    record_hrefs: dict[str, str]
    record_collections: dict[str, list[str]]
    collection_slugs: dict[str, str]
    findings: dict[str, list[Finding]]
    revisions: dict[str, list[RevisionInfo]]
    base: dict[str, Any]
    render_card: Callable[..., str] | None
    to_umr_yaml: Callable[..., str] | None
    markdown: _MarkdownCache
    runs: dict[str, list[RunView]] = field(default_factory=dict)  # record id → the runs that generated it
    # model record id → (consuming model id, its page, links): models fed this model's predictions
    used_by: dict[str, list[tuple[str, str | None, int]]] = field(default_factory=dict)
    previous: Path | None = None  # the earlier site, whose unchanged pages are carried over
    manifest: dict[str, incremental.Entry] = field(default_factory=dict)  # the earlier site's page keys
    fingerprint: str = ""  # code, templates, assets and settings every page depends on
    # record id -> digest of what the store holds for it (revision, location, review): stands for the record
    # and review in its page key, so an unchanged page is recognised without the whole record
    content_keys: Mapping[str, str] = field(default_factory=dict)
    # the whole records of a page of ``records`` (which may be light: no card text, no file list)
    fetch: FullRecords | None = None
    page_size: int = PAGE_SIZE
    ids: list[str] = field(default_factory=list)  # records[i].id, read without touching the record
    # record id -> the records its page links to (linked_ids), where content_keys stand for the record and review
    linked: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


_JOB: _Job | None = None  # set in the parent before forking workers, so nothing is pickled
_CACHE_NAME = re.compile(r"[0-9a-f]{64}\.raw")  # a Markdown cache file a manifest may name


def linked_ids(record: Record, review: RecordReview | None, down: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The records a page links to: its upstream, its dependents and every record its review's evidence names."""
    linked = {u.target for u in record.upstream} | {rid for rid, _ in down}
    linked |= {step.record for step in review.evidence} if review else set()
    return tuple(sorted(linked))


def _page_key(job: _Job, index: int, rel: str, graph_parts: object) -> str:
    """Digest of everything the page and downloads of ``job.records[index]`` show (see provaudit.site.incremental).

    Where the store's content keys stand for the record and review, neither object is read here: a forked
    worker that only checks keys copies none of the parent's records and reviews (reading an object writes its
    reference count, which copies its memory page).
    """
    rid = job.ids[index]
    down = job.lineage.down.get(rid, [])
    revisions = job.revisions.get(rid, [])
    content = job.content_keys.get(rid)
    if content is None:  # records given whole: they stand for themselves
        record, rv = job.records[index], job.reviews.get(rid)
        shown: tuple[str, ...] = (record.model_dump_json(), rv.model_dump_json() if rv else "-")
        linked = linked_ids(record, rv, down)
    else:
        shown, linked = (content,), job.linked[rid]
    return (
        incremental.KeyHasher(job.fingerprint)
        .add(rel, *shown, graph_parts, down)
        .add([(other, job.record_hrefs.get(other)) for other in linked])
        .add([(n, job.collection_slugs[n]) for n in job.record_collections[rid]])
        .add([(r.iri, r.generated, r.scan, r.digest) for r in revisions])
        .add(job.runs.get(rid, []), job.used_by.get(rid, []))
        .hexdigest()
    )


def _record_pages(indices: Sequence[int]) -> tuple[SiteStats, dict[str, incremental.Entry]]:
    """Render the record pages (and their card downloads) of these records; safe to run in a worker.

    A page whose key equals the previous site's is linked from it instead, with its downloads. The
    pages to render are taken ``job.page_size`` at a time: only their whole records are read and held.
    Returns the counts and the manifest entries of these pages.
    """
    job = _JOB
    assert job is not None
    stats = SiteStats()
    entries: dict[str, incremental.Entry] = {}
    order: list[str] = []
    writer = _Writer(job.out, stats)
    template = job.env.get_template("record.html")
    todo: list[tuple[int, str]] = []
    try:
        for i in indices:
            rid = job.ids[i]
            rel = f"records/{job.slugs[rid]}.html"
            order.append(rel)
            nodes, edges = job.lineage.neighbourhood(rid, more_href="#umr-relations")
            key = _page_key(job, i, rel, (nodes, edges))
            if not _carried(job, stats, entries, rel, key):
                entries[rel] = incremental.Entry(key)
                todo.append((i, rel))
            if len(todo) >= job.page_size:
                _render_pages(job, writer, template, todo, entries)
                todo = []
        _render_pages(job, writer, template, todo, entries)
    finally:
        if job.fetch is not None:
            job.fetch.close()
    # in the records' order, however the pages were batched
    stats.warnings += [w for rel in order for w in entries[rel].warnings]
    return stats, entries


def _carried(job: _Job, stats: SiteStats, entries: dict[str, incremental.Entry], rel: str, key: str) -> bool:
    """Link the previous site's page (its downloads, its card's Markdown rendering) when its key is ``key``."""
    old = job.manifest.get(rel)
    if old is None or old.key != key or job.previous is None:
        return False
    size = incremental.carry_over(job.previous, job.out, [rel, *old.files])
    if size < 0:
        return False
    for name in old.cache:  # the rendering stays cached for the day the page changes
        if _CACHE_NAME.fullmatch(name):
            job.markdown.keep_file(name)
    entries[rel] = old
    if rel.startswith("records/"):  # SiteStats.reused counts record pages (a collection card may be carried too)
        stats.reused += 1
    stats.pages += 1
    stats.files += 1 + len(old.files)
    stats.card_files += len(old.files)
    stats.bytes += size
    return True


def _render_pages(
    job: _Job,
    writer: _Writer,
    template: jinja2.Template,
    todo: Sequence[tuple[int, str]],
    entries: dict[str, incremental.Entry],
) -> None:
    """Render a page of record pages: their whole records read together, held only while they render."""
    if not todo:
        return
    stats = writer.stats
    shown = [job.records[i] for i, _ in todo]
    records = job.fetch(shown) if job.fetch is not None else shown
    stats.held = max(stats.held, len(records))
    for record, (_, rel) in zip(records, todo, strict=True):
        _render_page(job, writer, template, record, rel, entries[rel])


def _render_page(
    job: _Job, writer: _Writer, template: jinja2.Template, record: Record, rel: str, entry: incremental.Entry
) -> None:
    """One record page and its card downloads."""
    stats = writer.stats
    rv = job.reviews.get(record.id)
    slug = job.slugs[record.id]
    nodes, edges = job.lineage.neighbourhood(record.id, more_href="#umr-relations")
    card_fact = next((f for f in record.facts if f.key == views.CARD_FACT), None)
    if card_fact:
        entry.cache.append(job.markdown.name(card_fact.value))
    graph = render_svg(record.id, nodes, edges, f"Lineage of {record.name}: {len(nodes)} records")
    downloads: list[tuple[str, str, str]] = []
    for exporter, suffix, label in (
        (job.render_card, "README.md", "Hugging Face card"),
        (job.to_umr_yaml, "umr.yaml", "UMR record (YAML)"),
    ):
        if exporter is None:
            continue
        try:
            text = exporter(record, rv)
        except Exception as exc:  # one record's exporter failure must not stop the site
            entry.warnings.append(f"{record.id}: {suffix} not generated: {exc}")
            continue
        writer.text(f"downloads/{slug}.{suffix}", text)
        entry.files.append(f"downloads/{slug}.{suffix}")
        stats.card_files += 1
        downloads.append((f"../downloads/{slug}.{suffix}", suffix, label))
    revisions = job.revisions.get(record.id, [])
    upstream_links = [
        views.Link(
            id=u.target,
            label=u.target,
            kind="",
            href=job.record_hrefs.get(u.target),
            relation=u.relation.value.replace("_", " "),
            raw=u.raw,
            source=views.source_ref(u.source),
            version=u.version,
            inferred=f"inferred ({u.evidence or u.raw}; confidence {u.confidence:.2f}), not declared"
            if u.inferred
            else None,
        )
        for u in record.upstream
    ]
    context = {
        **job.base,
        # a record page is rewritten only when what it shows changes, so it does not name the build time
        "built": "",
        "root": "../",
        "page": "record",
        "record": record,
        "review": rv,
        "findings": job.findings[record.id],
        "publisher": _publisher(record),
        "umr": views.umr_sections(record, rv, job.record_hrefs, job.lineage.down.get(record.id, [])),
        "card_html": job.markdown.html(card_fact.value) if card_fact else None,
        "card_source": views.source_ref(card_fact.source) if card_fact else None,
        "graph": graph,
        "upstream_links": upstream_links,
        "source_ref": views.source_ref,
        "record_hrefs": job.record_hrefs,
        "revisions": views.revision_views(revisions, record.content_digest() if len(revisions) > 1 else None),
        "downloads": downloads,
        "collections": [(n, job.collection_slugs[n]) for n in job.record_collections[record.id]],
        "runs": job.runs.get(record.id, []),
        "used_by": job.used_by.get(record.id, []),
    }
    writer.page(template, rel, context)


class _MarkdownCache:
    """markdown-it renderings of card bodies by content hash, one file each, kept in the site between builds.

    Parsing Markdown is most of a page's work and card bodies rarely change between scans. Only
    the unsanitized rendering is cached: nh3 cleans every card each time a page is rendered, so a
    stale or tampered cache file can never put unsafe HTML on a page. Entries the new site uses
    are linked from the previous site's folder, so the cache never grows with removed cards and is
    never held in memory as a whole.
    """

    def __init__(self, previous: Path | None, out: Path) -> None:
        self.previous = previous / CACHE_DIR if previous else None
        self.folder = out / CACHE_DIR
        self.folder.mkdir(exist_ok=True)

    @staticmethod
    def name(text: str) -> str:
        """The cache file of a card body's rendering (named in the manifest beside its page)."""
        digest = hashlib.sha256(f"{RENDER_VERSION}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()
        return f"{digest}.raw"  # not .html: a static host must never serve unsanitized HTML as a page

    def _carry(self, name: str) -> bool:
        """The previous site's rendering of this name linked into the new site; False when it has none."""
        if self.previous is None:
            return False
        source = os.path.join(self.previous, name)
        try:  # one lstat: a regular file, never a symlink (a rebuild that carries every page does this per page)
            if not stat.S_ISREG(os.lstat(source).st_mode):
                return False
        except OSError:
            return False
        incremental.link_or_copy(source, os.path.join(self.folder, name))
        return True

    def keep_file(self, name: str) -> None:
        """Carry the rendering (by its file :meth:`name`) of a card whose page was not re-rendered."""
        self._carry(name)

    def html(self, text: str) -> Markup:
        name = self.name(text)
        target = self.folder / name
        if target.is_file() or self._carry(name):
            try:
                return sanitize(target.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                pass  # unreadable: render again
        raw = render_raw(text)
        partial = target.with_name(f"{name}.{os.getpid()}.partial")  # never written in place: it may be a link
        partial.write_text(raw, encoding="utf-8")
        os.replace(partial, target)
        return sanitize(raw)


def _workers(requested: int | None, count: int) -> int:
    """Worker processes for record pages: forked (no pickling), so only where fork exists."""
    if requested is not None:
        return max(1, requested)
    if count < 200 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def build_site(
    records: Iterable[Record],
    review: ReviewReport,
    out: Path,
    *,
    history: HistoryLookup | None = None,
    template_dirs: Sequence[str | Path] = (),
    scan_targets: Sequence[str] = (),
    title: str = "provaudit",
    workers: int | None = None,
    runs: Iterable[RunRecord] = (),
    used_by: Mapping[str, Mapping[str, int]] | None = None,
    built: str | None = None,
    content_keys: Mapping[str, str] | None = None,
    fetch: FullRecords | None = None,
    page_size: int = PAGE_SIZE,
) -> SiteStats:
    """Write the whole site into ``out``: every record and collection, the catalog and the audit page.

    ``history`` gives the revisions of a record id (a mapping, or a function such as a store's
    ``history``); ``scan_targets`` are the scanned folders, used to group records that the review
    puts in no collection; ``workers`` is the number of processes for record pages (default: one
    per core when the platform can fork and the site is large); ``runs`` are the training runs
    (model pages list the runs that generated them; graphs draw them between data and model);
    ``used_by``: model record id → the models that consumed its predictions, with the number of
    ``depends_on`` links (:func:`provaudit.versions.composed.used_by`), listed on its page;
    ``built``: the build time the overview pages name (default: ``SOURCE_DATE_EPOCH`` when set, else now).

    ``records`` may be light (no card text, no file list) when ``fetch`` reads the whole ones of a page of
    them (:class:`FullRecords`), ``page_size`` at a time; ``content_keys`` (record id → digest of the
    stored revision, location and review) then stands for the record and review in each page's key.

    When ``out`` holds an earlier site, record pages whose key did not change (see
    :mod:`provaudit.site.incremental`) are carried over from it instead of rendered again.
    The site is built in a folder beside ``out`` and swapped in when complete: a build that fails
    or is killed leaves the previous site as it was (see :func:`_swap`).
    """
    # a symlinked --out: the folder it points to is replaced, the link stays
    out = Path(os.path.realpath(out)) if os.path.islink(out) else out
    _clean_leftovers(out)
    _check_out(out)
    work = _start(out)
    # the records and reviews live until the end: kept out of the collector's passes (each pass would
    # scan millions of their objects), so neither this process nor a forked worker touches, and so
    # copies, the memory of every record to scan it
    gc.freeze()
    try:
        stats = _build(
            records,
            review,
            work,
            previous=out,
            history=history,
            template_dirs=template_dirs,
            scan_targets=scan_targets,
            title=title,
            workers=workers,
            runs=runs,
            used_by=used_by,
            built=built,
            content_keys=content_keys or {},
            fetch=fetch,
            page_size=max(1, page_size),
        )
        _carry_over(out, work)
        _swap(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        gc.unfreeze()
    return stats


def _build(
    records: Iterable[Record],
    review: ReviewReport,
    out: Path,
    *,
    history: HistoryLookup | None = None,
    template_dirs: Sequence[str | Path] = (),
    scan_targets: Sequence[str] = (),
    title: str = "provaudit",
    workers: int | None = None,
    previous: Path | None = None,
    runs: Iterable[RunRecord] = (),
    used_by: Mapping[str, Mapping[str, int]] | None = None,
    built: str | None = None,
    content_keys: Mapping[str, str] | None = None,
    fetch: FullRecords | None = None,
    page_size: int = PAGE_SIZE,
) -> SiteStats:
    """Write every page into ``out``, a new folder; ``previous`` is the earlier site (its pages and cache)."""
    global _JOB
    started = time.perf_counter()
    stats = SiteStats()
    records = sorted(records, key=lambda r: r.id)
    reviews = {r.id: r for r in review.records}
    env = environment(template_dirs)
    _copy_static(out, stats)
    writer = _Writer(out, stats)
    render_card, to_umr_yaml = _exporters()
    if render_card is None or to_umr_yaml is None:
        stats.warnings.append("card exporters not installed: record pages have no README.md / UMR YAML downloads")

    slugs = slugs_for(r.id for r in records)
    known = {r.id: (reviews[r.id].use.value if r.id in reviews else Use.UNSPECIFIED.value) for r in records}
    record_hrefs = {rid: f"{slug}.html" for rid, slug in slugs.items()}
    runs = list(runs)
    lineage = LineageIndex(
        {r.id: [(u.target, u.relation.value) for u in r.upstream] for r in records},
        known,
        lambda rid: f"{slugs[rid]}.html" if rid in slugs else None,
        run_links(runs, record_hrefs),
        # each node names its effective licence in words (colour alone says only the use category)
        {rid: node_license(rv.effective_license) for rid, rv in reviews.items()},
    )

    # collections: the review's, else the scan target folder or the record's parent folder
    members: dict[str, list[str]] = defaultdict(list)
    record_collections: dict[str, list[str]] = {}
    for record in records:
        rv = reviews.get(record.id)
        names = list(rv.collections) if rv and rv.collections else []
        if not names:
            fallback = views.collection_name_for(record.location, scan_targets)
            names = [fallback] if fallback else []
        record_collections[record.id] = names
        for name in names:
            members[name].append(record.id)
    collection_slugs = {
        n.removeprefix("c:"): s.removeprefix("c-") for n, s in slugs_for(f"c:{n}" for n in members).items()
    }

    findings = {r.id: _all_findings(r, reviews.get(r.id)) for r in records}
    base = {"site_title": title, "policy": review.policy, "built": built or _build_time()}
    # the title and policy are on every page; the build time only on the overview pages, rewritten each build
    fingerprint = incremental.fingerprint(
        template_dirs,
        title,
        review.policy,
        f"exporters:{render_card is not None}:{to_umr_yaml is not None}",
        # a user's template may look up any record's page: then every id is part of every page's key
        _digest_ids(slugs.items()) if template_dirs else "",
    )
    if previous is not None and previous.is_dir():
        manifest = incremental.load(previous, fingerprint)
    else:
        previous, manifest = None, {}
    _JOB = _Job(
        out=out,
        env=env,
        records=records,
        reviews=reviews,
        slugs=slugs,
        lineage=lineage,
        record_hrefs=record_hrefs,
        record_collections=record_collections,
        collection_slugs=collection_slugs,
        findings=findings,
        revisions={r.id: _lookup_history(history, r.id) for r in records},
        base=base,
        render_card=render_card,
        to_umr_yaml=to_umr_yaml,
        markdown=_MarkdownCache(previous, out),
        runs=runs_by_record(runs, record_hrefs),
        used_by={
            up: [(down, record_hrefs.get(down), count) for down, count in sorted(consumers.items())]
            for up, consumers in (used_by or {}).items()
        },
        previous=previous,
        manifest=manifest,
        fingerprint=fingerprint,
        content_keys=content_keys or {},
        fetch=fetch,
        page_size=page_size,
        ids=[r.id for r in records],
        linked={
            r.id: linked_ids(r, reviews.get(r.id), lineage.down.get(r.id, []))
            for r in records
            if content_keys and r.id in content_keys
        },
    )
    entries: dict[str, incremental.Entry] = {}

    # --- record pages: in worker processes while this one writes the overview pages -------------
    count = _workers(workers, len(records))
    pool: ProcessPoolExecutor | None = None
    futures: list[Future[tuple[SiteStats, dict[str, incremental.Entry]]]] = []
    try:
        if count > 1:
            pool = ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("fork"))
            chunks = count * 16  # small parts, so no worker is left with a long tail at the end
            futures = [pool.submit(_record_pages, range(k, len(records), chunks)) for k in range(chunks)]
        else:
            _merge(stats, entries, *_record_pages(range(len(records))))
        _overview_pages(
            writer,
            env,
            records,
            reviews,
            members,
            collection_slugs,
            record_hrefs,
            record_collections,
            findings,
            slugs,
            base,
            entries,
        )
        for future in futures:
            _merge(stats, entries, *future.result())
        incremental.save(out, fingerprint, entries)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        _JOB = None

    stats.records = len(records)
    stats.seconds = time.perf_counter() - started
    return stats


def _build_time() -> str:
    """``SOURCE_DATE_EPOCH`` (reproducible builds) when set, else the current time, to the minute."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _digest_ids(pairs: Iterable[tuple[str, str]]) -> str:
    hasher = incremental.KeyHasher("ids")
    for rid, slug in sorted(pairs):
        hasher.add(rid, slug)
    return hasher.hexdigest()


def _merge(
    total: SiteStats, entries: dict[str, incremental.Entry], part: SiteStats, new: dict[str, incremental.Entry]
) -> None:
    entries.update(new)
    total.reused += part.reused
    total.pages += part.pages
    total.files += part.files
    total.bytes += part.bytes
    total.card_files += part.card_files
    total.held = max(total.held, part.held)
    total.warnings += part.warnings


def _overview_pages(
    writer: _Writer,
    env: jinja2.Environment,
    records: list[Record],
    reviews: dict[str, RecordReview],
    members: dict[str, list[str]],
    collection_slugs: dict[str, str],
    record_hrefs: dict[str, str],
    record_collections: dict[str, list[str]],
    findings: dict[str, list[Finding]],
    slugs: dict[str, str],
    base: dict[str, Any],
    entries: dict[str, incremental.Entry],
) -> None:
    """Collection cards, the collections index, the catalog (with catalog.js) and the audit page.

    A collection card whose key (:func:`_collection_key`) equals the previous site's is carried over, as a
    record page is; its entry goes into ``entries`` (the manifest). The other pages name the build time and
    are written every build.
    """
    by_id = {r.id: r for r in records}
    collection_tpl = env.get_template("collection.html")
    summaries = []
    # declared versus actual (provaudit.rules.audit): the audit page's table, each card's, catalog filters
    actual = {rid: rv.use.value for rid, rv in reviews.items()}
    unaudited = unaudited_verdicts(reviews.values())
    audit = SiteAudit.build(records, actual, base["policy"], members, unaudited)
    job = _JOB
    for name in sorted(members):
        chosen = [by_id[i] for i in members[name]]
        summaries.append(
            {"name": name, "slug": collection_slugs[name], **_collection_summary(chosen, reviews, findings)}
        )
        rel = f"collections/{collection_slugs[name]}.html"
        key = _collection_key(job, name, rel, chosen, reviews, audit) if job is not None else ""
        if job is not None and _carried(job, writer.stats, entries, rel, key):
            continue
        card = _collection_card(name, chosen, reviews, findings)
        card["audit"] = audit.view(name) if audit else None
        card["charts"] += audit.observation_charts(name) if audit else []
        context = {
            **base,
            # a card is rewritten only when what it shows changes, so it does not name the build time
            "built": "",
            "root": "../",
            "page": "collections",
            "name": name,
            "card": card,
            "record_hrefs": record_hrefs,
        }
        writer.page(collection_tpl, rel, context)
        entries[rel] = incremental.Entry(key)
    writer.page(
        env.get_template("collections.html"),
        "collections.html",
        {**base, "root": "", "page": "collections", "collections": summaries},
    )

    rows: list[dict[str, Any]] = []
    for record in records:
        rv = reviews.get(record.id)
        found = findings[record.id]
        rows.append(
            {
                "id": record.id,
                "name": record.name,
                "title": record.fact("title") or "",
                "kind": record.kind.value,
                "publisher": _publisher(record),
                "declared": sorted({c.expression or c.raw for c in record.claims}),
                "declared_names": declared_names(record),
                "effective": (rv.effective_license if rv else None) or "",
                "effective_names": expression_names(rv.effective_license) if rv and rv.effective_license else "",
                "use": rv.use.value if rv else Use.UNSPECIFIED.value,
                "conditions": sorted({c.kind for c in rv.conditions}) if rv else [],
                "condition_texts": [{"text": c.text} for c in rv.conditions] if rv else [],
                "findings": len(found),
                "worst": max((f.severity for f in found), key=lambda s: s.rank).value if found else "",
                "collections": record_collections[record.id],
                "href": f"records/{slugs[record.id]}.html",
                "audit": audit.keys.get(record.id, []) if audit else [],
            }
        )
    _write_catalog_js(writer, rows)
    facets = {
        "kind": _counted(r["kind"] for r in rows),
        "license": _counted(r["effective"] or "none" for r in rows),
        "use": [(u.value, sum(1 for r in rows if r["use"] == u.value)) for u in Use],
        # commercial with conditions, and each kind of condition (a Llama licence's user limit, a RAIL's restrictions)
        "conditions": [
            ("any", "with conditions", sum(1 for r in rows if r["conditions"])),
            ("none", "without conditions", sum(1 for r in rows if not r["conditions"])),
            *((k, KIND_LABELS[k], n) for k in KINDS if (n := sum(1 for r in rows if k in r["conditions"]))),
        ],
        "collection": _counted(c for r in rows for c in r["collections"]),
    }
    writer.page(
        env.get_template("index.html"),
        "index.html",
        {**base, "root": "", "page": "catalog", "rows": rows, "facets": facets, "static_rows": STATIC_ROWS},
    )

    audit_rows: list[dict[str, Any]] = [
        {
            "record": record,
            "href": f"records/{slugs[record.id]}.html#audit",
            "finding": f,
            "collections": record_collections[record.id],
        }
        for record in records
        for f in findings[record.id]
    ]
    # most severe first, so the rows listed without JavaScript are the ones that matter most
    audit_rows.sort(key=lambda row: -row["finding"].severity.rank)
    _write_findings_js(writer, audit_rows)
    severities = sorted(Severity, key=lambda s: -s.rank)
    audit_facets = {
        "rule": _counted(row["finding"].rule for row in audit_rows),
        "severity": [(s.value, sum(1 for row in audit_rows if row["finding"].severity == s)) for s in severities],
        "collection": _counted(c for row in audit_rows for c in row["collections"]),
    }
    writer.page(
        env.get_template("audit.html"),
        "audit.html",
        {
            **base,
            "root": "",
            "page": "audit",
            "rows": audit_rows,
            "facets": audit_facets,
            "static_rows": STATIC_ROWS,
            "audit_table_view": audit.view() if audit else None,
        },
    )


def node_license(expression: str | None) -> str:
    """A lineage node's licence line: the first licence by name, and how many more the expression has."""
    names = re.split(r"\s+(?:AND|OR|WITH)\s+", expression_names(expression).strip("()"))
    return names[0].strip("()") + (f" +{len(names) - 1}" if len(names) > 1 else "")


def declared_names(record: Record) -> list[tuple[str, str]]:
    """(name, id) of each license a record declares, for people: the Hub's `other` by its license_name."""
    out: dict[str, tuple[str, str]] = {}
    for claim in record.claims:
        if claim.expression == OTHER:
            pair = (claim.name or "custom license, no name given", claim.raw)
        elif claim.expression:
            pair = (expression_names(claim.expression), claim.expression)
        else:
            pair = (f"unread: {claim.raw}", claim.raw)
        out.setdefault(pair[1] if claim.expression != OTHER else f"{OTHER}:{pair[0]}", pair)
    return sorted(out.values(), key=lambda p: p[1])


def _counted(values: Iterable[str]) -> list[tuple[str, int]]:
    return sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0]))


def _write_catalog_js(writer: _Writer, rows: list[dict[str, Any]]) -> None:
    """The search index as shards of rows (provaudit.site.shards): a browser loads a page of rows at a time."""
    fields = [
        "id",
        "name",
        "title",
        "kind",
        "publisher",
        "declared",
        "effective",
        "use",
        "conditions",
        "declared_names",
        "effective_names",
        "findings",
        "worst",
        "collections",
        "href",
        "audit",
    ]
    i = {name: n for n, name in enumerate(fields)}
    facets: dict[str, Callable[[list[Any]], Iterable[str]]] = {
        "kind": lambda r: [r[i["kind"]]],
        "license": lambda r: [r[i["effective"]] or "none"],
        "use": lambda r: [r[i["use"]]],
        "conditions": lambda r: r[i["conditions"]] or ["none"],
        "collection": lambda r: r[i["collections"]],
    }
    shards.write(writer.text, "catalog", fields, ([row[f] for f in fields] for row in rows), facets)


def _location(finding: Finding) -> str:
    """Where a finding was read, unless its message already starts with it (shown once, not twice)."""
    where = finding.source.describe() if finding.source else ""
    return "" if where and finding.message.startswith(where) else where


def _write_findings_js(writer: _Writer, rows: list[dict[str, Any]]) -> None:
    """Every finding for the audit page's filters, as shards (like the catalog), most severe first."""
    fields = ["severity", "rule", "name", "kind", "href", "message", "source", "fix", "collections"]
    i = {name: n for n, name in enumerate(fields)}
    facets: dict[str, Callable[[list[Any]], Iterable[str]]] = {
        "rule": lambda r: [r[i["rule"]]],
        "severity": lambda r: [r[i["severity"]]],
        "collection": lambda r: r[i["collections"]],
    }
    shards.write(
        writer.text,
        "findings",
        fields,
        (
            [
                row["finding"].severity.value,
                row["finding"].rule,
                row["record"].name,
                row["record"].kind.value,
                row["href"],
                humanize(row["finding"].message),
                _location(row["finding"]),
                humanize(row["finding"].fix),
                row["collections"],
            ]
            for row in rows
        ),
        facets,
    )


def _collection_key(
    job: _Job, name: str, rel: str, records: list[Record], reviews: dict[str, RecordReview], audit: SiteAudit | None
) -> str:
    """Digest of everything a collection card shows: each member as its page key names it (the stored
    revision, location and review, else the record and review themselves), its link, and the policy the
    declared-versus-actual table reads (its content, not only its name)."""
    hasher = incremental.KeyHasher(job.fingerprint).add(rel, name, repr(audit.policy) if audit else "-")
    for record in records:
        content = job.content_keys.get(record.id)
        if content is None:
            rv = reviews.get(record.id)
            hasher.add(record.model_dump_json(), rv.model_dump_json() if rv else "-")
        else:
            hasher.add(content)
        hasher.add(record.id, job.record_hrefs[record.id])
    return hasher.hexdigest()


def _collection_summary(
    records: list[Record], reviews: dict[str, RecordReview], findings: dict[str, list[Finding]]
) -> dict[str, Any]:
    """A collection's line in the collections index: records, their kinds and use categories, findings."""
    kinds = Counter(r.kind.value for r in records)
    uses = Counter((reviews[r.id].use.value if r.id in reviews else Use.UNSPECIFIED.value) for r in records)
    return {
        "records": len(records),
        "kinds": dict(kinds),
        "use": {u.value: uses.get(u.value, 0) for u in Use},
        "findings": sum(len(findings[r.id]) for r in records),
    }


def _collection_card(
    name: str, records: list[Record], reviews: dict[str, RecordReview], findings: dict[str, list[Finding]]
) -> dict[str, Any]:
    """A Data Provenance Card: who made the data, from where, under which terms, in which languages."""
    key = "chart"
    summary = _collection_summary(records, reviews, findings)
    use_items = [(USE_LABELS[u.value], summary["use"][u.value]) for u in Use]
    licenses = Counter((reviews[r.id].effective_license if r.id in reviews else None) or "none" for r in records)
    declared = Counter(
        c.expression or f"unread: {c.raw}" for r in records for c in {c.raw: c for c in r.claims}.values()
    )
    # one creator however it is spelled ("HuggingFaceH4", "Hugging Face H4"): counted by identity
    spelled = [a.name for r in records for a in r.agents]
    display = {agent_key(n): n for n in merge_agents(spelled)}
    creators = Counter(display[k] for r in records for k in {agent_key(a.name) for a in r.agents} if k in display)
    sources = Counter(
        u.target
        for r in records
        for u in r.upstream
        if u.relation.value in {"text_source", "derived_from", "generated_by"}
    )
    languages = Counter(f.value for r in records for f in {f.value: f for f in r.facts if f.key == "language"}.values())
    tasks = Counter(f.value for r in records for f in {f.value: f for f in r.facts if f.key == "task"}.values())
    severities = Counter(f.severity.value for r in records for f in findings[r.id])
    flags = Counter(
        flag
        for r in records
        if r.id in reviews
        for flag, on in (
            ("attribution required", reviews[r.id].attribution),
            ("share-alike", reviews[r.id].share_alike),
            ("no derivatives", reviews[r.id].no_derivatives),
            ("use restrictions", reviews[r.id].use_restrictions),
        )
        if on
    )
    n = len(records)
    return {
        "summary": summary,
        "kinds": sorted(summary["kinds"].items()),
        "flags": sorted(flags.items()),
        "severities": [(s.value, severities.get(s.value, 0)) for s in sorted(Severity, key=lambda s: -s.rank)],
        "charts": [
            (
                "Use categories",
                bar_chart(
                    f"{key}-use",
                    f"Use categories of the {n} records in {name}",
                    use_items,
                    classes=[f"bar use-{u.value}" for u in Use],
                ),
            ),
            ("Effective licenses", bar_chart(f"{key}-lic", f"Effective licenses in {name}", views.top(licenses, 12))),
            (
                "Declared licenses",
                bar_chart(f"{key}-decl", f"Declared licenses in {name}", views.top(declared, 12), unit="records"),
            ),
            (
                "Creators and publishers",
                bar_chart(f"{key}-cre", f"Creators and publishers in {name}", views.top(creators, 12)),
            ),
            ("Sources", bar_chart(f"{key}-src", f"Sources (upstream data) of {name}", views.top(sources, 12))),
            ("Languages", bar_chart(f"{key}-lang", f"Languages in {name}", views.top(languages, 15))),
            ("Tasks", bar_chart(f"{key}-task", f"Tasks in {name}", views.top(tasks, 12))),
        ],
        "records": [{"record": r, "review": reviews.get(r.id), "findings": len(findings[r.id])} for r in records],
    }


def history_from_store(store: Store, records: Iterable[Record]) -> Callable[[str], list[RevisionInfo]]:
    """A history lookup of ``records`` read at once (:func:`provaudit.store.bulk.histories`), not a
    ``store.history()`` query per record: a record seen once has its current record as its whole history."""
    from provaudit.store.bulk import histories

    found = histories(store, {r.id: r for r in records})

    def lookup(rid: str) -> list[RevisionInfo]:
        return list(found.get(rid, []))

    return lookup


def _public_record(paths: PublicPaths, record: Record) -> Record:
    """``paths.record(record)``, cheaply where only the record's location names a scanned folder.

    The general rewrite round-trips the record through JSON and validation; nearly every record has
    a local path only in ``location``, which is rewritten on a shallow copy instead (same result).
    """
    pattern = paths.pattern()
    if pattern is None or not record.location:
        return paths.record(record)
    if pattern.search(record.model_dump_json(exclude={"location"})):
        return paths.record(record)
    return record.model_copy(update={"location": paths.text(record.location)})


def build_site_from_store(
    store: str | Path | Store | None,
    out: Path,
    *,
    policy: str = "default",
    template_dirs: Sequence[str | Path] = (),
    title: str = "provaudit",
    workers: int | None = None,
    base_url: str | None = None,
    logs: Sequence[str | Path] = (),
    page_size: int = PAGE_SIZE,
) -> SiteStats:
    """Read the current records of a store (an open one, or its folder), review them under ``policy``, build.

    ``logs``: prediction logs whose ``depends_on`` links show, on each model's page, the models that
    consumed its predictions ("used by").

    The reviews are the review cache's (provaudit.rules.review_cache: an unchanged record's review is
    read, not made again), as ``provaudit review`` prints them. A store named by its folder is read
    light (no card text, no file lists); the pages to render read their whole records ``page_size`` at a
    time (:class:`FullRecords`), and each page's key names the stored revision instead of the record.

    Local absolute paths are published relative to the scanned roots, each root named by its folder
    name or under ``base_url`` (see provaudit.export.public_paths).
    """
    from provaudit import api
    from provaudit.export.public_paths import PublicPaths
    from provaudit.store.bulk import lean_revisions

    # a store named by its folder (or the default one) is opened again, page by page, by the page processes
    where = store if store is None or isinstance(store, str | Path) else None
    stream = where is not None or store is None

    def read(db: Store) -> _StoreRead:
        revisions: dict[str, str] = {}  # record id -> current revision
        records: list[Record] = []
        current = db.current_revisions()
        found: list[tuple[str, Record | None]]
        if stream:  # light: the lean forms in one scan of the store
            found = [(lean.revision, lean.record()) for lean in lean_revisions(db, current.values())]
        else:
            found = [(v, db.record_at(v)) for v in current.values()]
        for revision, record in sorted(found, key=lambda pair: pair[0]):
            if record is not None:
                records.append(record)
                revisions[record.id] = revision
        targets = sorted({t for scan in db.scans() for t in scan.targets})
        lookup = history_from_store(db, records)
        # published without local paths: each review rewritten as it is read, never the whole report at once
        reviews, texts = _reviews(db, records, policy, PublicPaths.for_targets(targets, base_url))
        history = {r.id: lookup(r.id) for r in records}
        return _StoreRead(records, revisions, targets, history, load_runs(db), reviews, texts)

    # read everything before building: worker processes are forked and must not inherit a store in use;
    # records hold no reference cycles, so the collector is kept out of the reading (it was 43% of a review)
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 100_000), *threshold[1:])
    try:
        if store is not None and not isinstance(store, str | Path):
            got = read(store)
        else:
            with api.open_store(where, read_only=True) as db:
                got = read(db)
    finally:
        gc.set_threshold(*threshold)
    consumers: dict[str, dict[str, int]] = {}
    problems: list[str] = []
    if logs:
        from provaudit.versions.composed import used_by

        consumers, problems = used_by(logs, got.runs)
    # reviewed as stored (collections come from folder names), published without local paths (the reviews
    # were rewritten as they were read)
    paths = PublicPaths.for_targets(got.targets, base_url)
    report = got.review
    # each record rewritten once: a current revision in the history is the same object as its page's record
    current = {r.id: r for r in got.records}
    public = {r.id: _public_record(paths, r) for r in got.records}
    history = {
        rid: [
            replace(rev, record=public[rid] if rev.record is current.get(rid) else paths.record(rev.record))
            for rev in revisions
        ]
        for rid, revisions in got.history.items()
    }
    # what each page shows of its record and review, named by the stored revision and location and the
    # review's text, under these public paths (the page shows the public copy of both)
    setting = incremental.KeyHasher("public").add(paths.targets(got.targets), base_url or "").hexdigest()
    content_keys = {
        rid: incremental.KeyHasher(setting)
        .add(revision, current[rid].location or "", got.texts.get(rid, "-"))
        .hexdigest()
        for rid, revision in got.revisions.items()
    }
    del current  # the records as read: only their public copies are kept (the history held them too)
    got.records, got.history = [], {}
    stats = build_site(
        list(public.values()),
        report,
        out,
        history=history,
        template_dirs=template_dirs,
        scan_targets=paths.targets(got.targets),
        title=title,
        workers=workers,
        runs=got.runs,
        used_by=consumers,
        content_keys=content_keys,
        fetch=FullRecords(where, got.revisions, lambda r: _public_record(paths, r)) if stream else None,
        page_size=page_size,
    )
    stats.warnings += problems
    return stats


@dataclass
class _StoreRead:
    """What a site build reads from a store before it renders anything."""

    records: list[Record]
    revisions: dict[str, str]  # record id -> current revision IRI
    targets: list[str]
    history: dict[str, list[RevisionInfo]]
    runs: list[RunRecord]
    review: ReviewReport
    texts: dict[str, str]  # record id -> digest of its review as cached (its part of the page key)


def _reviews(db: Store, records: list[Record], policy: str, paths: PublicPaths) -> tuple[ReviewReport, dict[str, str]]:
    """The review of every record, its local paths made public (``paths``): the review cache's when the
    review engine is installed, else the stand-in.

    Returns the report and, per record id, a digest of its review's text as stored (its part of each page key).
    """
    try:
        from provaudit.rules.review_cache import review_cached
    except ImportError:
        from provaudit.site.review import review as run_review

        report = run_review(records, policy)
        texts = {r.id: hashlib.sha256(r.model_dump_json().encode()).hexdigest() for r in report.records}
        return paths.model(report), texts
    from provaudit.rules.review_cache import CacheBroken

    streamed = review_cached(db, policy)
    try:
        try:
            return _read_reviews(streamed, paths)
        except CacheBroken:  # a row that does not match its checksum: the cache is made again, once
            if streamed.rebuild is None:
                raise
            streamed.close()
            streamed = streamed.rebuild()
            return _read_reviews(streamed, paths)
    finally:
        streamed.close()


def _read_reviews(streamed: StreamedReview, paths: PublicPaths) -> tuple[ReviewReport, dict[str, str]]:
    """Each cached review validated once, and copied with public paths only when its text names a local one.

    ``paths.model`` on the whole report would serialize, parse and validate every review a second time and
    hold two copies of all of them. The cached text is pydantic's own JSON of the review, so a root that JSON
    writes unescaped is found in it exactly where ``paths.model`` would find it; other roots are looked for
    review by review as ``paths.model`` does.
    """
    report = paths.model(streamed.header.model_copy())
    pattern = paths.pattern()
    plain = all(json.dumps(root, ensure_ascii=False)[1:-1] == root for root in paths.names)
    texts: dict[str, str] = {}
    for text in streamed.fragments():
        review = RecordReview.model_validate_json(text)
        if pattern is not None and (not plain or pattern.search(text)):
            review = paths.model(review)
        report.records.append(review)
        texts[review.id] = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return report, texts
