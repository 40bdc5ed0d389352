"""The terms knowledge base's model-licence facts, checked against the licence texts themselves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from provaudit.licenses.kb import Terms, Use, all_curated, terms_for
from provaudit.licenses.normalize import known_symbol
from provaudit.resources import resource
from provaudit.rules.lineage import provider_terms

TEXTS = Path(__file__).parent / "fixtures" / "model_licenses"

# The oracle: (use, same_terms, use_restrictions, mau_limit), read from each licence text, with the
# clause it was read from. Written from the texts, not copied from terms.yaml.
MODEL_LICENSES: dict[str, tuple[Use, bool, bool, int | None]] = {
    # s.1.b.i copy of the Agreement to recipients; s.1.b.iv AUP; s.2 "greater than 700 million"
    "LicenseRef-scancode-llama-2-license-2023": (Use.COMMERCIAL, True, True, 700_000_000),
    "LicenseRef-provaudit-llama3": (Use.COMMERCIAL, True, True, 700_000_000),
    "LicenseRef-scancode-llama-3.1-license-2024": (Use.COMMERCIAL, True, True, 700_000_000),
    "LicenseRef-scancode-llama-3.2-license-2024": (Use.COMMERCIAL, True, True, 700_000_000),
    "LicenseRef-scancode-llama-3.3-license-2024": (Use.COMMERCIAL, True, True, 700_000_000),
    "LicenseRef-scancode-llama-4-license-2025": (Use.COMMERCIAL, True, True, 700_000_000),
    # Gemma ToU s.3.1 (restrictions as an enforceable provision, copy of the Agreement); no user cap
    "LicenseRef-scancode-gemma-tou-2024-04-01": (Use.COMMERCIAL, True, True, None),
    # OpenRAIL-M s.4.a: "Use-based restrictions ... MUST be included as an enforceable provision"
    "LicenseRef-scancode-bigscience-open-rail-m": (Use.COMMERCIAL, True, True, None),
    "LicenseRef-scancode-bigscience-rail-1.0": (Use.COMMERCIAL, True, True, None),
    "LicenseRef-scancode-bigcode-open-rail-m-v1": (Use.COMMERCIAL, True, True, None),
    "LicenseRef-provaudit-creativeml-openrail-m": (Use.COMMERCIAL, True, True, None),
    "LicenseRef-provaudit-openrail": (Use.COMMERCIAL, True, True, None),
    # DeepSeek License Agreement v1.0 s.4.a (OpenRAIL-M wording), Attachment A
    "LicenseRef-scancode-deepseek-la-1.0": (Use.COMMERCIAL, True, True, None),
    # Tongyi Qianwen (2023-08-03) s.3.a copy of this Agreement; s.4 "more than 100 million monthly active users"
    "LicenseRef-scancode-tongyi-qianwen-2023": (Use.COMMERCIAL, True, True, 100_000_000),
    # Qwen LICENSE AGREEMENT (2024): same 100M cap, "Built with Qwen"
    "LicenseRef-provaudit-qwen": (Use.COMMERCIAL, True, True, 100_000_000),
    "LicenseRef-provaudit-qwen-research": (Use.NON_COMMERCIAL, True, True, None),
    # Yi v1.0 s.2: non-commercial unless the Licensor authorizes; s.2.4 copy of this Agreement
    "LicenseRef-provaudit-yi-license": (Use.UNSPECIFIED, True, True, None),
    # CC BY-NC: the NC condition stays with the material in any adaptation
    "CC-BY-NC-4.0": (Use.NON_COMMERCIAL, True, False, None),
    "CC-BY-NC-SA-4.0": (Use.NON_COMMERCIAL, True, False, None),
    "LicenseRef-provaudit-cc-by-nc": (Use.NON_COMMERCIAL, True, False, None),
}

# the words a redistributor must display, as quoted in the licence texts
NOTICES: dict[str, str] = {
    "LicenseRef-scancode-llama-2-license-2023": "Llama 2 is licensed under the LLAMA 2 Community License, "
    "Copyright (c) Meta Platforms, Inc. All Rights Reserved.",
    "LicenseRef-provaudit-llama3": "Built with Meta Llama 3",
    "LicenseRef-scancode-llama-3.1-license-2024": "Built with Llama",
    "LicenseRef-scancode-llama-3.3-license-2024": "Built with Llama",
    "LicenseRef-scancode-gemma-tou-2024-04-01": "Gemma is provided under and subject to the Gemma Terms of Use "
    "found at ai.google.dev/gemma/terms",
    "LicenseRef-scancode-tongyi-qianwen-2023": "Tongyi Qianwen is licensed under the Tongyi Qianwen LICENSE "
    "AGREEMENT, Copyright (c) Alibaba Cloud. All Rights Reserved.",
    "LicenseRef-provaudit-qwen": "Built with Qwen",
}


def _text(name: str) -> str:
    raw = (TEXTS / f"{name}__orig.txt").read_text(encoding="utf-8")
    return " ".join(raw.replace("\u201c", '"').replace("\u201d", '"').split())


@pytest.mark.parametrize("symbol", sorted(MODEL_LICENSES))
def test_model_licence_facts_match_the_oracle(symbol: str) -> None:
    use, same_terms, restrictions, mau = MODEL_LICENSES[symbol]
    terms = terms_for(symbol)
    assert terms.known, symbol
    assert (terms.use, terms.same_terms, terms.use_restrictions, terms.mau_limit) == (
        use,
        same_terms,
        restrictions,
        mau,
    )
    assert terms.attribution_notice == NOTICES.get(symbol, terms.attribution_notice)


@pytest.mark.parametrize(
    ("symbol", "fixture"),
    [
        ("LicenseRef-scancode-llama-2-license-2023", "LicenseRef-scancode-llama-2-license-2023"),
        ("LicenseRef-scancode-llama-3.1-license-2024", "LicenseRef-scancode-llama-3.1-license-2024"),
    ],
)
def test_llama_facts_are_in_the_licence_text(symbol: str, fixture: str) -> None:
    text = _text(fixture)
    terms = terms_for(symbol)
    assert terms.attribution_notice and terms.attribution_notice in text
    assert "greater than 700 million monthly active users" in text and terms.mau_limit == 700_000_000
    assert terms.use_policy and terms.use_policy in text
    assert "you shall provide a copy of this Agreement" in text or "(A) provide a copy of this Agreement" in text


@pytest.mark.parametrize(
    "fixture", ["LicenseRef-scancode-bigscience-open-rail-m", "LicenseRef-scancode-bigscience-rail-1.0"]
)
def test_openrail_passes_its_restrictions_on(fixture: str) -> None:
    text = _text(fixture)
    assert "Use-based restrictions as referenced in paragraph 5 MUST be included as an enforceable provision" in text
    terms = terms_for(fixture)
    assert terms.same_terms and terms.use_restrictions and terms.mau_limit is None


def test_llama_2_has_no_built_with_display_but_llama_3_1_does() -> None:
    assert "Built with" not in _text("LicenseRef-scancode-llama-2-license-2023")
    assert '"Built with Llama"' in _text("LicenseRef-scancode-llama-3.1-license-2024")


def test_every_curated_entry_names_a_source_url() -> None:
    for terms in all_curated():
        assert re.search(r"https?://\S+", terms.source), terms.license


def test_every_model_licence_with_a_policy_or_limit_passes_its_terms_on() -> None:
    for terms in all_curated():
        if terms.use_policy or terms.mau_limit:
            assert terms.same_terms and terms.use_restrictions, terms.license
        if terms.use_policy:
            assert terms.use_policy.startswith("https://"), terms.license


def test_compatible_entries_are_known_ids_of_share_alike_licences() -> None:
    seen = 0
    for terms in all_curated():
        for other in terms.compatible:
            seen += 1
            assert known_symbol(other), f"{terms.license}: {other}"
            assert other != terms.license
        if terms.compatible:
            assert terms.share_alike, terms.license
    assert seen >= 10


@pytest.mark.parametrize(
    ("symbol", "compatible"),
    [
        ("CC-BY-SA-4.0", {"GPL-3.0-only", "GPL-3.0-or-later"}),  # CC's compatible-licenses page
        ("CC-BY-SA-3.0", {"CC-BY-SA-4.0"}),  # a later version with the same elements (3.0 s.4(b))
        ("CC-BY-NC-SA-3.0", {"CC-BY-NC-SA-4.0"}),
    ],
)
def test_share_alike_compatibility(symbol: str, compatible: set[str]) -> None:
    assert set(terms_for(symbol).compatible) == compatible


def test_compatibility_is_one_way() -> None:
    assert not terms_for("GPL-3.0-only").compatible
    assert "CC-BY-SA-3.0" not in terms_for("CC-BY-SA-4.0").compatible


def test_every_model_licence_id_is_documented() -> None:
    documented = yaml.safe_load(resource("data", "licenses", "aliases.yaml").read_text(encoding="utf-8"))["provaudit"]
    for symbol in MODEL_LICENSES:
        if symbol.startswith("LicenseRef-provaudit-"):
            assert symbol in documented, symbol
        assert known_symbol(symbol), symbol


# generating models: (name as DPI or a card writes it, terms id expected)
GENERATORS = [
    ("OpenAI GPT-2", "MIT"),  # GPT-2 weights are (modified) MIT, not OpenAI's service terms
    ("gpt2-xl", "MIT"),
    ("OpenAI GPT-1", "MIT"),
    ("gpt-3.5-turbo", "LicenseRef-provaudit-openai-terms"),
    ("OpenAI GPT-3.5-Turbo", "LicenseRef-provaudit-openai-terms"),
    ("OpenAI ChatGPT", "LicenseRef-provaudit-openai-terms"),
    ("OpenAI GPT-4", "LicenseRef-provaudit-openai-terms"),
    ("text-davinci-003", "LicenseRef-provaudit-openai-terms"),
    ("EleutherAI/gpt-j-6b", "Apache-2.0"),
    ("GPT-NeoX-20B", "Apache-2.0"),
    ("bigscience/bloom", "LicenseRef-scancode-bigscience-rail-1.0"),
    ("Mistral-7B-Instruct-v0.2", "Apache-2.0"),
    ("Mixtral-8x7B-Instruct-v0.1", "Apache-2.0"),
    ("Llama-2-70b-chat-hf", "LicenseRef-scancode-llama-2-license-2023"),
    ("Llama-3-70B-Instruct", "LicenseRef-provaudit-llama3"),
    ("Llama-3.1-405B-Instruct", "LicenseRef-scancode-llama-3.1-license-2024"),
    ("Claude 2", "LicenseRef-provaudit-anthropic-terms"),
    ("Google Cloud Translation API", "LicenseRef-provaudit-google-translate-terms"),
    ("BERT", "Apache-2.0"),
    ("xlm", "CC-BY-NC-4.0"),
]


@pytest.mark.parametrize(("name", "expected"), GENERATORS)
def test_generating_models_are_matched_open_weights_first(name: str, expected: str) -> None:
    found = provider_terms(name)
    assert found is not None, name
    terms: Terms = found[1]
    assert terms.license == expected
    assert terms.known


@pytest.mark.parametrize("name", ["Vicuna 13b", "Llama 13B", "falcon-180b", "Other", "templates", "SeaLLM"])
def test_generators_of_unknown_or_version_dependent_terms_stay_unmapped(name: str) -> None:
    assert provider_terms(name) is None


def test_open_weights_patterns_come_before_the_hosted_services() -> None:
    table = yaml.safe_load(resource("data", "licenses", "providers.yaml").read_text(encoding="utf-8"))["providers"]
    order = [p["provider"] for p in table]
    assert order.index("OpenAI GPT-2 (open weights)") < order.index("OpenAI")
    assert order.index("Meta Llama 3.1") < order.index("Meta Llama 3")
    for entry in table:
        assert entry["source"].startswith("https://"), entry["provider"]
        assert terms_for(entry["terms"]).known, entry["terms"]
