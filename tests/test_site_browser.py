"""The site in a real browser (Debian's headless Chromium driven by Playwright), opened from file://.

Search, filters, tabs, graph links and the theme toggle must work without a server; nothing may log
a console error or a Content-Security-Policy violation; the hostile card must not run anything.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provaudit import api
from provaudit.site.build import build_site
from provaudit.site.review import review

FIXTURES = Path(__file__).parent / "fixtures" / "site"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Collected in the page before any of its scripts run (init scripts are not subject to the page's CSP).
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def expect(locator: Any) -> Any:
    """Playwright's auto-retrying assertions (wait_for_function would need eval, which the CSP forbids)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def _playwright() -> Any:
    """The sync API, or a skip outside CI when the browser is not installed (CI must have it)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("playwright not installed (pip install playwright)")
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium: apt-get install -y chromium")
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    return sync_playwright


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    records = api.collect([str(FIXTURES)])
    out = tmp_path_factory.mktemp("browser-site") / "out"
    build_site(records, review(records), out, workers=1)
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _playwright()
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


class Page:
    """A page with every console error, page error and CSP violation recorded."""

    def __init__(self, browser: Any, **options: Any) -> None:
        self.context = browser.new_context(**options)
        self.context.add_init_script(WATCH)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type in {
            "error", "warning"} else None)  # fmt: skip
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def open(self, path: Path, fragment: str = "") -> Any:
        self.page.goto(path.as_uri() + fragment)
        self.page.wait_for_load_state("load")
        return self.page

    def assert_clean(self) -> None:
        violations = self.page.evaluate("window.__violations || []")
        assert not self.errors, self.errors
        assert not violations, violations


@pytest.fixture
def tab(browser: Any) -> Iterator[Page]:
    page = Page(browser)
    yield page
    page.context.close()


def visible_rows(page: Any) -> list[str]:
    return page.eval_on_selector_all("#catalog tbody tr:not([hidden]) th a", "els => els.map(e => e.textContent)")


def test_search_finds_a_record(site: Path, tab: Page) -> None:
    page = tab.open(site / "index.html")
    assert len(visible_rows(page)) == 16
    page.fill("#q", "neural-chat-7b-v3-3")
    expect(page.locator("#catalog-count")).to_contain_text(" of ")
    rows = visible_rows(page)
    assert "Intel/neural-chat-7b-v3-3" in rows and len(rows) < 16
    page.fill("#q", "snli")
    expect(page.locator("#catalog tbody tr:not([hidden]) th a")).to_have_text(["snli"])
    expect(page.locator("#catalog-count")).to_have_text("1 of 16 records")
    page.click("a[href='records/dataset-snli.html']")
    page.wait_for_url("**/dataset-snli.html")
    assert page.locator("h1").inner_text().startswith("snli")
    tab.assert_clean()


def test_filters_narrow_the_list(site: Path, tab: Page) -> None:
    page = tab.open(site / "index.html")
    page.select_option("#f-kind", "dataset")
    datasets = visible_rows(page)
    assert 0 < len(datasets) < 16 and "snli" in datasets and "Intel/neural-chat-7b-v3-3" not in datasets
    page.select_option("#f-use", "non-commercial")
    # anli by its card; snli through its source corpus Flickr30k (data/licenses/source_corpora.yaml)
    assert visible_rows(page) == ["anli", "snli"]
    page.select_option("#f-use", "")
    # anli's effective licence: its card's CC-BY-NC-4.0 (with what its card's text adds, if anything)
    nc = page.eval_on_selector_all("#f-license option", "os => os.map(o => o.value)")
    page.select_option("#f-license", next(v for v in nc if v.startswith("CC-BY-NC-4.0")))
    assert visible_rows(page) == ["anli"]
    page.click("button.reset")
    expect(page.locator("#catalog-count")).to_have_text("16 records")
    page.select_option("#f-findings", "yes")
    with_findings = visible_rows(page)
    page.select_option("#f-findings", "no")
    without = visible_rows(page)
    assert with_findings and without and len(with_findings) + len(without) == 16
    page.select_option("#f-findings", "")
    page.select_option("#f-collection", "models")
    assert len(visible_rows(page)) == 7
    assert "#" in page.url and "collection=models" in page.url  # the filtered view can be shared
    tab.assert_clean()


def test_a_graph_node_opens_its_page(site: Path, tab: Page) -> None:
    page = tab.open(site / "records" / "model-Intel--neural-chat-7b-v3-3.html")
    page.click("nav.tabs a[href='#lineage']")
    node = page.locator("svg.lineage a[href='model-Intel--neural-chat-7b-v3-1.html']")
    assert node.is_visible()
    node.click()
    page.wait_for_url("**/model-Intel--neural-chat-7b-v3-1.html")
    assert page.locator("h1").inner_text().startswith("Intel/neural-chat-7b-v3-1")
    tab.assert_clean()


def test_tabs_switch(site: Path, tab: Page) -> None:
    page = tab.open(site / "records" / "dataset-anli.html")
    assert page.locator("#umr").is_visible() and not page.locator("#audit").is_visible()
    page.click("nav.tabs a[href='#audit']")
    assert page.locator("#audit").is_visible() and not page.locator("#umr").is_visible()
    assert page.get_attribute("nav.tabs a[href='#audit']", "aria-selected") == "true"
    assert page.url.endswith("#audit")
    page.focus("nav.tabs a[href='#audit']")
    page.keyboard.press("ArrowRight")
    assert page.locator("#downloads").is_visible()
    # a link to a section deep inside a tab opens that tab
    page = tab.open(site / "records" / "dataset-anli.html", "#umr-relations")
    assert page.locator("#umr-relations").is_visible()
    page = tab.open(site / "records" / "dataset-anli.html", "#card")
    assert page.locator("#card").is_visible() and not page.locator("#umr").is_visible()
    tab.assert_clean()


def test_no_console_errors_on_any_page(site: Path, tab: Page) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
    for path in pages:
        tab.open(path)
        tab.assert_clean()


def test_hostile_card_runs_nothing(site: Path, tab: Page) -> None:
    page = tab.open(site / "records" / "dataset-hostile.html", "#card")
    title = page.title()
    body = page.locator("article.card-body")
    assert body.is_visible()
    body.get_by_text("hover or click this paragraph").hover()
    body.get_by_text("hover or click this paragraph").click()
    body.get_by_text("click me").click()
    body.get_by_text("details with ontoggle").click()
    page.keyboard.press("Tab")
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.title() == title and "PWNED" not in title
    assert page.url.endswith("dataset-hostile.html#card")
    state = page.evaluate(
        """() => {
          const card = document.querySelector('article.card-body');
          const all = [...card.querySelectorAll('*')];
          return {
            handlers: all.filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
            styled: all.filter(e => e.hasAttribute('style') || e.hasAttribute('class') || e.hasAttribute('id')).length,
            jsLinks: all.filter(e => /^(javascript|data|vbscript):/i.test((e.getAttribute('href') || '').trim()))
              .length,
            active: card.querySelectorAll(
              'script,style,iframe,object,embed,img,svg,form,input,meta,base,link,video,audio').length,
            bodyShown: getComputedStyle(document.body).display !== 'none',
            mainShown: getComputedStyle(document.querySelector('main')).visibility !== 'hidden',
            overlay: [...document.querySelectorAll('div')].some(d => getComputedStyle(d).position === 'fixed'),
          };
        }"""
    )
    assert state == {"handlers": 0, "styled": 0, "jsLinks": 0, "active": 0, "bodyShown": True, "mainShown": True,
                     "overlay": False}  # fmt: skip
    tab.assert_clean()


def test_theme_toggle_switches_and_persists(site: Path, tab: Page) -> None:
    page = tab.open(site / "index.html")
    toggle = page.locator("button.theme-toggle")
    assert toggle.is_visible()
    before = page.evaluate("getComputedStyle(document.body).backgroundColor")
    toggle.click()
    after = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert before != after
    theme = page.evaluate("document.documentElement.dataset.theme")
    page = tab.open(site / "audit.html")
    assert page.evaluate("document.documentElement.dataset.theme") == theme
    tab.assert_clean()


def test_audit_filters(site: Path, tab: Page) -> None:
    page = tab.open(site / "audit.html")
    total = page.locator("#audit-table tbody tr").count()
    assert total > 0
    rules = page.eval_on_selector_all("#a-rule option", "els => els.map(e => e.value).filter(Boolean)")
    page.select_option("#a-rule", rules[-1])
    shown = page.eval_on_selector_all("#audit-table tbody tr:not([hidden])", "els => els.map(e => e.dataset.rule)")
    assert shown and set(shown) == {rules[-1]} and len(shown) <= total
    page.select_option("#a-rule", "")
    page.select_option("#a-severity", "warning")
    severities = page.eval_on_selector_all(
        "#audit-table tbody tr:not([hidden])", "els => els.map(e => e.dataset.severity)"
    )
    assert set(severities) <= {"warning"}
    # rows the script renders look like the static ones: `quoted` keys as code, each location once
    texts = page.eval_on_selector_all(
        "#audit-table tbody tr:not([hidden]) td:nth-child(4)", "els => els.map(e => e.innerText)"
    )
    assert texts and not any("`" in t for t in texts), texts[:3]
    tab.assert_clean()


def test_pages_work_without_javascript(site: Path, browser: Any) -> None:
    tab = Page(browser, java_script_enabled=False)
    try:
        page = tab.open(site / "records" / "model-Intel--neural-chat-7b-v3-3.html")
        for panel in ("#umr", "#card", "#lineage", "#provenance", "#audit", "#downloads"):
            assert page.locator(panel).is_visible()
        assert page.locator("svg.lineage").is_visible()
        assert page.locator("svg.lineage a").count() >= 3
        page = tab.open(site / "index.html")
        assert page.locator("#catalog tbody tr").count() == 16
        assert not page.locator("#catalog-filters").is_visible()
        tab.assert_clean()
    finally:
        tab.context.close()


def test_phone_width_has_no_horizontal_page_scroll(site: Path, browser: Any) -> None:
    tab = Page(browser, viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        for path in (site / "index.html", site / "records" / "dataset-anli.html", site / "audit.html"):
            page = tab.open(path)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, (path.name, overflow)
        tab.assert_clean()
    finally:
        tab.context.close()


def test_large_catalog_renders_a_page_at_a_time(tmp_path: Path, tab: Page) -> None:
    from provaudit.records.model import Finding, Kind, Record, Severity
    from provaudit.site.build import STATIC_ROWS
    from provaudit.site.review import basic_review

    finding = Finding(rule="PA999", severity=Severity.WARNING, message="<b>not markup</b>", fix="none")
    records = [
        Record(id=f"dataset:synthetic-{i:04d}", kind=Kind.DATASET, name=f"synthetic-{i:04d}", findings=[finding])
        for i in range(450)
    ]
    build_site(records, basic_review(records), tmp_path / "out", workers=1)
    html = (tmp_path / "out" / "index.html").read_text()
    assert html.count('<tr><th scope="row">') == STATIC_ROWS  # listed without JavaScript
    page = tab.open(tmp_path / "out" / "index.html")
    assert page.locator("#catalog-static-note").is_hidden()
    expect(page.locator("#catalog-count")).to_have_text("450 records (showing the first 200)")
    page.click("#catalog-more")
    assert len(visible_rows(page)) == 450 and page.locator("#catalog-more").is_hidden()
    page.fill("#q", "synthetic-0449")
    expect(page.locator("#catalog tbody tr th a")).to_have_text(["synthetic-0449"])
    page = tab.open(tmp_path / "out" / "audit.html")
    expect(page.locator("#audit-count")).to_have_text("450 findings (showing the first 200)")
    assert page.locator("#audit-table tbody tr").count() == 200
    assert page.locator("#audit-table tbody b").count() == 0  # finding text is text, never HTML
    page.click("#audit-more")
    assert page.locator("#audit-table tbody tr").count() == 450
    page.select_option("#a-severity", "error")
    expect(page.locator("#audit-count")).to_have_text("0 of 450 findings")
    tab.assert_clean()
