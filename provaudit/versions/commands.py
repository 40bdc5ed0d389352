"""Click commands: ``log verify``, ``run``, ``runs``, ``trace`` and ``check``.

Exit codes as everywhere in provaudit: 0 ok; 1 the log's chain is broken, ``check`` found a difference,
``trace`` found no exact model version or run (``run``: the command's own status); 2 usage or input error.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from provaudit.cli_options import store_option
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


# --- training runs, trace, check ------------------------------------------------------------------


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint=option)
        out[key] = rest
    return out


@click.command("run", context_settings={"ignore_unknown_options": True})
@click.option("--used", multiple=True, type=click.Path(exists=True), help="Input data folder or file (repeatable).")
@click.option(
    "--used-model",
    "used_models",
    multiple=True,
    metavar="PATH|ID",
    help="Input that is a model (pretrained embeddings, a base model): a file, a folder or a record id (repeatable).",
)
@click.option(
    "--generated",
    multiple=True,
    type=click.Path(),
    help="Output the command writes (repeatable); missing when the command ends: the run fails.",
)
@click.option(
    "--generated-data",
    multiple=True,
    type=click.Path(),
    help="Data output (prepared data, features) a later stage uses: a dataset record (repeatable).",
)
@click.option("--name", "model_name", default=None, help="Record name of the first output, e.g. acme/credit-scorer.")
@click.option("--param", "params", multiple=True, help="KEY=VALUE parameter of the run (repeatable).")
@click.option("--metrics", "metrics_file", default=None, help="JSON file of metrics the command writes.")
@click.option(
    "--run-name", default=None, help="Name of the run (default: the script or module Python runs, else the program)."
)
@store_option
@click.argument("argv", nargs=-1, type=click.UNPROCESSED, required=True)
def run_command(
    used: tuple[str, ...],
    used_models: tuple[str, ...],
    generated: tuple[str, ...],
    generated_data: tuple[str, ...],
    model_name: str | None,
    params: tuple[str, ...],
    metrics_file: str | None,
    run_name: str | None,
    store: Path | None,
    argv: tuple[str, ...],
) -> None:
    """Run a training command and record it: code version, environment, data versions, outputs.

    \b
    provaudit run --used data/train --generated model.safetensors --name acme/credit-scorer \\
        --param lr=0.01 -- python train.py
    provaudit run --used data/raw --generated-data data/prepared -- python prepare.py
    Exits with the command's exit status; a failed command is recorded as a failed run, and so is one
    that exits 0 without writing a --generated output (exit 1).
    """
    from provaudit.versions.runs import format_run
    from provaudit.versions.runs import run_command as record_command

    status, run = record_command(
        list(argv),
        used=list(used),
        used_models=list(used_models),
        generated=list(generated),
        generated_data=list(generated_data),
        model_name=model_name,
        params=_pairs(params, "--param"),
        metrics_file=metrics_file,
        store=store,
        name=run_name,
    )
    click.echo(format_run(run), err=True)
    if run.error:
        click.echo(f"error: {run.error}", err=True)
    click.get_current_context().exit(status)


@click.group("runs")
def runs_group() -> None:
    """Training runs in the store: list, show, import from DVC and MLflow."""


@runs_group.command("list")
@store_option
@click.option("--json", "as_json", is_flag=True)
def runs_list(store: Path | None, as_json: bool) -> None:
    """Every recorded run, oldest first."""
    from provaudit.api import open_store
    from provaudit.versions.runs import load_runs

    with open_store(store, read_only=True) as db:
        found = load_runs(db)
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in found], indent=2))
        return
    for r in found:
        made = ", ".join(o.record or o.path for o in r.outputs) or "-"
        click.echo(f"{r.iri}\t{r.source}\t{r.name}\t{r.status}\t{r.started}\t{made}")


@runs_group.command("show")
@click.argument("run")
@store_option
@click.option("--json", "as_json", is_flag=True)
def runs_show(run: str, store: Path | None, as_json: bool) -> None:
    """One run (its IRI, or the end of it) in full."""
    from provaudit.api import open_store
    from provaudit.errors import InputError
    from provaudit.versions.runs import format_run, load_runs

    with open_store(store, read_only=True) as db:
        found = [r for r in load_runs(db) if r.iri == run or r.iri.endswith(run) or r.external_id == run]
    if not found:
        raise InputError(run, "no such run in the store (see provaudit runs list)")
    click.echo(json.dumps(found[-1].model_dump(mode="json"), indent=2) if as_json else format_run(found[-1]))


@runs_group.command("import")
@click.argument("sources", nargs=-1, required=True)
@store_option
@click.option("--json", "as_json", is_flag=True)
def runs_import(sources: tuple[str, ...], store: Path | None, as_json: bool) -> None:
    """Import runs teams already record: dvc.lock (or its folder) and MLflow (mlruns/ or a tracking URI).

    \b
    provaudit runs import dvc.lock
    provaudit runs import mlruns/                 # or sqlite:///mlflow.db, http://mlflow:5000

    Importing the same lock or MLflow run again changes nothing; a run whose outputs provaudit.run
    already recorded (the same digest) stays that one run.
    """
    from provaudit.api import open_store
    from provaudit.versions.imports import import_sources
    from provaudit.versions.runs import format_run

    with open_store(store) as db:
        outcomes = import_sources(list(sources), store=db)
    if as_json:
        click.echo(json.dumps([o.run.model_dump(mode="json") for o in outcomes], indent=2))
        return
    for o in outcomes:
        click.echo(f"{format_run(o.run)}\n  import   {o.outcome}")
    new = sum(o.outcome == "imported" for o in outcomes)
    click.echo(f"{new} run(s) imported, {len(outcomes) - new} already in the store", err=True)


@click.command("trace")
@click.argument("prediction_id")
@click.option("--log", type=click.Path(dir_okay=False, path_type=Path), envvar=PREDICTION_LOG_ENV, default=None)
@store_option
@click.option("--policy", default="default", show_default=True, help="Review policy for the verdicts.")
@click.option("--site", "site_url", default=None, help="Base URL or folder of the published site (for the link).")
@click.option("--json", "as_json", is_flag=True, help="Print the trace as JSON on stdout.")
def trace_command(
    prediction_id: str, log: Path | None, store: Path | None, policy: str, site_url: str | None, as_json: bool
) -> None:
    """From one logged prediction to the model version, its training run, code, data and their licenses.

    Everything is read as of the model's training; later changes are listed as "since then". A
    prediction that logged only a model id is traced to the version in force at its time. LOG defaults
    to $PROVAUDIT_PREDICTION_LOG. Exit 1 when the model version or its run is not found for certain.
    """
    from provaudit.api import open_store
    from provaudit.versions.trace import render_text, trace

    with open_store(store, read_only=True) as db:
        found = trace(prediction_id, store=db, log=log, policy=policy)
    if as_json:
        click.echo(json.dumps(found.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(found, site_url), nl=False)
    click.get_current_context().exit(EXIT_OK if found.ok else EXIT_FAILED)


@click.command("check")
@click.argument("model")
@store_option
@click.option("--path", "work_tree", default=".", show_default=True, help="The code's work tree.")
@click.option("--python", default=None, help="Interpreter of the environment to compare (default: this one).")
@click.option("--json", "as_json", is_flag=True)
def check_command(model: str, store: Path | None, work_tree: str, python: str | None, as_json: bool) -> None:
    """Compare the work tree, environment and data with what MODEL's training run recorded.

    MODEL is a record id (model:acme/credit-scorer), a name, or the model file. Exit 1 on a difference.
    """
    from provaudit.api import open_store
    from provaudit.versions.check import check, render_text

    with open_store(store, read_only=True) as db:
        report = check(model, store=db, path=work_tree, python=python)
    click.echo(json.dumps(report.to_json(), indent=2) if as_json else render_text(report), nl=False)
    click.get_current_context().exit(EXIT_OK if report.ok else EXIT_FAILED)


COMMANDS = (log_group, run_command, runs_group, trace_command, check_command)
