"""Hugging Face Hub repositories, read through ``huggingface_hub``: ``hf:`` scan targets.

Targets::

    hf:datasets/NAME  hf:datasets/OWNER/NAME  hf:models/OWNER/NAME  hf:models/NAME  hf:OWNER/NAME (a model)
    ...@REVISION                              a branch, tag or commit instead of main
    hf:models?author=OWNER  hf:datasets?search=squad  (&filter=TAG&limit=N)   every repo a listing returns

Each repo becomes one record with the same id the local collector gives the same repo (``dataset:squad``,
``model:org/name``), so a local copy and the Hub merge into one record. ``version`` is the commit sha that
was read; every value's source names the file and field and the Hub URL of that file at that commit.
The card (README.md), ``dataset_infos.json`` and LICENSE files are read with the same code as local folders
(:mod:`provaudit.collectors.cards`); from the Hub's API come the commit, the file list with sizes, the
gating status and the Hub's own reading of the base-model relation (``base_model:finetune:x`` tags).

``base_model``, ``datasets`` and ``source_datasets`` links are followed ``CollectOptions.depth`` levels
deep; the repos reached are yielded as records too. Requests run in parallel (8 at a time by default),
with bounded retries; failures (gated, missing, rate limited, unreachable) become findings on the record
of the repo concerned. With ``HF_HUB_OFFLINE=1`` nothing is requested: repos are read from the local
Hugging Face cache.

Settings (``CollectOptions.extra`` key / environment variable): ``hub_endpoint`` / ``HF_ENDPOINT``,
``hub_cache_dir`` / ``HF_HUB_CACHE`` (or ``HF_HOME``), ``hub_token`` / ``HF_TOKEN``, ``hub_offline`` /
``HF_HUB_OFFLINE``, ``hub_timeout`` / ``PROVAUDIT_HUB_TIMEOUT`` (seconds, 10), ``hub_retries`` /
``PROVAUDIT_HUB_RETRIES`` (4), ``hub_workers`` / ``PROVAUDIT_HUB_WORKERS`` (8), ``hub_backoff`` (1 s),
``hub_max_wait`` (60 s).

Rule ids: PA010 gated or refused (401/403), PA011 not found (404, bad id or revision), PA012 timeout,
connection or server error after retries, PA013 rate limited after retries, PA014 offline and not cached.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from huggingface_hub import HfApi, hf_hub_download, try_to_load_from_cache
from huggingface_hub.file_download import repo_folder_name
from huggingface_hub.utils.tqdm import tqdm as hf_tqdm

from provaudit.collectors import _hub_http as http
from provaudit.collectors import basemodel
from provaudit.collectors.base import CollectOptions
from provaudit.collectors.cards import CardReader, card_records_from_metadata, license_link_path
from provaudit.collectors.local import BASE_FILES, CARD_NAMES, INFO_NAMES, LICENSE_FILE
from provaudit.errors import InputError
from provaudit.records.identity import record_id, split_id
from provaudit.records.model import (
    BASE_RELATIONS,
    Fact,
    FileDigest,
    Finding,
    Kind,
    Record,
    Relation,
    Severity,
    Source,
    Upstream,
)

COLLECTOR = "hub"
PREFIX = "hf:"
# the links a scan with --depth follows; tested_on (model-index) and uses are not lineage of the weights/data
FOLLOW = BASE_RELATIONS | {Relation.TRAINED_ON, Relation.DERIVED_FROM}
_TAG_RELATIONS = {
    "finetune": Relation.FINETUNE,
    "adapter": Relation.ADAPTER,
    "merge": Relation.MERGE,
    "quantized": Relation.QUANTIZED,
}
_LIST_PARAMS = {"author", "search", "filter", "limit"}
_SHA = re.compile(r"^[0-9a-f]{40}$")
_REPO_ID = re.compile(r"^[^/\s@?]+(/[^/\s@?]+)?$")


@dataclass(frozen=True)
class HubRef:
    """One repo (at a revision) on the Hub."""

    kind: Kind
    repo_id: str
    revision: str | None = None

    @property
    def repo_type(self) -> str:
        return "dataset" if self.kind is Kind.DATASET else "model"

    @property
    def record_id(self) -> str:
        return record_id(self.kind, self.repo_id)

    @property
    def target(self) -> str:
        rev = f"@{self.revision}" if self.revision else ""
        return f"{PREFIX}{self.kind.value}s/{self.repo_id}{rev}"

    def web_url(self, endpoint: str) -> str:
        prefix = "datasets/" if self.kind is Kind.DATASET else ""
        return f"{endpoint}/{prefix}{self.repo_id}"

    def file_url(self, endpoint: str, revision: str, path: str) -> str:
        return f"{self.web_url(endpoint)}/blob/{quote(revision, safe='')}/{quote(path)}"

    def api_url(self, endpoint: str, revision: str | None = None) -> str:
        url = f"{endpoint}/api/{self.repo_type}s/{self.repo_id}"
        return f"{url}/revision/{quote(revision, safe='')}" if revision else url


@dataclass(frozen=True)
class HubQuery:
    """A listing: every repo of a kind that matches author / search / filter."""

    kind: Kind
    params: tuple[tuple[str, str], ...]


def parse_target(target: str) -> HubRef | HubQuery:
    """Read an ``hf:`` target; a malformed one is an InputError that shows the accepted forms."""
    if not target.startswith(PREFIX):
        raise InputError(target, "not an hf: target")
    body = target[len(PREFIX) :].strip().lstrip("/")  # hf:x and hf://x alike
    forms = "use hf:datasets/NAME, hf:models/OWNER/NAME (optionally @REVISION) or hf:models?author=OWNER"
    path, has_query, query = body.partition("?")
    path = path.rstrip("/")
    if has_query or path in {"models", "datasets"}:
        if path not in {"models", "datasets"}:
            raise InputError(target, f"a listing is hf:models?... or hf:datasets?...; {forms}")
        parsed = parse_qs(query, keep_blank_values=False)
        unknown = set(parsed) - _LIST_PARAMS
        if unknown:
            raise InputError(target, f"unknown listing parameter(s) {sorted(unknown)}; use {sorted(_LIST_PARAMS)}")
        if not parsed.keys() & {"author", "search", "filter"}:
            raise InputError(target, "a listing needs author=, search= or filter= (the whole Hub is too much)")
        if "limit" in parsed and not (parsed["limit"][-1].isdigit() and int(parsed["limit"][-1]) > 0):
            raise InputError(target, "limit= must be a positive number")
        kind = Kind.MODEL if path == "models" else Kind.DATASET
        return HubQuery(kind, tuple(sorted((k, v[-1]) for k, v in parsed.items())))
    kind = Kind.MODEL
    for prefix, prefix_kind in (("datasets/", Kind.DATASET), ("models/", Kind.MODEL)):
        if path.startswith(prefix):
            kind, path = prefix_kind, path[len(prefix) :]
            break
    else:
        if path.startswith("spaces/"):
            raise InputError(target, "Spaces are applications, not datasets or models; scan what they use instead")
    repo_id, at, revision = path.partition("@")
    if not _REPO_ID.match(repo_id) or (at and not revision):
        raise InputError(target, f"not a Hub repo reference; {forms}")
    return HubRef(kind, repo_id, revision or None)


class _QuietTqdm(hf_tqdm):
    """No download progress bars: a scan shows its own progress."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["disable"] = True
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]  # huggingface_hub's tqdm is unannotated


class HubCollector:
    """Datasets and models on the Hugging Face Hub (or a mirror at HF_ENDPOINT, or the local cache)."""

    name = COLLECTOR
    priority = 20

    def __init__(self) -> None:
        # one record per repo per collector instance: repos reached from several targets are read once
        self._done: dict[HubRef, Record] = {}

    def can_collect(self, target: str) -> bool:
        return target.startswith(PREFIX)

    def collect(self, target: str, options: CollectOptions) -> Iterator[Record]:
        return self.collect_many([target], options)

    def collect_many(self, targets: list[str], options: CollectOptions) -> Iterator[Record]:
        """Several ``hf:`` targets in one go: their repos are fetched in parallel, yielded in target order."""
        settings = http.HubSettings.from_options(options)
        throttle = http.Throttle()
        http.quiet_retries()
        parsed = [(target, parse_target(target)) for target in targets]  # every target checked before any request
        down = http.unreachable(settings) if parsed else None
        seeds: list[HubRef] = []
        for target, ref in parsed:
            if isinstance(ref, HubRef):
                seeds.append(ref)
            elif down is not None:
                raise InputError(
                    target,
                    f"cannot list repos ({http.UNREACHABLE}): {down}; check the network, proxy "
                    "and HF_ENDPOINT (offline, name repos: HF_HUB_OFFLINE=1 reads them from the cache)",
                )
            else:
                seeds += _list(target, ref, settings, throttle)
        return self._walk(seeds, options, settings, throttle, down)

    def _walk(
        self,
        seeds: list[HubRef],
        options: CollectOptions,
        settings: http.HubSettings,
        throttle: http.Throttle,
        down: str | None = None,
    ) -> Iterator[Record]:
        """Fetch the seeds, then their upstream repos level by level down to ``options.depth``."""
        seen = {ref.record_id for ref in seeds}
        level = seeds
        with ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="provaudit-hub") as pool:
            for depth in range(options.depth + 1):
                todo = [ref for ref in dict.fromkeys(level) if ref not in self._done]
                for ref, record in zip(
                    todo, pool.map(lambda r: _fetch(r, options, settings, throttle, down), todo), strict=True
                ):
                    self._done[ref] = record
                next_level: list[HubRef] = []
                for ref in dict.fromkeys(level):
                    record = self._done[ref].model_copy(deep=True)
                    if options.progress:
                        options.progress(record.id)
                    yield record
                    if depth == options.depth:
                        continue
                    for link in record.upstream:
                        if link.relation in FOLLOW and link.target not in seen:
                            seen.add(link.target)
                            kind, name = split_id(link.target)
                            next_level.append(HubRef(kind, name))
                if not next_level:
                    break
                level = next_level


def _list(target: str, query: HubQuery, settings: http.HubSettings, throttle: http.Throttle) -> list[HubRef]:
    """The repos a listing returns, in the Hub's order."""
    if settings.offline:
        raise InputError(target, "a listing needs the Hub; offline (HF_HUB_OFFLINE) only named repos can be read")
    api = HfApi(endpoint=settings.endpoint, token=settings.token)
    params: dict[str, Any] = dict(query.params)
    if "limit" in params:
        params["limit"] = int(params["limit"])
    lister: Callable[..., Any] = api.list_models if query.kind is Kind.MODEL else api.list_datasets
    try:
        # huggingface_hub retries each page request itself (with backoff): retried again here, a Hub that is
        # down took minutes to report
        items = http.with_retries(lambda: list(lister(**params)), replace(settings, retries=0), throttle)
    except Exception as exc:
        problem = http.classify(exc)
        raise InputError(target, f"cannot list repos ({problem.rule}): {problem.message}; {problem.fix}") from exc
    refs = [HubRef(query.kind, item.id) for item in items]
    if not refs:
        raise InputError(target, f"no {query.kind.value}s on {settings.endpoint} match this listing")
    return refs


# --- one repo -------------------------------------------------------------------------------------


def _fetch(
    ref: HubRef,
    options: CollectOptions,
    settings: http.HubSettings,
    throttle: http.Throttle,
    down: str | None = None,
) -> Record:
    """Read one repo into a record; never raises: what goes wrong becomes a finding on the record.

    ``down``: why the Hub cannot be reached at all (nothing is requested; the cache is read if it has the repo).
    """
    record = Record(
        id=ref.record_id,
        kind=ref.kind,
        name=ref.repo_id,
        location=ref.web_url(settings.endpoint),
        collectors=[COLLECTOR],
    )
    urls: dict[str | None, str] = {None: ref.web_url(settings.endpoint)}
    try:
        if settings.offline:
            _read_cached(record, ref, options, settings, urls, offline=True)
        else:
            _read_hub(record, ref, options, settings, throttle, urls, down)
    except Exception as exc:  # a bug or an error type nobody foresaw must not end the scan of the others
        problem = http.classify(exc)
        record.findings.append(problem.finding(ref.target, Source(collector=COLLECTOR, url=urls[None])))
    return _with_urls(record, urls)


def _read_hub(
    record: Record,
    ref: HubRef,
    options: CollectOptions,
    settings: http.HubSettings,
    throttle: http.Throttle,
    urls: dict[str | None, str],
    down: str | None = None,
) -> None:
    api = HfApi(endpoint=settings.endpoint, token=settings.token)
    info_of = api.model_info if ref.kind is Kind.MODEL else api.dataset_info
    api_url = ref.api_url(settings.endpoint, ref.revision)
    try:
        if down is not None:  # refused before: the same answer as every retry would get
            raise ConnectionRefusedError(down)
        info = http.with_retries(
            lambda: info_of(ref.repo_id, revision=ref.revision, timeout=settings.timeout, files_metadata=True),
            settings,
            throttle,
        )
    except Exception as exc:
        problem = http.classify(exc)
        source = Source(collector=COLLECTOR, url=api_url)
        cached = _snapshot(ref, settings) if problem.rule in {http.UNREACHABLE, http.RATE_LIMITED} else None
        if cached is None:
            record.findings.append(problem.finding(ref.target, source))
            return
        # the Hub is down or limiting us, but an earlier scan left this repo in the cache: read that, and say so
        finding = problem.finding(ref.target, source, Severity.WARNING)
        record.findings.append(
            finding.model_copy(update={"message": f"{finding.message}; read from the local cache at {cached[0]}"})
        )
        _read_cached(record, ref, options, settings, urls)
        return

    sha = str(info.sha or ref.revision or "main")
    record.version = info.sha
    record.location = f"{ref.web_url(settings.endpoint)}/tree/{quote(sha, safe='')}"
    api_source = Source(collector=COLLECTOR, url=ref.api_url(settings.endpoint, sha))
    sizes = {s.rfilename: s.size for s in info.siblings or []}
    lfs = {s.rfilename: s.lfs.sha256 for s in info.siblings or [] if s.lfs is not None}
    for path in sizes:
        urls[path] = ref.file_url(settings.endpoint, sha, path)

    def fetch_file(path: str) -> Path | None:
        size = sizes.get(path)
        if size is not None and size > options.max_file_bytes:
            record.findings.append(_too_large(path, size, options.max_file_bytes))
            return None
        try:
            local = hf_hub_download(
                ref.repo_id,
                path,
                repo_type=ref.repo_type,
                revision=sha,
                cache_dir=settings.cache_dir,
                endpoint=settings.endpoint,
                token=settings.token,
                etag_timeout=settings.timeout,
                tqdm_class=_QuietTqdm,
            )
        except Exception as exc:
            problem = http.classify(exc)
            source = Source(collector=COLLECTOR, file=path, url=urls.get(path))
            record.findings.append(problem.finding(path, source, Severity.WARNING))
            return None
        return Path(local)

    # huggingface_hub leaves CardData.to_dict unannotated
    card_data = info.card_data.to_dict() if info.card_data is not None else None  # type: ignore[no-untyped-call]
    downloaded = _read_files(record, ref, sorted(sizes), fetch_file, card_data, api_source, options, urls)
    if downloaded and info.sha:
        _remember_ref(ref, settings, info.sha)

    for tag in info.tags or []:
        parts = str(tag).split(":", 2)
        if len(parts) == 3 and parts[0] == "base_model" and parts[1] in _TAG_RELATIONS and parts[2].strip():
            # the Hub's own reading of the relation, which a card without base_model_relation leaves open
            link = Upstream(
                target=record_id(Kind.MODEL, parts[2]),
                raw=str(tag),
                relation=_TAG_RELATIONS[parts[1]],
                source=api_source.model_copy(update={"field": "tags"}),
            )
            if link.target != record.id:
                record.add("upstream", link)
    if info.gated:
        _fact(record, "gated", str(info.gated), api_source.model_copy(update={"field": "gated"}))
    if info.id and info.id != ref.repo_id:
        _fact(record, "hub_id", info.id, api_source.model_copy(update={"field": "id"}))
    if options.digests:
        for path, size in sorted(sizes.items()):
            if size is None:
                continue
            digest = lfs.get(path) or (_sha256(downloaded[path]) if path in downloaded else None)
            source = Source(collector=COLLECTOR, file=path, url=ref.file_url(settings.endpoint, sha, path))
            record.add("files", FileDigest(path=path, sha256=digest, size=size, source=source))


def _read_cached(
    record: Record,
    ref: HubRef,
    options: CollectOptions,
    settings: http.HubSettings,
    urls: dict[str | None, str],
    *,
    offline: bool = False,
) -> None:
    """Read the repo from the local Hugging Face cache, as an earlier online scan (or download) left it.

    The cache holds files only: what the Hub's API adds (base-model tags, gating, file sizes) is missing,
    so an ``offline`` read says so (PA015) and the store keeps a fuller earlier revision current.
    """
    cached = _snapshot(ref, settings)
    if cached is None:
        record.findings.append(http.NOT_CACHED_PROBLEM.finding(ref.target, Source(collector=COLLECTOR, url=urls[None])))
        return
    sha, folder = cached
    if offline:
        record.findings.append(
            Finding(
                rule=http.OFFLINE_CACHE,
                severity=Severity.INFO,
                message=f"{ref.target}: read offline from the local Hugging Face cache (commit {sha[:12]}); "
                "the Hub API (base-model tags, gating) was not asked",
                source=Source(collector=COLLECTOR, url=urls[None]),
                fix="scan again with network access (HF_HUB_OFFLINE unset) for the Hub's own metadata",
            )
        )
    record.version = sha
    record.location = f"{ref.web_url(settings.endpoint)}/tree/{quote(sha, safe='')}"
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    for path in names:
        urls[path] = ref.file_url(settings.endpoint, sha, path)

    def cached_file(path: str) -> Path | None:
        found = try_to_load_from_cache(
            ref.repo_id, path, cache_dir=settings.cache_dir, revision=sha, repo_type=ref.repo_type
        )
        return Path(found) if isinstance(found, str) else None

    downloaded = _read_files(record, ref, names, cached_file, None, None, options, urls)
    if options.digests:
        for path, local in sorted(downloaded.items()):
            source = Source(collector=COLLECTOR, file=path, url=urls[path])
            record.add("files", FileDigest(path=path, sha256=_sha256(local), size=local.stat().st_size, source=source))


def _remember_ref(ref: HubRef, settings: http.HubSettings, sha: str) -> None:
    """Record in the cache which commit the scanned branch was at, as huggingface_hub does for a branch download.

    Files are downloaded at the commit sha (so that they match the API answer even if the repo moves
    meanwhile); huggingface_hub then writes no ``refs/<branch>``, and an offline scan could not find them.
    """
    revision = ref.revision or "main"
    if _SHA.match(revision):
        return
    path = settings.cache_dir / repo_folder_name(repo_id=ref.repo_id, repo_type=ref.repo_type) / "refs" / revision
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != sha:
            path.write_text(sha)
    except OSError:
        pass  # the cache is a convenience; a read-only one must not fail the scan


def _snapshot(ref: HubRef, settings: http.HubSettings) -> tuple[str, Path] | None:
    """(commit sha, snapshot folder) of the repo's revision in the cache, or None."""
    repo_dir = settings.cache_dir / repo_folder_name(repo_id=ref.repo_id, repo_type=ref.repo_type)
    revision = ref.revision or "main"
    sha = revision if _SHA.match(revision) else None
    ref_file = repo_dir / "refs" / revision
    if sha is None and ref_file.is_file():
        sha = ref_file.read_text().strip()
    if not sha:
        return None
    folder = repo_dir / "snapshots" / sha
    return (sha, folder) if folder.is_dir() else None


def _read_files(
    record: Record,
    ref: HubRef,
    names: list[str],
    get: Callable[[str], Path | None],
    card_data: dict[str, Any] | None,
    api_source: Source | None,
    options: CollectOptions,
    urls: dict[str | None, str],
) -> dict[str, Path]:
    """The card, dataset infos and license files of a repo, with the same readers as a local folder."""
    reader = CardReader(collector=COLLECTOR, max_bytes=options.max_file_bytes)
    findings: list[Finding] = []
    got: dict[str, Path] = {}

    def fetch(name: str) -> Path | None:
        path = get(name)
        if path is not None:
            got[name] = path
        return path

    top = [n for n in names if "/" not in n]
    card_name = next((n for n in CARD_NAMES if n in top), None)
    card_path = fetch(card_name) if card_name else None
    metadata: dict[str, Any] | None = None
    body: str | None = None
    if card_path is not None and card_name is not None:
        metadata, body = reader.read_card(card_path, card_name, findings)
    elif card_name is not None and card_data and api_source is not None and api_source.url:
        # README unreadable (gated, timed out): the Hub's own parse of its front matter still says something;
        # its values name README.md but point at the API response they were read from
        metadata = card_data
        urls[card_name] = api_source.url
        findings.append(
            Finding(
                rule="PA007",
                severity=Severity.INFO,
                message=f"{ref.target}: {card_name} not read; card metadata taken from the Hub API's cardData",
                source=api_source.model_copy(update={"field": "cardData"}),
            )
        )
    elif card_name is None:
        findings.append(
            Finding(
                rule="PA007",
                severity=Severity.WARNING,
                message=f"{ref.target}: no README.md card in the repo",
                source=Source(collector=COLLECTOR),
                fix="add a Hugging Face card (README.md with YAML metadata)",
            )
        )
    card_records_from_metadata(record, metadata or {}, card_name, reader, body)
    for name in INFO_NAMES:
        if name in top and (path := fetch(name)) is not None:
            reader.read_dataset_infos(record, path, name)
    for name in top:
        if LICENSE_FILE.match(name) and (path := fetch(name)) is not None:
            reader.read_license_file(record, path, name)
    # license_link to another file of the repo (MODEL_LICENSE): its text is the actual license
    linked = license_link_path((metadata or {}).get("license_link"), record.name)
    already = linked is not None and "/" not in linked and LICENSE_FILE.match(linked)
    if linked and linked in names and not already and (path := fetch(linked)) is not None:
        reader.read_license_file(record, path, linked)
    if record.kind is Kind.MODEL:
        files: dict[str, tuple[Any, str | None]] = {}
        for name in BASE_FILES:
            if name in top and (path := fetch(name)) is not None:
                data = reader.load_json(path, name, record.findings)
                if data is not None:
                    files[name] = (data, reader.read_text(path, name, []))
        basemodel.infer(
            record,
            collector=COLLECTOR,
            files=files,
            body=body,
            card_file=card_name,
            body_first_line=reader.body_lines.get(card_name or "", 1),
        )
    record.findings[:0] = findings
    return got


# --- helpers --------------------------------------------------------------------------------------


def _with_urls(record: Record, urls: dict[str | None, str]) -> Record:
    """Every source that names a file of the repo gets that file's Hub URL at the scanned commit."""

    def fix(source: Source | None) -> Source | None:
        if source is None or source.url:
            return source
        url = urls.get(source.file)
        return source.model_copy(update={"url": url}) if url else source

    data: dict[str, Any] = {name: getattr(record, name) for name in Record.model_fields}
    for name in ("claims", "upstream", "agents", "files", "facts"):
        data[name] = [item.model_copy(update={"source": fix(item.source)}) for item in data[name]]
    data["findings"] = [f.model_copy(update={"source": fix(f.source)}) for f in record.findings]
    return Record(**data)  # a new record: its de-duplication index is rebuilt from the new items


def _too_large(path: str, size: int, limit: int) -> Finding:
    return Finding(
        rule="PA003",
        severity=Severity.ERROR,
        message=f"{path}: {size} bytes, larger than the {limit}-byte limit; not downloaded",
        source=Source(collector=COLLECTOR, file=path),
        fix="raise --max-file-bytes if this file really is metadata",
    )


def _fact(record: Record, key: str, value: str, source: Source) -> None:
    record.add("facts", Fact(key=key, value=value, source=source))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
