"""``provaudit store check`` and ``provaudit store repair``: is a store whole, and what can be done if not.

``check`` reads the store's description (``store.json``), opens the database read-only, reads every
quad (so a damaged table file shows), counts what interrupted scans left, and validates the committed
graph against the SHACL shapes in ``ontology/shapes.ttl``, reporting every violation with its node.

``repair`` does what RocksDB can through pyoxigraph: it opens the store for writing (which clears
what interrupted scans left), backs it up, compacts it (``optimize``) and flushes it. pyoxigraph
exposes no RocksDB ``RepairDB``: a database that cannot be opened at all is not repaired; then the
way back is a backup (``repair`` makes one each run) or scanning the sources again.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import click
from pyoxigraph import NamedNode, Store

from provaudit.cli_options import store_option
from provaudit.errors import StoreError
from provaudit.store import resilience
from provaudit.store.base import default_store_path


@dataclass
class Problem:
    """One thing wrong with a store: what, where (a file or an RDF node), and how bad."""

    severity: str  # error | warning | info
    where: str
    message: str

    def line(self) -> str:
        return f"{self.severity}: {self.where}: {self.message}"


@dataclass
class CheckReport:
    store: str
    quads: int = 0
    scans: int = 0
    uncommitted: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def to_json(self) -> dict[str, object]:
        return {
            "store": self.store,
            "ok": self.ok,
            "quads": self.quads,
            "scans": self.scans,
            "uncommitted_graphs": self.uncommitted,
            "problems": [p.__dict__ for p in self.problems],
        }


def shacl_problems(ntriples: bytes) -> list[Problem]:
    """Every SHACL violation of the graph against ``ontology/shapes.ttl``, each with its focus node."""
    from pyshacl import validate
    from rdflib import Graph, URIRef
    from rdflib.namespace import SH

    from provaudit.resources import resource

    data = Graph()
    if ntriples:
        data.parse(data=ntriples.decode("utf-8"), format="nt")
    shapes = Graph().parse(resource("ontology", "shapes.ttl"))
    _, report, _ = validate(data, shacl_graph=shapes, inference="none", allow_warnings=True)
    assert isinstance(report, Graph)
    out: list[Problem] = []
    for result in sorted(report.subjects(SH.resultSeverity, None), key=str):
        node = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        message = report.value(result, SH.resultMessage) or "violates a shape"
        severity = report.value(result, SH.resultSeverity)
        level = "error" if severity == URIRef(str(SH) + "Violation") else "warning"
        where = f"<{node}>" + (f" {path.n3()}" if path is not None else "")
        out.append(Problem(level, where, str(message)))
    return out


def check_store(path: Path, *, shacl: bool = True) -> CheckReport:
    """What is wrong with the store at path (nothing is written)."""
    from provaudit.store.oxigraph import OxigraphStore

    report = CheckReport(store=str(path))
    meta, db = path / "store.json", path / "oxigraph"
    if not path.is_dir():
        report.problems.append(Problem("error", str(path), "no such folder; nothing to check"))
        return report
    for warning in resilience.writable_by_others(path):  # others could swap its files: not a whole store
        report.problems.append(Problem("error", warning.split(": ", 1)[0], warning.split(": ", 1)[1]))
    try:
        resilience.check_database_folder(path, db)
        if os.path.lexists(meta):
            resilience.read_meta(path, meta)
        else:
            report.problems.append(
                Problem("warning", str(meta), "missing (a store written by provaudit has one); the next scan writes it")
            )
    except StoreError as exc:
        where = str(exc).split(": ", 1)[0]
        report.problems.append(Problem("error", where, str(exc).split(": ", 1)[-1]))
        return report
    try:
        raw = Store.read_only(str(db))
    except (OSError, RuntimeError) as exc:
        report.problems.append(
            Problem("error", str(db), f"the database cannot be opened ({exc}); see `provaudit store repair`")
        )
        return report
    try:
        graphs = [g for g in raw.named_graphs() if isinstance(g, NamedNode)]
        for _ in raw.quads_for_pattern(None, None, None, None):  # every table block is read once
            report.quads += 1
    except (OSError, RuntimeError) as exc:
        report.problems.append(Problem("error", str(db), f"a table cannot be read ({exc}); the database is damaged"))
        return report
    finally:
        del raw
    with OxigraphStore(path, read_only=True) as store:
        report.scans = len(store.scans())
        committed = {g.value for g in store._committed()}
        report.uncommitted = sum(1 for g in graphs if g.value not in committed)
        if report.uncommitted:
            report.problems.append(
                Problem(
                    "info",
                    str(db),
                    f"{report.uncommitted} graphs of interrupted scans (never visible); the next scan or "
                    "`provaudit store repair` clears them",
                )
            )
        if shacl:
            report.problems += shacl_problems(store.ntriples())
    return report


def repair_store(path: Path, *, backup: bool = True) -> list[str]:
    """Clear interrupted scans, back up, compact and flush; returns what was done, one line each."""
    from provaudit.store.oxigraph import OxigraphStore

    done: list[str] = []
    with OxigraphStore(path) as store:  # opening for writing clears what interrupted scans left
        done.append("opened for writing; graphs of interrupted scans cleared")
        if backup:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            target = path.parent / f"{path.name}.backup-{stamp}"
            target.mkdir(parents=True)
            store._ox.backup(str(target / "oxigraph"))
            meta = resilience.read_store_file(
                path, path / "store.json", resilience.MAX_META_BYTES, "move it aside; the next scan writes one"
            )
            (target / "store.json").write_bytes(meta)
            done.append(f"backed up to {target}")
        store._ox.optimize()
        done.append("compacted (RocksDB optimize)")
        store._ox.flush()
        done.append("flushed")
    return done


@click.group("store")
def store_group() -> None:
    """Check a store (integrity, SHACL shapes) and repair what RocksDB can."""


@store_group.command("check")
@store_option
@click.option("--no-shacl", is_flag=True, help="Skip the SHACL validation (faster on a large store).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
def check_command(store: Path | None, no_shacl: bool, as_json: bool) -> None:
    """Exit 0: the store is whole and conforms; 1: problems (each printed with its file or node); 2: unusable."""
    path = Path(store or default_store_path())
    report = check_store(path, shacl=not no_shacl)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        for problem in report.problems:
            click.echo(problem.line())
        click.echo(
            f"{path}: {report.quads} quads, {report.scans} scans, {report.uncommitted} interrupted; "
            + ("ok" if report.ok else f"{sum(p.severity == 'error' for p in report.problems)} errors"),
            err=True,
        )
    unusable = any(p.severity == "error" and p.where.startswith(str(path)) for p in report.problems)
    sys.exit(0 if report.ok else 2 if unusable and not report.quads else 1)


@store_group.command("repair")
@store_option
@click.option("--no-backup", is_flag=True, help="Do not copy the store aside first.")
def repair_command(store: Path | None, no_backup: bool) -> None:
    """Clear interrupted scans, back the store up, compact and flush it.

    A database RocksDB cannot open at all is not repaired (pyoxigraph has no RepairDB): restore a backup
    or scan the sources again into a new store.
    """
    path = Path(store or default_store_path())
    if not (path / "oxigraph").is_dir():
        raise StoreError(f"{path}: no provaudit store here")
    for line in repair_store(path, backup=not no_backup):
        click.echo(line)
