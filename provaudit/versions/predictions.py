"""The prediction audit trail: an append-only, hash-chained JSON-lines log.

One line per prediction, keys sorted, no spaces::

    {"hash":"<sha256>","id":"<prediction id>","input_sha256":"<sha256>","inputs":...,
     "model":{"digest":"sha256:...","id":"...","version":"..."},"output":...,"prev":"<sha256>|null",
     "time":"2026-11-26T10:00:00.123456Z","v":1}

``inputs`` only with ``keep_inputs=True``; ``input_sha256`` is the sha256 of the inputs' canonical JSON
(sorted keys, no spaces, UTF-8). ``hash`` is the sha256 of the line's own bytes without the
``"hash":"...",`` member, that is of ``{`` + everything after it, so it covers ``prev``, the hash of
the line before: a removed, edited or reordered line breaks the chain (:func:`verify_log`). The first
line of the whole log has ``prev`` null; the first line of a new file after rotation links to the
last line of the file before.

Rotation by size as :mod:`logging.handlers` does it: ``log.jsonl`` becomes ``log.jsonl.1``, the old
``.1`` becomes ``.2``, and so on (nothing is deleted). Writers in several threads and processes
serialize on an ``fcntl.flock`` of ``<log>.lock``; each keeps the last hash in memory and re-reads the
file's tail only when its size is not what its own last write left. Lines are written with one
``write(2)``; ``fsync=True`` syncs each line, otherwise only a finished file before it is rotated.

Predictions never go into the RDF store; :func:`read_prediction` finds one by id for ``trace``.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as _dt
import fcntl
import hashlib
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provaudit.errors import InputError, ProvauditError
from provaudit.versions import PREDICTION_LOG_ENV

LOG_ENV = PREDICTION_LOG_ENV
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
FORMAT_VERSION = 1

_HASH_HEAD = b'{"hash":"'
_HASH_END = len(_HASH_HEAD) + 64  # the closing quote of the hash value
_BODY_START = _HASH_END + 2  # after '",': the rest of the members
_HEX = re.compile(rb"[0-9a-f]{64}\Z")
_TAIL_CHUNK = 64 * 1024


def _jsonable(value: Any) -> Any:
    """JSON for what ``json`` cannot encode: numpy values, dataclasses, paths, bytes, sets, datetimes."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # numpy arrays and scalars, torch tensors
        return tolist()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, set | frozenset):
        return sorted(value, key=canonical_json)
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    raise TypeError(f"cannot log a value of type {type(value).__name__} (give JSON-able data)")


# One encoder for every call: json.dumps would build a new one each time (a few µs per call).
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_jsonable)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: the form digests are taken of."""
    return _ENCODER.encode(value)


def input_digest(inputs: Any) -> str:
    """sha256 (hex) of the inputs' canonical JSON, as stored in ``input_sha256``."""
    return hashlib.sha256(canonical_json(inputs).encode("utf-8")).hexdigest()


# --- the model ----------------------------------------------------------------------------------

_file_digests: dict[str, tuple[tuple[int, int, int], str]] = {}


def file_sha256(path: str | os.PathLike[str]) -> str:
    """``sha256:<hex>`` of a model file, computed once per (size, mtime_ns, inode) in this process."""
    key_path = os.path.abspath(path)
    st = os.stat(key_path)
    key = (st.st_size, st.st_mtime_ns, st.st_ino)
    hit = _file_digests.get(key_path)
    if hit is not None and hit[0] == key:
        return hit[1]
    digest = hashlib.sha256()
    with open(key_path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    value = f"sha256:{digest.hexdigest()}"
    _file_digests[key_path] = (key, value)
    return value


def model_ref(model: Any) -> dict[str, str]:
    """The ``model`` member: ``{"id", "version"?, "digest"?}`` from an id, a mapping, an object or a file."""
    if isinstance(model, os.PathLike) or (isinstance(model, str) and os.path.isfile(model)):
        path = os.fspath(model)
        try:
            return {"id": path, "digest": file_sha256(path)}
        except OSError as exc:
            raise InputError(path, f"cannot read the model file: {exc.strerror or exc}") from exc
    if isinstance(model, str):
        if not model:
            raise ProvauditError("log_prediction: model is empty (give a record id, a mapping or a model file)")
        return {"id": model}

    def get(key: str) -> object:
        return model.get(key) if isinstance(model, dict) else getattr(model, key, None)

    ref = {k: str(v) for k in ("id", "version", "digest") if (v := get(k)) is not None}
    if "id" not in ref:
        raise ProvauditError("log_prediction: model needs an id (a record id, {'id': ..., 'version': ...} or a path)")
    return ref


_id_refs: dict[str, str] = {}  # record-id strings (not files) -> their JSON, so a call needs no stat


def _model_json(model: Any) -> str:
    if isinstance(model, str):
        cached = _id_refs.get(model)
        if cached is not None:
            return cached
        ref = model_ref(model)
        if "digest" not in ref:
            if len(_id_refs) > 4096:
                _id_refs.clear()
            _id_refs[model] = canonical_json(ref)
        return canonical_json(ref)
    return canonical_json(model_ref(model))


_clock: list[Any] = [-1, ""]  # (second, "YYYY-MM-DDTHH:MM:SS") of the last timestamp


def _utc_now() -> str:
    """UTC ISO 8601 with microseconds and Z; the date part formatted once per second."""
    ns = time.time_ns()
    second, rest = divmod(ns, 1_000_000_000)
    if second != _clock[0]:
        _clock[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    return f"{_clock[1]}.{rest // 1000:06d}Z"


# --- writing ------------------------------------------------------------------------------------


def _last_complete_line(fd: int, size: int) -> tuple[bytes | None, bool]:
    """The last newline-terminated line of the first ``size`` bytes, and whether a torn tail follows it."""
    if size <= 0:
        return None, False
    torn = os.pread(fd, 1, size - 1) != b"\n"
    end = size  # exclusive end of the region that may hold the wanted line
    if torn:
        # Skip the incomplete tail: the wanted line ends at the last newline.
        pos = size
        while pos > 0:
            start = max(0, pos - _TAIL_CHUNK)
            chunk = os.pread(fd, pos - start, start)
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                end = start + nl + 1
                break
            pos = start
        else:
            return None, True
    # The line is everything after the newline before ``end - 1``.
    buf = b""
    pos = end - 1
    while pos > 0:
        start = max(0, pos - _TAIL_CHUNK)
        buf = os.pread(fd, pos - start, start) + buf
        nl = buf.rfind(b"\n")
        if nl >= 0:
            return buf[nl + 1 :], torn
        pos = start
    return buf, torn


def _hash_of(line: bytes | None) -> str | None:
    if line is None or not line.startswith(_HASH_HEAD):
        return None
    value = line[len(_HASH_HEAD) : _HASH_END]
    return value.decode("ascii") if _HEX.match(value) else None


def _rotated(path: str) -> list[tuple[int, str]]:
    """Rotated files of ``path`` as (index, path), newest (.1) first."""
    folder, name = os.path.split(path)
    found = []
    for entry in os.listdir(folder or "."):
        if entry.startswith(name + ".") and entry[len(name) + 1 :].isdigit():
            found.append((int(entry[len(name) + 1 :]), os.path.join(folder, entry)))
    return sorted(found)


class _Writer:
    """One process's handle on one log: its fds, the last hash and the size its last write left."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.fd = -1
        self.ino = -1
        self.lock_fd = -1
        self.end = -1
        self.last_hash: str | None = None

    def _open(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self.ino = os.fstat(self.fd).st_ino
        self.end = -1

    def _tail_hash(self, size: int) -> tuple[str | None, bool]:
        """Hash of the last line (of the file before, for an empty file) and whether the tail is torn."""
        if size == 0:
            rotated = _rotated(self.path)
            if not rotated:
                return None, False
            fd = os.open(rotated[0][1], os.O_RDONLY | os.O_CLOEXEC)
            try:
                line, _ = _last_complete_line(fd, os.fstat(fd).st_size)
            finally:
                os.close(fd)
            return _hash_of(line), False
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            line, torn = _last_complete_line(fd, size)
        finally:
            os.close(fd)
        if line is None:
            return None, torn
        return _hash_of(line), torn

    def _rotate(self) -> None:
        os.fsync(self.fd)  # a finished file is durable before it is renamed
        os.close(self.fd)
        self.fd = -1
        for index, name in reversed(_rotated(self.path)):
            os.rename(name, f"{self.path}.{index + 1}")
        os.rename(self.path, f"{self.path}.1")
        self._open()

    def append(self, head: str, max_bytes: int, sync: bool) -> None:
        """Write ``head`` + prev + time as one chained line, under the thread lock and the file lock."""
        with self.lock:
            if self.lock_fd < 0:
                folder = os.path.dirname(self.path)
                if folder:
                    os.makedirs(folder, exist_ok=True)
                self.lock_fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
            try:
                try:
                    st = os.stat(self.path)
                    if st.st_ino != self.ino:  # another process rotated the file
                        self._open()
                        st = os.fstat(self.fd)
                except FileNotFoundError:
                    self._open()
                    st = os.fstat(self.fd)
                size = st.st_size
                lead = b""
                if size != self.end:  # someone else wrote since our last line
                    self.last_hash, torn = self._tail_hash(size)
                    if torn:
                        lead = b"\n"  # start clean after an incomplete line; verify reports that line
                now = _utc_now()
                prev = "null" if self.last_hash is None else f'"{self.last_hash}"'
                body = f'{head}"prev":{prev},"time":"{now}","v":{FORMAT_VERSION}}}'.encode()
                digest = hashlib.sha256(body).hexdigest()
                data = lead + b'{"hash":"' + digest.encode("ascii") + b'",' + body[1:] + b"\n"
                if size > 0 and size + len(data) > max_bytes:
                    self._rotate()
                    size, lead = 0, b""
                    data = data[1:] if data.startswith(b"\n") else data
                os.write(self.fd, data)
                if sync:
                    os.fsync(self.fd)
                self.end = size + len(data)
                self.last_hash = digest
            finally:
                fcntl.flock(self.lock_fd, fcntl.LOCK_UN)

    def close_inherited(self) -> None:
        """In a forked child: drop the parent's descriptors, whose flock is shared with the parent."""
        for fd in (self.fd, self.lock_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)


_writers: dict[str, _Writer] = {}
_writers_lock = threading.Lock()


def _after_fork() -> None:
    global _writers_lock
    _writers_lock = threading.Lock()
    for writer in _writers.values():
        writer.close_inherited()
    _writers.clear()


os.register_at_fork(after_in_child=_after_fork)


def _writer(path: str) -> _Writer:
    writer = _writers.get(path)
    if writer is None:
        with _writers_lock:
            writer = _writers.setdefault(path, _Writer(path))
    return writer


_absolute: dict[str, str] = {}  # absolute log paths as given → normalized (no cwd involved, so cacheable)


def log_path(log: str | os.PathLike[str] | None) -> str:
    """The absolute path of ``log`` (``$PROVAUDIT_PREDICTION_LOG`` when None)."""
    value = os.fspath(log) if log is not None else os.environ.get(LOG_ENV)
    if not value:
        raise ProvauditError(f"no prediction log: pass log=PATH or set {LOG_ENV}")
    hit = _absolute.get(value)
    if hit is not None:
        return hit
    path = os.path.abspath(value)
    if os.path.isabs(value) and len(_absolute) < 4096:
        _absolute[value] = path
    return path


def _depends_json(depends_on: Sequence[str]) -> str:
    """The ``depends_on`` member's value: a list of non-empty references (``ID`` or ``LOG#ID``)."""
    if isinstance(depends_on, str):
        raise ProvauditError("log_prediction: depends_on is a list of prediction ids, not one string")
    refs = list(depends_on)
    for ref in refs:
        if not isinstance(ref, str) or not ref or ref.endswith("#"):
            raise ProvauditError(f"log_prediction: depends_on holds {ref!r}, not a prediction id or 'LOG#ID'")
    return canonical_json(refs)


def log_prediction(
    *,
    model: Any,
    inputs: Any,
    output: Any,
    request_id: str | None = None,
    log: str | os.PathLike[str] | None = None,
    keep_inputs: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    fsync: bool = False,
    depends_on: Sequence[str] | None = None,
    code: Any = None,
) -> str:
    """Append one prediction to the log (``log`` or ``$PROVAUDIT_PREDICTION_LOG``); return its id.

    ``model`` is a record id, a mapping or object with ``id`` and ``version`` and/or ``digest``, or
    the path of a model file (its sha256 is taken once per file state). The inputs are stored as
    their sha256 unless ``keep_inputs``; ``output`` is stored as given (JSON-able values).
    ``depends_on`` names the earlier predictions whose outputs this one consumed: an id in the same
    log, or ``"other.jsonl#ID"`` for a prediction of another log (a relative path is read from this
    log's folder). ``code`` is the serving code's version (a commit, a tag or a mapping).
    """
    path = log_path(log)
    pid = str(request_id) if request_id is not None else str(uuid.uuid4())
    try:
        inputs_json = canonical_json(inputs)
        # keys in sorted order after "hash" (the documented format): code, depends_on, id, input_sha256, ...
        members = []
        if code is not None:
            members.append('"code":' + canonical_json(code))
        if depends_on is not None:
            members.append('"depends_on":' + _depends_json(depends_on))
        members.append('"id":' + (canonical_json(pid) if request_id is not None else f'"{pid}"'))
        members.append('"input_sha256":"' + hashlib.sha256(inputs_json.encode("utf-8")).hexdigest() + '"')
        if keep_inputs:
            members.append('"inputs":' + inputs_json)
        members.append('"model":' + _model_json(model))
        members.append('"output":' + canonical_json(output))
    except (TypeError, ValueError) as exc:
        raise ProvauditError(f"log_prediction: {exc}") from exc
    _writer(path).append("{" + ",".join(members) + ",", max_bytes, fsync)
    return pid


# --- reading and verifying ----------------------------------------------------------------------


def log_files(log: str | os.PathLike[str]) -> list[Path]:
    """The log's files in chain order: the oldest rotated file first, the live file last."""
    path = os.path.abspath(log)
    if not os.path.isdir(os.path.dirname(path)):
        return []
    files = [Path(p) for _, p in reversed(_rotated(path))]
    if os.path.exists(path):
        files.append(Path(path))
    return files


def _lines(file: Path) -> Iterator[tuple[int, bytes]]:
    """Numbered raw lines, newline kept (split on ``\\n`` only: U+2028 may appear inside strings)."""
    with open(file, "rb") as fh:
        yield from enumerate(fh, 1)


@dataclass(frozen=True)
class ChainProblem:
    """The first line that breaks the chain: where, what kind (edited, removed, reordered …) and why."""

    file: Path
    line: int
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.kind}: {self.message}"


@dataclass(frozen=True)
class VerifyReport:
    """Result of :func:`verify_log`; ``hashes`` are the chain hashes at the line numbers asked for."""

    files: tuple[Path, ...]
    lines: int
    last_hash: str | None
    problem: ChainProblem | None
    hashes: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.problem is None


class ChainBroken(ProvauditError):
    """A read that needs the chain intact up to its line found it broken; ``problem`` names the first bad line."""

    def __init__(self, problem: ChainProblem, note: str = "") -> None:
        self.problem = problem
        super().__init__(f"chain broken at {problem}{note}")


def parse_line(raw: bytes) -> tuple[str | None, str | None, str | None, dict[str, Any] | None]:
    """(kind, message, hash, record) of one line; kind None when the line is intact in itself."""
    line = raw[:-1] if raw.endswith(b"\n") else raw
    digest = _hash_of(line)
    if digest is None or line[_HASH_END:_BODY_START] != b'",':
        return "malformed", "not a provaudit prediction line (no leading hash member)", None, None
    try:
        record = json.loads(line)
    except ValueError as exc:
        return "malformed", f"not JSON, e.g. cut off by an interrupted write ({exc})", digest, None
    if hashlib.sha256(b"{" + line[_BODY_START:]).hexdigest() != digest:
        return "edited", "its content does not match its hash", digest, None
    if not isinstance(record, dict) or "prev" not in record:
        return "malformed", "no prev member", digest, None
    return None, None, digest, record


def _locate(files: list[Path], digest: str) -> tuple[int, Path, int] | None:
    """Position (ordinal, file, line) of the line whose hash is ``digest``."""
    needle = _HASH_HEAD + digest.encode("ascii")
    ordinal = 0
    for file in files:
        for number, raw in _lines(file):
            ordinal += 1
            if raw.startswith(needle):
                return ordinal, file, number
    return None


def verify_log(log: str | os.PathLike[str], *, at: Collection[int] = ()) -> VerifyReport:
    """Check the hash chain across the live file and its rotated files; name the first bad line.

    ``at``: line numbers (1-based, across all files in chain order) whose hashes the report keeps,
    as the seals of :mod:`provaudit.versions.seal` check them.
    """
    files = log_files(log)
    if not files:
        raise InputError(os.fspath(log), "no such prediction log (nor rotated files of it)")
    wanted = set(at)
    hashes: dict[int, str] = {}
    expected: str | None = None
    ordinal = 0
    for file in files:
        for number, raw in _lines(file):
            ordinal += 1
            kind, message, digest = _line_problem(files, ordinal, raw, expected)
            if kind is not None:
                problem = ChainProblem(file, number, kind, message)
                return VerifyReport(tuple(files), ordinal, expected, problem, hashes)
            expected = digest
            if ordinal in wanted and digest is not None:
                hashes[ordinal] = digest
    return VerifyReport(tuple(files), ordinal, expected, None, hashes)


def _line_problem(
    files: list[Path], ordinal: int, raw: bytes, expected: str | None
) -> tuple[str | None, str, str | None]:
    """(kind, message, hash) of one line in its place; kind None when it links to ``expected``."""
    if not raw.endswith(b"\n"):
        return "torn", "incomplete last line (a write was interrupted, or is still going on)", None
    kind, message, digest, _ = check_link(files, ordinal, raw, expected)
    return kind, message, digest


def check_link(
    files: list[Path], ordinal: int, raw: bytes, expected: str | None
) -> tuple[str | None, str, str | None, dict[str, Any] | None]:
    """(kind, message, hash, record) of a complete line in its place; kind None when it links to ``expected``."""
    kind, message, digest, record = parse_line(raw)
    if kind is not None or record is None or digest is None:
        return kind or "malformed", message or "", digest, None
    prev = record["prev"] if isinstance(record["prev"], str) else None
    if prev != expected:
        return (*classify_break(files, ordinal, expected, digest, prev), digest, record)
    return None, "", digest, record


def classify_break(
    files: list[Path], ordinal: int, expected: str | None, digest: str, prev: str | None
) -> tuple[str, str]:
    """Why a line's ``prev`` is not the hash of the line before it."""
    if digest == expected:
        return "duplicated", "it repeats the line before it"
    if expected is None:
        return "removed", "the log starts here but this line follows another one: earlier lines or files are missing"
    if prev is None:
        return "removed", "this line starts a new chain: the lines it should follow are missing"
    found = _locate(files, prev)
    if found is None:
        return "removed", (
            "the line it follows is missing (removed), or the line before it was rewritten with a new hash"
        )
    where, file, number = found
    if where > ordinal:
        return "reordered", f"it follows {file.name}:{number}, which comes later in the log"
    return "reordered", f"it follows {file.name}:{number}, not the line just before it (moved or duplicated)"


@dataclass(frozen=True)
class LoggedPrediction:
    """One logged prediction and where it is."""

    record: dict[str, Any]
    file: Path
    line: int

    @property
    def id(self) -> str:
        return str(self.record["id"])

    @property
    def model(self) -> dict[str, str]:
        return dict(self.record.get("model") or {})

    @property
    def time(self) -> str:
        return str(self.record.get("time", ""))

    @property
    def depends_on(self) -> list[str]:
        """References to the predictions this one consumed, as logged (``ID`` or ``LOG#ID``)."""
        refs = self.record.get("depends_on") or []
        return [str(r) for r in refs] if isinstance(refs, list) else []

    @property
    def code(self) -> Any:
        """The serving code's version when it was logged (``log_prediction(..., code=...)``)."""
        return self.record.get("code")


def split_ref(ref: str, log: str | os.PathLike[str]) -> tuple[Path, str]:
    """(log path, id) of a ``depends_on`` reference made in ``log``.

    ``ID`` is a prediction of the same log; ``PATH#ID`` one of another log, a relative PATH read from
    the folder of ``log``; ``#ID`` the same log again (for ids that hold a ``#``). The id is what
    follows the first ``#``.
    """
    here = Path(os.path.abspath(log))
    where, sep, pid = ref.partition("#")
    if not sep:
        return here, ref
    if not where:
        return here, pid
    target = Path(where)
    return (target if target.is_absolute() else here.parent / target), pid


def read_prediction(log: str | os.PathLike[str] | None, prediction_id: str, *, verify: bool = True) -> LoggedPrediction:
    """The prediction with this id (the latest one if an id was reused), across rotated files.

    Found through the log's index (``LOG.index``, :mod:`provaudit.versions.logindex`), brought up to
    date first. With ``verify`` (the default) the chain is checked from the first line up to this
    one: a broken chain raises :class:`ChainBroken` naming the first bad line, so an edited line is
    never returned as evidence. ``log`` None reads ``$PROVAUDIT_PREDICTION_LOG``. Raises
    :class:`InputError` when the id is not in the log.
    """
    from provaudit.versions.logindex import LogIndex  # the index imports this module

    with LogIndex(log_path(log)) as index:
        return index.prediction(str(prediction_id), verify=verify)
