"""A model page lists its runs newest first in the store's order, even two started in the same second."""

from __future__ import annotations

from provaudit.site.runs import runs_by_record
from provaudit.versions.runs import Output, RunRecord, order_key

MODEL = "model:credit"


def _run(iri: str, ns: int, seq: int) -> RunRecord:
    return RunRecord(
        iri=iri,
        name="train",
        started="2026-12-08T02:19:49Z",  # both in one second: the text cannot order them
        started_ns=ns,
        seq=seq,
        status="succeeded",
        outputs=[Output(path="model.npz", location="/m", record=MODEL)],
    )


def test_runs_in_one_second_newest_first_by_the_stores_order() -> None:
    # the later run's IRI sorts first, so an order by (started, iri) would put it last
    older = _run("https://w3id.org/provaudit/id/run/20261208T021949-6fd15d6a", 1_796_696_389_100_000_000, 1)
    newer = _run("https://w3id.org/provaudit/id/run/20261208T021949-515f7d05", 1_796_696_389_900_000_000, 2)
    assert sorted([newer, older], key=order_key) == [older, newer]
    for given in ([older, newer], [newer, older]):
        shown = [view.iri for view in runs_by_record(given, {MODEL: "records/model-credit.html"})[MODEL]]
        assert shown == [newer.iri, older.iri]
