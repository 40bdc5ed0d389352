"""`provaudit site`: the click command (registered in provaudit/cli.py with ``main.add_command(site)``)."""

from __future__ import annotations

from pathlib import Path

import click

from provaudit.cli_options import store_option


@click.command("site")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write the site into (new, empty, or an earlier provaudit site); the site is built "
    "beside it and swapped in when complete, so a failed or killed build leaves the earlier one whole.",
)
@store_option
@click.option("--policy", default="default", show_default=True, help="Review policy the license verdicts follow.")
@click.option(
    "--templates",
    "template_dirs",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    multiple=True,
    help="Folder of templates that override the shipped ones by file name (repeatable); "
    "provaudit.site.contexts lists the variables each template receives.",
)
@click.option("--title", default="provaudit", show_default=True, help="Site title shown in every page header.")
@click.option(
    "--base-url",
    default=None,
    help="Where the scanned folders are published (e.g. a repository URL): pages name a record's folder "
    "BASE-URL/<scanned folder>/... instead of <scanned folder>/... (never a local absolute path).",
)
@click.option(
    "--log",
    "logs",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Prediction log (repeatable): model pages list the models that consume the model's predictions "
    '(their depends_on links), as "used by".',
)
def site(
    out: Path,
    store: Path | None,
    policy: str,
    template_dirs: tuple[Path, ...],
    title: str,
    base_url: str | None,
    logs: tuple[Path, ...],
) -> None:
    """Build a static site of the store: catalog, record pages, collection cards and the audit page.

    The site opens from the file system (no server needed) or from any static host.
    """
    from provaudit.site.build import build_site_from_store

    stats = build_site_from_store(
        store, out, policy=policy, template_dirs=template_dirs, title=title, base_url=base_url, logs=logs
    )
    if not stats.records:
        click.echo(
            "provaudit: warning: the store holds no records, so the site is empty; "
            "run `provaudit scan PATH` first, then build the site again",
            err=True,
        )
    for warning in stats.warnings[:20]:
        click.echo(f"provaudit: warning: {warning}", err=True)
    if len(stats.warnings) > 20:
        click.echo(f"provaudit: warning: ... and {len(stats.warnings) - 20} more", err=True)
    carried = f" ({stats.reused} record pages unchanged, carried over)" if stats.reused else ""
    click.echo(
        f"{stats.records} records, {stats.pages} pages{carried}, {stats.files} files "
        f"({stats.bytes / 1e6:.1f} MB) in {stats.seconds:.1f} s → {out / 'index.html'}"
    )
