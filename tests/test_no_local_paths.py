"""No local absolute path in anything provaudit publishes: the site, every export format, attestations.

The demo collection is scanned from the checkout into a store under tmp_path; neither the checkout's
absolute path nor tmp_path may appear in any published file. Paths read relative to the scanned root,
named by its folder name (or --base-url).
"""

from __future__ import annotations

from pathlib import Path

import html5lib
import pytest
from click.testing import CliRunner

from provaudit.cli import main
from provaudit.export.formats import FORMATS
from provaudit.export.public_paths import PublicPaths

CHECKOUT = Path(__file__).resolve().parent.parent
DEMO = CHECKOUT / "data" / "demo"
STORE_FORMATS = ("turtle", "jsonld", "nt", "nq", "trig")
RECORDS = ("dataset:snli", "model:Intel/neural-chat-7b-v3-3", "dataset:dpi/dolly-openqa")


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("published")
    store = tmp / ".provaudit"
    targets = [str(DEMO / "datasets"), str(DEMO / "models"), str(DEMO / "dpi")]
    CliRunner().invoke(main, ["scan", *targets, "--store", str(store), "--fail-on", "never"], catch_exceptions=False)
    out = tmp / "out"
    out.mkdir()
    run("site", "--store", str(store), "--out", str(out / "site"))
    for fmt in STORE_FORMATS:
        run("export", "--store", str(store), "--format", fmt, "--out", str(out / f"store.{fmt}"))
    for rid in RECORDS:
        for fmt in FORMATS:
            result = CliRunner().invoke(
                main, ["export", rid, "--store", str(store), "--format", fmt, "--out", str(out / f"{rid}.{fmt}")]
            )
            # a format that describes the other kind (a model card of a dataset) is refused, not written
            assert result.exit_code in (0, 2), result.output
    artifact = out / "weights.bin"
    artifact.write_bytes(b"weights")
    run("keygen", "--out", str(tmp / "release"))
    run(
        "attach",
        str(artifact),
        "--record",
        "model:Intel/neural-chat-7b-v3-3",
        "--key",
        str(tmp / "release.key"),
        "--store",
        str(store),
    )
    return tmp, out


def test_nothing_published_names_the_checkout_or_tmp(published: tuple[Path, Path]) -> None:
    tmp, out = published
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len([p for p in files if "site" in p.parts]) > 20
    assert {p.suffix for p in files} >= {".html", ".js", ".css", ".md", ".yaml", ".json", ".turtle", ".nq"}
    local = [str(CHECKOUT), str(tmp), str(tmp.resolve())]
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        for needle in local:
            assert needle not in text, f"{path.relative_to(out)} names {needle}"


def test_record_page_names_the_folder_relative_to_the_scanned_root(published: tuple[Path, Path]) -> None:
    _, out = published
    page = (out / "site" / "records" / "dataset-snli.html").read_text()
    doc = html5lib.parse(page, namespaceHTMLElements=False)
    paths = [el.text for el in doc.iter("code") if "path" in (el.get("class") or "").split()]
    assert paths == ["datasets/snli"]


def test_exports_name_locations_relative_to_the_root(published: tuple[Path, Path]) -> None:
    _, out = published
    turtle = (out / "store.turtle").read_text()
    assert 'pa:location "datasets/snli"' in turtle
    assert '"dpi/Dolly 15k.json#dolly-openqa"' in turtle


def test_base_url_names_the_root(tmp_path: Path, published: tuple[Path, Path]) -> None:
    tmp, _ = published
    data = run(
        "export", "--store", str(tmp / ".provaudit"), "--format", "nt", "--base-url", "https://example.org/demo/"
    )
    assert '"https://example.org/demo/datasets/snli"' in data
    assert str(CHECKOUT) not in data


def test_paths_only_whole_names_and_home() -> None:
    paths = PublicPaths.for_targets(["/data/demo", "pipeline:/src/app#model=acme/m", "hf:datasets/squad"])
    assert paths.text("/data/demo/snli and /data/demo-old/x") == "demo/snli and /data/demo-old/x"
    assert paths.text("/src/app/.venv/bin/python") == "app/.venv/bin/python"
    assert paths.text(str(Path.home() / "cache" / "x")) == "~/cache/x"
