"""Nothing a user does changes a record that did not change (issue 19, item 1): the bundled demo scanned,
exported (every record in every format it fits, and the whole store), imported back, scanned again and
diffed: no revision is added and the diff between any two of those scans is empty."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from provaudit import api
from provaudit.cli import main
from provaudit.export.formats import FORMATS

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


def _demo_size() -> int:
    """The records of data/demo from its files: one per record folder, one per DPI summary entry."""
    folders = [p for p in DEMO.iterdir() if p.is_dir() and p.name != "dpi"]
    records = sum(1 for folder in folders for p in folder.iterdir() if p.is_dir())
    return records + sum(len(json.loads(f.read_text(encoding="utf-8"))) for f in (DEMO / "dpi").glob("*.json"))


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_scan_export_import_rescan_diff_of_the_demo_changes_nothing(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    first = json.loads(_run("--store", store, "scan", str(DEMO), "--json", "--fail-on", "never"))
    size = _demo_size()
    assert first["counts"]["records"] == size
    with api.open_store(store, read_only=True) as db:
        records = {r.id: r.kind for r in db.records(light=True)}
        before = {rid: [h.iri for h in db.history(rid)] for rid in records}
    assert all(len(revisions) == 1 for revisions in before.values())

    files: list[str] = []
    for rid, kind in sorted(records.items()):
        for name, spec in FORMATS.items():
            if spec.kinds is None or kind in spec.kinds:
                out = tmp_path / "exports" / f"{len(files)}{spec.suffix}"
                _run("--store", store, "export", rid, "--format", name, "--out", str(out))
                files.append(str(out))
    for fmt in ("turtle", "jsonld"):  # the whole store too
        out = tmp_path / "exports" / f"store.{fmt}"
        _run("--store", store, "export", "--format", fmt, "--out", str(out))
        files.append(str(out))
    assert len(files) > size * 5

    imported = _run("--store", store, "import", *files)
    outcomes = [line.split(": ")[-1] for line in imported.splitlines() if line.startswith("  ")]
    assert len(outcomes) == size and set(outcomes) == {"unchanged"}, imported
    again = json.loads(_run("--store", store, "scan", str(DEMO), "--json", "--fail-on", "never"))
    assert again["counts"] == {"records": size, "new": 0, "revised": 0, "unchanged": size}

    with api.open_store(store, read_only=True) as db:
        assert {rid: [h.iri for h in db.history(rid)] for rid in records} == before
        scans = [s.iri.rsplit("/", 1)[-1] for s in db.scans()]
    assert len(scans) == 3
    for a, b in ((scans[0], scans[1]), (scans[1], scans[2]), (scans[0], scans[2])):
        diff = json.loads(_run("--store", store, "diff", a, b, "--json"))
        assert (diff["added"], diff["removed"], diff["changed"]) == ([], [], []), (a, b, diff)
