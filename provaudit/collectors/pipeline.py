"""Pipeline provenance: the code version of a training pipeline and the Python distributions it ran with.

Target syntax::

    pipeline:PATH                                   # the git work tree at PATH, the current Python environment
    pipeline:PATH#model=org/name                    # ... and it is the pipeline that trained model:org/name
    pipeline:PATH#python=/venv/bin/python&model=x   # read the distributions of another environment

Records: one ``code:<name>`` (Kind.CODE; version = the HEAD commit; facts branch, remote, dirty files)
linked with Relation.USES to one ``package:pypi/<name>`` per installed distribution (Kind.PACKAGE;
version and declared licenses from its metadata: License-Expression, License, license classifiers).
With ``model=``, the model record gets only an upstream USES link to the code record.

Only the user's environment counts: provaudit's own distribution and what it requires are provaudit's
tooling, not the code's obligations, unless the project declares them itself (``[project]``
dependencies of its pyproject.toml, ``requirements*.txt``); they are left out of the records (and
kept, marked, in a run's package list). No absolute path of this machine goes into a record: a
distribution's metadata file is named relative to the work tree when the environment is inside it,
else by its ``.dist-info`` folder.

Reading the installed distributions means starting the interpreter (1-2 s in a large venv), so the
listing is cached under the provaudit cache folder, keyed by the interpreter and valid while the
modification times of its ``sys.path`` folders and of every distribution's metadata folder are
unchanged (an install, upgrade or removal changes them). ``PROVAUDIT_NO_ENV_CACHE=1`` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provaudit.collectors.base import CollectOptions
from provaudit.collectors.cards import CardReader
from provaudit.records.identity import clean_name, record_id
from provaudit.records.model import Fact, Finding, Kind, Record, Relation, Severity, Source, Upstream

COLLECTOR = "pipeline"
PREFIX = "pipeline:"
_TIMEOUT = 60  # seconds for one git or interpreter call
NO_ENV_CACHE = "PROVAUDIT_NO_ENV_CACHE"
TOOL = "provaudit"  # the distribution whose own requirements are tooling, not the user's code
_SNAPSHOT_FORMAT = 2  # bump when _SCRIPT's output changes: older cached snapshots are ignored
# Run in the environment being read (any Python >= 3.8), so only the standard library is used.
_SCRIPT = r"""
import json, os, re, sys
import importlib.metadata as m
rows = []
for d in m.distributions():
    md = d.metadata
    name = md.get("Name")
    if not name:
        continue
    path = getattr(d, "_path", None)
    requires = []
    for req in d.requires or []:
        if "extra" not in req.partition(";")[2]:  # what an extra pulls in is not installed for sure
            found = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req)
            if found:
                requires.append(found.group(0))
    rows.append({
        "name": name,
        "version": md.get("Version"),
        "license_expression": md.get("License-Expression"),
        "license": md.get("License"),
        "classifiers": [c for c in (md.get_all("Classifier") or []) if c.startswith("License ::")],
        "metadata": str(path / "METADATA") if path is not None and (path / "METADATA").exists() else (
            str(path / "PKG-INFO") if path is not None else None),
        "requires": requires,
    })
paths = [p for p in sys.path if p and os.path.isdir(p)]
print(json.dumps({"python": sys.version.split()[0], "executable": sys.executable, "prefix": sys.prefix,
                  "paths": paths, "distributions": rows}))
"""


@dataclass
class PipelineTarget:
    path: Path
    model: str | None = None
    python: str | None = None
    name: str | None = None
    unknown: dict[str, str] = field(default_factory=dict)


def parse_target(target: str) -> PipelineTarget:
    """``pipeline:PATH#model=org/name&python=/venv/bin/python`` → its parts."""
    body = target[len(PREFIX) :] if target.startswith(PREFIX) else target
    path, _, fragment = body.partition("#")
    parsed = PipelineTarget(path=Path(path or "."))
    for part in filter(None, re.split(r"[&;]", fragment)):
        key, _, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if key in {"model", "python", "name"} and value:
            setattr(parsed, key, value)
        else:
            parsed.unknown[key] = value
    return parsed


def normalize_dist(name: str) -> str:
    """PEP 503 name: ``Foo_Bar.baz`` → ``foo-bar-baz``."""
    return re.sub(r"[-_.]+", "-", name).lower()


class PipelineCollector:
    """A training pipeline's source tree (git) and Python environment."""

    name = COLLECTOR
    priority = 50  # a `pipeline:` target is unambiguous

    def can_collect(self, target: str) -> bool:
        return target.startswith(PREFIX)

    def collect(self, target: str, options: CollectOptions) -> Iterator[Record]:
        for record in collect_pipeline(parse_target(target), options):
            if options.progress:
                options.progress(record.id)
            yield record


def _run(args: list[str], cwd: Path | None = None) -> tuple[int, str, str]:
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return -1, "", str(exc)
    return done.returncode, done.stdout, done.stderr


def _git(path: Path, *args: str) -> str | None:
    code, out, _ = _run(["git", "-C", str(path), *args])
    return out.rstrip() if code == 0 else None  # leading spaces are meaningful in `status --porcelain`


def _name_from_remote(remote: str) -> str | None:
    """``git@github.com:org/repo.git`` / ``https://github.com/org/repo`` → ``org/repo``.

    A remote on this machine (``/srv/src/repo``, ``file://...``, ``../repo``) names no project,
    only where a clone came from: None, so the record is not named after a local path.
    """
    remote = remote.strip()
    if not remote or remote.startswith(("/", ".", "~", "file:")) or re.match(r"^[A-Za-z]:[\\/]", remote):
        return None
    if "://" not in remote and not re.match(r"^[\w.-]+@[\w.-]+:", remote):
        return None  # neither a URL nor scp-like user@host:path
    match = re.search(r"[:/]([^/:]+/[^/]+?)(?:\.git)?/?$", remote)
    return match.group(1) if match else None


def _project_name(top: Path) -> str | None:
    """The name the project gives itself in pyproject.toml ([project] name), if it has one."""
    try:
        with (top / "pyproject.toml").open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return None
    name = data.get("project", {}).get("name") if isinstance(data.get("project"), dict) else None
    return name if isinstance(name, str) and name.strip() else None


def collect_pipeline(
    target: PipelineTarget, options: CollectOptions | None = None, *, snapshot: dict[str, Any] | None = None
) -> list[Record]:
    """The code record, its package records and (with ``model=``) the model's link. Never raises on content.

    ``snapshot``: the environment as :func:`environment_snapshot` read it already.
    """
    options = options or CollectOptions()
    path = target.path.expanduser()
    where = str(path)
    findings: list[Finding] = []
    if not path.is_dir():
        findings.append(
            Finding(
                rule="PA027",
                severity=Severity.ERROR,
                message=f"{where}: not a folder; no code version can be read",
                source=Source(collector=COLLECTOR, file=where),
                fix="give the pipeline's source folder: pipeline:PATH",
            )
        )
    for key in target.unknown:
        findings.append(
            Finding(
                rule="PA002",
                severity=Severity.WARNING,
                message=f"pipeline target option {key!r} is not known (model=, python=, name=); ignored",
                source=Source(collector=COLLECTOR, field=key),
            )
        )
    git = _read_git(path, findings) if path.is_dir() else {}
    top = Path(git.get("toplevel") or path).resolve() if path.is_dir() else path
    name = (
        target.name
        or _name_from_remote(git.get("remote") or "")
        or (_project_name(top) if path.is_dir() else None)
        or top.name
        or "pipeline"
    )
    code = Record(
        id=record_id(Kind.CODE, name),
        kind=Kind.CODE,
        name=name,
        location=str(top),
        version=git.get("commit"),
        collectors=[COLLECTOR],
    )
    code.findings.extend(findings)
    git_source = Source(collector=COLLECTOR, file=str(top), field="git")
    for key in ("commit", "branch", "remote", "commit_date", "describe"):
        if git.get(key):
            code.add(
                "facts",
                Fact(key=key, value=git[key], source=Source(collector=COLLECTOR, file=str(top), field=f"git {key}")),
            )
    dirty = git.get("dirty") or []
    for line in dirty:
        code.add(
            "facts",
            Fact(key="dirty", value=line, source=Source(collector=COLLECTOR, file=str(top), field="git status")),
        )
    if dirty:
        code.findings.append(
            Finding(
                rule="PA028",
                severity=Severity.WARNING,
                message=(
                    f"{top}: {len(dirty)} uncommitted change(s); "
                    f"commit {git.get('commit') or '?'} is not exactly the code that ran"
                ),
                source=git_source,
                fix="commit (or stash) the changes before training, so the commit identifies the code",
                evidence=dirty[:20],
            )
        )
    packages = _read_environment(code, target.python, options, snapshot)
    records = [code, *packages]
    if target.model:
        model = Record(
            id=record_id(Kind.MODEL, target.model),
            kind=Kind.MODEL,
            name=clean_name(target.model),
            collectors=[COLLECTOR],
        )
        source = Source(collector=COLLECTOR, file=str(top), field="model")
        model.add(
            "upstream",
            Upstream(
                target=code.id,
                raw=f"{PREFIX}{where}#model={target.model}",
                relation=Relation.USES,
                source=source,
                version=code.version,
            ),
        )
        records.append(model)
    return records


def _read_git(path: Path, findings: list[Finding]) -> dict[str, Any]:
    """HEAD commit, branch, remote, dirty files; an info finding when this is not a git work tree."""
    if shutil.which("git") is None:
        findings.append(_no_git(path, "git is not installed"))
        return {}
    toplevel = _git(path, "rev-parse", "--show-toplevel")
    if toplevel is None:
        findings.append(_no_git(path, "not inside a git work tree"))
        return {}
    info: dict[str, Any] = {"toplevel": toplevel}
    commit = _git(path, "rev-parse", "--verify", "-q", "HEAD")
    if commit is None:
        findings.append(_no_git(path, "the git repository has no commit yet"))
    info["commit"] = commit
    branch = _git(path, "rev-parse", "--abbrev-ref", "HEAD")
    info["branch"] = branch if branch and branch != "HEAD" else None  # detached HEAD: no branch
    info["remote"] = _git(path, "config", "--get", "remote.origin.url")
    if commit:
        info["commit_date"] = _git(path, "log", "-1", "--format=%cI")
        info["describe"] = _git(path, "describe", "--tags", "--always", "--dirty")
    status = _git(path, "status", "--porcelain=v1", "--untracked-files=normal")
    info["dirty"] = [line for line in (status or "").splitlines() if line.strip()]
    return info


def _no_git(path: Path, problem: str) -> Finding:
    return Finding(
        rule="PA027",
        severity=Severity.INFO,
        message=f"{path}: {problem}; the code record has no commit as its version",
        source=Source(collector=COLLECTOR, file=str(path), field="git"),
        fix="keep training code in git and commit before a run",
    )


# --- the environment: read once per venv state ------------------------------------------------


def _cache_dir() -> Path:
    from provaudit.versions.data import default_cache_path  # one cache folder for all of provaudit

    return default_cache_path().parent / "environments"


def _stamp(data: dict[str, Any]) -> list[list[Any]]:
    """What changes when a distribution is installed, upgraded or removed: folder modification times."""
    folders = [str(p) for p in data.get("paths") or []]
    folders += [str(Path(r["metadata"]).parent) for r in data.get("distributions") or [] if r.get("metadata")]
    stamp: list[list[Any]] = []
    for folder in sorted(set(folders)):
        try:
            stamp.append([folder, os.stat(folder).st_mtime_ns])
        except OSError:
            stamp.append([folder, None])
    return stamp


def _cache_file(executable: str) -> Path | None:
    try:
        real = os.path.realpath(executable)
        st = os.stat(real)
    except OSError:
        return None
    key = json.dumps([_SNAPSHOT_FORMAT, os.path.abspath(executable), real, st.st_mtime_ns, st.st_size])
    return _cache_dir() / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"


def environment_snapshot(python: str | None = None, *, cache: bool = True) -> tuple[dict[str, Any] | None, str]:
    """What the interpreter has installed (``_SCRIPT``'s output) and, when it cannot be read, why.

    Cached per interpreter while the venv's folders are unchanged (see the module's docstring).
    """
    executable = python or sys.executable
    cache = cache and not os.environ.get(NO_ENV_CACHE)
    file = _cache_file(executable) if cache else None
    if file is not None:
        try:
            held = json.loads(file.read_text(encoding="utf-8"))
            if held["stamp"] == _stamp(held["snapshot"]):
                return held["snapshot"], ""
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no snapshot yet, or an unreadable one: read the environment
    status, out, err = _run([executable, "-c", _SCRIPT])
    try:
        data = json.loads(out) if status == 0 else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        return None, (err.strip().splitlines() or [f"exit status {status}"])[-1]
    if file is not None:
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            # written whole, then renamed: a concurrent run reads the old snapshot or the new one
            with tempfile.NamedTemporaryFile("w", dir=file.parent, delete=False, encoding="utf-8") as handle:
                json.dump({"stamp": _stamp(data), "snapshot": data}, handle)
            os.replace(handle.name, file)
        except OSError:
            pass  # a read-only cache folder only costs time
    return data, ""


def _declared(top: Path) -> set[str]:
    """Distributions the project itself requires: pyproject ``[project]`` dependencies, requirements*.txt."""
    names: list[str] = []
    try:
        with (top / "pyproject.toml").open("rb") as handle:
            project = tomllib.load(handle).get("project")
    except (OSError, tomllib.TOMLDecodeError):
        project = None
    if isinstance(project, dict):
        names += [str(d) for d in project.get("dependencies") or []]
        if isinstance(project.get("name"), str):
            names.append(project["name"])
    for file in sorted(top.glob("requirements*.txt")):
        try:
            names += [line for line in file.read_text(encoding="utf-8").splitlines() if not line.startswith("-")]
        except (OSError, UnicodeDecodeError):
            continue
    found = (re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", n) for n in names)
    return {normalize_dist(m.group(1)) for m in found if m}


def _closure(start: set[str], requires: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [n for n in start if n in requires]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [normalize_dist(r) for r in requires.get(name, []) if normalize_dist(r) in requires]
    return seen


def tooling(data: dict[str, Any], top: Path | None) -> set[str]:
    """Distributions that are provaudit's own tooling here: provaudit and what it requires, less what the
    project declares (and what that requires). Nothing when the project is provaudit itself."""
    requires = {normalize_dist(str(r["name"])): list(r.get("requires") or []) for r in data.get("distributions") or []}
    if TOOL not in requires:
        return set()
    declared = _declared(top) if top is not None and top.is_dir() else set()
    if TOOL in declared:
        return set()
    return _closure({TOOL}, requires) - _closure(declared, requires)


def public_path(path: str | None, top: Path | None) -> str | None:
    """A metadata file's path as a record may name it: relative to the work tree, else from its
    ``.dist-info`` folder on (never an absolute path of this machine)."""
    if not path:
        return None
    file = Path(path)
    if top is not None:
        try:
            return file.resolve().relative_to(top.resolve()).as_posix()
        except (ValueError, OSError):
            pass
    return f"{file.parent.name}/{file.name}"


def _read_environment(
    code: Record, python: str | None, options: CollectOptions, snapshot: dict[str, Any] | None = None
) -> list[Record]:
    executable = python or sys.executable
    data, problem = (snapshot, "") if snapshot is not None else environment_snapshot(executable)
    if data is None:
        code.findings.append(
            Finding(
                rule="PA029",
                severity=Severity.ERROR,
                message=f"{executable}: cannot list the installed distributions: {problem}",
                source=Source(collector=COLLECTOR, file=executable, field="python"),
                fix="give a working interpreter: pipeline:PATH#python=/path/to/venv/bin/python",
            )
        )
        return []
    top = Path(code.location) if code.location else None
    shown = public_path(str(data.get("executable") or executable), top)
    env_source = Source(collector=COLLECTOR, file=shown, field="python")
    code.add("facts", Fact(key="python", value=str(data.get("python")), source=env_source))
    code.add("facts", Fact(key="python_executable", value=shown or "python", source=env_source))
    skipped = tooling(data, top)
    if skipped:
        code.add(
            "facts",
            Fact(
                key="tooling_distributions",
                value=f"{len(skipped)} distributions are provaudit's own tooling, not this code's: "
                + ", ".join(sorted(skipped)),
                source=env_source,
            ),
        )
    reader = CardReader(collector=COLLECTOR, max_bytes=options.max_file_bytes)
    records: dict[str, Record] = {}
    for row in sorted(data.get("distributions") or [], key=lambda r: normalize_dist(str(r.get("name")))):
        if normalize_dist(str(row.get("name"))) in skipped:
            continue
        row = {**row, "metadata": public_path(row.get("metadata"), top)}
        record = _package(row, reader)
        if record.id in records:  # the same distribution twice on sys.path: the first one is imported
            continue
        records[record.id] = record
        pin = f"=={record.version}" if record.version else None
        code.add(
            "upstream",
            Upstream(
                target=record.id,
                raw=f"{row.get('name')}{pin or ''}",
                relation=Relation.USES,
                source=Source(collector=COLLECTOR, file=row.get("metadata") or env_source.file, field="Version"),
                version=pin,
            ),
        )
    return list(records.values())


def _package(row: dict[str, Any], reader: CardReader) -> Record:
    name = normalize_dist(str(row["name"]))
    metadata = row.get("metadata")
    record = Record(
        id=record_id(Kind.PACKAGE, f"pypi/{name}"),
        kind=Kind.PACKAGE,
        name=f"pypi/{name}",
        location=None,  # where this machine installed it is no part of the package's record
        version=row.get("version") or None,
        collectors=[COLLECTOR],
    )
    expression = (row.get("license_expression") or "").strip()
    if expression:
        reader.add_claim(record, expression, metadata, "License-Expression")
    text = (row.get("license") or "").strip()
    # `License:` often holds the whole license text; only a short one-line value is a declared id or name
    if text and text.upper() != "UNKNOWN":
        if "\n" not in text and len(text) <= 100:
            reader.add_claim(record, text, metadata, "License")
        else:
            first = text.splitlines()[0].strip()[:200]
            record.add(
                "facts",
                Fact(
                    key="license_text", value=first, source=Source(collector=COLLECTOR, file=metadata, field="License")
                ),
            )
    for classifier in row.get("classifiers") or []:
        # `License :: OSI Approved :: MIT License`: the last segment names the license
        label = classifier.split("::")[-1].strip()
        if label and label != "OSI Approved":  # `License :: OSI Approved` alone names no license
            reader.add_claim(record, label, metadata, "Classifier")
    return record
