"""Identify licenses in LICENSE/COPYING/NOTICE files, README license sections and source headers.

What ScanCode toolkit finds, in SPDX terms and at a fraction of its cost:

1. ``SPDX-License-Identifier:`` lines, parsed with ``license_expression``.
2. ScanCode LicenseDB rules and license texts (``data/licenses/rule_index.*``, built by
   ``bench/build_license_index.py``), matched exactly and approximately by :mod:`provaudit.licenses._rules`:
   every license and exception, ``-only``/``-or-later`` as the text states it, one expression per match
   with its line span; ScanCode's generic findings (``LicenseRef-scancode-unknown-license-reference``,
   ``...-warranty-disclaimer``) kept as matches but left out of the expression.
3. A text that names many licenses by bare name or id (an SPDX list dump) is one note, not a license;
   PDF, RTF and DOCX documents are read as text (pypdf, striprtf) or given a note saying they could not be.

The index is loaded lazily, once per process.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
from license_expression import ExpressionError, Licensing, get_spdx_licensing

from provaudit.errors import InputError
from provaudit.licenses._rules import (
    BLOCKED,
    CLUE,
    REFERENCE,
    TAG,
    TEXT,
    RuleIndex,
    RuleMatch,
    get_rule_index,
    tokenize,
)

__all__ = ["Detection", "LicenseMatch", "detect_file", "detect_text"]

# Read at most this much of a file: license files are small, and a huge file's head is enough.
MAX_BYTES = 4 * 1024 * 1024
# Pages of a PDF read: license documents are short.
MAX_DOCUMENT_PAGES = 50
# Characters of matched text kept in a LicenseMatch.
MAX_MATCHED_CHARS = 600


@dataclass(frozen=True)
class LicenseMatch:
    """One piece of evidence for a license in the input."""

    expression: str  # SPDX id or LicenseRef-scancode-... for this match
    confidence: float  # 0..1
    start_line: int  # 1-based, in the input text
    end_line: int
    matched_text: str  # the matched lines (trimmed to a reasonable length)
    rule: str  # "full-text", "partial-text", "notice", "mention", "spdx-identifier", "clue"

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {
            "expression": self.expression,
            "confidence": self.confidence,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "matched_text": self.matched_text,
            "rule": self.rule,
        }


@dataclass(frozen=True)
class Detection:
    """All licenses found in one text."""

    file: str | None
    expression: str | None  # combined SPDX expression (AND of distinct matches), None when nothing found
    confidence: float
    matches: tuple[LicenseMatch, ...]
    # why the text gave no expression although it names licenses (a list of license ids, ...)
    note: str | None = None
    # files the text points at for its license ("see COPYING"), as ScanCode's rules name them
    references: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """``{"file", "expression", "confidence", "matches": [...], "note"}``."""
        return {
            "file": self.file,
            "expression": self.expression,
            "confidence": self.confidence,
            "matches": [m.to_json() for m in self.matches],
            "note": self.note,
            "references": list(self.references),
        }


# --- public API -----------------------------------------------------------------------------------------


def detect_text(text: str, *, file: str | None = None, binary: bool = False) -> Detection:
    """Detect the licenses in *text* (only its first MAX_BYTES characters are read).

    *binary*: the text is the printable strings of a binary file, where a bare word ("GPL") is noise and
    only license texts and notices count.
    """
    text = text[:MAX_BYTES].replace("\r\n", "\n").replace("\r", "\n").replace("\x00", " ")
    lines = text.split("\n")
    idx = get_rule_index()
    tokens, ids, line_arr = idx.read(text)
    found: list[_Found] = []
    # An SPDX-License-Identifier line says its expression exactly: its words are not matched again.
    # (a text with no such line anywhere, most texts, is searched once rather than line by line)
    for tag in _spdx_identifier_lines(lines, idx.stopwords) if _SPDX_LINE.search(text) else ():
        found.append(tag)
        ids[line_arr == tag.start] = BLOCKED
    rule_matches = idx.match(ids, tokens)
    if binary:
        rule_matches = [m for m in rule_matches if m.end - m.start >= BINARY_MIN_TOKENS]
    listing = _license_list(idx, rule_matches)
    if listing:
        return Detection(file=file, expression=None, confidence=0.0, matches=(), note=listing)
    for m in rule_matches:
        found.append(_found(idx, m, line_arr, tokens))
    found = _lgpl3_with_gpl3(_choices(found, tokens))
    found.sort(key=lambda f: (f.start, f.pos))
    matches = tuple(
        LicenseMatch(
            expression=f.expr,
            confidence=round(f.confidence, 3),
            start_line=f.start + 1,
            end_line=f.end + 1,
            matched_text=_excerpt(lines, f.start, f.end),
            rule=f.rule,
        )
        for f in found
    )
    generic = idx.meta["generic"]
    granting = [m for m in matches if m.rule != "clue" and not _only(m.expression, generic["unstated"])]
    named = [m for m in granting if not _only(m.expression, [*generic["unstated"], *generic["weak"]])]
    # a named license wins over a catch-all (proprietary, other-permissive) found beside it
    granting = named or granting
    # One entry per license family: a text cannot tell GPL-3.0-only from -or-later, so a notice,
    # mention or SPDX line that does (e.g. "or any later version") decides.
    by_family: dict[frozenset[str], str] = {}
    for g in granting:
        fam = frozenset(_family(x) for x in re.split(r"\s+(?:AND|OR|WITH)\s+|[()]", g.expression) if x)
        if fam not in by_family or g.rule not in ("full-text", "partial-text"):
            by_family[fam] = g.expression
    exprs = list(dict.fromkeys(by_family.values()))
    confidence = round(min((m.confidence for m in granting), default=0.0), 3)
    named = idx.meta.get("references", {})
    references = tuple(sorted({f for m in rule_matches for f in named.get(str(m.rule), ())}))
    if not exprs:
        return Detection(file=file, expression=None, confidence=0.0, matches=matches, references=references)
    if len(exprs) == 1:
        expression = exprs[0]
    else:
        expression = " AND ".join(f"({e})" if " OR " in e or " AND " in e else e for e in exprs)
    return Detection(file=file, expression=expression, confidence=confidence, matches=matches, references=references)


def detect_file(path: str | os.PathLike[str]) -> Detection:
    """Detect the licenses in a file; binary, huge or oddly encoded content never raises."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_BYTES)
    except OSError as exc:
        raise InputError(str(p), f"cannot read file for license detection: {exc.strerror or exc}") from exc
    try:
        document = _document_text(data)
    except UnreadableDocument as exc:
        note = f"a document whose text could not be extracted ({exc}); read it by hand"
        return Detection(file=str(p), expression=None, confidence=0.0, matches=(), note=note)
    if document is not None:
        if not document.strip():
            note = "a document with no extractable text (scanned images?); read it by hand"
            return Detection(file=str(p), expression=None, confidence=0.0, matches=(), note=note)
        return detect_text(document, file=str(p))
    text, binary = _decode(data)
    return detect_text(text, file=str(p), binary=binary)


# --- internals ------------------------------------------------------------------------------------------


@dataclass
class _Found:
    expr: str
    confidence: float
    start: int  # 0-based line
    end: int
    rule: str
    pos: int = 0  # token position, orders matches within a line
    tok_end: int = 0  # token position after the match


def _found(idx: RuleIndex, m: RuleMatch, line_arr: np.ndarray, tokens: list[str]) -> _Found:
    """A rule match as evidence: a license text (whole or partial), a notice, or a mention."""
    flags = int(idx.flags[m.rule])
    if flags & CLUE:
        kind = "clue"  # an intro or a hint ("see the license agreement"), not a license grant
    elif flags & TEXT:
        kind = "full-text" if m.coverage >= 0.95 else "partial-text"
    elif flags & (REFERENCE | TAG):
        kind = "mention"
    else:
        kind = "notice"
    confidence = m.coverage * int(idx.relevance[m.rule]) / 100
    expr = idx.exprs[int(idx.expr_of[m.rule])]
    end = m.end
    later = _LATER.match(" ".join(tokens[m.end : m.end + 4]))
    if later and re.fullmatch(r"[A-Za-z0-9.-]+-only", expr):
        # "GNU Lesser General Public License v2.1 or later": the words right after the name decide
        expr = expr.removesuffix("-only") + "-or-later"
        end = m.end + len(later.group(0).split())
    return _Found(expr, confidence, int(line_arr[m.start]), int(line_arr[end - 1]), kind, m.start, end)


_LATER = re.compile(r"^(?:or later|or any later(?: version)?|or newer)\b")
# In the strings of a binary file only matches of at least this many words count.
BINARY_MIN_TOKENS = 12
# A text naming this many licenses, each by a few words and none by its text, is a list of licenses.
LIST_MIN_LICENSES = 12
LIST_MAX_TEXT_TOKENS = 40


def _license_list(idx: RuleIndex, matches: list[RuleMatch]) -> str | None:
    """A table of license ids or names (an SPDX list dump, a package's license lookup table) names many
    licenses, each by a few words, and holds no license text or notice: one note, not hundreds of licenses.
    A COPYRIGHT file naming many licenses also quotes their texts, and stays a detection."""
    ids = {idx.exprs[int(idx.expr_of[m.rule])] for m in matches}
    if len(ids) < LIST_MIN_LICENSES or max(m.end - m.start for m in matches) > LIST_MAX_TEXT_TOKENS:
        return None
    return f"names {len(ids)} licenses, each by a bare name or id, with no license text: a list of licenses"


def _only(expression: str, keys: list[str]) -> bool:
    """Whether every id of *expression* is one of *keys*."""
    ids = {x for x in re.split(r"\s+(?:AND|OR|WITH)\s+|[()\s]", expression) if x}
    return bool(ids) and ids <= set(keys)


def _lgpl3_with_gpl3(found: list[_Found]) -> list[_Found]:
    """The LGPL-3.0 is a set of permissions added to the GPL-3.0 and is published followed by the GPL-3.0's
    text (the SPDX text, most LICENSE files): a GPL-3.0 text right after an LGPL-3.0 text is part of it."""
    out: list[_Found] = []
    for f in found:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.rule in ("full-text", "partial-text")
            and f.rule in ("full-text", "partial-text")
            and _family(prev.expr) == "LGPL-3.0"
            and _family(f.expr) == "GPL-3.0"
            and f.start <= prev.end + 3 < f.end + 3
        ):
            prev.end = max(prev.end, f.end)
            continue
        out.append(f)
    return out


_OR_GLUE = frozenset({"or", "either", "at", "your", "option", "the", "dual", "licensed", "under", "and"})


def _choices(found: list[_Found], tokens: list[str]) -> list[_Found]:
    """Two licenses joined by "or" words ("MIT or the Apache License, at your option") are a choice."""
    found.sort(key=lambda f: f.pos)
    out: list[_Found] = []
    for f in found:
        prev = out[-1] if out else None
        if prev is not None and prev.rule != "spdx-identifier" and f.rule != "spdx-identifier" and prev.expr != f.expr:
            glue = tokens[prev.tok_end : f.pos]
            if 0 < len(glue) <= 6 and "or" in glue and set(glue) <= _OR_GLUE and " " not in prev.expr + f.expr:
                out[-1] = _Found(
                    f"{prev.expr} OR {f.expr}",
                    min(prev.confidence, f.confidence),
                    prev.start,
                    f.end,
                    "mention",
                    prev.pos,
                    f.tok_end,
                )
                continue
        out.append(f)
    return out


def _decode(data: bytes) -> tuple[str, bool]:
    """Decode bytes as text without ever failing; binary content becomes harmless.

    Returns the text and whether it came from a binary file (only its printable strings).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), False
    head = data[:8192]
    if b"\x00" in head:
        # UTF-16 without BOM has a NUL in every other byte; anything else with NULs is binary.
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > 0.4 * len(head) / 2 and even < 0.05 * len(head) / 2:
            return data.decode("utf-16-le", errors="replace"), False
        if even > 0.4 * len(head) / 2 and odd < 0.05 * len(head) / 2:
            return data.decode("utf-16-be", errors="replace"), False
    if b"\x00" in head or data.startswith(b"%PDF-"):
        # Binary: keep only runs of printable ASCII, as `strings` does (licenses embedded in blobs).
        return "\n".join(m.decode("ascii") for m in re.findall(rb"[\x20-\x7e\t]{8,}", data)), True
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), False


class UnreadableDocument(Exception):
    """A PDF, RTF or DOCX document whose text could not be extracted."""


def _document_text(data: bytes) -> str | None:
    """The text of a PDF (pypdf), RTF (striprtf) or DOCX (its word/document.xml) document; None when
    *data* is none of these. Raises UnreadableDocument when it is one but its text cannot be read."""
    try:
        if data.startswith(b"%PDF-"):
            from pypdf import PdfReader

            reader = PdfReader(io.BytesIO(data))
            return "\n".join(page.extract_text() or "" for page in reader.pages[:MAX_DOCUMENT_PAGES])
        if data.lstrip().startswith(b"{\\rtf"):
            from striprtf.striprtf import rtf_to_text

            text: str = rtf_to_text(data.decode("latin-1"), errors="ignore")  # type: ignore[no-untyped-call]
            return text
        if data.startswith(b"PK\x03\x04"):
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                if "word/document.xml" not in z.namelist():
                    return None
                xml = z.open("word/document.xml").read(MAX_BYTES)
            body = ElementTree.fromstring(xml)
            para = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}p"
            return "\n".join("".join(t.text or "" for t in p.iter() if t.tag.endswith("}t")) for p in body.iter(para))
    except Exception as exc:  # each extractor has its own errors; any of them means unreadable
        raise UnreadableDocument(f"{type(exc).__name__}: {exc}") from exc
    return None


# The expression after "SPDX-License-Identifier:", split off as ScanCode splits it; the line counts only when
# its first words are exactly "spdx license identifier" (see _spdx_identifier_lines).
_SPDX_LINE = re.compile(r"spd[xz][-\s]+lin?[cs]en?[sc]es?[-\s]+identifi?er\s*:?\s*(.+)", re.I)
UNKNOWN_SPDX = "LicenseRef-scancode-unknown-spdx"
# Deprecated SPDX ids that name a license with an exception, as the SPDX License List replaced them.
_OLD_SPDX_IDS = {
    "ecos-2.0": "GPL-2.0-or-later WITH eCos-exception-2.0",
    "gpl-2.0-with-autoconf-exception": "GPL-2.0-only WITH Autoconf-exception-2.0",
    "gpl-2.0-with-bison-exception": "GPL-2.0-only WITH Bison-exception-2.2",
    "gpl-2.0-with-classpath-exception": "GPL-2.0-only WITH Classpath-exception-2.0",
    "gpl-2.0-with-font-exception": "GPL-2.0-only WITH Font-exception-2.0",
    "gpl-2.0-with-gcc-exception": "GPL-2.0-only WITH GCC-exception-2.0",
    "gpl-3.0-with-autoconf-exception": "GPL-3.0-only WITH Autoconf-exception-3.0",
    "gpl-3.0-with-gcc-exception": "GPL-3.0-only WITH GCC-exception-3.1",
    "wxwindows": "LGPL-2.0-or-later WITH WxWindows-exception-3.1",
}
_OLD_SPDX = re.compile(r"(?<![\w.+-])(" + "|".join(map(re.escape, _OLD_SPDX_IDS)) + r")(?![\w.+-])", re.I)
_SPDX_SYMBOL = re.compile(r"[^\s()]+")


@cache
def _spdx_licensing() -> Licensing:
    """The SPDX-keyed Licensing of license_expression (building it takes ~50 ms: once)."""
    return get_spdx_licensing()


def _spdx_expression(raw: str) -> str | None:
    """The expression of an SPDX-License-Identifier line, read as ScanCode reads it: deprecated ids with
    an exception replaced, an id no license has as ``LicenseRef-scancode-unknown-spdx``, a bare list of
    ids (U-Boot's "GPL-2.0+ BSD-3-Clause") as a choice, and an expression that does not parse as its ids
    joined by AND with an unknown-spdx beside them."""
    raw = raw.strip().strip("!\"#$%&'*,-./:;<=>?@[\\]^_`{|}~").lstrip(")+").rstrip("(").strip()
    if raw.count("(") == 1 and ")" not in raw:
        raw = raw.replace("(", " ")
    elif raw.count(")") == 1 and "(" not in raw:
        raw = raw.replace(")", " ")
    if not raw:
        return None
    raw = _OLD_SPDX.sub(lambda m: f"({_OLD_SPDX_IDS[m.group(1).lower()]})", raw)
    licensing = _spdx_licensing()
    try:
        parsed = licensing.parse(raw)
    except ExpressionError:
        words = [w for w in _SPDX_SYMBOL.findall(raw) if w.upper() not in ("AND", "OR", "WITH")]
        if not words:
            return UNKNOWN_SPDX
        keywords = len(words) < len(_SPDX_SYMBOL.findall(raw))
        joined = " AND ".join(words) if keywords else " OR ".join(words)
        try:
            parsed = licensing.parse(f"({joined}) AND {UNKNOWN_SPDX}" if keywords else joined)
        except ExpressionError:
            return UNKNOWN_SPDX
    if parsed is None:
        return None
    text = str(parsed)
    # User-defined LicenseRef-/DocumentRef- ids are kept as written; any other unknown id is unknown-spdx.
    for key in licensing.unknown_license_keys(parsed):
        if not key.startswith(("LicenseRef-", "DocumentRef-")):
            text = re.sub(rf"(?<![\w.+-]){re.escape(key)}(?![\w.+-])", UNKNOWN_SPDX, text)
    return text


def _spdx_identifier_lines(lines: list[str], stopwords: frozenset[str]) -> list[_Found]:
    """The SPDX-License-Identifier lines: as in ScanCode, the words "spdx license identifier" are among
    the line's first words ("A list of SPDX license identifiers" or "... is a deprecated SPDX license
    identifier" are prose)."""
    out: list[_Found] = []
    for i, line in enumerate(lines):
        m = _SPDX_LINE.search(line)
        if not m:
            continue
        words = tokenize(line[: m.start(1)], stopwords)
        if not any(words[k : k + 3] == ["spdx", "license", "identifier"] for k in range(3)):
            continue
        # the expression ends at a comment's or a string's end; a quote right after the tag only opens it
        # ('"SPDX-License-Identifier:" line references ...' is read on, as ScanCode reads it)
        expr = _spdx_expression(re.split(r"\*/|-->|\s#|\"|'|`", m.group(1).lstrip(" \t\"'`:"))[0])
        if expr:
            out.append(_Found(expr, 1.0, i, i, "spdx-identifier"))
    return out


def _family(expr: str) -> str:
    """Treat X, X-only, X-or-later and X+ as one license when deduplicating evidence."""
    return re.sub(r"(-only|-or-later|\+)(?=$|\s|\))", "", expr)


def _excerpt(lines: list[str], start: int, end: int) -> str:
    text = "\n".join(ln.rstrip() for ln in lines[start : end + 1]).strip()
    if len(text) > MAX_MATCHED_CHARS:
        text = text[: MAX_MATCHED_CHARS - 1].rstrip() + "…"
    return text
