"""One gate for every URL the site puts into an ``href`` or ``src``: an allow-list of schemes.

Cards and DPI summaries are written by strangers, so a ``license_link``, a homepage or a
"License URL" may be ``javascript:alert(1)``. Only ``https``, ``http``, ``mailto`` and relative
URLs pass; anything else is shown as text, not as a link. The checks follow how browsers parse a
URL (WHATWG URL standard), not how Python's ``urlsplit`` does: browsers drop tabs and newlines
anywhere, strip controls and spaces at the ends, treat ``\\`` as ``/`` and read ``//host`` as a
link to another host (from ``file://``, to a file share), so all of those are refused outright
rather than normalised.
"""

from __future__ import annotations

import html
import re
import unicodedata

ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
# A scheme as the URL standard reads it: an ASCII letter, then letters, digits, "+", "-", "." up to ":".
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
# Longer than any real link; keeps pathological values out of attributes.
MAX_LENGTH = 4096


def _suspicious(text: str) -> bool:
    """Characters a browser would drop or reinterpret, so the URL it follows differs from the text."""
    if "\\" in text:
        return True
    return any(ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in text)


def _allowed(text: str) -> bool:
    if not text or len(text) > MAX_LENGTH or _suspicious(text):
        return False
    match = _SCHEME.match(text)
    if match:
        return match.group(1).lower() in ALLOWED_SCHEMES
    # no scheme: a relative URL, unless it is scheme-relative ("//host") and leaves the site
    return not text.startswith("//")


def safe_url(value: object) -> str | None:
    """``value`` (surrounding spaces removed) when it is a URL safe to link to, else ``None``.

    Refused: any scheme but http, https and mailto; scheme-relative ``//host``; values with
    whitespace, control or invisible characters or backslashes inside; values that turn into a
    refused URL once HTML entities are decoded (``&#106;avascript:``).
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not _allowed(text):
        return None
    # a value that was entity-encoded somewhere upstream and is decoded again on the way to a page
    decoded = html.unescape(text)
    if decoded != text and not _allowed(decoded):
        return None
    return text
