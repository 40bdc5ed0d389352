"""Issue 18 item 3: an upstream name that means a Hub dataset the store holds only as DPI's parts of it (records
whose Inferred Metadata names that Hub dataset) resolves to those parts, and the evidence says how the name was
read. Real DPI records in tests/fixtures/dpi_hub_parts (sources in its SOURCE.md); runs without ../shared."""

from __future__ import annotations

from pathlib import Path

from provaudit import api
from provaudit.collectors.base import CollectOptions
from provaudit.records.model import Record
from provaudit.rules.names import NameIndex
from provaudit.rules.report import RecordReview
from provaudit.rules.review import review_records

FIXTURES = Path(__file__).parent / "fixtures" / "dpi_hub_parts"


def _reviews() -> tuple[list[Record], dict[str, RecordReview]]:
    records = api.collect([str(FIXTURES / "dpi")], CollectOptions(digests=False))
    return records, {r.id: r for r in review_records(records, "default").records}


def test_a_short_name_reaches_the_parts_dpi_audited() -> None:
    _, reviews = _reviews()
    adversarial = reviews["dataset:dpi/fc-sni-adversarial_qa"]
    # "SQuADv1": the alias table's squad (SQuAD 1.1), held only as fc-sni-squad_1.1 (HF Dataset: squad)
    step = next(s for s in adversarial.evidence if s.record == "dataset:dpi/fc-sni-squad_1.1" and s.use)
    assert step.license == "CC-BY-SA-4.0" and "'SQuADv1'" in (step.note or "") and "in parts" in (step.note or "")
    assert adversarial.complete and adversarial.use.value == "commercial"
    sled = reviews["dataset:dpi/dynosaur-tau/sled-gov_report"]
    # "govreport" is launch/gov_report up to punctuation; DPI holds it as dynosaur-launch/gov_report-plain_text
    assert any(s.record == "dataset:dpi/dynosaur-launch/gov_report-plain_text" for s in sled.evidence)
    assert sled.complete


def test_a_part_whose_terms_are_unknown_keeps_the_derivative_unspecified() -> None:
    _, reviews = _reviews()
    swda = reviews["dataset:dpi/dynosaur-silicone-swda"]
    # "opensubtitles" is the Hub's open_subtitles, which DPI annotated `Unspecified`: audited, still not commercial
    assert swda.complete and swda.use.value == "unspecified"
    assert any(s.record == "dataset:dpi/fc-sni-opensubtitles" for s in swda.evidence)


def test_a_hub_name_two_datasets_share_is_not_linked() -> None:
    records, _ = _reviews()
    index = NameIndex({r.id: r for r in records})
    assert index.find("dataset:dpi/opensubtitles", "opensubtitles") is not None
    # the same key under two Hub datasets: not certain, never linked
    twice = [r.model_copy(deep=True) for r in records if r.id == "dataset:dpi/fc-sni-opensubtitles"]
    other = twice[0].model_copy(update={"id": "dataset:dpi/other-opensubtitles"}, deep=True)
    facts = [
        f.model_copy(update={"value": "someone/open-subtitles"}) if f.key == "hf_dataset" else f for f in other.facts
    ]
    other = other.model_copy(update={"facts": facts})
    index = NameIndex({r.id: r for r in [*records, other]})
    assert index.find("dataset:dpi/opensubtitles", "opensubtitles") is None
