"""The review as a document a lawyer signs off (issue 13, item 2), checked on the parsed output of real data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import html5lib
import pytest
from click.testing import CliRunner
from conftest import CARDS

from provaudit import api
from provaudit.cli import main
from provaudit.licenses.kb import Use
from provaudit.rules.render import license_label, license_name, plural, render, to_sarif
from provaudit.rules.report import ReviewReport
from provaudit.rules.review import agent_key, merge_agents, review_store

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
DEMO_TARGETS = [str(DEMO / "datasets"), str(DEMO / "models"), str(DEMO / "dpi")]
LLAMA2 = "LicenseRef-scancode-llama-2-license-2023"


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("demo") / "store"
    api.scan(DEMO_TARGETS, store=store)
    return store


def _review(store: Path, policy: str = "default") -> ReviewReport:
    with api.open_store(store, read_only=True) as db:
        return review_store(db, policy)


@pytest.fixture(scope="module")
def report(demo_store: Path) -> ReviewReport:
    return _review(demo_store)


def _sections(md: str) -> dict[str, str]:
    """Markdown record sections by record id (`## \\`id\\``)."""
    parts = re.split(r"^## `([^`]+)`$", md, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_header_in_every_format(report: ReviewReport, demo_store: Path) -> None:
    with api.open_store(demo_store, read_only=True) as db:
        scan_ids = [s.iri.rsplit("/", 1)[-1] for s in db.scans()]
    assert scan_ids and report.generated and report.store
    for fmt in ("text", "md", "html"):
        out = render(report, fmt)
        for value in (report.generated, report.store, *scan_ids, "policy", "default"):
            assert value in out, (fmt, value)
    data = json.loads(render(report, "json"))
    assert data["header"]["scans"][0]["id"] == scan_ids[0]
    assert data["header"]["policy"] == "default" and data["header"]["generated"] == report.generated
    assert set(data) >= {"records", "summary"}  # keys are added, never renamed
    run = to_sarif(report)["runs"][0]
    assert run["properties"]["header"]["store"] == report.store
    assert run["invocations"][0]["endTimeUtc"].endswith("Z")


def test_html_header_and_legend_parsed(report: ReviewReport) -> None:
    doc = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(render(report, "html"))
    header = {
        dt.text: "".join(dd.itertext())
        for dt, dd in zip(
            doc.findall(".//dl[@class='header']/dt"), doc.findall(".//dl[@class='header']/dd"), strict=True
        )
    }
    assert header["policy"] == "default" and header["date"] == report.generated and header["store"] == report.store
    legend = [dt.text for dt in doc.findall(".//dl[@class='uses']/dt")]
    assert legend == [u.value for u in Use]
    used = {f.rule for r in report.records for f in r.findings}
    links = {a.text: a.get("href") for a in doc.findall(".//ul[@class='rules']/li/a")}
    assert set(links) == used
    assert all(href == f"docs/rules.md#{rid.lower()}" for rid, href in links.items())
    # every finding's code links to its documentation too
    for a in doc.findall(".//ul[@class='findings']//a[@class='rule']"):
        assert a.get("href") == f"docs/rules.md#{a.text.lower()}"


def test_markdown_legend_lists_every_category_and_code(report: ReviewReport) -> None:
    md = render(report, "md")
    legend = md.split("## Legend", 1)[1].split("## Verdicts", 1)[0]
    for use in Use:
        assert f"- **{use.value}**:" in legend
    for rid in {f.rule for r in report.records for f in r.findings}:
        assert f"- [{rid}](docs/rules.md#{rid.lower()}):" in legend
    assert re.search(r"\*\*warning \[PA112\]\(docs/rules\.md#pa112\)\*\*", md)


@pytest.mark.parametrize("fmt", ["text", "md", "html"])
def test_no_internal_markers_or_reprs(report: ReviewReport, fmt: str) -> None:
    out = render(report, fmt)
    assert "UNREAD:" not in out and "DPI:" not in out
    assert "['" not in out and "[&#39;" not in out
    # every LicenseRef id appears with its human name beside it
    for symbol in set(re.findall(r"LicenseRef-[A-Za-z0-9.+-]*[A-Za-z0-9+]", out)):
        name = license_name(symbol)
        assert name, symbol
        html_name = name.replace("'", "&#39;")
        assert f"{name} ({symbol})" in out or f"{html_name} ({symbol})" in out, symbol


def test_human_license_names() -> None:
    assert license_label(LLAMA2) == f"Llama 2 Community License Agreement ({LLAMA2})"
    assert license_label("Apache-2.0") == "Apache License 2.0 (Apache-2.0)"
    # the SPDX License List's own name
    assert (
        license_label("CC-BY-NC-4.0") == "Creative Commons Attribution Non Commercial 4.0 International (CC-BY-NC-4.0)"
    )
    assert license_label("UNREAD:Open Portion of the ANC") == "unreadable license string “Open Portion of the ANC”"
    assert license_label(None) == "no license"


def test_evidence_deduplicated_by_value(report: ReviewReport) -> None:
    sections = _sections(render(report, "md"))
    chat = sections["model:Intel/neural-chat-7b-v3-3"]
    evidence = chat.split("Evidence (by license; each source once):", 1)[1]
    lines = [line for line in evidence.splitlines() if line.strip()]
    assert len(lines) == len(set(lines))
    # one Apache-2.0 entry for README, manifest license and tags of three records (nine declarations before)
    assert sum(1 for line in lines if line.startswith("- **Apache License 2.0 (Apache-2.0)**")) == 1
    for section in sections.values():
        block = section.split("Evidence (by license; each source once):", 1)[1]
        entries = [line for line in block.splitlines() if line.strip()]
        assert len(entries) == len(set(entries))
        for line in entries:  # each source listed once on its line
            sources = line.split(": ", 1)[-1].split("; ")
            assert len(sources) == len(set(sources)), line


def test_one_attribution_notice_per_record_publishers_merged(report: ReviewReport) -> None:
    zephyr = next(r for r in report.records if r.id == "model:HuggingFaceH4/zephyr-7b-alpha")
    titles = [n.split('"')[1] for n in zephyr.attribution_notices]
    assert len(titles) == len(set(titles)) == 2  # zephyr and its base, Mistral
    own = next(n for n in zephyr.attribution_notices if "zephyr" in n)
    assert " by Hugging Face H4," in own and "HuggingFaceH4," not in own
    mistral = next(n for n in zephyr.attribution_notices if "Mistral-7B" in n)
    assert "by Mistral AI," in mistral and "mistralai," not in mistral
    assert mistral.endswith("licensed under Apache License 2.0 (Apache-2.0).")
    multi = next(r for r in report.records if r.id == "dataset:multi_nli")
    assert len(multi.attribution_notices) == 1  # three attribution licenses, one notice
    for r in report.records:
        firsts = [n.split(" licensed under ")[0] for n in r.attribution_notices]
        assert len(firsts) == len(set(firsts)), r.id


def test_agents_merge_by_identity() -> None:
    assert agent_key("Hugging Face H4") == agent_key("HuggingFaceH4")
    assert merge_agents(["HuggingFaceH4", "Hugging Face H4", "mistralai", "Mistral AI"]) == [
        "Hugging Face H4",
        "Mistral AI",
    ]


def test_incomplete_verdict_says_what_to_run(report: ReviewReport) -> None:
    section = _sections(render(report, "md"))["model:HuggingFaceH4/zephyr-7b-alpha"]
    assert "**Lineage:** incomplete: 2 upstreams not audited — run `provaudit resolve`" in section
    assert "`provaudit scan hf:datasets/stingning/ultrachat`" in section
    text = render(report, "text")
    assert "model:HuggingFaceH4/zephyr-7b-alpha  [unspecified, incomplete: 2 upstreams not audited" in text


def test_findings_merged_across_declarations(demo_store: Path) -> None:
    """PA102 once per message, with every declaration it was found in, instead of once per claim."""
    dpi = _review(demo_store, "dpi")
    zephyr = next(r for r in dpi.records if r.id == "model:HuggingFaceH4/zephyr-7b-alpha")
    assert sum(1 for f in zephyr.findings if f.rule == "PA102") == 2
    section = _sections(render(dpi, "md"))["model:HuggingFaceH4/zephyr-7b-alpha"]
    lines = [line for line in section.splitlines() if "[PA102]" in line]
    assert len(lines) == 1
    assert "README.md:7 [license] (card metadata)" in lines[0]
    assert "hub_manifest.yaml [licence] (aggregator metadata)" in lines[0]


def test_exact_fix_commands(tmp_path: Path) -> None:
    """Fix hints name the file and line to change, not just what to do."""
    store = tmp_path / "store"
    api.scan([str(CARDS / "datasets")], store=store)
    report = _review(store)
    fixes = [f for r in report.records for f in r.findings if f.rule in {"PA101", "PA105"} and f.fix]
    assert fixes
    for f in fixes:
        if f.source and f.source.line:
            assert f.source.describe() in (f.fix or ""), f


def test_scan_summary_counts_and_points_at_review(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["scan", "--store", str(tmp_path / "s"), *DEMO_TARGETS, "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "17 datasets, 6 models" in out
    assert "collection findings │ 1 warning " in out
    assert "run `provaudit review`" in out
    assert plural(1, "dataset") == "1 dataset" and plural(60, "warning") == "60 warnings"


def test_site_audit_page_names_each_location_once(demo_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    result = CliRunner().invoke(main, ["site", "--store", str(demo_store), "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = html5lib.parse((out / "audit.html").read_text(encoding="utf-8"), namespaceHTMLElements=False)
    rows = doc.findall(".//table[@id='audit-table']/tbody/tr")
    assert rows
    codes = 0
    for tr in rows:
        cell = tr.findall("td")[3]
        text = "".join(cell.itertext())
        src = cell.find("span[@class='src']")
        if src is not None:
            assert text.count(src.text or "") == 1, text
        assert "`" not in text, text  # backticks became <code>
        codes += len(cell.findall(".//code"))
    assert codes
