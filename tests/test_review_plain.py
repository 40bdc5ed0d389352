"""A review made faster prints what the plain, slow way prints.

Oracles that are not the code under test: :func:`difflib.get_close_matches` for the "did you mean …?" candidates.
"""

from __future__ import annotations

import difflib
import random

from provaudit.rules.names import Candidates, squash, variants

# real upstream names of Hugging Face cards (base models, datasets), as the lineage squashes them
_REAL = [
    "mistralai/Mistral-7B-v0.1",
    "HuggingFaceH4/ultrachat_200k",
    "HuggingFaceH4/ultrafeedback_binarized",
    "Open-Orca/SlimOrca",
    "Intel/orca_dpo_pairs",
    "meta-llama/Llama-2-7b-hf",
    "meta-llama/Llama-2-13b-chat-hf",
    "tiiuae/falcon-7b",
    "EleutherAI/pile",
    "cnn_dailymail",
    "squad_v2",
    "glue",
    "super_glue",
    "xP3x",
    "bigscience/xP3",
]


def test_close_matches_are_difflibs_on_real_names() -> None:
    keys = list(dict.fromkeys(k for name in _REAL for k in variants(name)))
    candidates = Candidates(keys)
    for name in [*_REAL, "mistral 7b", "llama2", "ultrachat", "squad2.0", "xp3", "orca dpo", "pile-v2"]:
        word = squash(name)
        for cutoff in (0.6, 0.8):
            assert candidates.close_matches(word, 3, cutoff) == difflib.get_close_matches(word, keys, 3, cutoff)


def test_close_matches_are_difflibs_among_many_similar_keys() -> None:
    rng = random.Random(20)  # a fixed seed: the same keys every run
    letters = "aeimnorst0127"
    keys = ["".join(rng.choice(letters) for _ in range(rng.randint(3, 20))) for _ in range(3000)]
    keys += [k + "v2" for k in keys[:300]] + [k[:-1] for k in keys[300:600]]  # near variants: ties and hits
    candidates = Candidates(keys)
    words = rng.sample(keys, 60) + ["".join(rng.choice(letters) for _ in range(rng.randint(3, 20))) for _ in range(60)]
    found = 0
    for word in words:
        expected = difflib.get_close_matches(word, keys, n=3, cutoff=0.8)
        assert candidates.close_matches(word, 3, 0.8) == expected
        found += len(expected)
    assert found > 60  # the words do have close matches: the comparison is not of empty lists


def test_close_matches_of_other_text_fall_back_to_difflib() -> None:
    keys = ["café", "cafe", "caffè"]
    assert Candidates(keys).close_matches("cafe", 3, 0.6) == difflib.get_close_matches("cafe", keys, 3, 0.6)
    assert Candidates(["abc", "abd"]).close_matches("ab_c", 3, 0.6) == difflib.get_close_matches(
        "ab_c", ["abc", "abd"], 3, 0.6
    )
