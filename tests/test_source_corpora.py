"""Source corpora no store holds as a record (data/licenses/source_corpora.yaml): an upstream named exactly after
one is read with its stated terms and the clause, never left waiting for a record and never guessed. Real records:
tests/fixtures/source_corpora (DPI, sources in its SOURCE.md) and tests/fixtures/cards/datasets/snli."""

from __future__ import annotations

from pathlib import Path

import yaml

from provaudit import api
from provaudit.collectors.base import CollectOptions
from provaudit.licenses.kb import terms_for
from provaudit.resources import resource
from provaudit.rules.lineage import corpus_terms
from provaudit.rules.report import RecordReview
from provaudit.rules.review import review_records

FIXTURES = Path(__file__).parent / "fixtures"


def _reviews(*targets: Path) -> dict[str, RecordReview]:
    records = api.collect([str(t) for t in targets], CollectOptions(digests=False))
    return {r.id: r for r in review_records(records, "default").records}


def test_every_corpus_names_known_terms_and_quotes_where_they_are_stated() -> None:
    data = yaml.safe_load(resource("data", "licenses", "source_corpora.yaml").read_text(encoding="utf-8"))
    for corpus in data["corpora"]:
        assert terms_for(corpus["terms"]).known, corpus["corpus"]
        assert corpus["source"].startswith("https://") and len(corpus["source"]) > 60, corpus["corpus"]
    assert corpus_terms("COPA dataset") is not None and corpus_terms("copa-dataset") is not None
    assert corpus_terms("common crawl") is None  # a web source: no terms to cite, left unresolved on purpose
    assert corpus_terms("COPA dataset v2") is None  # exact names only


def test_dpi_records_read_their_source_corpora() -> None:
    reviews = _reviews(FIXTURES / "source_corpora" / "dpi")
    copa = reviews["dataset:dpi/fc-sni-copa_hr"]
    step = next(s for s in copa.evidence if s.license == "BSD-2-Clause" and len(s.path) > 1)
    assert "people.ict.usc.edu/~gordon/copa.html" in (step.terms_source or "")
    assert copa.complete and copa.use.value == "commercial"
    wnli = reviews["dataset:dpi/dynosaur-glue-wnli"]
    assert wnli.complete and wnli.use.value == "commercial"
    # the Yelp Dataset's agreement is non-commercial; McAuley's reviews have no stated terms and stay unresolved
    amazon = reviews["dataset:dpi/dynosaur-amazon_polarity"]
    assert amazon.use.value == "non-commercial"
    assert [u.raw for u in amazon.unresolved] == ["mcauley datasets"]
    tables = reviews["dataset:dpi/dynosaur-unpredictable/unpredictable_5k"]
    assert tables.use.value == "unspecified" and [u.raw for u in tables.unresolved] == ["web table corpus"]


def test_a_card_source_dataset_reads_its_corpus_and_keeps_the_unknown_one_unresolved() -> None:
    snli = _reviews(FIXTURES / "cards" / "datasets" / "snli")["dataset:snli"]
    flickr = next(s for s in snli.evidence if s.record == "dataset:source/flicker-30k")
    assert flickr.use is not None and flickr.use.value == "non-commercial"
    assert "non-commercial research and/or educational purposes" in (flickr.terms_source or "")
    assert snli.use.value == "non-commercial"
    assert [u.target for u in snli.unresolved] == ["dataset:source/visual-genome"]  # no recorded terms: unresolved


def test_the_attribution_notice_names_the_corpus() -> None:
    snli = _reviews(FIXTURES / "cards" / "datasets" / "snli")["dataset:snli"]
    assert any(n.startswith('"Flickr30k", licensed under') for n in snli.attribution_notices), snli.attribution_notices
