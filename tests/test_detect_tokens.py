"""Reading a text with line numbers in one pass (RuleIndex.read) gives what tokenizing it line by line gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from provaudit.licenses._rules import _WORD, get_rule_index

FIXTURES = Path(__file__).parent / "fixtures"


def _line_by_line(text: str, stopwords: frozenset[str]) -> tuple[list[str], list[int]]:
    """The definition: each line lowercased and split into words on its own."""
    tokens: list[str] = []
    lines: list[int] = []
    for n, line in enumerate(text.split("\n")):
        for w in _WORD.findall(line.lower()):
            if w not in stopwords:
                tokens.append(w)
                lines.append(n)
    return tokens, lines


@pytest.mark.parametrize(
    "path", sorted((FIXTURES / "licenses").iterdir()) + sorted((FIXTURES / "scancode_datadriven").rglob("*.txt"))
)
def test_read_gives_the_tokens_their_ids_and_lines(path: Path) -> None:
    index = get_rule_index()
    text = path.read_text(encoding="utf-8", errors="replace") + "\nprovaudit-no-such-word and the end"
    tokens, lines = _line_by_line(text, index.stopwords)
    got_tokens, ids, got_lines = index.read(text)
    assert got_tokens == tokens
    assert got_lines.tolist() == lines
    assert ids.tolist() == [index.vocab.get(w, -1) for w in tokens]
    assert ids.dtype == np.int32 and -1 in ids.tolist()


def test_case_folding_that_changes_length_or_depends_on_context() -> None:
    # "İ" lowercases to two characters; a final sigma lowercases by its context; blank lines and words
    # glued to line breaks keep their lines
    text = "ΟΔΟΣ\nİstanbul GPL-2.0+\n\n\nMIT_License\r\nends here\n"
    index = get_rule_index()
    tokens, _, lines = index.read(text)
    assert (tokens, lines.tolist()) == _line_by_line(text, index.stopwords)
    assert lines[-1] == 5
