"""Identify licenses in LICENSE/COPYING/NOTICE files and README license sections.

Three kinds of evidence, strongest first:

1. ``SPDX-License-Identifier:`` lines, parsed with ``license_expression``.
2. Whole or partial license texts and standard notices, found by 5-token shingle overlap with a
   generated index of the SPDX License List and ScanCode LicenseDB texts and notice rules
   (``data/licenses/text_index.*``, built by ``bench/build_license_index.py``). Matching works on
   word tokens, so reflowed, re-indented, markdown-formatted or truncated texts still match, and
   several texts in one file are found one after the other.
3. Short mentions ("released under the MIT License", "CC BY-NC 4.0") outside matched texts, from
   license names, ids, URLs and ScanCode reference rules.

The index is loaded lazily, once per process.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from license_expression import ExpressionError, Licensing, get_spdx_licensing

from provaudit.errors import InputError
from provaudit.licenses._textindex import (
    ALIAS_STRONG,
    ALIAS_WORD,
    SHINGLE,
    TextIndex,
    get_index,
    shingle_hashes,
    tokenize_lines,
)

__all__ = ["Detection", "LicenseMatch", "detect_file", "detect_text"]

# Read at most this much of a file: license files are small, and a huge file's head is enough.
MAX_BYTES = 4 * 1024 * 1024
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
    rule: str  # "full-text", "partial-text", "notice", "mention", "spdx-identifier"

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

    def to_json(self) -> dict[str, Any]:
        """``{"file", "expression", "confidence", "matches": [...]}``."""
        return {
            "file": self.file,
            "expression": self.expression,
            "confidence": self.confidence,
            "matches": [m.to_json() for m in self.matches],
        }


# --- public API -----------------------------------------------------------------------------------------


def detect_text(text: str, *, file: str | None = None) -> Detection:
    """Detect the licenses in *text* (only its first MAX_BYTES characters are read)."""
    text = text[:MAX_BYTES].replace("\r\n", "\n").replace("\r", "\n").replace("\x00", " ")
    lines = text.split("\n")
    idx = get_index()
    found: list[_Found] = []

    tokens, line_of = tokenize_lines(text)
    line_arr = np.asarray(line_of, dtype=np.int64)
    ids = idx.ids_of(tokens)
    alive = np.ones(len(tokens), dtype=bool)

    texts = _match_texts(idx, ids, alive)
    for t in texts:
        alive[t.tok_start : t.tok_end + 1] = False
        found.append(
            _Found(
                t.expr,
                t.confidence,
                int(line_arr[t.tok_start]),
                int(line_arr[t.tok_end]),
                t.rule,
                t.tok_start,
            )
        )

    text_regions = [(f.start, f.end) for f in found if f.rule in ("full-text", "partial-text")]
    # SPDX-License-Identifier lines inside a matched text are part of it (CAL-1.0 shows examples).
    for tag in _spdx_identifier_lines(lines):
        if not any(a <= tag.start <= b for a, b in text_regions):
            found.append(tag)
            alive[line_arr == tag.start] = False
    text_exprs = {_family(f.expr) for f in found if f.rule != "mention"}
    for men in _match_mentions(idx, tokens, ids, alive, line_arr):
        if _family(men.expr) in text_exprs and text_regions:
            continue  # a name or title of a text that was matched in full
        if any(a - 3 <= men.start <= b + 1 for a, b in text_regions):
            continue  # heading just above (or trailer of) a matched text
        found.append(men)

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
    # One entry per license family: a text cannot tell GPL-3.0-only from -or-later, so a notice,
    # mention or SPDX line that does (e.g. "or any later version") decides.
    by_family: dict[frozenset[str], str] = {}
    for m in matches:
        fam = frozenset(_family(x) for x in re.split(r"\s+(?:AND|OR)\s+|[()]", m.expression) if x)
        if fam not in by_family or m.rule not in ("full-text", "partial-text"):
            by_family[fam] = m.expression
    exprs = list(dict.fromkeys(by_family.values()))
    if not exprs:
        return Detection(file=file, expression=None, confidence=0.0, matches=())
    if len(exprs) == 1:
        expression = exprs[0]
    else:
        expression = " AND ".join(f"({e})" if " OR " in e or " AND " in e else e for e in exprs)
    confidence = round(min(m.confidence for m in matches), 3)
    return Detection(file=file, expression=expression, confidence=confidence, matches=matches)


def detect_file(path: str | os.PathLike[str]) -> Detection:
    """Detect the licenses in a file; binary, huge or oddly encoded content never raises."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_BYTES)
    except OSError as exc:
        raise InputError(str(p), f"cannot read file for license detection: {exc.strerror or exc}") from exc
    return detect_text(_decode(data), file=str(p))


# --- internals ------------------------------------------------------------------------------------------


@dataclass
class _Found:
    expr: str
    confidence: float
    start: int  # 0-based line
    end: int
    rule: str
    pos: int = 0  # token position, orders matches within a line


@dataclass
class _TextHit:
    expr: str
    confidence: float
    tok_start: int
    tok_end: int  # inclusive
    rule: str
    entry: int = -1
    rows: np.ndarray | None = field(default=None, repr=False)  # hash-table rows of the region hits


def _decode(data: bytes) -> str:
    """Decode bytes as text without ever failing; binary content becomes harmless."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    head = data[:8192]
    if b"\x00" in head:
        # UTF-16 without BOM has a NUL in every other byte; anything else with NULs is binary.
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > 0.4 * len(head) / 2 and even < 0.05 * len(head) / 2:
            return data.decode("utf-16-le", errors="replace")
        if even > 0.4 * len(head) / 2 and odd < 0.05 * len(head) / 2:
            return data.decode("utf-16-be", errors="replace")
        # Binary: keep only runs of printable ASCII, as `strings` does (licenses embedded in blobs).
        return "\n".join(m.decode("ascii") for m in re.findall(rb"[\x20-\x7e\t]{8,}", data))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


_SPDX_LINE = re.compile(r"SPDX-License-Identifier\s*:\s*(.+)", re.I)


@cache
def _spdx_licensing() -> Licensing:
    """The SPDX-keyed Licensing of license_expression (building it takes ~50 ms: once)."""
    return get_spdx_licensing()


def _spdx_identifier_lines(lines: list[str]) -> list[_Found]:
    out: list[_Found] = []
    for i, line in enumerate(lines):
        m = _SPDX_LINE.search(line)
        if not m:
            continue
        raw = re.split(r"\*/|-->|\s#|\"|'|`", m.group(1))[0].strip().rstrip(".;,")
        if not raw:
            continue
        licensing = _spdx_licensing()
        try:
            parsed = licensing.parse(raw)
        except ExpressionError:
            continue
        if parsed is None:
            continue
        # Unknown ids make the line unusable, except user-defined LicenseRef-/DocumentRef- ones.
        unknown = licensing.unknown_license_keys(parsed)
        if any(not k.startswith(("LicenseRef-", "DocumentRef-")) for k in unknown):
            continue
        out.append(_Found(str(parsed), 1.0, i, i, "spdx-identifier"))
    return out


def _family(expr: str) -> str:
    """Treat X, X-only, X-or-later and X+ as one license when deduplicating evidence."""
    return re.sub(r"(-only|-or-later|\+)(?=$|\s|\))", "", expr)


# Minimum share of an entry's shingles that must be present, by kind.
_MIN_COVERAGE = {"text": 0.3, "notice": 0.8}
# Minimum number of (estimated) matched shingles, by kind.
_MIN_HITS = {"text": 12, "notice": 6}
# A whole text of one short sentence (TermReadKey, Kastrup) is accepted with fewer hits.
_MIN_HITS_WHOLE = 8
# A gap of this many tokens without hits splits a region (a second license text, prose between).
_GAP = 48
_MAX_LICENSES = 64  # bounds the work on third-party NOTICE files listing many licenses
# Window (tokens) used to trim sparse hits at the edges of a region.
_EDGE = 24


def _match_texts(idx: TextIndex, ids: np.ndarray, alive: np.ndarray) -> list[_TextHit]:
    """Greedily find the best-explained license texts/notices, each on its own token region."""
    hs, ok = shingle_hashes(ids)
    if not len(hs):
        return []
    pos = np.nonzero(ok)[0]
    h = hs[pos]
    # Sorted queries make the binary searches cache-friendly.
    order = np.argsort(h)
    j = np.empty_like(order)
    j[order] = np.searchsorted(idx.hashes, h[order])
    j[j >= len(idx.hashes)] = 0
    hit = idx.hashes[j] == h
    pos, j = pos[hit], j[hit]
    out: list[_TextHit] = []
    while len(out) < _MAX_LICENSES:
        keep = alive[pos] & alive[np.minimum(pos + SHINGLE - 1, len(alive) - 1)]
        pos, j = pos[keep], j[keep]
        if not len(pos):
            break
        best = _best_candidate(idx, pos, j)
        if best is None:
            break
        alive[best.tok_start : best.tok_end + 1] = False
        host = _absorbing_neighbour(idx, best, out)
        if host is None:
            out.append(best)
        else:  # leftover piece of a text already matched (a repeated appendix, an edge cut too early)
            host.tok_start = min(host.tok_start, best.tok_start)
            host.tok_end = max(host.tok_end, best.tok_end)
    return out


# Regions closer than this (tokens) are neighbours.
_ADJACENT = 12


def _absorbing_neighbour(idx: TextIndex, hit: _TextHit, done: list[_TextHit]) -> _TextHit | None:
    """The matched text next to *hit* whose reference already contains most of *hit*'s shingles."""
    if hit.rows is None or not len(hit.rows):
        return None
    rows = np.unique(hit.rows)
    for prev in done:
        if prev.rule == "notice":
            continue
        if hit.tok_start > prev.tok_end + _ADJACENT or hit.tok_end < prev.tok_start - _ADJACENT:
            continue
        row, ent = _expand(idx, rows)
        share = len(np.unique(row[ent == prev.entry])) * int(idx.entry_rate[prev.entry]) / len(rows)
        # A complete text of its own (Llama 2 after Llama 3.1) shares much with its neighbour but
        # is a second license; leftovers and partial echoes of the neighbour are not.
        if share >= 0.9 or (share >= 0.75 and hit.rule != "full-text"):
            return prev
    return None


def _expand(idx: TextIndex, uj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Postings of the hash-table rows *uj*: (row number in uj, entry) pairs."""
    starts = idx.offsets[uj]
    lens = idx.offsets[uj + 1] - starts
    total = int(lens.sum())
    row = np.repeat(np.arange(len(uj)), lens)
    first = np.cumsum(lens) - lens
    flat = np.arange(total) - np.repeat(first, lens) + np.repeat(starts, lens)
    return row, idx.entries[flat].astype(np.int64)


@dataclass
class _Cand:
    entry: int
    rate: int
    hits: int  # estimated matched shingles in the region
    n4: int  # distinct hits whose hash is 0 mod 4: comparable between exact and sampled entries
    coverage: float
    p: np.ndarray  # hit positions in the region
    pj: np.ndarray  # hash row of each hit
    hit: _TextHit
    key: tuple[float, ...]


def _best_candidate(idx: TextIndex, pos: np.ndarray, j: np.ndarray) -> _TextHit | None:
    """Score the entries sharing most shingles with the input and return the best explanation."""
    is_text = idx.is_text
    uj, inv = np.unique(j, return_inverse=True)
    row, ent = _expand(idx, uj)
    counts = np.bincount(ent, minlength=len(idx.entry_size))
    cov = counts / np.maximum(idx.entry_size, 1)
    est = counts * idx.entry_rate
    min_cov = np.where(is_text, _MIN_COVERAGE["text"], _MIN_COVERAGE["notice"]) * 0.9
    min_hits = np.where(is_text, _MIN_HITS_WHOLE, _MIN_HITS["notice"])
    eligible = np.nonzero((cov >= min_cov) & (est >= min_hits))[0]
    if not len(eligible):
        return None
    # Shortlist: most hits overall, most hits among exact (unsampled) entries, best coverage.
    by_est = eligible[np.argsort(-est[eligible], kind="stable")[:12]]
    exact = eligible[idx.entry_rate[eligible] == 1]
    by_exact = exact[np.argsort(-est[exact], kind="stable")[:8]]
    by_cov = eligible[np.argsort(-cov[eligible], kind="stable")[:6]]
    top = np.unique(np.concatenate((by_est, by_exact, by_cov)))
    sub4 = (idx.hashes[uj] & np.uint32(3)) == 0
    cands: list[_Cand] = []
    top = top[np.argsort(-est[top], kind="stable")]
    # Only the postings of shortlisted entries are looked at again.
    flag = np.zeros(len(idx.entry_size), dtype=bool)
    flag[top] = True
    sel = flag[ent]
    row, ent = row[sel], ent[sel]
    best_hits = 0
    for e in top:
        # Region hits never exceed the entry's total: far weaker entries cannot win any more.
        if est[e] < 0.5 * best_hits:
            break
        in_e = np.zeros(len(uj), dtype=bool)
        in_e[row[ent == e]] = True
        p_mask = in_e[inv]
        rate = int(idx.entry_rate[e])
        region = _region(pos[p_mask], inv[p_mask], rate, len(uj))
        if region is None:
            continue
        rp, rj = region
        seen = np.zeros(len(uj), dtype=bool)
        seen[rj] = True
        n = int(seen.sum())
        kind = "text" if is_text[e] else "notice"
        c = n / max(int(idx.entry_size[e]), 1)
        hits = n * rate
        if c < _MIN_COVERAGE[kind] or hits < (_MIN_HITS_WHOLE if c >= 0.9 else _MIN_HITS[kind]):
            continue
        p0, p1 = int(rp[0]), int(rp[-1])
        density = min(1.0, hits / (p1 - p0 + 1))
        if density < 0.35:
            continue
        expr = idx.entry_expr[e]
        if kind == "text":
            rule = "full-text" if c >= 0.8 else "partial-text"
            conf = min(1.0, 0.55 + 0.45 * min(c, 1.0)) * (0.7 + 0.3 * density)
        else:
            rule = "notice"
            conf = min(1.0, c) * (0.7 + 0.3 * density) * 0.95
        simple = -(expr.count(" AND ") + expr.count(" OR "))
        n4 = int((seen & sub4).sum())
        best_hits = max(best_hits, hits)
        cands.append(
            _Cand(
                int(e),
                rate,
                hits,
                n4,
                c,
                rp,
                rj,
                _TextHit(expr, conf, p0, p1 + SHINGLE - 1, rule, int(e), uj[rj]),
                # Equal hits: the fuller match, then an SPDX-listed id over a LicenseRef near-copy,
                # then a license text over a notice rule that happens to quote it.
                (
                    float(hits),
                    round(c, 1),
                    int(not expr.startswith("LicenseRef-")),
                    int(is_text[e]),
                    c,
                    simple,
                    -int(e),
                ),
            )
        )
    if not cands:
        return None
    exact = [c for c in cands if c.rate == 1]
    sampled = [c for c in cands if c.rate > 1]
    best = max(exact, key=lambda c: c.key) if exact else None
    if sampled:
        # A sampled entry must beat the best exact one on the very same hash subset, where both
        # counts are exact; scaled estimates alone would let sampling noise decide.
        best_s = max(sampled, key=lambda c: (c.n4, c.key))
        if best is None or best_s.n4 > best.n4:
            best = best_s
    assert best is not None
    if best.coverage < 0.5:
        best = _prefer_whole_texts(best, cands)
    return best.hit


def _prefer_whole_texts(best: _Cand, cands: list[_Cand]) -> _Cand:
    """Split a partial match that is better explained piecewise by complete texts.

    Some LicenseDB entries bundle several licenses (node.js: MIT, Artistic, ...); on a file that
    holds the separate texts such an entry matches most of the file, but each true text matches
    whole. Prefer the complete texts when they explain the bundle's hits, or clearly beat it on
    their own stretch of the input.
    """
    whole = sorted(
        (c for c in cands if c is not best and c.coverage >= 0.8 and c.hit.expr != best.hit.expr),
        key=lambda c: c.key,
        reverse=True,
    )
    taken: list[_Cand] = []
    for c in whole:
        if all(c.hit.tok_end < t.hit.tok_start or c.hit.tok_start > t.hit.tok_end for t in taken):
            taken.append(c)
    if taken and sum(c.hits for c in taken) >= 0.85 * best.hits:
        return taken[0]
    for c in whole:
        inside = (best.p >= c.hit.tok_start) & (best.p <= c.hit.tok_end)
        if c.hits > 1.1 * len(np.unique(best.pj[inside])) * best.rate:
            return c
    return best


def _region(p: np.ndarray, pj: np.ndarray, rate: int, n_rows: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Pick the main cluster of one entry's hit positions and trim its loose edges.

    *p* are sorted input positions, *pj* the hash row (< n_rows) of each; returns both, cut to
    the region.
    """
    if not len(p):
        return None
    cuts = np.nonzero(np.diff(p) > _GAP * rate)[0]
    if len(cuts):
        bounds = np.concatenate(([0], cuts + 1, [len(p)]))
        k = int(np.argmax(np.diff(bounds)))  # the cluster with most hits
        a, b = int(bounds[k]), int(bounds[k + 1])
        cp, cj = p[a:b], pj[a:b]
    else:
        cp, cj = p, pj
    # Hits at the edges whose shingle recurs inside the cluster add nothing: they are usually
    # boilerplate shared with a neighbouring license text ("in an action of contract ...").
    # With repeated indices a fancy assignment keeps the last value written.
    at = np.arange(len(cj))
    last = np.empty(n_rows, dtype=np.int64)
    last[cj] = at
    first = np.empty(n_rows, dtype=np.int64)
    first[cj[::-1]] = at[::-1]
    is_last = last[cj] == at
    is_first = first[cj] == at
    lo = int(np.argmax(is_last))
    hi = len(cj) - 1 - int(np.argmax(is_first[::-1]))
    if lo > hi:
        lo, hi = 0, len(cj) - 1
    # Then drop sparse edges: a window of _EDGE tokens must hold a fair share of hits.
    w = _EDGE
    need = max(2.0, 0.3 * w / rate)
    seg = cp[lo : hi + 1]
    fwd = np.searchsorted(seg, seg + w) - np.arange(len(seg))
    bwd = np.arange(len(seg)) - np.searchsorted(seg, seg - w) + 1
    dense_f = np.nonzero(fwd >= need)[0]
    dense_b = np.nonzero(bwd >= need)[0]
    if len(dense_f) and len(dense_b) and dense_f[0] <= dense_b[-1]:
        lo, hi = lo + int(dense_f[0]), lo + int(dense_b[-1])
    return cp[lo : hi + 1], cj[lo : hi + 1]


# Licensing words that make a bare name ("MIT", "Apache 2.0") count as a license mention.
_CUE_BEFORE = {"license", "licensed", "licenses", "licensing", "under", "spdx", "identifier", "terms"}
_CUE_AFTER = {"license", "licensed", "licenses"}
_LICENSE_WORDS = {"license", "licensed", "licenses", "licensing", "identifier"}
_OR_GLUE = {"or", "either", "at", "your", "option", "the", "dual", "licensed", "under", "and"}


def _match_mentions(
    idx: TextIndex, tokens: list[str], ids: np.ndarray, alive: np.ndarray, line_arr: np.ndarray
) -> list[_Found]:
    """Find license names/references among the tokens that no text match consumed."""
    aliases = idx.aliases
    idl = ids.tolist()
    alive_l = alive.tolist()
    n = len(idl)
    found: list[tuple[int, int, str, bool]] = []  # (start, end exclusive, expr, strong)
    starts = np.flatnonzero(idx.alias_start[ids] & alive).tolist() if n else []
    empty: list[tuple[tuple[int, ...], int, int]] = []
    for i in starts:
        longer = aliases.get((idl[i], idl[i + 1]), empty) if i + 1 < n else empty
        for seq, expr_no, flags in longer + aliases.get(idl[i], empty):
            L = len(seq)
            if i + L <= n and tuple(idl[i : i + L]) == seq and all(alive_l[i : i + L]):
                if _version_follows(tokens, i + L):
                    continue  # "Eclipse Public License" + "2.0": the name without its version is wrong
                strong = bool(flags & ALIAS_STRONG)
                if flags & ALIAS_WORD and not _LICENSE_WORDS.intersection(tokens[max(0, i - 2) : i + 2]):
                    continue
                if strong or _has_cue(tokens, i, i + L):
                    found.append((i, i + L, idx.alias_exprs[expr_no], strong))
                    break
    # Overlapping aliases: the most specific wins ("licensed under CC BY-NC" < "CC BY-NC-ND 4.0",
    # "distributed under the terms of the BSD" < "BSD Zero Clause License").
    taken = np.zeros(n, dtype=bool)
    raw: list[tuple[int, int, str, bool]] = []
    for f in sorted(found, key=lambda f: (-_weight(tokens[f[0] : f[1]]), f[0] - f[1], f[0])):
        if not taken[f[0] : f[1]].any():
            taken[f[0] : f[1]] = True
            raw.append(f)
    raw.sort()
    out: list[_Found] = []
    k = 0
    while k < len(raw):
        s, e, expr, strong = raw[k]
        # "MIT or Apache-2.0", "either GPL-2.0 or (at your option) MIT": a choice, not a conjunction.
        if k + 1 < len(raw):
            s2, e2, expr2, _ = raw[k + 1]
            glue = tokens[e:s2]
            if 0 < len(glue) <= 6 and "or" in glue and set(glue) <= _OR_GLUE and expr2 != expr:
                out.append(_Found(f"{expr} OR {expr2}", 0.8, int(line_arr[s]), int(line_arr[e2 - 1]), "mention", s))
                k += 2
                continue
        conf = 0.85 if strong else 0.7
        if out and out[-1].expr == expr and out[-1].end >= int(line_arr[s]) - 1:
            out[-1].end = int(line_arr[e - 1])  # the same license named again on the next line
        else:
            out.append(_Found(expr, conf, int(line_arr[s]), int(line_arr[e - 1]), "mention", s))
        k += 1
    return out


# Words that say nothing about which license an alias names.
_FILLER_WORDS = frozenset(
    [
        "the",
        "of",
        "under",
        "terms",
        "licensed",
        "license",
        "licenses",
        "licence",
        "distributed",
        "released",
        "and",
        "or",
        "a",
        "an",
        "this",
        "is",
        "by",
        "in",
        "to",
        "as",
        "with",
        "published",
        "available",
        "made",
        "see",
        "file",
        "software",
        "program",
        "code",
        "project",
        "you",
        "can",
        "redistribute",
        "it",
        "modify",
        "may",
        "use",
        "this",
    ]
)


def _weight(words: list[str]) -> int:
    """How many words of an alias occurrence actually name a license."""
    return sum(w not in _FILLER_WORDS for w in words)


_VERSION = re.compile(r"v?\d+(?:\.\d+)*")


def _version_follows(tokens: list[str], end: int) -> bool:
    """Whether a version number comes right after position *end* ("2 0", "v3", "version 2")."""
    if end >= len(tokens):
        return False
    t = tokens[end]
    if _VERSION.fullmatch(t):
        return True
    return t in ("version", "ver") and end + 1 < len(tokens) and bool(_VERSION.fullmatch(tokens[end + 1]))


def _has_cue(tokens: list[str], start: int, end: int) -> bool:
    before = tokens[max(0, start - 4) : start]
    after = tokens[end : end + 2]
    return bool(_CUE_BEFORE.intersection(before) or _CUE_AFTER.intersection(after))


def _excerpt(lines: list[str], start: int, end: int) -> str:
    text = "\n".join(ln.rstrip() for ln in lines[start : end + 1]).strip()
    if len(text) > MAX_MATCHED_CHARS:
        text = text[: MAX_MATCHED_CHARS - 1].rstrip() + "…"
    return text
