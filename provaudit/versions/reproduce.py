"""``provaudit reproduce RUN``: run the recorded command again from the recorded code; same outputs?

1. The recorded commit is checked out as a ``git worktree`` in a temporary folder (the work tree
   itself is never touched). Files the run had uncommitted are copied in when the current file has
   the bytes the run recorded; otherwise the report says the committed version ran.
2. Inputs that git does not hold (DVC outs, ignored data) are copied in from the work tree when their
   data version is the recorded one, else restored from DVC's cache (``.dvc/cache``) by the recorded
   hash; when neither has it, the version there is is used and said.
3. The environment: the recorded interpreter (else this one) when its packages are at the recorded
   versions; otherwise the recorded versions of the packages that differ are installed with pip into
   a folder put first on ``PYTHONPATH`` (a pinned layer over that environment). What does not install
   is named, and the run falls back to the version there is.
4. The command runs there, with its own ``provaudit.run`` records going to a throw-away store, and
   each recorded output's digest is compared (sha256, DVC's md5 or ``.dir`` hash, as recorded).

Exit 0 when every output is identical, 1 when one differs or is missing (each named).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provaudit.errors import InputError
from provaudit.versions.check import digest_like, not_code, pipeline_outputs
from provaudit.versions.data import data_version, file_md5
from provaudit.versions.runs import RunRecord, read_environment, sha256_file

_TAIL = 2000  # characters of a failed command's output kept in the report


@dataclass(frozen=True)
class OutputResult:
    path: str
    recorded: str
    reproduced: str | None  # None: the command did not write it

    @property
    def identical(self) -> bool:
        return self.recorded == self.reproduced

    @property
    def message(self) -> str:
        if self.identical:
            return f"identical  {self.path}  {self.recorded}"
        if self.reproduced is None:
            return f"missing    {self.path}: recorded {self.recorded}, the command did not write it"
        return f"different  {self.path}: recorded {self.recorded}, reproduced {self.reproduced}"


@dataclass
class Reproduction:
    run: RunRecord
    commit: str
    command: str
    environment: str
    exit_status: int | None = None
    outputs: list[OutputResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was not as recorded, and what was done about it
    log_tail: str = ""

    @property
    def identical(self) -> bool:
        return self.exit_status == 0 and bool(self.outputs) and all(o.identical for o in self.outputs)

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run.iri,
            "commit": self.commit,
            "command": self.command,
            "environment": self.environment,
            "exit_status": self.exit_status,
            "identical": self.identical,
            "outputs": [
                {"path": o.path, "recorded": o.recorded, "reproduced": o.reproduced, "identical": o.identical}
                for o in self.outputs
            ],
            "notes": self.notes,
        }


def _git(top: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", top, *args], capture_output=True, text=True, check=False)


@contextmanager
def checkout(top: str, commit: str, *, keep: bool = False) -> Iterator[Path]:
    """The commit as a detached ``git worktree`` in a temporary folder, removed afterwards unless KEEP."""
    folder = Path(tempfile.mkdtemp(prefix="provaudit-reproduce-"))
    tree = folder / "tree"
    done = _git(top, "worktree", "add", "--detach", str(tree), commit)
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise InputError(top, f"cannot check out commit {commit}: {done.stderr.strip()}")
    try:
        yield tree
    finally:
        if not keep:
            _git(top, "worktree", "remove", "--force", str(tree))
            shutil.rmtree(folder, ignore_errors=True)
            _git(top, "worktree", "prune")


def _version_of(path: Path) -> str | None:
    if path.is_dir():
        return data_version(path).dir_hash
    return file_md5(path)[0] if path.is_file() else None


def _remove(target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()


def _copy(source: Path, target: Path) -> None:
    _remove(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
    else:
        shutil.copy2(source, target)


def _dvc_cached(top: Path, version: str) -> Path | None:
    """The object DVC's cache keeps for an md5 (``<md5>.dir``: the folder's manifest), DVC 3 or 2 layout."""
    md5 = version.removesuffix(".dir")
    if len(md5) != 32 or any(c not in "0123456789abcdef" for c in md5):
        return None
    suffix = ".dir" if version.endswith(".dir") else ""
    for cache in (top / ".dvc" / "cache" / "files" / "md5", top / ".dvc" / "cache"):
        found = cache / md5[:2] / (md5[2:] + suffix)
        if found.is_file():
            return found
    return None


def _restore_from_dvc(top: Path, version: str, target: Path) -> bool:
    """Write the recorded VERSION of an input at TARGET from DVC's cache; False when the cache lacks it."""
    found = _dvc_cached(top, version)
    if found is None:
        return False
    if not version.endswith(".dir"):
        _copy(found, target)
        return True
    try:
        entries = json.loads(found.read_text(encoding="utf-8"))
        files = {str(e["relpath"]): _dvc_cached(top, str(e["md5"])) for e in entries}
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if any(f is None for f in files.values()) or any(
        Path(rel).is_absolute() or ".." in Path(rel).parts for rel in files
    ):
        return False
    _remove(target)
    for rel, cached in files.items():
        assert cached is not None
        _copy(cached, target / rel)
    return True


def _prepare_inputs(run: RunRecord, top: Path, tree: Path, notes: list[str]) -> None:
    """Inputs as recorded: those git does not hold copied from the work tree or restored from DVC's cache."""
    for data in run.inputs:
        rel = Path(data.path)
        if rel.is_absolute():
            if _version_of(rel) != data.version:
                notes.append(f"input {data.path} is no longer version {data.version}: used as it is now")
            continue
        here, there = top / rel, tree / rel
        if _version_of(there) == data.version:
            continue  # the commit holds it as it was
        now = _version_of(here)
        if now != data.version and _restore_from_dvc(top, data.version, there):
            notes.append(f"input {data.path} restored from the DVC cache at the recorded version {data.version}")
            continue
        if now is None:
            notes.append(f"input {data.path} is missing from the work tree: the command ran without it")
            continue
        if now != data.version:
            notes.append(f"input {data.path} is now version {now}, not the recorded {data.version}: used as it is now")
        _copy(here, there)


def _prepare_code(run: RunRecord, top: Path, tree: Path, notes: list[str]) -> None:
    """Files the run had uncommitted: copied in when the work tree still has the recorded bytes."""
    generated = pipeline_outputs(run, str(top))
    inputs = {d.path for d in run.inputs}
    for dirty in run.code.dirty:
        rel = str(dirty["path"]).rstrip("/")
        if rel in inputs or not_code(rel, generated) or rel.startswith(".provaudit"):
            continue  # inputs are prepared as data; outputs and bookkeeping are not what the command reads
        here = top / rel
        if dirty.get("sha256") and here.is_file() and sha256_file(here) == dirty["sha256"]:
            _copy(here, tree / rel)
            notes.append(f"uncommitted {rel}: copied from the work tree (the bytes the run recorded)")
        elif dirty.get("sha256") or dirty.get("status") != "??":
            notes.append(f"uncommitted {rel} at run time: its content is not available, the committed version ran")


def _environment(run: RunRecord, folder: Path, notes: list[str], *, install: bool) -> tuple[str, dict[str, str], str]:
    """The interpreter to run with, the variables that pin the recorded packages, and what that is."""
    recorded = run.python_executable
    python = recorded if recorded and Path(recorded).exists() else sys.executable
    if recorded and python != recorded:
        notes.append(f"the recorded interpreter {recorded} is gone: ran with {python}")
    env: dict[str, str] = {}
    if not run.packages:
        return python, env, f"{python} (the current environment: the run recorded no packages)"
    _, _, now = read_environment(folder, python)
    have = {p.name.lower(): p.version for p in now.packages}
    wanted = {p.name: p.version for p in run.packages if p.version and have.get(p.name.lower()) != p.version}
    if run.python and now.python and run.python != now.python:
        notes.append(f"python {run.python} was recorded; {now.python} ran (an interpreter is not installed by pip)")
    if not wanted:
        return python, env, f"{python} (all {len(run.packages)} recorded packages at their recorded versions)"
    pins = folder / "pins"
    installed: list[str] = []
    if install:
        for name, version in sorted(wanted.items()):
            done = subprocess.run(
                [python, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(pins), f"{name}=={version}"],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode == 0:
                installed.append(f"{name}=={version}")
            else:
                reason = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
                notes.append(f"package {name} {version} did not install ({reason}): ran with {have.get(name.lower())}")
    else:
        for name, version in sorted(wanted.items()):
            notes.append(f"package {name}: recorded {version}, ran with {have.get(name.lower())} (--no-install)")
    if installed:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pins), os.environ.get("PYTHONPATH")]))
        notes.append(f"installed the recorded {', '.join(installed)} over {python}'s environment")
    if len(installed) == len(wanted):
        return python, env, f"{python} with the {len(wanted)} differing package(s) pinned to the recorded versions"
    return python, env, f"{python} (the current environment where a recorded version did not install: see notes)"


def _command(run: RunRecord, python: str) -> tuple[list[str] | str, str]:
    """The recorded command with the chosen interpreter in place of the recorded one; (argv or shell line, text)."""
    if not run.command or not any(run.command):
        raise InputError(run.iri, "the run recorded no command to re-run")
    argv = list(run.command)
    if run.source == "dvc":  # DVC keeps each cmd as a shell line, run one after the other
        line = " && ".join(argv)
        return line, line
    first = argv[0]
    if first == run.python_executable or Path(first).name.startswith("python"):
        argv[0] = python
    return argv, shlex.join(run.command)


def reproduce(
    run: RunRecord, *, path: str | Path | None = None, install: bool = True, keep: bool = False
) -> Reproduction:
    """Re-run RUN's command from its commit and compare every output digest it recorded."""
    code = run.code
    if not code.commit:
        raise InputError(run.iri, "the run recorded no git commit: there is no code version to check out")
    top = Path(path) if path is not None else Path(code.toplevel or ".")
    found = _git(str(top), "rev-parse", "--show-toplevel")
    if found.returncode != 0:
        raise InputError(str(top), "not a git work tree (give the project's folder with --path)")
    top = Path(found.stdout.strip())
    outputs = [o for o in run.outputs if o.sha256 and not Path(o.path).is_absolute()]
    if not outputs:
        raise InputError(run.iri, "the run recorded no output inside its work tree with a digest to compare")
    folder = Path(tempfile.mkdtemp(prefix="provaudit-reproduce-env-"))
    try:
        notes: list[str] = []
        python, env, described = _environment(run, folder, notes, install=install)
        line, shown = _command(run, python)
        result = Reproduction(run=run, commit=code.commit, command=shown, environment=described, notes=notes)
        with checkout(str(top), code.commit, keep=keep) as tree:
            if keep:
                notes.append(f"kept the checkout at {tree}")
            _prepare_code(run, top, tree, notes)
            _prepare_inputs(run, top, tree, notes)
            for out in outputs:  # what the commit holds of an output must not count as reproduced
                _remove(tree / out.path)
            cwd = tree
            if run.cwd and code.toplevel:
                with suppress(ValueError):
                    cwd = tree / Path(run.cwd).relative_to(code.toplevel)
            variables = {**os.environ, **env, "PROVAUDIT_STORE": str(folder / "store")}
            variables["PATH"] = os.pathsep.join([str(Path(python).parent), variables.get("PATH", "")])
            done = subprocess.run(
                line,
                cwd=cwd,
                env=variables,
                shell=isinstance(line, str),
                capture_output=True,
                text=True,
                check=False,
            )
            result.exit_status = done.returncode
            if done.returncode != 0:
                result.log_tail = (done.stdout + done.stderr)[-_TAIL:]
            for out in outputs:
                assert out.sha256 is not None
                result.outputs.append(OutputResult(out.path, out.sha256, digest_like(out.sha256, tree / out.path)))
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def render_text(result: Reproduction) -> str:
    lines = [
        f"run {result.run.iri} ({result.run.source}: {result.run.name})",
        f"  commit       {result.commit}",
        f"  command      {result.command}",
        f"  environment  {result.environment}",
    ]
    lines += [f"  note         {n}" for n in result.notes]
    if result.exit_status != 0:
        lines.append(f"the command exited with status {result.exit_status}:")
        lines += [f"  | {line}" for line in result.log_tail.splitlines()[-20:]]
    lines += [f"  {o.message}" for o in result.outputs]
    if result.identical:
        lines.append(f"identical: all {len(result.outputs)} output(s) reproduced byte for byte")
    else:
        bad = [o.path for o in result.outputs if not o.identical]
        lines.append(f"different: {', '.join(bad) or 'the command failed'}")
    return "\n".join(lines) + "\n"
