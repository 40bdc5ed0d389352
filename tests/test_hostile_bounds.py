"""Issue 22: the bounds that keep work finite at size, each on real files through the real command line —
literals over pyoxigraph's 16 MiB line buffer in whole-store exports, a 1 MB Markdown table on a site page,
digests above --max-digest-bytes and sparse files, reader snapshots, store folders writable by others."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from provaudit import api
from provaudit.store import resilience

PROVAUDIT = Path(sys.executable).with_name("provaudit")
CARD = "---\nlicense: mit\n---\n# {name}\n\n"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PROVAUDIT_DEBUG"}
    return subprocess.run([str(PROVAUDIT), *args], capture_output=True, text=True, env=env, timeout=300)


def _table(rows: int, last: str) -> str:
    body = "".join(f"| {i} | {'cell ' * 8} | x |\n" for i in range(rows))
    return f"| a | b | c |\n|---|---|---|\n{body}| {last} | end | x |\n"


def test_whole_store_exports_carry_a_literal_longer_than_16_mib(tmp_path: Path) -> None:
    """A 23 MB card (allowed by --max-file-bytes) is stored whole; nt, turtle and jsonld exports end with
    exit 0 and hold its last line (they used to end in exit 3: "Reached the buffer maximal size")."""
    rec = tmp_path / "data" / "datasets" / "big"
    rec.mkdir(parents=True)
    last = "LAST-ROW-OF-A-HUGE-CARD"
    (rec / "README.md").write_text(CARD.format(name="big") + _table(400_000, last))
    assert (rec / "README.md").stat().st_size > 20 * 1024 * 1024
    store = tmp_path / "store"
    scanned = _run("scan", str(tmp_path / "data"), "--store", str(store), "--max-file-bytes", "60000000")
    assert scanned.returncode == 0, scanned.stderr
    for fmt in ("nt", "turtle", "jsonld"):
        exported = _run("export", "--format", fmt, "--store", str(store))
        assert exported.returncode == 0, exported.stderr[-2000:]
        assert last in exported.stdout, fmt


def test_a_1_mb_markdown_table_makes_a_bounded_page(tmp_path: Path) -> None:
    """The page of a card holding a 1 MB Markdown table is not an 11 MB page: the card is rendered up to
    MAX_RENDER_CHARS and the page says how much more there is."""
    from provaudit.site.markdown import MAX_RENDER_CHARS

    rec = tmp_path / "data" / "datasets" / "table"
    rec.mkdir(parents=True)
    (rec / "README.md").write_text(CARD.format(name="table") + _table(18_000, "LAST"))
    card_bytes = (rec / "README.md").stat().st_size
    assert card_bytes > 1_000_000
    store = tmp_path / "store"
    assert _run("scan", str(tmp_path / "data"), "--store", str(store)).returncode == 0
    site = tmp_path / "site"
    built = _run("site", "--store", str(store), "--out", str(site))
    assert built.returncode == 0, built.stderr
    pages = [p for p in site.rglob("*.html") if "table" in p.read_text(encoding="utf-8", errors="replace")]
    assert pages
    biggest = max(pages, key=lambda p: p.stat().st_size)
    text = biggest.read_text(encoding="utf-8")
    assert biggest.stat().st_size < 12 * MAX_RENDER_CHARS  # the shown part renders to at most ~11 times its size
    assert biggest.stat().st_size < card_bytes
    assert "The card continues for" in text and "<td>LAST</td>" not in text


def test_digests_above_the_bound_are_size_and_mtime_and_sparse_files_are_named(tmp_path: Path) -> None:
    rec = tmp_path / "data" / "datasets" / "files"
    rec.mkdir(parents=True)
    (rec / "README.md").write_text(CARD.format(name="files"))
    (rec / "big.bin").write_bytes(b"x" * 5000)
    with (rec / "holes.bin").open("wb") as handle:
        handle.truncate(8 * 1024 * 1024)  # 8 MiB of holes: nothing on disk
    store = tmp_path / "store"
    result = _run(
        "scan",
        str(tmp_path / "data"),
        "--store",
        str(store),
        "--json",
        "--max-digest-bytes",
        "4000",
        "--fail-on",
        "never",
    )
    assert result.returncode == 0, result.stderr
    mtime = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((rec / "big.bin").stat().st_mtime))
    with api.open_store(store, read_only=True) as db:
        record = db.record("dataset:files")
        assert record is not None
        files = {f.path: f for f in record.files}
        assert files["big.bin"].sha256 is None and files["big.bin"].size == 5000
        assert files["README.md"].sha256 is not None
        messages = [f.message for f in record.findings]
    big = [m for m in messages if m.startswith("big.bin:")]
    assert big and "--max-digest-bytes" in big[0] and mtime in big[0]
    holes = [m for m in messages if m.startswith("holes.bin:")]
    assert holes and "sparse file" in holes[0] and "--max-digest-bytes" in holes[0]


def test_readers_open_a_snapshot_and_remove_it(tmp_path: Path) -> None:
    store = tmp_path / "store"
    api.scan([str(Path(__file__).parent.parent / "data" / "demo" / "datasets" / "imdb")], store=store)
    stale = store / resilience.SNAPSHOTS / "999999999-dead"  # a reader killed before it could clean up
    stale.mkdir(parents=True)
    with api.open_store(store, read_only=True) as db:
        assert db.record("dataset:imdb") is not None
        mine = [p.name for p in (store / resilience.SNAPSHOTS).iterdir()]
        assert len(mine) == 1 and mine[0].startswith(f"{os.getpid()}-")  # the stale one was swept
        linked = next((store / resilience.SNAPSHOTS / mine[0]).glob("*.sst"))
        assert linked.stat().st_nlink >= 2  # a hard link to the live table file, not a copy
    assert not any((store / resilience.SNAPSHOTS).iterdir())


def test_a_store_folder_writable_by_others_is_warned_in_every_command_and_an_error_in_check(tmp_path: Path) -> None:
    store = tmp_path / "store"
    api.scan([str(Path(__file__).parent.parent / "data" / "demo" / "datasets" / "imdb")], store=store)
    store.chmod(0o777)  # mode bits hold for root too
    for args in (["scans"], ["query", "ASK { ?s ?p ?o }"], ["review", "--fail-on", "never"]):
        result = _run(*args, "--store", str(store))
        assert result.returncode == 0, result.stderr
        assert "writable by others (mode 0777)" in result.stderr and "chmod o-w" in result.stderr, args
    checked = _run("store", "check", "--store", str(store), "--no-shacl", "--json")
    assert checked.returncode == 1
    problems = json.loads(checked.stdout)["problems"]
    assert any(p["severity"] == "error" and "writable by others" in p["message"] for p in problems)
    store.chmod(0o755)
    assert "writable by others" not in _run("scans", "--store", str(store)).stderr
