"""ScanCode-style license rule matching: the rules of the ScanCode LicenseDB, matched exactly and approximately.

The index (``data/licenses/rule_index.npz`` and ``rule_index_meta.json.gz``, made by
``bench/build_license_index.py``) holds every active ScanCode rule and license text as a sequence of
word ids, with its license expression (SPDX ids, else ``LicenseRef-scancode-<key>``), relevance,
minimum coverage, kind flags and required phrases. Matching follows ScanCode's steps:

1. exact occurrences of whole rules (anchored on their first words, verified token by token);
2. approximate matches of long rules over what exact matches of long rules left, candidates ranked by
   how much of each rule's vocabulary the text contains, aligned with :class:`difflib.SequenceMatcher`,
   kept when they cover enough of the rule, densely, with every required phrase intact;
3. one winner per stretch of text: larger matches first, a match inside a larger one dropped, false
   positive rules claiming their text and reporting nothing.

Tokens are ScanCode's: lowercase runs of letters and digits, a trailing ``+`` kept ("gpl2+"), HTML
character-reference words ignored.
"""

from __future__ import annotations

import bisect
import contextlib
import difflib
import gzip
import heapq
import itertools
import json
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

RULE_INDEX_FILE = "rule_index.npz"
RULE_META_FILE = "rule_index_meta.json.gz"
RULE_INDEX_FORMAT = 3

# A match of at most this many words is a bare name or mention.
BARE_NAME_TOKENS = 3
# Word ids of a text: a word no rule has, and a position no rule may match (an SPDX line already read).
UNKNOWN = -1
BLOCKED = -2
# Codes of a stopword and of a line break as a text is read (RuleIndex.read); never word ids.
_STOPWORD = -3
_LINE_BREAK = -4

# Rule kind flags (bit field in the index).
FALSE_POSITIVE = 1
TEXT = 2
NOTICE = 4
REFERENCE = 8
TAG = 16
CONTINUOUS = 32
ALIAS = 64  # a license's name, short name or SPDX id, added by provaudit's build (not a ScanCode rule)
# ScanCode's license intros and clues ("Please read the following license agreement"): matched and
# reported as ScanCode does, never counted as the license of the text.
CLUE = 128

_WORD = re.compile(r"[^_\W]+\+?[^_\W]*", re.UNICODE)
_WORD_OR_BREAK = re.compile(r"\n|" + _WORD.pattern, re.UNICODE)  # a word or a line break

# Anchor length: rules of at least this many words are found through their first words.
ANCHOR = 4
# Approximate matching: rules shorter than this are only matched exactly.
APPROX_MIN_TOKENS = 12
# Candidates aligned per text, and the share of a rule's distinct words the text must contain.
APPROX_CANDIDATES = 12
APPROX_PER_LICENSE = 4
APPROX_MIN_CONTAINMENT = 0.3
# The words in most approximately matched rules are counted by bit sets (a multiple of 64).
COMMON_WORDS = 256
# An approximate match covers at least this much of its rule and of the text span it claims.
APPROX_MIN_COVERAGE = 0.6
APPROX_MIN_DENSITY = 0.6
APPROX_ROUNDS = 3
# Long license texts are found from this share on (a truncated copy is a partial text).
PARTIAL_TEXT_COVERAGE = 0.4
PARTIAL_TEXT_TOKENS = 200
# Rules of several licenses, and short rules, match approximately only when nearly whole.
COMPOSITE_MIN_COVERAGE = 0.9
SHORT_RULE = 50
SHORT_MIN_COVERAGE = 0.8
# A text that is a license's first part up to its own end (a truncated copy) needs a third of the rule.
TRUNCATED_MIN_COVERAGE = 0.35
TRUNCATED_HEAD = 0.05
# SPDX texts holding most of a text's words aligned besides the ranked candidates (a copy cut short).
TRUNCATED_CANDIDATES = 4
# A license's own text found where a rule's copy of it matched exactly counts from this coverage on.
OWN_TEXT_COVERAGE = 0.95
# A text whose distinct words and a rule's overlap this much (shared / all) is aligned with that rule first.
NEAR_DUPE_RESEMBLANCE = 0.8
# A near-duplicate match keeps a whole text matched exactly when it aligned this much of it.
NEAR_DUPE_OVER_TEXT = 0.9
# An approximate round prefers the match of the higher coverage class (fifths of the rule), then the larger.
COVERAGE_CLASSES = 5
# An exact match of a license text longer than this is final: approximate matching skips its words.
WHOLE_TEXT_TOKENS = 120
# Up to this many words, their postings are read as slices (else through one index of them all).
SLICED_WORDS = 256
# Approximate alignment chains shared runs of this many words.
GRAM = 3
# Gaps between aligned blocks up to this many words are aligned word by word.
MAX_GAP_FILLED = 16
# Rules whose word counts are kept between alignments (a few MB).
RULE_WORDS_KEPT = 8192
# Rules whose word triples are kept between alignments (the long license texts aligned file after file).
RULE_TRIPLES_KEPT = 1024
# A lone shared word triple the rule repeats more often than this is not used to align it.
MAX_GRAM_REPEATS = 1


def tokenize(text: str, stopwords: frozenset[str]) -> list[str]:
    """ScanCode's index tokens of *text*."""
    return [w for w in _WORD.findall(text.lower()) if w not in stopwords]


class _Query(NamedTuple):
    """The open part of a text as every candidate rule is aligned with it."""

    ids: np.ndarray  # word ids, a distinct negative number where the word is unknown or not open
    order: np.ndarray  # the order that sorts the text's word triples (stably)
    sorted_keys: np.ndarray  # the keys of the text's word triples (RuleIndex._triples), sorted
    counts: np.ndarray  # how often each word of the vocabulary is open in the text


@dataclass(frozen=True)
class RuleMatch:
    """One rule found in a text: token span [start, end), how much of the rule it covers."""

    rule: int
    start: int
    end: int
    matched: int  # rule tokens matched
    coverage: float  # matched / rule length
    exact: bool
    # text positions the rule's words were aligned to, as [start, end) runs (exact: the whole span)
    blocks: tuple[tuple[int, int], ...] = ()
    rule_start: int = 0  # the first rule position aligned (a truncated copy starts at 0)

    def runs(self) -> tuple[tuple[int, int], ...]:
        return self.blocks or ((self.start, self.end),)


class RuleIndex:
    """The loaded rule index (read-only; shared by every thread)."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.meta = meta
        self.stopwords = frozenset(meta["stopwords"])
        self.vocab: dict[str, int] = {w: i for i, w in enumerate(meta["vocab"])}
        self.exprs: list[str] = meta["exprs"]
        self.names: list[str] = meta["names"]
        self.tokens = arrays["tokens"].astype(np.int32)
        self.offsets = arrays["offsets"].astype(np.int64)
        self.expr_of = arrays["expr"].astype(np.int32)
        self.flags = arrays["flags"].astype(np.int32)
        self.relevance = arrays["relevance"].astype(np.int32)
        self.min_coverage = arrays["min_coverage"].astype(np.int32)
        self.lengths = np.diff(self.offsets)
        # Bits of a word id: ANCHOR ids packed in one int64 are an exact look-up key, GRAM of them a word
        # triple's (_triples); the largest value of that many bits is no word's id (no_word).
        self.id_bits = len(meta["vocab"]).bit_length()
        self.no_word = (1 << self.id_bits) - 1
        if max(ANCHOR, GRAM) * self.id_bits > 63:
            raise ValueError(f"{len(meta['vocab'])} words: too many for {ANCHOR} word ids in 63 bits")
        self.composite = np.array([bool(re.search(r" (?:AND|OR) ", e)) for e in self.exprs], dtype=bool)[self.expr_of]
        self.listed = np.array([not e.startswith("LicenseRef-") for e in self.exprs], dtype=bool)[self.expr_of]
        self.is_license = np.array([n.endswith(".LICENSE") for n in self.names], dtype=bool)
        # SPDX License List texts of licenses the LicenseDB also has a text of (another version or wording)
        spdx_text = np.array([n.startswith("spdx-") and n.endswith(".LICENSE") for n in self.names], dtype=bool)
        db_texts = np.unique(self.expr_of[~spdx_text & ((self.flags & TEXT) != 0)])
        self.alternate = spdx_text & np.isin(self.expr_of, db_texts)
        # ScanCode's legalese: words common in licenses and rare elsewhere (its "high" tokens)
        self.legalese = np.zeros(len(meta["vocab"]), dtype=bool)
        self.legalese[[self.vocab[w] for w in meta["legalese"] if w in self.vocab]] = True
        self.has_digit = np.fromiter((any(c.isdigit() for c in w) for w in meta["vocab"]), dtype=bool)
        req_rule, req_start, req_end = arrays["req_rule"], arrays["req_start"], arrays["req_end"]
        self.required: dict[int, list[tuple[int, int]]] = {}
        for r, s, e in zip(req_rule.tolist(), req_start.tolist(), req_end.tolist(), strict=True):
            self.required.setdefault(r, []).append((s, e))
        self._codes = {**self.vocab, **dict.fromkeys(self.stopwords, _STOPWORD), "\n": _LINE_BREAK}
        self._build_lookups(arrays)
        self._rule_words = lru_cache(maxsize=RULE_WORDS_KEPT)(self._words_of)
        self._rule_triples = lru_cache(maxsize=RULE_TRIPLES_KEPT)(self._triples_of)

    def rule_tokens(self, rule: int) -> np.ndarray:
        return self.tokens[self.offsets[rule] : self.offsets[rule + 1]]

    def _build_lookups(self, arrays: dict[str, np.ndarray]) -> None:
        # Exact look-up tables, one per key length: the word ids of each short rule (fewer than ANCHOR words)
        # and the first ANCHOR of each long rule, packed exactly in one int64 (_packed), sorted
        self.exact_sorted: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        short_rules = arrays["short_rules"].astype(np.int64)
        for length in range(1, ANCHOR + 1):
            rules = arrays["anchor_rules"].astype(np.int64) if length == ANCHOR else short_rules
            rules = np.sort(
                rules[self.lengths[rules] >= length] if length == ANCHOR else rules[self.lengths[rules] == length]
            )
            keys = np.zeros(len(rules), dtype=np.int64)
            for j in range(length):
                keys = (keys << self.id_bits) | self.tokens[self.offsets[rules] + j]
            order = np.argsort(keys, kind="stable")
            self.exact_sorted[length] = (keys[order], rules[order])
        self.rule_hash = arrays["rule_hash"]
        self.approx_rules = arrays["approx_rules"].astype(np.int64)
        self.approx_alternate = self.alternate[self.approx_rules]
        self.approx_sizes = arrays["approx_sizes"].astype(np.int32)
        post_words = arrays["post_words"].astype(np.int32)
        post_owner = arrays["post_owner"].astype(np.int32)
        # Words in many rules ("the", "license") were most of the postings read to rank candidates; the
        # COMMON_WORDS most frequent are counted instead from a bit set per rule (bit c: the rule has common
        # word c, one row per 64 words), ANDed with the text's and the bits counted: the same counts.
        frequency = np.bincount(post_words, minlength=len(self.vocab))
        top = np.argsort(-frequency, kind="stable")[:COMMON_WORDS]
        self.common_row = np.full(len(self.vocab), -1, dtype=np.int32)
        self.common_row[top] = np.arange(len(top), dtype=np.int32)
        in_common = self.common_row[post_words] >= 0
        dense = np.zeros((len(self.approx_sizes), COMMON_WORDS), dtype=bool)
        dense[post_owner[in_common], self.common_row[post_words[in_common]]] = True
        self.common_bits = np.ascontiguousarray(np.packbits(dense, axis=1, bitorder="little").view(np.uint64).T)
        self.post_words, self.post_owner = post_words[~in_common], post_owner[~in_common]
        # where each word's postings start (they are sorted by word): word w's are post_start[w]:post_start[w + 1]
        self.post_start = np.searchsorted(self.post_words, np.arange(len(self.vocab) + 1))
        # The fewest shared words with which a rule's containment (shared / its distinct words, in floating
        # point) reaches APPROX_MIN_CONTAINMENT: the test is then one integer comparison per rule.
        sizes = np.maximum(self.approx_sizes, 1)
        least = np.maximum(np.floor(APPROX_MIN_CONTAINMENT * sizes).astype(np.int64) - 2, 0)
        for _ in range(8):
            least = np.where(least / sizes >= APPROX_MIN_CONTAINMENT, least, least + 1)
        assert (least / sizes >= APPROX_MIN_CONTAINMENT).all() and ((least - 1) / sizes < APPROX_MIN_CONTAINMENT).all()
        self.contained_from = least

    def ids_of(self, tokens: list[str]) -> np.ndarray:
        return np.fromiter(map(self.vocab.get, tokens, itertools.repeat(-1)), dtype=np.int32, count=len(tokens))

    def read(self, text: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The tokens of *text* (as tokenize), their word ids (as ids_of) and their 0-based lines, in
        one pass over its words and line breaks with no Python loop (a code per word: its id, else
        UNKNOWN, a stopword's or a line break's code)."""
        words = _WORD_OR_BREAK.findall(text.lower())
        codes = np.fromiter(map(self._codes.get, words, itertools.repeat(UNKNOWN)), dtype=np.int32, count=len(words))
        kept = codes >= UNKNOWN
        lines = (codes == _LINE_BREAK).cumsum()[kept]
        return list(itertools.compress(words, kept.tolist())), codes[kept], lines

    # --- matching ---------------------------------------------------------------------------------------

    def exact_matches(self, ids: np.ndarray) -> list[RuleMatch]:
        """Every exact occurrence of a whole rule: short rules by their words, long ones by their first words,
        each candidate checked at once by a hash of the whole rule (then word by word)."""
        n = len(ids)
        if not n:
            return []
        known = np.where(ids >= 0, ids, -1 - np.arange(n, dtype=np.int32))
        pos_parts: list[np.ndarray] = []
        rule_parts: list[np.ndarray] = []
        # the keys of every run of 1, 2, ... ANCHOR words, each from the last (a negative id packs as NO_WORD)
        words = np.where(ids >= 0, ids, self.no_word).astype(np.int64)
        keys = words
        for length, (keys_sorted, rules_sorted) in self.exact_sorted.items():
            if length > 1:
                keys = (keys[:-1] << self.id_bits) | words[length - 1 :]
            if not len(keys):
                break
            lo, found, at = _found_in(keys_sorted, keys)
            pos_parts.append(at.repeat(found))
            rule_parts.append(rules_sorted[_ranges(lo, lo + found)])
        pos = np.concatenate(pos_parts)
        rules = np.concatenate(rule_parts)
        ends = pos + self.lengths[rules]
        fits = ends <= n
        pos, rules, ends = pos[fits], rules[fits], ends[fits]
        if not len(pos):
            return []
        prefix, powers = _prefix_hashes(known, int(self.lengths[rules].max()))
        same = _span_hashes(prefix, powers, pos, ends) == self.rule_hash[rules]
        pos, rules, ends = pos[same], rules[same], ends[same]
        if not len(pos):
            return []
        # a hash collision is not a match: every candidate's words compared with its rule's, all at once
        spans = ends - pos
        differ = ids[_ranges(pos, ends)] != self.tokens[_ranges(self.offsets[rules], self.offsets[rules] + spans)]
        equal = np.add.reduceat(differ, spans.cumsum() - spans) == 0
        return [
            RuleMatch(r, p_, e, e - p_, 1.0, True)
            for p_, r, e in zip(pos[equal].tolist(), rules[equal].tolist(), ends[equal].tolist(), strict=True)
        ]

    def approx_matches(
        self,
        ids: np.ndarray,
        open_: np.ndarray,
        own_text: float | None = None,
        near_dupe: bool = False,
        memo: dict[bytes, tuple[np.ndarray, _Query] | None] | None = None,
    ) -> list[RuleMatch]:
        """Approximate matches of long rules over the positions still *open_*; with *own_text*, only the
        matches of a license's own text that cover at least that share of it (the others are not aligned);
        with *near_dupe*, only of the rules whose words are nearly those of the text (ScanCode's
        near-duplicate candidates) or hold them all (a truncated copy, kept when aligned over the text).
        *memo* keeps, per set of open positions of this text, the words each rule shares with them and the
        text as alignment reads it, for the next call on the same positions."""
        key = open_.tobytes()
        if memo is not None and key in memo:
            opened = memo[key]
        else:
            opened = self._opened(ids, open_)
            if memo is not None:
                memo[key] = opened
        if opened is None:
            return []
        shared, text = opened
        eligible = shared >= self.contained_from
        resemblant = part = np.zeros(0, dtype=bool)
        if near_dupe:
            # a near-duplicate holds most of its rule's words: only rules contained enough are read
            resemblant, part = self._near_dupes(text, shared, eligible.nonzero()[0])
            eligible = resemblant | part
        # Large rules the text contains well first: shared words weighted by containment (read only where
        # it is high enough: elsewhere the weight is 0 and no rule is a candidate).
        scored = eligible.nonzero()[0]
        if not len(scored):
            return []
        # A few per license: ScanCode keeps dozens of near-copies of the GPL, which would crowd out the
        # one text that really matches (the LGPL-3.0 text with the GPL-3.0 after it).
        containment = shared[scored] / np.maximum(self.approx_sizes[scored], 1)
        top = scored[_top(shared[scored] * containment, APPROX_CANDIDATES * 20)]
        ranked: list[int] = []
        per_expr: dict[int, int] = {}
        for j, e in zip(top.tolist(), self.expr_of[self.approx_rules[top]].tolist(), strict=True):
            if per_expr.get(e, 0) < APPROX_PER_LICENSE:
                per_expr[e] = per_expr.get(e, 0) + 1
                ranked.append(j)
                if len(ranked) == APPROX_CANDIDATES:
                    break
        if near_dupe:
            # A copy of an SPDX text cut short holds few of its words: ranked by containment, it loses to the
            # shorter LicenseDB rules of a sibling sharing its start. The SPDX texts of LicenseDB licenses
            # holding the most of the text's words (the shortest first) are aligned too.
            copies = np.flatnonzero(part & self.approx_alternate)
            copies = copies[np.lexsort((self.approx_sizes[copies], -shared[copies]))]
            ranked += [j for j in copies[: TRUNCATED_CANDIDATES + len(ranked)].tolist() if j not in ranked][
                :TRUNCATED_CANDIDATES
            ]
        out: list[RuleMatch] = []
        for j, in_order in zip(ranked, self._in_order_at_most(text, ranked), strict=True):
            rule = int(self.approx_rules[j])
            if own_text is not None and not self.is_license[rule]:
                continue
            match = self._align(text, rule, own_text or 0.0, in_order)
            if match is not None and near_dupe and not resemblant[j]:
                # a text made of a part of the rule's words: only its first part, aligned over the whole text
                whole = match.matched >= NEAR_DUPE_RESEMBLANCE * int((open_ & (ids >= 0)).sum())
                match = match if whole and match.rule_start <= TRUNCATED_HEAD * len(self.rule_tokens(rule)) else None
            if match is not None and (own_text is None or match.coverage >= own_text):
                out.append(match)
        return out

    def _opened(self, ids: np.ndarray, open_: np.ndarray) -> tuple[np.ndarray, _Query] | None:
        """How many distinct words each approximately matched rule shares with the words *open_* in the text,
        and the text as alignment reads it; None when no rule shares any."""
        words = np.sort(ids[open_ & (ids >= 0)])
        words = words[np.concatenate(([True], words[1:] != words[:-1]))] if len(words) else words  # distinct
        if not len(words) or not len(self.post_words):
            return None
        rows = self.common_row[words]
        words = words[rows < 0]
        lo, hi = self.post_start[words], self.post_start[words + 1]
        if 0 < len(words) <= SLICED_WORDS:  # a few words' postings: slices cost less than an index of them all
            owners = np.concatenate([self.post_owner[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True)])
        else:
            owners = self.post_owner[_ranges(lo, hi)]
        shared = np.bincount(owners, minlength=len(self.approx_sizes))
        if (rows >= 0).any():
            text_bits = np.zeros(COMMON_WORDS, dtype=bool)
            text_bits[rows[rows >= 0]] = True
            in_both = self.common_bits & np.packbits(text_bits, bitorder="little").view(np.uint64)[:, None]
            shared = shared + np.add.reduce(np.bitwise_count(in_both), axis=0, dtype=np.uint16)
        if not shared.any():
            return None
        query = np.where(open_ & (ids >= 0), ids, -1 - np.arange(len(ids), dtype=np.int32))
        qkeys = self._triples(query)
        order = qkeys.argsort(kind="stable")
        return shared, _Query(query, order, qkeys[order], np.bincount(query[query >= 0], minlength=len(self.vocab)))

    def _near_dupes(self, text: _Query, shared: np.ndarray, among: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which approximately matched rules (of the indices *among*) resemble the open words of *text* as
        ScanCode's near-duplicates do (shared words over all words at least NEAR_DUPE_RESEMBLANCE, counted once
        each and counted with repeats), and which hold nearly all the text's words (it may be a truncated copy)."""
        distinct, total = int(np.count_nonzero(text.counts)), int(text.counts.sum())
        of_among, sizes = shared[among], self.approx_sizes[among]
        near = np.zeros(len(shared), dtype=bool)
        near[among[of_among >= NEAR_DUPE_RESEMBLANCE * (distinct + sizes - of_among)]] = True
        part = np.zeros(len(shared), dtype=bool)
        part[among[of_among >= NEAR_DUPE_RESEMBLANCE * distinct]] = True
        for j in near.nonzero()[0].tolist():
            rule_words, rule_counts = self._rule_words(int(self.approx_rules[j]))
            both = int(np.minimum(text.counts[rule_words], rule_counts).sum())
            near[j] = both >= NEAR_DUPE_RESEMBLANCE * (total + int(rule_counts.sum()) - both)
        return near, part & ~near

    def _in_order_at_most(self, text: _Query, ranked: list[int]) -> list[int]:
        """For each approximately matched rule of *ranked*, the most words an alignment with *text* can pair
        (of each word, the fewer of the rule's and the text's), all counted at once."""
        if not ranked:
            return []
        rows = [self._rule_words(int(self.approx_rules[j])) for j in ranked]
        words = np.concatenate([w for w, _ in rows])
        counts = np.concatenate([c for _, c in rows])
        starts = np.cumsum([0, *(len(w) for w, _ in rows[:-1])])
        return np.add.reduceat(np.minimum(counts, text.counts[words]), starts).tolist()  # type: ignore[no-any-return]

    def _words_of(self, rule: int) -> tuple[np.ndarray, np.ndarray]:
        """*rule*'s distinct words and how often it has each (kept for the last rules aligned: the same
        license texts are candidates in text after text)."""
        words, counts = np.unique(self.rule_tokens(rule), return_counts=True)
        return words, counts

    def _triples_of(self, rule: int) -> np.ndarray:
        """The keys of *rule*'s word triples, in rule order (kept for the last rules aligned)."""
        return self._triples(self.rule_tokens(rule))

    def _triples(self, ids: np.ndarray) -> np.ndarray:
        """A key of each run of GRAM word ids: the ids packed exactly (equal keys, equal words), and -1 where
        the run holds a negative id (a word no rule has, or one not open: never a rule's triple)."""
        if len(ids) < GRAM:
            return np.zeros(0, dtype=np.int64)
        v = ids.astype(np.int64)
        a, b, c = v[:-2], v[1:-1], v[2:]
        keys: np.ndarray = (a << 2 * self.id_bits) | (b << self.id_bits) | c
        keys[np.minimum(np.minimum(a, b), c) < 0] = -1
        return keys

    def _align(self, text: _Query, rule: int, at_least: float = 0.0, in_order: int | None = None) -> RuleMatch | None:
        """Align *rule* with the *text*: shared word triples grouped into diagonal blocks, the heaviest chain
        of blocks in the same order in both; the densest run of that chain that covers enough of the rule
        wins, and every required phrase of the matched part must lie inside one block. *at_least*: the
        share of the rule a match must cover to be of use; *in_order*: the most words any alignment can pair
        (_in_order_at_most), when already counted."""
        query = text.ids
        tokens = self.rule_tokens(rule)
        length = len(tokens)
        if self.composite[rule]:
            floor = COMPOSITE_MIN_COVERAGE  # "MIT OR Unlicense" only where the whole rule is there
        elif length < SHORT_RULE:
            floor = SHORT_MIN_COVERAGE
        elif length >= PARTIAL_TEXT_TOKENS:
            floor = PARTIAL_TEXT_COVERAGE
        else:
            floor = APPROX_MIN_COVERAGE
        need = max(floor, self.min_coverage[rule] / 100) * length
        may_be_cut = floor < COMPOSITE_MIN_COVERAGE  # a truncated copy of one license, not of a composite
        if length < GRAM or not len(text.sorted_keys):
            return None
        # Aligned words pair one rule word with one text word, in order: never more of a word than the text
        # and the rule both hold. Below the least a match may cover (a cut copy's, if it may be one),
        # nothing can match, and the alignment is not tried.
        least = min(need, max(TRUNCATED_MIN_COVERAGE * length, APPROX_MIN_TOKENS)) if may_be_cut else need
        if in_order is None:
            words, counts = self._rule_words(rule)
            in_order = int(np.minimum(counts, text.counts[words]).sum())
        if in_order < max(least, at_least * length):
            return None
        # Each rule triple looked up in the text's sorted triples: the text positions that share it are
        # order[lo:hi]; rule positions with the same triple share lo.
        rkeys = self._rule_triples(rule)
        lo, found, r_hit = _found_in(text.sorted_keys, rkeys)
        in_text = np.zeros(len(text.sorted_keys), dtype=np.int64)
        in_text[lo] = found
        if int(in_text.sum()) * GRAM < need:  # text positions starting a triple of the rule
            return None
        # Blocks are made of shared triples: they cover no rule word outside one.
        covered = np.zeros(length, dtype=bool)
        for k in range(GRAM):
            covered[r_hit + k] = True
        if int(covered.sum()) < least:
            return None
        repeats = np.bincount(lo, minlength=len(text.sorted_keys))[lo]  # how often the rule has the triple
        q_pos = text.order[_ranges(lo, lo + found)]
        r_pos = r_hit.repeat(found)
        blocks = _chain(*_diagonal_blocks(q_pos, r_pos, repeats.repeat(found)))
        # The run of blocks with the most matched words less the text words left unmatched inside it.
        best: tuple[int, int, int, int] | None = None  # score, matched, first block, last block
        for a in range(len(blocks)):
            got = 0
            for b in range(a, len(blocks)):
                got += blocks[b][2]
                span = blocks[b][0] + blocks[b][2] - blocks[a][0]
                score = 3 * got - span
                # a copy cut short: the rule from its start to where the text ends
                cut = (
                    may_be_cut
                    and blocks[a][1] <= TRUNCATED_HEAD * length
                    and blocks[b][0] + blocks[b][2] >= len(query) - 2
                )
                enough = got >= need or (cut and got >= max(TRUNCATED_MIN_COVERAGE * length, APPROX_MIN_TOKENS))
                if enough and got >= APPROX_MIN_DENSITY * span and (best is None or score > best[0]):
                    best = (score, got, a, b)
        if best is None:
            return None
        _, got, a, b = best
        run = blocks[a : b + 1]
        first, last = min(br for _, br, _ in run), max(br + size for _, br, size in run)
        for s, e in self.required.get(rule, ()):
            # only phrases of the part of the rule that matched: a truncated copy lacks the rest
            if first <= s and e <= last and not any(br <= s and e <= br + size for _, br, size in run):
                return None
        run, got = _gaps_filled(query, tokens, run, got)
        spans = tuple((q, q + size) for q, _, size in run)
        return RuleMatch(rule, run[0][0], run[-1][0] + run[-1][2], got, got / length, False, spans, first)

    def match(self, ids: np.ndarray, tokens: list[str]) -> list[RuleMatch]:
        """The winning rule matches of a text's word ids (and its *tokens*), in text order. As in ScanCode's
        query, words no rule has (id -1: a program's name in a notice) are skipped, not breaks; positions
        set to BLOCKED (an SPDX line already read) stay breaks."""
        known = (ids != UNKNOWN).nonzero()[0]
        if len(known) == len(ids):
            return self._match(ids, tokens, np.zeros(len(ids), dtype=bool))
        # where words were skipped: a name (provaudit's aliases) is not found across them
        skipped = known - np.concatenate(([-1], known[:-1])) > 1
        found = self._match(ids[known], [tokens[i] for i in known.tolist()], skipped)
        return [_remapped(m, known) for m in found]

    def _match(self, ids: np.ndarray, tokens: list[str], skipped: np.ndarray) -> list[RuleMatch]:
        exact = [
            m
            for m in self.exact_matches(ids)
            if not self._version_differs(ids, m)
            and not self._without_cue(tokens, m)
            and not (self.flags[m.rule] & ALIAS and skipped[m.start + 1 : m.end].any())
        ]
        exact = self._alternates_kept(exact, len(ids))  # before they count as covering the text
        # As ScanCode: no approximate matching when exact matches cover every legal word of the text
        # (most files: a license text or notice copied whole) -- nothing is left for it to find.
        unmatched = (ids >= 0).copy()
        for m in exact:
            unmatched[m.start : m.end] = False
        rounds = APPROX_ROUNDS if self.legalese[ids[unmatched]].any() else 0
        found = list(exact)
        for m in exact if not rounds else ():
            # A long text matched by a rule that copies a license's text (ScanCode's PPL rule is the ODC-By
            # text): the license's own text, if it matches nearly whole, is there to win over the copy.
            if self.flags[m.rule] & TEXT and not self.is_license[m.rule] and m.end - m.start >= PARTIAL_TEXT_TOKENS:
                span = np.zeros(len(ids), dtype=bool)
                span[m.start : m.end] = True
                found += self.approx_matches(ids, span, own_text=OWN_TEXT_COVERAGE)
        # Approximate matching, round by round, each round on what earlier rounds' matches left, so
        # several texts in one file are all found; exact matches compete with them at the end. As in
        # ScanCode, a long license text matched exactly is taken out first: no sibling text is aligned over it.
        open_ = np.ones(len(ids), dtype=bool)
        memo: dict[bytes, tuple[np.ndarray, _Query] | None] = {}  # the near-duplicate step and round 1 share it
        whole = [m for m in exact if self.flags[m.rule] & TEXT and self.lengths[m.rule] > WHOLE_TEXT_TOKENS]
        if rounds:
            # A text that is nearly one rule's words (ScanCode's near-duplicate step) is aligned with it whole,
            # a whole text matched exactly inside it included (the Python license over its PSF part); a
            # whole text it only touches keeps its words (a license text right before the GPL's).
            near = self._select(
                ids,
                self.approx_matches(ids, open_, near_dupe=True, memo=memo),
                keep_false_positives=True,
                context=exact,
            )
            for e in whole:
                near = [
                    n if _overlap(n, e) >= NEAR_DUPE_OVER_TEXT * (e.end - e.start) else _clipped(n, e) for n in near
                ]
            near = [n for n in near if n.matched]
            found.extend(near)
            for m in near:
                for a, b in m.runs():
                    open_[a:b] = False
        for m in whole:
            open_[m.start : m.end] = False
        for _ in range(rounds):
            if open_.sum() < APPROX_MIN_TOKENS:
                break
            approx = self.approx_matches(ids, open_, memo=memo)
            if not approx:
                break
            best = self._select(ids, approx, keep_false_positives=True, context=exact, by_coverage=True)
            found.extend(best)
            for m in best:
                for a, b in m.runs():
                    open_[a:b] = False
        return self._select(ids, found)

    def _without_cue(self, tokens: list[str], m: RuleMatch) -> bool:
        """A short name or id of provaudit's aliases ("X11", "MIT") counts only next to a licensing word."""
        if not self.flags[m.rule] & ALIAS or m.end - m.start > 3:
            return False
        return not (
            _CUE_BEFORE.intersection(tokens[max(0, m.start - 4) : m.start])
            or _CUE_AFTER.intersection(tokens[m.end : m.end + 2])
        )

    def _version_differs(self, ids: np.ndarray, m: RuleMatch) -> bool:
        """A short name match right before a version it does not include ("Eclipse Public License" + "2.0")."""
        if self.lengths[m.rule] > 8 or m.end >= len(ids) or self.flags[m.rule] & TEXT:
            return False
        nxt = int(ids[m.end])
        return nxt >= 0 and bool(self.has_digit[nxt]) and not self.has_digit[self.rule_tokens(m.rule)].any()

    def _weight(self, digits: list[int], m: RuleMatch) -> float:
        # Version words say which license: between equal matches the one that reads them wins
        # ("under GPL-2.0+" is GPL-2.0-or-later, not "licensed under GPL"). *digits*: how many words with
        # a digit the text has before each position.
        return m.matched + 0.5 * sum(digits[b] - digits[a] for a, b in m.runs())

    def _select(
        self,
        ids: np.ndarray,
        matches: list[RuleMatch],
        keep_false_positives: bool = False,
        context: list[RuleMatch] | tuple[()] = (),
        by_coverage: bool = False,
    ) -> list[RuleMatch]:
        # Larger evidence first; between equals the better covered rule, then one of an SPDX-listed license
        # (ScanCode's bsd-endorsement-allowed text is also a BSD-3-Clause rule's), then a license's own text
        # over a rule that copies it (ScanCode's PPL rule is the ODC-By text), the exact, the earlier.
        digits = [0, *(self.has_digit[ids] & (ids >= 0)).cumsum().tolist()]

        def key(m: RuleMatch) -> tuple[float, ...]:
            return (
                -int(m.coverage * COVERAGE_CLASSES) if by_coverage else 0,
                -self._weight(digits, m),
                -round(m.coverage, 2),
                not self.listed[m.rule],
                not self.is_license[m.rule],
                not m.exact,
                m.start,
                m.rule,
            )

        # (*context*: the exact matches, which an SPDX text of another license must not span either;
        # *by_coverage*: in an approximate round, as ScanCode takes its candidates in order of how much of
        # each rule the text holds, a match covering its rule clearly better wins over a larger one -- the
        # GPL-3.0's own "How to Apply" (96%) over the GPL-2.0's longer one (79%) after the GPL-3.0 terms)
        matches = self._alternates_kept(matches, len(ids), context)
        matches.sort(key=key)
        taken = bytearray(max((m.end for m in matches), default=0))  # 1 where a kept match has a word
        kept: list[RuleMatch] = []
        for m in matches:
            if any(taken.find(1, a, b) >= 0 for a, b in m.runs()):
                continue
            for a, b in m.runs():
                taken[a:b] = b"\x01" * (b - a)
            kept.append(m)
        kept.sort(key=lambda m: m.start)
        if keep_false_positives:
            return kept
        kept = [m for m in kept if not self.flags[m.rule] & FALSE_POSITIVE]
        # A bare name inside a larger match of the same license, any version ("the LGPL or the GPL" in a
        # MPL/GPL/LGPL notice whose words are in another order): part of it, as ScanCode's small matches
        # surrounded by one whose licensing contains theirs.
        # (a list of names has thousands of matches: only those starting before a small one are read, and
        # none when the farthest any of them reaches is not past its end)
        starts = [m.start for m in kept]
        reach = list(itertools.accumulate((m.end for m in kept), max))
        return [m for m in kept if not self._surrounded(m, kept, starts, reach)]

    def _alternates_kept(
        self, matches: list[RuleMatch], n: int, context: list[RuleMatch] | tuple[()] = ()
    ) -> list[RuleMatch]:
        """*matches* without the SPDX texts of LicenseDB licenses (alternates) that are neither nearly whole
        nor a copy of the text's first part cut at the end of a text of *n* words, and without those spanning
        a nearly whole LicenseDB text of another license (Sleepycat's SPDX text also holds the BSD-3-Clause,
        which ScanCode reports on its own)."""
        spdx = [m for m in matches if self.alternate[m.rule]]
        if not spdx:
            return matches
        whole = [
            m
            for m in [*matches, *context]
            if not self.alternate[m.rule]
            and m.coverage >= OWN_TEXT_COVERAGE
            and self.flags[m.rule] & TEXT
            and self.lengths[m.rule] > WHOLE_TEXT_TOKENS
        ]
        dropped = set()
        for a in spdx:
            cut = a.rule_start <= TRUNCATED_HEAD * self.lengths[a.rule] and a.end >= n - 2
            if (a.coverage < OWN_TEXT_COVERAGE and not cut) or any(
                a.start <= w.start < w.end <= a.end and self.expr_of[w.rule] != self.expr_of[a.rule] for w in whole
            ):
                dropped.add(id(a))
        return [m for m in matches if id(m) not in dropped]

    def _surrounded(self, small: RuleMatch, kept: list[RuleMatch], starts: list[int], reach: list[int]) -> bool:
        """Whether a larger match of *kept* (in text order: *starts*, and *reach*, the farthest end so far)
        surrounds *small* (see _surrounds)."""
        if small.end - small.start > BARE_NAME_TOKENS:
            return False
        before = bisect.bisect_left(starts, small.start)
        if not before or reach[before - 1] <= small.end:
            return False
        return any(self._surrounds(big, small) for big in kept[:before])

    def _surrounds(self, big: RuleMatch, small: RuleMatch) -> bool:
        if small.end - small.start > BARE_NAME_TOKENS or not big.start < small.start < small.end < big.end:
            return False
        if big.end - big.start <= BARE_NAME_TOKENS:
            return False
        return _bases(self.exprs[int(self.expr_of[small.rule])]) <= _bases(self.exprs[int(self.expr_of[big.rule])])


_CUE_BEFORE = frozenset({"license", "licensed", "licenses", "licensing", "under", "spdx", "identifier", "terms"})
_CUE_AFTER = frozenset({"license", "licensed", "licenses", "licence"})


@lru_cache(maxsize=4096)
def _bases(expression: str) -> frozenset[str]:
    """The license names of *expression* without versions ("GPL-2.0-or-later" -> "GPL")."""
    return frozenset(re.sub(r"-v?\d.*$", "", x) for x in re.split(r"\s+(?:AND|OR|WITH)\s+|[()\s]", expression) if x)


def _remapped(m: RuleMatch, positions: np.ndarray) -> RuleMatch:
    """*m* found among the known words only, with its positions in the whole text (*positions*[i] is where
    the i-th known word is)."""
    runs = tuple((int(positions[a]), int(positions[b - 1]) + 1) for a, b in m.blocks)
    start, end = int(positions[m.start]), int(positions[m.end - 1]) + 1
    return RuleMatch(m.rule, start, end, m.matched, m.coverage, m.exact, runs, m.rule_start)


def _overlap(m: RuleMatch, other: RuleMatch) -> int:
    """How many words of *m*'s runs lie inside *other*'s span."""
    return sum(max(0, min(b, other.end) - max(a, other.start)) for a, b in m.runs())


def _clipped(m: RuleMatch, other: RuleMatch) -> RuleMatch:
    """*m* without the words it aligned inside *other*'s span."""
    runs = [
        piece
        for a, b in m.runs()
        for piece in ((a, min(b, other.start)), (max(a, other.end), b))
        if piece[1] > piece[0]
    ]
    if not runs:
        return RuleMatch(m.rule, m.start, m.start, 0, 0.0, m.exact, ())
    matched = m.matched - _overlap(m, other)
    length = round(m.matched / m.coverage) if m.coverage else 1
    return RuleMatch(m.rule, runs[0][0], runs[-1][1], matched, matched / length, m.exact, tuple(runs))


def derive_lookups(tokens: np.ndarray, offsets: np.ndarray, flags: np.ndarray) -> dict[str, np.ndarray]:
    """The look-up tables the matcher needs, computed once when the index is built: the long rules and the
    short ones (their exact look-up keys are packed from their word ids at load), the rules matched
    approximately, and the inverted index of the distinct words of long rules."""
    tokens = tokens.astype(np.int64)
    lengths = np.diff(offsets)
    long_rules = np.flatnonzero(lengths >= ANCHOR)
    short = np.flatnonzero(lengths < ANCHOR)
    approx = np.flatnonzero((lengths >= APPROX_MIN_TOKENS) & ((flags & FALSE_POSITIVE) == 0))
    rows = [np.unique(tokens[offsets[r] : offsets[r + 1]]) for r in approx.tolist()]
    sizes = np.array([len(u) for u in rows], dtype=np.int32)
    words = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    owner = np.repeat(np.arange(len(rows), dtype=np.int32), sizes)
    by_word = np.argsort(words, kind="stable")
    return {
        "rule_hash": rule_hashes(tokens, offsets),
        "anchor_rules": long_rules.astype(np.int32),
        "short_rules": short.astype(np.int32),
        "approx_rules": approx.astype(np.int32),
        "approx_sizes": sizes,
        "post_words": words[by_word].astype(np.int32),
        "post_owner": owner[by_word],
    }


_HASH_BASE = np.uint64(0x100000001B3)
_HASH_INVERSE = np.uint64(pow(0x100000001B3, -1, 1 << 64))


def _prefix_hashes(ids: np.ndarray, longest: int) -> tuple[np.ndarray, np.ndarray]:
    """Polynomial hashes of every prefix of *ids* (wrapping 64-bit: P[i+1] = P[i]·B + id + 1 + 2^32) and the
    powers of B up to *longest*, so that the hash of any span is one subtraction (_span_hashes)."""
    n = len(ids)
    powers = _powers(_HASH_BASE, max(n, longest) + 1)
    inverse = _powers(_HASH_INVERSE, n)
    with np.errstate(over="ignore"):
        values = ids.astype(np.int64).astype(np.uint64) + np.uint64(1 + (1 << 32))
        # P[i] = sum_k v_k B^(i-1-k) = B^(i-1) * sum_k v_k B^-k; B is odd, so B^-1 exists mod 2^64
        sums = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(values * inverse, dtype=np.uint64)])
        prefix = np.zeros(n + 1, dtype=np.uint64)
        prefix[1:] = sums[1:] * powers[:n]
    return prefix, powers


POWERS_KEPT = 1 << 20
_POWERS: dict[int, np.ndarray] = {}


def _powers(base: np.uint64, n: int) -> np.ndarray:
    """*base* to the powers 0..n-1 (wrapping 64-bit), kept for the longest n asked so far up to POWERS_KEPT
    (texts; the index build's millions of words are computed and not kept)."""
    have = _POWERS.get(int(base))
    if have is None or len(have) < n:
        with np.errstate(over="ignore"):
            grown = np.cumprod(np.full(max(n, 4096), base, dtype=np.uint64))
        have = np.concatenate([np.ones(1, dtype=np.uint64), grown[:-1]])
        if n <= POWERS_KEPT:
            _POWERS[int(base)] = have
    return have[:n]


def rule_hashes(tokens: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The hash of each rule's whole token sequence, as _span_hashes computes it over a text."""
    lengths = np.diff(offsets)
    rule_start = np.repeat(offsets[:-1], lengths)
    prefix, powers = _prefix_hashes(tokens, int(lengths.max()))
    within = np.arange(len(tokens), dtype=np.int64) - rule_start
    with np.errstate(over="ignore"):
        # the prefix hashes of all rules' tokens concatenated, restarted at each rule's first token
        local = prefix[1:] - prefix[rule_start] * powers[within + 1]
    out = np.zeros(len(lengths), dtype=np.uint64)
    nonempty = lengths > 0
    out[nonempty] = local[offsets[1:][nonempty] - 1]
    return out


def _span_hashes(prefix: np.ndarray, powers: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The hash of each span [start, end) of the sequence *prefix* was made from."""
    with np.errstate(over="ignore"):
        out: np.ndarray = prefix[ends] - prefix[starts] * powers[ends - starts]
    return out


def _top(score: np.ndarray, k: int) -> np.ndarray:
    """The indices of the *k* largest positive scores, largest first, ties in index order: a stable sort
    of only the scores at or above the k-th largest (thousands of rules score, a few hundred are read)."""
    scored = score.nonzero()[0]
    values = score[scored]
    if len(scored) > k:
        floor = np.partition(values, len(values) - k)[len(values) - k]
        keep = values >= floor
        scored, values = scored[keep], values[keep]
    return scored[(-values).argsort(kind="stable")][:k]


def _found_in(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which of *keys* are in *sorted_keys*: for those (their indices, the last array), where their run of
    equal keys starts and how long it is. One binary search for every key, a second only for those found."""
    lo = sorted_keys.searchsorted(keys, side="left")
    if not len(sorted_keys):
        return lo[:0], lo[:0], lo[:0]
    at = (sorted_keys[np.minimum(lo, len(sorted_keys) - 1)] == keys).nonzero()[0]
    lo = lo[at]
    return lo, sorted_keys.searchsorted(keys[at], side="right") - lo, at


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The indices lo[0]..hi[0]-1, lo[1]..hi[1]-1, ... concatenated."""
    counts = hi - lo
    total = int(counts.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    starts: np.ndarray = (lo - counts.cumsum() + counts).repeat(counts)
    return starts + np.arange(total)


def _gaps_filled(
    query: np.ndarray, tokens: np.ndarray, run: list[tuple[int, int, int]], got: int
) -> tuple[list[tuple[int, int, int]], int]:
    """The words shared in order inside the small gaps between aligned blocks (too short for a word
    triple: "the GPL or the LGPL" against "the GPL or LGPL"), aligned word by word as ScanCode's sequence
    matching does, so that the match claims them rather than leaving them to a lone name."""
    out = [run[0]]
    for (q0, r0, n0), (q1, r1, n1) in itertools.pairwise(run):
        qa, ra = q0 + n0, r0 + n0
        if 0 < q1 - qa <= MAX_GAP_FILLED and 0 < r1 - ra <= MAX_GAP_FILLED:
            matcher = difflib.SequenceMatcher(None, query[qa:q1].tolist(), tokens[ra:r1].tolist(), autojunk=False)
            for i, j, n in matcher.get_matching_blocks():
                if n:
                    out.append((qa + i, ra + j, n))
                    got += n
        out.append((q1, r1, n1))
    return out, got


def _diagonal_blocks(
    q_pos: np.ndarray, r_pos: np.ndarray, repeats: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of word-triple hits on one diagonal (text and rule advancing together): each run is a block of
    words shared in the same order, as (text start, rule start, size). A lone triple the rule repeats many
    times ("of this license") places nothing and is left out."""
    diagonal = q_pos - r_pos
    # (diagonal, text position) pairs are distinct: one integer key sorts them as lexsort would
    order = ((diagonal - diagonal.min()) * (int(q_pos.max()) + 1) + q_pos).argsort() if len(q_pos) else q_pos
    q, r, d = q_pos[order], r_pos[order], diagonal[order]
    new = np.ones(len(q), dtype=bool)
    new[1:] = (d[1:] != d[:-1]) | (q[1:] != q[:-1] + 1)
    first = new.nonzero()[0]
    runs = np.concatenate((first[1:], [len(q)])) - first
    keep = (runs > 1) | (repeats[order][first] <= MAX_GRAM_REPEATS)
    return q[first][keep], r[first][keep], runs[keep] + GRAM - 1


def _chain(bq: np.ndarray, br: np.ndarray, size: np.ndarray) -> list[tuple[int, int, int]]:
    """The blocks that follow each other in both the text and the rule with the most words in all (a
    heaviest increasing chain: blocks in text order, a max-Fenwick tree over rule positions)."""
    order = bq.argsort(kind="stable")
    qs, rs, ss = bq[order].tolist(), br[order].tolist(), size[order].tolist()
    n_pos = (max(rs) + max(ss) + 2) if rs else 1
    tree_value = [0] * (n_pos + 1)
    tree_at = [-1] * (n_pos + 1)
    best = [0] * len(qs)
    back = [-1] * len(qs)
    pending: list[tuple[int, int]] = []  # (text end, block) not yet in the tree
    for i, (q, r, n) in enumerate(zip(qs, rs, ss, strict=True)):
        while pending and pending[0][0] <= q:
            _, j = heapq.heappop(pending)
            k = rs[j] + ss[j]  # rule end of block j
            while k <= n_pos:
                if best[j] > tree_value[k]:
                    tree_value[k], tree_at[k] = best[j], j
                k += k & -k
        k, top, at = r, 0, -1  # best chain ending at a rule position <= r
        while k > 0:
            if tree_value[k] > top:
                top, at = tree_value[k], tree_at[k]
            k -= k & -k
        best[i], back[i] = top + n, at
        heapq.heappush(pending, (q + n, i))
    if not best:
        return []
    i = max(range(len(best)), key=best.__getitem__)
    out: list[tuple[int, int, int]] = []
    while i >= 0:
        out.append((qs[i], rs[i], ss[i]))
        i = back[i]
    return out[::-1]


def _data_dirs() -> list[Path]:
    """Where the index may be: $PROVAUDIT_LICENSE_INDEX_DIR, the wheel's resources, the checkout's data/."""
    out: list[Path] = []
    env = os.environ.get("PROVAUDIT_LICENSE_INDEX_DIR")
    if env:
        out.append(Path(env))
    with contextlib.suppress(ModuleNotFoundError, TypeError):  # namespace oddities
        out.append(Path(str(resources.files("provaudit") / "_resources" / "data" / "licenses")))
    out.append(Path(__file__).resolve().parents[2] / "data" / "licenses")
    return out


def find_rule_index_dir() -> Path:
    """The folder holding the rule index (the checkout's data/licenses or the wheel's resources)."""
    for d in _data_dirs():
        if (d / RULE_INDEX_FILE).is_file() and (d / RULE_META_FILE).is_file():
            return d
    raise FileNotFoundError(
        f"license rule index ({RULE_INDEX_FILE}) not found in {', '.join(map(str, _data_dirs()))}; "
        "regenerate it with `python bench/build_license_index.py`"
    )


def load_rule_index(folder: Path) -> RuleIndex:
    with gzip.open(folder / RULE_META_FILE, "rb") as fh:
        meta = json.loads(fh.read())
    if meta.get("format") != RULE_INDEX_FORMAT:
        raise ValueError(f"{folder / RULE_META_FILE}: format {meta.get('format')}, expected {RULE_INDEX_FORMAT}")
    with np.load(folder / RULE_INDEX_FILE) as z:
        arrays = {k: z[k] for k in z.files}
    return RuleIndex(arrays, meta)


_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _cached() -> RuleIndex:
    return load_rule_index(find_rule_index_dir())


def get_rule_index() -> RuleIndex:
    """The rule index, loaded once per process."""
    with _LOCK:
        return _cached()
