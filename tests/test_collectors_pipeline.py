"""The pipeline collector on git repositories and Python environments made in the test."""

from __future__ import annotations

import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

import provaudit.api as api
from provaudit.collectors.base import CollectOptions, collector_for
from provaudit.collectors.pipeline import PipelineCollector, normalize_dist, parse_target
from provaudit.records.model import Kind, Record, Relation, Severity

METADATA = """\
Metadata-Version: 2.4
Name: Tiny_Trainer.Utils
Version: 0.3.1
License-Expression: MIT
Classifier: License :: OSI Approved :: MIT License
Classifier: Programming Language :: Python :: 3
"""
OLD_METADATA = """\
Metadata-Version: 2.1
Name: old-style
Version: 1.0
License: Copyright (c) 2020 Someone
 Permission is hereby granted, free of charge, to any person obtaining a copy
Classifier: License :: OSI Approved :: BSD License
"""
ODD_METADATA = """\
Metadata-Version: 2.1
Name: odd-terms
Version: 2.0
License: Acme Research Only
"""


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "trainer"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "dev@example.org")
    git(path, "config", "user.name", "Dev")
    (path / "train.py").write_text("print('training')\n")
    git(path, "add", "train.py")
    git(path, "commit", "-q", "-m", "first")
    git(path, "remote", "add", "origin", "git@github.com:acme/trainer.git")
    return path


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtual environment (no pip) holding three installed distributions' metadata."""
    root = tmp_path_factory.mktemp("env")
    venv.EnvBuilder(with_pip=False).create(root)
    python = root / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    for folder, text in (
        ("tiny_trainer_utils-0.3.1.dist-info", METADATA),
        ("old_style-1.0.dist-info", OLD_METADATA),
        ("odd_terms-2.0.dist-info", ODD_METADATA),
    ):
        (site / folder).mkdir(parents=True)
        (site / folder / "METADATA").write_text(text)
    yield python


def collect(target: str) -> dict[str, Record]:
    collector = PipelineCollector()
    assert collector.can_collect(target)
    return {r.id: r for r in collector.collect(target, CollectOptions())}


def test_parse_target() -> None:
    parsed = parse_target("pipeline:/src/x#model=org/name&python=/v/bin/python")
    assert (parsed.path, parsed.model, parsed.python) == (Path("/src/x"), "org/name", "/v/bin/python")
    assert parse_target("pipeline:.").path == Path(".")
    assert normalize_dist("Tiny_Trainer.Utils") == "tiny-trainer-utils"


def test_code_packages_and_model_link(repo: Path, env: Path) -> None:
    records = collect(f"pipeline:{repo}#model=acme/m1&python={env}")
    commit = git(repo, "rev-parse", "HEAD")
    assert sorted(records) == [
        "code:acme/trainer",
        "model:acme/m1",
        "package:pypi/odd-terms",
        "package:pypi/old-style",
        "package:pypi/tiny-trainer-utils",
    ]
    code = records["code:acme/trainer"]
    assert (code.kind, code.version, code.location) == (Kind.CODE, commit, str(repo.resolve()))
    assert code.fact("branch") == "main"
    assert code.fact("remote") == "git@github.com:acme/trainer.git"
    assert code.fact("dirty") is None
    assert code.findings == []
    links = [(u.target, u.relation, u.version) for u in code.upstream]
    assert links == [
        ("package:pypi/odd-terms", Relation.USES, "==2.0"),
        ("package:pypi/old-style", Relation.USES, "==1.0"),
        ("package:pypi/tiny-trainer-utils", Relation.USES, "==0.3.1"),
    ]
    # the model record carries only the link to the code that trained it
    model = records["model:acme/m1"]
    [link] = model.upstream
    assert (link.target, link.relation, link.version) == ("code:acme/trainer", Relation.USES, commit)
    assert model.claims == [] and model.facts == [] and model.agents == [] and model.version is None


def test_package_licenses_and_sources(repo: Path, env: Path) -> None:
    records = collect(f"pipeline:{repo}#python={env}")
    tiny = records["package:pypi/tiny-trainer-utils"]
    assert tiny.version == "0.3.1"
    assert [(c.raw, c.expression, c.source.field) for c in tiny.claims] == [
        ("MIT", "MIT", "License-Expression"),
        ("MIT License", "MIT", "Classifier"),
    ]
    assert all(
        c.source.file and c.source.file.endswith("tiny_trainer_utils-0.3.1.dist-info/METADATA") for c in tiny.claims
    )
    old = records["package:pypi/old-style"]
    # a License field holding license text is not a license name: kept as a fact, the classifier is claimed
    assert [(c.raw, c.expression, c.source.field) for c in old.claims] == [
        ("BSD License", "LicenseRef-provaudit-bsd", "Classifier")
    ]
    assert old.fact("license_text") == "Copyright (c) 2020 Someone"
    assert tiny.findings == [] and old.findings == []


def test_unknown_license_string(repo: Path, env: Path) -> None:
    odd = collect(f"pipeline:{repo}#python={env}")["package:pypi/odd-terms"]
    assert [(c.raw, c.expression, c.source.field) for c in odd.claims] == [("Acme Research Only", None, "License")]
    [finding] = odd.findings
    assert (finding.rule, finding.severity) == ("PA005", Severity.WARNING)


def test_current_environment_by_default(repo: Path) -> None:
    from importlib.metadata import version

    # PyYAML is one of provaudit's own requirements: the project's only when the project declares it
    (repo / "requirements.txt").write_text("# what train.py needs\npyyaml>=6\n")
    records = collect(f"pipeline:{repo}")
    package = records["package:pypi/pyyaml"]
    assert package.version == version("PyYAML")
    code = records["code:acme/trainer"]
    assert ("package:pypi/pyyaml", f"=={version('PyYAML')}") in [(u.target, u.version) for u in code.upstream]
    assert code.fact("python") == sys.version.split()[0]
    assert not Path(code.fact("python_executable") or "/").is_absolute()


def test_provaudits_own_requirements_are_not_the_codes(repo: Path) -> None:
    """igraph (GPL) is provaudit's requirement; a project that does not declare it has no such obligation."""
    from importlib.metadata import requires

    own = {
        r.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower() for r in requires("provaudit") or []
    }
    assert {"igraph", "pyyaml", "rdflib"} <= own  # the oracle: provaudit's declared requirements
    records = collect(f"pipeline:{repo}")
    code = records["code:acme/trainer"]
    targets = {u.target for u in code.upstream}
    assert not {"package:pypi/igraph", "package:pypi/pyyaml", "package:pypi/rdflib", "package:pypi/provaudit"} & targets
    assert "package:pypi/pytest" in targets  # installed beside provaudit, not required by it: the user's
    assert "igraph" in (code.fact("tooling_distributions") or "")
    (repo / "pyproject.toml").write_text('[project]\nname = "trainer"\ndependencies = ["igraph>=0.11"]\n')
    declared = collect(f"pipeline:{repo}")["code:acme/trainer"]
    assert "package:pypi/igraph" in {u.target for u in declared.upstream}


def test_no_absolute_path_of_this_machine_in_package_records(repo: Path) -> None:
    for record in collect(f"pipeline:{repo}").values():
        if record.kind is not Kind.PACKAGE:
            continue
        assert record.location is None
        for claim in record.claims:
            assert claim.source.file and not Path(claim.source.file).is_absolute(), (record.id, claim.source.file)
            assert claim.source.file.split("/")[0].endswith((".dist-info", ".egg-info")), claim.source.file


def test_environment_snapshot_is_cached_until_the_venv_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import provaudit.collectors.pipeline as pipeline

    monkeypatch.setenv("PROVAUDIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(pipeline.NO_ENV_CACHE, raising=False)
    root = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(root)
    python = str(root / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python"))
    started: list[list[str]] = []
    real_run = pipeline._run

    def counting_run(args: list[str], cwd: Path | None = None) -> tuple[int, str, str]:
        if args[0] == python:
            started.append(args)
        return real_run(args, cwd)

    monkeypatch.setattr(pipeline, "_run", counting_run)
    first, _ = pipeline.environment_snapshot(python)
    second, _ = pipeline.environment_snapshot(python)
    assert first == second and len(started) == 1  # the second read came from the cache
    site = Path(next(p for p in first["paths"] if p.endswith("site-packages")))  # type: ignore[index]
    (site / "tiny_trainer_utils-0.3.1.dist-info").mkdir()
    (site / "tiny_trainer_utils-0.3.1.dist-info" / "METADATA").write_text(METADATA)
    third, _ = pipeline.environment_snapshot(python)
    assert len(started) == 2  # installing a distribution changed the venv: read again
    assert "Tiny_Trainer.Utils" in [d["name"] for d in third["distributions"]]  # type: ignore[index]
    pipeline.environment_snapshot(python, cache=False)
    assert len(started) == 3


def test_dirty_work_tree(repo: Path, env: Path) -> None:
    (repo / "train.py").write_text("print('changed')\n")
    (repo / "notes.txt").write_text("new\n")
    code = collect(f"pipeline:{repo}#python={env}")["code:acme/trainer"]
    assert [f.value for f in code.facts if f.key == "dirty"] == [" M train.py", "?? notes.txt"]
    [finding] = code.findings
    assert (finding.rule, finding.severity, finding.evidence) == (
        "PA028",
        Severity.WARNING,
        [" M train.py", "?? notes.txt"],
    )


def test_not_a_git_repository(tmp_path: Path, env: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    records = collect(f"pipeline:{folder}#python={env}")
    code = records["code:plain"]
    assert code.version is None
    assert [(f.rule, f.severity) for f in code.findings] == [("PA027", Severity.INFO)]
    assert len(code.upstream) == 3


def test_repository_without_commits(tmp_path: Path, env: Path) -> None:
    folder = tmp_path / "fresh"
    folder.mkdir()
    git(folder, "init", "-q")
    code = collect(f"pipeline:{folder}#python={env}&name=fresh-pipeline")["code:fresh-pipeline"]
    assert code.version is None
    assert [f.rule for f in code.findings] == ["PA027"]
    assert "no commit yet" in code.findings[0].message


def test_broken_interpreter_and_unknown_option(repo: Path, tmp_path: Path) -> None:
    records = collect(f"pipeline:{repo}#python={tmp_path / 'nope' / 'python'}&modle=x")
    assert sorted(records) == ["code:acme/trainer"]
    code = records["code:acme/trainer"]
    assert [(f.rule, f.severity) for f in code.findings] == [("PA002", Severity.WARNING), ("PA029", Severity.ERROR)]
    assert code.version == git(repo, "rev-parse", "HEAD")  # the code version is still read


def test_missing_folder(tmp_path: Path, env: Path) -> None:
    records = collect(f"pipeline:{tmp_path / 'gone'}#python={env}")
    code = records["code:gone"]
    assert (code.kind, code.version) == (Kind.CODE, None)
    assert [(f.rule, f.severity) for f in code.findings] == [("PA027", Severity.ERROR)]


def test_collector_choice(repo: Path) -> None:
    assert collector_for(f"pipeline:{repo}").name == "pipeline"
    assert not PipelineCollector().can_collect(str(repo))


def test_records_into_store(repo: Path, env: Path, store_path: Path) -> None:
    records = list(collect(f"pipeline:{repo}#model=acme/m1&python={env}").values())
    with api.open_store(store_path) as db:
        writer = db.begin_scan([f"pipeline:{repo}"], {})
        writer.add(records)
        writer.commit()
    with api.open_store(store_path, read_only=True) as store:
        package = store.record("package:pypi/tiny-trainer-utils")
        code = store.record("code:acme/trainer")
        model = store.record("model:acme/m1")
    assert package is not None and code is not None and model is not None
    assert [(c.raw, c.expression, c.source.field) for c in package.claims] == [
        ("MIT", "MIT", "License-Expression"),
        ("MIT License", "MIT", "Classifier"),
    ]
    assert code.version == git(repo, "rev-parse", "HEAD")
    assert [u.target for u in model.upstream] == ["code:acme/trainer"]


def test_scan_into_store(repo: Path, env: Path, store_path: Path) -> None:
    target = f"pipeline:{repo}#python={env}"
    api.scan([target], store=store_path)
    with api.open_store(store_path, read_only=True) as store:
        package = store.record("package:pypi/tiny-trainer-utils")
    assert package is not None
    assert [c.expression for c in package.claims] == ["MIT", "MIT"]
