"""`provaudit --version` starts without the heavy modules (issue 11: `--version` ≤ 0.3 s).

What is checked is behaviour, not timing (bench/bench_all.py times it): which modules a start-up imports,
seen with ``python -X importtime``. The commands that live in other modules are found by name and
imported only when they run or ``--help`` lists them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from provaudit import cli

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("datasets", "rdflib", "pyoxigraph", "huggingface_hub", "igraph", "provaudit.api")


def imported(*args: str) -> set[str]:
    """Names of the modules that ``python -X importtime ARGS`` imports."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args], capture_output=True, text=True, env=env, check=True, cwd=ROOT
    )
    return {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize(
    "args", [("-m", "provaudit.cli", "--version"), ("-c", "import provaudit.cli")], ids=["--version", "import"]
)
def test_start_up_does_not_import_heavy_modules(args: tuple[str, ...]) -> None:
    modules = imported(*args)
    assert "click" in modules  # importtime did report
    heavy = sorted(m for m in modules if m in HEAVY or m.split(".")[0] in HEAVY)
    assert not heavy, f"{' '.join(args)} imports {heavy}"


def test_version_output() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "provaudit.cli", "--version"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        check=True,
    )
    assert done.stdout.strip() == f"provaudit, version {cli.__version__}"


def test_spelled_out_choices_match_their_sources() -> None:
    from provaudit import api
    from provaudit.rules.render import FORMATS

    assert cli.FAIL_LEVELS == api.FAIL_LEVELS
    assert cli.REVIEW_FORMATS == FORMATS


def test_every_lazy_command_resolves_to_its_name() -> None:
    from provaudit.versions.commands import COMMANDS

    ctx = click.Context(cli.main)
    for name in cli._LAZY_COMMANDS:
        command = cli.main.get_command(ctx, name)
        assert isinstance(command, click.Command), name
        assert command.name == name
    assert {c.name for c in COMMANDS} <= set(cli._LAZY_COMMANDS)
    assert set(cli._LAZY_COMMANDS) <= set(cli.main.list_commands(ctx))


def test_lazy_commands_run_and_are_listed() -> None:
    runner = CliRunner()
    listed = runner.invoke(cli.main, ["--help"])
    assert listed.exit_code == 0
    for name in ("site", "export", "diff", "runs", "scan"):
        assert f"  {name} " in listed.output
    assert runner.invoke(cli.main, ["site", "--help"]).exit_code == 0
    assert runner.invoke(cli.main, ["no-such-command"]).exit_code == 2


def test_help_lists_every_command_without_importing_command_modules() -> None:
    modules = imported("-m", "provaudit.cli", "--help")
    command_modules = sorted({target.split(":")[0] for target in cli._LAZY_COMMANDS.values()})
    assert "click" in modules
    loaded = sorted(m for m in modules if m in command_modules or m in HEAVY or m.split(".")[0] in HEAVY)
    assert not loaded, f"--help imports {loaded}"
    listed = subprocess.run(
        [sys.executable, "-m", "provaudit.cli", "--help"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200"),
        check=True,
    ).stdout.split("Commands:", 1)[1]
    names = [line.split()[0] for line in listed.splitlines() if line.strip()]
    assert names == cli.main.list_commands(click.Context(cli.main))


@pytest.mark.parametrize("name", sorted(cli._LAZY_COMMANDS))
def test_help_summary_is_the_commands_own(name: str) -> None:
    """`--help` shows the summary from cli._LAZY_HELP; it must say what the command's own help says."""
    command = cli.main.get_command(click.Context(cli.main), name)
    assert command is not None and command.help
    own = click.Command(name, help=command.help).get_short_help_str(1000)
    assert name in cli._LAZY_HELP, f"add {name!r} to cli._LAZY_HELP: {own!r}"
    assert click.Command(name, help=cli._LAZY_HELP[name]).get_short_help_str(1000) == own
