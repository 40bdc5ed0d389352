"""``_lines.lines_hit`` (one scan of the lower-cased whole text) finds the lines a search of each line finds,
and ``basemodel.from_card_text``, built on it, reads the same as with a search per line and with no
pre-filter, on every card."""

from __future__ import annotations

import re
import sys

import pytest
from conftest import card_readmes

from provaudit.collectors import _lines, basemodel, lineage_text

_PATTERNS = [
    lineage_text._PROSE_WORDS,
    basemodel._TRIGGER_WORDS,
    basemodel._FENCE_MARK,
]
# the line breaks of str.splitlines, the characters IGNORECASE folds unlike str.lower, and a phrase across a break
_ODD = (
    "a\r\nLICENSE: mit\rx\x0bunder y\x0cz\x1cres\x1dearch\x1e\x85fine\u2028tuned\u2029Top\nof x\n"
    "l\u0131cense: mit\nRe\u017fearch purposes only\nfiles for \u212a\nBASED on a/b\n```\nunder\n~~~\n[lic](u)ense\n"
)

# links in prose, code and tables
_LINKS = (
    "Weights [rele](x)ased under [the](https://a.b/c) [MIT](u) License.\n[lic](u)ense: apache-2.0\n"
    "```\nLicense: mit\n```\n| [non](x)-commercial | a |\n"
)


def _bodies() -> list[str]:
    cards = card_readmes()
    assert len(cards) > 20
    texts = [c.read_text(encoding="utf-8", errors="replace") for c in cards]
    return [*texts, _ODD, "\u0130" + _ODD, _LINKS, _LINKS.replace("\n", "\r\n"), _LINKS.replace("\n", "\u2028"), ""]


def per_line(text: str, *patterns: re.Pattern[str]) -> list[int]:
    """The oracle: each line searched by each pattern."""
    return [i for i, line in enumerate(text.splitlines()) if any(p.search(line) for p in patterns)]


def test_lines_hit_finds_the_lines_a_search_per_line_finds() -> None:
    bodies = _bodies()
    for pattern in _PATTERNS:
        for body in bodies:
            assert _lines.lines_hit(body, pattern) == per_line(body, pattern), (pattern.pattern, body[:80])
    for body in bodies:
        assert _lines.lines_hit(body, *_PATTERNS) == per_line(body, *_PATTERNS)
    assert _lines.lines_hit(_ODD, lineage_text._PROSE_WORDS) == [1, 3, 12, 13, 17]
    assert _lines.lines_hit(_ODD, basemodel._TRIGGER_WORDS) == [9, 14, 15]  # not "Top" / "of" across a break


def test_lowered_patterns_match_what_ignorecase_matches_in_all_of_unicode() -> None:
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    assert [c for c in every if len(c.lower()) != 1] == [_lines._LENGTHENED]
    kept = every.replace(_lines._LENGTHENED, "")
    lower = kept.lower()
    for letter in "abcdefghijklmnopqrstuvwxyz":
        pattern = re.compile(letter, re.I)
        folded = [m.start() for m in pattern.finditer(kept)]
        assert [m.start() for m in _lines.lowered(pattern).finditer(lower)] == folded, letter


def test_from_card_text_reads_the_same_as_with_a_search_per_line_and_with_no_filter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def read(body: str) -> list[object]:
        return list(basemodel.from_card_text(body, collector="local", repo="acme/model-13b").links)

    bodies = _bodies()
    whole = [read(body) for body in bodies]
    monkeypatch.setattr(basemodel, "lines_hit", per_line)
    assert whole == [read(body) for body in bodies]
    monkeypatch.setattr(basemodel, "_TRIGGER_WORDS", re.compile(""))  # every line goes through the patterns
    assert whole == [read(body) for body in bodies]
    assert sum(1 for found in whole if found) >= 3
