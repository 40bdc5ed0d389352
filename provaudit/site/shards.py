"""The catalog and findings data as shards of rows, so a browser loads a page of rows, never all of them.

``catalog.js`` (and ``findings.js``) is the index: the field names, the total, and per shard its
file, its row count and the facet values it holds (so a filter skips shards that cannot match).
Each shard ``catalog/00000.js`` holds up to :data:`SHARD_ROWS` rows in the order the page lists
them. Both are scripts that assign a global, not ``.json``: browsers refuse ``fetch()`` of local
files, and the site must open from ``file://``. The JSON is on a line of its own between a fixed
prefix and ``;`` so other tools read it without a JavaScript parser (:func:`read_rows`).

static/shards.js loads the shards on demand (paging as datasette does, a page at a time).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

SHARD_ROWS = 1000
# the global that catalog.js / findings.js assign, by name
GLOBALS = {"catalog": "PROVAUDIT_CATALOG", "findings": "PROVAUDIT_FINDINGS"}
_SHARD_PREFIX = "(window.PROVAUDIT_SHARDS = window.PROVAUDIT_SHARDS || {})"


def _json(data: Any) -> str:
    # ASCII only, and "<" escaped: the text can never close a script element or start a comment in one
    return json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace("<", "\\u003c")


def _batches(rows: Iterable[list[Any]], size: int) -> Iterator[list[list[Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def write(
    write_text: Callable[[str, str], None],
    name: str,
    fields: list[str],
    rows: Iterable[list[Any]],
    facets: dict[str, Callable[[list[Any]], Iterable[str]]],
    size: int | None = None,
) -> int:
    """Write ``name``/NNNNN.js shards of ``rows`` and the index ``name``.js; returns the number of rows.

    ``facets``: facet name → the values one row has, listed per shard in the index; ``size``: rows
    per shard (default :data:`SHARD_ROWS`).
    """
    size = size or SHARD_ROWS
    shards: list[dict[str, Any]] = []
    total = 0
    for number, batch in enumerate(_batches(rows, size)):
        src = f"{name}/{number:05d}.js"
        write_text(src, f"{_SHARD_PREFIX}[{_json(src)}] =\n{_json(batch)}\n;\n")
        values = {facet: sorted({v for row in batch for v in pick(row)}) for facet, pick in facets.items()}
        shards.append({"src": src, "rows": len(batch), "facets": values})
        total += len(batch)
    index = {"fields": fields, "total": total, "shard_rows": size, "shards": shards}
    write_text(f"{name}.js", f"window.{GLOBALS[name]} = {_json(index)};\n")
    return total


def _payload(text: str) -> Any:
    head, _, rest = text.partition("\n")
    if not head.startswith(_SHARD_PREFIX):
        raise ValueError(f"not a provaudit shard: {head[:80]!r}")
    return json.loads(rest.strip().removesuffix(";"))


def read_index(site: Path, name: str) -> dict[str, Any]:
    """The index ``name``.js of a built site (fields, total, shards)."""
    text = (site / f"{name}.js").read_text(encoding="utf-8")
    prefix = f"window.{GLOBALS[name]} = "
    index: dict[str, Any] = json.loads(text.removeprefix(prefix).strip().removesuffix(";"))
    return index


def read_rows(site: Path, name: str) -> list[dict[str, Any]]:
    """Every row of a built site's ``catalog`` or ``findings`` shards, as field → value, in order."""
    index = read_index(site, name)
    out: list[dict[str, Any]] = []
    for shard in index["shards"]:
        rows = _payload((site / shard["src"]).read_text(encoding="utf-8"))
        out += [dict(zip(index["fields"], row, strict=True)) for row in rows]
    return out
