"""The built-in rules (PA1xx). Each says what it checks, why it matters and how to fix it.

Collection-time findings (PA0xx: malformed files, unknown license strings ...) come from collectors;
lineage findings (PA110 cycle, PA111 self-derivation, PA112 missing upstream record) from the lineage.
"""

from __future__ import annotations

from collections.abc import Iterator, Set

from provaudit.licenses.compat import compatible
from provaudit.licenses.kb import Terms, Use, terms_for
from provaudit.licenses.normalize import aliases, license_symbols
from provaudit.records.model import BASE_RELATIONS, Finding, Kind, LicenseClaim, Relation, Severity
from provaudit.rules.authority import PROSE_FIELD, authority
from provaudit.rules.engine import RuleContext, rule
from provaudit.rules.lineage import NOT_A_LICENSE, OTHER, claim_terms

_CARD_FIELDS = {"license", "licence", "licenses", "license_details", "license_name"}
_MODIFYING = BASE_RELATIONS | {Relation.DERIVED_FROM}
_TRAINING = {
    Relation.TRAINED_ON,
    Relation.FINETUNE,
    Relation.ADAPTER,
    Relation.MERGE,
    Relation.MERGE_BASE,
    Relation.BASE_MODEL,
    Relation.QUANTIZED,
}


def _field(claim: LicenseClaim) -> str:
    return (claim.source.field or "").rsplit(".", 1)[-1]


def is_declaration(claim: LicenseClaim) -> bool:
    """A license tag a publisher declared (card, dataset_infos, Hub, PwC ...), not an annotation or a text."""
    if claim.source.field == "text":
        return False
    return not (claim.source.collector == "dpi" and (claim.source.field or "").endswith(".Licenses"))


def _card_claims(ctx: RuleContext) -> list[LicenseClaim]:
    return [
        c
        for c in ctx.record.claims
        if _field(c) in _CARD_FIELDS and c.source.file not in {None, "dataset_infos.json", "dataset_info.json"}
    ]


def _symbols(claims: list[LicenseClaim]) -> set[str]:
    out: set[str] = set()
    for claim in claims:
        for symbol in license_symbols(claim.expression or ""):
            out.add(symbol.removesuffix("-only").removesuffix("-or-later"))
    return out


def _use_of(ctx: RuleContext, claim: LicenseClaim) -> Use | None:
    terms = claim_terms(ctx.policy, claim)
    known = [t for t in terms if t.known or t.license.startswith("DPI:")]
    if not known or len(known) != len(terms):
        return None
    return max((t.use for t in known), key=lambda u: u.restrictiveness)


def _strictest_step(ctx: RuleContext) -> str:
    eff = ctx.effective
    steps = [s for s in eff.steps if s.use is eff.verdict]
    if not steps:
        return ""
    step = steps[0]
    return f"{' → '.join(step.path)}: {step.license or 'no license'} ({step.source or step.note or ''})"


@rule("PA101", Severity.ERROR, "license missing, unknown, or `other` without a name")
def license_missing(ctx: RuleContext) -> Iterator[Finding]:
    claims = ctx.record.claims
    if not claims and ctx.record.kind in {Kind.DATASET, Kind.MODEL}:
        yield Finding(
            rule="PA101",
            severity=Severity.ERROR,
            message=f"{ctx.record.id}: no license declared anywhere; all rights are reserved by default",
            fix="add `license: <SPDX or Hub license id>` to the card's YAML metadata and the LICENSE file, "
            "then scan the folder again",
        )
        return
    for claim in claims:
        expression = claim.expression or ""
        if expression == "LicenseRef-provaudit-unknown":
            yield Finding(
                rule="PA101",
                severity=Severity.ERROR,
                message=f"{claim.source.describe()}: license declared as {claim.raw!r}",
                source=claim.source,
                fix=f"find the real license of the data and replace {claim.raw!r} in {claim.source.describe()} "
                "with its SPDX or Hub id",
            )
        elif claim.raw.lower() == "other" and not any(c.name or c.link for c in claims):
            yield Finding(
                rule="PA101",
                severity=Severity.WARNING,
                message=f"{claim.source.describe()}: license `other` without `license_name`/`license_link`",
                source=claim.source,
                fix=f"next to {claim.source.describe()} add `license_name: <short name>` and "
                "`license_link: <URL or file of the license text>` to the card",
            )


def _pa102_fix(ctx: RuleContext, effective: Use) -> str:
    """What to do about a declaration more permissive than the terms: an action, never a placeholder id."""
    from provaudit.rules.render import expression_label

    expression = ctx.effective.expression()
    strictest = [s for s in ctx.effective.steps if s.use is effective]
    binding = [s for s in strictest if s.license and not s.license.startswith(NOT_A_LICENSE)]
    if expression and binding:
        where = ", ".join(dict.fromkeys(s.record for s in binding))
        names = " and ".join(dict.fromkeys(expression_label(s.license) for s in binding))
        return (
            f"declare terms no more permissive than {names} ({effective.value}), which {where} brings into the "
            "lineage, in each place named, or replace the restricted source"
        )
    if strictest and strictest[0].note and "not audited" in strictest[0].note:
        return "scan the upstreams not audited (PA112), then review again"
    until = f"; until then treat it as {effective.value}, not as declared"
    if ctx.policy.only_claims and not any(ctx.policy.counts(c) for c in ctx.record.claims):
        read = ", ".join(
            f"the {f.collector or 'any'} collector" + (f"'s fields ending {f.field_suffix}" if f.field_suffix else "")
            for f in ctx.policy.only_claims
        )
        return (
            f"policy {ctx.policy.name} counts only licences read by {read}, and none covers {ctx.record.id}: "
            "scan an expert audit of it (a Data Provenance Initiative summary) or review it with a policy that "
            "counts its card (`--policy default`)" + until
        )
    return f"ask the publisher of {ctx.record.id} which licence applies and declare it in each place named" + until


@rule("PA102", Severity.ERROR, "declared license more permissive than the effective terms")
def declared_more_permissive(ctx: RuleContext) -> Iterator[Finding]:
    effective = ctx.effective.verdict
    if effective is Use.UNSPECIFIED and not ctx.effective.complete:
        return  # unknown because an upstream is not audited (PA112), not because a declaration is wrong
    # one declaration = every license one publisher tagged in one place (a card, a Hub field, a DPI column)
    groups: dict[tuple[str, str | None, str | None], list[LicenseClaim]] = {}
    metadata_files = {(c.source.collector, c.source.file) for c in ctx.record.claims if c.source.field != PROSE_FIELD}
    for claim in ctx.record.claims:
        if not is_declaration(claim) or any(f.matches(claim) for f in ctx.policy.ignore_claims):
            continue
        if claim.source.field == PROSE_FIELD and (claim.source.collector, claim.source.file) in metadata_files:
            continue  # the card's YAML speaks for the card (a stricter sentence is PA119)
        field = claim.source.field if claim.source.collector == "dpi" else None
        groups.setdefault((claim.source.collector, claim.source.file, field), []).append(claim)
    for claims in groups.values():
        uses = [_use_of(ctx, c) for c in claims]
        if any(u is None or u is Use.UNSPECIFIED for u in uses):
            continue
        declared = max((u for u in uses if u is not None), key=lambda u: u.restrictiveness)
        if declared.restrictiveness >= effective.restrictiveness:
            continue
        first = claims[0]
        hub = first.source.collector != "dpi" or "HF " in (first.source.field or "")
        raw = ", ".join(repr(r) for r in dict.fromkeys(c.raw for c in claims))
        yield Finding(
            rule="PA102",
            severity=Severity.ERROR if hub else Severity.WARNING,
            message=(
                f"{first.source.describe()} ({authority(first).label}): declared {raw} ({declared.value}) is "
                f"more permissive than the effective terms ({effective.value}); it does not decide the verdict"
            ),
            source=first.source,
            evidence=[_strictest_step(ctx)],
            fix=_pa102_fix(ctx, effective),
        )


def _pa103_fix(
    ctx: RuleContext, card: list[LicenseClaim], texts: list[LicenseClaim], tags: set[str], found: set[str]
) -> str:
    """The careful fix: ask the owner; until then the stricter of the two readings applies."""
    from provaudit.rules.render import license_label

    def strictest(claims: list[LicenseClaim]) -> Use | None:
        uses = [u for u in (_use_of(ctx, c) for c in claims) if u is not None]
        return max(uses, key=lambda u: u.restrictiveness) if uses else None

    card_use, text_use = strictest(card), strictest(texts)
    card_names = " and ".join(license_label(t) for t in sorted(tags))
    text_names = " and ".join(license_label(t) for t in sorted(found))
    ask = f"ask the owner which licence applies (the card says {card_names}, {texts[0].source.file} {text_names})"
    if card_use is None or text_use is None:
        return ask + "; until they answer, treat the data as bound by both, then correct the card or the file"
    stricter, names = (
        (card_use, card_names)
        if card_use.restrictiveness >= text_use.restrictiveness
        else (
            text_use,
            text_names,
        )
    )
    return ask + f"; until they answer, treat it as {names} ({stricter.value}), then correct the card or the file"


@rule("PA119", Severity.WARNING, "the card's prose states stricter terms than its YAML metadata")
def prose_stricter_than_yaml(ctx: RuleContext) -> Iterator[Finding]:
    """A sentence of the card ("for non-commercial research only") outranked by the YAML still counts when
    stricter; this names both so the publisher can make them agree."""
    yaml_claims = [c for c in _card_claims(ctx) if c.source.field != PROSE_FIELD]
    uses = [u for c in yaml_claims if (u := _use_of(ctx, c)) is not None]
    if not uses:
        return
    declared = max(uses, key=lambda u: u.restrictiveness)
    for claim in ctx.record.claims:
        if claim.source.field != PROSE_FIELD:
            continue
        use = _use_of(ctx, claim)
        if use is None or use.restrictiveness <= declared.restrictiveness:
            continue
        yaml_text = ", ".join(f"{c.source.describe()} {c.raw!r}" for c in yaml_claims)
        yield Finding(
            rule="PA119",
            severity=Severity.WARNING,
            message=f"{claim.source.describe()} says {claim.raw!r} ({use.value}), stricter than the YAML metadata "
            f"({yaml_text}: {declared.value}); the stricter counts",
            source=claim.source,
            evidence=[
                f"{claim.source.describe()}: {claim.raw}",
                *(f"{c.source.describe()}: {c.raw}" for c in yaml_claims),
            ],
            fix="make the card's `license:` state the terms its text states (or correct the sentence)",
        )


@rule("PA103", Severity.WARNING, "declared license tag disagrees with the LICENSE file")
def tag_vs_license_file(ctx: RuleContext) -> Iterator[Finding]:
    texts = [c for c in ctx.record.claims if c.source.field == "text" and c.expression]
    card_claims = _card_claims(ctx)
    tags = _symbols(card_claims) - {"LicenseRef-provaudit-other", "LicenseRef-provaudit-unknown"}
    found = _symbols(texts)
    if texts and tags and found and not tags & found:
        yield Finding(
            rule="PA103",
            severity=Severity.WARNING,
            message=f"card declares {', '.join(sorted(tags))} but {texts[0].source.file} reads as "
            f"{', '.join(sorted(found))}",
            source=texts[0].source,
            evidence=[f"{c.source.describe()}: {c.expression}" for c in [*card_claims, *texts]],
            fix=_pa103_fix(ctx, card_claims, texts, tags, found),
        )


@rule("PA104", Severity.WARNING, "card and dataset_infos.json disagree")
def card_vs_dataset_infos(ctx: RuleContext) -> Iterator[Finding]:
    infos = [c for c in ctx.record.claims if c.source.file in {"dataset_infos.json", "dataset_info.json"}]
    card_claims = _card_claims(ctx)
    card = _symbols(card_claims)
    info_symbols = _symbols(infos)
    if infos and card and info_symbols and card != info_symbols:
        yield Finding(
            rule="PA104",
            severity=Severity.WARNING,
            message=f"card declares {', '.join(sorted(card))}, {infos[0].source.file} says {infos[0].raw!r}",
            source=infos[0].source,
            evidence=[f"{c.source.describe()}: {c.raw}" for c in [*card_claims, *infos]],
            fix="regenerate dataset_infos.json or correct the card so both declare the same license",
        )


@rule("PA105", Severity.WARNING, "upstream source unspecified")
def upstream_unspecified(ctx: RuleContext) -> Iterator[Finding]:
    for fact in ctx.record.facts:
        if fact.key != "source_datasets":
            continue
        value = fact.value.strip().lower()
        # a named source outside the Hub ("extended|other-flicker-30k") is an upstream link (PA112 if missing)
        if value in {"extended", "other", "unknown", "extended|other", "extended|unknown", "extended|original"}:
            yield Finding(
                rule="PA105",
                severity=Severity.WARNING,
                message=f"{fact.source.describe()}: source dataset {fact.value!r} does not name the source",
                source=fact.source,
                fix=f"in {fact.source.describe()} replace {fact.value!r} with `extended|<hub id of the source>` "
                "(or `original` when nothing was extended), then scan the card's folder again",
            )


def _upstream_effective(ctx: RuleContext, relations: Set[Relation]) -> Iterator[tuple[str, Relation, Terms, str]]:
    """(upstream id, relation, its effective terms, where the link was declared) for links with a record."""
    for link in ctx.record.upstream:
        target = ctx.lineage.find(link.target)
        if link.relation in relations and target is not None and target != ctx.record.id and ctx.lineage.follows(link):
            sub = ctx.lineage.effective(target)
            symbols = [s for s in sub.licenses if not s.startswith(NOT_A_LICENSE)]
            restricted = [terms_for(s) for s in symbols]
            terms = Terms(
                license=sub.expression() or "NONE",
                use=sub.verdict,
                attribution=sub.attribution,
                share_alike=sub.share_alike,
                no_derivatives=sub.no_derivatives,
                use_restrictions=sub.use_restrictions,
                same_terms=any(t.same_terms for t in restricted),
                source="effective terms",
            )
            where = link.source.describe() + (" (inferred)" if link.inferred else "")
            yield target, link.relation, terms, where


def _own_terms(ctx: RuleContext) -> list[Terms]:
    return [t for _, t in ctx.effective.own]


@rule("PA106", Severity.ERROR, "share-alike source under an incompatible license")
def share_alike_relicensed(ctx: RuleContext) -> Iterator[Finding]:
    own = _own_terms(ctx)
    if not own:
        return
    outbound = sorted({t.license for t in own if not t.license.startswith(NOT_A_LICENSE)})
    for target, relation, terms, where in _upstream_effective(ctx, _MODIFYING | {Relation.GENERATED_BY}):
        if not terms.share_alike or relation is Relation.TRAINED_ON:
            continue
        for inbound in license_symbols(terms.license):
            if inbound.startswith(NOT_A_LICENSE) or not terms_for(inbound).share_alike:
                continue
            answers = [compatible(out, inbound) for out in outbound]
            if any(a.compatible for a in answers):
                continue
            why = "; ".join(dict.fromkeys(a.source for a in answers)) or "no license of its own is share-alike"
            yield Finding(
                rule="PA106",
                severity=Severity.ERROR,
                message=(
                    f"{ctx.record.id} ({', '.join(outbound) or 'no license'}) derives from share-alike {target} "
                    f"({inbound}) but is not under {inbound} or a license compatible with it"
                ),
                evidence=[f"{where}: {relation.value} {target}", why],
                fix=f"license {ctx.record.id} under {inbound} (share-alike) or a compatible license, "
                "or drop the source",
            )


@rule("PA107", Severity.ERROR, "no-derivatives source that was modified")
def no_derivatives_modified(ctx: RuleContext) -> Iterator[Finding]:
    for target, relation, terms, where in _upstream_effective(ctx, _MODIFYING | {Relation.TRAINED_ON}):
        if not terms.no_derivatives:
            continue
        # a model trained on ND data may or may not be an adaptation of it: that needs a lawyer, not a guess
        training = relation is Relation.TRAINED_ON
        yield Finding(
            rule="PA107",
            severity=Severity.WARNING if training else Severity.ERROR,
            message=f"{ctx.record.id} {'was trained on' if training else 'modifies'} {target} ({relation.value}), "
            f"whose terms forbid derivatives ({terms.license})",
            evidence=[f"{where}: {relation.value} {target}"],
            fix=f"get permission from the rights holder of {target} or use it unmodified"
            + ("; ask counsel whether training makes an adaptation under its terms" if training else ""),
        )


@rule("PA108", Severity.WARNING, "data generated by a model under restrictive provider terms")
def generated_by_restricted_model(ctx: RuleContext) -> Iterator[Finding]:
    for step in ctx.effective.steps:
        if step.relation != Relation.GENERATED_BY.value or step.use in {None, Use.COMMERCIAL}:
            continue
        # the record the model generated: this one, or an upstream further along the path
        generated = step.path[-2] if len(step.path) >= 2 else ctx.record.id
        who = (
            f"{ctx.record.id} was generated by {step.record}"
            if generated == ctx.record.id
            else f"{ctx.record.id} derives from {generated} ({' → '.join(step.path[:-1])}), which was generated by "
            f"{step.record}"
        )
        yield Finding(
            rule="PA108",
            severity=Severity.WARNING,
            message=f"{who}, whose terms ({step.license}) make it {step.use.value if step.use else 'restricted'}",
            evidence=[f"{' → '.join(step.path)} ({step.source}); terms: {step.terms_source}"],
            fix=f"read what {step.terms_source or 'the provider'} allows for its outputs; if your use is not allowed, "
            f"replace {generated} with data not generated by {step.record}",
        )


@rule("PA109", Severity.ERROR, "model declared commercial but trained on non-commercial data")
def commercial_model_on_nc_data(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.record.kind is not Kind.MODEL:
        return
    own = _own_terms(ctx)
    if not own or any(t.use is not Use.COMMERCIAL for t in own):
        return
    for target, relation, terms, where in _upstream_effective(ctx, _TRAINING):
        if terms.use in {Use.NON_COMMERCIAL, Use.ACADEMIC_ONLY}:
            yield Finding(
                rule="PA109",
                severity=Severity.ERROR,
                message=f"{ctx.record.id} is declared for commercial use but {relation.value} {target}, "
                f"which is {terms.use.value} ({terms.license})",
                evidence=[f"{where}: {relation.value} {target}"],
                fix="declare the model non-commercial, or retrain without the restricted data",
            )


def _license_name(symbol: str) -> str:
    name = terms_for(symbol).name
    return f"{name} ({symbol})" if name else symbol


def _base_declaration(ctx: RuleContext, base: str, symbols: list[str]) -> str:
    """What a base model's card declares for these licences, quoted so a user can copy it."""
    record = ctx.records.get(base)
    if record is None:
        return ""
    parts: list[str] = []
    files: list[str] = []
    # a named `other` (license_name, license_link) says more than a bare one: it goes first, and alone
    for claim in sorted(record.claims, key=lambda c: not (c.name or c.link)):
        if not set(license_symbols(claim.expression or "")) & set(symbols):
            continue
        if claim.source.field == "text":
            files.append(claim.source.file or "")
            continue
        if _field(claim) not in _CARD_FIELDS or any(p.startswith(f"`license: {claim.raw}`") for p in parts):
            continue
        quoted = f"`license: {claim.raw}`"
        if claim.name:
            quoted += f", `license_name: {claim.name}`"
        if claim.link:
            quoted += f", `license_link: {claim.link}`"
        parts.append(quoted)
    if not parts:  # a gated base shows only its licence file: the Hub's own id for that licence
        hub = aliases()["hub"]
        parts += [f"`license: {k}`" for s in symbols for k, v in hub.items() if v == s][:1]
    if files:
        parts.append(f"its licence file {', '.join(sorted(set(files)))}")
    return "; ".join(parts)


def _keep_terms(base: Terms) -> str:
    keep = [f"its acceptable-use policy {base.use_policy}" if base.use_policy else ""]
    if base.mau_limit:
        keep.append(f"the {base.mau_limit:,} monthly-active-user limit")
    if base.attribution_notice:
        keep.append(f'the notice "{base.attribution_notice}"')
    return ", ".join(k for k in keep if k)


@rule("PA117", Severity.ERROR, "declared license more permissive than its base model permits")
def declared_beyond_base(ctx: RuleContext) -> Iterator[Finding]:
    """A derivative cannot be relicensed: the base model's terms bind finetunes, adapters, merges, quantizations.

    One finding per base model, naming every licence of that base that the declaration escapes.
    """
    own = [(c, t) for c, t in ctx.effective.own if not t.license.startswith(NOT_A_LICENSE)]
    if ctx.record.kind is not Kind.MODEL or not own:
        return
    bases = {
        ctx.lineage.find(link.target) or link.target: link
        for link in ctx.record.upstream
        if link.relation in BASE_RELATIONS and ctx.lineage.follows(link)
    }
    declared_use = max((t.use for _, t in own), key=lambda u: u.restrictiveness)
    declared = {t.license.removesuffix("-only").removesuffix("-or-later") for _, t in own}
    restricted = any(t.use_restrictions for _, t in own)
    # base id -> (licences of that base the declaration escapes, the problems, the path to the base)
    escaped: dict[str, tuple[list[str], list[str], list[str]]] = {}
    declared_at: dict[str, list[str]] = {}  # base id -> where its licences were declared
    for step in ctx.effective.steps:
        if len(step.path) < 2 or step.path[1] not in bases or not step.license:
            continue
        if step.license.startswith(NOT_A_LICENSE):
            continue
        base = terms_for(step.license)
        problems = []
        if base.use.restrictiveness > declared_use.restrictiveness:
            problems.append(f"the base is {base.use.value}, the declaration {declared_use.value}")
        if base.use_restrictions and not restricted:
            problems.append(
                "the base's use restrictions" + (f" ({base.use_policy})" if base.use_policy else "") + " must pass on"
            )
        if base.same_terms and step.license.removesuffix("-only").removesuffix("-or-later") not in declared:
            problems.append("derivatives may only be distributed under the base's own terms")
        if not problems:
            continue
        licenses, found, path = escaped.setdefault(step.path[1], ([], [], step.path[1:]))
        if step.license not in licenses:
            licenses.append(step.license)
            declared_at.setdefault(step.path[1], []).append(f"{step.source or step.note or ''} ({step.license})")
        found += [p for p in problems if p not in found]
    for base_id, (licenses, problems, path) in escaped.items():
        # the Hub's `other` beside the licence it names is one licence, not two
        named = [s for s in licenses if s != OTHER] or licenses
        link = bases[base_id]
        terms = [terms_for(s) for s in named]
        kept = "; ".join(k for k in (_keep_terms(t) for t in terms) if k)
        copy = _base_declaration(ctx, base_id, licenses)
        unread = [s for s, t in zip(named, terms, strict=True) if t.use is Use.UNSPECIFIED]
        # the place to edit is the finding's location (the card's license); the Hub's API repeats the card
        fix = f"declare in this model's card what {base_id} declares" + (f" ({copy})" if copy else "")
        fix += " and ship its licence text with this model"
        fix += f"; keep its terms ({kept})" if kept else ""
        if unread:
            fix += (
                f"; {' and '.join(_license_name(s) for s in unread)} grants no commercial use by itself: "
                "get the licensor's written permission before any commercial use"
            )
        yield Finding(
            rule="PA117",
            severity=Severity.ERROR,
            message=(
                f"{ctx.record.id}: declared {', '.join(sorted(declared))} is more permissive than its base model "
                f"permits: {' → '.join(path)} is under {' and '.join(_license_name(s) for s in named)}; "
                + "; ".join(problems)
            ),
            source=own[0][0].source,
            evidence=[
                *(f"declared: {c.source.describe()} ({c.raw!r}, {authority(c).label})" for c, _ in own),
                f"base: {link.source.describe()}{' (inferred)' if link.inferred else ''}: {link.relation.value} "
                f"{link.raw} → {'; '.join(declared_at[base_id])}",
            ],
            fix=fix,
        )


@rule("PA113", Severity.ERROR, "license not allowed by the policy")
def license_not_allowed(ctx: RuleContext) -> Iterator[Finding]:
    allowed, denied = set(ctx.policy.allowed_licenses), set(ctx.policy.denied_licenses)
    for symbol in ctx.effective.licenses:
        if symbol == "NONE" or symbol.startswith("DPI:"):
            continue
        if symbol in denied or (allowed and symbol not in allowed):
            yield Finding(
                rule="PA113",
                severity=Severity.ERROR,
                message=f"{ctx.record.id}: {symbol} is not allowed by policy {ctx.policy.name}",
                evidence=[s.source or "" for s in ctx.effective.steps if s.license == symbol][:3],
                fix="replace the data or ask the legal team to allow the license",
            )


@rule("PA114", Severity.ERROR, "use category the policy does not accept")
def use_not_accepted(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.effective.verdict in ctx.policy.fail_on_use:
        yield Finding(
            rule="PA114",
            severity=Severity.ERROR,
            message=f"{ctx.record.id} is {ctx.effective.verdict.value}, which policy {ctx.policy.name} does not accept",
            evidence=[_strictest_step(ctx)],
        )


@rule("PA115", Severity.INFO, "use-based restrictions (RAIL) apply")
def use_restrictions(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.effective.use_restrictions:
        restricted = sorted(
            {s.license for s in ctx.effective.steps if s.license and terms_for(s.license).use_restrictions}
        )
        yield Finding(
            rule="PA115",
            severity=Severity.INFO,
            message=f"{ctx.record.id} carries use-based restrictions that pass on to derivatives"
            + (f" ({', '.join(restricted)})" if restricted else ""),
            fix="pass the use restrictions on in your own license and model card",
        )


@rule("PA116", Severity.WARNING, "license whose terms provaudit does not know")
def unknown_terms(ctx: RuleContext) -> Iterator[Finding]:
    for claim, terms in ctx.effective.own:
        custom = terms.license == "LicenseRef-provaudit-other" and bool(claim.name or claim.link)
        if custom:
            yield Finding(
                rule="PA116",
                severity=Severity.WARNING,
                message=f"{claim.source.describe()}: custom license {claim.name or 'other'!r}"
                + (f" ({claim.link})" if claim.link else "")
                + " is not in the terms knowledge base; its use category is unspecified until someone reads it",
                source=claim.source,
                evidence=[f"{k}: {v}" for k, v in (("license_name", claim.name), ("license_link", claim.link)) if v],
                fix="read the license and add its terms to a policy or to data/licenses/terms.yaml",
            )
            continue
        if (
            terms.known
            or not claim.expression
            or terms.source.startswith("ScanCode")
            or terms.license.startswith("DPI:")
        ):
            continue
        name = f" ({claim.name})" if claim.name else ""
        yield Finding(
            rule="PA116",
            severity=Severity.WARNING,
            message=f"{claim.source.describe()}: {terms.license}{name} is not in the terms knowledge base; "
            "its use category is unspecified until someone reads it",
            source=claim.source,
            fix="read the license and add its terms to a policy (allowed_licenses) or to data/licenses/terms.yaml",
        )


RULES = [
    license_missing,
    declared_more_permissive,
    prose_stricter_than_yaml,
    tag_vs_license_file,
    card_vs_dataset_infos,
    upstream_unspecified,
    share_alike_relicensed,
    no_derivatives_modified,
    generated_by_restricted_model,
    commercial_model_on_nc_data,
    declared_beyond_base,
    license_not_allowed,
    use_not_accepted,
    use_restrictions,
    unknown_terms,
]
