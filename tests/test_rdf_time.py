"""The store's dateTime text: one instant in two time zones is written as each says it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from provaudit.store.rdf import dt_literal


def test_equal_instants_in_two_zones_keep_their_own_text() -> None:
    # equal datetimes (one instant), so a cache keyed on the datetime alone would answer the first's text
    paris = datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))
    utc = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert paris == utc
    assert dt_literal(paris).value == "2026-01-01T01:00:00+01:00"
    assert dt_literal(utc).value == "2026-01-01T00:00:00Z"
    assert dt_literal(paris).value == "2026-01-01T01:00:00+01:00"
