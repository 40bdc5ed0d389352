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
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from pydantic import BaseModel, Field
from pyoxigraph import Literal, NamedNode, RdfFormat, Triple, serialize

from provaudit.collectors.local import collect_folder, is_record_folder
from provaudit.collectors.pipeline import PipelineTarget, collect_pipeline
from provaudit.errors import InputError, ProvauditError
from provaudit.records.identity import ID_BASE, clean_name, record_id, record_iri
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


class RunRecord(BaseModel):
    """Everything a run recorded; stored as ``pa:runJson`` and read back by ``trace`` and ``check``."""

    iri: str
    name: str
    source: str = "provaudit"  # provaudit | dvc | mlflow
    external_id: str | None = None  # the DVC stage or MLflow run id
    started: str
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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def new_run_iri() -> str:
    return f"{ID_BASE}run/{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def _relative(path: Path, top: str | None) -> str:
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
    records = collect_pipeline(PipelineTarget(path=Path(path), python=python))
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
    env.python_executable = code.fact("python_executable")
    for record in records:
        if record.kind is Kind.PACKAGE:
            license_ = " AND ".join(dict.fromkeys(c.expression or c.raw for c in record.claims)) or None
            env.packages.append(
                Package(name=record.name.removeprefix("pypi/"), version=record.version, license=license_)
            )
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
            path=_relative(target, top),
            location=str(target.resolve()),
            version=version.dir_hash,
            files=version.files,
            size=version.size,
            entries=entries,
        )
    if target.is_file():
        md5, st, _ = file_md5(target)
        return DataInput(path=_relative(target, top), location=str(target.resolve()), version=md5, size=st.st_size)
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
        self.record = RunRecord(
            iri=new_run_iri(),
            name=name,
            started=_now(),
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
        """Record an input's data version now (before training can change it) and read its card."""
        data = measure_input(path, self.record.code.toplevel)
        record = dataset_record(path, data.version, name=name, kind=kind)
        data.record = record.id
        data.relation = (Relation.TRAINED_ON if record.kind is Kind.DATASET else Relation.BASE_MODEL).value
        self.record.inputs.append(data)
        self._datasets.append(record)
        return data

    def generated(self, path: str | Path, *, kind: str = "model", name: str | None = None) -> None:
        """Record an output; its digest is taken when the run ends (it may still be written)."""
        self._generated.append((Path(path), kind, name))

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.finish(failed=exc_type is not None, error=f"{exc_type.__name__}: {exc}" if exc_type else None)

    def finish(self, *, failed: bool = False, error: str | None = None) -> RunRecord:
        run = self.record
        run.ended = _now()
        run.status = "failed" if failed else "succeeded"
        run.error = error
        top = run.code.toplevel
        models: list[Record] = []
        for path, kind, name in self._generated:
            out = Output(path=_relative(path, top), location=str(path.resolve()), kind=kind)
            if path.is_file():
                out.sha256, out.size = sha256_file(path), path.stat().st_size
            elif path.is_dir():
                version = data_version(path)
                out.sha256, out.size = version.dir_hash, version.size
            if out.sha256 and not failed and kind in {k.value for k in Kind}:
                record = output_record(run, out, Kind(kind), name or path.stem)
                out.record = record.id
                models.append(record)
            run.outputs.append(out)
        self.records = [*self._datasets, *self._env, *models]
        write_run(run, self.records, store=self._store)
        return run


def output_record(run: RunRecord, out: Output, kind: Kind, name: str) -> Record:
    """The record of a run's output: its digest as version, ``trained_on`` links carrying the data versions."""
    chosen = clean_name(name)
    record = Record(
        id=record_id(kind, chosen),
        kind=kind,
        name=chosen,
        location=out.location,
        version=out.sha256,
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
        if not data.record:
            continue
        record.add(
            "upstream",
            Upstream(
                target=data.record,
                raw=data.path,
                relation=Relation(data.relation),
                source=Source(collector=COLLECTOR, url=run.iri, field="used " + data.path),
                version=data.version,
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


def run_command(
    argv: list[str],
    *,
    used: list[str],
    generated: list[str],
    model_name: str | None = None,
    params: Mapping[str, object] | None = None,
    metrics_file: str | None = None,
    store: str | Path | None = None,
    name: str | None = None,
) -> tuple[int, RunRecord]:
    """Run a command as a training run (what ``provaudit run ... -- CMD`` does); its exit status and the run."""
    if not argv:
        raise ProvauditError("give the command to run after --, e.g. provaudit run --used data -- python train.py")
    current = Run(name or Path(argv[0]).name, params, store=store, command=list(argv))
    current.__enter__()
    try:
        for path in used:
            current.used(path)
        for i, path in enumerate(generated):
            current.generated(path, name=model_name if i == 0 else None)
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
    return status, current.finish(failed=status != 0, error=error)


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
        if out.record:
            entity = NamedNode(record_iri(out.record))
            t += [(g, PROV.entity, entity), (entity, PROV.wasGeneratedBy, r)]
    return [Triple(s, p, o) for s, p, o in t]


def write_run(run: RunRecord, records: list[Record], *, store: str | Path | RunStore | None = None) -> None:
    """Write the run's records as one scan, then the run as its own committed graph."""
    from provaudit.api import open_store  # the store module is only needed when a run is written

    def _write(db: RunStore) -> None:
        if records:
            # the work tree is a scan target too, so what is published names paths relative to it
            root = run.code.toplevel or run.cwd
            targets = [f"{COLLECTOR}:{run.iri}", *([root] if root else [])]
            writer = db.begin_scan(targets, {"run": run.iri})
            writer.add(records)
            writer.commit()
        data = serialize(run_triples(run), format=RdfFormat.N_TRIPLES)
        db.commit_graph(run.iri, data or b"")

    if store is not None and not isinstance(store, str | os.PathLike):
        _write(store)
        return
    with open_store(store) as db:
        _write(db)


def load_runs(store: RunStore) -> list[RunRecord]:
    """Every committed run in the store, oldest first."""
    result = store.query("SELECT ?json WHERE { ?r a pa:TrainingRun ; pa:runJson ?json }")
    runs = [RunRecord.model_validate_json(row[0]) for row in result.rows if row[0]]
    return sorted(runs, key=lambda r: (r.started, r.iri))


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
        lines.append(f"  python   {run.python}, {len(run.packages)} distributions")
    return "\n".join(lines)


def to_json(run: RunRecord) -> dict[str, Any]:
    return run.model_dump(mode="json")
