"""Incremental site builds: after each kind of change, the rebuilt folder equals a full build byte for byte.

Each case builds the site of the real fixture cards (tests/fixtures/site), changes the input, and
rebuilds into the same folder; a full build of the changed input into a new folder is the oracle.
Which record pages the rebuild rendered again is read from the file system (a carried-over page is a
hard link of the previous one: same inode), and must be exactly the pages whose bytes changed.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SITE_CARDS
from conftest import site_files as files
from conftest import site_inodes as inodes

from provaudit import api
from provaudit.records.model import Fact, Record
from provaudit.resources import resource
from provaudit.site.build import build_site
from provaudit.site.review import review

BUILT = "2026-01-01 00:00 UTC"  # both builds name the same time, so the overview pages can be compared
BASE = "model:mistralai/Mistral-7B-v0.1"
# what BASE's relicensing reaches: its children, their children (merges of neural-chat-7b-v3-3)
DESCENDANTS = {
    "model:Intel/neural-chat-7b-v3-1",
    "model:Intel/neural-chat-7b-v3-3",
    "model:teknium/OpenHermes-2.5-Mistral-7B",
    "model:OpenPipe/mistral-ft-optimized-1227",
    "model:Weyaxi/OpenHermes-2.5-neural-chat-v3-3-Slerp",
}


@pytest.fixture(scope="module")
def records() -> list[Record]:
    return api.collect([str(SITE_CARDS)])


def rebuild(
    tmp_path: Path,
    before: list[Record],
    after: list[Record],
    templates: Path | None = None,
    change_templates: Callable[[], None] | None = None,
) -> tuple[set[str], set[str], int]:
    """Build ``before``, rebuild with ``after``; assert it equals a full build of ``after``.

    Returns the record pages rendered again, the record pages whose bytes changed, and the number reused.
    """
    dirs = [templates] if templates else []
    site, full = tmp_path / "site", tmp_path / "full"
    build_site(before, review(before), site, workers=1, built=BUILT, template_dirs=dirs)
    old_files, old_inodes = files(site), inodes(site)
    if change_templates:
        change_templates()
    stats = build_site(after, review(after), site, workers=1, built=BUILT, template_dirs=dirs)
    build_site(after, review(after), full, workers=1, built=BUILT, template_dirs=dirs)
    new, expected = files(site), files(full)
    assert sorted(new) == sorted(expected)
    for name, data in expected.items():
        assert new[name] == data, name
    new_inodes = inodes(site)
    pages = {n for n in new_inodes if n.startswith("records/")}
    rendered = {n for n in pages if old_inodes.get(n) != new_inodes[n]}
    changed = {n for n in pages if old_files.get(n) != new[n]}
    assert stats.reused == len(pages) - len(rendered)
    return rendered, changed, stats.reused


def page(rid: str) -> str:
    return "records/" + rid.replace(":", "-", 1).replace("/", "--") + ".html"


def test_nothing_changed_renders_no_record_page(tmp_path: Path, records: list[Record]) -> None:
    rendered, changed, reused = rebuild(tmp_path, records, records)
    assert rendered == changed == set() and reused == len(records)


def test_one_record_changed(tmp_path: Path, records: list[Record]) -> None:
    after = [r.model_copy(deep=True) for r in records]
    target = next(r for r in after if r.id == "dataset:common_gen")
    target.facts.append(Fact(key="description", value="A new description.", source=target.facts[0].source))
    rendered, changed, _ = rebuild(tmp_path, records, after)
    assert rendered == changed == {page("dataset:common_gen")}


def test_one_record_added(tmp_path: Path, records: list[Record]) -> None:
    before = [r for r in records if r.id != "dataset:hellaswag"]
    rendered, changed, _ = rebuild(tmp_path, before, records)
    assert rendered == changed
    # the new page, and the pages whose graph now links it (models evaluated on hellaswag)
    assert page("dataset:hellaswag") in rendered and page("model:Intel/neural-chat-7b-v3-3") in rendered
    assert page("dataset:common_gen") not in rendered


def test_one_record_removed(tmp_path: Path, records: list[Record]) -> None:
    after = [r for r in records if r.id != "model:Intel/neural-chat-7b-v3-1"]
    rendered, changed, _ = rebuild(tmp_path, records, after)
    assert rendered == changed
    assert page("model:Intel/neural-chat-7b-v3-3") in rendered  # its base is now a missing node
    assert page("dataset:common_gen") not in rendered
    assert not (tmp_path / "site" / page("model:Intel/neural-chat-7b-v3-1")).exists()
    assert not list((tmp_path / "site" / "downloads").glob("model-Intel--neural-chat-7b-v3-1.*"))


def test_base_model_relicensed(tmp_path: Path, records: list[Record]) -> None:
    after = [r.model_copy(deep=True) for r in records]
    base = next(r for r in after if r.id == BASE)
    base.claims = [c.model_copy(update={"raw": "cc-by-nc-4.0", "expression": "CC-BY-NC-4.0"}) for c in base.claims]
    rendered, changed, _ = rebuild(tmp_path, records, after)
    assert rendered == changed
    assert {page(rid) for rid in DESCENDANTS | {BASE}} <= rendered  # descendants' verdicts follow the base
    assert page("dataset:common_gen") not in rendered


def test_template_changed(tmp_path: Path, records: list[Record]) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    shutil.copyfile(resource("site", "templates", "_lineage.html"), templates / "_lineage.html")

    def change() -> None:
        path = templates / "_lineage.html"
        path.write_text(path.read_text() + "<p>changed lineage template</p>\n")

    rendered, changed, reused = rebuild(tmp_path, records, records, templates, change)
    assert reused == 0 and rendered == changed and len(rendered) == len(records)
    assert "changed lineage template" in (tmp_path / "site" / page("dataset:snli")).read_text()


def test_a_tampered_manifest_costs_a_full_build_only(tmp_path: Path, records: list[Record]) -> None:
    site = tmp_path / "site"
    build_site(records, review(records), site, workers=1, built=BUILT)
    manifest = site / ".provaudit-manifest.json"
    text = manifest.read_text().replace('"files":["downloads/', '"files":["../../outside/')
    manifest.unlink()
    manifest.write_text(text)
    stats = build_site(records, review(records), site, workers=1, built=BUILT)
    build_site(records, review(records), tmp_path / "full", workers=1, built=BUILT)
    assert files(site) == files(tmp_path / "full")
    assert stats.reused == 0  # every entry named a file outside the site: none was taken


def test_cli_says_how_many_pages_were_carried_over(tmp_path: Path) -> None:
    from provaudit.site.commands import site as site_command

    store = tmp_path / "store"
    api.scan([str(SITE_CARDS / "datasets")], store=store)
    args = ["--out", str(tmp_path / "site"), "--store", str(store)]
    first = CliRunner().invoke(site_command, args)
    assert first.exit_code == 0, first.output
    assert "carried over" not in first.output
    again = CliRunner().invoke(site_command, args)
    assert again.exit_code == 0, again.output
    count = len(list((tmp_path / "site" / "records").glob("*.html")))
    assert f"({count} record pages unchanged, carried over)" in again.output
