"""Shared fixtures: real recorded cards under tests/fixtures, a fresh store per test, hermetic env."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
CARDS = FIXTURES / "cards"
SITE_CARDS = FIXTURES / "site"  # real Hub cards, one collection per folder (datasets, models)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpus"


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the user's store, token or Hugging Face cache, or reaches the network."""
    monkeypatch.delenv("PROVAUDIT_STORE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store"


def card_readmes() -> list[Path]:
    """Every card (README.md) under tests/fixtures, and under ../shared/corpus/hf when it is beside the checkout."""
    roots = [FIXTURES, SHARED / "hf"] if SHARED.is_dir() else [FIXTURES]
    return sorted(p for root in roots for p in root.rglob("*") if p.name.lower() == "readme.md" and p.is_file())


@pytest.fixture
def site_cards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the site fixture cards (``datasets``, ``models``) to change; the build time fixed so that the
    overview pages of two builds compare."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    cards = tmp_path / "cards"
    for part in ("datasets", "models"):
        shutil.copytree(SITE_CARDS / part, cards / part)
    return cards


def site_files(site: Path) -> dict[str, bytes]:
    """Every file of a built site by its relative path (two builds compare byte for byte)."""
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def site_inodes(site: Path) -> dict[str, int]:
    """Each page's inode: a page carried over from the previous build is a hard link, the same inode."""
    return {str(p.relative_to(site)): p.stat().st_ino for p in site.rglob("*.html")}


@pytest.fixture(scope="session")
def shared_corpus() -> Iterator[Path]:
    """The full real corpus beside the checkout (../shared/corpus); skipped where it is absent."""
    if not SHARED.is_dir() and not os.environ.get("CI"):
        pytest.skip("../shared/corpus is not beside this checkout")
    assert SHARED.is_dir(), "CI runs with ../shared beside the clone"
    yield SHARED


# Reports a test wants printed at the end of the run (e.g. detection accuracy by failure pattern).
SUMMARY: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SUMMARY:
        terminalreporter.section("provaudit measurements")
        for line in SUMMARY:
            terminalreporter.write_line(line)
