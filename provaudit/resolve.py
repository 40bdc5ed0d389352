"""Complete a lineage: fetch every upstream the store names but does not hold, from the Hub.

An *unresolved upstream* is an upstream link whose relation carries terms into the record (the default
policy's ``propagate`` relations, declared or inferred links alike) and whose target has no record in the
store, as the review sees it (:class:`provaudit.rules.lineage.Lineage`): ids match as the Hub matches repo
ids, case-insensitively, and a Hub dataset that DPI split into parts is held by its parts. A record that
only holds the Hub's refusal (PA010 gated … PA014 not cached: the repo was asked for and nothing came
back) does not count as a record of that upstream: the upstream stays unresolved, with the refusal as its reason.

:func:`resolve` fetches them round by round, one scan activity per round, each round reaching one
level further up the lineage, until nothing is left, nothing new resolves, or ``depth`` rounds are
done. With ``HF_HUB_OFFLINE=1`` the Hub collector reads the local Hugging Face cache instead.

>>> from provaudit.resolve import resolve
>>> result = resolve(store=".provaudit", depth=2)    # doctest: +SKIP
>>> [(u.target, u.reason) for u in result.unresolved]  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from provaudit import api
from provaudit.collectors.base import CollectOptions
from provaudit.records.identity import hub_target, id_key
from provaudit.records.model import Finding, Record, Relation
from provaudit.rules.lineage import fetch_failure
from provaudit.rules.names import NameIndex

DEFAULT_DEPTH = 2


def propagating_relations() -> frozenset[Relation]:
    """Relations whose upstream's terms reach the record: the default policy's."""
    from provaudit.rules.policy import load_policy

    return frozenset(load_policy("default").propagate)


@dataclass
class Unresolved:
    """One upstream the store lacks, as the first link that names it declares it."""

    target: str  # record id, e.g. "dataset:HuggingFaceH4/ultrachat_200k"
    relation: Relation
    raw: str
    needed_by: list[str]  # ids of the records that link to it
    hub: str | None  # the hf: scan target that fetches it, None when it names no Hub repo
    inferred: bool = True  # every link naming it was inferred (adapter_config.json, prose ...), none declared
    reason: str | None = None  # why it is still unresolved; None: not asked for yet
    rule: str | None = None  # the Hub finding behind the reason (PA010-PA014), if any

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.target,
            "relation": self.relation.value,
            "raw": self.raw,
            "needed_by": self.needed_by,
            "hub": self.hub,
            "inferred": self.inferred,
            "reason": self.reason,
            "rule": self.rule,
        }


@dataclass
class ResolveRound:
    """One scan activity of a resolve: which hf: targets it asked for and which upstreams it resolved."""

    number: int
    scan: str  # the scan activity's IRI
    targets: list[str]
    resolved: list[str]


@dataclass
class ResolveResult:
    depth: int
    rounds: list[ResolveRound] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)

    @property
    def fetched(self) -> list[str]:
        """Upstream ids this resolve added to the store."""
        return [rid for r in self.rounds for rid in r.resolved]

    @property
    def complete(self) -> bool:
        return not self.unresolved

    def to_json(self) -> dict[str, object]:
        return {
            "depth": self.depth,
            "complete": self.complete,
            "fetched": self.fetched,
            "rounds": [dataclasses.asdict(r) for r in self.rounds],
            "unresolved": [u.to_json() for u in self.unresolved],
        }


def _failure_reason(finding: Finding) -> str:
    return f"{finding.message}; {finding.fix}" if finding.fix else finding.message


def unresolved_upstreams(records: Iterable[Record]) -> list[Unresolved]:
    """Every propagating upstream the records link to that has no record among them, by target id."""
    records = list(records)
    relations = propagating_relations()
    held: dict[str, Record] = {}
    for record in records:
        key = id_key(record.id)
        # two spellings of one repo: one that holds content makes the upstream resolved
        if key not in held or fetch_failure(held[key]) is not None:
            held[key] = record
        for fact in record.facts:
            # a DPI part names the Hub dataset it was split from: a link to that dataset reaches the parts
            whole = id_key(f"dataset:{fact.value}")
            if fact.key == "hf_dataset" and (whole not in held or fetch_failure(held[whole]) is not None):
                held[whole] = record
    # an upstream named by a variant of a held record's id ("cnn/daily mail", "mnli") is held, as the review sees it
    names = NameIndex({r.id: r for r in records if fetch_failure(r) is None})
    found: dict[str, Unresolved] = {}
    for record in records:
        for link in record.upstream:
            key = id_key(link.target)
            if link.relation not in relations or key == id_key(record.id):
                continue
            present = held.get(key)
            named = names.find(link.target) if present is None else None
            if named is not None and named.rid != record.id:
                continue
            failure = fetch_failure(present) if present is not None else None
            if present is not None and failure is None:
                continue
            entry = found.get(key)
            if entry is None:
                hub = hub_target(link.target)
                entry = found[key] = Unresolved(
                    target=link.target, relation=link.relation, raw=link.raw, needed_by=[], hub=hub
                )
                if hub is None:
                    entry.reason = "names no Hub repo; scan the source it names to add it"
                elif failure is not None:
                    entry.reason, entry.rule = _failure_reason(failure), failure.rule
            entry.inferred = entry.inferred and link.inferred
            if record.id not in entry.needed_by:
                entry.needed_by.append(record.id)
    return sorted(found.values(), key=lambda u: id_key(u.target))


def _current(store: str | Path | None) -> list[Unresolved]:
    with api.open_store(store, read_only=True) as db:
        return unresolved_upstreams(db.records(light=True))


def resolve(
    *,
    store: str | Path | None = None,
    depth: int = DEFAULT_DEPTH,
    options: CollectOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> ResolveResult:
    """Fetch the store's unresolved upstreams from the Hub, up to ``depth`` rounds (levels).

    Each upstream is asked for once per call; one that the Hub refuses stays unresolved with the
    Hub's reason (a later call asks again: a token or the network may have come back).
    """
    if depth < 1:
        raise ValueError("depth must be at least 1")
    # depth 0 for the scan itself: the rounds here are the levels, so each is bounded and recorded
    scan_options = dataclasses.replace(options or CollectOptions(), depth=0, progress=None)
    result = ResolveResult(depth=depth)
    asked: set[str] = set()
    for number in range(1, depth + 1):
        pending = [u for u in _current(store) if u.hub and id_key(u.target) not in asked]
        if not pending:
            break
        asked.update(id_key(u.target) for u in pending)
        targets = list(dict.fromkeys(u.hub for u in pending if u.hub))
        if progress:
            progress(f"round {number}: fetching {len(targets)} upstreams")
        scanned = api.scan(targets, store=store, options=scan_options)
        left = {id_key(u.target) for u in _current(store)}
        resolved = [u.target for u in pending if id_key(u.target) not in left]
        result.rounds.append(ResolveRound(number, scanned.scan.iri, targets, resolved))
        if not resolved:
            break  # nothing new in the store, so no new upstreams to follow either
    result.unresolved = _current(store)
    for entry in result.unresolved:
        if entry.reason is None:
            entry.reason = (
                f"not fetched: beyond --depth {depth}; run `provaudit resolve` again or raise --depth"
                if id_key(entry.target) not in asked
                else "fetched, but the Hub returned no record under this id"
            )
    return result
