"""Read declared license strings as SPDX expressions.

Declared strings come as Hub ids (``cc-by-nc-4.0``, ``llama2``, ``other``), SPDX ids in any case,
SPDX expressions, names (``Apache License 2.0``, ``CC BY-NC 4.0``) and free-text paraphrases. Each is
read into an SPDX expression whose symbols are SPDX ids, ``LicenseRef-scancode-<key>`` (ScanCode
LicenseDB, as bundled with ``license-expression``) or a documented ``LicenseRef-provaudit-<name>``
(``data/licenses/aliases.yaml``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import license_expression
import yaml
from license_expression import ExpressionError, Licensing

from provaudit import limits
from provaudit.resources import resource

_OPERATORS = re.compile(r"(\(|\)|\s+(?:AND|OR|WITH)\s+)", re.IGNORECASE)
_SEPARATORS = re.compile(r"\s*(?:,|;|\s/\s|\s&\s|\band\b|\+\s)\s*", re.IGNORECASE)
_NOISE_WORDS = re.compile(r"\b(the|licen[cs]es?|version|agreement|terms of use|v(?=\d))\b", re.IGNORECASE)
_NON_ALNUM = re.compile(r"[^a-z0-9+]+")
_PLAIN = Licensing()


@dataclass(frozen=True)
class Normalized:
    """How one declared string reads: the SPDX expression (None when unread) and how it was found."""

    raw: str
    expression: str | None
    method: str  # hub-id | spdx | expression | name | split | unread | empty | too-long
    confidence: float
    unread: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "raw": self.raw,
            "expression": self.expression,
            "method": self.method,
            "confidence": self.confidence,
            "unread": list(self.unread),
        }


def _squash(text: str) -> str:
    """A comparison key: case, punctuation and filler words removed."""
    text = text.lower().replace("licence", "license")
    text = _NOISE_WORDS.sub(" ", text)
    return _NON_ALNUM.sub("", text)


@cache
def _scancode_index() -> list[dict[str, object]]:
    path = Path(license_expression.__file__).parent / "data" / "scancode-licensedb-index.json"
    data: list[dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))
    return data


@cache
def aliases() -> dict[str, dict[str, object]]:
    """The alias tables of ``data/licenses/aliases.yaml``: ``hub``, ``provaudit`` and ``names``."""
    loaded: dict[str, dict[str, object]] = yaml.safe_load(
        resource("data", "licenses", "aliases.yaml").read_text(encoding="utf-8")
    )
    return loaded


@cache
def _tables() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(exact ids, lowercase → canonical id; hub ids; squashed names → expression)."""
    exact: dict[str, str] = {}
    squashed: dict[str, str] = {}
    for entry in _scancode_index():
        spdx = entry.get("spdx_license_key") or f"LicenseRef-scancode-{entry['license_key']}"
        assert isinstance(spdx, str)
        if entry.get("is_deprecated"):
            continue
        exact.setdefault(spdx.lower(), spdx)
        exact.setdefault(f"licenseref-scancode-{entry['license_key']}".lower(), spdx)
        for other in entry.get("other_spdx_license_keys") or []:  # type: ignore[attr-defined]
            exact.setdefault(str(other).lower(), spdx)
        squashed.setdefault(_squash(str(entry["license_key"])), spdx)
        squashed.setdefault(_squash(spdx), spdx)
    table = aliases()
    for ref in table["provaudit"]:
        exact[ref.lower()] = ref
    hub = {str(k).lower(): str(v) for k, v in table["hub"].items()}
    # Hub full names ("Apache license 2.0") and datasets' standard_licenses.tsv names
    for line in resource("data", "licenses", "hub_licenses.tsv").read_text(encoding="utf-8").splitlines()[2:]:
        hub_id, fullname, *_ = ([*line.split("\t"), "", ""])[:3]
        if hub_id in hub and fullname:
            squashed[_squash(fullname)] = hub[hub_id]
    for hub_id, expr in hub.items():
        squashed.setdefault(_squash(hub_id), expr)
    for name, target in table["names"].items():
        squashed[_squash(str(name))] = str(target)
    # DPI's paraphrases: free-text variants of their canonical names. Some name another version or family
    # than their canonical ("cc-by-2.0" under "CC BY 3.0", "Creative Commons" under "CC0 1.0", an
    # unversioned "CC-BY" under "CC BY 4.0"); those are left to the readers below instead.
    paraphrases = json.loads(resource("data", "licenses", "dpi", "license_paraphrases.json").read_text("utf-8"))
    for canonical, variants in paraphrases.items():
        target = squashed.get(_squash(canonical))
        if target:
            for variant in variants:
                if _paraphrase_agrees(canonical, variant):
                    squashed.setdefault(_squash(variant), target)
    squashed.pop("", None)
    return exact, hub, squashed


_VERSION = re.compile(r"(?<![\w.])v?\.?\s*(\d)(?:\.(\d))?(?![\w.]*\d)", re.IGNORECASE)
_OTHER_FAMILY = re.compile(r"\b(gnu|gfdl|fdl|gpl|mit|apache|bsd|odc|odbl|pddl)\b", re.IGNORECASE)
_CC = re.compile(r"\bcc\b|\bcc[-\s]?(?:by|0|zero)\b|creative\s*commons?", re.IGNORECASE)
_CC_ELEMENTS: dict[str, re.Pattern[str]] = {
    "zero": re.compile(r"\bcc[-\s]?0\b|\bcc[-\s]?zero\b|\bzero\b", re.IGNORECASE),
    "by": re.compile(r"\bby\b|attribution", re.IGNORECASE),
    "nc": re.compile(r"\bnc\b|non[-\s]?commercial", re.IGNORECASE),
    "nd": re.compile(r"\bnd\b|no[-\s]?deriv", re.IGNORECASE),
    "sa": re.compile(r"\bsa\b|share[-\s]?alike", re.IGNORECASE),
}
# words that make a CC string more than a name: another license, a condition, a second part
_CC_REFUSE = re.compile(
    r"\b(or|and|with|except|but|not|under|unless|gnu|gpl|gfdl|mit|apache|bsd|odc|odbl)\b|[,;+&]", re.I
)

_LICENSED_UNDER = re.compile(
    r"^[\w\s-]{0,60}?\bis\s+(?:made\s+available|licen[cs]ed)\s+under\s+(?:an?\s+|the\s+)?", re.I
)


def _versions(text: str) -> set[str]:
    """Version numbers named in a license string ("4.0", "v3" → "3.0"), URLs and years left out."""
    text = re.sub(r"https?://\S+|\b(19|20)\d\d\b", " ", text)
    return {f"{m.group(1)}.{m.group(2) or 0}" for m in _VERSION.finditer(text)}


def _cc_elements(text: str) -> frozenset[str]:
    return frozenset(name for name, pattern in _CC_ELEMENTS.items() if pattern.search(text))


def _paraphrase_agrees(canonical: str, variant: str) -> bool:
    """Whether a DPI paraphrase names the same license as its canonical name (same version, same CC kind)."""
    if _versions(variant) != _versions(canonical) and _versions(canonical):
        return False  # unversioned or another version: not the canonical's version
    if _OTHER_FAMILY.search(variant) and not _OTHER_FAMILY.search(canonical):
        return False  # "CC BY-SA 3.0 and the GNU Free Documentation License": more than the canonical
    # "Creative Commons" under "CC0 1.0", "CC BY-SA (...)" under "CC BY-SA 4.0": another CC kind
    return not _CC.search(canonical) or _cc_elements(variant) == _cc_elements(canonical)


def _cc_reading(text: str) -> str | None:
    """Read a Creative Commons name by its elements and version ("CC Attribution-Noncommercial-Share Alike 4.0").

    An unnamed version reads as the provaudit family id (``LicenseRef-provaudit-cc-by-sa``), never as the
    latest version; a name with no elements at all ("Creative Commons Public License") as the CC family.
    """
    text = _LICENSED_UNDER.sub("", text)  # "The project is licenced under CC-by-NC"
    if not _CC.search(text) or _CC_REFUSE.search(text) or len(text) > 120:
        return None
    elements = _cc_elements(text)
    versions = _versions(text)
    if len(versions) > 1:
        return None
    version = next(iter(versions), None)
    exact, _, _ = _tables()
    if "zero" in elements:
        if elements != {"zero"} or version not in (None, "1.0"):
            return None  # "CC0 ... BY-SA" or "CC-0 3.0": not one license
        return "CC0-1.0"
    if not elements:
        return "LicenseRef-provaudit-cc" if version is None else None
    if "nd" in elements and "sa" in elements:
        return None
    name = "-".join(e for e in ("by", "nc", "nd", "sa") if e in elements or e == "by")
    if version is None:
        return exact.get(f"licenseref-provaudit-cc-{name}")
    return exact.get(f"cc-{name}-{version}")


def known_symbol(symbol: str) -> bool:
    """Whether a symbol is an SPDX id, a ScanCode LicenseRef or a provaudit LicenseRef we know."""
    exact, _, _ = _tables()
    return symbol.lower() in exact


_LICENSE_REF = re.compile(r"^(DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$")
# license pages by URL: (pattern, how the match becomes an id)
_URLS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"creativecommons\.org/licenses/([a-z-]+)/(\d\.\d)", re.I), "cc-{0}-{1}"),
    # a license page without its version names the family, not the latest version
    (
        re.compile(r"creativecommons\.org/licenses/([a-z-]+)/?(?:legalcode|deed\.\w+)?$", re.I),
        "licenseref-provaudit-cc-{0}",
    ),
    (re.compile(r"creativecommons\.org/publicdomain/zero/1\.0", re.I), "cc0-1.0"),
    (re.compile(r"creativecommons\.org/share-your-work/public-domain/cc0", re.I), "cc0-1.0"),
    (re.compile(r"creativecommons\.org/publicdomain/mark/", re.I), "licenseref-provaudit-public-domain"),
    (re.compile(r"gnu\.org/licenses/(?:old-licenses/)?fdl-(\d\.\d)", re.I), "gfdl-{0}"),
    (re.compile(r"apache\.org/licenses/LICENSE-2\.0", re.I), "apache-2.0"),
    (re.compile(r"spdx\.org/licenses/([A-Za-z0-9.+-]+?)(?:\.html|\.json)?/?$", re.I), "{0}"),
    (re.compile(r"opensource\.org/licenses?/([A-Za-z0-9.+-]+?)(?:\.php|\.html)?/?$", re.I), "{0}"),
    (re.compile(r"gnu\.org/licenses/(?:old-licenses/)?([a-z]+-\d\.\d)", re.I), "{0}"),
    (re.compile(r"opendatacommons\.org/licenses/(odbl|pddl|by)", re.I), "odc-{0}"),
]


def _from_url(url: str) -> str | None:
    for pattern, template in _URLS:
        match = pattern.search(url)
        if match:
            key = template.format(*match.groups()).lower().replace("odc-odbl", "odbl").replace("odc-pddl", "pddl")
            hit = _token(key)
            if hit:
                return hit[0]
    return None


def _token(token: str) -> tuple[str, str] | None:
    """Resolve one license token: (symbol or expression, method)."""
    exact, hub, squashed = _tables()
    low = token.strip().lower()
    if not low:
        return None
    if low.startswith(("http://", "https://")):
        from_url = _from_url(token.strip())
        return (from_url, "url") if from_url else None
    if low in hub:
        return hub[low], "hub-id"
    if low in exact:
        return exact[low], "spdx"
    if low.endswith("+") and low[:-1] in exact:
        base = exact[low[:-1]]
        later = f"{base.removesuffix('-only')}-or-later"
        return (exact.get(later.lower(), base), "spdx")
    key = _squash(token)
    if key in squashed:
        return squashed[key], "name"
    if _LICENSE_REF.match(token.strip()):
        return token.strip(), "spdx"  # a user-defined LicenseRef is valid SPDX as it stands
    cc = _cc_reading(token.strip())
    if cc:
        return cc, "name"
    return _with_note(token.strip())


_PAREN = re.compile(r"^(?P<main>[^()]+?)\s*\((?P<note>[^()]*)\)\s*\.?$")


def _with_note(token: str) -> tuple[str, str] | None:
    """ "Name (note)": the name's reading when the note is a URL or names the same license (or its family).

    Any other note may change the meaning ("MIT (non-commercial)", "Proprietary (see the website)").
    """
    match = _PAREN.match(token)
    if not match:
        return None
    main = _token(match.group("main"))
    if main is None or " " in main[0]:
        return None
    note = match.group("note").strip()
    if re.fullmatch(r"https?://\S+", note):
        return main[0], "name"
    read = _token(note) if note else None
    if read and (read[0] == main[0] or _family(main[0]) == read[0]):
        return main[0], "name"
    return None


def _family(symbol: str) -> str:
    """The unversioned family id of a versioned CC id ("CC-BY-SA-4.0" → the cc-by-sa family)."""
    match = re.fullmatch(r"CC-(BY(?:-NC)?(?:-ND|-SA)?)-\d\.\d", symbol)
    return f"LicenseRef-provaudit-cc-{match.group(1).lower()}" if match else symbol


def _as_expression(raw: str) -> str | None:
    """Read an SPDX expression with AND/OR/WITH whose symbols we can each resolve."""
    parts = _OPERATORS.split(raw)
    if len(parts) == 1:
        return None
    out: list[str] = []
    for part in parts:
        if not part.strip():
            continue
        if part in "()":
            out.append(part)
        elif _OPERATORS.fullmatch(part):
            out.append(f" {part.strip().upper()} ")
        else:
            hit = _token(part)
            if hit is None:
                return None
            out.append(hit[0] if " " not in hit[0] else f"({hit[0]})")
    text = "".join(out).replace("( ", "(").replace(" )", ")")
    return _parse(text)


def _parse(text: str) -> str | None:
    try:
        return str(_PLAIN.parse(text, simple=True))
    except (ExpressionError, IndexError, TypeError, ValueError):
        # boolean.py raises IndexError/TypeError on some malformed input ("()"), not only ParseError
        return None


_WITH_PART = re.compile(r"^(?P<a>[^,;]+?),?\s+with\s+[\w\s-]{1,40}?\s+(?:licensed\s+)?under\s+(?P<b>.+)$", re.I)


# not `_OPERATORS` (the splitter above): rebinding that name made `MIT OR CC-BY-NC-4.0` read as `MITCC-BY-NC-4.0`
_OPERATOR_WORDS = re.compile(r"\b(?:and|or|with)\b", re.IGNORECASE)


def expression_terms(text: str) -> int:
    """How many licence terms a string joins with AND, OR and WITH (counted, never parsed)."""
    return len(_OPERATOR_WORDS.findall(text)) + 1


@lru_cache(maxsize=65536)
def normalize(raw: str) -> Normalized:
    """Read one declared license string. Never raises; an unreadable string comes back unread."""
    text = " ".join(str(raw).split())
    if not text:
        return Normalized(raw, None, "empty", 0.0)
    hit = _token(text)
    if hit:
        confidence = {"hub-id": 1.0, "spdx": 1.0, "name": 0.9, "url": 0.9}[hit[1]]
        return Normalized(raw, hit[0], hit[1], confidence)
    terms = expression_terms(text)
    if terms > limits.MAX_EXPRESSION_TERMS:  # parsing and simplifying grow faster than the length: not read
        why = f"{terms} licence terms, more than the {limits.MAX_EXPRESSION_TERMS} limit (--max-expression-terms)"
        return Normalized(raw, None, "too-long", 0.0, (why,))
    expression = _as_expression(text)
    if expression:
        return Normalized(raw, expression, "expression", 1.0)
    parts = _WITH_PART.match(text)
    if parts:
        # "CC0, with comment text under CC-BY-SA-3.0": two licenses for two parts, both apply
        first, second = _token(parts.group("a")), _token(parts.group("b"))
        if first and second:
            joined = _parse(" AND ".join(f"({s})" if " " in s else s for s in (first[0], second[0])))
            if joined:
                return Normalized(raw, joined, "split", 0.8)
    pieces = [p for p in _SEPARATORS.split(text) if p.strip()]
    if len(pieces) > 1:
        resolved = [_token(p) for p in pieces]
        if all(resolved):
            symbols = list(dict.fromkeys(r[0] for r in resolved if r))
            joined = " AND ".join(f"({s})" if " " in s else s for s in symbols)
            parsed = _parse(joined)
            if parsed:
                return Normalized(raw, parsed, "split", 0.8)
    return Normalized(raw, None, "unread", 0.0, (text,))


def license_symbols(expression: str) -> list[str]:
    """The license ids in an expression, in order, without duplicates (a WITH exception after its license)."""
    return list(_license_symbols(expression))


# a review asks for the symbols of the same few hundred expressions tens of thousands of times (each claim,
# each policy rule, each lineage step); parsing was a tenth of its CPU. Bounded: an expression is short.
@lru_cache(maxsize=16384)
def _license_symbols(expression: str) -> tuple[str, ...]:
    try:
        parsed = _PLAIN.parse(expression, simple=True)
    except (ExpressionError, IndexError, TypeError, ValueError):
        return (expression,)
    keys: dict[str, None] = {}
    for symbol in _PLAIN.license_symbols(parsed, decompose=True):
        keys.setdefault(str(symbol.key), None)
    return tuple(keys)


def license_iri(symbol: str) -> str:
    """The IRI a license id stands for in RDF (``dcterms:license`` objects)."""
    if symbol.startswith("LicenseRef-scancode-"):
        return "https://scancode-licensedb.aboutcode.org/" + symbol.removeprefix("LicenseRef-scancode-")
    if symbol.startswith("LicenseRef-provaudit-"):
        return "https://w3id.org/provaudit/license/" + symbol.removeprefix("LicenseRef-provaudit-")
    if symbol.startswith("LicenseRef-"):
        return "https://w3id.org/provaudit/license/ref/" + symbol.removeprefix("LicenseRef-")
    return "http://spdx.org/licenses/" + symbol


def symbol_from_iri(iri: str) -> str:
    for prefix, ref in (
        ("https://scancode-licensedb.aboutcode.org/", "LicenseRef-scancode-"),
        ("https://w3id.org/provaudit/license/ref/", "LicenseRef-"),
        ("https://w3id.org/provaudit/license/", "LicenseRef-provaudit-"),
        ("http://spdx.org/licenses/", ""),
    ):
        if iri.startswith(prefix):
            return ref + iri[len(prefix) :]
    return iri
