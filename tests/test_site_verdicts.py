"""The site says what the review says (issue 19, items 3 and 4): conditions, the worst finding first,
licences by name with their id beside, findings linked to the License audit tab, deep links at the title.

Built from the demo plus a real Llama 2 fine-tune declared apache-2.0 and its (gated) base; HTML parsed
with html5lib, and the scripted parts checked in Chromium (tests/test_site_browser.py's driver).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import html5lib
import pytest
from conftest import CARDS, FIXTURES

from provaudit import api
from provaudit.collectors.base import CollectOptions
from provaudit.site.build import build_site
from provaudit.site.review import review
from tests import test_site_browser
from tests.test_site_browser import Page, expect

browser = test_site_browser.browser  # the shared Chromium fixture, one per module

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"
TARGETS = [
    DEMO / "datasets",
    DEMO / "models",
    CARDS / "models" / "clibrain__Llama-2-7b-ft-instruct-es",
    FIXTURES / "hub" / "models" / "meta-llama__Llama-2-7b-hf",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    records = api.collect([str(t) for t in TARGETS], CollectOptions(digests=False))
    out = tmp_path_factory.mktemp("verdict-site") / "out"
    build_site(records, review(records), out, workers=1)
    return out


def _parse(path: Path) -> Any:
    return html5lib.parse(path.read_text(encoding="utf-8"), namespaceHTMLElements=False)


def _text(node: Any) -> str:
    return " ".join("".join(node.itertext()).split())


def _header(site: Path, name: str) -> Any:
    return _parse(site / "records" / name).find(".//main")


def test_finetune_header_shows_conditions_and_the_worst_finding(site: Path) -> None:
    main = _header(site, "model-clibrain--Llama-2-7b-ft-instruct-es.html")
    verdict = main.find(".//dl[@class='verdict']")
    badges = [b.get("class") for b in verdict.iter("span") if "badge" in (b.get("class") or "")]
    assert badges == ["badge use-conditional"]  # not the green "use-commercial"
    assert "commercial use with conditions" in _text(verdict)
    worst = main.find(".//p[@class='worst-finding sev-border-error']")
    assert worst is not None and "PA117" in _text(worst)
    assert worst.find(".//a[@href='#audit']") is not None
    # the header comes before the tabs: nothing to scroll to
    children = list(main)
    tabs = next(i for i, c in enumerate(children) if c.tag == "nav" and c.get("class") == "tabs")
    assert children.index(worst) < tabs
    conditions = main.find(".//p[@class='conditions-line']")
    assert "700,000,000 monthly active users" in _text(conditions)


def test_effective_license_once_per_header_by_name_then_id(site: Path) -> None:
    for page in site.glob("records/*.html"):
        dd = _header(site, page.name).find(".//dl[@class='verdict']/div/dd")
        codes = [c.text for c in dd.iter("code")]
        if not codes:
            continue
        (expression,) = codes
        assert _text(dd).count(expression) == 1, page.name
        for symbol in expression.replace("(", " ").replace(")", " ").split():
            if symbol.startswith("LicenseRef-") and symbol != "LicenseRef-provaudit-other":
                names = dd.find(".//span[@class='lic-name']")
                assert names is not None and symbol not in _text(names), page.name


def test_catalog_declared_column_names_licenses(site: Path) -> None:
    doc = _parse(site / "index.html")
    for td in doc.findall(".//table[@id='catalog']//td[@data-label='Declared license']"):
        for code in td.iter("code"):
            assert code.text != "LicenseRef-provaudit-other", _text(td)  # shown as the card's `other`, named
    rows = {_text(tr.find("th")): tr for tr in doc.findall(".//table[@id='catalog']/tbody/tr")}
    yi = rows["01-ai/Yi-34B"].find("td[@data-label='Declared license']")
    assert "yi-license" in _text(yi)
    select = doc.find(".//select[@id='f-conditions']")
    assert [o.get("value") for o in select.findall("option")][:3] == ["", "any", "none"]


def test_audit_page_findings_open_the_license_audit_tab(site: Path) -> None:
    doc = _parse(site / "audit.html")
    links = [a.get("href") for a in doc.findall(".//table[@id='audit-table']/tbody/tr/td[3]/a")]
    assert links and all(h.startswith("records/") and h.endswith(".html#audit") for h in links)
    # licences in messages by name, the id beside (the message itself holds only the id)
    rows = [_text(tr) for tr in doc.findall(".//table[@id='audit-table']/tbody/tr")]
    pa117 = next(r for r in rows if "PA117" in r and "clibrain" in r)
    assert "Llama 2 Community License Agreement (LicenseRef-scancode-llama-2-license-2023)" in pa117


@pytest.fixture
def tab(browser: Any) -> Iterator[Page]:
    page = Page(browser, viewport={"width": 1366, "height": 800})
    yield page
    page.context.close()


@pytest.mark.parametrize("fragment", ["#audit", "#card"])
def test_deep_link_opens_at_the_title(site: Path, tab: Page, fragment: str) -> None:
    page = tab.open(site / "records" / "model-clibrain--Llama-2-7b-ft-instruct-es.html", fragment)
    expect(page.locator(fragment)).to_be_visible()
    top = page.evaluate("document.querySelector('h1').getBoundingClientRect().top")
    assert 0 <= top < 200
    assert page.evaluate("window.scrollY") == 0
    tab.assert_clean()


def test_catalog_conditions_filter_and_scripted_rows(site: Path, tab: Page) -> None:
    page = tab.open(site / "index.html")
    page.select_option("#f-conditions", "mau_limit")
    expect(page.locator("#catalog-count")).to_contain_text("2 of")
    names = page.eval_on_selector_all("#catalog tbody tr th a", "els => els.map(e => e.textContent)")
    assert sorted(names) == ["clibrain/Llama-2-7b-ft-instruct-es", "meta-llama/Llama-2-7b-hf"]
    badges = page.eval_on_selector_all("#catalog tbody .badge", "els => els.map(e => e.className)")
    assert badges == ["badge use-conditional"] * 2
    # rows built by search.js name licenses as the static rows do
    declared = page.eval_on_selector_all(
        "#catalog tbody td[data-label='Declared license'] .lic-name", "els => els.map(e => e.textContent)"
    )
    assert "Apache License 2.0" in declared
    tab.assert_clean()


def test_catalog_licenses_do_not_break_inside_a_word_on_a_phone(site: Path, browser: Any) -> None:
    from tests.test_site_audit_page import BROKEN_WORDS

    tab = Page(browser, viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True)
    page = tab.open(site / "index.html")
    # the static rows, then the rows search.js builds: names and ids wrap between words (or at a hyphen)
    assert not page.eval_on_selector_all("#catalog", BROKEN_WORDS.replace('"th, td"', '".lic-name, code.lic"'))
    page.fill("#q", "llama")
    expect(page.locator("#catalog-count")).to_contain_text(" of ")
    assert not page.eval_on_selector_all("#catalog", BROKEN_WORDS.replace('"th, td"', '".lic-name, code.lic"'))
    tab.assert_clean()
    tab.context.close()
