"""Inferring a model's base where its card does not declare it, on real repo files and cards."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import FIXTURES
from pyshacl import validate
from rdflib import Graph

from provaudit import api
from provaudit.collectors import basemodel
from provaudit.collectors.base import CollectOptions
from provaudit.collectors.cards import CardReader, license_link_path
from provaudit.collectors.local import collect_folder
from provaudit.records.model import Relation, Severity, Source
from provaudit.resources import resource

REPOS = FIXTURES / "repo_files"
GQ131 = REPOS / "GQ131__fine-tuned-Llama-2-model-on-IMDB-sentiment-analysis-dataset"
KAMILA = REPOS / "KamilaTrinkenschuh__Minstral-Model"
from provaudit.records.model import BASE_RELATIONS as MODEL_RELATIONS  # noqa: E402


def _json(path: Path) -> tuple[object, str]:
    text = path.read_text(encoding="utf-8")
    return json.loads(text), text


def _bases(folder: Path) -> list[tuple[str, Relation, bool, float]]:
    record = collect_folder(folder, CollectOptions(digests=False))
    return [(u.target, u.relation, u.inferred, u.confidence) for u in record.upstream if u.relation in MODEL_RELATIONS]


def _body(folder: Path) -> tuple[str, int]:
    reader = CardReader("local")
    _, body = reader.read_card(folder / "README.md", "README.md", [])
    assert body is not None
    return body, reader.body_lines["README.md"]


# --- files beside the card -------------------------------------------------------------------------


def test_adapter_config_names_the_base_the_card_only_describes() -> None:
    record = collect_folder(GQ131, CollectOptions(digests=False))
    (link,) = [u for u in record.upstream if u.relation in MODEL_RELATIONS]
    assert (link.target, link.relation, link.inferred, link.confidence) == (
        "model:meta-llama/Llama-2-7b-hf",
        Relation.ADAPTER,
        True,
        0.95,
    )
    assert link.source == Source(collector="local", file="adapter_config.json", field="base_model_name_or_path", line=4)
    assert link.evidence == '"base_model_name_or_path": "meta-llama/Llama-2-7b-hf"'
    # the card's prose names the same base twice, as a family (line 8) and as a Hub id (line 20): one link stays
    body, first = _body(GQ131)
    prose = basemodel.from_card_text(body, collector="local", first_line=first).links
    assert [(u.target, u.source.line, u.confidence) for u in prose] == [
        ("model:meta-llama/Llama-2-7b-hf", 8, 0.6),
        ("model:meta-llama/Llama-2-7b-hf", 20, 0.8),
    ]
    lines = GQ131.joinpath("README.md").read_text().splitlines()
    assert "fine-tuned version of the LLaMA 2 7B model" in lines[7]
    assert lines[19] == "- **Finetuned from model:** meta-llama/Llama-2-7b-hf"
    (info,) = [f for f in record.findings if f.rule == "PA118"]
    assert info.severity is Severity.INFO
    assert "inferred from adapter_config.json:4" in info.message and "not declared in the card" in info.message
    assert info.fix is not None and "`base_model: meta-llama/Llama-2-7b-hf`" in info.fix


def test_adapter_config_without_a_card_and_config_json_pointing_at_the_same_base() -> None:
    assert _bases(REPOS / "AliAbdien__Fine-Tuning-LLaMA-2-7B-") == [
        ("model:genaitraining/llama-2-7b-domain-tuned", Relation.ADAPTER, True, 0.95)
    ]
    # config.json alone reads as a weaker base_model link; with the adapter, the strongest one stays
    data, text = _json(KAMILA / "config.json")
    (link,) = basemodel.from_config(data, text, collector="local").links
    assert (link.target, link.relation, link.confidence, link.source.line) == (
        "model:Hugofernandez/Mistral-7B-v0.1-colab-sharded",
        Relation.BASE_MODEL,
        0.7,
        2,
    )
    assert _bases(KAMILA) == [("model:Hugofernandez/Mistral-7B-v0.1-colab-sharded", Relation.ADAPTER, True, 0.95)]


def test_architecture_and_local_paths_are_not_bases() -> None:
    # config.json's architectures/model_type (MistralForCausalLM) make no link of their own
    data, text = _json(KAMILA / "config.json")
    assert isinstance(data, dict)
    without_name = {k: v for k, v in data.items() if k != "_name_or_path"}
    assert basemodel.from_config(without_name, text, collector="local").links == []
    # diffusers: a pipeline class alone, and a training run's output folder, are not Hub repos
    for name in ("likeaj6__dreambooth-finetune", "misshimichka__HSE-project-2024"):
        data, text = _json(REPOS / name / "model_index.json")
        found = basemodel.from_config(data, text, collector="local", file="model_index.json")
        assert found.links == [] and found.findings == []
    # a PEFT adapter saved against a local copy: a PA008 finding, no link
    folder = REPOS / "gh__yushaolong10__soulmate__qwen_lora_adapter_0116_l"
    record = collect_folder(folder, CollectOptions(digests=False))
    assert [u for u in record.upstream if u.relation in MODEL_RELATIONS] == []
    (local,) = [f for f in record.findings if f.rule == "PA008" and f.source and f.source.file == "adapter_config.json"]
    assert local.severity is Severity.WARNING and local.source is not None and local.source.line == 6
    assert "/home/yushaolong/.cache/modelscope/hub/models/Qwen/Qwen3-14B" in local.message


# --- the card's words ------------------------------------------------------------------------------


def test_trainer_card_sentence_is_read_but_the_declared_base_wins() -> None:
    folder = REPOS / "Undi95__toxicqa-Llama2-13B"
    body, first = _body(folder)
    (link,) = basemodel.from_card_text(body, collector="local", first_line=first).links
    line = folder.joinpath("README.md").read_text().splitlines()[link.source.line - 1]  # type: ignore[operator]
    assert "This model is a fine-tuned version of [NousResearch/Llama-2-13b-hf]" in line
    assert (link.target, link.relation, link.confidence) == (
        "model:NousResearch/Llama-2-13b-hf",
        Relation.FINETUNE,
        0.8,
    )
    # the card declares base_model: NousResearch/Llama-2-13b-hf: no inferred link, no PA118
    assert _bases(folder) == [("model:NousResearch/Llama-2-13b-hf", Relation.BASE_MODEL, False, 1.0)]
    record = collect_folder(folder, CollectOptions(digests=False))
    assert not [f for f in record.findings if f.rule == "PA118"]


def test_family_name_in_prose_resolves_through_the_table_with_the_repo_size() -> None:
    # "Finetuned from model: [Llama 2](https://arxiv.org/abs/2307.09288)" on vicuna-13b: Llama 2 13B
    assert _bases(REPOS / "lmsys__vicuna-13b-v1.5") == [
        ("model:meta-llama/Llama-2-13b-hf", Relation.FINETUNE, True, 0.6)
    ]
    found = basemodel.from_card_text(
        "It is fine-tuned from the base model LLaMA-13B, please refer to its card.", collector="local"
    )
    assert [u.target for u in found.links] == ["model:huggyllama/llama-13b"]


def test_architecture_words_and_from_scratch_models_are_not_derivation() -> None:
    # real sentences from corpus cards (ValiantLabs, a Llama-architecture card, TinyLlama)
    for sentence in (
        "Shining Valiant is built on top of Spell Blade, which uses Llama 2's 70b parameter architecture.",
        "Our model is based on the LLaMA 2 transformer architecture.",
        "We adopted exactly the same architecture and tokenizer as Llama 2.",
        "This model is based on TinyLlama-1.1B, trained from scratch on 3T tokens.",
    ):
        assert basemodel.from_card_text(sentence, collector="local").links == [], sentence
    # TinyLlama and OpenLLaMA were pretrained from scratch: no Llama link from their cards or names
    for folder in ("PY007__TinyLlama-1.1B-intermediate-step-715k-1.5T", "OpenBuddy__openbuddy-openllama-7b-v12-bf16"):
        assert [b for b in _bases(REPOS / folder) if b[2]] == [], folder
    # without the table's exclusion "openllama-7b" would read as LLaMA 7B
    family = basemodel.find_family("openbuddy-llama-7b")
    assert family is not None and family[0].name == "LLaMA"
    assert basemodel.find_family("openbuddy-openllama-7b-v12-bf16") is not None  # found, but as OpenLLaMA:
    assert basemodel.from_repo_name("OpenBuddy/openbuddy-openllama-7b-v12-bf16", collector="local").links == []


# --- the repo name ---------------------------------------------------------------------------------


def test_repo_name_is_a_weak_family_hint() -> None:
    assert _bases(REPOS / "OpenBuddy__openbuddy-llama2-70b-v10.1-bf16") == [
        ("model:meta-llama/Llama-2-70b-hf", Relation.BASE_MODEL, True, 0.5)
    ]
    (gptq,) = basemodel.from_repo_name("TheBloke/Llama-2-13B-GPTQ", collector="hub").links
    assert (gptq.target, gptq.relation, gptq.source.field) == (
        "model:meta-llama/Llama-2-13b-hf",
        Relation.QUANTIZED,
        "repo id",
    )
    # a family publisher's own repos are not derivatives of its canonical base
    assert basemodel.from_repo_name("mistralai/Mistral-7B-v0.3", collector="hub").links == []
    # the Yi card's own table ("Yi-9B ... based on Yi-6B") makes no link for Yi-34B
    assert [b for b in _bases(REPOS / "01-ai__Yi-34B") if b[2]] == []


# --- reconciling with the declared base ------------------------------------------------------------


def test_adapter_disagreeing_with_the_declared_base_keeps_both_and_warns() -> None:
    # a real card declaring mistralai/Mistral-7B-v0.3, put together with another repo's real adapter config
    record = collect_folder(
        REPOS / "gh__naik-vatsal__iam-policy-generator__results__config_a", CollectOptions(digests=False)
    )
    assert not [u for u in record.upstream if u.inferred]  # its Trainer sentence names the declared base
    data, text = _json(KAMILA / "adapter_config.json")
    basemodel.apply(record, basemodel.from_adapter_config(data, text, collector="local"))
    assert {(u.target, u.inferred) for u in record.upstream if u.relation in MODEL_RELATIONS} == {
        ("model:mistralai/Mistral-7B-v0.3", False),
        ("model:Hugofernandez/Mistral-7B-v0.1-colab-sharded", True),
    }
    (warning,) = [f for f in record.findings if f.rule == "PA009"]
    assert warning.severity is Severity.WARNING
    assert warning.message == (
        "card's base_model mistralai/Mistral-7B-v0.3 disagrees with adapter_config.json's "
        "Hugofernandez/Mistral-7B-v0.1-colab-sharded"
    )
    # a weak hint never joins a declared base; a link to the record itself is never made
    weak = basemodel.from_repo_name("x/llama2-7b-test", collector="local")
    before = list(record.upstream)
    basemodel.apply(record, weak)
    assert record.upstream == before
    self_link = basemodel.from_card_text(
        "This model is a fine-tuned version of [gh__naik-vatsal__iam-policy-generator__results__config_a]"
        "(https://huggingface.co/gh__naik-vatsal__iam-policy-generator__results__config_a).",
        collector="local",
    )
    basemodel.apply(record, self_link)
    assert record.upstream == before


# --- license_link ----------------------------------------------------------------------------------


def test_license_link_into_the_repo_is_read_as_the_license() -> None:
    folder = REPOS / "PrismPhi__lfm25-350m-q6a-npu-edition"
    record = collect_folder(folder, CollectOptions(digests=False))
    (card,) = [c for c in record.claims if c.source.field == "license"]
    assert (card.raw, card.name, card.link) == (
        "other",
        "lfm-open-license-v1.0",
        "https://huggingface.co/PrismPhi/lfm25-350m-q6a-npu-edition/blob/main/MODEL_LICENSE",
    )
    (text,) = [c for c in record.claims if c.source.file == "MODEL_LICENSE"]
    assert (text.expression, text.method) == ("CC-BY-NC-4.0", "text")
    assert license_link_path("LICENSE", "01-ai/Yi-34B") == "LICENSE"
    assert license_link_path("https://huggingface.co/01-ai/Yi-34B/blob/main/LICENSE", "01-ai/Yi-34B") == "LICENSE"
    for elsewhere in (
        "https://huggingface.co/01-ai/Yi-34B/blob/main/LICENSE",  # another repo's file
        "https://github.com/deepseek-ai/deepseek-LLM/blob/main/LICENSE-MODEL",
        "../LICENSE",
        "/etc/passwd",
    ):
        assert license_link_path(elsewhere, "01-ai/Yi-34B-200K") is None, elsewhere


# --- through the store -----------------------------------------------------------------------------


def test_inferred_link_survives_the_store_and_conforms_to_the_shapes(tmp_path: Path, store_path: Path) -> None:
    target = tmp_path / "models" / GQ131.name
    shutil.copytree(GQ131, target)
    api.scan([str(tmp_path / "models")], store=store_path)
    with api.open_store(store_path, read_only=True) as db:
        stored = db.record("model:GQ131/fine-tuned-Llama-2-model-on-IMDB-sentiment-analysis-dataset")
        assert stored is not None
        (link,) = [u for u in stored.upstream if u.relation in MODEL_RELATIONS]
        assert (link.target, link.inferred, link.confidence, link.source.line) == (
            "model:meta-llama/Llama-2-7b-hf",
            True,
            0.95,
            4,
        )
        rows = db.query(
            "SELECT ?c WHERE { ?d a prov:Derivation ; pa:inferred true ; pa:confidence ?c ; pa:relation 'adapter' }"
        ).rows
        nt = db.ntriples().decode()
    assert rows == [["0.95"]]  # xsd:decimal
    data = Graph().parse(data=nt, format="nt")
    ontology = Graph().parse(resource("ontology", "provaudit.ttl"))
    shapes = Graph().parse(resource("ontology", "shapes.ttl"))
    conforms, _, report = validate(data, shacl_graph=shapes, ont_graph=ontology, inference="rdfs")
    assert conforms, report
