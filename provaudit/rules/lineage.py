"""Effective terms through the lineage: most restrictive wins, obligations accumulate.

A dataset's effective terms combine its own counted license claims, those of its upstream sources
and the terms of the models that generated it; a model's combine its base models and its training
data. Which relations flow is the policy's choice. Cycles, self-derivation and missing upstream
records are findings, never crashes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import yaml
from license_expression import AND, OR, ExpressionError, Licensing

from provaudit import limits
from provaudit.licenses.kb import Terms, Use, terms_for
from provaudit.records.identity import hub_target, id_key, split_id
from provaudit.records.model import BASE_RELATIONS, Finding, Kind, LicenseClaim, Record, Relation, Severity, Upstream
from provaudit.resources import resource
from provaudit.rules.authority import PROSE_FIELD, authority, is_expert
from provaudit.rules.names import NameIndex, name_entry, squash
from provaudit.rules.policy import Policy, dpi_terms
from provaudit.rules.report import EvidenceStep, UnresolvedUpstream

_PLAIN = Licensing()
_DEPTH_LIMIT = "beyond the lineage depth limit"
# step "licenses" that are no SPDX id: no license at all, an unreadable string, a DPI class name
NOT_A_LICENSE = ("NONE", "UNREAD:", "DPI:")
UNKNOWN = "LicenseRef-provaudit-unknown"
OTHER = "LicenseRef-provaudit-other"  # the Hub's `other`: a custom license, named and linked in the card
# what the Hub collector reports when a repo could not be read at all (gated, 404, unreachable, rate
# limited, offline and not cached): see provaudit.collectors._hub_http
FETCH_FAILED = frozenset({"PA010", "PA011", "PA012", "PA013", "PA014"})
# declarations that name no license: "unknown", and "Various" (several licenses, none itemized)
_ABSENT = frozenset({UNKNOWN, "LicenseRef-provaudit-various"})
# placeholders for terms someone has to read: an expert's class of them is the better evidence
_PLACEHOLDERS = frozenset(
    {"LicenseRef-provaudit-custom", "LicenseRef-provaudit-various", "LicenseRef-provaudit-request-form"}
)


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
    unresolved: list[UnresolvedUpstream] = field(default_factory=list)
    # what the lists above hold, for membership tests in constant time: a record with 100,000
    # upstreams or 50,000 licences must not make the walk quadratic
    _license_set: set[str] = field(default_factory=set, repr=False, compare=False)
    _step_keys: set[str] = field(default_factory=set, repr=False, compare=False)
    _unresolved_keys: set[str] = field(default_factory=set, repr=False, compare=False)

    def add_step(self, step: EvidenceStep) -> None:
        """Append a step unless an equal one is there."""
        key = step.model_dump_json()
        if key not in self._step_keys:
            self._step_keys.add(key)
            self.steps.append(step)

    def add_unresolved(self, missing: UnresolvedUpstream) -> None:
        """Append an unresolved upstream unless an equal one is there."""
        key = missing.model_dump_json()
        if key not in self._unresolved_keys:
            self._unresolved_keys.add(key)
            self.unresolved.append(missing)

    @property
    def complete(self) -> bool:
        """Every propagating upstream of the lineage has a record (its terms were reviewed)."""
        return not self.unresolved

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
        if step.license and step.license not in self._license_set:
            self._license_set.add(step.license)
            self.licenses.append(step.license)
        self.add_step(step)

    @property
    def verdict(self) -> Use:
        return self.use or Use.UNSPECIFIED

    def expression(self) -> str | None:
        symbols = [s for s in self.licenses if not s.startswith(NOT_A_LICENSE)]
        if not symbols:
            return None
        text = " AND ".join(s if " " not in s else f"({s})" for s in symbols)
        if len(symbols) > limits.MAX_EXPRESSION_TERMS:  # simplifying is quadratic: shown as declared
            return text
        return _simplified(text)


@lru_cache(maxsize=65536)
def _simplified(text: str) -> str:
    """An AND of licences, simplified; parsed once per distinct text (a collection repeats a few hundred)."""
    try:
        return str(_PLAIN.parse(text, simple=True).simplify())
    except ExpressionError:
        return text


def is_order_dependent(eff: Effective) -> bool:
    """Whether terms name the path the walk took to them (a cycle, the depth limit): computed from another
    record first, they could read differently."""
    return any(f.rule == "PA110" for f in eff.findings) or any(
        (u.reason or "").startswith(_DEPTH_LIMIT) for u in eff.unresolved
    )


def _not_followed(rid: str, link: Upstream, reason: str) -> UnresolvedUpstream:
    """An upstream link the bounded walk does not follow, and why."""
    return UnresolvedUpstream(
        target=link.target,
        relation=link.relation.value,
        raw=link.raw,
        via=[rid],
        source=link.source.describe(),
        inferred=link.inferred,
        reason=reason,
    )


_RUN_OUTPUT_NOTE = (
    "made by a training or pipeline run from its inputs, with no licence of its own: its inputs' terms apply"
)


def _made_by_a_run(record: Record) -> bool:
    """An artifact a recorded run made (a pipeline stage's data, a trained model), linked to its inputs."""
    return record.kind is not Kind.PACKAGE and any(
        u.source.collector == "run" and (u.source.field or "").startswith("used ") for u in record.upstream
    )


# Obligations a licence may add beside its use category: a sentence adding one is stricter.
_DUTIES = ("attribution", "share_alike", "no_derivatives", "use_restrictions")


@cache
def _providers() -> list[tuple[re.Pattern[str], str, str, str]]:
    data = yaml.safe_load(resource("data", "licenses", "providers.yaml").read_text(encoding="utf-8"))
    return [
        (re.compile(p["pattern"], re.IGNORECASE), p["provider"], p["terms"], p["source"]) for p in data["providers"]
    ]


@cache
def _corpora() -> dict[str, tuple[str, str, str]]:
    """Squashed name → (corpus, terms id, source with the clause) from data/licenses/source_corpora.yaml."""
    data = yaml.safe_load(resource("data", "licenses", "source_corpora.yaml").read_text(encoding="utf-8"))
    return {
        squash(str(name)): (str(c["corpus"]), str(c["terms"]), str(c["source"]))
        for c in data["corpora"]
        for name in c["names"]
    }


def corpus_terms(*names: str) -> tuple[str, str, Terms] | None:
    """(corpus, where its terms are stated, terms) of a source corpus no store holds, named exactly."""
    for name in names:
        found = _corpora().get(squash(name))
        if found:
            corpus, symbol, source = found
            return corpus, source, terms_for(symbol)
    return None


@lru_cache(maxsize=65536)
def provider_terms(model_name: str) -> tuple[str, Terms] | None:
    """(provider, terms) for a generating model without a record, from data/licenses/providers.yaml (asked once
    per distinct name: a collection names the same base models again and again)."""
    for pattern, provider, symbol, _source in _providers():
        if pattern.search(model_name):
            return provider, terms_for(symbol)
    return None


def claim_terms(policy: Policy, claim: LicenseClaim) -> list[Terms]:
    """Terms of one claim; for `A OR B` the least restrictive alternative is the one a user may pick.

    With ``expert_classes`` an expert audit's own class of a license (DPI's ``license_classes.json``,
    custom licenses by URL) counts beside the terms knowledge base: it replaces a placeholder
    (``Custom``, ``Various``: the expert read that text, provaudit did not) and adds to a known license
    when it is stricter, so the careful policy is never more permissive than the expert.
    """
    terms = _claim_terms(policy, claim)
    if policy.classification != "terms" or not policy.expert_classes or not is_expert(claim):
        return terms
    expert = dpi_terms(claim.raw, claim.link or claim.source.url)
    if expert is None:
        return terms
    label = claim.expression or expert.license
    if all(t.license in _PLACEHOLDERS for t in terms):
        note = "the expert audit's class of these terms (provaudit has no reading of its own)"
        return [expert.model_copy(update={"license": label, "note": note})]
    if expert.use.restrictiveness > max(t.use.restrictiveness for t in terms):
        note = "the expert audit classes this license more strictly than its terms read; the stricter counts"
        return [*terms, expert.model_copy(update={"attribution": False, "share_alike": False, "note": note})]
    return terms


def _claim_terms(policy: Policy, claim: LicenseClaim) -> list[Terms]:
    if policy.classification == "terms" and claim.expression and " OR " in claim.expression:
        chosen = _alternative_terms(claim.expression)
        return list(chosen) if chosen is not None else policy.classify(claim)
    return policy.classify(claim)


@lru_cache(maxsize=16384)
def _alternative_terms(expression: str) -> tuple[Terms, ...] | None:
    """The least restrictive alternative's terms of an expression with OR (None: it does not parse)."""
    try:
        parsed = _PLAIN.parse(expression)
    except ExpressionError:
        return None
    return tuple(_alternatives(parsed))


def _alternatives(node: object) -> list[Terms]:
    if isinstance(node, OR):
        options = [_alternatives(arg) for arg in node.args]
        return min(options, key=lambda ts: max(t.use.restrictiveness for t in ts))
    if isinstance(node, AND):
        return [t for arg in node.args for t in _alternatives(arg)]
    key = getattr(node, "key", None) or str(node)
    return [terms_for(str(key))]


def fetch_failure(record: Record) -> Finding | None:
    """The Hub's refusal, when that is all a record holds (a 404'd or gated repo); else None.

    Such a record is no audit of the upstream: a link to it stays unresolved, with the refusal as reason.
    """
    if record.version or record.claims or record.upstream or record.facts or record.files or record.agents:
        return None
    return next((f for f in record.findings if f.rule in FETCH_FAILED), None)


@dataclass(frozen=True)
class LinkFacts:
    """What resolving links to a record needs of it: whether it is only a failed fetch, its Hub-id facts
    (DPI's parts of a Hub dataset), titles and collections (names). Kept apart from the record so that
    a review cache can resolve links to every record of a collection without reading them all."""

    failure: Finding | None = None
    hf_datasets: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()

    @classmethod
    def of(cls, record: Record) -> LinkFacts:
        titles, collections, hubs = name_entry(record)
        return cls(fetch_failure(record), tuple(hubs), tuple(titles), tuple(collections))

    @classmethod
    def of_data(cls, data: Mapping[str, Any]) -> LinkFacts:
        """:meth:`of` a record given as plain JSON data (:meth:`provaudit.store.bulk.LeanRevision.data`), read
        without validating the whole record."""
        facts = data.get("facts") or []

        def values(key: str) -> tuple[str, ...]:
            return tuple(f["value"] for f in facts if f["key"] == key and f["value"].strip())

        failure = None
        if not any(data.get(k) for k in ("version", "claims", "upstream", "facts", "files", "agents")):
            found = next((f for f in data.get("findings") or [] if f["rule"] in FETCH_FAILED), None)
            failure = Finding.model_validate(found) if found else None
        return cls(failure, values("hf_dataset"), values("title"), values("collection"))


class Lineage:
    """Computes effective terms for every record of a collection, memoized."""

    def __init__(
        self, records: Mapping[str, Record], policy: Policy, links: Mapping[str, LinkFacts] | None = None
    ) -> None:
        """``links``: every record's :class:`LinkFacts` in the collection's order (default: read from ``records``,
        which then need hold only the records the walk reaches)."""
        self.records = records
        self.policy = policy
        self._memo: dict[str, Effective] = {}
        facts = links if links is not None else {rid: LinkFacts.of(r) for rid, r in records.items()}
        # the Hub matches repo ids case-insensitively, so links do too
        self._failed = {rid: f.failure for rid, f in facts.items() if f.failure is not None}
        self._keys = {id_key(rid): rid for rid in facts if rid not in self._failed}
        # DPI splits some Hub datasets into several records (or names them differently); each keeps the
        # Hub id as a sourced fact, so a link to that Hub id reaches the parts DPI audited
        self._parts: dict[str, list[str]] = {}
        for rid, fact in facts.items():
            for value in fact.hf_datasets:
                if id_key(f"dataset:{value}") != id_key(rid):
                    self._parts.setdefault(id_key(f"dataset:{value}"), []).append(rid)
        self._facts = facts
        self._name_index: NameIndex | None = None

    @property
    def _names(self) -> NameIndex:
        """An upstream named by a variant of a record's id, title or Hub id ("cnn/daily mail", "mnli"); made
        when a link first needs it (a review of one changed record whose links all resolve never does)."""
        if self._name_index is None:
            facts, failed = self._facts, self._failed
            self._name_index = NameIndex(
                entries=((rid, f.titles, f.collections, f.hf_datasets) for rid, f in facts.items() if rid not in failed)
            )
        return self._name_index

    def find(self, target: str) -> str | None:
        """The id of the record a link points at (case-insensitive), or None when it has no record."""
        if target in self.records and target not in self._failed:
            return target
        return self._keys.get(id_key(target))

    def parts(self, target: str) -> list[str]:
        """Records that are parts of a Hub dataset with no record of its own (DPI's split collections)."""
        return [] if self.find(target) else self._parts.get(id_key(target), [])

    def counted(self, record: Record) -> list[tuple[LicenseClaim, Terms]]:
        return [(c, t) for c in record.claims if self.policy.counts(c) for t in claim_terms(self.policy, c)]

    def follows(self, link: Upstream) -> bool:
        """Whether terms flow through this link under the policy."""
        if link.relation not in self.policy.propagate:
            return False
        return not link.inferred or self.policy.inferred_links == "follow"

    def effective(self, rid: str) -> Effective:
        return self._compute(rid, [])

    def forget(self, keep: int) -> None:
        """Let go of memoized terms, oldest first, when more than ``keep`` are held (a collection of 100,000
        records). Those that depend on where the walk started (:func:`is_order_dependent`) stay: computed
        again they could read differently; every other record's terms are the same whenever computed."""
        if len(self._memo) <= keep:
            return
        for rid in list(self._memo)[: len(self._memo) - keep // 2]:
            if not is_order_dependent(self._memo[rid]):
                del self._memo[rid]

    def _compute(self, rid: str, stack: list[str]) -> Effective:
        if rid in self._memo:
            return self._memo[rid]
        record = self.records[rid]
        policy = self.policy
        blocks = policy.unspecified_blocks_commercial
        eff = Effective()
        eff.own = self.counted(record)
        if policy.unknown_is_absence:
            self._drop_absent(rid, eff)
        self._drop_weaker_prose(rid, eff)
        if not eff.own and _made_by_a_run(record):
            # the user's own pipeline made it from its inputs: their terms flow in through its links
            eff.add_step(EvidenceStep(record=rid, path=[rid], note=_RUN_OUTPUT_NOTE))
        elif not eff.own:
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
                    source=_declared(claim),
                    terms_source=f"license_link {claim.link}"
                    if claim.link and (not terms.known or terms.license == OTHER)
                    else terms.source,
                    authority=authority(claim).label,
                    note=terms.note if "Data Provenance Initiative" in terms.source else None,
                ),
                blocks,
            )
        if policy.lineage:
            stack.append(rid)
            seen: set[tuple[str, Relation]] = set()
            for link in record.upstream:
                if not self.follows(link) or (id_key(link.target), link.relation) in seen:
                    continue
                seen.add((id_key(link.target), link.relation))
                if len(seen) > policy.max_upstreams:  # bounded work per record; the verdict says it is partial
                    reason = (
                        f"{rid} has {len(record.upstream)} upstream links, more than the {policy.max_upstreams} "
                        "followed (--max-upstreams); this and the rest are not followed"
                    )
                    eff.add_unresolved(_not_followed(rid, link, reason))
                    break
                if len(stack) > policy.max_depth:
                    # a bounded walk: deeper than any real lineage, and Python's stack is finite
                    reason = f"{_DEPTH_LIMIT} ({policy.max_depth} links); not followed"
                    eff.add_unresolved(_not_followed(rid, link, reason))
                    continue
                self._follow(rid, link, stack, eff, blocks)
            stack.pop()
            if eff.unresolved:
                eff.findings.append(_not_audited(rid, eff.unresolved))
        self._memo[rid] = eff
        return eff

    def _drop_absent(self, rid: str, eff: Effective) -> None:
        """An "unknown" (or "Various") declaration is absence of information when a source at least as
        authoritative names a license; an expert audit's entries always count (it looked for the terms)."""
        named = [authority(c) for c, _ in eff.own if c.expression not in {*_ABSENT, None}]
        dropped = [
            (c, t)
            for c, t in eff.own
            if c.expression in _ABSENT and not is_expert(c) and any(a >= authority(c) for a in named)
        ]
        note = "declares no license; a source at least as authoritative names one, so it does not count"
        _leave_out(rid, eff, dropped, note, show_terms=False)

    def _drop_weaker_prose(self, rid: str, eff: Effective) -> None:
        """A licence read from a sentence of a card's body counts beside that card's own metadata only when
        it is stricter: a more restrictive use ("for non-commercial research only" beside YAML `cc-by-4.0`)
        or an obligation the metadata's licences lack (CC BY-SA beside `cc-by-4.0`: share-alike). A sentence
        asking no more is shown as read and left out of the effective licence."""
        metadata: dict[tuple[str, str | None], list[Terms]] = {}
        for claim, terms in eff.own:
            if claim.source.field != PROSE_FIELD:
                metadata.setdefault((claim.source.collector, claim.source.file), []).append(terms)

        def asks_no_more(terms: Terms, declared: list[Terms]) -> bool:
            return terms.use.restrictiveness <= max(t.use.restrictiveness for t in declared) and all(
                not getattr(terms, duty) or any(getattr(t, duty) for t in declared) for duty in _DUTIES
            )

        weaker = [
            (c, t)
            for c, t in eff.own
            if c.source.field == PROSE_FIELD
            and (c.source.collector, c.source.file) in metadata
            and asks_no_more(t, metadata[c.source.collector, c.source.file])
        ]
        note = "a sentence of the card asking no more than the card's own metadata: read, not counted"
        _leave_out(rid, eff, weaker, note, show_terms=True)

    def _follow(
        self, rid: str, link: Upstream, stack: list[str], eff: Effective, blocks: bool, named_how: str | None = None
    ) -> None:
        relation, raw, source = link.relation, link.raw, link.source
        where = source.describe()
        how = f"inferred from {where} ({link.evidence or raw!r}, confidence {link.confidence:.2f})"
        target = self.find(link.target)
        named = None if target is not None or self.parts(link.target) else self._names.find(link.target, raw)
        if named is not None and named.rid != rid:
            target = named.rid
            named_how = named.how
            if self.find(target) is None and self.parts(target):  # a Hub dataset DPI audited in parts
                for part in self.parts(target):
                    self._follow(rid, link.model_copy(update={"target": part}), stack, eff, blocks, named_how)
                return
        else:
            named = None
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
        if target is not None and target in stack:
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
        parts = self.parts(link.target)
        if parts:
            for part in parts:
                part_link = link.model_copy(update={"target": part})
                self._follow(rid, part_link, stack, eff, blocks, named_how)
            return
        if target is not None:
            sub = self._compute(target, stack)
            for step in sub.steps:
                eff_step = step.model_copy(update={"path": [rid, *step.path]})
                if step.record == target and eff_step.relation is None:
                    eff_step.relation = relation.value
                    if named_how is not None:  # say how the name was read
                        found = f"{raw!r} ({where}) resolved by name: {named_how}"
                        eff_step.note = found if not step.note else f"{found}; {step.note}"
                    if link.source.collector == "run" and link.version:  # a training run: the exact data
                        used = f"data version {link.version}, used by {link.source.describe()}"
                        eff_step.note = used if not step.note else f"{used}; {step.note}"
                if link.inferred:
                    eff_step.inferred = True
                    if step.record == target:
                        eff_step.note = how if not step.note else f"{how}; {step.note}"
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
                else:
                    eff.add_step(eff_step)
            for missing in sub.unresolved:
                eff.add_unresolved(missing.model_copy(update={"via": [rid, *missing.via]}))
            cycles = [f for f in sub.findings if f.rule == "PA110"]
            if cycles:
                known = {f.model_dump_json() for f in eff.findings}
                eff.findings.extend(f for f in cycles if f.model_dump_json() not in known)
            if relation in BASE_RELATIONS:
                # a base whose record does not state its family's license (a gated repo read without access)
                # is still bound by it: models of that name are under those terms
                self._known_terms(rid, link, eff, blocks, how, skip=set(sub.licenses))
            return
        if relation is Relation.GENERATED_BY and self._known_terms(rid, link, eff, blocks, how):
            return  # a provider's terms are the whole answer for its outputs
        if relation in BASE_RELATIONS:
            self._known_terms(rid, link, eff, blocks, how)
        elif self._corpus_terms(rid, link, eff, blocks, how):
            return  # a source corpus whose terms are stated: read, not waiting for a record
        failed = self._failed.get(link.target) or next(
            (f for r, f in self._failed.items() if id_key(r) == id_key(link.target)), None
        )
        eff.add_unresolved(
            UnresolvedUpstream(
                target=link.target,
                relation=relation.value,
                raw=raw,
                via=[rid],
                source=where,
                inferred=link.inferred,
                command=_scan_command(link.target),
                reason=f"{failed.rule}: {failed.message}" if failed else self._near_miss(link),
            )
        )
        if self.policy.missing_upstream == "unspecified":
            unknown = Terms(license="NONE", use=Use.UNSPECIFIED, source="upstream not in the store", known=False)
            eff.add(
                unknown,
                EvidenceStep(
                    record=link.target,
                    path=[rid, link.target],
                    relation=relation.value,
                    use=Use.UNSPECIFIED,
                    source=where,
                    inferred=link.inferred,
                    note="upstream not audited: it has no record in the store, so its terms are unknown"
                    + (f"; {how}" if link.inferred else ""),
                ),
                blocks,
            )

    def _near_miss(self, link: Upstream) -> str | None:
        """ "did you mean …?" for a name close to records that it does not certainly mean (it stays unresolved)."""
        near = self._names.near(link.target, link.raw)
        if not near:
            return None
        return f"no record is certainly {link.raw!r}; did you mean {' or '.join(near)}? (not linked: not certain)"

    def _corpus_terms(self, rid: str, link: Upstream, eff: Effective, blocks: bool, how: str) -> bool:
        """Add the stated terms of a source corpus (data/licenses/source_corpora.yaml); False when not listed."""
        kind, name = split_id(link.target)
        if kind is not Kind.DATASET or link.target in self._failed:
            return False
        known = corpus_terms(link.raw, name.removeprefix("dpi/").removeprefix("source/"))
        if known is None:
            return False
        corpus, source, terms = known
        note = f"{link.raw!r} is the source corpus {corpus}, which has no record: its stated terms "
        note += "(data/licenses/source_corpora.yaml)"
        _add_table_terms(rid, link, eff, blocks, how, terms.model_copy(update={"source": source}), note)
        return True

    def _known_terms(
        self, rid: str, link: Upstream, eff: Effective, blocks: bool, how: str, skip: set[str] | None = None
    ) -> bool:
        """Add the terms models of this name are under (data/licenses/providers.yaml); False when none are known."""
        known = provider_terms(link.raw)
        if not known or known[1].license in (skip or set()):
            return False
        provider, terms = known
        what = "generated by" if link.relation is Relation.GENERATED_BY else "made from"
        note = f"{what} {link.raw} ({provider} terms, data/licenses/providers.yaml)"
        _add_table_terms(rid, link, eff, blocks, how, terms, note)
        return True


def _add_table_terms(rid: str, link: Upstream, eff: Effective, blocks: bool, how: str, terms: Terms, note: str) -> None:
    """Add the terms a knowledge-base table gives a linked upstream that has no record, with their source."""
    eff.add(
        terms,
        EvidenceStep(
            record=link.target,
            path=[rid, link.target],
            relation=link.relation.value,
            license=terms.license,
            use=terms.use,
            source=link.source.describe(),
            terms_source=terms.source,
            inferred=link.inferred,
            note=note + (f"; {how}" if link.inferred else ""),
        ),
        blocks,
    )


def _leave_out(
    rid: str, eff: Effective, left: list[tuple[LicenseClaim, Terms]], note: str, *, show_terms: bool
) -> None:
    """Take ``left`` out of the record's own licences, each shown as an evidence step saying why (with the
    terms it would have brought when ``show_terms``)."""
    if not left:
        return
    eff.own = [(c, t) for c, t in eff.own if (c, t) not in left]
    for claim, terms in left:
        eff.add_step(
            EvidenceStep(
                record=rid,
                path=[rid],
                license=terms.license if show_terms else None,
                use=terms.use if show_terms else None,
                source=f"{claim.source.describe()} ({claim.raw!r})",
                authority=authority(claim).label,
                note=note,
            )
        )


def _declared(claim: LicenseClaim) -> str:
    """Where and how a license was declared, with the custom license's name and link when it has them."""
    extra = "".join(
        f", {key} {value!r}" for key, value in (("license_name", claim.name), ("license_link", claim.link)) if value
    )
    return f"{claim.source.describe()} ({claim.raw!r}{extra})"


def _scan_command(target: str) -> str | None:
    hub = hub_target(target)
    return f"provaudit scan {hub}" if hub else None


def _not_audited(rid: str, unresolved: list[UnresolvedUpstream]) -> Finding:
    """PA112: one finding per record naming every upstream that keeps its review incomplete."""
    n = len(unresolved)
    commands = [u.command for u in unresolved if u.command]
    manual = [u.raw for u in unresolved if not u.command]
    fix = []
    if commands:
        hub = " ".join(c.removeprefix("provaudit scan ") for c in dict.fromkeys(commands))
        fix.append(f"`provaudit resolve` fetches them from the Hub, or `provaudit scan {hub}`")
    if manual:
        fix.append(f"find and scan {', '.join(repr(m) for m in dict.fromkeys(manual))} (no Hub id)")
    return Finding(
        rule="PA112",
        severity=Severity.WARNING,
        message=f"{n} upstream{'s' if n != 1 else ''} not audited, so the verdict is incomplete: "
        + ", ".join(f"{u.target} ({u.relation}{', inferred' if u.inferred else ''})" for u in unresolved),
        source=None,
        fix="; ".join(fix),
        evidence=[
            f"{' → '.join(u.via)}: {u.relation} {u.raw!r} ({u.source})" + (f" — `{u.command}`" if u.command else "")
            for u in unresolved
        ],
    )
