"""Click commands: ``log verify``, ``run``, ``runs``, ``trace`` and ``check``.

Exit codes as everywhere in provaudit: 0 ok; 1 the log's chain is broken, ``check`` found a difference,
``trace`` found no exact model version or run (``run``: the command's own status); 2 usage or input error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from provaudit.cli_options import store_option
from provaudit.versions import PREDICTION_LOG_ENV
from provaudit.versions.repro_commands import runs_diff_command

EXIT_OK, EXIT_FAILED = 0, 1


@click.group("log")
def log_group() -> None:
    """The prediction audit log (written by provaudit.log_prediction)."""


def _problem_json(problem: Any) -> dict[str, Any] | None:
    if problem is None:
        return None
    return {"file": str(problem.file), "line": problem.line, "kind": problem.kind, "message": problem.message}


@log_group.command("verify")
@click.argument("log", type=click.Path(dir_okay=False, path_type=Path), envvar=PREDICTION_LOG_ENV)
@click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Public key (PREFIX.pub from `provaudit keygen`): also check every checkpoint of LOG.seals.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
def verify(log: Path, key_path: Path | None, as_json: bool) -> None:
    """Check the hash chain of LOG and its rotated files (LOG.1, LOG.2 …); name the first bad line.

    LOG defaults to $PROVAUDIT_PREDICTION_LOG. A line that was edited, removed or moved breaks the
    chain. Lines cut off at the end, or a chain written anew, need the seals: with --key, every
    checkpoint `provaudit log seal` appended to LOG.seals must still hold (its line still there,
    with the hash it signed); exit 1 naming the checkpoint that no longer holds.
    """
    from provaudit.versions.predictions import verify_log  # imported on use: the CLI starts faster

    seals = None
    if key_path is not None:
        from provaudit.export.attest import load_public
        from provaudit.versions.seal import check_seals

        seals = check_seals(log, load_public(key_path))
        report = seals.chain
    else:
        report = verify_log(log)
    ok = report.ok and (seals is None or seals.ok)
    if as_json:
        out: dict[str, Any] = {
            "ok": ok,
            "files": [str(f) for f in report.files],
            "lines": report.lines,
            "last_hash": report.last_hash,
            "problem": _problem_json(report.problem),
        }
        if seals is not None:
            last = seals.last
            out["seals"] = {
                "checkpoints": len(seals.checkpoints),
                "last": None if last is None else {"number": last.number, "lines": last.lines, "hash": last.hash},
                "broken": [{"seal": number, "message": message} for _, number, message in seals.broken],
            }
        click.echo(json.dumps(out, indent=2))
    else:
        if report.problem is None:
            click.echo(
                f"ok: {report.lines} predictions in {len(report.files)} file(s), chain intact; "
                f"last hash {report.last_hash}"
            )
        else:
            click.echo(f"chain broken at {report.problem}", err=True)
        if seals is not None:
            for _, number, message in seals.broken:
                click.echo(f"seal {number}: {message}", err=True)
            if seals.ok and seals.last is not None:
                click.echo(f"ok: {len(seals.checkpoints)} checkpoint(s) hold; the last: {seals.last}")
            elif not seals.checkpoints:
                click.echo("no checkpoint signed by this key in the seals", err=True)
    click.get_current_context().exit(EXIT_OK if ok else EXIT_FAILED)


@log_group.command("seal")
@click.argument("log", type=click.Path(dir_okay=False, path_type=Path), envvar=PREDICTION_LOG_ENV)
@click.option(
    "--key",
    "key_path",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Private key (PREFIX.key from `provaudit keygen`).",
)
def seal(log: Path, key_path: Path) -> None:
    """Sign the head of LOG (its line count and last hash) and append the checkpoint to LOG.seals.

    The chain is verified first; a broken one is not sealed (exit 1). Run it from cron or CI and keep
    a copy of LOG.seals where the log's writer cannot change it (docs/versioning.md).
    """
    from provaudit.versions.predictions import ChainBroken
    from provaudit.versions.seal import seal_log, seals_path

    try:
        checkpoint = seal_log(log, key_path, lambda message: click.echo(f"provaudit: warning: {message}", err=True))
    except ChainBroken as exc:
        click.echo(str(exc), err=True)
        click.get_current_context().exit(EXIT_FAILED)
        return
    click.echo(f"sealed {checkpoint} → {seals_path(log)}")


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


@log_group.command("add")
@click.argument("log", type=click.Path(dir_okay=False, path_type=Path), envvar=PREDICTION_LOG_ENV)
@click.option("--model", required=True, help="Model record id, or the model file (its sha256 is logged).")
@click.option("--digest", default=None, help="The model's digest (sha256:...) when --model is an id.")
@click.option("--output", required=True, help="The prediction (JSON, else taken as text).")
@click.option("--inputs", default="null", show_default=True, help="The inputs (JSON, else text); kept as sha256.")
@click.option("--keep-inputs", is_flag=True, help="Keep the inputs themselves, not only their sha256.")
@click.option("--id", "request_id", default=None, help="Prediction id (default: a new UUID).")
@click.option(
    "--depends-on",
    "depends_on",
    multiple=True,
    metavar="ID|LOG#ID",
    help="A prediction whose output this one consumed (repeatable): an id of LOG, or OTHER_LOG#ID.",
)
@click.option("--code", default=None, help="Version of the serving code (a commit or tag).")
def add(
    log: Path,
    model: str,
    digest: str | None,
    output: str,
    inputs: str,
    keep_inputs: bool,
    request_id: str | None,
    depends_on: tuple[str, ...],
    code: str | None,
) -> None:
    """Append one prediction to LOG, as provaudit.log_prediction does; print its id.

    \b
    provaudit log add preds.jsonl --model model:acme/scorer --digest sha256:... --output 0.91 \\
        --depends-on emb-17 --depends-on ../embedder/preds.jsonl#emb-17
    """
    from provaudit.versions.predictions import log_prediction

    pid = log_prediction(
        model={"id": model, "digest": digest} if digest else model,
        inputs=_json_or_text(inputs),
        output=_json_or_text(output),
        request_id=request_id,
        log=log,
        keep_inputs=keep_inputs,
        depends_on=list(depends_on) if depends_on else None,
        code=code,
    )
    click.echo(pid)


@log_group.command("query")
@click.argument("logs", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", default=None, metavar="ID|DIGEST", help="Model record id, name, file or digest.")
@click.option("--data", default=None, metavar="VERSION", help="Data version (or dataset record id), via the runs.")
@click.option("--since", default=None, help="From this time on (ISO 8601, UTC, e.g. 2026-11-01 or 2026-11-01T10:00).")
@click.option("--until", default=None, help="Up to this time (ISO 8601, UTC; a date alone includes that day).")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
def query(
    logs: tuple[Path, ...],
    model: str | None,
    data: str | None,
    since: str | None,
    until: str | None,
    store: Path | None,
    as_json: bool,
) -> None:
    """Which predictions did this model, or this data version, affect, and which answers used them?

    \b
    provaudit log query preds.jsonl --model model:acme/scorer --since 2026-11-01
    provaudit log query embed.jsonl answers.jsonl --data 3f2a...dir      # needs the store's runs

    LOGS default to $PROVAUDIT_PREDICTION_LOG. Predictions made by the model (or by a model trained on
    the data, through any number of runs) are listed, then every prediction of LOGS that consumed one
    of them through depends_on, any number of steps; "final" marks answers no other one consumed.
    Exit 1 when a log's chain is broken (answers after the bad line are not evidence).
    """
    import os

    from provaudit.versions.logquery import query_logs

    if not logs:
        env = os.environ.get(PREDICTION_LOG_ENV)
        if not env:
            raise click.UsageError(f"name the LOGS to query (or set {PREDICTION_LOG_ENV})")
        logs = (Path(env),)
    runs = None
    if data is not None or (model is not None and not model.startswith("sha256:")):
        runs = _runs_if_any(store, required=data is not None)
    until = until + "T23:59:59.999999Z" if until and len(until) == 10 else until
    result = query_logs(logs, model=model, data=data, since=since, until=until, runs=runs)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        for matched in result.models:
            click.echo(f"matched  {matched}")
        for item in result.predictions:
            line = item.line
            how = "direct" if not item.via else "via " + " → ".join(item.via)
            model_ref = line.model.get("id", "?") + (f" @ {line.model['digest']}" if "digest" in line.model else "")
            final = " final" if item.final else ""
            click.echo(f"{line.time}  {line.id}  {model_ref}  ({how}{final}; {line.file.name}:{line.line})")
        direct = sum(not p.via for p in result.predictions)
        finals = sum(p.final for p in result.predictions)
        click.echo(
            f"{direct} prediction(s) made by the matched models, {len(result.predictions) - direct} downstream; "
            f"{finals} final answer(s)",
            err=True,
        )
        for problem in result.problems:
            click.echo(f"problem  {problem}", err=True)
    broken = any("chain broken" in p for p in result.problems)
    click.get_current_context().exit(EXIT_FAILED if broken else EXIT_OK)


def _runs_if_any(store: Path | None, *, required: bool) -> list[Any] | None:
    """The store's runs; None when no store is there and the question can do without it."""
    from provaudit.api import open_store
    from provaudit.errors import ProvauditError
    from provaudit.versions.runs import load_runs

    try:
        with open_store(store, read_only=True) as db:
            return list(load_runs(db))
    except ProvauditError:
        if required:
            raise
        return None


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
    """Training runs in the store: list, show, diff, import from DVC and MLflow."""


@runs_group.command("list")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
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
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
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
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
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


runs_group.add_command(runs_diff_command)


@click.command("trace")
@click.argument("prediction_id")
@click.option(
    "--log",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=PREDICTION_LOG_ENV,
    default=None,
    help=f"The prediction log (JSON lines) that holds PREDICTION_ID (default: ${PREDICTION_LOG_ENV}).",
)
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
    to $PROVAUDIT_PREDICTION_LOG. The log's chain is verified up to the prediction's line (through
    LOG.index); a broken chain is refused, naming its first bad line. A prediction logged with
    depends_on is traced through every prediction it consumed, any number of steps and logs: every
    model involved, and the answer's verdict, the most restrictive over all of them, with the path
    that decided it. Exit 1 when the chain is broken, a model version or its run is not found for
    certain, or a depends_on reference cannot be followed (missing, or its log fails verification).
    """
    from provaudit.api import open_store
    from provaudit.versions.composed import complete, render_tree, to_json, trace_graph
    from provaudit.versions.predictions import ChainBroken
    from provaudit.versions.trace import render_text

    try:
        with open_store(store, read_only=True) as db:
            found = trace_graph(prediction_id, store=db, log=log, policy=policy)
    except ChainBroken as exc:
        if as_json:
            empty = dict.fromkeys(("prediction", "model", "run", "review", "page", "answer"))
            refused = {**empty, "datasets": [], "upstream_predictions": [], "problems": [str(exc)]}
            click.echo(json.dumps(refused, indent=2))
        else:
            click.echo(f"refused: {exc}", err=True)
        click.get_current_context().exit(EXIT_FAILED)
        return
    if as_json:
        click.echo(json.dumps(to_json(found), indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(found.trace, site_url), nl=False)
        if found.upstream or found.problems:
            click.echo(render_tree(found), nl=False)
    click.get_current_context().exit(EXIT_OK if complete(found) else EXIT_FAILED)


@click.command("check")
@click.argument("model")
@store_option
@click.option("--path", "work_tree", default=".", show_default=True, help="The code's work tree.")
@click.option("--python", default=None, help="Interpreter of the environment to compare (default: this one).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
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
