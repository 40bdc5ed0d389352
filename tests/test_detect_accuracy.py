"""Which matches detection keeps, on real files of ScanCode's data-driven suite copied into tests/fixtures.

The expectations are ScanCode's (tests/fixtures/scancode_datadriven/SOURCE.md), written out as SPDX ids by
hand from the pinned LicenseDB (scancode-toolkit-mini 32.3.0): tatu-ylonen is SSH-short, bsd-simplified
BSD-2-Clause, bsd-new BSD-3-Clause, python Python-2.0, gpl-2.0-plus GPL-2.0-or-later, mpl-1.1 MPL-1.1,
lgpl-2.1-plus LGPL-2.1-or-later, and vixie-cron has no SPDX id there (LicenseRef-scancode-vixie-cron).
"""

from __future__ import annotations

import re
from pathlib import Path

from provaudit.licenses._rules import get_rule_index
from provaudit.licenses.detect import detect_file

FIXTURES = Path(__file__).parent / "fixtures" / "scancode_datadriven"


def _ids(path: Path) -> set[str]:
    return {
        re.sub(r"(-only|-or-later)$", "", token)
        for m in detect_file(path).matches
        for token in re.split(r"[\s()]+", m.expression)
        if token and token not in ("AND", "OR", "WITH")
    }


def test_license_texts_matched_exactly_are_not_taken_by_a_longer_near_sibling() -> None:
    # Three whole texts one after the other: each matches exactly, and an approximate match of a sibling
    # text (BSD-2-Clause-pos-unchanged over the BSD-2-Clause text and some neighbouring words) must not
    # replace it, as in ScanCode, where a long license text matched exactly is final.
    assert _ids(FIXTURES / "bsd-new_and_bsd-simplified_and_tatu-ylonen.txt") == {
        "SSH-short",
        "BSD-2-Clause",
        "BSD-3-Clause",
    }


def test_a_text_nearly_one_rule_is_that_rule_over_the_license_texts_inside_it() -> None:
    # The Python license holds the PSF-2.0 and CWI texts whole; the file is nearly the whole Python license
    # (ScanCode's near-duplicate step), so it is Python-2.0 alone, not its parts beside it.
    assert _ids(FIXTURES / "python-2.7.txt") == {"Python-2.0"}


def test_a_license_keeps_the_id_of_the_pinned_licensedb_when_an_spdx_id_has_its_key_lowercased() -> None:
    # The SPDX License List's "Vixie-Cron" lowercased is the LicenseDB key "vixie-cron", whose id in the
    # pinned release is LicenseRef-scancode-vixie-cron: the LicenseDB's text keeps that id.
    idx = get_rule_index()
    rule = idx.names.index("vixie-cron.LICENSE")
    assert idx.exprs[int(idx.expr_of[rule])] == "LicenseRef-scancode-vixie-cron"
    assert _ids(FIXTURES / "vixie.txt") == {"LicenseRef-scancode-vixie-cron"}


def test_a_word_no_rule_has_does_not_break_a_notice() -> None:
    # "testVMX is free software; ... GNU General Public License ... either version 2": the program's name
    # is a word no rule has; as in ScanCode's query it is skipped, and the notice is ScanCode's
    # GPL-2.0-or-later notice matched exactly (it was read as a GPL-2.0-or-later AND LGPL-2.0 notice).
    matches = [m for m in detect_file(FIXTURES / "testVMX.c.2-lines55-95").matches if m.rule != "clue"]
    assert [(m.expression, m.start_line, m.end_line) for m in matches] == [("GPL-2.0-or-later", 21, 33)]


def test_a_quote_right_after_the_spdx_tag_opens_the_expression_rather_than_ending_it() -> None:
    from provaudit.licenses.detect import detect_text

    # U-Boot's README line, as ScanCode reads it: the words after the tag are ids no license has
    prose = 'If a "SPDX-License-Identifier:" line references more than one Unique\n'
    assert {m.expression for m in detect_text(prose).matches} == {"LicenseRef-scancode-unknown-spdx"}
    # a JSON or Python string still ends the expression at its closing quote
    assert detect_text('{"SPDX-License-Identifier": "MIT"}\n').expression == "MIT"
    assert detect_text("x = 'SPDX-License-Identifier: Apache-2.0'\n").expression == "Apache-2.0"


def test_a_bare_name_inside_a_notice_of_the_same_license_is_part_of_it() -> None:
    # The MPL/GPL/LGPL tri-license notice says "the LGPL or the GPL" where ScanCode's rule says "the GPL or
    # the LGPL": the two bare names left between the aligned words are part of the notice, not GPL-1.0 and
    # LGPL-2.0 beside it.
    matches = [m for m in detect_file(FIXTURES / "slic-tests-4-LICENSE.txt").matches if m.rule != "clue"]
    assert [m.expression for m in matches] == ["MPL-1.1 OR GPL-2.0-or-later OR LGPL-2.1-or-later"]
