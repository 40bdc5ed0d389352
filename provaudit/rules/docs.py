"""Every rule id provaudit reports, with its documentation; `docs/rules.md` is generated from here.

The PA1xx rules of ``provaudit/rules/builtin.py`` register with ``@rule`` (id, severity, title). The
collectors' ids (PA0xx) and the lineage's (PA110-PA112) have no rule object, so their severity and
title are listed here. What each rule checks, why it matters, how to fix it and an example message are
listed here for every id; ``tests/test_rules_doc.py`` fails when a rule id appears in the code but not
here, or when ``docs/rules.md`` differs from :func:`markdown`.

Regenerate the page with ``python -m provaudit.rules.docs > docs/rules.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from provaudit.records.model import Severity

DOC_PATH = "docs/rules.md"


@dataclass(frozen=True)
class RuleDoc:
    """One rule id as `docs/rules.md` documents it."""

    rule_id: str
    severity: str  # the usual severity; "warning or error" where it depends on the case
    title: str
    checks: str
    why: str
    fix: str
    example: str
    origin: str  # where it is reported: a collector, the lineage or the rule engine

    @property
    def anchor(self) -> str:
        """The heading anchor GitHub and the site give `## PA102 ...`: the lower-case id."""
        return self.rule_id.lower()


def rule_link(rule_id: str, base: str = DOC_PATH) -> str:
    """Where one rule is documented: ``docs/rules.md#pa102``."""
    return f"{base}#{rule_id.lower()}"


# id: (severity, title, what it checks, why it matters, how to fix it, example message, where it is reported);
# the PA1xx rules registered with @rule take severity and title from the registry (checked by the test)
_DOCS: dict[str, tuple[str, str, str, str, str, str, str]] = {
    "PA001": (
        "error",
        "malformed YAML metadata in a card",
        "The card's YAML front matter (between the `---` lines) parses.",
        "Nothing the card declares (license, sources, base model) can be read; the record looks unlicensed.",
        "Fix the YAML so that it parses (`python -c 'import yaml,sys; yaml.safe_load(open(sys.argv[1]))' FILE` "
        "shows where), then `provaudit scan` the folder again.",
        "README.md:3: malformed YAML metadata: mapping values are not allowed here",
        "card collector",
    ),
    "PA002": (
        "error",
        "metadata of the wrong shape",
        "A metadata file (card front matter, DatasetInfo, SPDX 3, UMR, DPI summary) has the structure its format "
        "requires.",
        "A file of the wrong shape is read partly or not at all, so declarations can be missed.",
        "Make the file the shape its format requires (the message names what was expected) and scan again.",
        "README.md:1: YAML metadata is a list, not a mapping",
        "collectors",
    ),
    "PA003": (
        "error",
        "file that cannot be read",
        "A metadata or license file is readable text within the size limit.",
        "An unread LICENSE or card is a declaration the review does not see.",
        "Restore or re-encode the file as UTF-8 text; raise `--max-file-bytes` if it really is metadata.",
        "LICENSE: binary content where text was expected; not parsed",
        "collectors",
    ),
    "PA004": (
        "error",
        "malformed JSON",
        "A JSON metadata file (`dataset_infos.json`, `config.json` …) parses.",
        "Its declarations are lost.",
        "Fix the JSON syntax at the line and column the message names (`python -m json.tool FILE` shows it).",
        "dataset_infos.json:3:5: malformed JSON: Expecting ',' delimiter",
        "card collector",
    ),
    "PA005": (
        "warning",
        "license string or text provaudit cannot read",
        "Each declared license string reads as an SPDX id, a Hub license id or a known license name; each LICENSE "
        "file is recognized as a known license text.",
        "An unread license has unknown terms: the record's use category stays unspecified.",
        "Declare an SPDX id or a Hub license id "
        "(https://huggingface.co/docs/hub/repositories-licenses) in the card's `license:`; for custom terms "
        "set `license: other` with `license_name` and `license_link`.",
        "README.md:14 [license_details]: license string 'Open Portion of the American National Corpus' is not a "
        "known license id or name",
        "card collector",
    ),
    "PA006": (
        "warning",
        "misspelled `licence` key",
        "The card uses the key `license`, which the Hub reads.",
        "The Hub ignores `licence`: users of the Hub see no license.",
        "Rename the key to `license` in the card.",
        "README.md:4 [licence]: misspelled key `licence`; the Hub reads `license`",
        "card collector",
    ),
    "PA007": (
        "warning",
        "card without metadata",
        "A card has a YAML metadata block (or the Hub repo has a card at all).",
        "Without metadata nothing is declared: no license, no sources, no base model.",
        "Add YAML front matter with at least `license:` to the card's README.md.",
        "README.md: card has no YAML metadata block",
        "card and Hub collectors",
    ),
    "PA008": (
        "warning",
        "base model named by a local path",
        "`base_model` (or `_name_or_path`) names a Hub repo id, not a path on someone's disk.",
        "A local path cannot be followed: the base model's terms stay unknown.",
        "Declare the base model by its Hub repo id in the card's `base_model:`.",
        "README.md:5 [base_model]: base model '/srv/models/llama' is a local path, not a Hub repo id",
        "card collector, base-model inference",
    ),
    "PA009": (
        "warning",
        "card and adapter_config.json name different base models",
        "The card's `base_model` agrees with `adapter_config.json`'s `base_model_name_or_path`.",
        "One of them is wrong, and the base model's terms bind the adapter.",
        "Check which base the adapter was trained on and declare that one in the card's `base_model:`.",
        "card's base_model meta-llama/Llama-2-7b-hf disagrees with adapter_config.json's mistralai/Mistral-7B-v0.1",
        "base-model inference",
    ),
    "PA010": (
        "error",
        "Hub repository gated or refused",
        "The Hub served the repository (401/403 mean gated, private or disabled).",
        "A refused repository is not audited: a link to it stays unresolved and blocks a commercial verdict.",
        "Request access on the repo's Hub page, set `HF_TOKEN` to a token of an account that has it, then run "
        "`provaudit resolve`.",
        "hf:models/meta-llama/Llama-2-7b-hf: gated repository: its files need an accepted access request (HTTP 403)",
        "Hub collector",
    ),
    "PA011": (
        "error",
        "Hub repository or revision not found",
        "The repository id and revision exist on the Hub (404).",
        "A missing repository is not audited; links to it stay unresolved.",
        "Check the repo id, its type (`hf:datasets/…` or `hf:models/…`) and the revision after `@`, then scan again.",
        "hf:datasets/acme/missing: repository not found on the Hub (HTTP 404)",
        "Hub collector",
    ),
    "PA012": (
        "error",
        "Hub unreachable",
        "The Hub answered within the timeout and retries (no connection error, no 5xx).",
        "Nothing was read: the repository is not audited.",
        "Scan again later (`provaudit resolve` retries every unresolved upstream); tune `PROVAUDIT_HUB_TIMEOUT` "
        "and `PROVAUDIT_HUB_RETRIES`.",
        "hf:datasets/squad: Hub request failed (HTTP 502): Bad Gateway",
        "Hub collector",
    ),
    "PA013": (
        "error",
        "Hub rate limit",
        "The Hub did not keep refusing with 429 after the retries.",
        "Nothing was read: the repository is not audited.",
        "Set `HF_TOKEN` (higher limits), lower `PROVAUDIT_HUB_WORKERS`, and run `provaudit resolve` later.",
        "hf:datasets/squad: rate limited by the Hub (HTTP 429) after 5 tries",
        "Hub collector",
    ),
    "PA014": (
        "error",
        "offline and not cached",
        "With `HF_HUB_OFFLINE=1` the repository is in the local Hugging Face cache.",
        "Nothing was read: the repository is not audited.",
        "Scan once with network access (`HF_HUB_OFFLINE` unset) to fill the cache, or set `HF_HOME` to a cache "
        "that has it.",
        "hf:datasets/squad: offline and not in the local Hugging Face cache",
        "Hub collector",
    ),
    "PA015": (
        "info",
        "read offline from the cache",
        "With `HF_HUB_OFFLINE=1` a repository is read from the local Hugging Face cache, without the Hub API.",
        "The cache holds the repo's files but not what the Hub's API adds (base-model tags, gating, file "
        "sizes): such a read is partial, so a fuller earlier revision of the record stays current and the "
        "review says the last fetch failed (PA016).",
        "Scan again with network access (`HF_HUB_OFFLINE` unset).",
        "hf:models/Intel/neural-chat-7b-v3-3: read offline from the local Hugging Face cache (commit 7bcbac59241d); "
        "the Hub API (base-model tags, gating) was not asked",
        "Hub collector",
    ),
    "PA016": (
        "warning",
        "last fetch failed",
        "The latest scan that tried to read a record read it; an attempt that failed (network, offline, "
        "refused, unreadable) is recorded as a failed observation, and the record's last good revision "
        "stays current.",
        "The review shows what was read last time, which may be out of date.",
        "Make the source readable again (network, `HF_TOKEN`, file permissions) and scan it again.",
        "last fetched 2026-12-07T16:10:53Z; the fetch of 2026-12-08T09:00:00Z failed: "
        "hf:models/Intel/neural-chat-7b-v3-3: offline and not in the local Hugging Face cache",
        "review",
    ),
    "PA020": (
        "error",
        "saved `datasets` folder incomplete",
        "A `save_to_disk` folder has its `dataset_info.json`, `state.json` and data files.",
        "Missing files mean the DatasetInfo (license, citation) cannot be read.",
        "Save the dataset again with `save_to_disk`, or restore the missing files.",
        "squad/: state.json missing",
        "datasets collector",
    ),
    "PA021": (
        "error",
        "unreadable Croissant file",
        "A Croissant JSON-LD file is a dataset mlcroissant can read.",
        "Its license and sources are lost.",
        "Validate it with `mlcroissant validate --jsonld FILE` and fix what it reports.",
        "croissant.json: not a readable Croissant dataset: no @type sc:Dataset",
        "Croissant collector",
    ),
    "PA022": (
        "warning",
        "Croissant reference naming no resource",
        "Each Croissant source reference has an `@id`, `url` or `name`.",
        "An anonymous source cannot be followed through the lineage.",
        'Give the source an `"@id"` or `"url"` (its Hugging Face or DOI URL).',
        "croissant.json [isBasedOn]: reference {} names no resource (no @id, url or name)",
        "Croissant collector",
    ),
    "PA023": (
        "error",
        "invalid SPDX document",
        "An SPDX 2.x/3 document validates.",
        "Its packages, licenses and relationships cannot be trusted.",
        "Validate it with `pyspdxtools -i FILE` and fix what it reports.",
        "sbom.spdx.json: not a valid SPDX document: missing SPDXID",
        "SPDX collector",
    ),
    "PA024": (
        "warning",
        "SPDX relationship to an undeclared element",
        "Each SPDX relationship names elements the document declares (or an external document reference).",
        "A dangling relationship is a lineage link provaudit cannot follow.",
        "Declare the element in the document (or an external document reference) or fix the id.",
        "sbom.spdx.json [relationships]: SPDXRef-Dataset-x is not declared",
        "SPDX collector",
    ),
    "PA025": (
        "warning",
        "UMR upstream names a package the repository lacks",
        "Each Unified Model Record upstream names a package of the repository.",
        "The upstream is linked by name only; its terms are not in the repository.",
        "Add `<package>/<package>-<version>.yaml` to the repository, or fix the package name.",
        "llama/llama-2.yaml [relations.upstream]: upstream 'tokenizer' names package 'tokenizer', which is not in "
        "the repository at umr/; linked as model:tokenizer",
        "UMR collector",
    ),
    "PA026": (
        "warning",
        "UMR version constraint unsatisfied",
        "An upstream's version constraint matches a version the repository has.",
        "The reviewed upstream may not be the one that was used.",
        "Relax the version constraint or add the required version of the upstream record.",
        "llama/llama-2.yaml [relations.upstream]: no version of 'llama' (1) satisfies '>=2'",
        "UMR collector",
    ),
    "PA027": (
        "error",
        "pipeline code has no commit",
        "A `pipeline:` target is a folder under git, so its commit identifies the code.",
        "Without a commit the code that trained a model cannot be identified later.",
        "Keep training code in git and commit before a run; give the source folder as `pipeline:PATH`.",
        "train/: not a git work tree; the code record has no commit as its version",
        "pipeline collector",
    ),
    "PA028": (
        "warning",
        "uncommitted changes in the pipeline",
        "The pipeline's git work tree is clean.",
        "The commit is not exactly the code that ran.",
        "Commit the changes before training, so the commit identifies the code, then scan `pipeline:PATH` again.",
        "train/: 2 uncommitted change(s); commit 1a2b3c4 is not exactly the code that ran",
        "pipeline collector",
    ),
    "PA029": (
        "error",
        "installed packages cannot be listed",
        "The pipeline's interpreter lists its installed distributions.",
        "The code's dependencies (and their licenses) are unknown.",
        "Give a working interpreter: `provaudit scan 'pipeline:PATH#python=/path/to/venv/bin/python'`.",
        "/opt/venv/bin/python: cannot list the installed distributions: no such file",
        "pipeline collector",
    ),
    "PA030": (
        "warning",
        "DPI record key differs from its identifier",
        "A Data Provenance Initiative summary's record key equals its `Unique Dataset Identifier`.",
        "Two names for one record can split its review.",
        "Report the mismatch to the summary's maintainers; the record keeps its key as id.",
        "Dolly 15k.json: record key 'dolly-x' differs from its Unique Dataset Identifier 'dolly-y'",
        "DPI collector",
    ),
    "PA040": (
        "warning",
        "symlink out of the scanned folder",
        "Files read for a record stay inside the scanned folder; a symlink pointing outside is not followed.",
        "A link out of the folder could read (and publish) files that are not part of the dataset or model.",
        "Copy the file into the folder instead of linking it, or scan the folder it points to, then scan again.",
        "LICENSE: symlink to /etc/passwd, outside the scanned folder data/demo; not followed",
        "local collectors",
    ),
    "PA041": (
        "error",
        "not a regular file",
        "Metadata and license files are regular files (not devices, FIFOs or sockets); folders linked by "
        "symlinks are not hashed.",
        "Reading a device or FIFO can hang a scan or read unbounded data.",
        "Replace the entry with a regular file (or remove it), then scan the folder again.",
        "README.md: is a FIFO, not a regular file; not read",
        "local collectors",
    ),
    "PA042": (
        "error",
        "metadata beyond the parsing limits",
        "YAML and JSON metadata stay within the size, nesting and alias-expansion limits, and folders within "
        "the file-count limit.",
        "Deeply nested or alias-bombed metadata can exhaust memory; such a file is not parsed.",
        "Simplify the file, or raise the limit the message names (`--max-nesting`, `--max-yaml-nodes`, "
        "`--max-yaml-bytes`, `--max-files`, `--max-digest-bytes`; in `review` and `export` "
        "`--max-expression-terms`, `--max-upstreams`) if the file really is metadata.",
        "README.md: more than 100000 YAML nodes with aliases expanded (--max-yaml-nodes); not parsed",
        "local collectors",
    ),
    "PA044": (
        "warning",
        "JSON-LD context that is not bundled",
        "Every `@context` of a JSON-LD file, nested or imported, is one of provaudit's bundled contexts "
        "(Croissant, schema.org) or written inline.",
        "Resolving any other context would open a file outside the scanned folder or a network connection "
        "during a local scan; it is neither fetched nor opened, so the terms it defines are not read.",
        "Inline the context in the file, or declare the Croissant context.",
        'croissant.json: distribution @context names "file:///etc/passwd", which is not one of provaudit\'s '
        "bundled contexts (Croissant, schema.org); not fetched or opened, its terms are not read",
        "Croissant collector",
    ),
    "PA043": (
        "warning",
        "duplicate YAML key",
        "A card's YAML metadata names each key once.",
        "Only the last value is read; the Hub and other tools may read another one.",
        "Keep one value per key in the card's YAML metadata (the message names the line).",
        "README.md:7: duplicate YAML key 'license'; the last value is the one read",
        "card collector",
    ),
    "PA101": (
        "",
        "",
        "A dataset or model declares a license somewhere (card, LICENSE file, DPI annotation), the license is not "
        "`unknown`, and `other` comes with `license_name`/`license_link`.",
        "No license means all rights reserved: no use is permitted without the rights holder.",
        "Declare the license in the card's `license:` (SPDX or Hub id) and add the LICENSE file; for custom terms "
        "`license: other` with `license_name` and `license_link`; then scan the folder again.",
        "README.md:8 [license]: license declared as 'unknown'",
        "rule engine",
    ),
    "PA102": (
        "",
        "",
        "No declaration (one per publisher and place) is more permissive than the record's effective terms.",
        "A permissive tag over restricted terms (an NC upstream, a stricter expert audit) misleads users; it "
        "never decides the verdict, which names the stricter source.",
        "Declare terms no more permissive than the licences the finding names (they come from the records it "
        "names), or replace the restricted source; under a policy that counts no licence of the record, scan an "
        "expert audit of it or review it with a policy that counts its card.",
        "README.md:7 [license] (card metadata): declared 'mit' (commercial) is more permissive than the effective "
        "terms (non-commercial); it does not decide the verdict",
        "rule engine",
    ),
    "PA103": (
        "",
        "",
        "The card's `license:` names a license the LICENSE file reads as.",
        "The card and the license text disagree; the text is the more authoritative declaration.",
        "Ask the owner which licence applies; until they answer, treat the data as the stricter of the two "
        "(the finding names it), then correct the card or the file.",
        "card declares CC-BY-NC-4.0 but LICENSE reads as Apache-2.0",
        "rule engine",
    ),
    "PA104": (
        "",
        "",
        "The card's license and `dataset_infos.json`'s license agree.",
        "Tools that read `datasets`' metadata see another license than the card.",
        "Regenerate `dataset_infos.json` or correct the card so both declare the same license.",
        "card declares CC-BY-4.0, dataset_infos.json says 'cc-by-sa-4.0'",
        "rule engine",
    ),
    "PA105": (
        "",
        "",
        "`source_datasets` names its source (`extended|<hub id>`), not just `extended`, `other` or `unknown`.",
        "An unnamed source's terms cannot be reviewed.",
        "Replace the value at the file and line the finding names with `extended|<hub id of the source>`, "
        "then scan the folder again.",
        "README.md:14 [source_datasets]: source dataset 'extended' does not name the source",
        "rule engine",
    ),
    "PA106": (
        "",
        "",
        "A record made from a share-alike source is under that license or a compatible one (OSADL matrix for "
        "software licenses, the terms knowledge base's `compatible:` lists for data and model licenses).",
        "Share-alike terms require adaptations to carry the same license.",
        "License the record under the share-alike license (or a compatible one), or drop the source.",
        "dataset:x (MIT) derives from share-alike dataset:y (CC-BY-SA-4.0) but is not under CC-BY-SA-4.0 or a "
        "license compatible with it",
        "rule engine",
    ),
    "PA107": (
        "",
        "",
        "No no-derivatives source was modified (an error) or trained on (a warning: whether training makes an "
        "adaptation is a question for counsel).",
        "No-derivatives terms forbid sharing adaptations.",
        "Get permission from the rights holder or use the source unmodified; ask counsel about training.",
        "model:x was trained on dataset:y (trained_on), whose terms forbid derivatives (CC-BY-ND-4.0)",
        "rule engine",
    ),
    "PA108": (
        "",
        "",
        "Data generated by a model is not under provider terms that restrict its use (OpenAI, Llama …).",
        "Provider terms can forbid training competing models on outputs.",
        "Read what the provider's terms allow for its outputs; if your use is not allowed, replace the data "
        "that model generated (the finding names it: this record, or an upstream of it).",
        "dataset:acme/alpaca-cleaned derives from dataset:tatsu-lab/alpaca (…), which was generated by "
        "model:dpi/OpenAI GPT-3, whose terms (LicenseRef-provaudit-openai-terms) make it non-commercial",
        "rule engine",
    ),
    "PA109": (
        "",
        "",
        "A model declared for commercial use was not trained on non-commercial or academic-only data.",
        "The training data's terms may bind the model.",
        "Declare the model non-commercial, or retrain without the restricted data.",
        "model:x is declared for commercial use but trained_on dataset:y, which is non-commercial (CC-BY-NC-4.0)",
        "rule engine",
    ),
    "PA110": (
        "error",
        "lineage cycle",
        "Following upstream links never returns to a record already on the path.",
        "A record cannot derive from its own descendants: one of the links is wrong.",
        "Remove the wrong upstream link from the card (`base_model`, `datasets`, `source_datasets`).",
        "lineage cycle: model:a → model:b → model:a",
        "lineage",
    ),
    "PA111": (
        "warning",
        "record declares itself as its upstream",
        "No upstream link points at the record itself.",
        "A self-reference hides the real source.",
        "Remove the self-reference from the card.",
        "model:a declares itself as its own upstream (base_model: 'a')",
        "lineage",
    ),
    "PA112": (
        "warning",
        "upstream not audited",
        "Every upstream whose terms flow into the record (base model, training data, source, generator) has a "
        "record in the store.",
        "Unknown upstream terms: the verdict is incomplete and at best unspecified.",
        "Run `provaudit resolve` (fetches every Hub upstream), or the exact `provaudit scan hf:…` command the "
        "finding names; upstreams with no Hub id must be found and scanned by hand.",
        "1 upstream not audited, so the verdict is incomplete: dataset:Open-Orca/SlimOrca (trained_on)",
        "lineage",
    ),
    "PA113": (
        "",
        "",
        "Every license of the effective terms is allowed by the policy (`allowed_licenses`, `denied_licenses`).",
        "Your organization decided not to use it.",
        "Replace the data, or ask the legal team to allow the license in the policy file.",
        "dataset:x: GPL-3.0-only is not allowed by policy acme",
        "rule engine",
    ),
    "PA114": (
        "",
        "",
        "The record's use category is one the policy accepts (`fail_on_use`).",
        "The record may not be used as your organization intends.",
        "Replace the record, or get a license for the intended use from the rights holder.",
        "dataset:x is non-commercial, which policy acme does not accept",
        "rule engine",
    ),
    "PA115": (
        "",
        "",
        "Whether use-based restrictions (RAIL, acceptable-use policies) apply through the lineage.",
        "Use restrictions pass on to every derivative and must be repeated in its license.",
        "Pass the use restrictions on in your own license and model card.",
        "model:x carries use-based restrictions that pass on to derivatives (OpenRAIL-M)",
        "rule engine",
    ),
    "PA116": (
        "",
        "",
        "Each counted license is in the terms knowledge base (`data/licenses/terms.yaml`) or a policy.",
        "Unknown terms leave the use category unspecified until someone reads them.",
        "Read the license and add its terms to a policy (`allowed_licenses`) or to `data/licenses/terms.yaml`.",
        "README.md:2 [license]: custom license 'yi-license' (LICENSE) is not in the terms knowledge base",
        "rule engine",
    ),
    "PA117": (
        "",
        "",
        "A model does not declare a license more permissive than its base model's terms allow (use category, "
        "use restrictions, same-terms clauses).",
        "The base model's terms bind finetunes, adapters, merges and quantizations; relicensing is not possible.",
        "Declare in the model's card what the base declares (the finding quotes it: `license: llama2`, or "
        "`license: other` with its `license_name` and `license_link`), ship the base's licence text, and keep "
        "its terms (acceptable-use policy, notices, user limits); one finding per base model.",
        "model:x: declared Apache-2.0 is more permissive than its base model permits: model:meta-llama/Llama-2-7b-hf "
        "is under Llama 2 Community License Agreement (LicenseRef-scancode-llama-2-license-2023)",
        "rule engine",
    ),
    "PA118": (
        "info",
        "base model inferred, not declared",
        "A model's base model (or a merge's parent) the card does not declare, inferred from `adapter_config.json`, "
        "`config.json`, a merge recipe in the card, the card's prose or the repo name.",
        "An inferred link is evidence, not a declaration; the lawyer should know the verdict rests on it.",
        "Declare `base_model:` (and `base_model_relation:`) in the card, then scan it again.",
        "base model model:mistralai/Mistral-7B-v0.1 inferred from adapter_config.json [base_model_name_or_path] "
        "(mistralai/Mistral-7B-v0.1), not declared in the card (relation adapter, confidence 0.95)",
        "base-model inference",
    ),
    "PA119": (
        "warning",
        "the card's prose states stricter terms than its YAML metadata",
        'A sentence of the card\'s body ("for non-commercial research purposes only", "License: CC BY-NC 4.0") '
        "reads as stricter terms than the card's YAML `license:`. Prose is read at card-prose authority, below the "
        "YAML, but a stricter statement is never ignored: it counts in the verdict.",
        'Users read the card\'s words; a publisher who writes "non-commercial" beside `cc-by-4.0` has not granted '
        "commercial use clearly, and the careful reading is the stricter one.",
        "Make the card's `license:` state the terms its text states, or correct the sentence; then scan again.",
        "README.md:14 [card_prose] says 'The dataset may only be used for non-commercial research.' (non-commercial), "
        "stricter than the YAML metadata (README.md:3 [license] 'cc-by-4.0': commercial); the stricter counts",
        "rule engine",
    ),
}


def registry() -> dict[str, RuleDoc]:
    """Every documented rule id, the registered rules' severity and title taken from their registration."""
    from provaudit.rules.engine import available_rules

    registered = {r.rule_id: r for r in available_rules()}
    out: dict[str, RuleDoc] = {}
    for rid, (severity, title, checks, why, fix, example, origin) in sorted(_DOCS.items()):
        if rid in registered:
            severity, title = registered[rid].severity.value, registered[rid].title
        out[rid] = RuleDoc(rid, severity or Severity.WARNING.value, title, checks, why, fix, example, origin)
    return out


def rule_title(rule_id: str) -> str | None:
    """A rule's title, for legends; None for ids provaudit does not document (users' own rules)."""
    doc = registry().get(rule_id)
    return doc.title if doc else None


def markdown() -> str:
    """The text of `docs/rules.md`."""
    rules = registry()
    lines = [
        "# Rules",
        "",
        "<!-- generated by `python -m provaudit.rules.docs > docs/rules.md`; tests/test_rules_doc.py checks it -->",
        "",
        "Every finding provaudit reports names one of these rules. PA0xx come from the collectors (a file "
        "that cannot be read, a repository the Hub refuses), PA110–PA112 from the lineage, the other PA1xx "
        "from the rule engine (`provaudit/rules/builtin.py`). Severity `error` fails `provaudit review` and "
        "`provaudit scan` by default (`--fail-on`).",
        "",
        "| rule | severity | title |",
        "|---|---|---|",
        *(f"| [{d.rule_id}](#{d.anchor}) | {d.severity} | {d.title} |" for d in rules.values()),
        "",
    ]
    for d in rules.values():
        lines += [
            f"## {d.rule_id}",
            "",
            f"**{d.title}** — {d.severity}, reported by the {d.origin}.",
            "",
            f"- **Checks:** {d.checks}",
            f"- **Why:** {d.why}",
            f"- **Fix:** {d.fix}",
            f"- **Example:** `` {d.example} ``",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
