"""The built-in rules (PA1xx). Each says what it checks, why it matters and how to fix it.

Collection-time findings (PA0xx: malformed files, unknown license strings ...) come from collectors;
lineage findings (PA110 cycle, PA111 self-derivation, PA112 missing upstream record) from the lineage.
"""

from __future__ import annotations

from collections.abc import Iterator

from provaudit.licenses.kb import Terms, Use, terms_for
from provaudit.licenses.normalize import license_symbols
from provaudit.records.model import Finding, Kind, LicenseClaim, Relation, Severity
from provaudit.rules.engine import RuleContext, rule
from provaudit.rules.lineage import claim_terms

_CARD_FIELDS = {"license", "licence", "licenses", "license_details", "license_name"}
_MODIFYING = {
    Relation.DERIVED_FROM,
    Relation.FINETUNE,
    Relation.ADAPTER,
    Relation.MERGE,
    Relation.QUANTIZED,
    Relation.BASE_MODEL,
}
_TRAINING = {
    Relation.TRAINED_ON,
    Relation.FINETUNE,
    Relation.ADAPTER,
    Relation.MERGE,
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
            fix="declare a license in the card (`license:`) and add the LICENSE file",
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
                fix="find the real license of the data and declare it",
            )
        elif claim.raw.lower() == "other" and not any(c.name or c.link for c in claims):
            yield Finding(
                rule="PA101",
                severity=Severity.WARNING,
                message=f"{claim.source.describe()}: license `other` without `license_name`/`license_link`",
                source=claim.source,
                fix="add `license_name` and `license_link` to the card",
            )


@rule("PA102", Severity.ERROR, "declared license more permissive than the effective terms")
def declared_more_permissive(ctx: RuleContext) -> Iterator[Finding]:
    effective = ctx.effective.verdict
    # one declaration = every license one publisher tagged in one place (a card, a Hub field, a DPI column)
    groups: dict[tuple[str, str | None, str | None], list[LicenseClaim]] = {}
    for claim in ctx.record.claims:
        if not is_declaration(claim) or any(f.matches(claim) for f in ctx.policy.ignore_claims):
            continue
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
                f"{first.source.describe()}: declared {raw} ({declared.value}) is more permissive "
                f"than the effective terms ({effective.value})"
            ),
            source=first.source,
            evidence=[_strictest_step(ctx)],
            fix=f"declare the effective terms ({ctx.effective.expression() or effective.value}) or clear the "
            "restriction upstream",
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
            message=f"card declares {sorted(tags)} but {texts[0].source.file} reads as {sorted(found)}",
            source=texts[0].source,
            evidence=[f"{c.source.describe()}: {c.expression}" for c in [*card_claims, *texts]],
            fix="make the card's `license:` match the LICENSE file (or replace the file)",
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
            message=f"card declares {sorted(card)}, {infos[0].source.file} says {infos[0].raw!r}",
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
        if value in {"extended", "other", "unknown"} or value.startswith(("extended|other", "other-")):
            yield Finding(
                rule="PA105",
                severity=Severity.WARNING,
                message=f"{fact.source.describe()}: source dataset {fact.value!r} does not name the source",
                source=fact.source,
                fix="name the source dataset (`extended|<hub id>`) so its license can be reviewed",
            )


def _upstream_effective(ctx: RuleContext, relations: set[Relation]) -> Iterator[tuple[str, Relation, Terms, str]]:
    for link in ctx.record.upstream:
        if link.relation in relations and link.target in ctx.records and link.target != ctx.record.id:
            sub = ctx.lineage.effective(link.target)
            terms = Terms(
                license=sub.expression() or "NONE",
                use=sub.verdict,
                attribution=sub.attribution,
                share_alike=sub.share_alike,
                no_derivatives=sub.no_derivatives,
                source="effective terms",
            )
            yield link.target, link.relation, terms, link.source.describe()


def _own_terms(ctx: RuleContext) -> list[Terms]:
    return [t for _, t in ctx.effective.own]


@rule("PA106", Severity.ERROR, "share-alike source under a non-share-alike license")
def share_alike_relicensed(ctx: RuleContext) -> Iterator[Finding]:
    own = _own_terms(ctx)
    if not own or any(t.share_alike for t in own):
        return
    for target, relation, terms, where in _upstream_effective(ctx, _MODIFYING | {Relation.GENERATED_BY}):
        if terms.share_alike and relation is not Relation.TRAINED_ON:
            yield Finding(
                rule="PA106",
                severity=Severity.ERROR,
                message=(
                    f"{ctx.record.id} ({', '.join(t.license for t in own)}) derives from share-alike {target} "
                    f"({terms.license}) but is not under a share-alike license"
                ),
                evidence=[f"{where}: {relation.value} {target}"],
                fix=f"license {ctx.record.id} under {terms.license} (share-alike) or drop the source",
            )


@rule("PA107", Severity.ERROR, "no-derivatives source that was modified")
def no_derivatives_modified(ctx: RuleContext) -> Iterator[Finding]:
    for target, relation, terms, where in _upstream_effective(ctx, _MODIFYING):
        if terms.no_derivatives:
            yield Finding(
                rule="PA107",
                severity=Severity.ERROR,
                message=f"{ctx.record.id} modifies {target} ({relation.value}), whose terms forbid derivatives "
                f"({terms.license})",
                evidence=[f"{where}: {relation.value} {target}"],
                fix=f"get permission from the rights holder of {target} or use it unmodified",
            )


@rule("PA108", Severity.WARNING, "data generated by a model under restrictive provider terms")
def generated_by_restricted_model(ctx: RuleContext) -> Iterator[Finding]:
    for step in ctx.effective.steps:
        if step.relation != Relation.GENERATED_BY.value or step.use in {None, Use.COMMERCIAL}:
            continue
        yield Finding(
            rule="PA108",
            severity=Severity.WARNING,
            message=f"{ctx.record.id} was generated by {step.record} whose terms ({step.license}) make it "
            f"{step.use.value if step.use else 'restricted'}",
            evidence=[f"{' → '.join(step.path)} ({step.source}); terms: {step.terms_source}"],
            fix="check the provider's terms for model training on its outputs; replace the data if needed",
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
    tag_vs_license_file,
    card_vs_dataset_infos,
    upstream_unspecified,
    share_alike_relicensed,
    no_derivatives_modified,
    generated_by_restricted_model,
    commercial_model_on_nc_data,
    license_not_allowed,
    use_not_accepted,
    use_restrictions,
    unknown_terms,
]
