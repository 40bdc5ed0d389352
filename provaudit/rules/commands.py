"""`provaudit audit`: the click command (registered in provaudit/cli.py)."""

from __future__ import annotations

from pathlib import Path

import click

from provaudit.cli_options import store_option
from provaudit.rules.audit import BY, FORMATS


@click.command("audit")
@store_option
@click.option(
    "--policy",
    default="default",
    show_default=True,
    help="Policy: a built-in name (default, dpi) or a policy YAML file; gives the actual categories "
    "and reads every declaration.",
)
@click.option(
    "--by",
    type=click.Choice(BY),
    default="source",
    show_default=True,
    help="source: one matrix per declaring source; collection: also one per collection; "
    "creator: also DPI's creators, domains, tasks and synthetic data.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for a terminal, md or html for a document, json (or csv) for scripts.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File (default stdout).")
def audit(store: Path | None, policy: str, by: str, fmt: str, out: Path | None) -> None:
    """Declared versus actual: how often each source's license category matches the reviewed one.

    For every declaring source (Hugging Face, GitHub, Papers with Code as recorded by DPI; card YAML,
    LICENSE file, dataset_infos.json, Hub tags) a matrix of the actual use category (the review's
    verdict under --policy) against the category that source declares, or `omitted`.
    """
    from provaudit import api
    from provaudit.rules.audit import audit_records, render_audit

    with api.open_store(store, read_only=True) as db:
        records = list(db.records(light=True))
    text = render_audit(audit_records(records, policy, by=by), fmt)
    if out:
        from provaudit.cli_output import write_out

        write_out(text, out, f"audit by {by} ({fmt})")
    else:
        click.echo(text, nl=False)
