"""What a new user sees at the command line: clear messages, empty results said, whole values in tables."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from provaudit import api
from provaudit.cli import main
from provaudit.collectors.pipeline import _name_from_remote

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"
SNLI = DEMO / "datasets" / "snli"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def scanned(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    code, _, err = run("scan", str(SNLI), "--store", str(store), "--fail-on", "never")
    assert code == 0, err
    return store


def test_failed_first_scan_leaves_no_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    code, _, err = run("scan", str(tmp_path / "nonexistent"), "--store", str(store))
    assert code == 2 and "no such file or folder" in err
    assert not store.exists()
    code, _, err = run("review", "--store", str(store))
    assert code == 2
    assert "no provaudit store here; run `provaudit scan PATH` first" in err


def test_interrupted_first_scan_removes_its_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import provaudit.collectors.folders as folders

    def broken(*args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt  # as a Ctrl-C while the first records are read

    monkeypatch.setattr(folders, "read_planned", broken)
    with pytest.raises(KeyboardInterrupt):
        api.scan([str(SNLI)], store=tmp_path / "store")
    assert not (tmp_path / "store").exists()


def test_failed_later_scan_keeps_the_store(scanned: Path, tmp_path: Path) -> None:
    code, _, _ = run("scan", str(tmp_path / "nonexistent"), "--store", str(scanned))
    assert code == 2
    code, out, _ = run("scans", "--store", str(scanned), "--format", "json")
    assert code == 0 and len(json.loads(out)) == 1


def test_malformed_json_names_the_syntax_error_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "summary.json"
    bad.write_text('{\n  "datasets": [\n    {"License": "MIT",}\n  ]\n}\n')
    code, _, err = run("scan", str(bad), "--store", str(tmp_path / "store"))
    assert code == 2
    assert str(bad) in err and "not valid JSON" in err and "line 3, column 23" in err
    assert "no collector can read" not in err
    assert not (tmp_path / "store").exists()
    # one that reads as a DPI summary is that collector's: a finding naming the file and line
    bad.write_text('{\n  "Licenses": [\n    {"License": "MIT",}\n  ]\n}\n')
    code, out, _ = run("scan", str(bad), "--store", str(tmp_path / "store"), "--json")
    messages = [f["message"] for r in json.loads(out)["records"] for f in r["findings"]]
    assert code == 1 and any("summary.json:3:" in m and "malformed JSON" in m for m in messages)


def test_a_card_file_points_at_its_folder(tmp_path: Path) -> None:
    code, _, err = run("scan", str(SNLI / "README.md"), "--store", str(tmp_path / "store"))
    assert code == 2
    assert "scan the folder instead: provaudit scan " + str(SNLI) in err


def test_unknown_json_and_other_files_say_what_to_run(tmp_path: Path) -> None:
    (tmp_path / "other.json").write_text('{"a": 1}')
    code, _, err = run("scan", str(tmp_path / "other.json"), "--store", str(tmp_path / "store"))
    assert code == 2 and "does not recognize" in err and f"provaudit scan {tmp_path}" in err
    (tmp_path / "notes.txt").write_text("x")
    code, _, err = run("scan", str(tmp_path / "notes.txt"), "--store", str(tmp_path / "store"))
    assert code == 2 and f"provaudit scan {tmp_path}" in err


def test_empty_folder_says_nothing_was_found(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = run("scan", str(tmp_path / "empty"), "--store", str(tmp_path / "store"))
    assert code == 0
    assert "nothing to record in" in err and "no dataset or model folder" in err


def test_site_of_an_empty_store_says_so(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    run("scan", str(tmp_path / "empty"), "--store", str(tmp_path / "store"))
    code, _, err = run("site", "--store", str(tmp_path / "store"), "--out", str(tmp_path / "site"))
    assert code == 0, err
    assert "the store holds no records, so the site is empty" in err
    assert "run `provaudit scan PATH` first" in err
    index = (tmp_path / "site" / "index.html").read_text()
    assert "The store holds no records yet" in index


def test_sparql_unknown_prefix(scanned: Path) -> None:
    code, _, err = run("query", "SELECT ?x WHERE { ?x foo:bar ?y }", "--store", str(scanned))
    assert code == 2
    assert "line 1, column 22: unknown prefix foo:" in err
    assert "PREFIX foo: <...>" in err and "pa:, prov:, dcterms:" in err
    assert "\\u{" not in err and "..=" not in err


def test_sparql_syntax_error_counts_the_users_lines(scanned: Path) -> None:
    query = "SELECT ?x WHERE {\n  ?x a ?y .\n  ?x ]] ?z }"
    code, _, err = run("query", query, "--store", str(scanned))
    assert code == 2
    line = re.search(r"line (\d+), column (\d+)", err)
    assert line is not None and int(line[1]) == 3, err
    assert "?x ]] ?z" in err  # the offending line is shown


def test_query_empty_result_says_so(scanned: Path) -> None:
    code, out, err = run("query", 'SELECT ?s WHERE { ?s dcterms:license "nothing" }', "--store", str(scanned))
    assert code == 0 and out == ""
    assert "no rows" in err


def _column(table: str, index: int) -> str:
    """One column of a rich table's body, its folded lines joined again."""
    body = table.split("┩", 1)[1]
    parts = [line.split("│")[index + 1].strip() for line in body.splitlines() if line.startswith("│")]
    return "".join(parts)


def test_query_table_keeps_whole_iris(scanned: Path) -> None:
    sparql = "SELECT ?v ?l WHERE { ?v dcterms:license ?l }"
    _, out, _ = run("query", sparql, "--store", str(scanned), "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["v", "l"] and len(rows) > 1
    iri = rows[1][0]
    assert len(iri) > 60
    for env in ({"COLUMNS": "60"}, {}):
        code, table, _ = run("query", sparql, "--store", str(scanned), env=env)
        assert code == 0 and "…" not in table
        assert iri in _column(table, 0)
    _, wide, _ = run("query", sparql, "--store", str(scanned))
    assert iri in wide  # piped output is as wide as its values: one IRI, one line
    code, out, _ = run("query", sparql, "--store", str(scanned), "--format", "json")
    assert json.loads(out)[0]["v"] == iri


def test_scans_table_csv_json(scanned: Path) -> None:
    code, out, _ = run("scans", "--store", str(scanned), "--format", "json")
    scan = json.loads(out)[0]
    scan_id = scan["iri"].rsplit("/", 1)[-1]
    code, table, _ = run("scans", "--store", str(scanned), env={"COLUMNS": "50"})
    assert code == 0 and "…" not in table and _column(table, 0) == scan_id
    code, out, _ = run("scans", "--store", str(scanned), "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:2] == ["scan", "started"] and rows[1][0] == scan["iri"]
    code, out, _ = run("scans", "--store", str(scanned), "--json")  # the older flag still works
    assert json.loads(out)[0]["iri"] == scan["iri"]


def test_license_normalize_whole_ids_and_formats() -> None:
    long_id = "LicenseRef-scancode-llama-2-license-2023"
    code, table, _ = run("license", "normalize", "llama2", "CC BY-NC 4.0", env={"COLUMNS": "60"})
    assert code == 0 and "…" not in table and long_id in _column(table, 1)
    code, out, _ = run("license", "normalize", "llama2", "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["declared", "SPDX expression", "how", "use"] and rows[1][1] == long_id
    code, out, _ = run("license", "normalize", "llama2", "--format", "json")
    assert json.loads(out)[0]["expression"] == long_id
    code, out, _ = run("license", "normalize", "no such license at all", "--format", "csv")
    assert code == 1


def test_license_detect_formats(tmp_path: Path) -> None:
    mit = tmp_path / "LICENSE"
    mit.write_text(
        "MIT License\n\nCopyright (c) 2024 Acme\n\nPermission is hereby granted, free of charge, to any person "
        'obtaining a copy of this software and associated documentation files (the "Software"), to deal in the '
        "Software without restriction, including without limitation the rights to use, copy, modify, merge, "
        "publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the "
        "Software is furnished to do so, subject to the following conditions:\n\nThe above copyright notice and "
        "this permission notice shall be included in all copies or substantial portions of the Software.\n"
    )
    code, out, _ = run("license", "detect", str(mit), "--format", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["file", "SPDX expression", "confidence", "matched lines"] and rows[1][0] == str(mit)
    code, out, _ = run("license", "detect", str(mit), "--format", "json")
    assert code == 0 and isinstance(json.loads(out), list)
    code, table, _ = run("license", "detect", str(mit), env={"COLUMNS": "40"})
    assert code == 0 and "…" not in table and _column(table, 0) == str(mit)


@pytest.mark.parametrize(
    ("remote", "name"),
    [
        ("git@github.com:acme/trainer.git", "acme/trainer"),
        ("https://github.com/acme/trainer", "acme/trainer"),
        ("/home/someone/src/trainer", None),
        ("file:///home/someone/src/trainer", None),
        ("../trainer", None),
    ],
)
def test_pipeline_code_record_is_not_named_after_a_local_path(remote: str, name: str | None) -> None:
    assert _name_from_remote(remote) == name


# --- one convention for every command (issue 19, item 2) ----------------------------------------------


def _commands(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command and sub-command, lazy ones included, with the words that call it."""
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1])
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, name
            yield from _commands(sub, (*path, name))


def test_every_option_of_every_command_has_help_text() -> None:
    missing: list[str] = []
    seen = 0
    for path, command in _commands(main, ("provaudit",)):
        for param in command.params:
            if isinstance(param, click.Option):
                seen += 1
                if not (param.help or "").strip():
                    missing.append(f"{' '.join(path)} {'/'.join(param.opts)}")
    assert seen > 80  # the walk reached the lazy commands' options too
    assert not missing, f"options without help text: {missing}"
    # and each one shows in its --help page
    code, out, _ = run("trace", "--help")
    assert code == 0 and "The prediction log" in out


def test_store_before_or_after_the_command(tmp_path: Path) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    assert run("--store", str(before), "scan", str(SNLI), "--fail-on", "never")[0] == 0
    assert run("scan", str(SNLI), "--store", str(after), "--fail-on", "never")[0] == 0
    assert (before / "oxigraph").exists() or any(before.iterdir())
    for store in (before, after):
        code, out, _ = run("--store", str(store), "scans", "--format", "json")
        assert code == 0 and len(json.loads(out)) == 1
    # the command's own --store wins over one before it, and both over PROVAUDIT_STORE
    code, out, _ = run("--store", str(tmp_path / "none"), "scans", "--store", str(after), "--format", "json")
    assert code == 0 and len(json.loads(out)) == 1
    code, out, _ = run("--store", str(after), "scans", "--format", "json", env={"PROVAUDIT_STORE": str(before)})
    assert code == 0 and json.loads(out)[0]["targets"] == [str(SNLI.resolve())]


def test_record_ids_with_or_without_their_kind(scanned: Path) -> None:
    for ref in ("dataset:snli", "snli", "SNLI"):
        code, out, err = run("history", ref, "--store", str(scanned))
        assert code == 0, err
        assert out.startswith("dataset:snli: 1 revision(s)")


def test_unknown_ids_get_a_did_you_mean(scanned: Path) -> None:
    code, _, err = run("history", "snil", "--store", str(scanned))
    assert code == 2 and "no record 'snil'" in err and "did you mean dataset:snli?" in err
    code, _, err = run("review", "dataset:nope", "--store", str(scanned))
    assert code == 2 and "no record 'dataset:nope'" in err


def test_review_of_named_records(tmp_path: Path) -> None:
    store = tmp_path / "store"
    folders = [str(DEMO / name) for name in ("datasets", "models", "dpi", "merges")]
    assert run("scan", *folders, "--store", str(store), "--fail-on", "never")[0] == 0
    code, out, _ = run(
        "review", "snli", "dataset:imdb", "--store", str(store), "--format", "json", "--fail-on", "never"
    )
    assert code == 0
    assert sorted(r["id"] for r in json.loads(out)["records"]) == ["dataset:imdb", "dataset:snli"]


def test_every_command_that_writes_a_file_says_where(scanned: Path, tmp_path: Path) -> None:
    for args, out in (
        (("review", "--format", "md"), tmp_path / "review.md"),
        (("audit",), tmp_path / "audit.txt"),
        (("export", "--format", "turtle"), tmp_path / "store.ttl"),
        (("export", "dataset:snli", "--format", "umr"), tmp_path / "snli.umr.yaml"),
    ):
        result = CliRunner().invoke(
            main,
            [*args, "--store", str(scanned), "--out", str(out), "--fail-on", "never"]
            if args[0] == "review"
            else [*args, "--store", str(scanned), "--out", str(out)],
        )
        assert result.exit_code == 0, result.output
        assert out.is_file() and str(out) in result.stderr, (args, result.stderr)


def _demo_size() -> int:
    """The records of data/demo from its files: one per record folder (datasets/, models/, merges/), one per
    entry of each DPI summary (dpi/)."""
    folders = [p for p in DEMO.iterdir() if p.is_dir() and p.name != "dpi"]
    records = sum(1 for folder in folders for p in folder.iterdir() if p.is_dir())
    return records + sum(len(json.loads(f.read_text(encoding="utf-8"))) for f in (DEMO / "dpi").glob("*.json"))


def test_scanning_the_demo_folder_reads_every_source_in_it(tmp_path: Path) -> None:
    """data/demo holds record folders and a dpi/ folder of DPI summaries: scanning it reads them all
    (its sub-folders named one by one give the same records), none silently skipped."""
    whole = api.scan([str(DEMO)], store=tmp_path / "whole")
    parts = api.scan([str(p) for p in sorted(DEMO.iterdir()) if p.is_dir()], store=tmp_path / "parts")
    dpi = {r.id for r in api.scan([str(DEMO / "dpi")], store=tmp_path / "dpi").records}
    assert len(dpi) == 8 and "dataset:tatsu-lab/alpaca" in dpi
    assert sorted(r.id for r in whole.records) == sorted(r.id for r in parts.records)
    assert len(whole.records) == _demo_size() >= 23 and dpi <= {r.id for r in whole.records}


def test_the_scan_counts_its_records_before_it_starts(tmp_path: Path) -> None:
    """The progress bar's total, counted before anything is read: the demo's record folders and the
    8 entries of its two DPI summaries; a Hub listing cannot be counted first."""
    assert api.count_records([str(DEMO)]) == _demo_size()
    assert api.count_records([str(DEMO / "dpi" / "Alpaca.json"), str(SNLI)]) == 2
    assert api.count_records(["hf:datasets/squad", "hf:models/a/b"]) == 2
    assert api.count_records(["hf:models?author=acme"]) is None
    folder = tmp_path / "dpi"
    folder.mkdir()
    shutil.copy(DEMO / "dpi" / "Dolly 15k.json", folder)
    os.mkfifo(folder / "x.json")  # never opened: counting must not block on it
    assert api.count_records([str(folder)]) == 7 + 1
    seen: list[str] = []
    api.scan([str(DEMO)], store=tmp_path / "store", progress=seen.append)
    again: list[str] = []
    api.scan([str(DEMO)], store=tmp_path / "store", progress=again.append)  # unchanged folders count too
    assert len(seen) == len(again) == _demo_size()


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`provaudit review | head`: the reader stops after one byte; provaudit says nothing on stderr."""
    import fcntl
    import subprocess
    import sys

    store = tmp_path / "store"
    folders = [str(DEMO / name) for name in ("datasets", "models", "dpi", "merges")]
    assert run("scan", *folders, "--store", str(store), "--fail-on", "never")[0] == 0
    read_end, write_end = os.pipe()
    # a one-page pipe, set before provaudit writes: the review (100 KB) is many times what the pipe and
    # provaudit's output buffers hold, so provaudit is still writing when the reader closes, on any machine
    fcntl.fcntl(write_end, 1031, 4096)  # F_SETPIPE_SZ
    cmd = [sys.executable, "-m", "provaudit.cli", "review", "--format", "json", "--fail-on", "never"]
    proc = subprocess.Popen([*cmd, "--store", str(store)], stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    with os.fdopen(read_end, "rb", buffering=0) as reader:
        assert reader.read(1) == b"{"
    err = proc.communicate(timeout=300)[1].decode()
    assert proc.returncode == 141, err
    assert err == ""
