"""The export and import commands, through click's CliRunner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from provaudit import api
from provaudit.export.commands import COMMANDS

FIXTURES = Path(__file__).parent / "fixtures" / "export"


@click.group()
def cli() -> None:
    """The commands of provaudit.export.commands, as cli.py will register them."""


for command in COMMANDS:
    cli.add_command(command)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    shutil.copytree(FIXTURES / "datasets", root / "cards" / "datasets")
    shutil.copytree(FIXTURES / "models", root / "cards" / "models")
    api.scan([str(root / "cards")], store=root / "store")
    return root / "store"


@pytest.fixture(autouse=True)
def fixed_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


def test_export_without_record_is_the_whole_store(store: Path) -> None:
    result = CliRunner().invoke(cli, ["export", "--store", str(store), "--format", "nt"])
    assert result.exit_code == 0, result.output
    assert "<https://w3id.org/provaudit/id/dataset/ambig_qa>" in result.output
    refused = CliRunner().invoke(cli, ["export", "--store", str(store), "--format", "spdx3"])
    assert refused.exit_code == 2 and "give RECORD" in refused.output


@pytest.mark.parametrize(
    ("fmt", "check"),
    [
        ("umr", lambda text: text.startswith("mr:\n")),
        ("prov-jsonld", lambda text: json.loads(text)["@context"].endswith("context.jsonld")),
        ("jsonld", lambda text: json.loads(text)["@context"].endswith("context.jsonld")),
        ("turtle", lambda text: "@prefix prov:" in text),
        ("spdx3", lambda text: json.loads(text)["@context"].startswith("https://spdx.org/rdf/3.0.1/")),
        ("croissant", lambda text: json.loads(text)["@type"] == "sc:Dataset"),
        ("dataset-card", lambda text: text.startswith("---\n")),
        ("cyclonedx", lambda text: json.loads(text)["bomFormat"] == "CycloneDX"),
    ],
)
def test_export_one_record(store: Path, tmp_path: Path, fmt: str, check: object) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["export", "ambig_qa", "--format", fmt, "--store", str(store), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert check(out.read_text(encoding="utf-8"))  # type: ignore[operator]
    assert "dataset:ambig_qa" in result.output


def test_export_errors_name_what_to_do(store: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "finance-chat", "--format", "croissant", "--store", str(store)])
    assert result.exit_code == 2 and "use umr" in result.output
    result = runner.invoke(cli, ["export", "finance-chatt", "--format", "umr", "--store", str(store)])
    assert result.exit_code == 2 and "did you mean model:AdaptLLM/finance-chat" in result.output


def test_import_detects_formats_and_writes_one_scan(store: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    files = []
    for rid, fmt in (("ambig_qa", "croissant"), ("finance-chat", "spdx3"), ("DiscoLM_German_7b_v1", "model-card")):
        out = tmp_path / f"{fmt}.out"
        assert (
            runner.invoke(cli, ["export", rid, "--format", fmt, "--store", str(store), "--out", str(out)]).exit_code
            == 0
        )
        files.append(str(out))
    umr = FIXTURES / "umr" / "bloomz-560m-1.0.0.yaml"
    new = tmp_path / "new"
    result = runner.invoke(cli, ["import", *files, str(umr), "--store", str(new)])
    assert result.exit_code == 0, result.output
    for fmt in ("croissant", "spdx3", "model-card", "umr"):
        assert f": {fmt}\n" in result.output
    assert "imported 4 records in scan" in result.output
    db = api.open_store(new, read_only=True)
    try:
        assert len(db.scans()) == 1
        assert {r.id for r in db.records()} == {
            "dataset:ambig_qa",
            "model:AdaptLLM/finance-chat",
            "model:DiscoResearch/DiscoLM_German_7b_v1",
            "model:bloomz-560m",
        }
    finally:
        db.close()


def test_import_of_something_else_is_an_input_error(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    result = CliRunner().invoke(cli, ["import", str(notes), "--store", str(tmp_path / "s")])
    assert result.exit_code == 2 and "cannot tell which export format" in result.output
