"""License detection on ScanCode toolkit's own data-driven license tests (the half in ../shared).

The expectations are ScanCode's: each test file has a ``.yml`` beside it listing the license keys ScanCode
finds, one per match (``gpl-2.0-plus``, ``unknown-license-reference``, ...). This oracle reads them with its
own YAML parsing and maps keys to SPDX ids with the ScanCode index that ``license-expression`` bundles, not
with provaudit's rule index. A file is right when the set of ids over all of provaudit's matches (generic
findings included) equals the expected set, ``X``/``X-only``/``X-or-later``/``X+`` counted as one id.
Failures are grouped by pattern in the report printed at the end of the run.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml
from conftest import SUMMARY
from license_expression import get_license_index

from provaudit.licenses.detect import detect_file

# What this detector reaches on the shared half (1,727/1,768 = 97.7%, no false positive, with the index
# pinned to the suite's own LicenseDB release; bench/README.md); the goal is 0.97.
MIN_EXACT = 0.976
MAX_FALSE_POSITIVE_FILES = 0


def _key_map() -> dict[str, str]:
    return {
        e["license_key"]: e.get("spdx_license_key") or f"LicenseRef-scancode-{e['license_key']}"
        for e in get_license_index()
    }


def _fold(license_id: str) -> str:
    return re.sub(r"(-only|-or-later|\+)$", "", license_id)


def _ids(expressions: list[str], keys: dict[str, str] | None) -> set[str]:
    out = set()
    for expression in expressions:
        for token in re.split(r"[\s()]+", expression):
            if token and token.upper() not in {"AND", "OR", "WITH"}:
                out.add(_fold(keys.get(token.lower(), token) if keys is not None else token))
    return out


def _pattern(expected: set[str], found: set[str]) -> str:
    missing, extra = expected - found, found - expected
    if not found:
        return "nothing found"
    if missing and extra:
        return "a different license" if len(missing) == len(extra) == 1 else "licenses lost and gained"
    return "a license lost" if missing else "an extra license"


@pytest.fixture(scope="module")
def suite(shared_corpus: Path) -> list[tuple[Path, set[str], bool]]:
    root = shared_corpus / "licenses" / "scancode-datadriven"
    keys = _key_map()
    cases = []
    for spec in sorted(root.rglob("*.yml")):
        target = spec.with_suffix("")
        if not target.is_file():
            continue
        data = yaml.safe_load(spec.read_text(encoding="utf-8")) or {}
        expected = _ids([str(e) for e in data.get("license_expressions") or []], keys)
        cases.append((target, expected, bool(data.get("expected_failure"))))
    assert len(cases) > 1500, f"only {len(cases)} ScanCode test files under {root}"
    return cases


def test_detection_matches_scancode_on_its_own_suite(suite: list[tuple[Path, set[str], bool]]) -> None:
    root = next(p for p in suite[0][0].parents if p.name == "scancode-datadriven")
    right = 0
    with_license = [c for c in suite if c[1]]
    patterns: Counter[str] = Counter()
    lines: list[str] = []
    false_positives: list[str] = []
    for path, expected, expected_failure in suite:
        found = _ids([m.expression for m in detect_file(path).matches], None)
        rel = path.relative_to(root).as_posix()
        if not expected:
            if found:
                false_positives.append(f"{rel}: {sorted(found)}")
            continue
        if found == expected:
            right += 1
            continue
        kind = "expected failure (ScanCode's own)" if expected_failure else _pattern(expected, found)
        patterns[kind] += 1
        lines.append(f"  [{kind}] {rel}: missing {sorted(expected - found)}, extra {sorted(found - expected)}")
    share = right / len(with_license)
    report = [
        f"ScanCode data-driven suite: {right}/{len(with_license)} files with a license exactly right ({share:.1%}); "
        f"{len(false_positives)} of {len(suite) - len(with_license)} files without one got a license",
        *(f"  {n} × {kind}" for kind, n in patterns.most_common()),
        *sorted(lines),
        *(f"  [false positive] {fp}" for fp in false_positives),
    ]
    SUMMARY.extend(report)
    assert share >= MIN_EXACT, "\n".join(report)
    assert len(false_positives) <= MAX_FALSE_POSITIVE_FILES, "\n".join(false_positives)


def test_gnu_gpl_version_2_on_its_own_line_is_not_eurosym() -> None:
    from provaudit.licenses.detect import detect_text

    det = detect_text("This program is licensed under the\nGNU General Public License version 2\n")
    assert det.expression is not None and "Eurosym" not in det.expression
    assert _fold(det.expression) == "GPL-2.0"


def test_exception_is_reported_with_its_license() -> None:
    from provaudit.licenses.detect import detect_text

    text = (
        "This library is free software; you can redistribute it and/or modify it under the terms of the GNU "
        "General Public License as published by the Free Software Foundation; either version 2, or (at your "
        "option) any later version.\n\nLinking this library statically or dynamically with other modules is making "
        "a combined work based on this library. Thus, the terms and conditions of the GNU General Public License "
        "cover the whole combination.\n\nAs a special exception, the copyright holders of this library give you "
        "permission to link this library with independent modules to produce an executable, regardless of the "
        "license terms of these independent modules, and to copy and distribute the resulting executable under "
        "terms of your choice, provided that you also meet, for each linked independent module, the terms and "
        "conditions of the license of that module. An independent module is a module which is not derived from or "
        "based on this library. If you modify this library, you may extend this exception to your version of the "
        "library, but you are not obligated to do so. If you do not wish to do so, delete this exception "
        "statement from your version.\n"
    )
    ids = {m.expression for m in detect_text(text).matches}
    assert any("Classpath-exception-2.0" in i for i in ids), ids


def test_deprecated_spdx_id_with_an_exception_is_the_license_with_it() -> None:
    from provaudit.licenses.detect import detect_text

    det = detect_text("/*\n * SPDX-License-Identifier: GPL-2.0-with-classpath-exception\n */\n")
    assert det.expression == "GPL-2.0-only WITH Classpath-exception-2.0"
    det = detect_text("# SPDX-License-Identifier: eCos-2.0\n")
    assert det.expression == "GPL-2.0-or-later WITH eCos-exception-2.0"


def test_spdx_line_with_an_unknown_id_is_unknown_spdx_and_prose_is_no_spdx_line() -> None:
    from provaudit.licenses.detect import detect_text

    det = detect_text("// SPDX-License-Identifier: MIT OR Not-A-Real-License-9\n")
    assert [m.expression for m in det.matches] == ["MIT OR LicenseRef-scancode-unknown-spdx"]
    # U-Boot's bare list of ids is a choice
    assert detect_text("SPDX-License-Identifier: GPL-2.0+ BSD-3-Clause\n").expression == (
        "GPL-2.0-or-later OR BSD-3-Clause"
    )
    prose = 'License "GPL-2.0+" is a deprecated SPDX license identifier, use "GPL-2.0-or-later"\n'
    assert all(m.rule != "spdx-identifier" for m in detect_text(prose).matches)
    listing = '"description": "A list of SPDX license identifiers",\n'
    assert detect_text(listing).matches == ()


def test_license_intro_alone_is_a_reference_to_an_unnamed_license_not_a_license() -> None:
    from provaudit.licenses.detect import detect_text

    det = detect_text("Please read the following license agreement carefully.\n")
    assert [(m.expression, m.rule) for m in det.matches] == [("LicenseRef-scancode-unknown-license-reference", "clue")]
    assert det.expression is None


def test_a_license_name_that_is_only_a_version_once_stopwords_go_is_no_alias() -> None:
    from provaudit.licenses.detect import detect_text

    # ScanCode's stopwords drop the HTML tag word "h2": the "H2 1.0" name must not match any "v 1.0"
    det = detect_text("<TITLE>Common Public License - v 1.0</TITLE>\n")
    assert all("h2" not in m.expression for m in det.matches), det.to_json()


def test_words_shared_in_a_small_gap_between_aligned_blocks_join_the_match() -> None:
    import numpy as np

    from provaudit.licenses._rules import _gaps_filled

    # text: a b c X d Y e f g; rule: a b c d e f g -- the triples align "a b c" and "e f g"; "d" in the gap
    query = np.array([1, 2, 3, 90, 4, 91, 5, 6, 7])
    rule = np.array([1, 2, 3, 4, 5, 6, 7])
    run, got = _gaps_filled(query, rule, [(0, 0, 3), (6, 4, 3)], 6)
    assert run == [(0, 0, 3), (4, 3, 1), (6, 4, 3)] and got == 7
