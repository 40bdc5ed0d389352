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
    method: str  # hub-id | spdx | expression | name | split | unread | empty
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
    for name, expr in table["names"].items():
        squashed[_squash(str(name))] = str(expr)
    # DPI's paraphrases: free-text variants of their canonical names
    paraphrases = json.loads(resource("data", "licenses", "dpi", "license_paraphrases.json").read_text("utf-8"))
    for canonical, variants in paraphrases.items():
        target = squashed.get(_squash(canonical))
        if target:
            for variant in variants:
                squashed.setdefault(_squash(variant), target)
    squashed.pop("", None)
    return exact, hub, squashed


def known_symbol(symbol: str) -> bool:
    """Whether a symbol is an SPDX id, a ScanCode LicenseRef or a provaudit LicenseRef we know."""
    exact, _, _ = _tables()
    return symbol.lower() in exact


_LICENSE_REF = re.compile(r"^(DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$")
# license pages by URL: (pattern, how the match becomes an id)
_URLS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"creativecommons\.org/licenses/([a-z-]+)/(\d\.\d)", re.I), "cc-{0}-{1}"),
    (re.compile(r"creativecommons\.org/publicdomain/zero/1\.0", re.I), "cc0-1.0"),
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
    return None


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
    expression = _as_expression(text)
    if expression:
        return Normalized(raw, expression, "expression", 1.0)
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
    """The license ids in an expression, in order, without duplicates (exceptions dropped)."""
    try:
        parsed = _PLAIN.parse(expression, simple=True)
    except (ExpressionError, IndexError, TypeError, ValueError):
        return [expression]
    keys: list[str] = []
    for symbol in _PLAIN.license_symbols(parsed, decompose=True):
        key = str(symbol.key)
        if key not in keys:
            keys.append(key)
    return keys


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
