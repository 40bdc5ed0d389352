"""Click commands: ``log verify`` — check the prediction log's hash chain.

Exit codes as everywhere in provaudit: 0 the chain is intact, 1 a line breaks it (the message names
the file, the line and why), 2 usage or input error (no such log).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from provaudit.versions import PREDICTION_LOG_ENV

EXIT_OK, EXIT_FAILED = 0, 1


@click.group("log")
def log_group() -> None:
    """The prediction audit log (written by provaudit.log_prediction)."""


@log_group.command("verify")
@click.argument("log", type=click.Path(dir_okay=False, path_type=Path), envvar=PREDICTION_LOG_ENV)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
def verify(log: Path, as_json: bool) -> None:
    """Check the hash chain of LOG and its rotated files (LOG.1, LOG.2 …); name the first bad line.

    LOG defaults to $PROVAUDIT_PREDICTION_LOG. A line that was edited, removed or moved breaks the
    chain; lines cut off at the end of the newest file cannot be detected by a chain alone, so
    compare the printed last hash with one you kept.
    """
    from provaudit.versions.predictions import verify_log  # imported on use: the CLI starts faster

    report = verify_log(log)
    if as_json:
        problem = report.problem
        click.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "files": [str(f) for f in report.files],
                    "lines": report.lines,
                    "last_hash": report.last_hash,
                    "problem": None
                    if problem is None
                    else {
                        "file": str(problem.file),
                        "line": problem.line,
                        "kind": problem.kind,
                        "message": problem.message,
                    },
                },
                indent=2,
            )
        )
    elif report.problem is None:
        click.echo(
            f"ok: {report.lines} predictions in {len(report.files)} file(s), chain intact; last hash {report.last_hash}"
        )
    else:
        click.echo(f"chain broken at {report.problem}", err=True)
    click.get_current_context().exit(EXIT_OK if report.ok else EXIT_FAILED)
