"""The static site: every page valid HTML5, accessible, linked, safe; built from real cards."""

from __future__ import annotations

import itertools
import json
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import html5lib
import pytest
from click.testing import CliRunner

from provaudit import api
from provaudit.records.model import AgentRef, Fact, Kind, Record, Source
from provaudit.resources import resource
from provaudit.rules.report import ReviewReport
from provaudit.site import build as site_build
from provaudit.site import contexts, shards
from provaudit.site.build import build_site, build_site_from_store
from provaudit.site.commands import site as site_command
from provaudit.site.markdown import relevel_headings, render_markdown
from provaudit.site.paths import slugs_for
from provaudit.site.review import basic_review, review

FIXTURES = Path(__file__).parent / "fixtures" / "site"
NS = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"
DANGEROUS_TAGS = {"script", "style", "iframe", "object", "embed", "link", "meta", "base", "form", "input", "button",
                  "svg", "math", "img", "video", "audio", "template", "isindex", "noscript"}  # fmt: skip


@pytest.fixture(scope="module")
def records() -> list[Record]:
    return api.collect([str(FIXTURES)])


@pytest.fixture(scope="module")
def report(records: list[Record]) -> ReviewReport:
    return review(records)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, records: list[Record], report: ReviewReport) -> Path:
    out = tmp_path_factory.mktemp("site") / "out"
    targets = [str((FIXTURES / "datasets").resolve()), str((FIXTURES / "models").resolve())]
    stats = build_site(records, report, out, scan_targets=targets, workers=1)
    assert stats.records == len(records) == 16
    return out


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def parse(path: Path) -> Any:  # an ElementTree element
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=True)
    return parser.parse(path.read_bytes(), transport_encoding="utf-8")


def test_every_page_is_valid_html5(site: Path) -> None:
    found = pages(site)
    assert len(found) == 16 + 3 + 3  # records; index, audit, collections; 3 collection cards
    for page in found:
        try:
            parse(page)
        except html5lib.html5parser.ParseError as exc:
            pytest.fail(f"{page.relative_to(site)}: {exc}")


def test_headings_do_not_skip_levels(site: Path) -> None:
    for page in pages(site):
        levels = [int(m) for m in re.findall(r"<h([1-6])[\s>]", page.read_text(encoding="utf-8"))]
        assert levels and levels[0] == 1, page
        assert levels.count(1) == 1, page
        for before, after in itertools.pairwise(levels):
            assert after <= before + 1, f"{page.relative_to(site)}: h{before} followed by h{after}"


def test_graphics_have_text_alternatives(site: Path) -> None:
    charts = graphs = 0
    for page in pages(site):
        root = parse(page)
        for svg in root.iter(f"{SVG}svg"):
            role = svg.get("role")
            assert role in {"img", "group"}, page
            labelled = svg.get("aria-label") or svg.get("aria-labelledby")
            assert labelled and svg.find(f"{SVG}title") is not None, page
            charts += "chart" in (svg.get("class") or "")
            graphs += "lineage" in (svg.get("class") or "")
            for link in svg.iter(f"{SVG}a"):
                assert link.get("aria-label") and link.find(f"{SVG}title") is not None
        for img in root.iter(f"{NS}img"):
            assert img.get("alt") is not None, page
    assert graphs == 16 and charts >= 3 * 2  # use and license charts always; others when stated


def test_links_resolve_and_pages_follow_the_csp(site: Path) -> None:
    for page in pages(site):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline script in {page}"
        assert " style=" not in text, f"style attribute in {page}"
        root = parse(page)
        csp = [m.get("content") for m in root.iter(f"{NS}meta") if m.get("http-equiv") == "Content-Security-Policy"]
        assert csp and "script-src 'self'" in csp[0] and "default-src 'none'" in csp[0], page
        for element in root.iter():
            href = element.get("href") or element.get("src")
            if not href or urlsplit(href).scheme or href.startswith("#"):
                continue
            target = (page.parent / unquote(urlsplit(href).path)).resolve()
            assert target.exists(), f"{page.relative_to(site)}: broken link {href}"


def test_catalog_js_indexes_every_record(site: Path, records: list[Record]) -> None:
    text = (site / "catalog.js").read_text()
    assert text.startswith("window.PROVAUDIT_CATALOG = ")
    index = json.loads(text.removeprefix("window.PROVAUDIT_CATALOG = ").rstrip().removesuffix(";"))
    assert index["total"] == len(records) and [s["src"] for s in index["shards"]] == ["catalog/00000.js"]
    rows = shards.read_rows(site, "catalog")
    assert sorted(r["id"] for r in rows) == sorted(r.id for r in records)
    for row in rows:
        assert (site / row["href"]).exists()
        assert row["use"] in {"commercial", "unspecified", "non-commercial", "academic-only"}
    anli = next(r for r in rows if r["id"] == "dataset:anli")
    assert anli["use"] == "non-commercial" and "CC-BY-NC-4.0" in anli["declared"]
    page = (site / "index.html").read_text()
    assert page.count('<tr><th scope="row">') == len(rows)  # all 16 (up to STATIC_ROWS) listed without JS


def test_record_page_shows_umr_card_provenance_and_audit(site: Path) -> None:
    page = (site / "records" / "model-Intel--neural-chat-7b-v3-3.html").read_text()
    for section in ("Metadata", "Relations", "Packages and dependencies", "Intended use", "Factors",
                    "Training data", "Evaluation data", "Recommendations"):  # fmt: skip
        # a section with content has its heading; the unstated ones are named once, in one line
        assert f">{section}</h3>" in page or f'<span id="umr-{section.split()[0].lower()}' in page, section
    assert "not stated by any source read" in page.lower()
    # every value names its source: file, line and field
    assert "README.md:" in page and "[license]" in page and "hub_manifest.yaml" in page
    # upstream links go to the upstream record's page, missing ones are marked
    assert 'href="model-Intel--neural-chat-7b-v3-1.html"' in page
    assert "(missing)" in page
    assert "Evidence chain" in page and "Revision history" in page
    # the card is rendered as HTML (not shown as escaped markup)
    card = page.split('<article class="card-body">', 1)[1].split("</article>", 1)[0]
    assert "<table>" in card and "<h3>" in card and "&lt;" not in card


def test_lineage_graph_links_nodes_and_marks_missing_ones(site: Path) -> None:
    root = parse(site / "records" / "model-Intel--neural-chat-7b-v3-3.html")
    svg = next(s for s in root.iter(f"{SVG}svg") if "lineage" in s.get("class", ""))
    links = {a.get("href") for a in svg.iter(f"{SVG}a")}
    assert {"model-Intel--neural-chat-7b-v3-1.html", "model-mistralai--Mistral-7B-v0.1.html"} <= links
    assert "model-Weyaxi--OpenHermes-2.5-neural-chat-v3-3-Slerp.html" in links  # downstream
    missing = [g for g in svg.iter(f"{SVG}g") if "missing" in (g.get("class") or "").split()]
    assert missing, "upstream ids without a record are drawn as missing"
    assert all("kind-dataset" in g.get("class") or "kind-model" in g.get("class") for g in missing)
    assert len(list(svg.iter(f"{SVG}polyline"))) >= 3


def test_hostile_card_is_sanitized(site: Path) -> None:
    root = parse(site / "records" / "dataset-hostile.html")
    body = next(a for a in root.iter(f"{NS}article") if "card-body" in a.get("class", ""))
    text = "".join(body.itertext())
    assert "Physical Interaction" in text and "hover or click this paragraph" in text
    for element in list(body.iter())[1:]:  # the article itself is the site's
        tag = element.tag.split("}")[-1]
        assert tag not in DANGEROUS_TAGS, tag
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (tag, name)
            assert name not in {"style", "class", "id", "srcdoc", "action", "formaction", "target"}, (tag, name)
            if name == "href":
                scheme = urlsplit(value.strip()).scheme.lower()
                assert scheme in {"", "http", "https", "mailto"}, value
    raw = (site / "records" / "dataset-hostile.html").read_text()
    # the payload may survive as visible text of the card; no attribute anywhere on the page may carry it
    for element in root.iter():
        for name, value in element.attrib.items():
            assert "javascript:" not in "".join(value.lower().split()), (element.tag, name, value)
    outside = re.sub(r"<article class=\"card-body\">.*?</article>", "", raw, flags=re.S)
    assert "__pwned" not in outside


def test_markdown_rendering_rules() -> None:
    html = render_markdown("# A\n\n### B\n\n## C\n\n![logo](https://example.org/x.png)\n\n<h1 align=center>D</h1>\n")
    assert re.findall(r"<h(\d)>", html) == ["3", "4", "4", "3"]
    assert '<a href="https://example.org/x.png"' in html and "[image: logo]" in html and "<img" not in html
    assert relevel_headings("<h2>x</h2><h5>y</h5>", 3) == "<h3>x</h3><h4>y</h4>"
    assert "onerror" not in render_markdown('<img src=x onerror="alert(1)">')
    assert "javascript" not in render_markdown("[x](javascript:alert(1))").split("[x]")[0]


def test_slugs_are_safe_and_unique_on_case_insensitive_disks() -> None:
    ids = ["model:01-ai/Yi-34B", "model:01-ai/yi-34b", "dataset:squad", "dataset:a b/../c", "model:x--y", "dataset:CON"]
    slugs = slugs_for(ids)
    assert slugs["dataset:squad"] == "dataset-squad"
    assert len({s.lower() for s in slugs.values()}) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", s) for s in slugs.values())
    assert slugs == slugs_for(reversed(ids))


def test_templates_can_be_overridden(tmp_path: Path, records: list[Record], report: ReviewReport) -> None:
    custom = tmp_path / "templates"
    custom.mkdir()
    (custom / "_nav.html").write_text('<nav class="site-nav" aria-label="Site"><p>Our own nav</p></nav>\n')
    build_site(records[:3], report, tmp_path / "out", template_dirs=[custom], workers=1)
    assert "Our own nav" in (tmp_path / "out" / "index.html").read_text()
    assert "Our own nav" in next((tmp_path / "out" / "records").glob("*.html")).read_text()


def test_site_builds_without_exporters(tmp_path: Path, records: list[Record], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(site_build, "_exporters", lambda: (None, None))
    stats = build_site(records, basic_review(records), tmp_path / "out", workers=1)
    assert stats.card_files == 0 and any("exporters" in w for w in stats.warnings)
    assert not list((tmp_path / "out" / "downloads").iterdir())
    assert "No card files were generated" in (tmp_path / "out" / "records" / "dataset-snli.html").read_text()


def test_card_downloads_come_from_the_exporters(site: Path) -> None:
    readme = site / "downloads" / "dataset-anli.README.md"
    assert readme.read_text().startswith("---")
    assert (site / "downloads" / "dataset-anli.umr.yaml").exists()
    assert (
        'href="../downloads/dataset-anli.README.md" download="README.md"'
        in (site / "records" / "dataset-anli.html").read_text()
    )


def test_parallel_build_writes_the_same_pages(tmp_path: Path, records: list[Record], report: ReviewReport) -> None:
    one = build_site(records, report, tmp_path / "one", workers=1)
    two = build_site(records, report, tmp_path / "two", workers=2)
    assert (one.pages, one.files) == (two.pages, two.files)
    for path in (tmp_path / "one").rglob("*.html"):
        other = tmp_path / "two" / path.relative_to(tmp_path / "one")
        strip = re.compile(r"Built by provaudit on [^<]*? with")
        assert strip.sub("", path.read_text()) == strip.sub("", other.read_text()), path


def test_refuses_to_write_into_a_foreign_folder(tmp_path: Path, records: list[Record], report: ReviewReport) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(Exception, match="not empty"):
        build_site(records, report, tmp_path, workers=1)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_cli_builds_from_a_store_with_revision_history(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "datasets" / "snli", data / "snli")
    shutil.copytree(FIXTURES / "models" / "mistralai__Mistral-7B-v0.1", data / "mistralai__Mistral-7B-v0.1")
    store = tmp_path / "store"
    api.scan([str(data)], store=store)
    card = data / "snli" / "README.md"
    card.write_text(card.read_text().replace("cc-by-4.0", "cc-by-sa-4.0"))
    api.scan([str(data)], store=store)
    result = CliRunner().invoke(site_command, ["--out", str(tmp_path / "site"), "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert "2 records" in result.output
    page = (tmp_path / "site" / "records" / "dataset-snli.html").read_text()
    assert page.count('<li class="revision">') == 2  # two revisions, newest first
    assert "CC-BY-SA-4.0" in page and "first observed" in page
    result = CliRunner().invoke(site_command, ["--out", str(tmp_path / "data"), "--store", str(store)])
    assert result.exit_code != 0 and "not empty" in str(result.exception or result.output)
    with api.open_store(store, read_only=True) as db:  # an open store works too
        stats = build_site_from_store(db, tmp_path / "site2", workers=1)
    assert stats.records == 2 and (tmp_path / "site2" / "records" / "dataset-snli.html").exists()


def test_markdown_cache_is_reused_but_never_trusted(
    tmp_path: Path, records: list[Record], report: ReviewReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    build_site(records, report, out, workers=1)
    cache = sorted((out / site_build.CACHE_DIR).iterdir())
    assert len(cache) == len({r.fact("card") for r in records if r.fact("card")})
    for path in cache:  # whoever can write the cache must still not get HTML onto a page
        text = path.read_text() + "<script>window.__pwned = 1</script><img src=x onerror=alert(1)>"
        path.unlink()  # a new file, as an attacker would write it (the old one is linked into no other site)
        path.write_text(text)
    rendered: list[str] = []
    monkeypatch.setattr(site_build, "render_raw", lambda text: rendered.append(text) or "")
    # another title changes every page's key: every page is rendered again, its card from the cache
    stats = build_site(records, report, out, workers=1, title="again")
    assert rendered == [] and stats.reused == 0
    page = (out / "records" / "dataset-snli.html").read_text()
    assert "Stanford Natural Language Inference" in page
    assert "__pwned" not in page and "onerror" not in page


def test_control_characters_from_cards_do_not_break_html(tmp_path: Path, records: list[Record]) -> None:
    record = next(r for r in records if r.id == "dataset:snli").model_copy(deep=True)
    source = record.facts[0].source
    record.facts.append(
        Fact(key="description", value="tab\tvt\x0bnul\x00bell\x07nonchar\ufffe\U0001fffe", source=source)
    )
    record.facts = [Fact(key=f.key, value=f.value + "\x1b[31m", source=f.source) if f.key == "card" else f
                    for f in record.facts]  # fmt: skip
    build_site([record], basic_review([record]), tmp_path / "out", workers=1)
    page = tmp_path / "out" / "records" / "dataset-snli.html"
    parse(page)
    assert "\ufffd" in page.read_text()


def test_template_variables_are_documented_and_passed(
    tmp_path: Path, records: list[Record], report: ReviewReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jinja2 import meta

    env = site_build.environment()
    known_globals = {name.split(" ")[0] for name in contexts.GLOBALS} | set(env.globals)
    templates = sorted(p.name for p in resource("site", "templates").glob("*.html"))
    assert set(templates) == {"base.html", *contexts.PAGES, *contexts.PARTIALS}
    for name in templates:
        source = env.loader.get_source(env, name)[0]
        used = meta.find_undeclared_variables(env.parse(source)) - known_globals - set(contexts.COMMON)
        pages = contexts.PARTIALS.get(name, (name,) if name in contexts.PAGES else ())
        documented = set().union(*(contexts.PAGES[p] for p in pages)) if pages else set()
        documented |= {"m"}  # the pages' {% import "_macros.html" as m %}
        assert used <= documented, f"{name}: undocumented {used - documented}"
    passed: dict[str, set[str]] = {}
    original = site_build._Writer.page

    def spy(self: Any, template: Any, rel: str, context: dict[str, Any]) -> None:
        passed.setdefault(template.name, set()).update(context)
        original(self, template, rel, context)

    monkeypatch.setattr(site_build._Writer, "page", spy)
    build_site(records, report, tmp_path / "out", workers=1)
    for page, variables in contexts.PAGES.items():
        assert passed[page] == set(variables) | set(contexts.COMMON), page
    assert "## record.html" in contexts.describe()


def test_collection_card_counts_one_publisher_however_it_is_spelled() -> None:
    source = Source(collector="test", field="author")
    records = [
        Record(id=f"model:{n}", kind=Kind.MODEL, name=n, agents=[AgentRef(name=who, role="creator", source=source)])
        for n, who in (("a", "HuggingFaceH4"), ("b", "Hugging Face H4"))
    ]
    card = site_build._collection_card("c", records, {}, {"model:a": [], "model:b": []})
    charts = str({k: v for k, v in card.items() if k != "records"})  # the creators chart: SVG in the context
    assert "Hugging Face H4" in charts and "HuggingFaceH4" not in charts


def test_record_evidence_is_grouped_by_license_with_its_name(site: Path) -> None:
    checked = 0
    for page in sorted((site / "records").glob("*.html")):
        root = parse(page)
        table = next((t for t in root.iter(f"{NS}table") if "evidence" in t.get("class", "")), None)
        if table is None:
            continue
        firsts = [next(row.iter(f"{NS}td")) for row in table.iter(f"{NS}tr") if row.find(f"{NS}td") is not None]
        labels = ["".join(td.itertext()) for td in firsts if td.get("rowspan")]
        assert len(labels) == len(set(labels)), (page.name, labels)  # one group per license value
        checked += 1
    assert checked > 5
    snli = "".join(parse(site / "records" / "dataset-snli.html").itertext())
    assert "Creative Commons Attribution 4.0 International (CC-BY-4.0)" in snli
