"""`provaudit diff`: what changed between two scans (thin layer over provaudit.versions.diff).

Exit codes: 0 nothing at --fail-on changed; 1 it did (default: a verdict); 2 usage or input error
(an unknown scan id, fewer than two scans, an unknown policy).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from provaudit.cli_options import store_option
from provaudit.versions.diff import FAIL_ON, ScanDiff, diff_scans, scan_id

EXIT_OK, EXIT_CHANGED = 0, 1


def _verdict_text(v: dict[str, Any]) -> str:
    text = f"{v['use']} ({v['effective_license'] or 'no license'})"
    if not v["complete"]:
        text += ", incomplete lineage"
    return text + (f"; {', '.join(v['obligations'])}" if v["obligations"] else "")


def print_diff(result: ScanDiff) -> None:
    """The diff as plain lines (record ids stay copyable)."""
    click.echo(f"diff {scan_id(result.from_scan.iri)} -> {scan_id(result.to_scan.iri)} (policy {result.policy})")
    if result.empty:
        click.echo("no changes")
        return
    for title, items in (("added", result.added), ("removed", result.removed)):
        for item in items:
            click.echo(f"{title} {item['id']}: {', '.join(item['licenses']) or 'no license'}; {_verdict_text(item)}")
    for c in result.changed:
        click.echo(f"changed {c.id}")
        if c.licenses:
            old, new = (", ".join(c.licenses[k]) or "none" for k in ("from", "to"))
            click.echo(f"  license: {old} -> {new}")
        if c.upstream:
            for sign, key in (("+", "added"), ("-", "removed")):
                for u in c.upstream[key]:
                    click.echo(f"  upstream {sign} {u['target']} ({u['relation']})")
        if c.verdict:
            click.echo(f"  verdict: {_verdict_text(c.verdict['from'])} -> {_verdict_text(c.verdict['to'])}")
        if c.findings:
            for sign, key in (("+", "added"), ("-", "resolved")):
                for f in c.findings[key]:
                    click.echo(f"  finding {sign} {f['rule']} {f['severity']}: {f['message']}")
        if not (c.licenses or c.upstream or c.verdict or c.findings):
            click.echo("  content changed (no license, upstream, verdict or finding change)")
    verdicts = sum(1 for c in result.changed if c.verdict)
    click.echo(
        f"{len(result.added)} added, {len(result.removed)} removed, {len(result.changed)} changed, "
        f"{verdicts} verdict change(s)"
    )


@click.command("diff")
@click.argument("scan_a", required=False)
@click.argument("scan_b", required=False)
@store_option
@click.option(
    "--policy",
    default="default",
    show_default=True,
    help="Policy both states are reviewed under: a built-in name (default, dpi) or a policy YAML file.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="verdict",
    show_default=True,
    help="Exit 1 when a verdict changed (verdict), a license changed (license), anything changed (any); never.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the diff as JSON on stdout.")
def diff_command(
    scan_a: str | None, scan_b: str | None, store: Path | None, policy: str, fail_on: str, as_json: bool
) -> None:
    """What changed from SCAN_A to SCAN_B (default: the last two scans; one given: it and the latest).

    A scan is its IRI or the short id `provaudit scans` prints. Records added and removed, license and
    upstream changes, verdict changes (use, effective license, complete lineage, obligations) and new
    and resolved findings, each state reviewed under --policy. A record a scan did not observe keeps its
    latest earlier revision: a collection scanned in parts is no deletion (docs/versioning.md).
    """
    from provaudit import api

    with api.open_store(store, read_only=True) as db:
        result = diff_scans(db, scan_a, scan_b, policy=policy)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        print_diff(result)
    sys.exit(EXIT_CHANGED if result.fails(fail_on) else EXIT_OK)
