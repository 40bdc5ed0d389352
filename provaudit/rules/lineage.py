"""Effective terms through the lineage: most restrictive wins, obligations accumulate.

A dataset's effective terms combine its own counted license claims, those of its upstream sources
and the terms of the models that generated it; a model's combine its base models and its training
data. Which relations flow is the policy's choice. Cycles, self-derivation and missing upstream
records are findings, never crashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

import yaml
from license_expression import AND, OR, ExpressionError, Licensing

from provaudit.licenses.kb import Terms, Use, terms_for
from provaudit.records.model import Finding, LicenseClaim, Record, Relation, Severity, Source
from provaudit.resources import resource
from provaudit.rules.policy import Policy
from provaudit.rules.report import EvidenceStep

_PLAIN = Licensing()
# step "licenses" that are no SPDX id: no license at all, an unreadable string, a DPI class name
NOT_A_LICENSE = ("NONE", "UNREAD:", "DPI:")
UNKNOWN = "LicenseRef-provaudit-unknown"


@dataclass
class Effective:
    """The combined terms of one record and the evidence for them."""

    use: Use | None = None
    attribution: bool = False
    share_alike: bool = False
    no_derivatives: bool = False
    use_restrictions: bool = False
    licenses: list[str] = field(default_factory=list)  # license ids, in order of discovery
    steps: list[EvidenceStep] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    own: list[tuple[LicenseClaim, Terms]] = field(default_factory=list)

    def add(self, terms: Terms, step: EvidenceStep, blocks: bool) -> None:
        """Combine one license's terms: the most restrictive use wins, obligations accumulate.

        With ``blocks`` false (policy: unspecified does not block commercial use) an unspecified
        contribution never overrides a known use.
        """
        if terms.use is Use.UNSPECIFIED and not blocks:
            self.use = self.use or Use.UNSPECIFIED
        elif (
            self.use is None
            or (self.use is Use.UNSPECIFIED and not blocks)
            or terms.use.restrictiveness > self.use.restrictiveness
        ):
            self.use = terms.use
        self.attribution |= terms.attribution
        self.share_alike |= terms.share_alike
        self.no_derivatives |= terms.no_derivatives
        self.use_restrictions |= terms.use_restrictions
        if step.license and step.license not in self.licenses:
            self.licenses.append(step.license)
        if step not in self.steps:
            self.steps.append(step)

    @property
    def verdict(self) -> Use:
        return self.use or Use.UNSPECIFIED

    def expression(self) -> str | None:
        symbols = [s for s in self.licenses if not s.startswith(NOT_A_LICENSE)]
        if not symbols:
            return None
        text = " AND ".join(s if " " not in s else f"({s})" for s in symbols)
        try:
            return str(_PLAIN.parse(text, simple=True).simplify())
        except ExpressionError:
            return text


@cache
def _providers() -> list[tuple[re.Pattern[str], str, str, str]]:
    data = yaml.safe_load(resource("data", "licenses", "providers.yaml").read_text(encoding="utf-8"))
    return [
        (re.compile(p["pattern"], re.IGNORECASE), p["provider"], p["terms"], p["source"]) for p in data["providers"]
    ]


def provider_terms(model_name: str) -> tuple[str, Terms] | None:
    """(provider, terms) for a generating model without a record, from data/licenses/providers.yaml."""
    for pattern, provider, symbol, _source in _providers():
        if pattern.search(model_name):
            return provider, terms_for(symbol)
    return None


def claim_terms(policy: Policy, claim: LicenseClaim) -> list[Terms]:
    """Terms of one claim; for `A OR B` the least restrictive alternative is the one a user may pick."""
    if policy.classification == "terms" and claim.expression and " OR " in claim.expression:
        try:
            parsed = _PLAIN.parse(claim.expression)
        except ExpressionError:
            return policy.classify(claim)
        return _alternatives(parsed)
    return policy.classify(claim)


def _alternatives(node: object) -> list[Terms]:
    if isinstance(node, OR):
        options = [_alternatives(arg) for arg in node.args]
        return min(options, key=lambda ts: max(t.use.restrictiveness for t in ts))
    if isinstance(node, AND):
        return [t for arg in node.args for t in _alternatives(arg)]
    key = getattr(node, "key", None) or str(node)
    return [terms_for(str(key))]


class Lineage:
    """Computes effective terms for every record of a collection, memoized."""

    def __init__(self, records: dict[str, Record], policy: Policy) -> None:
        self.records = records
        self.policy = policy
        self._memo: dict[str, Effective] = {}

    def counted(self, record: Record) -> list[tuple[LicenseClaim, Terms]]:
        return [(c, t) for c in record.claims if self.policy.counts(c) for t in claim_terms(self.policy, c)]

    def effective(self, rid: str) -> Effective:
        return self._compute(rid, [])

    def _compute(self, rid: str, stack: list[str]) -> Effective:
        if rid in self._memo:
            return self._memo[rid]
        record = self.records[rid]
        policy = self.policy
        blocks = policy.unspecified_blocks_commercial
        eff = Effective()
        eff.own = self.counted(record)
        unknown = [(c, t) for c, t in eff.own if c.expression == UNKNOWN]
        if policy.unknown_is_absence and unknown and len(unknown) < len(eff.own):
            # "unknown" from one source is absence of information when another source names a license
            eff.own = [(c, t) for c, t in eff.own if c.expression != UNKNOWN]
            for claim, _ in unknown:
                eff.steps.append(
                    EvidenceStep(
                        record=rid, path=[rid], source=f"{claim.source.describe()} ({claim.raw!r})",
                        note="declares no license; other declarations name one, so it does not count",
                    )
                )
        if not eff.own:
            missing = Terms(
                license="NONE",
                use=policy.missing_license,
                source=f"policy {policy.name}: no license declared means all rights reserved",
                known=False,
            )
            eff.add(missing, EvidenceStep(record=rid, path=[rid], use=missing.use, note=missing.source), True)
        for claim, terms in eff.own:
            eff.add(
                terms,
                EvidenceStep(
                    record=rid,
                    path=[rid],
                    license=terms.license,
                    use=terms.use,
                    source=f"{claim.source.describe()} ({claim.raw!r})",
                    terms_source=terms.source,
                ),
                blocks,
            )
        if policy.lineage:
            stack.append(rid)
            seen: set[str] = set()
            for link in record.upstream:
                if link.relation not in policy.propagate or (link.target, link.relation) in seen:
                    continue
                seen.add((link.target, link.relation))  # type: ignore[arg-type]
                self._follow(rid, link.target, link.relation, link.raw, link.source, stack, eff, blocks)
            stack.pop()
        self._memo[rid] = eff
        return eff

    def _follow(
        self,
        rid: str,
        target: str,
        relation: Relation,
        raw: str,
        source: Source,
        stack: list[str],
        eff: Effective,
        blocks: bool,
    ) -> None:
        where = source.describe()
        if target == rid:
            eff.findings.append(
                Finding(
                    rule="PA111",
                    severity=Severity.WARNING,
                    message=f"{rid} declares itself as its own upstream ({relation.value}: {raw!r})",
                    source=source,
                    fix="remove the self-reference",
                    evidence=[where],
                )
            )
            return
        if target in stack:
            cycle = [*stack[stack.index(target) :], target]
            eff.findings.append(
                Finding(
                    rule="PA110",
                    severity=Severity.ERROR,
                    message=f"lineage cycle: {' → '.join(cycle)}",
                    source=source,
                    fix="a record cannot derive from its own descendants; fix the upstream links",
                    evidence=cycle,
                )
            )
            return
        if target in self.records:
            sub = self._compute(target, stack)
            for step in sub.steps:
                eff_step = step.model_copy(update={"path": [rid, *step.path]})
                if step.record == target and eff_step.relation is None:
                    eff_step.relation = relation.value
                if sub.use is not None and step.use is not None:
                    terms = Terms(
                        license=step.license or "NONE",
                        use=step.use,
                        attribution=sub.attribution,
                        share_alike=sub.share_alike,
                        no_derivatives=sub.no_derivatives,
                        use_restrictions=sub.use_restrictions,
                        source=step.terms_source or "",
                    )
                    eff.add(terms, eff_step, blocks)
            eff.findings.extend(f for f in sub.findings if f.rule == "PA110" and f not in eff.findings)
            return
        if relation is Relation.GENERATED_BY:
            found = provider_terms(raw)
            if found:
                provider, terms = found
                eff.add(
                    terms,
                    EvidenceStep(
                        record=target,
                        path=[rid, target],
                        relation=relation.value,
                        license=terms.license,
                        use=terms.use,
                        source=where,
                        terms_source=terms.source,
                        note=f"generated by {raw} ({provider} terms)",
                    ),
                    blocks,
                )
                return
        eff.findings.append(
            Finding(
                rule="PA112",
                severity=Severity.INFO if relation is Relation.GENERATED_BY else Severity.WARNING,
                message=f"upstream {target} ({relation.value}, declared as {raw!r}) has no record in the store; "
                "its terms are not known",
                source=source,
                fix=f"scan {raw} too (e.g. `provaudit scan hf:...`) so its terms are reviewed",
                evidence=[where],
            )
        )
        if self.policy.missing_upstream == "unspecified":
            unknown = Terms(license="NONE", use=Use.UNSPECIFIED, source="upstream not in the store", known=False)
            eff.add(
                unknown,
                EvidenceStep(
                    record=target,
                    path=[rid, target],
                    relation=relation.value,
                    use=Use.UNSPECIFIED,
                    source=where,
                    note="upstream not in the store",
                ),
                blocks,
            )
