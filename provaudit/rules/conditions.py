"""Conditions a licence attaches to the use it permits: user limits, use policies, notices, RAIL restrictions.

"Commercial use" under the Llama 2 licence is not the answer "commercial use" under Apache-2.0: it holds
only below 700 million monthly active users, under an acceptable-use policy, with a notice to ship. The
`use` category stays the same (scripts depend on it); each verdict lists these conditions beside it,
read from the facts of data/licenses/terms.yaml (``mau_limit``, ``use_policy``, ``attribution_notice``,
``use_restrictions``), each with the clause of the licence that sets it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from provaudit.licenses.kb import Terms, Use, terms_for
from provaudit.rules.report import Condition, EvidenceStep

# condition kinds, in the order a reader meets them
MAU_LIMIT = "mau_limit"
USE_POLICY = "use_policy"
NOTICE = "attribution_notice"
USE_RESTRICTIONS = "use_restrictions"
KINDS = (MAU_LIMIT, USE_POLICY, NOTICE, USE_RESTRICTIONS)
KIND_LABELS = {
    MAU_LIMIT: "monthly-user limit",
    USE_POLICY: "acceptable-use policy",
    NOTICE: "required notice",
    USE_RESTRICTIONS: "use restrictions",
}
# words that mark the clause of a licence setting each condition, in the `source` of terms.yaml
_CLAUSE_WORDS = {
    MAU_LIMIT: re.compile(r"\bMAU\b|[Mm]onthly active"),
    USE_POLICY: re.compile(r"\bAUP\b|acceptable use|prohibited use|use polic", re.IGNORECASE),
    NOTICE: re.compile(r"notice|built with", re.IGNORECASE),
    USE_RESTRICTIONS: re.compile(r"restriction|attachment a|paragraph [45]", re.IGNORECASE),
}
_CLAUSE_NUMBER = re.compile(r"\b(?:s\.|§)\s?[0-9IVX](?:[0-9A-Za-z.]*[0-9A-Za-z])?")


def clause_of(terms: Terms, kind: str) -> str:
    """The clause of the licence that sets this condition, from the terms' cited source.

    terms.yaml cites clauses in its ``source`` ("https://… (s.1.b.iv Acceptable Use Policy; s.2 >700M
    MAU needs a licence)"): the first cited part mentioning the condition, by its number when it has one.
    """
    cited = terms.source
    inner = cited[cited.find("(") + 1 : cited.rfind(")")] if "(" in cited else ""
    for part in [*inner.split(";"), *(terms.note or "").split(";")]:
        if _CLAUSE_WORDS[kind].search(part):
            number = _CLAUSE_NUMBER.search(part)
            return number.group(0) if number else part.strip(" )")[:120]
    return f"the licence text ({_where(terms)}; terms.yaml cites no clause)"


def _where(terms: Terms) -> str:
    return terms.source.split(" (", 1)[0]


def license_conditions(terms: Terms) -> list[tuple[str, str]]:
    """(kind, text) of every condition one licence attaches to the use it permits."""
    out: list[tuple[str, str]] = []
    if terms.mau_limit:
        out.append(
            (
                MAU_LIMIT,
                f"above {terms.mau_limit:,} monthly active users a separate licence from the licensor is needed",
            )
        )
    if terms.use_policy:
        out.append((USE_POLICY, f"every use must follow the acceptable-use policy {terms.use_policy}"))
    if terms.attribution_notice:
        out.append((NOTICE, f"ship this notice with the model or its derivatives: “{terms.attribution_notice}”"))
    if terms.use_restrictions and not terms.use_policy:
        out.append(
            (
                USE_RESTRICTIONS,
                "use-based restrictions bind every use and must be passed on in the licence of any derivative",
            )
        )
    return out


def conditions(steps: Iterable[EvidenceStep]) -> list[Condition]:
    """The conditions of every licence the verdict counts, once each, with the record that brings it."""
    out: list[Condition] = []
    seen: set[tuple[str, str]] = set()
    for step in steps:
        symbol = step.license
        if not symbol or symbol.startswith(("NONE", "UNREAD:", "DPI:")) or step.use is None:
            continue
        terms = terms_for(symbol)
        for kind, text in license_conditions(terms):
            if (kind, text) in seen:
                continue
            seen.add((kind, text))
            out.append(
                Condition(
                    kind=kind,
                    text=text,
                    clause=clause_of(terms, kind),
                    source=f"{step.record}: {symbol}, {_where(terms)}",
                )
            )
    return sorted(out, key=lambda c: KINDS.index(c.kind))


def use_phrase(use: Use, conditioned: bool) -> str:
    """The verdict in words: "commercial with conditions" when the licence sets any."""
    return f"{use.value} with conditions" if conditioned and use is Use.COMMERCIAL else use.value
