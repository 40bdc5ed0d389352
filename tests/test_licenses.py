"""License normalization and the terms knowledge base, on the Hub's real license ids."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from license_expression import get_spdx_licensing

from provaudit.licenses.kb import Use, all_curated, terms_for
from provaudit.licenses.normalize import aliases, known_symbol, license_symbols, normalize
from provaudit.resources import resource

# the code's own copy of the Hub's license list (what provaudit reads)
HUB_IDS = [
    line.split("\t")[0]
    for line in resource("data", "licenses", "hub_licenses.tsv").read_text(encoding="utf-8").splitlines()[2:]
    if line.strip()
]
SPDX = get_spdx_licensing()
# the expected readings, an independent table written for the tests (its header names the sources)
EXPECTED_FILE = Path(__file__).parent / "fixtures" / "hub_licenses" / "expected.tsv"
EXPECTED = {
    row["id"]: row
    for row in csv.DictReader(
        (line for line in EXPECTED_FILE.read_text(encoding="utf-8").splitlines() if not line.startswith("#")),
        delimiter="\t",
    )
}


def test_the_hub_license_list_is_complete() -> None:
    assert len(EXPECTED) == 83
    assert list(EXPECTED) == HUB_IDS  # the same ids, in the Hub's order


@pytest.mark.parametrize("hub_id", list(EXPECTED))
def test_every_hub_id_reads_as_expected(hub_id: str) -> None:
    read = normalize(hub_id)
    assert read.method == "hub-id"
    assert read.expression == EXPECTED[hub_id]["expression"]
    for symbol in license_symbols(read.expression):
        if symbol.startswith("LicenseRef-provaudit-"):
            assert symbol in aliases()["provaudit"], f"{symbol} is not documented in aliases.yaml"
        elif symbol.startswith("LicenseRef-scancode-"):
            assert known_symbol(symbol), f"{symbol} is not a ScanCode LicenseDB id"
        else:
            assert not SPDX.validate(symbol).errors, f"{symbol} is not an SPDX id"


@pytest.mark.parametrize("hub_id", list(EXPECTED))
def test_every_hub_license_has_the_expected_terms_and_conditions(hub_id: str) -> None:
    from provaudit.rules.conditions import license_conditions

    expression = EXPECTED[hub_id]["expression"]
    (symbol,) = license_symbols(expression)
    terms = terms_for(symbol)
    assert terms.known, f"{symbol} ({hub_id}) has no curated terms"
    assert terms.source
    assert terms.use.value == EXPECTED[hub_id]["use"]
    kinds = [k for k, _ in license_conditions(terms)]
    assert kinds == [k for k in EXPECTED[hub_id]["conditions"].split(",") if k]


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("cc-by-nc-4.0", "CC-BY-NC-4.0"),
        ("CC-BY-NC-4.0", "CC-BY-NC-4.0"),
        ("CC BY-NC 4.0", "CC-BY-NC-4.0"),
        ("Creative Commons Attribution 4.0 International", "CC-BY-4.0"),
        ("Apache License 2.0", "Apache-2.0"),
        ("apache 2", "Apache-2.0"),
        ("GPL-2.0+", "GPL-2.0-or-later"),
        ("gplv3", "GPL-3.0-only"),
        ("MIT OR Apache-2.0", "MIT OR Apache-2.0"),
        ("mit, apache-2.0", "MIT AND Apache-2.0"),
        ("llama2", "LicenseRef-scancode-llama-2-license-2023"),
        ("Llama 2", "LicenseRef-scancode-llama-2-license-2023"),
        ("bsd", "LicenseRef-provaudit-bsd"),
        ("OpenAI", "LicenseRef-provaudit-openai-terms"),
        ("Academic Research Purposes Only", "LicenseRef-provaudit-academic-only"),
        ("BSD 3-Clause License", "BSD-3-Clause"),
    ],
)
def test_declared_variants(declared: str, expected: str) -> None:
    assert normalize(declared).expression == expected


def test_unknown_strings_stay_unread_with_the_string() -> None:
    read = normalize("Proprietary (see the website)")
    assert read.expression is None and read.method == "unread"
    assert read.unread == ("Proprietary (see the website)",)


def test_dpi_paraphrases_are_read() -> None:
    # a real free-text variant from DPI's license_paraphrases.json
    assert normalize("Creative Common Attribution-NonCommercial 4.0 International").expression == "CC-BY-NC-4.0"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_normalize_never_raises_and_is_idempotent(text: str) -> None:
    read = normalize(text)
    if read.expression:
        again = normalize(read.expression)
        assert again.expression == read.expression


def test_license_symbols_are_parsed_once_and_each_caller_gets_its_own_list() -> None:
    first = license_symbols("MIT AND (Apache-2.0 OR MIT) AND GPL-2.0-or-later WITH Classpath-exception-2.0")
    assert first == ["MIT", "Apache-2.0", "GPL-2.0-or-later", "Classpath-exception-2.0"]
    first.append("changed by a caller")
    again = license_symbols("MIT AND (Apache-2.0 OR MIT) AND GPL-2.0-or-later WITH Classpath-exception-2.0")
    assert again == ["MIT", "Apache-2.0", "GPL-2.0-or-later", "Classpath-exception-2.0"] and again is not first
    assert license_symbols("MIT AND (") == ["MIT AND ("]  # unparseable: the string itself, as before


def test_terms_most_restrictive_order() -> None:
    order = [Use.COMMERCIAL, Use.UNSPECIFIED, Use.NON_COMMERCIAL, Use.ACADEMIC_ONLY]
    assert sorted(Use, key=lambda u: u.restrictiveness) == order


def test_curated_terms_all_have_sources_and_known_ids() -> None:
    for terms in all_curated():
        assert terms.source.startswith(("http", "every BSD")), terms
        assert known_symbol(terms.license) or not SPDX.validate(terms.license).errors, terms.license


def test_terms_fall_back_to_scancode_category_with_that_source() -> None:
    terms = terms_for("Beerware")
    assert terms.use is Use.COMMERCIAL and not terms.known
    assert "ScanCode LicenseDB category 'Permissive'" in terms.source
    assert terms_for("NoSuchLicense").use is Use.UNSPECIFIED


# Hub `license_name` values of `license: other` model cards (the recorded corpus: yi-license 26,
# deepseek 9, microsoft-research-license 8, yi-34b 3, deepseek-license 2, gemma-terms-of-use 1) and
# the names of model licences.
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("yi-license", "LicenseRef-provaudit-yi-license"),
        ("yi-34b", "LicenseRef-provaudit-yi-license"),
        ("llama2", "LicenseRef-scancode-llama-2-license-2023"),
        ("llama-2", "LicenseRef-scancode-llama-2-license-2023"),
        ("llama-3", "LicenseRef-provaudit-llama3"),
        ("llama-3.1", "LicenseRef-scancode-llama-3.1-license-2024"),
        ("gemma", "LicenseRef-scancode-gemma-tou-2024-04-01"),
        ("gemma-terms-of-use", "LicenseRef-scancode-gemma-tou-2024-04-01"),
        ("qwen", "LicenseRef-provaudit-qwen"),
        ("tongyi-qianwen", "LicenseRef-scancode-tongyi-qianwen-2023"),
        ("qwen-research", "LicenseRef-provaudit-qwen-research"),
        ("deepseek", "LicenseRef-scancode-deepseek-la-1.0"),
        ("deepseek-license", "LicenseRef-scancode-deepseek-la-1.0"),
        ("microsoft-research-license", "LicenseRef-provaudit-microsoft-research"),
        ("apple-ascl", "LicenseRef-provaudit-apple-ascl"),
    ],
)
def test_license_names_of_other_cards(name: str, expected: str) -> None:
    assert normalize(name).expression == expected


# Free-text strings read wrongly before (a versioned or CC0 reading of an unversioned name, one side of
# a dual license dropped) or not at all; each from the DPI summaries, the Hub cards, or the issue.
@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        # the unnamed CC family is not CC0
        ("Creative Commons Public License", "LicenseRef-provaudit-cc"),
        ("Creative Commons Public License (CCPL)", "LicenseRef-provaudit-cc"),
        ("Creative Commons", "LicenseRef-provaudit-cc"),
        ("Creative Commons Legal Code", "LicenseRef-provaudit-cc"),
        ("Public Domain Mark 1.0", "LicenseRef-provaudit-public-domain"),
        # two parts, two licenses
        ("CC0, with comment text under CC-BY-SA-3.0", "CC0-1.0 AND CC-BY-SA-3.0"),
        # an unversioned CC name is not the latest version
        ("CC BY-SA", "LicenseRef-provaudit-cc-by-sa"),
        ("CC BY-SA (Creative Commons / Attribution-ShareAlike)", "LicenseRef-provaudit-cc-by-sa"),
        ("CC BY-NC-SA (Creative Commons / Attribution-NonCommercial-ShareAlike)", "LicenseRef-provaudit-cc-by-nc-sa"),
        ("The project is licenced under CC-by-NC", "LicenseRef-provaudit-cc-by-nc"),
        ("CC-BY", "LicenseRef-provaudit-cc-by"),
        ("CC BY-ND", "LicenseRef-provaudit-cc-by-nd"),
        ("https://creativecommons.org/licenses/by-sa/", "LicenseRef-provaudit-cc-by-sa"),
        ("https://creativecommons.org/licenses/by-nc/legalcode", "LicenseRef-provaudit-cc-by-nc"),
        ("gpl", "LicenseRef-provaudit-gpl"),
        ("GNU GENERAL PUBLIC LICENSE", "LicenseRef-provaudit-gpl"),
        # ... nor another version
        ("cc-by-2.0", "CC-BY-2.0"),
        # "X or GFDL" keeps both sides
        ("CC-BY-SA-3.0 or GFDL", "CC-BY-SA-3.0 OR LicenseRef-provaudit-gfdl"),
        ("GNU Free Documentation License or CC BY-SA", "LicenseRef-provaudit-gfdl OR LicenseRef-provaudit-cc-by-sa"),
        (
            "Creative Commons Attribution-ShareAlike 3.0 and the GNU Free Documentation License",
            "CC-BY-SA-3.0 AND LicenseRef-provaudit-gfdl",
        ),
        ("GNU Free Documentation License v1.3", "GFDL-1.3-only"),
        # names that were unread
        ("GNU General Public License v3", "GPL-3.0-only"),
        ("Creative Commons Attribution 2.0 Generic", "CC-BY-2.0"),
        ("CC Attribution-Noncommercial-Share Alike 4.0 International", "CC-BY-NC-SA-4.0"),
        ("Creative Commons 4.0 BY-SA", "CC-BY-SA-4.0"),
        ("CC BY v.3", "CC-BY-3.0"),
        ("Creative Commons Attribution 4.0 International License (CC BY 4.0)", "CC-BY-4.0"),
        ("License: Creative Commons Attribution 4.0 International License (CC-BY)", "CC-BY-4.0"),
        ("CC0 1.0 Universal (CC0 1.0)", "CC0-1.0"),
        ("CC0: Public Domain", "CC0-1.0"),
        ("https://creativecommons.org/share-your-work/public-domain/cc0", "CC0-1.0"),
        # versioned readings stay as they were
        ("CC BY-SA 4.0", "CC-BY-SA-4.0"),
        ("Attribution-ShareAlike 4.0 International", "CC-BY-SA-4.0"),
        ("https://creativecommons.org/licenses/by-sa/3.0/legalcode", "CC-BY-SA-3.0"),
    ],
)
def test_free_text_misreadings(declared: str, expected: str) -> None:
    assert normalize(declared).expression == expected


@pytest.mark.parametrize("declared", ["CC-0 3.0", "CC0 BY-SA 4.0", "MIT License (Apache 2.0)"])
def test_contradictory_strings_stay_unread(declared: str) -> None:
    assert normalize(declared).expression is None
