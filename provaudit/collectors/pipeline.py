"""Pipeline provenance: the code version of a training pipeline and the Python distributions it ran with.

Target syntax::

    pipeline:PATH                                   # the git work tree at PATH, the current Python environment
    pipeline:PATH#model=org/name                    # ... and it is the pipeline that trained model:org/name
    pipeline:PATH#python=/venv/bin/python&model=x   # read the distributions of another environment

Records: one ``code:<name>`` (Kind.CODE; version = the HEAD commit; facts branch, remote, dirty files)
linked with Relation.USES to one ``package:pypi/<name>`` per installed distribution (Kind.PACKAGE;
version and declared licenses from its metadata: License-Expression, License, license classifiers).
With ``model=``, the model record gets only an upstream USES link to the code record.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
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
# Run in the environment being read (any Python >= 3.8), so only the standard library is used.
_SCRIPT = r"""
import json, sys
import importlib.metadata as m
rows = []
for d in m.distributions():
    md = d.metadata
    name = md.get("Name")
    if not name:
        continue
    path = getattr(d, "_path", None)
    rows.append({
        "name": name,
        "version": md.get("Version"),
        "license_expression": md.get("License-Expression"),
        "license": md.get("License"),
        "classifiers": [c for c in (md.get_all("Classifier") or []) if c.startswith("License ::")],
        "metadata": str(path / "METADATA") if path is not None and (path / "METADATA").exists() else (
            str(path / "PKG-INFO") if path is not None else None),
    })
print(json.dumps({"python": sys.version.split()[0], "executable": sys.executable, "distributions": rows}))
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


def collect_pipeline(target: PipelineTarget, options: CollectOptions | None = None) -> list[Record]:
    """The code record, its package records and (with ``model=``) the model's link. Never raises on content."""
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
    packages = _read_environment(code, target.python, options)
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


def _read_environment(code: Record, python: str | None, options: CollectOptions) -> list[Record]:
    executable = python or sys.executable
    status, out, err = _run([executable, "-c", _SCRIPT])
    try:
        data = json.loads(out) if status == 0 else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        problem = (err.strip().splitlines() or [f"exit status {status}"])[-1]
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
    env_source = Source(collector=COLLECTOR, file=str(data.get("executable") or executable), field="python")
    code.add("facts", Fact(key="python", value=str(data.get("python")), source=env_source))
    code.add("facts", Fact(key="python_executable", value=str(data.get("executable")), source=env_source))
    reader = CardReader(collector=COLLECTOR, max_bytes=options.max_file_bytes)
    records: dict[str, Record] = {}
    for row in sorted(data.get("distributions") or [], key=lambda r: normalize_dist(str(r.get("name")))):
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
        location=str(Path(metadata).parent) if metadata else None,
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
