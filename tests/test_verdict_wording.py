"""Verdicts as a lawyer reads them (issue 19, item 3), on the demo and on real fixture cards.

Commercial use *with conditions* (a Llama licence's user limit, use policy and notice) is shown as such
in every format while `use` keeps its value; the attribution notice names the licence that applies; one
finding per problem; every fix is an action a user can take. The conditions' clauses are checked against
the licence text itself (tests/fixtures/model_licenses), not against the knowledge base that produced them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import CARDS, FIXTURES

from provaudit import api
from provaudit.collectors.base import CollectOptions
from provaudit.collectors.local import collect_folder
from provaudit.records.model import Kind, Record, Relation, Source, Upstream
from provaudit.rules.render import render, to_sarif
from provaudit.rules.report import RecordReview, ReviewReport
from provaudit.rules.review import review_records

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
FINETUNE = "model:clibrain/Llama-2-7b-ft-instruct-es"
BASE = "model:meta-llama/Llama-2-7b-hf"
BASE_FOLDER = "meta-llama__Llama-2-7b-hf"
LLAMA2_TEXT = FIXTURES / "model_licenses" / "LicenseRef-scancode-llama-2-license-2023__orig.txt"
# placeholders no user can act on, as the issue quotes them
NOT_ACTIONABLE = (
    "(unspecified)",
    "(LicenseRef-provaudit-other)",
    "declare the base's license",
    "declare the effective",
)


def _llama_pair() -> ReviewReport:
    """A Llama 2 fine-tune whose card declares apache-2.0, and its base (gated: only LICENSE.txt)."""
    targets = [CARDS / "models" / "clibrain__Llama-2-7b-ft-instruct-es", FIXTURES / "hub" / "models" / BASE_FOLDER]
    return review_records(api.collect([str(t) for t in targets], CollectOptions(digests=False)))


@pytest.fixture(scope="module")
def llama() -> ReviewReport:
    return _llama_pair()


@pytest.fixture(scope="module")
def demo() -> list[Record]:
    return api.collect([str(DEMO / "datasets"), str(DEMO / "models"), str(DEMO / "dpi")], CollectOptions(digests=False))


def _get(report: ReviewReport, rid: str) -> RecordReview:
    return next(r for r in report.records if r.id == rid)


def _clause_text(licence: str, clause: str) -> str:
    """The paragraph of the Llama 2 licence a clause number like ``s.1.b.iv`` or ``s.2`` names.

    Read from the licence text by its own numbering: "2. Additional Commercial Terms", "iv. Your use …".
    """
    flat = re.sub(r"\s+", " ", licence)
    parts = clause.removeprefix("s.").split(".")
    if len(parts) == 1:
        start = flat.index(f" {parts[0]}. ")
        end = flat.find(f" {int(parts[0]) + 1}. ", start)
        return flat[start:end]
    romans = ["i", "ii", "iii", "iv", "v", "vi"]
    mark = parts[-1]
    start = flat.index(f" {mark}. ")
    nxt = romans[romans.index(mark) + 1]
    end = flat.find(f" {nxt}. ", start + 1)
    return flat[start : end if end > 0 else None]


def test_commercial_with_conditions_cites_the_licence_clauses(llama: ReviewReport) -> None:
    base = _get(llama, BASE)
    assert base.use.value == "commercial"  # the value scripts read is unchanged
    kinds = {c.kind: c for c in base.conditions}
    assert set(kinds) == {"mau_limit", "use_policy", "attribution_notice"}
    licence = LLAMA2_TEXT.read_text(encoding="utf-8")
    # every condition's clause says, in the licence's own words, what the condition says
    mau = _clause_text(licence, kinds["mau_limit"].clause)
    assert "700 million monthly active users" in mau and "700,000,000" in kinds["mau_limit"].text
    aup = _clause_text(licence, kinds["use_policy"].clause)
    url = re.search(r"https://\S+", kinds["use_policy"].text)
    assert url and "Acceptable Use Policy" in aup and url.group(0) in aup
    notice = _clause_text(licence, kinds["attribution_notice"].clause)
    quoted = re.search(r"“(.+)”", kinds["attribution_notice"].text)
    assert quoted and quoted.group(1) in notice
    assert all(c.source.startswith(f"{BASE}: ") for c in base.conditions)


def test_conditions_in_json_sarif_text_md_and_html(llama: ReviewReport) -> None:
    data = json.loads(render(llama, "json"))
    for record in data["records"]:
        assert all(set(c) == {"kind", "text", "clause", "source"} for c in record["conditions"])
    assert data["summary"]["with_conditions"] == 2
    verdicts = {v["record"]: v for v in to_sarif(llama)["runs"][0]["properties"]["verdicts"]}
    assert verdicts[BASE]["use"] == "commercial" and len(verdicts[BASE]["conditions"]) == 3
    text = render(llama, "text")
    assert f"{BASE}  [commercial with conditions, complete]" in text
    assert "condition: monthly-user limit: above 700,000,000 monthly active users" in text
    for fmt in ("md", "html"):
        out = render(llama, fmt)
        assert "commercial with conditions" in out and "700,000,000" in out, fmt


def test_finetune_declared_apache_one_finding_and_the_licence_that_applies(llama: ReviewReport) -> None:
    tune = _get(llama, FINETUNE)
    pa117 = [f for f in tune.findings if f.rule == "PA117"]
    assert len(pa117) == 1 and pa117[0].severity.value == "error"
    # the fix quotes the Hub id of the base's licence and the terms to keep
    fix = pa117[0].fix or ""
    assert "`license: llama2`" in fix and "700,000,000" in fix and "https://ai.meta.com/llama/use-policy" in fix
    own = next(n for n in tune.attribution_notices if n.startswith('"clibrain/'))
    assert "licensed under Llama 2 Community License Agreement" in own
    assert "licensed under Apache" not in own
    assert {c.kind for c in tune.conditions} == {"mau_limit", "use_policy", "attribution_notice"}


def test_one_finding_per_problem_on_the_demo(demo: list[Record]) -> None:
    report = review_records(demo)
    nous = _get(report, "model:NousResearch/Nous-Hermes-2-Yi-34B")
    pa117 = [f for f in nous.findings if f.rule == "PA117"]
    assert len(pa117) == 1
    assert "`license: other`, `license_name: yi-license`" in (pa117[0].fix or "")
    for r in report.records:
        keys = [(f.rule, f.message) for f in r.findings]
        assert len(keys) == len(set(keys)), r.id


@pytest.mark.parametrize("policy", ["default", "dpi"])
def test_every_fix_on_the_demo_is_an_action(demo: list[Record], policy: str) -> None:
    report = review_records(demo, policy)
    fixes = [f.fix or "" for r in report.records for f in r.findings]
    assert fixes
    for fix in fixes:
        assert not any(p in fix for p in NOT_ACTIONABLE), fix
    if policy == "dpi":
        pa102 = [f for r in report.records for f in r.findings if f.rule == "PA102"]
        assert pa102 and all("--policy default" in (f.fix or "") for f in pa102 if "counts only" in (f.fix or ""))


def test_pa108_names_the_upstream_that_was_generated(demo: list[Record]) -> None:
    source = Source(collector="test", file="README.md", field="source_datasets")
    child = Record(
        id="dataset:acme/alpaca-cleaned",
        kind=Kind.DATASET,
        name="acme/alpaca-cleaned",
        upstream=[
            Upstream(
                target="dataset:tatsu-lab/alpaca", raw="tatsu-lab/alpaca", relation=Relation.DERIVED_FROM, source=source
            )
        ],
    )
    report = review_records([*demo, child])
    (pa108,) = [f for f in _get(report, child.id).findings if f.rule == "PA108"]
    assert pa108.message.startswith(
        "dataset:acme/alpaca-cleaned derives from dataset:tatsu-lab/alpaca (dataset:acme/alpaca-cleaned → "
        "dataset:tatsu-lab/alpaca), which was generated by model:dpi/OpenAI GPT-3"
    )
    (direct,) = [f for f in _get(report, "dataset:tatsu-lab/alpaca").findings if f.rule == "PA108"]
    assert direct.message.startswith("dataset:tatsu-lab/alpaca was generated by model:dpi/OpenAI GPT-3")


def test_pa103_says_ask_the_owner_and_keeps_the_stricter_reading(tmp_path: Path) -> None:
    folder = tmp_path / "nc-card-mit-file"
    folder.mkdir()
    (folder / "README.md").write_text("---\nlicense: cc-by-nc-4.0\n---\n# A dataset\n", encoding="utf-8")
    (folder / "LICENSE").write_text((FIXTURES / "licenses" / "MIT__orig.txt").read_text(encoding="utf-8"))
    (reviewed,) = review_records([collect_folder(folder)]).records
    (pa103,) = [f for f in reviewed.findings if f.rule == "PA103"]
    fix = pa103.fix or ""
    assert fix.startswith("ask the owner which licence applies")
    assert (
        "treat it as Creative Commons Attribution Non Commercial 4.0 International (CC-BY-NC-4.0) (non-commercial)"
        in fix
    )
    assert "set the card" not in fix
