"""The site on a phone (Chromium at 390×844): catalog cards keep their labels, a filter with no
match says so; record pages name unstated sections once and show sizes in units (HTML parsed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import html5lib
import pytest

from provaudit import api
from provaudit.site.build import build_site
from provaudit.site.review import review
from provaudit.site.views import human_bytes
from tests.test_site_browser import ARGS, CHROMIUM, Page, _playwright, expect

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    records = api.collect([str(DEMO / "datasets"), str(DEMO / "models")])
    out = tmp_path_factory.mktemp("phone-site") / "out"
    build_site(records, review(records), out, workers=1)
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _playwright()
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Page]:
    page = Page(browser, **PHONE)
    yield page
    page.context.close()


LABELS = ["Type", "Publisher", "Declared license", "Effective license", "Commercial use", "Findings"]
CARD_TEXT = """rows => rows.map(tr => Array.from(tr.querySelectorAll("td")).map(td => {
  const label = getComputedStyle(td, "::before").content;
  return [label, td.textContent.trim(), td.getBoundingClientRect().width];
}))"""


def _cards(page: Any) -> list[list[list[Any]]]:
    return page.eval_on_selector_all("#catalog tbody tr:not([hidden])", CARD_TEXT)  # type: ignore[no-any-return]


def test_catalog_cards_keep_their_labels(site: Path, phone: Page) -> None:
    page = phone.open(site / "index.html")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    cards = _cards(page)
    assert cards
    for card in cards:
        assert [label.strip('"') for label, _, _ in card] == LABELS
        assert all(width <= 390 for _, _, width in card)
    # after a search the rows are built by search.js: the same labels
    page.fill("#q", "snli")
    expect(page.locator("#catalog-count")).to_contain_text(" of ")
    cards = _cards(page)
    assert len(cards) == 1 and [label.strip('"') for label, _, _ in cards[0]] == LABELS
    phone.assert_clean()


def test_a_filter_with_no_match_says_so(site: Path, phone: Page) -> None:
    page = phone.open(site / "index.html")
    expect(page.locator("#catalog-empty")).to_be_hidden()
    page.fill("#q", "no record is called this")
    expect(page.locator("#catalog-empty")).to_be_visible()
    expect(page.locator("#catalog-empty")).to_contain_text("No record matches")
    expect(page.locator("#catalog")).to_be_hidden()
    page.click("#catalog-empty button")
    expect(page.locator("#catalog-empty")).to_be_hidden()
    expect(page.locator("#catalog")).to_be_visible()
    assert page.input_value("#q") == ""
    phone.assert_clean()


def test_record_page_states_missing_sections_once(site: Path) -> None:
    page = (site / "records" / "dataset-snli.html").read_text()
    doc = html5lib.parse(page, namespaceHTMLElements=False)
    sections = [s for s in doc.iter("section") if "umr-section" in (s.get("class") or "")]
    for section in sections:  # every section shown has content
        assert not any("not-stated" in (p.get("class") or "") for p in section.iter("p")), section.get("id")
    unstated = [p for p in doc.iter("p") if "umr-unstated" in (p.get("class") or "")]
    assert len(unstated) == 1
    names = [span.text for span in unstated[0].iter("span")]
    assert "Intended use" in names and len(names) >= 3
    # the anchors of unstated sections still exist, for links to them
    assert {span.get("id") for span in unstated[0].iter("span")} >= {"umr-intended-use"}


def test_sizes_in_units(site: Path) -> None:
    page = (site / "records" / "dataset-snli.html").read_text()
    assert "68.7 MB (68,691,466 bytes)" in page
    assert ">plain_text: 68691466 " not in page
    assert human_bytes("999") == "999 bytes"
    assert human_bytes("1500") == "1.5 kB (1,500 bytes)"
    assert human_bytes("12000000000") == "12 GB (12,000,000,000 bytes)"
    assert human_bytes("n/a") == "n/a"
