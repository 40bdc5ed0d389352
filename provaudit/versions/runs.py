"""Training runs: which code, environment, parameters and exact data versions made a model.

>>> import provaudit
>>> with provaudit.run("train", params={"lr": 0.01}) as run:     # doctest: +SKIP
...     run.used("data/train")                                   # its data version now (DVC's .dir hash)
...     ...                                                      # train, save model.safetensors
...     run.generated("model.safetensors", kind="model", name="acme/credit-scorer")

A run is a ``prov:Activity`` (``pa:TrainingRun``) in its own named graph, written by
``Store.commit_graph`` when the block ends (an exception: status ``failed``, no model record). It
keeps the code version (git commit, branch, dirty files with their sha256) and the Python
environment as the ``pipeline:`` collector reads them, the command, parameters, metrics, every
input's data version and every output's digest; the whole run also as one ``pa:runJson`` literal
(:class:`RunRecord`), which ``trace`` and ``check`` read back.

Every used folder is read as a dataset record (its card, LICENSE files) with the data version as its
``version``; a generated model becomes a ``model:`` record whose ``trained_on`` links carry that
version, so its review flows from the data it was really trained on. Those records are written as
one scan, so ``history`` and the site see them like any other.

Runs compose: an output (a model, or a dataset such as prepared features) is a record whose version
is its data version. When a later run uses a path with that version, the input *is* that record, and
it keeps the upstream links the earlier run recorded (:func:`link_lineage`), so licences flow through
any number of stages. One artifact is one record: an output whose digest an earlier run already made
reuses that record unless the caller names it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from pydantic import BaseModel, Field
from pyoxigraph import Literal, NamedNode, RdfFormat, Triple, serialize

from provaudit.collectors.local import collect_folder, is_record_folder
from provaudit.collectors.pipeline import (
    PipelineTarget,
    collect_pipeline,
    environment_snapshot,
    normalize_dist,
    tooling,
)
from provaudit.errors import InputError, ProvauditError
from provaudit.records.identity import ID_BASE, clean_name, id_from_iri, record_id, record_iri
from provaudit.records.model import Fact, FileDigest, Kind, Record, Relation, Source, Upstream
from provaudit.store.base import QueryResult, RevisionInfo
from provaudit.store.vocab import DCT, PA, PROV, RDF, RDFS, XSD
from provaudit.versions.data import data_version, file_md5

COLLECTOR = "run"
MAX_ENTRIES = 10_000  # per-file digests kept in the run (so `check` can name the changed file) up to this
_JSON = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON")


class RunStore(Protocol):
    """What runs, ``trace`` and ``check`` ask of a store (a subset of :class:`provaudit.store.base.Store`)."""

    def begin_scan(self, targets: list[str], options: dict[str, object]) -> Any: ...

    def commit_graph(self, graph: str, ntriples: bytes) -> None: ...

    def query(self, sparql: str) -> QueryResult: ...

    def records(self, *, light: bool = False) -> Iterator[Record]: ...

    def history(self, record_id: str) -> list[RevisionInfo]: ...


class CodeVersion(BaseModel):
    """The source tree a run ran from."""

    record: str | None = None  # code:<name> record id
    toplevel: str | None = None
    commit: str | None = None
    branch: str | None = None
    remote: str | None = None
    dirty: list[dict[str, str | None]] = Field(default_factory=list)  # {"status", "path", "sha256"}


class Package(BaseModel):
    name: str
    version: str | None = None
    license: str | None = None
    tooling: bool = False  # provaudit's own requirement, not the code's (no package record, no obligation)


class DataInput(BaseModel):
    """One input as it was when used: its data version (DVC's hash) and, up to MAX_ENTRIES, its files."""

    path: str  # relative to the code's top level when inside it, else absolute
    location: str  # absolute
    record: str | None = None
    relation: str = Relation.TRAINED_ON.value
    version: str  # "<md5>.dir" for a folder, the file's md5 for a file (as DVC names them)
    files: int = 1
    size: int = 0
    entries: dict[str, str] | None = None  # relpath → md5


class Output(BaseModel):
    path: str
    location: str
    kind: str = "model"
    record: str | None = None
    sha256: str | None = None  # "sha256:<hex>" of a file (what log_prediction records), or a folder's .dir hash
    size: int = 0
    # the data version a later run's input would have (a file's md5, a folder's .dir hash, as DVC names
    # them): how a later stage that uses this output finds it
    data_version: str | None = None


class RunRecord(BaseModel):
    """Everything a run recorded; stored as ``pa:runJson`` and read back by ``trace`` and ``check``."""

    iri: str
    name: str
    source: str = "provaudit"  # provaudit | dvc | mlflow
    external_id: str | None = None  # the DVC stage or MLflow run id
    started: str
    # when it started in ns since the epoch (strictly increasing within a process) and its place in the
    # store's write order: "newest first" is exact within one second too (older runs have neither)
    started_ns: int | None = None
    seq: int | None = None
    ended: str | None = None
    status: str = "running"  # succeeded | failed
    error: str | None = None
    command: list[str] = Field(default_factory=list)
    cwd: str | None = None
    params: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    code: CodeVersion = Field(default_factory=CodeVersion)
    python: str | None = None
    python_executable: str | None = None
    packages: list[Package] = Field(default_factory=list)
    inputs: list[DataInput] = Field(default_factory=list)
    outputs: list[Output] = Field(default_factory=list)


_clock = threading.Lock()
_last_ns = 0


def now_ns() -> int:
    """Wall-clock ns since the epoch, strictly increasing within this process (two runs never tie)."""
    global _last_ns
    with _clock:
        _last_ns = max(time.time_ns(), _last_ns + 1)
        return _last_ns


def iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _now() -> str:
    return iso(time.time_ns())


def new_run_iri() -> str:
    return f"{ID_BASE}run/{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"


def order_key(run: RunRecord) -> tuple[int, int, str]:
    """Oldest first: start time in ns (from ``started`` for runs recorded before ``started_ns``), write order."""
    ns = run.started_ns
    if ns is None:
        try:
            ns = int(datetime.fromisoformat(run.started.replace("Z", "+00:00")).timestamp() * 1e9)
        except ValueError:
            ns = 0
    return ns, run.seq if run.seq is not None else -1, run.iri


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def relative_path(path: Path, top: str | None) -> str:
    """A path as a run names it: relative to the work tree when inside it, else absolute."""
    if top:
        try:
            return path.resolve().relative_to(Path(top).resolve()).as_posix()
        except ValueError:
            pass
    return str(path.resolve())


def _param(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


# --- what the environment is --------------------------------------------------------------------


def read_environment(path: str | Path = ".", python: str | None = None) -> tuple[list[Record], CodeVersion, RunRecord]:
    """The ``pipeline:`` collector's code and package records, and the code version and packages they hold."""
    snapshot, _ = environment_snapshot(python)
    records = collect_pipeline(PipelineTarget(path=Path(path), python=python), snapshot=snapshot)
    code = next(r for r in records if r.kind is Kind.CODE)
    top = code.location
    version = CodeVersion(
        record=code.id,
        toplevel=top,
        commit=code.fact("commit"),
        branch=code.fact("branch"),
        remote=code.fact("remote"),
    )
    for fact in code.facts:
        if fact.key != "dirty":
            continue
        status, rel = fact.value[:2], fact.value[3:]
        rel = rel.split(" -> ", 1)[-1].strip('"')
        file = Path(top or ".") / rel
        version.dirty.append(
            {"status": status.strip(), "path": rel, "sha256": sha256_file(file) if file.is_file() else None}
        )
    env = RunRecord(iri="", name="", started="")
    env.python = code.fact("python")
    env.python_executable = str((snapshot or {}).get("executable") or python or sys.executable)
    for record in records:
        if record.kind is Kind.PACKAGE:
            license_ = " AND ".join(dict.fromkeys(c.expression or c.raw for c in record.claims)) or None
            env.packages.append(
                Package(name=record.name.removeprefix("pypi/"), version=record.version, license=license_)
            )
    # provaudit's own requirements ran too: kept for reproducing the run, marked as tooling
    skipped = tooling(snapshot, Path(top) if top else None) if snapshot else set()
    for row in (snapshot or {}).get("distributions") or []:
        if normalize_dist(str(row.get("name"))) in skipped:
            declared = row.get("license_expression") or next(
                (c.split("::")[-1].strip() for c in row.get("classifiers") or []), None
            )
            env.packages.append(
                Package(
                    name=normalize_dist(str(row["name"])), version=row.get("version"), license=declared, tooling=True
                )
            )
    env.packages.sort(key=lambda p: p.name)
    return records, version, env


def measure_input(path: str | Path, top: str | None, *, cache: bool = True) -> DataInput:
    """The data version of a folder (DVC's ``.dir`` hash) or a file (its md5) as it is now."""
    target = Path(path)
    if target.is_dir():
        version = data_version(target, cache=cache, with_files=True)
        entries = (
            {e.relpath: e.md5 for e in version.entries}
            if version.entries is not None and version.files <= MAX_ENTRIES
            else None
        )
        return DataInput(
            path=relative_path(target, top),
            location=str(target.resolve()),
            version=version.dir_hash,
            files=version.files,
            size=version.size,
            entries=entries,
        )
    if target.is_file():
        md5, st, _ = file_md5(target)
        return DataInput(path=relative_path(target, top), location=str(target.resolve()), version=md5, size=st.st_size)
    raise InputError(str(path), "no such file or folder (a run can only use data that exists)")


def dataset_record(path: str | Path, version: str, *, name: str | None = None, kind: str = "dataset") -> Record:
    """The record of a used folder or file: its card and LICENSE files read as a scan reads them."""
    target = Path(path).resolve()
    folder = target if target.is_dir() else target.parent
    if target.is_dir() or is_record_folder(folder):
        record = collect_folder(folder)
    else:  # a lone data file: a record of its own, with no card to read
        record = Record(id=record_id(Kind.DATASET, target.stem), kind=Kind.DATASET, name=target.stem)
        record.location = str(target)
        record.collectors = [COLLECTOR]
    wanted = Kind(kind) if kind else record.kind
    if name or wanted is not record.kind:
        chosen = clean_name(name or record.name)
        record = record.model_copy(update={"id": record_id(wanted, chosen), "kind": wanted, "name": chosen})
    record.version = version
    return record


# --- the run ------------------------------------------------------------------------------------

Made = tuple[Output, Kind, str | None, str]
"""An output to record: the output, its record kind, the name the caller gave (or None), a default name."""


def _digests(path: Path) -> tuple[str, str, int]:
    """sha256 (as ``sha256:<hex>``) and md5 of a file in one read, and its size."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    return f"sha256:{sha.hexdigest()}", md5.hexdigest(), size


def measure_output(path: Path, top: str | None, kind: str) -> Output:
    """An output's digest and data version as it is now; no digest when it does not exist."""
    out = Output(path=relative_path(path, top), location=str(path.resolve()), kind=kind)
    if path.is_file():
        out.sha256, out.data_version, out.size = _digests(path)
    elif path.is_dir():
        version = data_version(path)
        out.sha256 = out.data_version = version.dir_hash
        out.size = version.size
    return out


class MissingOutputError(InputError):
    """A run ended without writing an output it declared; the run is recorded as failed."""


class Run:
    """An open training run; use :func:`run`. Records on exit, whatever happens in the block."""

    def __init__(
        self,
        name: str,
        params: Mapping[str, object] | None = None,
        *,
        store: str | Path | None = None,
        path: str | Path = ".",
        python: str | None = None,
        command: list[str] | None = None,
    ) -> None:
        started = now_ns()
        self.record = RunRecord(
            iri=new_run_iri(),
            name=name,
            started=iso(started),
            started_ns=started,
            command=list(command if command is not None else [sys.executable, *sys.argv]),
            cwd=str(Path.cwd()),
            params={str(k): _param(v) for k, v in (params or {}).items()},
        )
        self._store = store
        self._path = Path(path)
        self._python = python
        self._env: list[Record] = []
        self._datasets: list[Record] = []
        self._generated: list[tuple[Path, str, str | None]] = []
        self.missing: list[str] = []  # declared outputs the run did not write
        self.records: list[Record] = []  # what was written, once the run ended

    @property
    def iri(self) -> str:
        return self.record.iri

    def __enter__(self) -> Run:
        # the code and environment as they are when training starts: that is what ran
        self._env, self.record.code, env = read_environment(self._path, self._python)
        self.record.python, self.record.python_executable = env.python, env.python_executable
        self.record.packages = env.packages
        return self

    def log_param(self, key: str, value: object) -> None:
        self.record.params[str(key)] = _param(value)

    def log_metric(self, key: str, value: float) -> None:
        self.record.metrics[str(key)] = float(value)

    def used(self, path: str | Path, *, name: str | None = None, kind: str = "dataset") -> DataInput:
        """Record an input's data version now (before training can change it) and read its card.

        When an earlier run generated this exact version, the input is that run's output record, with
        the upstream links it recorded (resolved when the run is written).
        """
        if kind == Kind.MODEL.value:
            return self.used_model(path, name=name)
        data = measure_input(path, self.record.code.toplevel)
        record = dataset_record(path, data.version, name=name, kind=kind)
        data.record = record.id
        data.relation = (Relation.TRAINED_ON if record.kind is Kind.DATASET else Relation.BASE_MODEL).value
        self.record.inputs.append(data)
        self._datasets.append(record)
        return data

    def used_model(self, ref: str | Path, *, name: str | None = None) -> DataInput:
        """Mark a model input (pretrained embeddings, a base model): a file or folder, or a record id.

        A path is measured (a file's version is its sha256 digest, as a model record's is); an id
        (``model:org/name`` or ``org/name``) links the record the store holds under it.
        """
        target = Path(ref)
        if target.exists():
            data = measure_input(target, self.record.code.toplevel)
            if target.is_file():
                data.version = sha256_file(target)
            record = dataset_record(target, data.version, name=name, kind=Kind.MODEL.value)
            data.record = record.id
            self._datasets.append(record)
        else:
            raw = str(ref)
            if os.sep in raw and Path(raw).suffix:
                raise InputError(raw, "no such model file (give a file, a folder or a record id like model:org/name)")
            rid = raw if raw.startswith(f"{Kind.MODEL.value}:") else record_id(Kind.MODEL, clean_name(raw))
            data = DataInput(path=raw, location="", version="", files=0, record=rid)  # version: the store's
        data.relation = Relation.BASE_MODEL.value
        self.record.inputs.append(data)
        return data

    def generated(self, path: str | Path, *, kind: str = "model", name: str | None = None) -> None:
        """Record an output; its digest is taken when the run ends (it may still be written then).

        ``kind``: ``model`` or ``dataset`` (an intermediate a later stage uses). An output that does not
        exist when the run ends fails the run (:class:`MissingOutputError`).
        """
        if kind not in {k.value for k in Kind}:
            raise InputError(str(path), f"unknown output kind {kind!r} (model, dataset, ...)")
        self._generated.append((Path(path), kind, name))

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.finish(failed=exc_type is not None, error=f"{exc_type.__name__}: {exc}" if exc_type else None)
        if exc_type is None and self.missing:
            raise MissingOutputError(", ".join(self.missing), self.record.error or "not written")

    def finish(self, *, failed: bool = False, error: str | None = None) -> RunRecord:
        """Take the outputs' digests and write the run (failed when a declared output is missing)."""
        run = self.record
        run.ended = _now()
        top = run.code.toplevel
        made: list[Made] = []
        for path, kind, name in self._generated:
            out = measure_output(path, top, kind)
            if out.sha256 is None:
                self.missing.append(out.path)
            run.outputs.append(out)
            made.append((out, Kind(kind), name, path.stem))
        if self.missing and not failed:
            failed = True
            error = (
                f"the run ended without writing {', '.join(self.missing)} "
                "(an output declared with --generated / run.generated must exist when the run ends)"
            )
        run.status = "failed" if failed else "succeeded"
        run.error = error
        self.records = commit_run(run, inputs=self._datasets, env=self._env, made=made, store=self._store)
        return run


def output_record(run: RunRecord, out: Output, kind: Kind, name: str, *, rid: str | None = None) -> Record:
    """The record of a run's output, linked to the run's inputs with their data versions.

    A model's version is its digest and its links are ``trained_on`` (data) / ``base_model`` (models);
    a dataset's version is its data version and its links ``derived_from`` (data) / ``generated_by``
    (models). ``rid``: an existing record this artifact already is.
    """
    chosen = rid.partition(":")[2] if rid else clean_name(name)
    record = Record(
        id=rid or record_id(kind, chosen),
        kind=kind,
        name=chosen,
        location=out.location,
        version=out.sha256 if kind is Kind.MODEL else out.data_version or out.sha256,
        collectors=[COLLECTOR],
    )
    source = Source(collector=COLLECTOR, url=run.iri, field="generated " + out.path)
    record.add("facts", Fact(key="training_run", value=run.iri, source=source))
    if run.code.commit:
        dirty = f" (+{len(run.code.dirty)} uncommitted)" if run.code.dirty else ""
        record.add("facts", Fact(key="code_version", value=f"{run.code.commit}{dirty}", source=source))
    if run.code.record:
        record.add("facts", Fact(key="code", value=run.code.record, source=source))
    record.files.append(
        FileDigest(
            path=Path(out.path).name,
            sha256=(out.sha256 or "").removeprefix("sha256:") or None,
            size=out.size,
            source=source,
        )
    )
    for data in run.inputs:
        if not data.record or data.relation == Relation.USES.value:
            continue
        relation = Relation(data.relation)
        if kind is not Kind.MODEL:  # data made from data is derived from it; from a model, generated by it
            relation = Relation.GENERATED_BY if relation is Relation.BASE_MODEL else Relation.DERIVED_FROM
        record.add(
            "upstream",
            Upstream(
                target=data.record,
                raw=data.path,
                relation=relation,
                source=Source(collector=COLLECTOR, url=run.iri, field="used " + data.path),
                version=data.version or None,
            ),
        )
    return record


def run(
    name: str,
    params: Mapping[str, object] | None = None,
    *,
    store: str | Path | None = None,
    path: str | Path = ".",
    python: str | None = None,
    command: list[str] | None = None,
) -> Run:
    """A training run to use as ``with provaudit.run("train", params={...}) as run:``.

    ``path``: the code's work tree (git); ``python``: another environment's interpreter; ``store``:
    default ``$PROVAUDIT_STORE`` or ``./.provaudit``.
    """
    return Run(name, params, store=store, path=path, python=python, command=command)


def command_name(argv: list[str]) -> str:
    """A run's name from its command: the script or module a Python runs, else the program's name."""
    program = Path(argv[0]).name
    if not program.lower().startswith("python"):
        return program
    args = iter(argv[1:])
    for arg in args:
        if arg == "-m":
            return next(args, program)
        if arg == "-c":
            return f"{program} -c"
        if arg in {"-W", "-X", "--check-hash-based-pycs"}:
            next(args, None)  # an option with a value
        elif not arg.startswith("-"):
            return Path(arg).name
    return program


def command_python(argv: list[str], path: str | Path = ".") -> str | None:
    """The interpreter whose packages the command runs with: its own Python, else the project's venv."""
    if Path(argv[0]).name.lower().startswith("python"):
        found = shutil.which(argv[0])
        if found:
            return found
    for venv in (".venv", "venv"):
        for python in (Path(path) / venv / "bin" / "python", Path(path) / venv / "Scripts" / "python.exe"):
            if python.is_file():
                return str(python)
    return None


def run_command(
    argv: list[str],
    *,
    used: list[str],
    generated: list[str],
    generated_data: list[str] | None = None,
    used_models: list[str] | None = None,
    model_name: str | None = None,
    params: Mapping[str, object] | None = None,
    metrics_file: str | None = None,
    store: str | Path | None = None,
    name: str | None = None,
) -> tuple[int, RunRecord]:
    """Run a command as a training run (what ``provaudit run ... -- CMD`` does); its exit status and the run.

    A command that exits 0 without writing a declared output gives status 1 (the run is recorded failed).
    """
    if not argv:
        raise ProvauditError("give the command to run after --, e.g. provaudit run --used data -- python train.py")
    current = Run(name or command_name(argv), params, store=store, command=list(argv), python=command_python(argv))
    current.__enter__()
    try:
        for path in used:
            current.used(path)
        for ref in used_models or []:
            current.used_model(ref)
        for i, path in enumerate(generated):
            current.generated(path, name=model_name if i == 0 else None)
        for path in generated_data or []:
            current.generated(path, kind=Kind.DATASET.value)
        status = subprocess.run(argv, check=False).returncode
        if metrics_file and Path(metrics_file).is_file():
            for key, value in _flat_numbers(json.loads(Path(metrics_file).read_text(encoding="utf-8"))):
                current.log_metric(key, value)
    except BaseException as exc:  # interrupted or not runnable: still recorded, as failed
        current.finish(failed=True, error=f"{type(exc).__name__}: {exc}")
        if isinstance(exc, OSError):
            raise InputError(argv[0], f"cannot run: {exc.strerror or exc}") from exc
        raise
    error = f"{shlex.join(argv)} exited with status {status}" if status else None
    recorded = current.finish(failed=status != 0, error=error)
    return (status or (1 if current.missing else 0)), recorded


def _flat_numbers(data: object, prefix: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from _flat_numbers(value, f"{prefix}{key}.")
    elif isinstance(data, int | float) and not isinstance(data, bool):
        yield prefix.rstrip("."), float(data)


# --- the store ----------------------------------------------------------------------------------


def _lit(value: object) -> Literal:
    return Literal(str(value))


def run_triples(run: RunRecord) -> list[Triple]:
    """The run as PROV-O: the activity, its usages (data versions), generations, code and environment."""
    r = NamedNode(run.iri)
    t: list[tuple[NamedNode, NamedNode, NamedNode | Literal]] = [
        (r, RDF.type, PROV.Activity),
        (r, RDF.type, PA.TrainingRun),
        (r, RDFS.label, _lit(run.name)),
        (r, PROV.startedAtTime, Literal(run.started, datatype=XSD.dateTime)),
        (r, PA.runStatus, _lit(run.status)),
        (r, PA.runSource, _lit(run.source)),
        (r, PA.runJson, Literal(run.model_dump_json(), datatype=_JSON)),
    ]
    if run.ended:
        t.append((r, PROV.endedAtTime, Literal(run.ended, datatype=XSD.dateTime)))
    if run.seq is not None:
        t.append((r, PA.sequence, Literal(str(run.seq), datatype=XSD.integer)))
    if run.command:
        t.append((r, PA.command, _lit(shlex.join(run.command))))
    if run.external_id:
        t.append((r, DCT.identifier, _lit(run.external_id)))
    for kind, values in (("param", run.params), ("metric", run.metrics), ("tag", run.tags)):
        for i, (key, value) in enumerate(sorted(values.items())):
            node = NamedNode(f"{run.iri}/{kind}/{i}")
            literal = Literal(repr(value), datatype=XSD.double) if kind == "metric" else _lit(value)
            t += [(r, PA.term(kind), node), (node, PA.key, _lit(key)), (node, PA.value, literal)]
    code = run.code
    if code.record:
        c = NamedNode(f"{run.iri}/code")
        t += [(r, PROV.used, NamedNode(record_iri(code.record))), (r, PA.codeVersion, c), (c, RDF.type, PA.CodeVersion)]
        t += [(c, PROV.specializationOf, NamedNode(record_iri(code.record)))]
        for key in ("commit", "branch", "remote"):
            if getattr(code, key):
                t.append((c, PA.term(key), _lit(getattr(code, key))))
        for i, dirty in enumerate(code.dirty):
            d = NamedNode(f"{run.iri}/code/dirty/{i}")
            t += [(c, PA.dirtyFile, d), (d, PA.path, _lit(dirty["path"])), (d, PA.gitStatus, _lit(dirty["status"]))]
            if dirty.get("sha256"):
                t.append((d, PA.sha256, _lit(dirty["sha256"])))
    if run.python:
        t.append((r, PA.python, _lit(run.python)))
    for i, package in enumerate(run.packages):
        p = NamedNode(f"{run.iri}/package/{i}")
        t += [(r, PA.package, p), (p, RDFS.label, _lit(package.name))]
        t.append((p, PROV.specializationOf, NamedNode(record_iri(record_id(Kind.PACKAGE, f"pypi/{package.name}")))))
        if package.version:
            t.append((p, PA.softwareVersion, _lit(package.version)))
        if package.license:
            t.append((p, PA.licenseExpression, _lit(package.license)))
    for i, data in enumerate(run.inputs):
        u = NamedNode(f"{run.iri}/usage/{i}")
        t += [(r, PROV.qualifiedUsage, u), (u, RDF.type, PROV.Usage), (u, PA.dataVersion, _lit(data.version))]
        t += [(u, PA.path, _lit(data.path)), (u, PA.relation, _lit(data.relation))]
        t.append((u, PA.byteSize, Literal(str(data.size), datatype=XSD.integer)))
        if data.record:
            entity = NamedNode(record_iri(data.record))
            t += [(r, PROV.used, entity), (u, PROV.entity, entity)]
    for i, out in enumerate(run.outputs):
        g = NamedNode(f"{run.iri}/output/{i}")
        t += [(r, PA.generatedOutput, g), (g, PA.path, _lit(out.path)), (g, PA.outputKind, _lit(out.kind))]
        if out.sha256:
            t.append((g, PA.outputDigest, _lit(out.sha256)))
        if out.data_version:
            t.append((g, PA.outputDataVersion, _lit(out.data_version)))
        if out.record:
            entity = NamedNode(record_iri(out.record))
            t += [(g, PROV.entity, entity), (entity, PROV.wasGeneratedBy, r)]
    return [Triple(s, p, o) for s, p, o in t]


def opened(store: str | os.PathLike[str] | RunStore | None) -> AbstractContextManager[RunStore]:
    """An open store for a path (``None``: the default store) or the store object itself."""
    if store is not None and not isinstance(store, str | os.PathLike):
        return nullcontext(store)
    from provaudit.api import open_store  # the store module is only needed when a run is written

    return open_store(Path(store) if store is not None else None)


@dataclass(frozen=True)
class MadeOutput:
    """One output of a succeeded run, as the run's triples state it (no run JSON is parsed)."""

    run: str
    source: str
    kind: str
    digest: str | None
    data_version: str | None
    record: str | None


# Each pattern inside GRAPH: over the union of every committed graph, `?r a pa:TrainingRun` alone
# takes seconds once a store holds a few hundred runs; per graph it takes milliseconds.
_OUTPUTS = """SELECT ?r ?source ?started ?seq ?kind ?digest ?version ?entity WHERE { GRAPH ?g {
  ?r a pa:TrainingRun ; pa:runStatus "succeeded" ; pa:runSource ?source ; prov:startedAtTime ?started ;
     pa:generatedOutput ?o . ?o pa:outputKind ?kind .
  OPTIONAL { ?r pa:sequence ?seq } OPTIONAL { ?o pa:outputDigest ?digest }
  OPTIONAL { ?o pa:outputDataVersion ?version } OPTIONAL { ?o prov:entity ?entity } } }"""


def made_outputs(store: RunStore) -> list[MadeOutput]:
    """Every output of every succeeded run, oldest run first."""
    rows = store.query(_OUTPUTS).rows

    def when(row: list[str | None]) -> tuple[str, int]:
        return row[2] or "", int(row[3]) if row[3] else -1

    return [
        MadeOutput(
            run=row[0] or "",
            source=row[1] or "",
            kind=row[4] or "",
            digest=row[5],
            data_version=row[6],
            record=id_from_iri(row[7]) if row[7] else None,
        )
        for row in sorted(rows, key=when)
    ]


def next_seq(store: RunStore) -> int:
    """The next run's place in the store's write order."""
    rows = store.query("SELECT (MAX(?seq) AS ?top) WHERE { GRAPH ?g { ?r pa:sequence ?seq } }").rows
    top = rows[0][0] if rows and rows[0] else None
    return int(top) + 1 if top else 1


def _made_by_earlier_runs(outputs: list[MadeOutput], exclude: str) -> dict[str, tuple[str, str | None]]:
    """Data version or digest of every recorded output → (its record, the version that record carries)."""
    made: dict[str, tuple[str, str | None]] = {}
    for out in outputs:  # oldest first: the newest run that made an artifact names it
        if out.run == exclude or not out.record:
            continue
        version = out.digest if out.kind == Kind.MODEL.value else out.data_version or out.digest
        for key in (out.data_version, out.digest):
            if key:
                made[key] = (out.record, version)
    return made


def _revision(store: RunStore, rid: str, version: str | None) -> Record | None:
    """The newest revision of ``rid`` that carried ``version`` (the record as the run that made it wrote it)."""
    if not version:
        return None
    return next((h.record for h in reversed(store.history(rid)) if h.record.version == version), None)


def _inherit(fresh: Record | None, earlier: Record | None, rid: str, version: str | None) -> Record | None:
    """The input as read now (card, LICENSE) under the earlier output's id, keeping that output's lineage."""
    if fresh is None:
        return earlier
    kind = earlier.kind if earlier is not None else Kind(rid.partition(":")[0])
    merged = fresh.model_copy(deep=True, update={"id": rid, "kind": kind, "name": rid.partition(":")[2]})
    merged.version = version or fresh.version
    if earlier is not None:
        have = {(u.target, u.relation) for u in merged.upstream}
        for link in earlier.upstream:
            if (link.target, link.relation) not in have:
                merged.add("upstream", link)
        for fact in earlier.facts:
            if fact.key in {"training_run", "code_version", "code"} and merged.fact(fact.key) is None:
                merged.add("facts", fact)
    return merged


def link_lineage(
    store: RunStore, run: RunRecord, inputs: list[Record], made: dict[str, tuple[str, str | None]]
) -> list[Record]:
    """Inputs that an earlier run generated become that output's record, with its upstream links.

    This is what makes stages compose: ``features`` used by ``train`` is the record ``prepare``
    wrote (derived from the raw data), not a fresh record of the folder without lineage. ``made``:
    :func:`_made_by_earlier_runs`.
    """
    result = list(inputs)
    for data in run.inputs:
        if not data.version and data.record:  # a model given by id: the version its record has now
            current = next((h.record for h in store.history(data.record)[-1:]), None)
            data.version = (current.version if current else None) or ""
            continue
        hit = made.get(data.version)
        if hit is None:
            continue
        rid, version = hit
        fresh = next((r for r in result if r.id == data.record), None)
        record = _inherit(fresh, _revision(store, rid, version), rid, version)
        data.record = rid
        if record is None:
            continue
        # an earlier output is data or a model, whatever the path looked like (a DVC dep gone from the tree)
        if record.kind is Kind.MODEL:
            data.relation, data.version = Relation.BASE_MODEL.value, version or data.version
        else:
            data.relation = Relation.TRAINED_ON.value
        if fresh is not None:
            result[result.index(fresh)] = record
        else:
            result.append(record)
    return result


def commit_run(
    run: RunRecord,
    *,
    inputs: list[Record],
    made: list[Made],
    env: list[Record] | None = None,
    store: str | os.PathLike[str] | RunStore | None = None,
) -> list[Record]:
    """Link the run into the store's lineage and write it: its inputs, environment and output records.

    An output whose digest an earlier run made is that record again (one record per artifact) unless
    the caller named it; a failed run writes no output record.
    """
    with opened(store) as db:
        run.seq = next_seq(db)
        known = _made_by_earlier_runs(made_outputs(db), run.iri)
        records = link_lineage(db, run, inputs, known)
        outputs: list[Record] = []
        for out, kind, name, default in made:
            if run.status != "succeeded" or not out.sha256:
                continue
            rid = None if name else (known.get(out.sha256) or (None, None))[0]
            record = output_record(run, out, kind, name or default, rid=rid)
            out.record = record.id
            outputs.append(record)
        records = [*records, *(env or []), *outputs]
        write_run(run, records, store=db)
    return records


def write_run(run: RunRecord, records: list[Record], *, store: str | Path | RunStore | None = None) -> None:
    """Write the run's records as one scan, then the run as its own committed graph."""
    with opened(store) as db:
        if records:
            # the work tree is a scan target too, so what is published names paths relative to it; an
            # input outside it is a target of its own (published by its own name, not this machine's path)
            root = run.code.toplevel or run.cwd
            targets = [f"{COLLECTOR}:{run.iri}", *([root] if root else [])]
            for used in run.inputs:
                where = Path(used.location) if used.location else None
                if where is not None and where.is_absolute() and not (root and where.is_relative_to(root)):
                    targets.append(str(where if where.is_dir() else where.parent))
            writer = db.begin_scan(targets, {"run": run.iri})
            writer.add(records)
            writer.commit()
        data = serialize(run_triples(run), format=RdfFormat.N_TRIPLES)
        db.commit_graph(run.iri, data or b"")


def load_runs(store: RunStore) -> list[RunRecord]:
    """Every committed run in the store, oldest first (by start time in ns, then write order)."""
    result = store.query("SELECT ?json WHERE { GRAPH ?g { ?r a pa:TrainingRun ; pa:runJson ?json } }")
    runs = {run.iri: run for run in (RunRecord.model_validate_json(row[0]) for row in result.rows if row[0])}
    return sorted(runs.values(), key=order_key)


def load_run(store: RunStore, iri: str) -> RunRecord | None:
    """One committed run by its IRI."""
    query = f"SELECT ?json WHERE {{ GRAPH ?g {{ <{iri}> a pa:TrainingRun ; pa:runJson ?json }} }}"
    rows = [row[0] for row in store.query(query).rows if row[0]]
    return RunRecord.model_validate_json(rows[0]) if rows else None


def runs_generating(store: RunStore, *, record: str | None = None, digest: str | None = None) -> list[RunRecord]:
    """Runs whose outputs are this record (id) and/or have this digest, newest first."""
    found = []
    for item in load_runs(store):
        for out in item.outputs:
            if (record is None or out.record == record) and (digest is None or out.sha256 == digest):
                found.append(item)
                break
    return found[::-1]


def format_run(run: RunRecord) -> str:
    """A few lines: what ran, from which code, on which data."""
    lines = [f"run {run.iri} ({run.source}: {run.name}) {run.status}, {run.started} → {run.ended or '?'}"]
    if run.command:
        lines.append(f"  command  {shlex.join(run.command)}")
    if run.code.commit or run.code.record:
        dirty = f", {len(run.code.dirty)} uncommitted file(s)" if run.code.dirty else ""
        lines.append(
            f"  code     {run.code.record or '?'} commit {run.code.commit or '?'} ({run.code.branch or '-'}{dirty})"
        )
    for key, value in sorted(run.params.items()):
        lines.append(f"  param    {key} = {value}")
    for key, number in sorted(run.metrics.items()):
        lines.append(f"  metric   {key} = {number:g}")
    for data in run.inputs:
        lines.append(
            f"  used     {data.path} = {data.record or '?'} @ {data.version} ({data.files} files, {data.relation})"
        )
    for out in run.outputs:
        lines.append(f"  made     {out.path} = {out.record or out.kind} @ {out.sha256 or '(missing)'}")
    if run.python:
        tools = sum(p.tooling for p in run.packages)
        own = f" ({tools} of them provaudit's own tooling)" if tools else ""
        lines.append(f"  python   {run.python}, {len(run.packages)} distributions{own}")
    return "\n".join(lines)


def to_json(run: RunRecord) -> dict[str, Any]:
    return run.model_dump(mode="json")
