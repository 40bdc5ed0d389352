"""The `provaudit` command line: a thin layer over provaudit.api.

Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 usage or input error;
141 the reader of stdout closed it early.
Set PROVAUDIT_DEBUG=1 to see tracebacks.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from provaudit import __version__
from provaudit._lazy import LazyModule
from provaudit.cli_options import (
    STORE_HELP,
    StoreLocation,
    read_limit_options,
    record_limit_options,
    remember_group_store,
    store_option,
)
from provaudit.cli_output import (
    explain_sparql_error,
    format_option,
    print_csv,
    print_json,
    print_table,
    write_out,
    write_out_with,
)
from provaudit.errors import EXIT_BUG, InputError, ProvauditError, bug_message, describe_os_error
from provaudit.limits import ReadLimits

if TYPE_CHECKING:
    from rich.console import Console

    from provaudit import api
else:  # imported when a command first uses it: `--version` and `--help` stay fast (tests/test_startup.py)
    api = LazyModule("provaudit.api")

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
EXIT_SIGPIPE = 141  # 128 + SIGPIPE: what a shell reports for a tool whose reader closed the pipe
# the same as api.FAIL_LEVELS and rules.render.FORMATS (tests/test_startup.py), spelled out to keep start-up light
FAIL_LEVELS = ("error", "warning", "info", "never")
REVIEW_FORMATS = ("text", "md", "html", "json", "jsonl", "sarif")

fail_on_option = click.option(
    "--fail-on",
    type=click.Choice(FAIL_LEVELS),
    default="error",
    show_default=True,
    help="Exit 1 when a finding of this severity or worse exists.",
)


class _Group(click.Group):
    """The one error path at the edge. provaudit's own errors (input, store, keys, queries) and OS errors
    on the files a command names become one line and exit 2; anything else is a bug: one line asking for
    a report, exit 3. ``--debug`` or PROVAUDIT_DEBUG=1 shows the traceback instead."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY_COMMANDS})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help`` from ``_LAZY_HELP``: listing does not import the command modules
        (a lazy command without a summary there is imported, so a new one is never left out)."""
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            if name in self.commands or name not in _LAZY_HELP:
                command = self.get_command(ctx, name)
            else:
                command = click.Command(name, help=_LAZY_HELP[name])
            if command is not None and not command.hidden:
                rows.append((name, command))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in rows])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """A command of ``_LAZY_COMMANDS`` is imported (and added) when it is first asked for."""
        if cmd_name not in self.commands and cmd_name in _LAZY_COMMANDS:
            module, attr = _LAZY_COMMANDS[cmd_name].split(":")
            self.add_command(getattr(__import__(module, fromlist=[attr]), attr), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            # the reader went away (`provaudit review | head`): end quietly, as a shell tool killed by
            # SIGPIPE does; stdout goes to /dev/null so the interpreter's last flush cannot fail again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(EXIT_SIGPIPE)
        except ProvauditError as exc:
            if _debug(ctx):
                raise
            click.echo(f"provaudit: error: {_sparql_message(str(exc), None) or exc}", err=True)
            ctx.exit(EXIT_ERROR)
        except OSError as exc:
            if _debug(ctx):
                raise
            click.echo(f"provaudit: error: {describe_os_error(exc)}", err=True)
            ctx.exit(EXIT_ERROR)
        except Exception as exc:
            if _debug(ctx):
                raise
            click.echo(f"provaudit: {bug_message(exc)}", err=True)
            ctx.exit(EXIT_BUG)


def _debug(ctx: click.Context) -> bool:
    return bool(os.environ.get("PROVAUDIT_DEBUG") or ctx.meta.get("provaudit_debug"))


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    # in the context, not the environment: one invocation's --debug must not leak into the next
    # (tests and API users run several in one process)
    if value:
        ctx.meta["provaudit_debug"] = True


def _sparql_message(message: str, sparql: str | None) -> str | None:
    """A store SPARQL syntax error in the user's line numbers (the predeclared prefixes not counted)."""
    from provaudit.store.vocab import PREFIXES, sparql_prefixes

    return explain_sparql_error(message, sparql, sparql_prefixes().count("\n"), list(PREFIXES))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="provaudit")
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    help="Show tracebacks instead of one-line errors (or set PROVAUDIT_DEBUG=1).",
)
@click.option(
    "--store",
    type=StoreLocation(),
    default=None,
    expose_value=False,
    callback=remember_group_store,
    help=STORE_HELP + " For every command; the same as --store after the command.",
)
def main() -> None:
    """Provenance and license audit for ML datasets and models, stored as W3C PROV-O."""


def _stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


@main.command()
@click.argument("targets", nargs=-1, required=True)
@store_option
@fail_on_option
@click.option("--json", "as_json", is_flag=True, help="Print the scan result as JSON on stdout.")
@click.option("--no-digests", is_flag=True, help="Skip the sha256 digests of record files.")
@click.option(
    "--jobs",
    type=click.IntRange(1),
    default=None,
    help="Processes reading record folders (default: the cores available); the store is written by one.",
)
@click.option("--force", is_flag=True, help="Read every record folder again, also those whose files are unchanged.")
@click.option(
    "--depth",
    type=click.IntRange(0, 10),
    default=0,
    show_default=True,
    help="How far to follow upstream links (collectors that fetch them: hf:).",
)
@read_limit_options
@click.option(
    "--wait",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="Queue behind a scan that is writing to the store for up to this long, instead of failing at once.",
)
@click.option(
    "--resolve",
    "then_resolve",
    is_flag=True,
    help="Then fetch every unresolved upstream of the store from the Hub, as `provaudit resolve` does, "
    "--depth levels deep (2 when --depth is 0); unresolved upstreams fail like findings unless --fail-on never.",
)
def scan(
    targets: tuple[str, ...],
    store: Path | None,
    fail_on: str,
    as_json: bool,
    no_digests: bool,
    jobs: int | None,
    force: bool,
    depth: int,
    read_limits: ReadLimits,
    wait: float,
    then_resolve: bool,
) -> None:
    """Scan datasets and models into the store.

    TARGETS are folders of dataset/model folders (or one such folder), Data Provenance Initiative
    summaries (a JSON file or a folder of them) and other sources a collector reads.
    """
    from provaudit.collectors.base import CollectOptions

    options = CollectOptions(
        digests=not no_digests,
        depth=depth,
        **read_limits,
    )
    console = _stderr_console()
    show_progress = console.is_terminal and not as_json
    if show_progress:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with console.status("counting what to scan ..."):
            total = api.count_records(targets)  # before the bar: it starts knowing its total
        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]scanning"),
            BarColumn(),
            # "12/23" (a total that lineage outgrows follows it); "12 records" when it cannot be counted first
            TextColumn(
                "{task.completed:.0f}/{task.total:.0f}" if total is not None else "{task.completed:.0f} records"
            ),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("", total=total)

            def advance(rid: str) -> None:
                done = bar.tasks[0].completed + 1
                total_now = bar.tasks[0].total
                bar.update(task, completed=done, description=rid[:60], total=max(total_now or 0, done))

            # Hub retries: one status line (the bar's description), not a line per retry
            status = _StatusLine(lambda text: bar.update(task, description=text[:100]))
            hub_log = logging.getLogger("provaudit.hub")
            hub_log.addHandler(status)
            hub_log.setLevel(logging.INFO)
            try:
                result = api.scan(
                    list(targets), store=store, options=options, progress=advance, jobs=jobs, force=force, wait=wait
                )
            finally:
                hub_log.removeHandler(status)
    else:
        result = api.scan(list(targets), store=store, options=options, jobs=jobs, force=force, wait=wait)
    resolved = None
    if then_resolve:
        from provaudit.resolve import DEFAULT_DEPTH, resolve
        from provaudit.resolve_commands import print_resolve, stderr_progress

        resolved = resolve(
            store=store, depth=depth or DEFAULT_DEPTH, options=options, progress=stderr_progress(show_progress)
        )
    if as_json:
        data = result.to_json()
        if resolved is not None:
            data["resolve"] = resolved.to_json()
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        from rich.console import Console

        _print_scan_summary(result, Console())
        if not result.entries:
            click.echo(
                f"provaudit: nothing to record in {' '.join(targets)}: no dataset or model folder (one with a "
                "README.md card, dataset_infos.json or hub_manifest.yaml), DPI summary or reference was found",
                err=True,
            )
        if resolved is not None:
            print_resolve(resolved)
    incomplete = resolved is not None and not resolved.complete and fail_on != "never"
    sys.exit(EXIT_FINDINGS if result.count_at_or_above(fail_on) or incomplete else EXIT_OK)


class _StatusLine(logging.Handler):
    """Log records shown on one status line (a progress bar's description) instead of one line each."""

    def __init__(self, show: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self._show = show

    def emit(self, record: logging.LogRecord) -> None:
        self._show(record.getMessage())


def _print_scan_summary(result: api.ScanResult, console: Console) -> None:
    from rich.table import Table

    from provaudit.records.model import Severity
    from provaudit.rules.render import plural

    entries = result.entries.values()
    kinds = Counter(e.kind for e in entries)
    severities = result.severity_counts()
    table = Table(title=f"provaudit scan {result.scan.iri.rsplit('/', 1)[-1]}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("records", ", ".join(plural(n, k) for k, n in sorted(kinds.items())) or "0")
    counts = result.scan.counts
    table.add_row("new / revised / unchanged", f"{counts['new']} / {counts['revised']} / {counts['unchanged']}")
    if counts.get("failed"):
        # a read that failed is no new content: the record keeps what an earlier scan read
        table.add_row("failed reads", f"{counts['failed']}: the last good revision of each stays current")
    read = [e for e in entries if result.outcomes.get(e.id) != "failed"]  # a failed read says nothing
    licensed = sum(1 for e in read if e.licensed)
    read_note = " read" if len(read) < len(entries) else ""
    table.add_row("with a readable license", f"{licensed} of {len(read)}{read_note}")
    ranked = sorted(Severity, key=lambda s: -s.rank)
    found = [plural(severities[s.value], s.value, s.value if s is Severity.INFO else None) for s in ranked]
    # the scan sees only what the files say; lineage and rules add findings that only the review counts
    table.add_row("collection findings", ", ".join(f for f in found if not f.startswith("0 ")) or "none")
    console.print(table)
    console.print("The review counts every finding (lineage and rules too): run `provaudit review`.")
    # every error and warning the summary counts is named (the first 25 of each; --json has them all)
    for level in (Severity.ERROR, Severity.WARNING):
        named = [(e.id, rule, message) for e in entries for s, rule, message in e.shown if s == level.value]
        if not named:
            continue
        shown = Table(title=f"{level.value}s", show_lines=False)
        shown.add_column("rule")
        shown.add_column("record")
        shown.add_column("problem", overflow="fold")
        for rid, rule, message in named[:25]:
            kept = " (failed read: the last good revision is kept)" if result.outcomes.get(rid) == "failed" else ""
            shown.add_row(rule, rid, message + kept)
        console.print(shown)
        if severities[level.value] > 25:
            console.print(f"... and {severities[level.value] - 25} more {level.value}s (use --json for all)")


@main.command()
@click.argument("sparql")
@store_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "tsv"]),
    default="table",
    show_default=True,
    help="table (whole values, folded to the terminal's width), json, csv or tsv for scripts.",
)
def query(sparql: str, store: Path | None, fmt: str) -> None:
    """Run a SPARQL 1.1 query over the store (prefixes pa:, prov:, dcterms:, rdfs:, xsd:, foaf: are predeclared).

    SPARQL is the query text, @FILE to read it from a file, or - for standard input.
    """
    if sparql == "-":
        sparql = sys.stdin.read()
    elif sparql.startswith("@"):
        from provaudit.collectors._bounded import read_argument_file

        sparql = read_argument_file(sparql[1:], "query file")
    with api.open_store(store, read_only=True) as db:
        try:
            result = db.query(sparql)
        except InputError as exc:
            raise InputError(None, _sparql_message(str(exc), sparql) or str(exc)) from exc
    if result.boolean is not None:
        click.echo("true" if result.boolean else "false")
        return
    if result.ntriples is not None:
        click.echo(result.ntriples, nl=False)
        return
    if fmt == "json":
        print_json([dict(zip(result.variables, row, strict=True)) for row in result.rows])
    elif fmt in {"csv", "tsv"}:
        print_csv(result.variables, result.rows, delimiter="," if fmt == "csv" else "\t")
    elif not result.rows:
        click.echo("no rows: nothing in the store matches the query", err=True)
    else:
        print_table(result.variables, result.rows)
        click.echo(f"{len(result.rows)} row{'s' if len(result.rows) != 1 else ''}", err=True)


@main.command()
@click.argument("record_id")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the revisions as JSON on stdout.")
def history(record_id: str, store: Path | None, as_json: bool) -> None:
    """Every revision of one record (e.g. dataset:squad, or squad), oldest first: the scan that made it, when,
    the scans that saw it again, each license claim with its source, and what changed from the one before."""
    from provaudit.versions.diff import history_rows

    with api.open_store(store, read_only=True) as db:
        record_id = api.resolve_id(db, record_id)
        rows = history_rows(db, record_id)
    if not rows:
        raise ProvauditError(f"no record {record_id!r} in the store (ids look like dataset:squad or model:org/name)")
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    click.echo(f"{record_id}: {len(rows)} revision(s), oldest first")
    for n, row in enumerate(rows, 1):
        # plain lines, not a table: scan ids and sources stay whole and copyable
        seen = [s for s in row["seen_by"] if s != row["scan_id"]]
        line = f"{n}. revision {str(row['revision']).rsplit('/', 1)[-1]} generated {row['generated']}"
        line += f" by scan {row['scan_id']}" + (f" (seen again by {', '.join(seen)})" if seen else "")
        click.echo(line + (f"; changed: {', '.join(row['changed'])}" if row["changed"] else ""))
        for mark, claims in (("", row["claims"]), ("- ", row["dropped_claims"])):
            for c in claims:
                tag = "  [new]" if c.get("change") == "added" else ("  [gone]" if mark else "")
                read = c["expression"] or "not read"
                click.echo(
                    f"   {mark}license {read} ({c['raw']!r}) from {c['source']}, collector {c['collector']}{tag}"
                )
        for sign, key in (("+", "added"), ("-", "removed")):
            for u in (row["upstream"] or {}).get(key, []):
                click.echo(f"   upstream {sign} {u['target']} ({u['relation']}) from {u['source']}")
        for f in row.get("failed_reads", []):
            click.echo(f"   read by scan {f['scan_id']} ({f['at']}) failed, this revision stayed current: {f['why']}")


@main.command()
@store_option
@format_option
def scans(store: Path | None, fmt: str, as_json: bool) -> None:
    """List the committed scans of the store."""
    with api.open_store(store, read_only=True) as db:
        found = db.scans()
    if as_json or fmt == "json":
        print_json([s.__dict__ for s in found])
        return
    if not found and fmt == "table":
        click.echo("no scans in the store yet; run `provaudit scan PATH`", err=True)
        return
    columns = ("scan", "started", "ended", "records", "targets")
    rows = [
        (s.iri.rsplit("/", 1)[-1], s.started, s.ended or "", s.counts.get("records", ""), "\n".join(s.targets))
        for s in found
    ]
    if fmt == "csv":
        print_csv(columns, [(s.iri, *row[1:]) for s, row in zip(found, rows, strict=True)])
    else:
        print_table(columns, rows)


@main.command()
@click.argument("records", nargs=-1)
@store_option
@click.option(
    "--policy",
    default="default",
    show_default=True,
    help="Policy: a built-in name (default, dpi) or a policy YAML file.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(REVIEW_FORMATS),
    default="text",
    show_default=True,
    help="text for a terminal, md or html for a document, json for scripts (jsonl: one record per line), "
    "sarif for code scanning in CI.",
)
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="SPARQL rule file (.rq) or folder of them; repeatable.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File (default stdout).")
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="SCAN|DATE",
    help="Review the store as it was right after this scan (id from `provaudit scans`), or after the last "
    "scan committed by this date (2026-11-26: the end of that day, UTC) or time (2026-11-26T10:00:00Z).",
)
@fail_on_option
@record_limit_options
def review(
    records: tuple[str, ...],
    store: Path | None,
    policy: str,
    fmt: str,
    rule_paths: tuple[Path, ...],
    out: Path | None,
    as_of: str | None,
    fail_on: str,
) -> None:
    """Legal review of every record in the store, or of the RECORDS named (ids like dataset:squad, or names):
    use category, obligations, evidence, findings. Each record is reviewed with its whole lineage.

    Reviews are kept in the store's folder (review-cache.sqlite, safe to delete): an unchanged record is
    reviewed again only when its lineage, the policy or provaudit changed."""
    from provaudit.rules.render import render
    from provaudit.rules.review import review_store

    if as_of is None:  # the store as it is now: from the cached reviews, written record by record
        from provaudit.rules.review_cache import review_cached

        with api.open_store(store, read_only=True) as db:
            wanted = [api.resolve_id(db, ref) for ref in records]
            result = review_cached(db, policy, sparql_rules=rule_paths, ids=wanted or None)
            try:  # through a file: a cache row found corrupt while writing is rebuilt and the output started over
                written = write_out_with(lambda fh: result.write(fmt, fh), out, lambda r: _reviewed(r.count(), fmt))
                failing = written.count_at_or_above(fail_on)
            finally:
                result.close()
        sys.exit(EXIT_FINDINGS if failing else EXIT_OK)
    with api.open_store(store, read_only=True) as db:
        wanted = [api.resolve_id(db, ref) for ref in records]
        report = review_store(db, policy, sparql_rules=rule_paths, as_of=as_of)
        if wanted:
            report.records = [r for r in report.records if r.id in wanted]
        if wanted and report.as_of is not None:  # the records named: what changed since, as export --as-of says
            from provaudit.versions.asof import AsOf, find_as_of, record_since, since_phrases

            state = AsOf(db, find_as_of(db, report.as_of.id))
            for r in report.records:
                since = since_phrases(record_since(db, state, r.id, r, policy))
                click.echo(f"{r.id} as of {as_of}; since then: {since or 'nothing changed'}", err=True)
    text = render(report, fmt)
    if out:
        n = len(report.records)
        write_out(text, out, _reviewed(n, fmt))
    else:
        click.echo(text, nl=False)
    sys.exit(EXIT_FINDINGS if report.count_at_or_above(fail_on) else EXIT_OK)


def _reviewed(n: int, fmt: str) -> str:
    return f"review of {n} record{'s' if n != 1 else ''} ({fmt})"


@main.group("license")
def license_group() -> None:
    """Read license strings and license texts."""


@license_group.command("normalize")
@click.argument("strings", nargs=-1, required=True)
@format_option
def license_normalize(strings: tuple[str, ...], fmt: str, as_json: bool) -> None:
    """Show how declared license strings read as SPDX expressions, with their terms."""
    from provaudit.licenses.kb import terms_for
    from provaudit.licenses.normalize import license_symbols, normalize

    rows: list[dict[str, Any]] = []
    for text in strings:
        read = normalize(text)
        item: dict[str, Any] = dict(read.to_json())
        item["terms"] = (
            [terms_for(s).model_dump(mode="json", exclude_none=True) for s in license_symbols(read.expression or "")]
            if read.expression
            else []
        )
        rows.append(item)
    if as_json or fmt == "json":
        print_json(rows)
    else:
        columns = ("declared", "SPDX expression", "how", "use")
        cells = [
            (
                row["raw"],
                row["expression"] or ("" if fmt == "csv" else "(not recognized)"),
                row["method"],
                ", ".join(t["use"] for t in row["terms"]) or ("" if fmt == "csv" else "-"),
            )
            for row in rows
        ]
        (print_csv if fmt == "csv" else print_table)(columns, cells)
    if any(row["expression"] is None for row in rows):
        sys.exit(EXIT_FINDINGS)


@license_group.command("detect")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@format_option
def license_detect(files: tuple[Path, ...], fmt: str, as_json: bool) -> None:
    """Identify the licenses in LICENSE/COPYING/NOTICE files or READMEs."""
    from provaudit.licenses.detect import detect_file

    detections = [detect_file(path) for path in files]
    if as_json or fmt == "json":
        print_json([d.to_json() for d in detections])
        return
    columns = ("file", "SPDX expression", "confidence", "matched lines")
    cells = [
        (
            d.file,
            d.expression or ("" if fmt == "csv" else "(none)"),
            f"{d.confidence:.2f}",
            ", ".join(f"{m.start_line}-{m.end_line} {m.expression}" for m in d.matches),
        )
        for d in detections
    ]
    (print_csv if fmt == "csv" else print_table)(columns, cells)


# Commands that live beside the code they drive (release records, the site, runs, the store), by name:
# "module:attribute", imported only when that command runs or `--help` lists them (tests/test_startup.py
# checks each name against its command).
_LAZY_COMMANDS = {
    "export": "provaudit.export.commands:export",
    "import": "provaudit.export.commands:import_",
    "keygen": "provaudit.export.commands:keygen",
    "attach": "provaudit.export.commands:attach",
    "verify": "provaudit.export.commands:verify",
    "site": "provaudit.site.commands:site",
    "resolve": "provaudit.resolve_commands:resolve_command",
    "audit": "provaudit.rules.commands:audit",
    "log": "provaudit.versions.commands:log_group",
    "run": "provaudit.versions.commands:run_command",
    "runs": "provaudit.versions.commands:runs_group",
    "trace": "provaudit.versions.commands:trace_command",
    "check": "provaudit.versions.commands:check_command",
    "reproduce": "provaudit.versions.repro_commands:reproduce_command",
    "diff": "provaudit.versions.diff_commands:diff_command",
    "store": "provaudit.store.maintenance:store_group",
}

# The first sentence of each lazy command's help, so `provaudit --help` lists them without importing
# them (tests/test_startup.py checks each against the command's own help).
_LAZY_HELP = {
    "export": "Export the whole store as RDF, or one RECORD (id like dataset:squad, or a name) to a standard.",
    "import": "Read exports (any format `provaudit export` writes) back into the store, as one scan.",
    "keygen": "Make an Ed25519 key pair for signing attestations.",
    "attach": "Sign the record's provenance for ARTIFACTS: an in-toto statement in a DSSE envelope, beside them.",
    "verify": "Check an attestation: signature, each artifact's digest, and the record.",
    "site": "Build a static site of the store: catalog, record pages, collection cards and the audit page.",
    "resolve": "Fetch every unresolved upstream of the store from the Hub (the local cache with HF_HUB_OFFLINE=1).",
    "audit": "Declared versus actual: how often each source's license category matches the reviewed one.",
    "log": "The prediction audit log (written by provaudit.log_prediction).",
    "run": "Run a training command and record it: code version, environment, data versions, outputs.",
    "runs": "Training runs in the store: list, show, diff, import from DVC and MLflow.",
    "trace": "From one logged prediction to the model version, its training run, code, data and their licenses.",
    "check": "Compare the work tree, environment and data with what MODEL's training run recorded.",
    "reproduce": "Re-run RUN's recorded command in its recorded commit and compare every output digest.",
    "diff": "What changed from SCAN_A to SCAN_B (default: the last two scans; one given: it and the latest).",
    "store": "Check a store (integrity, SHACL shapes) and repair what RocksDB can.",
}

if __name__ == "__main__":
    main()
