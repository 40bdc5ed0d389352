"""Tokenizer, shingle hashing and the on-disk format of the license text index.

Shared by the runtime detector (:mod:`provaudit.licenses.detect`) and the build script
(``bench/build_license_index.py``) so that both sides tokenize and hash identically.

The index stores no license text: only a word list, 32-bit hashes of 5-token shingles per
reference text, and alias phrases (license names and short references) as token sequences.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

SHINGLE = 5
INDEX_FORMAT = 1
INDEX_FILE = "text_index.npz"
META_FILE = "text_index_meta.json.gz"

# Word-ish runs of letters/digits; punctuation, markdown and comment markers fall away.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# "GPL-2.0+", "LGPLv3+": a plus right after a word or version, not inside "1+1".
_TRAILING_PLUS = re.compile(r"(?<=[\w.])\+(?![\w+])")

# Spelling and URL-scheme variants that carry no license meaning.
_TOKEN_FOLD: dict[str, str] = {
    "licence": "license",
    "licences": "licenses",
    "licenced": "licensed",
    "licencing": "licensing",
    "https": "http",
    "authors": "author",
    "holders": "holder",
    "copyrights": "copyright",
}

# Fixed odd 64-bit multipliers: a shingle hash is the high half of sum(id_j * M_j) mod 2**64.
_MULT = np.array(
    [
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD,
    ],
    dtype=np.uint64,
)


def normalize_text(text: str) -> str:
    """Unicode-fold (NFKC, lower case) so that curly quotes, ligatures and case do not matter.

    "++" and a trailing "+" become words: "Open RAIL++-M" is another license than "Open RAIL-M",
    and "GPL-3.0+" another than "GPL-3.0".
    """
    text = unicodedata.normalize("NFKC", text).lower().replace("++", " plusplus ")
    return _TRAILING_PLUS.sub(" plus ", text)


def tokenize(text: str) -> list[str]:
    """Split *text* into normalized word tokens."""
    fold = _TOKEN_FOLD
    return [fold.get(t, t) for t in _WORD.findall(normalize_text(text))]


def tokenize_lines(text: str) -> tuple[list[str], list[int]]:
    """Tokenize *text*; return the tokens and the 0-based line index of each token."""
    fold = _TOKEN_FOLD
    findall = _WORD.findall
    words: list[str] = []
    line_of: list[int] = []
    for i, line in enumerate(normalize_text(text).split("\n")):
        found = findall(line)
        if found:
            words += found
            line_of += [i] * len(found)
    return [fold.get(w, w) for w in words], line_of


def shingle_hashes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hash every run of SHINGLE token ids.

    Returns ``(hashes, valid)``: uint32 hashes for each start position and a mask that is
    False where the shingle contains an unknown token (id 0), which can never match.
    """
    n = len(ids) - SHINGLE + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=bool)
    ids64 = ids.astype(np.uint64)
    acc = np.zeros(n, dtype=np.uint64)
    unknown = np.zeros(n, dtype=bool)
    with np.errstate(over="ignore"):
        for j in range(SHINGLE):
            part = ids64[j : j + n]
            acc += part * _MULT[j]
            unknown |= part == 0
    return (acc >> np.uint64(32)).astype(np.uint32), ~unknown


@dataclass
class TextIndex:
    """The loaded index: inverted shingle table plus per-entry metadata."""

    vocab: dict[str, int]
    hashes: np.ndarray  # sorted unique uint32 shingle hashes
    offsets: np.ndarray  # postings of hashes[i] are entries[offsets[i]:offsets[i+1]]
    entries: np.ndarray  # entry numbers (uint16/uint32)
    entry_expr: list[str]  # SPDX expression of each entry
    entry_kind: list[str]  # "text" or "notice"
    entry_size: np.ndarray  # distinct shingles kept per entry
    entry_rate: np.ndarray  # 1/rate of an entry's shingles are kept (hash % rate == 0)
    entry_source: list[str]
    is_text: np.ndarray  # bool per entry: a license text (else a notice)
    # first token id, or (first, second) for longer aliases -> [(ids, expr#, flags)], longest first
    aliases: dict[int | tuple[int, int], list[tuple[tuple[int, ...], int, int]]]
    alias_exprs: list[str]
    alias_start: np.ndarray  # bool per vocabulary id: some alias starts with this word
    meta: dict[str, Any]

    def ids_of(self, tokens: list[str]) -> np.ndarray:
        """Map tokens to vocabulary ids (0 for words no reference text contains)."""
        get = self.vocab.get
        return np.array([get(t, 0) for t in tokens], dtype=np.uint32)


ALIAS_STRONG = 1  # alias can stand alone (long name, URL); otherwise it needs a licensing cue nearby
ALIAS_WORD = 2  # a one-word id that is also an English word ("Fair", "Glide"): needs "license" next to it


def _data_dir_candidates() -> list[Path]:
    out: list[Path] = []
    env = os.environ.get("PROVAUDIT_LICENSE_INDEX_DIR")
    if env:
        out.append(Path(env))
    try:
        res = resources.files("provaudit") / "_resources" / "data" / "licenses"
        out.append(Path(str(res)))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - namespace oddities
        pass
    # Source checkout: <repo>/provaudit/licenses/_textindex.py -> <repo>/data/licenses
    out.append(Path(__file__).resolve().parents[2] / "data" / "licenses")
    return out


def find_index_dir() -> Path:
    """Return the folder holding the generated index files."""
    for cand in _data_dir_candidates():
        if (cand / INDEX_FILE).is_file() and (cand / META_FILE).is_file():
            return cand
    raise FileNotFoundError(
        f"license text index ({INDEX_FILE}) not found in "
        + ", ".join(str(c) for c in _data_dir_candidates())
        + "; regenerate it with `python bench/build_license_index.py`"
    )


def load_index(folder: Path) -> TextIndex:
    """Read the index files written by the build script."""
    with np.load(folder / INDEX_FILE) as z:
        hashes = np.cumsum(z["hash_deltas"], dtype=np.uint32)
        offsets = np.zeros(len(hashes) + 1, dtype=np.int64)
        np.cumsum(z["counts"], out=offsets[1:])
        entries = z["entries"]
        entry_size = z["entry_size"]
        entry_rate = z["entry_rate"]
    with gzip.open(folder / META_FILE, "rt", encoding="utf-8") as fh:
        meta = json.load(fh)
    if meta.get("format") != INDEX_FORMAT:
        raise ValueError(f"unsupported license index format {meta.get('format')!r}")
    vocab = {w: i + 1 for i, w in enumerate(meta.pop("vocab"))}
    aliases: dict[int | tuple[int, int], list[tuple[tuple[int, ...], int, int]]] = {}
    starts: set[int] = set()
    for ids, expr_no, flags in meta.pop("aliases"):
        key = ids[0] if len(ids) == 1 else (ids[0], ids[1])
        aliases.setdefault(key, []).append((tuple(ids), expr_no, flags))
        starts.add(ids[0])
    for lst in aliases.values():
        lst.sort(key=lambda a: -len(a[0]))  # longest alias first
    alias_start = np.zeros(len(vocab) + 1, dtype=bool)
    alias_start[sorted(starts)] = True
    ents = meta.pop("entries")
    return TextIndex(
        vocab=vocab,
        hashes=hashes,
        offsets=offsets,
        entries=entries,
        entry_expr=[e[0] for e in ents],
        entry_kind=[e[1] for e in ents],
        entry_source=[e[2] for e in ents],
        is_text=np.array([e[1] == "text" for e in ents], dtype=bool),
        entry_size=entry_size.astype(np.int64),
        entry_rate=entry_rate.astype(np.int64),
        aliases=aliases,
        alias_exprs=meta.pop("alias_exprs"),
        alias_start=alias_start,
        meta=meta,
    )


_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _cached_index() -> TextIndex:
    return load_index(find_index_dir())


def get_index() -> TextIndex:
    """Load the index once per process (thread-safe)."""
    with _LOCK:
        return _cached_index()
