"""Issue 12: every case of the hostile corpus (tests/hostile/make_corpus.py) ends with exit 0, 1 or 2, no
traceback, output naming the file, the store still readable with every earlier scan intact, and nothing
from outside the scanned folder in the store, an export or the site."""

from __future__ import annotations

import errno
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from provaudit import api
from provaudit.cli import main
from tests.hostile import make_corpus
from tests.hostile.make_corpus import CASES, MARKER, Case, commands, outside

PROVAUDIT = Path(sys.executable).with_name("provaudit")
DEMO = Path(__file__).parent.parent / "data" / "demo"
TIMEOUT = 60  # seconds: a case that takes longer is a hang
MEMORY = 4 << 30  # bytes of address space per command: reading /dev/zero whole would pass it


class Listener:
    """A loopback TCP listener that counts the connections made to it (a local scan must make none)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


class World:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.outside = outside(root / "outside")
        self.store = root / "store"
        baseline = api.scan([str(DEMO / "datasets" / "imdb")], store=self.store)
        self.baseline = baseline.scan.iri
        self.results: dict[str, tuple[int, float]] = {}
        self.listener = Listener()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    made = World(tmp_path_factory.mktemp("hostile"))
    make_corpus.LISTENER = made.listener.url
    yield made
    made.listener.sock.close()
    for dirpath, dirnames, _ in os.walk(made.root):  # let pytest clean up what the cases locked
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o755)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PROVAUDIT_DEBUG"}
    return subprocess.run(
        [str(PROVAUDIT), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        errors="replace",
        preexec_fn=_limit_memory,
    )


def _denied(paths: tuple[str, ...]) -> Iterator[None]:
    """Permissions as an unprivileged user sees them, for a test run as root (root reads everything)."""
    real_scandir, real_open, real_listdir, real_mkdir = os.scandir, os.open, os.listdir, os.mkdir

    def locked(path: object) -> bool:
        text = os.fsdecode(path) if isinstance(path, str | bytes | os.PathLike) else ""
        return any(p in text for p in paths)

    def scandir(path: object = ".") -> object:
        if locked(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(path))  # type: ignore[arg-type]
        return real_scandir(path)  # type: ignore[call-overload]

    def listdir(path: object = ".") -> list[str]:
        if locked(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(path))  # type: ignore[arg-type]
        return real_listdir(path)  # type: ignore[call-overload, no-any-return]

    def open_(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if locked(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(path))  # type: ignore[arg-type]
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    def mkdir(path: object, *args: object, **kwargs: object) -> None:
        if locked(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(path))  # type: ignore[arg-type]
        real_mkdir(path, *args, **kwargs)  # type: ignore[arg-type]

    os.scandir, os.listdir, os.open, os.mkdir = scandir, listdir, open_, mkdir  # type: ignore[assignment]
    try:
        yield
    finally:
        os.scandir, os.listdir, os.open, os.mkdir = real_scandir, real_listdir, real_open, real_mkdir


def _run_unprivileged(args: list[str], locked: tuple[str, ...]) -> tuple[int, str]:
    """Run as a user permissions apply to; when the test runs as root, in-process with EACCES emulated
    for the locked paths (the files the case chmod'ed to 0)."""
    if os.geteuid() != 0:
        result = _run(args)
        return result.returncode, result.stdout + result.stderr
    gen = _denied(locked)
    next(gen)
    try:
        out = CliRunner().invoke(main, args)
    finally:
        next(gen, None)
    text = out.output + (str(out.exception) if out.exception and not isinstance(out.exception, SystemExit) else "")
    if out.exception and not isinstance(out.exception, SystemExit):
        text += "\nTraceback: " + repr(out.exception)
    return out.exit_code, text


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case(case: Case, world: World) -> None:
    folder = world.root / "cases" / case.name
    outputs: list[str] = []
    slowest = 0.0
    for command in commands(case.build(folder, world.outside)):
        args = [a.replace("{store}", str(world.store)) for a in command]
        started = time.monotonic()
        if case.locked:
            code, output = _run_unprivileged(args, case.locked)
        else:
            result = _run(args)
            code, output = result.returncode, result.stdout + result.stderr
        slowest = max(slowest, time.monotonic() - started)
        world.results[case.name] = (code, slowest)
        shown = f"{' '.join(args)[:300]}\n{output[-3000:]}"
        assert code in case.codes, shown
        assert "Traceback" not in output, shown
        assert "internal error" not in output, shown
        assert "MemoryError" not in output, shown
        assert MARKER not in output
        outputs.append(output)
    assert any(case.mention in output for output in outputs), outputs[-1][-3000:]
    assert world.listener.connections == 0  # no nested or imported context was fetched
    # the store: readable, every earlier scan still there, nothing from outside
    scans = _run(["scans", "--store", str(world.store), "--json"])
    assert scans.returncode == 0, scans.stderr
    assert world.baseline in scans.stdout
    with api.open_store(world.store, read_only=True) as db:
        assert db.record("dataset:imdb") is not None
        assert MARKER.encode() not in db.ntriples()


def test_huge_front_matter_is_refused_fast(world: World) -> None:
    """A 50 MB front matter with a raised --max-file-bytes: refused by the YAML limit, not parsed for a minute."""
    case = next(c for c in CASES if c.name == "huge_front_matter")
    folder = world.root / "timed"
    args = [a.replace("{store}", str(world.store)) for a in case.build(folder, world.outside)]
    started = time.monotonic()
    result = _run(args)
    assert result.returncode in (0, 1) and "--max-yaml-bytes" in result.stdout
    assert time.monotonic() - started < 20


def test_symlinks_out_of_the_root_reach_no_store_export_or_site(tmp_path: Path) -> None:
    """README, LICENSE, a data file, a DPI summary and a whole folder symlinked to files holding a marker:
    the marker is in none of the store, the exports and the site."""
    out = outside(tmp_path / "outside")
    root = tmp_path / "root"
    rec = root / "datasets" / "rec"
    rec.mkdir(parents=True)
    (rec / "README.md").symlink_to(out / "secret.md")
    (rec / "LICENSE").symlink_to(out / "passwd")
    (rec / "data.csv").symlink_to(out / "passwd")
    model = root / "models" / "m"
    model.mkdir(parents=True)
    (model / "README.md").write_text("---\nlicense: other\nlicense_link: LICENSE.txt\n---\n# m\n")
    (model / "LICENSE.txt").symlink_to(out / "passwd")
    (root / "datasets" / "evil").symlink_to(out / "record", target_is_directory=True)
    store = tmp_path / "store"
    result = _run(["scan", str(root), "--store", str(store), "--json", "--fail-on", "never"])
    assert result.returncode == 0, result.stderr
    assert "outside the scanned folder" in result.stdout
    texts = [result.stdout]
    for fmt in ("turtle", "jsonld", "nq"):
        exported = _run(["export", "--format", fmt, "--store", str(store)])
        assert exported.returncode == 0, exported.stderr
        texts.append(exported.stdout)
    umr = _run(["export", "dataset:rec", "--format", "umr", "--store", str(store)])
    texts.append(umr.stdout)
    site = tmp_path / "site"
    built = _run(["site", "--store", str(store), "--out", str(site)])
    assert built.returncode == 0, built.stderr
    files = [p for p in site.rglob("*") if p.is_file()]
    assert files
    leaked = [p for p in files if MARKER.encode() in p.read_bytes()] + [t[:80] for t in texts if MARKER in t]
    assert not leaked


def test_scan_wait_queues_behind_a_running_writer(tmp_path: Path) -> None:
    store = tmp_path / "store"
    api.scan([str(DEMO / "datasets" / "imdb")], store=store)
    from provaudit.store.oxigraph import OxigraphStore

    holder = OxigraphStore(store)  # a writer holding the lock, as a running scan does
    try:
        busy = _run(["scan", str(DEMO / "datasets" / "snli"), "--store", str(store)])
        assert busy.returncode == 2 and "--wait" in busy.stderr and "Traceback" not in busy.stderr
        waiting = subprocess.Popen(
            [str(PROVAUDIT), "scan", str(DEMO / "datasets" / "snli"), "--store", str(store), "--wait", "60"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(2)
        assert waiting.poll() is None  # queued
    finally:
        holder.close()
    _, err = waiting.communicate(timeout=120)
    assert waiting.returncode in (0, 1), err
    with api.open_store(store, read_only=True) as db:
        assert len(db.scans()) == 2


def test_unexpected_errors_exit_3_with_one_line_and_a_traceback_on_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    import provaudit.api

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(provaudit.api, "scan", broken)
    result = CliRunner().invoke(main, ["scan", str(DEMO / "datasets" / "imdb")])
    assert result.exit_code == 3
    assert "internal error" in result.output and "report" in result.output and "Traceback" not in result.output
    debug = CliRunner().invoke(main, ["--debug", "scan", str(DEMO / "datasets" / "imdb")])
    assert isinstance(debug.exception, ZeroDivisionError)


def test_store_check_reports_shacl_violations_with_their_node(tmp_path: Path) -> None:
    from provaudit.store.maintenance import check_store, shacl_problems

    store = tmp_path / "store"
    api.scan([str(DEMO / "datasets" / "imdb")], store=store)
    report = check_store(store)
    assert report.ok and report.scans == 1 and report.quads > 0, [p.line() for p in report.problems]
    bad = (
        b"<https://w3id.org/provaudit/id/dataset/x/rev/1> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
        b"<https://w3id.org/provaudit/ns#Revision> .\n"
        b'<https://w3id.org/provaudit/id/dataset/x/rev/1> <https://w3id.org/provaudit/ns#contentDigest> "nope" .\n'
    )
    problems = shacl_problems(bad)
    assert problems and all("<https://w3id.org/provaudit/id/dataset/x/rev/1>" in p.where for p in problems)


def test_counts_for_docs(world: World) -> None:
    """Runs last in this module: the counts docs/reliability.md reports."""
    if len(world.results) < len(CASES):
        pytest.skip("run the whole module for the counts")
    crashes = sum(1 for code, _ in world.results.values() if code not in (0, 1, 2))
    slow = max(seconds for _, seconds in world.results.values())
    print(json.dumps({"cases": len(world.results), "crashes": crashes, "slowest_s": round(slow, 1)}))
    assert crashes == 0 and slow < TIMEOUT
