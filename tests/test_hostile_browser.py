"""Issue 12 item 6: the site built from the hostile corpus (tests/hostile/make_corpus.py), in Chromium.

Every scan case of the corpus is built in a temporary folder (each record under its own name, so none
overwrites another), plus a record whose card, front matter and folder name carry script payloads; all are
scanned into one store and `provaudit site` is built from it. Then every page of the site is opened from
file:// in Debian's headless Chromium (as tests/test_site_browser.py does): no page may run a script from
card data (a sentinel global, any dialog), log a console error or warning, page error or CSP violation,
make a request that leaves file:// or 127.0.0.1, or show the marker written outside the scanned folders.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from provaudit.cli import main
from tests.hostile.make_corpus import CASES, MARKER, outside
from tests.test_site_browser import ARGS, CHROMIUM, WATCH, _playwright

HOSTILE_CARD = Path(__file__).parent / "fixtures" / "site" / "hostile" / "README.md"
SKIP = {"huge_front_matter"}  # 50 MB of YAML: slow to write, and refused before anything reaches the site
# Folder names and front-matter values a browser would run if the site pasted them into HTML unescaped.
SCRIPT_NAME = "<img src=x onerror=window.__pwned='name';alert(1)>"
FRONT_MATTER = """---
license: "<script>window.__pwned='license';alert(1)</script>"
license_name: "<img src=x onerror=window.__pwned='license_name'>"
license_link: "javascript:window.__pwned='license_link'"
pretty_name: "</title><script>window.__pwned='pretty_name'</script>"
homepage: "javascript:alert('homepage')"
source_datasets:
- "<svg onload=window.__pwned='source'>"
- "https://evil.example/steal.js"
tags:
- "\\"><script>window.__pwned='tag'</script>"
language:
- "<iframe src=javascript:alert(1)>"
---
"""
EXTRA = """
<script src="https://evil.example/x.js"></script>
<img src="https://evil.example/pixel.png">
<img src="http://127.0.0.2:9/pixel.png">
<link rel="prefetch" href="https://evil.example/prefetch">
<script>fetch("https://evil.example/"); alert("fetch"); window.__pwned = "extra";</script>
<a href="file:///etc/passwd">file link</a>
"""
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _hostile_records(cases: Path) -> None:
    card = HOSTILE_CARD.read_text(encoding="utf-8")
    body = card.split("---\n", 2)[2]
    rec = cases / "hostile_html" / "datasets" / "hostile_html"
    rec.mkdir(parents=True)
    (rec / "README.md").write_text(FRONT_MATTER + body + EXTRA, encoding="utf-8")
    named = cases / "hostile_html" / "datasets" / SCRIPT_NAME
    named.mkdir()
    (named / "README.md").write_text(f"---\nlicense: mit\npretty_name: {SCRIPT_NAME!r}\n---\n{EXTRA}")
    model = cases / "hostile_html" / "models" / "hostile_model"
    model.mkdir(parents=True)
    (model / "README.md").write_text(
        "---\nlicense: apache-2.0\nbase_model: \"<script>window.__pwned='base'</script>\"\n"
        "datasets:\n- \"javascript:alert('ds')\"\n- hostile_html\n---\n" + body
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("hostile-site")
    cases = root / "cases"
    out = outside(root / "outside")
    store = root / "store"
    targets = []
    for case in CASES:
        if case.name in SKIP:
            continue
        folder = cases / case.name
        args = case.build(folder, out)
        if args[:1] != ["scan"] or "{store}" not in args:
            continue  # the store and query cases: nothing reaches a site
        target = Path(args[1])
        if (target / "datasets" / "rec").is_dir():
            (target / "datasets" / "rec").rename(target / "datasets" / case.name)  # one record per case
        targets.append(str(target))
    _hostile_records(cases)
    targets.append(str(cases / "hostile_html"))
    for target in targets:  # one scan per case, as tests/test_hostile.py runs them (a missing target exits 2)
        result = CliRunner().invoke(main, ["scan", target, "--store", str(store), "--json"])
        assert result.exit_code in (0, 1, 2), result.output[-3000:]
        assert not result.exception or isinstance(result.exception, SystemExit), repr(result.exception)
    built = CliRunner().invoke(main, ["site", "--store", str(store), "--out", str(root / "site")])
    assert built.exit_code == 0, built.output[-3000:]
    yield root / "site"
    for dirpath, dirnames, _ in os.walk(root):  # let pytest clean up what the cases locked
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o755)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _playwright()
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


def test_site_files_hold_no_marker(site: Path) -> None:
    files = [p for p in site.rglob("*") if p.is_file()]
    assert len(files) > 20
    assert [p for p in files if MARKER.encode() in p.read_bytes()] == []


def test_no_page_runs_card_scripts_or_leaves_the_machine(site: Path, browser: Any) -> None:
    pages = sorted(site.rglob("*.html"))
    records = [p for p in pages if p.parent.name == "records"]
    assert site / "index.html" in pages and len(records) >= 30, [p.name for p in pages]
    assert any("hostile_html" in p.name for p in records) and any("onerror" in p.name for p in records)
    context = browser.new_context()
    context.add_init_script(WATCH)
    requests: list[str] = []
    external: list[str] = []

    def route(r: Any) -> None:
        url = r.request.url
        requests.append(url)
        parts = urlsplit(url)
        if parts.scheme in {"file", "data", "blob", "about"} or parts.hostname in LOCAL_HOSTS:
            r.continue_()
        else:
            external.append(url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type in {
        "error", "warning"} else None)  # fmt: skip
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("dialog", lambda d: (dialogs.append(f"{d.type}: {d.message}"), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    clicked = 0
    try:
        for path in pages:
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            where = path.relative_to(site).as_posix()
            title = page.title()
            for tab in page.locator("nav.tabs a").all():
                tab.click()
            card = page.locator("article.card-body")
            if card.count():
                if page.locator("nav.tabs a[href='#card']").count():
                    page.click("nav.tabs a[href='#card']")
                # click (mouseover first) what holds no link (a click on a link would be the user leaving)
                shown = card.locator(":is(p, summary, li, span, code):not(:has(a)):not(a *)").all()[:12]
                assert card.first.is_visible(), where
                for element in shown:
                    if element.is_visible():
                        element.click(no_wait_after=True)  # moves the mouse over it first: mouseover too
                        clicked += 1
                page.keyboard.press("Tab")
            page.wait_for_timeout(50)
            state = page.evaluate(
                """() => ({pwned: typeof window.__pwned, violations: window.__violations || [],
                   text: document.documentElement.outerHTML + document.documentElement.innerText,
                   url: location.href})"""
            )
            assert state["pwned"] == "undefined", where
            assert page.title() == title and "PWNED" not in title, where
            assert state["url"].split("#")[0] == path.as_uri(), (where, state["url"])
            assert MARKER not in state["text"], where
            assert not state["violations"], (where, state["violations"])
            assert not errors, (where, errors)
            assert not dialogs, (where, dialogs)
            assert not external, (where, external)
    finally:
        context.close()
    leaving = [u for u in requests if urlsplit(u).scheme not in {"file", "data", "blob", "about"}
               and urlsplit(u).hostname not in LOCAL_HOSTS]  # fmt: skip
    assert not leaving, leaving
    assert any(u.startswith("file://") for u in requests)  # the recorder did see the site's own loads
    assert clicked > 20  # the hostile cards were clicked (mouseover, click, focus), not only loaded
