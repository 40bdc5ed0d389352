"""The scan's size and depth checks of parsed cards and JSON, counted level by level, decide exactly as
the walks they shortcut: every real card's front matter and JSON file, at limits around their own size
and depth, gives the same value or the same refusal as the memoized YAML walk (``_measure``) and the
stack walk ``nesting`` used before; an alias bomb is still refused by the memoized walk."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CARDS, SHARED

from provaudit.collectors import _bounded

_FRONT = re.compile(r"\A---\r?\n(.*?)\r?\n---", re.S)


def _stack_nesting(value: Any) -> int:
    """The depth as the scan measured it before (a stack of (value, depth)): the oracle."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _files(pattern: str) -> list[Path]:
    roots = [CARDS, SHARED / "hf"]
    found = sorted(p for root in roots if root.is_dir() for p in root.rglob(pattern))
    assert len(found) >= 5
    return found


def _outcome(text: str, **limits: int) -> tuple[str, object]:
    try:
        return "value", _bounded.load_yaml(text, **limits)
    except _bounded.Refused as exc:
        return "refused", str(exc)
    except yaml.YAMLError as exc:  # a card whose front matter does not parse: the same error either way
        return "error", str(exc)


def test_json_nesting_is_the_stack_walks() -> None:
    import json

    values: list[Any] = [None, 1, "x", [], {}, [[]], {"a": [{"b": {}}]}, [1, [2, [3, [4]]]], {"a": 1, "b": [[[[]]]]}]
    for path in _files("*.json"):
        try:
            values.append(json.loads(path.read_text(encoding="utf-8")))
        except (UnicodeDecodeError, ValueError, RecursionError):
            continue
    deep: Any = []
    for _ in range(300):
        deep = [deep, {"k": 1}]
    values.append(deep)
    for value in values:
        assert _bounded.nesting(value) == _stack_nesting(value)


def test_yaml_limits_decide_as_the_memoized_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    cards = _files("README.md")[:400]  # the fixtures and the first corpus cards: every kind of front matter
    texts = [m.group(1) for p in cards if (m := _FRONT.match(p.read_text(errors="replace")))]
    texts += [
        "a: [b, [c, [d, [e]]]]",
        "x: &a [1, 2, 3]\ny: *a\nz: [*a, *a]",  # aliases: always the memoized walk
        "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: &c [*b, *b, *b]\nd: [*c, *c, *c]",
        "- " + "[" * 40 + "]" * 40,
    ]
    checked = 0
    for text in texts:
        for nesting, nodes in ((1, 100_000), (2, 40), (3, 1000), (5, 5), (100, 1), (100, 100_000)):
            got = _outcome(text, max_nesting=nesting, max_nodes=nodes)
            with monkeypatch.context() as patch:
                patch.setattr(_bounded, "_within", lambda *_: False)  # always the full walk
                reference = _outcome(text, max_nesting=nesting, max_nodes=nodes)
            assert got == reference, (text[:80], nesting, nodes)
            checked += got[0] == "value"
    assert checked > 50  # real cards within their limits were read, not only refused
