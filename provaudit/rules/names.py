"""Which record an upstream name means when no record has exactly that id.

Upstreams are often named by a variant of the id of a record the store has: another case or punctuation
("cnn/daily mail" for ``cnn_dailymail``, "sst-2" for ``sst2``), a version written differently ("squad2.0" for
``squad_v2``), a Hub id under its new owner (``allenai/ai2_arc`` for the store's ``ai2_arc``), DPI's record
name or title instead of its uid, or a short name an alias table knows ("mnli" is MultiNLI:
``data/licenses/dataset_aliases.yaml``, each alias with its source). A variant links only when it is certain:
exactly one record of the same kind has that key. A near miss that is not certain (``xP3`` where the store
has ``xP3x``, or two records share the key) is reported as "did you mean …?" and the link stays unresolved. A name
may also mean a Hub dataset that the store holds only as DPI's parts of it (records whose ``hf_dataset`` fact names
it): the match is then that Hub id, and the lineage follows its parts.
"""

from __future__ import annotations

import difflib
import heapq
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import yaml

from provaudit.records.identity import split_id
from provaudit.records.model import Record
from provaudit.resources import resource

if TYPE_CHECKING:
    import numpy as np

# words a name carries that are not part of it: "PAWS dataset", "WorldTree corpus"
_FILLER = re.compile(r"(dataset|datasets|corpus|corpora|data|benchmark)$")
_NOT_HUB = ("dpi/", "source/")
_KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"  # what a squashed key is made of
_KEY_SET = frozenset(_KEY_CHARS)
# keys an index lets difflib's own loop compare (for all its questions) before it counts letters: a review of one
# changed record asks a few questions, and importing numpy would cost more than it saves
_COMPARED_BEFORE_COUNTING = 50_000


def squash(text: str) -> str:
    """Lower case, letters and digits only: "CNN/Daily Mail" and "cnn_dailymail" are one key."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def variants(name: str) -> list[str]:
    """The keys a name may be written under, most literal first."""
    key = squash(name)
    out = [key]
    trimmed = _FILLER.sub("", key)
    if trimmed and trimmed != key:
        out.append(trimmed)
    version = re.match(r"^(.*?[a-z])[\s_.-]*v?(\d+)(?:\.0)?$", name.lower())
    if version:  # "squad2.0", "SQuAD v2", "squad_v2": one key
        out.append(f"{squash(version.group(1))}v{version.group(2)}")
    return [k for k in dict.fromkeys(out) if len(k) >= 3]


@cache
def aliases() -> dict[str, tuple[str, str]]:
    """Squashed alias → (Hub id, source) from data/licenses/dataset_aliases.yaml."""
    data = yaml.safe_load(resource("data", "licenses", "dataset_aliases.yaml").read_text(encoding="utf-8"))
    return {squash(str(a)): (str(e["id"]), str(e["source"])) for e in data["aliases"] for a in e["names"]}


@dataclass(frozen=True)
class Match:
    """A record found for a name, and how."""

    rid: str
    how: str


def name_entry(record: Record) -> tuple[list[str], list[str], list[str]]:
    """What the index reads of a record beside its id: its titles, its DPI collection names and the Hub datasets
    it is (a part of): its ``hf_dataset`` facts."""
    titles = [f.value for f in record.facts if f.key == "title" and f.value.strip()]
    collections = [f.value for f in record.facts if f.key == "collection" and f.value.strip()]
    hubs = [f.value for f in record.facts if f.key == "hf_dataset" and f.value.strip()]
    return titles, collections, hubs


class NameIndex:
    """Variant keys of every record's id, DPI title and Hub id, per kind."""

    def __init__(
        self,
        records: Mapping[str, Record] | None = None,
        *,
        entries: Iterable[tuple[str, Sequence[str], Sequence[str], Sequence[str]]] = (),
    ) -> None:
        """Index ``records``, or ``entries`` (id, titles, collections, Hub datasets: :func:`name_entry`) without
        the records."""
        # two tiers: a record's own id (and Hub id without owner) first, then its titles (a card's pretty_name,
        # DPI's Dataset Name); DPI's parts of a Hub dataset are reached by the lineage through their Hub-id facts
        self._ids: dict[tuple[str, str], set[str]] = {}
        self._titles: dict[tuple[str, str], set[str]] = {}
        self._collections: dict[str, str] = {}  # squashed DPI collection name → as written ("xP3x")
        # Hub datasets the store holds only as DPI's parts (a record's `hf_dataset` fact): "opensubtitles" is the
        # Hub's open_subtitles, which DPI audited as fc-sni-opensubtitles; the match is the Hub id, whose parts
        # the lineage follows
        self._hubs: dict[tuple[str, str], set[str]] = {}
        # near()'s candidates (id keys by kind and first letter) and answers, made on first use: asked once
        # per unresolved link, a scan of every key made the review quadratic (78% of it at 5,000 records)
        self._initials: dict[tuple[str, str], list[str]] | None = None
        self._candidates: dict[tuple[str, str], Candidates] = {}
        self._compared = 0  # keys near() had difflib compare so far
        self._found: dict[str, Match | None] = {}  # find()'s answers: a collection names the same upstream often
        self._near: dict[str, list[str]] = {}
        if records is not None:
            entries = ((rid, *name_entry(record)) for rid, record in records.items())
        for rid, titles, collections, hubs in entries:
            kind, name = split_id(rid)
            names = [name]
            if "/" in name and not name.startswith(_NOT_HUB):
                names.append(name.rsplit("/", 1)[1])  # the Hub id without its owner
            if name.startswith("dpi/"):
                names.append(name.removeprefix("dpi/"))
            for collection in collections:
                self._collections.setdefault(squash(collection), collection.strip())
            for hub in (h.strip() for h in hubs):
                for value in dict.fromkeys((hub, hub.rsplit("/", 1)[-1])):
                    for key in variants(value):
                        self._hubs.setdefault((kind.value, key), set()).add(f"{kind.value}:{hub}")
            for table, values in ((self._ids, names), (self._titles, titles)):
                for value in values:
                    for key in variants(value):
                        table.setdefault((kind.value, key), set()).add(rid)

    def _hits(self, kind: str, key: str) -> set[str]:
        return self._ids.get((kind, key)) or self._titles.get((kind, key)) or set()

    def find(self, target: str, raw: str | None = None) -> Match | None:
        """The one record a name certainly means, or None."""
        # the link's target only: its raw text may be a sentence or another repo's name (a repo-name hint)
        if target not in self._found:
            self._found[target] = self._find(target)
        return self._found[target]

    def _find(self, target: str) -> Match | None:
        kind, name = split_id(target)
        names = [name.removeprefix("dpi/")]
        if "/" in name and not name.startswith(_NOT_HUB):
            names.append(name.rsplit("/", 1)[1])
        for value in names:
            alias = aliases().get(squash(value))
            if alias:
                # an alias names a dataset: only a record that *is* it (its id), never a task titled after it
                hits = self._ids.get((kind.value, squash(alias[0])), set()) or self._ids.get(
                    (kind.value, squash(alias[0].rsplit("/", 1)[-1])), set()
                )
                if hits and len(hits) == 1:
                    return Match(next(iter(hits)), f"{value!r} is {alias[0]} ({alias[1]})")
                hubs = self._hubs.get((kind.value, squash(alias[0])), set())
                if len(hubs) == 1:  # no record of its own, but DPI's parts of that Hub dataset
                    return Match(next(iter(hubs)), f"{value!r} is {alias[0]} ({alias[1]}), audited by DPI in parts")
            for key in variants(value):
                hits = self._hits(kind.value, key)
                if len(hits) == 1:
                    found = next(iter(hits))
                    return Match(
                        found, f"{value!r} is a variant of {split_id(found)[1]!r} (case, punctuation, version)"
                    )
            for key in variants(value):
                hubs = self._hubs.get((kind.value, key), set())
                if not self._hits(kind.value, key) and len(hubs) == 1:
                    hub = next(iter(hubs))
                    return Match(
                        hub,
                        f"{value!r} is a variant of the Hub dataset {split_id(hub)[1]!r} (case, punctuation, "
                        "version), audited by DPI in parts",
                    )
        return None

    def near(self, target: str, raw: str | None = None) -> list[str]:
        """Records a name nearly matches (not certain enough to link): for "did you mean …?"."""
        if target not in self._near:
            self._near[target] = self._near_of(target)
        return list(self._near[target])

    def _near_of(self, target: str) -> list[str]:
        kind, name = split_id(target)
        key = squash(name.removeprefix("dpi/"))
        if len(key) < 3:
            return []
        out: set[str] = set()
        for value in (key, *variants(name.removeprefix("dpi/"))):
            hits = self._hits(kind.value, value)
            if len(hits) > 1:
                out |= hits  # several records share the key: which one is meant is not certain
        if self._initials is None:
            self._initials = {}
            for kd, k in self._ids:
                self._initials.setdefault((kd, k[:1]), []).append(k)
        bucket = (kind.value, key[:1])
        if bucket not in self._candidates:
            self._candidates[bucket] = Candidates(self._initials.get(bucket, []))
        candidates = self._candidates[bucket]
        counts = self._compared > _COMPARED_BEFORE_COUNTING
        self._compared += 0 if counts else len(candidates.keys)
        for close in candidates.close_matches(key, n=3, cutoff=0.8, counts=counts):
            if close.startswith(key) or key.startswith(close) or len(key) > 5:
                out |= self._ids[(kind.value, close)]
        shown = sorted(out)[:3]
        for squashed, collection in self._collections.items():
            prefix = squashed.startswith(key) or key.startswith(squashed)
            if squashed != key and prefix and abs(len(squashed) - len(key)) <= 2:
                shown.append(f"the {collection} collection")
        return shown


class Candidates:
    """Keys to find close matches among: :func:`difflib.get_close_matches`' answer, in a fraction of its time.

    ``get_close_matches`` tries every candidate in Python, and a review asks once per unresolved name among
    every record's keys of that kind and initial: quadratic, a sixth of a cold review at 20,000 records. Its
    two cheap bounds (``real_quick_ratio``: the lengths; ``quick_ratio``: the letters in common, counted) are
    computed here for all candidates at once from their letter counts, the same floating-point sums, so only
    those that pass them are compared in full by :class:`difflib.SequenceMatcher`, as it would compare them.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)
        self._counts: np.ndarray | None = None  # one row per key: how often it holds each of _KEY_CHARS
        self._lengths: np.ndarray | None = None
        self._plain: bool | None = None  # a key of other text: difflib's own loop answers

    def close_matches(self, word: str, n: int = 3, cutoff: float = 0.8, *, counts: bool = True) -> list[str]:
        """``difflib.get_close_matches(word, self.keys, n, cutoff)`` (by difflib's own loop unless ``counts``)."""
        if counts and self._plain is None:
            self._plain = not all(_KEY_SET.issuperset(k) for k in self.keys)
        if self._plain is not False or not self.keys or not _KEY_SET.issuperset(word):
            return difflib.get_close_matches(word, self.keys, n=n, cutoff=cutoff)
        import numpy as np

        if self._counts is None:
            self._counts = _letter_counts(self.keys)
            self._lengths = self._counts.sum(axis=1, dtype=np.int64)
        assert self._lengths is not None
        total = self._lengths + len(word)  # as SequenceMatcher's ratios divide: 2.0 * matches / (la + lb)
        shortest = np.minimum(self._lengths, len(word))
        common = np.minimum(self._counts, _letter_counts([word])[0]).sum(axis=1, dtype=np.int64)
        passing = (2.0 * shortest / total >= cutoff) & (2.0 * common / total >= cutoff)
        matcher = difflib.SequenceMatcher()
        matcher.set_seq2(word)
        scored: list[tuple[float, str]] = []
        for i in np.flatnonzero(passing):
            matcher.set_seq1(self.keys[i])
            if (score := matcher.ratio()) >= cutoff:
                scored.append((score, self.keys[i]))
        return [key for _, key in heapq.nlargest(n, scored)]


def _letter_counts(keys: Sequence[str]) -> np.ndarray:
    """How often each key holds each of :data:`_KEY_CHARS` (a row per key), counted for all keys at once, in
    the smallest integers that hold them (a collection of 100,000 records has some 300,000 keys)."""
    import numpy as np

    lengths = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
    column = np.zeros(128, dtype=np.int64)
    column[[ord(c) for c in _KEY_CHARS]] = np.arange(len(_KEY_CHARS))
    letters = column[np.frombuffer("".join(keys).encode("ascii"), dtype=np.uint8)]
    rows = np.repeat(np.arange(len(keys), dtype=np.int64), lengths)
    counts = np.bincount(rows * len(_KEY_CHARS) + letters, minlength=len(keys) * len(_KEY_CHARS))
    return counts.reshape(len(keys), len(_KEY_CHARS)).astype(np.uint8 if lengths.max() < 256 else np.int64)
