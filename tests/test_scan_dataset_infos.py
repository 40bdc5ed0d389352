"""A record folder's dataset_infos.json is read without importing ``datasets`` (scan workers stay light), and
a config that is no DatasetInfo is a finding naming the file and the config."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import CARDS

from provaudit.collectors.local import collect_folder


def test_scan_reads_dataset_infos_without_datasets(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from provaudit.collectors.local import collect_folder\n"
        f"record = collect_folder(Path({str(CARDS / 'datasets' / 'glue')!r}))\n"
        "print(sorted({f.source.file for f in record.facts}), 'datasets' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split()[-1] == "False", done.stdout
    assert "dataset_infos.json" in done.stdout  # the file was read: its citation and sizes are facts


def test_a_bad_config_is_a_finding_naming_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "imdb"
    shutil.copytree(CARDS / "datasets" / "imdb", folder)
    infos = json.loads((folder / "dataset_infos.json").read_text())
    config = next(iter(infos))
    infos[config]["version"] = "one"  # DatasetInfo.from_dict refuses a version that is not x.y.z
    infos["broken"] = {"license": ["mit"]}  # a license that is no string
    (folder / "dataset_infos.json").write_text(json.dumps(infos))
    record = collect_folder(folder)
    bad = [f for f in record.findings if f.rule == "PA004"]
    assert sorted(f.message.split(" is not")[0] for f in bad) == sorted(
        [f"dataset_infos.json: config {config!r}", "dataset_infos.json: config 'broken'"]
    )
    assert all(f.source is not None and f.source.file == "dataset_infos.json" for f in bad)
