"""README command 1 (scan → review → site on the demo data), run from a built wheel, not the checkout.

CI installs the package editable for the tests, so without this test the wheel's layout (cards/,
ontology/, site/ and data/ mapped into ``provaudit/_resources``) would never be exercised. The wheel is
built from the checkout, installed with ``pip install --target`` into a temporary folder that comes
first on ``sys.path``, and the README's own command line is run in another temporary folder that
holds only a copy of the demo data — the wheel has to bring everything else.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_command_1() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)\n```", text, flags=re.S)
    command = next(b.strip() for b in blocks if "provaudit scan" in b and "review" in b and "site" in b)
    return command


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(build), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = build.glob("provaudit-*.whl")
    target = tmp_path_factory.mktemp("site-packages")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    return target


def test_readme_command_1_runs_from_the_wheel(wheel_site: Path, tmp_path: Path) -> None:
    command = _readme_command_1()
    steps = [s.strip() for s in command.split("&&")]
    # the install steps are what this test did with the wheel; the rest runs as written
    runs = [s for s in steps if s.startswith(".venv/bin/provaudit")]
    assert [shlex.split(s)[1] for s in runs] == ["scan", "review", "site"], command
    work = tmp_path / "work"
    shutil.copytree(wheel_site / "provaudit" / "_resources" / "data" / "demo", work / "data" / "demo")
    env = {k: v for k, v in os.environ.items() if k != "PROVAUDIT_STORE"} | {"PYTHONPATH": str(wheel_site)}
    launcher = [sys.executable, "-c", "import sys; from provaudit.cli import main; sys.argv[0] = 'provaudit'; main()"]
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import provaudit, provaudit.resources as r; print(provaudit.__file__, r.resource_root())",
        ],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(wheel_site) in where and str(ROOT) not in where, where  # the wheel, not the checkout
    for step in runs:
        args = shlex.split(step)[1:]
        result = subprocess.run([*launcher, *args], env=env, cwd=work, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, (step, result.stdout[-2000:], result.stderr[-2000:])
        assert "Traceback" not in result.stderr
    review = (work / "review.md").read_text()
    assert review.startswith("#")
    # the merged model of the demo names its parents from the mergekit recipe in its card (issue 18)
    assert "OpenHermes-2.5-neural-chat-v3-3-Slerp" in review and "[recipe]" in review
    index = (work / "_site" / "index.html").read_text()
    assert "neural-chat-7b-v3-3" in index
    assert any((work / "_site" / "records").glob("model-*.html"))
