"""Safe, stable file names for record and collection pages.

A record id (``model:01-ai/Yi-34B``) becomes ``model-01-ai--Yi-34B``: readable, portable (no
characters Windows, macOS or a static host would refuse or reinterpret) and deterministic. When the
mapping loses information (other characters replaced, a long name cut) or two ids differ only in
letter case (macOS and Windows disks do not tell them apart), a short hash of the id keeps names unique.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_MAX = 100


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:8]


def base_slug(text: str) -> tuple[str, bool]:
    """(slug, whether it is a lossless rewrite of the text)."""
    readable = text.replace(":", "-", 1).replace("/", "--")
    slug = _UNSAFE.sub("_", readable).strip(".") or "_"
    lossless = slug == readable and "--" not in text.replace("/", "") and len(slug) <= _MAX
    return slug[:_MAX], lossless


def slugs_for(ids: Iterable[str]) -> dict[str, str]:
    """Slug of every id; unique, even on case-insensitive file systems."""
    ids = sorted(set(ids))
    bases = {rid: base_slug(rid) for rid in ids}
    folded = Counter(slug.lower() for slug, _ in bases.values())
    out: dict[str, str] = {}
    for rid, (slug, lossless) in bases.items():
        out[rid] = slug if lossless and folded[slug.lower()] == 1 else f"{slug}-{_digest(rid)}"
    return out
