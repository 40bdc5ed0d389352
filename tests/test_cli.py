"""The command line: exit codes, JSON output, store selection, query and export."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from conftest import CARDS, FIXTURES
from rdflib import Graph

from provaudit.cli import main


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_scan_exit_codes_follow_fail_on(store_path: Path) -> None:
    code, out = run("scan", str(CARDS / "datasets"), "--store", str(store_path))
    assert code == 0, out
    assert "13 datasets" in out
    code, out = run("scan", str(CARDS / "bad"), "--store", str(store_path))
    assert code == 1 and "PA001" in out and "README.md:9" in out
    code, _ = run("scan", str(CARDS / "bad"), "--store", str(store_path), "--fail-on", "never")
    assert code == 0
    # the unknown-license card has a warning (PA005) and no error
    code, _ = run("scan", str(CARDS / "bad" / "unknown_license"), "--store", str(store_path))
    assert code == 0
    code, _ = run("scan", str(CARDS / "bad" / "unknown_license"), "--store", str(store_path), "--fail-on", "warning")
    assert code == 1


def test_scan_json_lists_records_with_sources(store_path: Path) -> None:
    code, out = run("scan", str(CARDS / "datasets" / "imdb"), "--store", str(store_path), "--json")
    assert code == 0
    data = json.loads(out)
    (record,) = data["records"]
    assert record["id"] == "dataset:imdb" and record["outcome"] == "new"
    assert record["licenses"][0] == {
        "raw": "other",
        "expression": "LicenseRef-provaudit-other",
        "method": "hub-id",
        "source": "README.md:9 [license]",
    }


def test_usage_and_input_errors_exit_2(store_path: Path, tmp_path: Path) -> None:
    code, out = run("scan", str(tmp_path / "missing"), "--store", str(store_path))
    assert code == 2 and "missing: no such file or folder" in out
    code, out = run("query", "SELECT * WHERE {", "--store", str(store_path))
    assert code == 2
    code, _ = run("scan")
    assert code == 2


def test_store_from_environment(tmp_path: Path) -> None:
    env = {"PROVAUDIT_STORE": str(tmp_path / "envstore")}
    code, _ = run("scan", str(CARDS / "datasets" / "snli"), env=env)
    assert code == 0 and (tmp_path / "envstore" / "oxigraph").is_dir()
    code, out = run("query", "SELECT ?d ?l WHERE { ?d dcterms:license ?l }", "--format", "json", env=env)
    assert code == 0
    # the card's YAML license (the card's prose also names CC BY-SA 4.0: a claim of its own)
    assert "http://spdx.org/licenses/CC-BY-4.0" in {row["l"] for row in json.loads(out)}


def test_export_turtle_to_stdout(store_path: Path) -> None:
    run("scan", str(CARDS / "datasets" / "snli"), "--store", str(store_path))
    code, out = run("export", "--format", "turtle", "--store", str(store_path))
    assert code == 0
    graph = Graph().parse(data=out, format="turtle")
    assert len(graph) > 50


def test_history_and_scans_commands(store_path: Path) -> None:
    run("scan", str(CARDS / "datasets" / "snli"), "--store", str(store_path))
    code, out = run("history", "dataset:snli", "--store", str(store_path), "--json")
    # the YAML says cc-by-4.0 (the declared licence); the prose (README.md "Licensing Information") says
    # CC BY-SA 4.0: kept as a claim read from the card's text, with its source
    assert code == 0
    (revision,) = json.loads(out)
    assert revision["licenses"] == ["CC-BY-4.0"]
    prose = [c for c in revision["claims"] if c["source"].endswith("[card_prose]")]
    assert [c["expression"] for c in prose] == ["CC-BY-SA-4.0"]
    code, out = run("history", "dataset:nope", "--store", str(store_path))
    assert code == 2 and "no record 'dataset:nope'" in out
    code, out = run("scans", "--store", str(store_path), "--json")
    assert code == 0 and len(json.loads(out)) == 1


def test_license_normalize_and_detect_commands() -> None:
    code, out = run("license", "normalize", "cc-by-nc-4.0", "--json")
    assert code == 0 and json.loads(out)[0]["expression"] == "CC-BY-NC-4.0"
    code, _ = run("license", "normalize", "no such license at all")
    assert code == 1
    sample = next((FIXTURES / "licenses").glob("MIT__*"), None)
    if sample is not None:
        code, out = run("license", "detect", str(sample), "--json")
        assert code == 0 and json.loads(out)[0]["expression"] == "MIT"
