"""`provaudit resolve`: complete the store's lineage from the Hub (thin layer over provaudit.resolve).

Exit codes: 0 every propagating upstream is in the store; 1 some stay unresolved; 2 usage or input error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console

from provaudit.cli_options import read_limit_options, store_option
from provaudit.collectors.base import CollectOptions
from provaudit.limits import ReadLimits
from provaudit.resolve import DEFAULT_DEPTH, ResolveResult, resolve

EXIT_OK, EXIT_UNRESOLVED = 0, 1


def stderr_progress(enabled: bool) -> Callable[[str], None] | None:
    """A progress callback printing to stderr, or None (not a terminal, or JSON asked for)."""
    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        return None

    def show(message: str) -> None:
        console.print(f"[dim]resolve {message}[/dim]")

    return show


def print_resolve(result: ResolveResult) -> None:
    """What a resolve fetched, per round, and what stays unresolved with why (plain lines: ids stay copyable)."""
    if not result.rounds:
        click.echo(
            "resolve: nothing to fetch; every propagating upstream is in the store"
            if result.complete
            else "resolve: nothing fetched; no unresolved upstream can be fetched from the Hub"
        )
    for r in result.rounds:
        names = ", ".join(r.resolved) or "none"
        click.echo(f"resolve round {r.number}: asked the Hub for {len(r.targets)}, resolved {len(r.resolved)}: {names}")
    if result.complete:
        if result.rounds:
            click.echo(f"resolve: complete; {len(result.fetched)} upstreams fetched")
        return
    click.echo(f"resolve: {len(result.unresolved)} unresolved upstreams")
    for u in result.unresolved:
        needed = ", ".join(u.needed_by[:3]) + (f" and {len(u.needed_by) - 3} more" if len(u.needed_by) > 3 else "")
        inferred = ", inferred" if u.inferred else ""
        click.echo(f"  {u.target} ({u.relation.value}{inferred}; needed by {needed})")
        click.echo(f"    {u.rule + ' ' if u.rule else ''}{u.reason or ''}")


@click.command("resolve")
@store_option
@click.option(
    "--depth",
    type=click.IntRange(1, 10),
    default=DEFAULT_DEPTH,
    show_default=True,
    help="How many levels up the lineage to fetch (one scan activity per level).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@read_limit_options
def resolve_command(store: Path | None, depth: int, as_json: bool, read_limits: ReadLimits) -> None:
    """Fetch every unresolved upstream of the store from the Hub (the local cache with HF_HUB_OFFLINE=1).

    An unresolved upstream is a base model, training dataset, source dataset, ... that a record names
    and the store has no record of. Exit 1 when some stay unresolved (each listed with why).
    """
    result = resolve(
        store=store,
        depth=depth,
        options=CollectOptions(**read_limits),
        progress=stderr_progress(not as_json),
    )
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        print_resolve(result)
    sys.exit(EXIT_OK if result.complete else EXIT_UNRESOLVED)
