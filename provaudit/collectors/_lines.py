"""The lines of a text a pattern can match, found by one scan of the whole text.

Card readers look at each line of a Markdown body but read only lines holding a trigger word. A
case-insensitive regex is slow (the engine folds the case of every character it tries), and one call per
line adds a Python call per line: one case-sensitive ``finditer`` over the lower-cased whole text, and a
bisect per hit, gives the same lines (numbered as ``str.splitlines`` numbers them).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import cache
from itertools import accumulate

# \s inside one line: whitespace that is not a line break
INLINE_SPACE = r"[^\S\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]"
# lower-case letters IGNORECASE also matches to characters str.lower() leaves as they are (dotless i, long s);
# the one character str.lower() lengthens, U+0130, sends a text to the IGNORECASE pattern itself
# (tests/test_prefilter.py checks both over all of Unicode)
_OTHER_CASES = {"i": "\u0131", "s": "\u017f"}
_LENGTHENED = "\u0130"


@cache
def lowered(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """An IGNORECASE ``pattern`` (ASCII letters, escapes, simple classes) rewritten to match the same in
    ``text.lower()`` case-sensitively: letters lower-cased, i and s also as their odd cases."""
    out: list[str] = []
    source, index, in_class = pattern.pattern, 0, False
    while index < len(source):
        char = source[index]
        if char == "\\":
            size = {"x": 4, "u": 6, "U": 10}.get(source[index + 1 : index + 2], 2)  # \x1c, \u2028, \s
            out.append(source[index : index + size])
            index += size
            continue
        if char.isascii() and char.isalpha():
            cases = char.lower() + _OTHER_CASES.get(char.lower(), "")
            out.append(cases if in_class or len(cases) == 1 else f"[{cases}]")
        else:
            in_class = (in_class or char == "[") and char != "]"
            out.append(char)
        index += 1
    return re.compile("".join(out), pattern.flags & ~re.IGNORECASE)


def lines_hit(text: str, *patterns: re.Pattern[str]) -> list[int]:
    """Sorted 0-based indices of the ``text.splitlines()`` lines where one of ``patterns`` finds a match
    (an index past the last line is possible for a pattern matching the empty string).

    Each pattern must not match across a line break (use ``INLINE_SPACE`` for ``\\s``): then a line holding
    a match has one reported by ``finditer``, as the matches before it end on earlier lines.
    """
    lower = text.lower() if _LENGTHENED not in text else None
    ends = list(accumulate(map(len, text.splitlines(keepends=True))))  # where each line ends, its break included
    found: set[int] = set()
    for pattern in patterns:
        if lower is not None and pattern.flags & re.IGNORECASE:
            hits = lowered(pattern).finditer(lower)
        else:
            hits = pattern.finditer(text)
        found.update(bisect_right(ends, m.start()) for m in hits)
    return sorted(found)
