"""The site under faults and hostile URLs: a killed rebuild leaves the previous site whole, and
no ``javascript:`` (or any other scheme off the allow-list) reaches an ``href`` or ``src``."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import html5lib  # type: ignore[import-untyped]
import pytest

from provaudit import api
from provaudit.errors import InputError
from provaudit.site import build as site_build
from provaudit.site.build import build_site_from_store
from provaudit.site.urls import safe_url

DEMO = Path(__file__).parent.parent / "data" / "demo"
PROVAUDIT = Path(sys.executable).with_name("provaudit")


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under the folder (dot files included), by relative path; folders as ``/``."""
    out: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        out[rel] = "/" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("demo") / "store"
    api.scan([str(DEMO / "datasets"), str(DEMO / "models"), str(DEMO / "dpi")], store=store)
    return store


# --- atomic rebuilds ------------------------------------------------------------------------------


def _files_in(folder: Path) -> int:
    try:
        return sum(len(files) for _, _, files in os.walk(folder))
    except OSError:
        return 0


@pytest.mark.parametrize("after_files", [1, 10, 40])
def test_kill_9_during_a_rebuild_leaves_the_previous_site_byte_identical(
    tmp_path: Path, demo_store: Path, after_files: int
) -> None:
    out = tmp_path / "site"
    # a different title makes every page of the previous site differ from what the killed build writes
    build_site_from_store(demo_store, out, title="previous build")
    (out / "CNAME").write_text("docs.example.org\n")  # a file the user added
    before = snapshot(out)
    assert len(before) > 60

    killed = 0
    for _ in range(20):  # a trial where the build finished before the kill proves nothing: try again
        proc = subprocess.Popen(
            [str(PROVAUDIT), "site", "--store", str(demo_store), "--out", str(out), "--title", "killed build"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        work = tmp_path / f".site.tmp-{proc.pid}"
        deadline = time.monotonic() + 60
        while proc.poll() is None and _files_in(work) < after_files and time.monotonic() < deadline:
            pass
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            if proc.returncode == -signal.SIGKILL and work.exists():
                killed += 1
                assert snapshot(out) == before, "the previous site changed"
                break
        # finished first: restore the previous site and try again
        shutil.rmtree(out)
        build_site_from_store(demo_store, out, title="previous build")
        (out / "CNAME").write_text("docs.example.org\n")
        before = snapshot(out)
    assert killed == 1, "the build always finished before the kill"

    # the next build clears what the killed one left and replaces the site as a whole
    assert any(p.name.startswith(".site.tmp-") for p in tmp_path.iterdir())
    build_site_from_store(demo_store, out, title="next build")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]
    assert "next build" in (out / "index.html").read_text()
    assert (out / "CNAME").read_text() == "docs.example.org\n"


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_a_rebuild_swaps_the_whole_folder(
    tmp_path: Path, demo_store: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    monkeypatch.setattr(site_build, "USE_EXCHANGE", exchange)
    out = tmp_path / "site"
    build_site_from_store(demo_store, out, title="first")
    (out / "records" / "stale.html").write_text("from a build long ago")
    (out / ".nojekyll").write_text("")
    build_site_from_store(demo_store, out, title="second")
    assert "second" in (out / "index.html").read_text()
    assert not (out / "records" / "stale.html").exists()  # generated folders are replaced, not merged
    assert (out / ".nojekyll").exists()  # the user's own top-level files are kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_failed_build_leaves_the_previous_site_and_no_temporary_folder(
    tmp_path: Path, demo_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    build_site_from_store(demo_store, out)
    before = snapshot(out)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")  # a fault injected half-way through the build

    monkeypatch.setattr(site_build, "_write_findings_js", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        build_site_from_store(demo_store, out)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux only")
def test_renameat2_exchange_swaps_two_folders(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "from-a").write_text("a")
    (tmp_path / "b" / "from-b").write_text("b")
    if not site_build._exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("this kernel or file system has no RENAME_EXCHANGE (the two-rename path is tested)")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["from-b"]
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["from-a"]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_build_killed_between_the_two_renames_is_undone_by_the_next(tmp_path: Path, demo_store: Path) -> None:
    """``out`` missing and the previous site in ``.old-<pid>``: it is put back before building."""
    out = tmp_path / "site"
    build_site_from_store(demo_store, out, title="previous build")
    before = snapshot(out)
    pid = _dead_pid()
    out.rename(tmp_path / f".site.old-{pid}")
    (tmp_path / f".site.tmp-{pid}").mkdir()  # the complete new site that never got its name
    site_build._clean_leftovers(out)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_leftovers_of_live_builds_are_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "site"
    running = tmp_path / f".site.tmp-{os.getppid()}"  # a live process: a build in progress
    running.mkdir()
    site_build._clean_leftovers(out)
    assert running.exists()


def test_a_folder_that_is_no_site_is_refused_untouched(tmp_path: Path, demo_store: Path) -> None:
    out = tmp_path / "home"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="holds no provaudit site"):
        build_site_from_store(demo_store, out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


# --- URLs -----------------------------------------------------------------------------------------

HOSTILE = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x01javascript:alert(1)",
    "javascript\u200b:alert(1)",
    "&#106;avascript:alert(1)",
    "javascript&colon;alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "//evil.example/x",
    "\\\\evil.example\\x",
    "/\\evil.example/x",
    "https://ok.example/\tjavascript:alert(1)",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_safe_url_refuses(value: str) -> None:
    assert safe_url(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://huggingface.co/datasets/squad", "https://huggingface.co/datasets/squad"),
        ("  http://example.org/a?b=1#c ", "http://example.org/a?b=1#c"),
        ("HTTPS://EXAMPLE.ORG", "HTTPS://EXAMPLE.ORG"),
        ("mailto:legal@example.org", "mailto:legal@example.org"),
        ("LICENSE", "LICENSE"),
        ("../records/model-x.html", "../records/model-x.html"),
        ("#card", "#card"),
        ("https://example.org/caf%C3%A9", "https://example.org/caf%C3%A9"),
    ],
)
def test_safe_url_keeps(value: str, expected: str) -> None:
    assert safe_url(value) == expected


@pytest.mark.parametrize("value", [None, 3, b"https://x.org", ""])
def test_safe_url_refuses_non_strings_and_empty(value: object) -> None:
    assert safe_url(value) is None


_BROWSER_STRIP = re.compile(r"^[\x00-\x20]+|[\x00-\x20]+$")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")


def browser_scheme(value: str) -> str:
    """The scheme a browser would follow: ends stripped of controls and spaces, tabs and newlines removed."""
    text = _BROWSER_STRIP.sub("", value).replace("\t", "").replace("\n", "").replace("\r", "").lower()
    if text.startswith(("//", "\\\\", "/\\", "\\/")):
        return "scheme-relative"
    match = _SCHEME.match(text)
    return match.group(1) if match else ""


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real demo files with their link fields replaced by hostile URLs, scanned and published."""
    root = tmp_path_factory.mktemp("hostile")
    card_dir = root / "models" / "01-ai__Yi-34B"
    shutil.copytree(DEMO / "models" / "01-ai__Yi-34B", card_dir)
    card = card_dir / "README.md"
    text = card.read_text(encoding="utf-8")
    assert "license_link: LICENSE\n" in text
    text = text.replace("license_link: LICENSE\n", "license_link: javascript:alert(1)\n", 1)
    links = "\n".join(f"[hostile {i}](<{u}>) <a href='{u}'>raw {i}</a>" for i, u in enumerate(HOSTILE))
    card.write_text(text + "\n\n## Links\n\n" + links + "\n", encoding="utf-8")

    dpi = json.loads((DEMO / "dpi" / "Dolly 15k.json").read_text(encoding="utf-8"))
    for i, entry in enumerate(dpi.values()):
        for item in entry["Licenses"]:
            item["License URL"] = "javascript:alert(document.domain)"
        entry["Dataset URL"] = HOSTILE[i % len(HOSTILE)]
        entry["Hugging Face URL"] = "//evil.example/hf"
        entry["GitHub URL"] = "java\tscript:alert(3)"
        entry["ArXiv URL"] = "&#106;avascript:alert(4)"
    (root / "dpi").mkdir()
    (root / "dpi" / "Dolly 15k.json").write_text(json.dumps(dpi), encoding="utf-8")

    store = root / "store"
    api.scan([str(root / "models"), str(root / "dpi")], store=store)
    out = root / "site"
    build_site_from_store(store, out)
    return out


def test_no_hostile_scheme_reaches_an_href_or_src(hostile_site: Path) -> None:
    pages = sorted(hostile_site.rglob("*.html"))
    assert len(pages) > 5
    checked = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert 'href="javascript:' not in text.lower()
        tree = html5lib.parse(text, namespaceHTMLElements=False)
        for element in tree.iter():
            for name, value in element.attrib.items():
                local = str(name).rsplit("}", 1)[-1]
                if local in {"href", "src", "action", "formaction"}:
                    checked += 1
                    scheme = browser_scheme(value)
                    assert scheme in {"", "http", "https", "mailto"}, f"{page.name}: {local}={value!r}"
    assert checked > 100


def test_refused_urls_are_shown_as_text(hostile_site: Path) -> None:
    yi = next((hostile_site / "records").glob("model-01-ai--Yi-34B*.html")).read_text(encoding="utf-8")
    assert "javascript:alert(1)" in yi  # the declared license_link, as text
    dolly = "".join(p.read_text(encoding="utf-8") for p in (hostile_site / "records").glob("*dolly*.html"))
    assert "javascript:alert(document.domain)" in dolly
    assert "//evil.example/hf" in dolly


def test_generated_cards_carry_no_hostile_link(hostile_site: Path) -> None:
    """Cards provaudit writes (the Hub renders them): a refused homepage is code, not an autolink."""
    homepages = 0
    for card in (hostile_site / "downloads").glob("*README.md"):
        text = card.read_text(encoding="utf-8")
        assert "license_link: javascript" not in text
        for line in text.splitlines():
            if line.startswith("- Homepage: "):
                homepages += 1
                value = line.removeprefix("- Homepage: ")
                assert not value.startswith("<") or safe_url(value[1:-1]) is not None, line
    assert homepages >= 2
