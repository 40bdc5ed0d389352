"""`provaudit diff` and `history` on real cards edited between scans (issue 10, item 6)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner
from conftest import CARDS

from provaudit import api
from provaudit.cli import main
from provaudit.versions.diff import diff_scans, scan_id


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def scan(store: Path, *targets: Path) -> None:
    code, out = run("scan", *map(str, targets), "--store", str(store), "--fail-on", "never")
    assert code == 0, out


def copy_cards(tmp_path: Path, *names: str) -> Path:
    folder = tmp_path / "cards"
    for name in names:
        shutil.copytree(CARDS / name, folder / Path(name).name)
    return folder


def edit(card: Path, old: str, new: str) -> None:
    text = card.read_text(encoding="utf-8")
    assert old in text
    card.write_text(text.replace(old, new, 1), encoding="utf-8")


def scan_ids(store: Path) -> list[str]:
    with api.open_store(store, read_only=True) as db:
        return [scan_id(s.iri) for s in db.scans()]


def test_license_edited_between_scans(tmp_path: Path, store_path: Path) -> None:
    cards = copy_cards(tmp_path, "datasets/cnn_dailymail", "datasets/glue")
    scan(store_path, cards)
    scan(store_path, cards)
    code, out = run("diff", "--store", str(store_path))
    assert code == 0 and "no changes" in out, out

    # the real card's `license:` value edited: Apache-2.0 (commercial) -> CC-BY-NC-4.0
    edit(cards / "cnn_dailymail" / "README.md", "license:\n- apache-2.0\n", "license:\n- cc-by-nc-4.0\n")
    scan(store_path, cards)
    code, out = run("diff", "--store", str(store_path))
    assert code == 1, out
    assert "changed dataset:cnn_dailymail" in out
    assert "license: Apache-2.0 -> CC-BY-NC-4.0" in out
    assert "verdict: commercial (Apache-2.0); attribution -> non-commercial (CC-BY-NC-4.0); attribution" in out
    assert "dataset:glue" not in out  # unchanged records are not listed

    code, out = run("diff", "--store", str(store_path), "--json")
    assert code == 1
    data = json.loads(out)
    first, second, third = scan_ids(store_path)
    assert data["from"].endswith(second) and data["to"].endswith(third)
    assert data["added"] == [] and data["removed"] == []
    (change,) = data["changed"]
    assert change["id"] == "dataset:cnn_dailymail"
    assert change["licenses"] == {"from": ["Apache-2.0"], "to": ["CC-BY-NC-4.0"]}
    assert change["upstream"] is None
    assert change["verdict"]["from"]["use"] == "commercial" and change["verdict"]["to"]["use"] == "non-commercial"
    assert change["verdict"]["to"]["effective_license"] == "CC-BY-NC-4.0"
    assert change["revision"]["from"] != change["revision"]["to"]

    # the gate: a license change fails --fail-on license and any; never never fails
    assert run("diff", "--store", str(store_path), "--fail-on", "license")[0] == 1
    assert run("diff", "--store", str(store_path), "--fail-on", "any")[0] == 1
    assert run("diff", "--store", str(store_path), "--fail-on", "never")[0] == 0
    # scans by short id and by full IRI; the unchanged pair says so
    assert run("diff", first, second, "--store", str(store_path))[1].endswith("no changes\n")
    code, out = run("diff", f"https://w3id.org/provaudit/id/scan/{first}", third, "--store", str(store_path))
    assert code == 1 and "license: Apache-2.0 -> CC-BY-NC-4.0" in out
    # one scan given: from it to the latest; backwards reads the other way
    assert "Apache-2.0 -> CC-BY-NC-4.0" in run("diff", first, "--store", str(store_path))[1]
    assert "license: CC-BY-NC-4.0 -> Apache-2.0" in run("diff", third, first, "--store", str(store_path))[1]

    code, out = run("history", "dataset:cnn_dailymail", "--store", str(store_path))
    assert code == 0, out
    assert "2 revision(s)" in out
    # the card's prose sentence ("released under the Apache-2.0 License") is listed as read, in both revisions
    lines = [line for line in out.splitlines() if "[card_prose]" not in line]
    assert lines[1].startswith("1. revision ") and f"by scan {first} (seen again by {second})" in lines[1]
    assert "license Apache-2.0 ('apache-2.0') from README.md:8 [license], collector local" in lines[2]
    assert lines[3].startswith("2. revision ") and f"by scan {third}; changed: licenses" in lines[3]
    assert "license CC-BY-NC-4.0 ('cc-by-nc-4.0') from README.md:8 [license], collector local  [new]" in lines[4]
    assert "- license Apache-2.0 ('apache-2.0') from README.md:8 [license], collector local  [gone]" in lines[5]
    assert sum("README.md:172 [card_prose]" in line for line in out.splitlines()) == 2

    code, out = run("history", "dataset:cnn_dailymail", "--store", str(store_path), "--json")
    old, new = json.loads(out)
    assert old["scan_id"] == first and old["seen_by"] == [first, second] and old["changed"] == []
    assert new["scan_id"] == third and new["previous"] == old["revision"] and new["changed"] == ["licenses"]
    assert new["licenses"] == ["CC-BY-NC-4.0"]
    assert [c for c in new["claims"] if not c["source"].endswith("[card_prose]")] == [
        {
            "raw": "cc-by-nc-4.0",
            "expression": "CC-BY-NC-4.0",
            "method": "hub-id",
            "source": "README.md:8 [license]",
            "collector": "local",
            "change": "added",
        }
    ]
    assert [c["raw"] for c in new["dropped_claims"]] == ["apache-2.0"]


def test_verdict_change_reaches_a_derivative_whose_card_did_not_change(tmp_path: Path, store_path: Path) -> None:
    cards = copy_cards(tmp_path, "models/Intel__neural-chat-7b-v3-1", "models/mistralai__Mistral-7B-v0.1")
    scan(store_path, cards)
    edit(cards / "mistralai__Mistral-7B-v0.1" / "README.md", "license: apache-2.0\n", "license: cc-by-nc-4.0\n")
    scan(store_path, cards)
    with api.open_store(store_path, read_only=True) as db:
        result = diff_scans(db)
    changes = {c.id: c for c in result.changed}
    child = changes["model:Intel/neural-chat-7b-v3-1"]
    assert child.revision is None and child.licenses is None  # same card, same revision
    assert child.verdict is not None and child.verdict["to"]["use"] == "non-commercial"
    assert any(f["rule"] == "PA109" for f in (child.findings or {}).get("added", []))
    assert result.fails("verdict") and result.fails("license")


def test_parts_are_no_deletions_and_a_rescanned_folder_is(tmp_path: Path, store_path: Path) -> None:
    cards = copy_cards(tmp_path, "datasets/cnn_dailymail", "datasets/glue", "datasets/imdb")
    scan(store_path, cards / "glue")
    scan(store_path, cards / "cnn_dailymail")
    code, out = run("diff", "--store", str(store_path), "--json")
    data = json.loads(out)
    assert code == 0 and [a["id"] for a in data["added"]] == ["dataset:cnn_dailymail"] and data["removed"] == []
    assert data["added"][0]["use"] == "commercial"

    scan(store_path, cards)  # the whole folder: imdb is new, nothing removed
    shutil.rmtree(cards / "glue")
    scan(store_path, cards / "imdb")  # a part: glue is not looked at, so not removed
    code, out = run("diff", "--store", str(store_path), "--fail-on", "any")
    assert code == 0 and "no changes" in out
    scan(store_path, cards)  # the folder again, without glue: removed
    code, out = run("diff", "--store", str(store_path), "--fail-on", "any")
    assert code == 1 and out.splitlines()[1].startswith("removed dataset:glue: CC-BY-4.0; commercial")
    assert run("diff", "--store", str(store_path))[0] == 0  # a removal changes no verdict


def test_input_errors_exit_2(tmp_path: Path, store_path: Path) -> None:
    code, out = run("diff", "--store", str(tmp_path / "nothing"))
    assert code == 2 and "no provaudit store here" in out
    scan(store_path, CARDS / "datasets" / "glue")
    code, out = run("diff", "--store", str(store_path))
    assert code == 2 and "the store has 1 scan(s); diff needs two" in out
    code, out = run("diff", "20000101T000000000000Z", "--store", str(store_path))
    assert code == 2 and "no scan '20000101T000000000000Z' in the store" in out and "provaudit scans" in out
    code, out = run("diff", scan_ids(store_path)[0], "--policy", "no-such-policy", "--store", str(store_path))
    assert code == 2 and "no such policy" in out
    code, out = run("history", "dataset:nope", "--store", str(store_path))
    assert code == 2 and "no record 'dataset:nope'" in out
