"""When an observation of a record failed: the source could not be read, so what came back is no content.

A fetch that failed (gated or refused, not found, unreachable, rate limited, offline and not cached) or a
card file that could not be read is an observation that failed, not a new version of the record: the
store keeps the last good revision current and records the failed attempt beside it
(``pa:FailedObservation``), and the review says when the record was last read and why the last try failed.
"""

from __future__ import annotations

from provaudit.records.model import Finding, Record

# what the Hub collector reports when a repo (or one of its files) could not be read: gated or refused,
# not found, unreachable, rate limited, offline and not cached, offline from the cache without the API
# (provaudit.collectors._hub_http)
FETCH_FAILED = frozenset({"PA010", "PA011", "PA012", "PA013", "PA014", "PA015"})
# PA003 covers files too large to parse as well (the same every time: that is content); only the reads
# that an OS error stopped (permissions, I/O) are failures that a later scan may not meet
_UNREADABLE = ("cannot be read", "cannot be listed")


def failure_of(record: Record) -> Finding | None:
    """The finding that says this observation of the record failed, or None when it was read."""
    for finding in record.findings:
        if finding.rule in FETCH_FAILED:
            return finding
        if finding.rule == "PA003" and any(words in finding.message for words in _UNREADABLE):
            return finding
    return None


def keeps_last_good(record: Record, previous: Record | None) -> Finding | None:
    """Why this observation must not replace ``previous`` (the record's current revision), or None.

    Only a good revision is kept: when the current one is itself a failed read, a new failure (or a
    good read) is written as usual, since nothing read is lost.
    """
    why = failure_of(record)
    if why is None or previous is None or failure_of(previous) is not None:
        return None
    return why
