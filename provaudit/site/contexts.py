"""What each page template receives: the contract for ``provaudit site --templates DIR`` overrides.

Templates are jinja2 with autoescape on; partials (``_*.html``) are included by the pages and see
their page's variables. A test checks that every variable a template uses is documented here and
that every documented variable is passed, so this table cannot drift from the code.
"""

from __future__ import annotations

# Variables every page gets (base.html and the partials it includes).
COMMON: dict[str, str] = {
    "root": 'relative path from the page to the site root ("" or "../"), to prefix links',
    "page": "which page this is: catalog, record, collections or audit (for the navigation)",
    "site_title": "the --title of the site",
    "policy": "the review policy the verdicts follow",
    "built": "when the site was built (UTC); empty on record pages, which are rewritten only when what "
    "they show changes",
}

# Jinja globals and filters registered by provaudit.site.build.environment().
GLOBALS: dict[str, str] = {
    "csp": "the Content-Security-Policy of every page (for its <meta> tag)",
    "use_labels": "use category value → label, in order from most to least permissive",
    "evidence_groups": "function: a RecordReview → its evidence grouped by license (rules.render.evidence_groups)",
    "not_stated": 'the text shown for a value a record does not state ("not stated")',
    "use_label (filter)": "a use category value as its label",
}

PAGES: dict[str, dict[str, str]] = {
    "index.html": {
        "rows": "catalog rows: id, name, title, kind, publisher, declared, effective, use, findings, worst, "
        "collections, href, audit (the same fields, in this order, as the catalog shards of "
        "provaudit.site.shards; audit: the record's "
        "declared-versus-actual cells as source:declared, for the catalog's audit filter)",
        "facets": "filter options as (value, count) lists: kind, license, use, collection",
        "static_rows": "how many rows the page lists without JavaScript (search.js renders the others)",
    },
    "record.html": {
        "record": "the Record (provaudit.records.model): claims, upstream, agents, files, facts, each with its source",
        "review": "its RecordReview (provaudit.rules.report) or None when it was not reviewed",
        "findings": "the review's findings plus the collectors' own, worst first",
        "publisher": "the first publisher (else creator) named for the record, or an empty string",
        "umr": "the Unified Model Record card: a list of views.Section (anchor, title, rows, links, note)",
        "card_html": "the card body as sanitized HTML (Markup), or None when the record has no card",
        "card_source": "where the card was read (views.SourceRef), or None",
        "graph": "the lineage graph (LineageGraph: prints as inline SVG; .legend relations, .evaluation count)",
        "upstream_links": "the record's upstream links as views.Link (href None when the target has no record)",
        "source_ref": "function: a Source → views.SourceRef (text and, for web sources, href)",
        "record_hrefs": "record id → file name of its page (relative to records/)",
        "revisions": "views.RevisionView list, newest first (empty when built without a store)",
        "downloads": "(href, file name, label) of the generated card files",
        "collections": "(name, slug) of the collections the record belongs to",
        "runs": "the training runs that generated the record, newest first: provaudit.site.runs.RunView (anchor, "
        "iri, name, status, started, ended, command, params, metrics, code version, dirty files, inputs with "
        "their data versions and record links, outputs with digests, packages); empty for other records",
        "used_by": "models that consumed this model's predictions (depends_on links in the logs given to "
        "`provaudit site --log`): (record id, page href or None, number of links); empty without logs",
    },
    "collection.html": {
        "name": "the collection's name",
        "card": "the Data Provenance Card: summary, kinds, flags, severities, charts (title, SVG), records, "
        "audit (the declared-versus-actual view of provaudit.rules.audit.SiteAudit.view, or None)",
        "record_hrefs": "record id → file name of its page (relative to records/)",
    },
    "collections.html": {
        "collections": "one summary per collection: name, slug, records, kinds, use (value → count), findings",
    },
    "audit.html": {
        "rows": "one per finding: record, href, finding (provaudit.records.model.Finding), collections",
        "facets": "filter options as (value, count) lists: rule, severity, collection",
        "static_rows": "how many findings the page lists without JavaScript (audit.js renders the others)",
        "audit_table_view": "the declared-versus-actual table of all records (SiteAudit.view), or None",
    },
}

# Partials and the pages that include them (they see that page's variables, and `m`: the page's
# `{% import "_macros.html" as m %}`).
PARTIALS: dict[str, tuple[str, ...]] = {
    "_nav.html": tuple(PAGES),
    "_macros.html": tuple(PAGES),
    "_umr.html": ("record.html",),
    "_lineage.html": ("record.html",),
    "_provenance.html": ("record.html",),
    "_runs.html": ("record.html",),
    "_used_by.html": ("record.html",),
    "_audit.html": ("record.html",),
    "_audit_table.html": ("audit.html", "collection.html"),
}


def describe() -> str:
    """The contract as Markdown (for documentation)."""
    lines = ["# Site template variables", "", "Every page:", ""]
    lines += [f"- `{k}`: {v}" for k, v in {**COMMON, **GLOBALS}.items()]
    for page, variables in PAGES.items():
        lines += ["", f"## {page}", ""] + [f"- `{k}`: {v}" for k, v in variables.items()]
    return "\n".join(lines) + "\n"
