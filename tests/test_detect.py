"""License detection on real license files (fixtures copied from the shared detection corpus)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from provaudit.errors import InputError, ProvauditError
from provaudit.licenses._rules import get_rule_index
from provaudit.licenses.detect import Detection, LicenseMatch, detect_file, detect_text

FIXTURES = Path(__file__).parent / "fixtures" / "licenses"
EXPECTED: dict[str, dict] = json.loads((FIXTURES / "expected.json").read_text())["files"]


def _norm(ids: set[str]) -> set[str]:
    """X, X-only, X-or-later and X+ are one license for scoring (their texts are identical)."""
    return {re.sub(r"(-only|-or-later|\+)$", "", i) for i in ids}


def _ids(expression: str | None) -> set[str]:
    toks = re.findall(r"[A-Za-z0-9][A-Za-z0-9.+_-]*", expression or "")
    return _norm({t for t in toks if t not in {"AND", "OR", "WITH"}})


def _line_no(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path.name}")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_gives_exactly_the_expected_ids(name: str) -> None:
    det = detect_file(FIXTURES / name)
    want = _norm(set(EXPECTED[name]["ids"]))
    assert _ids(det.expression) == want, det.to_json()
    if not want:
        assert det.expression is None
        assert det.matches == ()
        assert det.confidence == 0.0
    else:
        assert 0.0 < det.confidence <= 1.0
        for m in det.matches:
            assert 1 <= m.start_line <= m.end_line
            assert m.matched_text.strip()


def test_full_text_match_spans_the_license_not_the_readme() -> None:
    path = FIXTURES / "MIT__markdown.md"
    det = detect_file(path)
    assert det.expression == "MIT"
    (m,) = [m for m in det.matches if m.rule == "full-text"]
    assert m.confidence > 0.9
    assert m.start_line <= _line_no(path, "Permission is hereby granted") <= m.end_line
    assert m.start_line <= _line_no(path, "USE OR OTHER DEALINGS IN THE SOFTWARE") <= m.end_line
    assert m.start_line > _line_no(path, "## Dataset Structure")
    assert m.end_line < _line_no(path, "## Citation")
    assert "Permission is hereby granted" in m.matched_text


def test_truncated_text_is_a_partial_match() -> None:
    det = detect_file(FIXTURES / "Apache-2.0__trunc60.txt")
    assert det.expression == "Apache-2.0"
    (m,) = det.matches
    assert m.rule in {"partial-text", "notice"} and m.confidence < 0.9  # 60% of the text: not a whole one


def test_concatenated_texts_are_found_in_order_on_their_own_lines() -> None:
    path = FIXTURES / "MIT+CC-BY-4.0__concat.txt"
    det = detect_file(path)
    assert det.expression == "MIT AND CC-BY-4.0"
    first, second = [m for m in det.matches if m.rule == "full-text"]
    sep = _line_no(path, "-" * 40)
    assert first.expression == "MIT" and first.end_line < sep
    assert second.expression == "CC-BY-4.0" and second.start_line > sep
    assert _line_no(path, "MIT License") < first.start_line  # the title is a mention of its own


def test_ai_license_by_scancode_id() -> None:
    det = detect_file(FIXTURES / "LicenseRef-scancode-llama-2-license-2023__markdown.md")
    assert det.expression == "LicenseRef-scancode-llama-2-license-2023"
    assert "full-text" in {m.rule for m in det.matches if m.expression == det.expression}


def test_gpl_notice_says_or_later() -> None:
    det = detect_file(FIXTURES / "GPL-3.0-or-later__notice1.md")
    assert det.expression == "GPL-3.0-or-later"
    assert det.matches[0].rule in {"notice", "mention"}
    assert det.matches[0].start_line == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This project is licensed under the MIT License.", "MIT"),
        ("Released under the Apache License, Version 2.0; see LICENSE.", "Apache-2.0"),
        ("## License\n\nThe annotations are CC BY-NC 4.0.\n", "CC-BY-NC-4.0"),
        ("License: CC0-1.0", "CC0-1.0"),
        # the most specific name wins over a shorter one inside it
        ("Licensed under CC-BY-NC-ND-4.0.", "CC-BY-NC-ND-4.0"),
        ("This dataset is released under the Eclipse Public License 2.0.", "EPL-2.0"),
        ("Licensed under the GNU Lesser General Public License v2.1 or later.", "LGPL-2.1-or-later"),
        ("Model license: BigScience OpenRAIL-M", "LicenseRef-scancode-bigscience-open-rail-m"),
        ("The Llama 3.1 Community License applies to this model.", "LicenseRef-scancode-llama-3.1-license-2024"),
        ("Licensed under the MIT license or the Apache License, Version 2.0, at your option.", "MIT OR Apache-2.0"),
        ("Licensed under GPL-2.0+", "GPL-2.0-or-later"),
        ("---\nlicense: gpl-3.0\n---\n# Model card\n", "GPL-3.0-only"),
    ],
)
def test_short_mentions(text: str, expected: str) -> None:
    det = detect_text(text)
    assert det.expression == expected, det.to_json()
    # ScanCode's intros ("Licensed under") are reported as clues beside the license's own match
    assert next(m.rule for m in det.matches if m.rule != "clue") in {"mention", "notice"}


def test_spdx_identifier_line_keeps_the_expression() -> None:
    det = detect_text("# comment\n// SPDX-License-Identifier: MIT OR Apache-2.0 */\nint x;\n", file="x.c")
    assert det.expression == "MIT OR Apache-2.0"
    (m,) = det.matches
    assert (m.rule, m.start_line, m.end_line, m.confidence) == ("spdx-identifier", 2, 2, 1.0)
    assert det.file == "x.c"


def test_spdx_identifier_with_unknown_id_is_ignored() -> None:
    assert detect_text("SPDX-License-Identifier: Not-A-Real-License-9").expression is None


@pytest.mark.parametrize(
    "text",
    [
        "---\nlicense: other\nlicense_name: acme-research\nlicense_link: LICENSE.md\n---\n\n"
        "# Acme model\n\nSee LICENSE.md for the terms of use of these weights.\n",
        "Researchers at MIT and Apache Spark users contributed to this benchmark.\n",
        "X11 forwarding is enabled; the data is used under fair use.\n",
        "",
        "\n\n   \n",
    ],
)
def test_no_license_gives_nothing(text: str) -> None:
    det = detect_text(text)
    assert det.expression is None
    # ScanCode's generic findings may remain ("See LICENSE.md" is a reference to a license not named)
    assert {m.expression for m in det.matches} <= {"LicenseRef-scancode-unknown-license-reference"}


def test_to_json_shape() -> None:
    det = detect_file(FIXTURES / "ISC+Unlicense__concat.txt")
    data = det.to_json()
    assert set(data) == {"file", "expression", "confidence", "matches", "note", "references"}
    assert data["expression"] == "ISC AND Unlicense"
    assert data["file"].endswith("ISC+Unlicense__concat.txt")
    assert [set(m) for m in data["matches"]] == [
        {"expression", "confidence", "start_line", "end_line", "matched_text", "rule"}
    ] * len(data["matches"])
    json.dumps(data)
    assert isinstance(det, Detection) and isinstance(det.matches[0], LicenseMatch)


def test_binary_file_does_not_crash(tmp_path: Path) -> None:
    p = tmp_path / "model.bin"
    p.write_bytes(os.urandom(200_000) + b"\x00" * 5000)
    det = detect_file(p)
    assert det.expression is None


def test_license_text_inside_a_binary_is_still_found(tmp_path: Path) -> None:
    p = tmp_path / "lib.so"
    blob = b"\x7fELF\x00\x01" + os.urandom(5000).replace(b"\n", b"\x00")
    p.write_bytes(blob + (FIXTURES / "MIT__orig.txt").read_bytes() + b"\x00" + blob)
    assert detect_file(p).expression == "MIT"


def test_huge_file_reads_only_the_head(tmp_path: Path) -> None:
    mit = (FIXTURES / "MIT__orig.txt").read_bytes()
    p = tmp_path / "LICENSE"
    with p.open("wb") as fh:
        fh.write(mit)
        fh.write(b"filler line of data that is not a license at all\n" * 400_000)  # ~20 MB
    det = detect_file(p)
    assert det.expression == "MIT"


def test_bad_encodings(tmp_path: Path) -> None:
    text = (FIXTURES / "MIT__orig.txt").read_text(encoding="utf-8")
    latin = tmp_path / "latin1.txt"
    latin.write_bytes(("Copyright \xa9 2024 J\xfcrgen M\xfcller\n\n" + text).encode("cp1252"))
    assert detect_file(latin).expression == "MIT"
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes(text.encode("utf-16"))
    assert detect_file(utf16).expression == "MIT"
    utf16le = tmp_path / "utf16le.txt"  # no byte-order mark
    utf16le.write_bytes(text.encode("utf-16-le"))
    assert detect_file(utf16le).expression == "MIT"
    broken = tmp_path / "broken.txt"
    broken.write_bytes(text.encode() + b"\xff\xfe\xfa garbage \xc3\x28")
    assert detect_file(broken).expression == "MIT"


def test_unreadable_paths_raise_a_provaudit_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing"):
        detect_file(tmp_path / "missing")
    with pytest.raises(ProvauditError):
        detect_file(tmp_path)  # a directory


def test_index_is_loaded_once() -> None:
    assert get_rule_index() is get_rule_index()


def test_a_reference_to_a_license_file_is_kept() -> None:
    det = detect_text("Licensed under the Apache License, Version 2.0. See LICENSE.txt in the project root.\n")
    assert det.expression == "Apache-2.0"
    # the file ScanCode's matched rule names ("see LICENSE"), whatever its extension in this text
    assert any(name.lower().startswith("license") for name in det.references), det.references
