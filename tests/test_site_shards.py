"""The catalog and findings in shards: written in order with their facets, read back whole, paged in a browser.

The browser part (playwright + Chromium, skipped where they are missing, as in test_site_browser)
builds a site of 450 records in shards of 100 rows and checks that the catalog loads only the shards
a page needs, pages through the rest, searches across all of them, and that a filter no shard can
match loads none.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provaudit.records.model import Finding, Kind, Record, Severity
from provaudit.site import shards
from provaudit.site.build import build_site
from provaudit.site.review import basic_review
from tests import test_site_browser
from tests.test_site_browser import Page, expect

browser = test_site_browser.browser  # the shared Chromium fixture, one per module
COUNT = 450


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    finding = Finding(rule="PA999", severity=Severity.WARNING, message="<b>not markup</b>", fix="none")
    records = [
        Record(
            id=f"{'dataset' if i % 3 else 'model'}:synthetic-{i:04d}",
            kind=Kind.DATASET if i % 3 else Kind.MODEL,
            name=f"synthetic-{i:04d}",
            findings=[finding],
        )
        for i in range(COUNT)
    ]
    out = tmp_path_factory.mktemp("shards") / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shards, "SHARD_ROWS", 100)
        build_site(records, basic_review(records), out, workers=1)
    return out


class Recording(Page):
    """A page that also records which files the browser asked for."""

    def __init__(self, browser: Any) -> None:
        super().__init__(browser)
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))

    def loaded(self, folder: str) -> list[str]:
        return sorted({u.rsplit("/", 1)[-1] for u in self.requests if f"/{folder}/" in u})


@pytest.fixture
def tab(browser: Any) -> Iterator[Recording]:
    page = Recording(browser)
    yield page
    page.context.close()


def test_shards_hold_every_row_in_order_with_their_facets(site: Path) -> None:
    index = shards.read_index(site, "catalog")
    assert index["total"] == COUNT and [s["rows"] for s in index["shards"]] == [100, 100, 100, 100, 50]
    rows = shards.read_rows(site, "catalog")
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows) and len(rows) == COUNT
    for shard in index["shards"]:
        text = (site / shard["src"]).read_text()
        assert "<" not in text  # nothing in a shard can close its script element
        payload = json.loads(text.split("\n", 1)[1].strip().removesuffix(";"))
        assert sorted({row[index["fields"].index("kind")] for row in payload}) == shard["facets"]["kind"]
    findings = shards.read_rows(site, "findings")
    assert len(findings) == COUNT and {f["message"] for f in findings} == {"<b>not markup</b>"}


def test_a_shard_that_is_not_one_is_refused(site: Path, tmp_path: Path) -> None:
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog.js").write_text((site / "catalog.js").read_text())
    (tmp_path / "catalog" / "00000.js").write_text("alert(1)\n[]\n")
    with pytest.raises(ValueError, match="not a provaudit shard"):
        shards.read_rows(tmp_path, "catalog")


def test_catalog_loads_a_page_of_shards_at_a_time(site: Path, tab: Recording) -> None:
    page = tab.open(site / "index.html")
    expect(page.locator("#catalog-count")).to_have_text(f"{COUNT} records (showing the first 200)")
    assert tab.loaded("catalog") == ["00000.js", "00001.js", "00002.js"]  # 201 rows: three shards of 100
    page.click("#catalog-more")
    expect(page.locator("#catalog tbody tr")).to_have_count(COUNT)
    assert page.locator("#catalog-more").is_hidden() and len(tab.loaded("catalog")) == 5
    tab.requests.clear()
    page = tab.open(site / "index.html")
    page.fill("#q", "synthetic-0449")  # in the last shard: every shard is searched
    expect(page.locator("#catalog tbody tr th a")).to_have_text(["synthetic-0449"])
    expect(page.locator("#catalog-count")).to_have_text(f"1 of {COUNT} records")
    assert len(tab.loaded("catalog")) == 5
    tab.assert_clean()


def test_a_filter_no_shard_can_match_loads_none(site: Path, tab: Recording) -> None:
    page = tab.open(site / "audit.html")
    expect(page.locator("#audit-count")).to_have_text(f"{COUNT} findings (showing the first 200)")
    page.select_option("#a-severity", "error")
    expect(page.locator("#audit-count")).to_have_text(f"0 of {COUNT} findings")
    assert tab.loaded("findings") == ["00000.js", "00001.js", "00002.js"]  # only those of the first page
    page.select_option("#a-severity", "")
    page.click("#audit-more")
    expect(page.locator("#audit-table tbody tr")).to_have_count(COUNT)
    assert page.locator("#audit-table tbody b").count() == 0  # finding text is text, never HTML
    tab.assert_clean()
