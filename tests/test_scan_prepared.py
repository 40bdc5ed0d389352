"""Scan workers hand the writer finished store text (rdf.prepare_revision): the store it makes equals the one the
writer makes from the records themselves, and the scan's result keeps counts, not records."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from conftest import CARDS

from provaudit import api
from provaudit.cli import main
from provaudit.collectors.base import CollectOptions
from provaudit.records.model import Severity

TARGETS = [str(CARDS / "datasets"), str(CARDS / "models"), str(CARDS / "bad")]


def _export(store: Path) -> list[str]:
    done = CliRunner().invoke(main, ["export", "--format", "nt", "--store", str(store)])
    assert done.exit_code == 0, done.output
    text = re.sub(r"/scan/[0-9TZ]+>", "/scan/S>", done.output)
    text = re.sub(r'"[0-9T:-]+Z"\^\^<http://www.w3.org/2001/XMLSchema#dateTime>', '"T"', text)
    # the targets and options of a scan, and folder fingerprints, are no part of what was read
    skip = ("#fingerprint>", "#target>", "#options>")
    return sorted({line for line in text.splitlines() if not any(s in line for s in skip)})


def test_prepared_text_is_what_the_writer_writes_from_records(tmp_path: Path) -> None:
    options = CollectOptions(digests=False)
    api.scan(TARGETS, store=tmp_path / "prepared", options=options, jobs=2)
    # the same records written by the writer itself, one by one, as an import or a Hub scan is
    records = api.collect(TARGETS, options)
    with api.open_store(tmp_path / "direct") as db:
        writer = db.begin_scan([str(Path(t).resolve()) for t in TARGETS], {"digests": False, "depth": 0})
        writer.add(records)
        writer.commit()
    prepared, direct = _export(tmp_path / "prepared"), _export(tmp_path / "direct")
    assert len(prepared) > 1000
    assert prepared == direct


def test_the_result_counts_what_the_records_hold(tmp_path: Path) -> None:
    result = api.scan(TARGETS, store=tmp_path / "s", options=CollectOptions(digests=False), jobs=2)
    assert result._records is None  # nothing read back while scanning
    data = result.to_json()
    assert set(data) == {"scan", "started", "ended", "counts", "findings_by_severity", "records"}
    records = result.records  # read back from the store, when asked
    assert [r.id for r in records] == list(result.outcomes) == list(result.entries)
    by_severity = {s.value: sum(1 for r in records for f in r.findings if f.severity is s) for s in Severity}
    assert data["findings_by_severity"] == by_severity and by_severity["error"] > 0
    for record in records:
        entry = result.entries[record.id]
        assert entry.kind == record.kind.value
        assert entry.licensed == any(c.expression for c in record.claims)
        assert entry.severities == tuple(by_severity_of(record))
    assert result.count_at_or_above("error") == by_severity["error"]


def by_severity_of(record: object) -> list[int]:
    findings = record.findings  # type: ignore[attr-defined]
    return [sum(1 for f in findings if f.severity is s) for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)]
