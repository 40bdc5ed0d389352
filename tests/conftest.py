"""Shared fixtures: real recorded cards under tests/fixtures, a fresh store per test, hermetic env."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
CARDS = FIXTURES / "cards"
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
