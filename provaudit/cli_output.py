"""How the CLI prints tables and explains query errors: whole values, in a table, CSV or JSON.

Rich cuts cell text with "…" by default; an IRI, scan id or SPDX id cut short is a wrong value, so
every column folds instead, and ``--format csv|json`` gives the same rows to a script.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

if TYPE_CHECKING:  # rich is imported when a table is printed: `provaudit --version` stays light
    from rich.console import Console
    from rich.table import Table

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

TABLE_FORMATS = ("table", "csv", "json")


def format_option(func: F) -> F:
    """``--format table|csv|json`` and the older ``--json`` (the same as ``--format json``)."""
    func = click.option("--json", "as_json", is_flag=True, help="The same as --format json.")(func)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(TABLE_FORMATS),
        default="table",
        show_default=True,
        help="table (whole values, folded to the terminal's width), csv or json.",
    )(func)


def write_out(data: str | bytes, out: Path, what: str) -> None:
    """Write a command's output file whole (through ``OUT.partial``, so a reader never sees half of it)
    and say on stderr what went where: a command that writes a file names it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    if isinstance(data, bytes):
        tmp.write_bytes(data)
    else:
        tmp.write_text(data, encoding="utf-8")
    tmp.replace(out)
    click.echo(f"{what} written to {out}", err=True)


def write_out_with(write: Callable[[TextIO], T], out: Path | None, what: Callable[[T], str]) -> T:
    """Output written piece by piece by ``write`` (which may start over: seek back and truncate) into ``out``
    as :func:`write_out` does, or into a temporary file copied to stdout when it is done."""
    if out is None:
        with tempfile.TemporaryFile("w+", encoding="utf-8") as fh:
            done = write(fh)
            fh.seek(0)
            shutil.copyfileobj(fh, sys.stdout)
        return done
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    with tmp.open("w", encoding="utf-8") as fh:
        done = write(fh)
    tmp.replace(out)
    click.echo(f"{what(done)} written to {out}", err=True)
    return done


def whole_table(*columns: str, title: str | None = None) -> Table:
    """A rich table whose cells fold instead of being cut."""
    from rich.table import Table

    table = Table(title=title)
    for name in columns:
        table.add_column(name, overflow="fold")
    return table


def print_csv(columns: Sequence[str], rows: Sequence[Sequence[object]], delimiter: str = ",") -> None:
    writer = csv.writer(sys.stdout, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([["" if v is None else v for v in row] for row in rows])


def print_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def print_table(columns: Sequence[str], rows: Sequence[Sequence[object]], title: str | None = None) -> None:
    table = whole_table(*columns, title=title)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    table_console().print(table)


def table_console() -> Console:
    """A terminal's width (cells fold), or COLUMNS; piped output is as wide as the values need."""
    from rich.console import Console

    console = Console()
    if console.is_terminal or os.environ.get("COLUMNS", "").isdigit():
        return console
    return Console(width=100_000)


# --- SPARQL errors ----------------------------------------------------------------------------

_AT = re.compile(r"error at (\d+):(\d+):\s*(.*)", re.S)
# Oxigraph lists every character class it expected, as Unicode ranges: noise to a reader
_CHAR_CLASS = re.compile(r"\[[^\[\]]*\\u\{[^\]]*\]")
_PREFIXED = re.compile(r"([A-Za-z][\w.-]*)?:[\w.-]*$")


def explain_sparql_error(message: str, sparql: str | None, hidden_lines: int, known: Sequence[str]) -> str | None:
    """The store's SPARQL syntax error told in the user's own lines (None: not a SPARQL syntax error).

    The store prepends ``hidden_lines`` PREFIX lines, which Oxigraph counts in its positions.
    """
    if "SPARQL syntax error" not in message:
        return None
    found = _AT.search(message)
    if not found:
        return _CHAR_CLASS.sub("a name character", message)
    line, column, detail = int(found[1]) - hidden_lines, int(found[2]), found[3]
    lines = (sparql or "").splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    predeclared = ", ".join(f"{p}:" for p in known)
    if "Prefix not found" in detail:
        name = _PREFIXED.search(text[: max(column - 1, 0)])
        prefix = f"{name[1] or ''}:" if name else "a prefix"
        column = name.start() + 1 if name else column  # Oxigraph points past the name; show where it starts
        head = f"SPARQL error at line {line}, column {column}: unknown prefix {prefix}"
        hint = f"declare it (PREFIX {prefix} <...>) or use a predeclared one: {predeclared}"
        return f"{head}; {hint}" + _caret(text, column)
    detail = _CHAR_CLASS.sub("a name character", " ".join(detail.split()))
    return f"SPARQL syntax error at line {line}, column {column}: {detail}" + _caret(text, column)


def _caret(text: str, column: int) -> str:
    if not text.strip():
        return ""
    return f"\n    {text}\n    {' ' * max(column - 1, 0)}^"
