"""Click commands ``reproduce RUN`` and ``runs diff RUN_A RUN_B``: the questions after a complaint.

Exit codes: ``reproduce`` 0 every output identical, 1 one differs, is missing or the command failed;
``runs diff`` 0 (the differences are the answer); 2 usage or input error (an unknown run).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from provaudit.cli_options import store_option

EXIT_OK, EXIT_DIFFERENT = 0, 1


@click.command("reproduce")
@click.argument("run")
@store_option
@click.option("--path", "work_tree", default=None, help="The project's git work tree (default: the recorded one).")
@click.option("--no-install", is_flag=True, help="Do not pip-install recorded package versions; say what differs.")
@click.option("--keep", is_flag=True, help="Keep the temporary checkout (its folder is printed).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
def reproduce_command(
    run: str, store: Path | None, work_tree: str | None, no_install: bool, keep: bool, as_json: bool
) -> None:
    """Re-run RUN's recorded command in its recorded commit and compare every output digest.

    RUN is a run IRI (or its end), a DVC stage, an MLflow run id, an output's sha256, or a model (id or file).
    The commit is checked out as a git worktree in a temporary folder; data git does not hold is
    copied in at its recorded version; packages whose version differs are installed at the recorded
    version where pip can (else the note says which version ran). Exit 0 identical, 1 different.
    """
    from provaudit.api import open_store
    from provaudit.versions.check import resolve_run
    from provaudit.versions.reproduce import render_text, reproduce

    with open_store(store, read_only=True) as db:
        found = resolve_run(db, run)
    result = reproduce(found, path=work_tree, install=not no_install, keep=keep)
    click.echo(json.dumps(result.to_json(), indent=2) if as_json else render_text(result), nl=False)
    click.get_current_context().exit(EXIT_OK if result.identical else EXIT_DIFFERENT)


@click.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON on stdout.")
def runs_diff_command(run_a: str, run_b: str, store: Path | None, as_json: bool) -> None:
    """What differs between two runs: code, parameters, data versions, packages, metrics, outputs.

    Each RUN is a run IRI (or its end), a DVC stage, an MLflow run id, an output's sha256, or a model (id or file).
    """
    from provaudit.api import open_store
    from provaudit.versions.check import resolve_run
    from provaudit.versions.runs_diff import diff_runs, render_text

    with open_store(store, read_only=True) as db:
        found = diff_runs(resolve_run(db, run_a), resolve_run(db, run_b))
    click.echo(json.dumps(found.to_json(), indent=2) if as_json else render_text(found), nl=False)
