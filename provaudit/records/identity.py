"""Stable identifiers: one id per real-world dataset or model, whichever collector reached it.

A record id is ``<kind>:<name>`` where name is the Hugging Face repo id when there is one
(``dataset:squad``, ``model:01-ai/Yi-34B``); the IRI derives from it deterministically.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from provaudit.records.model import Kind

BASE = "https://w3id.org/provaudit/"
ID_BASE = BASE + "id/"

_HF_PREFIXES = (
    "https://huggingface.co/datasets/",
    "http://huggingface.co/datasets/",
    "https://huggingface.co/",
    "http://huggingface.co/",
    "hf://datasets/",
    "hf://",
    "datasets/",
)


def clean_name(raw: str) -> str:
    """A repo id or name as a canonical name: Hub URLs and `hf:` prefixes dropped, spaces trimmed."""
    name = raw.strip().strip("/")
    for prefix in _HF_PREFIXES:
        if name.lower().startswith(prefix):
            name = name[len(prefix) :]
            break
    # a Hub URL may carry /tree/main or /blob/... after the repo id
    name = re.split(r"/(?:tree|blob|resolve)/", name, maxsplit=1)[0]
    return name.strip("/")


def record_id(kind: Kind | str, name: str) -> str:
    return f"{Kind(kind).value}:{clean_name(name)}"


def split_id(rid: str) -> tuple[Kind, str]:
    kind, _, name = rid.partition(":")
    return Kind(kind), name


def record_iri(rid: str) -> str:
    kind, name = split_id(rid)
    return f"{ID_BASE}{kind.value}/{quote(name, safe='/@.-_~')}"


def id_from_iri(iri: str) -> str | None:
    if not iri.startswith(ID_BASE):
        return None
    kind, _, rest = iri[len(ID_BASE) :].partition("/")
    if kind not in {k.value for k in Kind} or not rest or "/rev/" in rest:
        return None
    return f"{kind}:{unquote(rest)}"


def revision_iri(rid: str, digest: str) -> str:
    return f"{record_iri(rid)}/rev/{digest[:32]}"


def folder_to_repo_id(folder_name: str) -> str:
    """Model folders are stored as ``org__name``: the Hub repo id is ``org/name``."""
    if folder_name.startswith("gh__"):
        return folder_name
    return folder_name.replace("__", "/", 1)


# Record names that are provaudit's own namespaces, not Hub repo ids (DPI parts, DPI text sources ...)
_NOT_HUB = ("dpi/", "source/", "gh__", "pipeline:")
_HUB_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def hub_target(rid: str) -> str | None:
    """The ``hf:`` scan target that fetches a record id from the Hub, or None when it names no Hub repo.

    >>> hub_target("dataset:HuggingFaceH4/ultrachat_200k")
    'hf:datasets/HuggingFaceH4/ultrachat_200k'
    >>> hub_target("dataset:dpi/alpaca") is None
    True
    """
    kind, name = split_id(rid)
    if kind not in {Kind.DATASET, Kind.MODEL} or name.startswith(_NOT_HUB) or not _HUB_NAME.match(name):
        return None
    return f"hf:{kind.value}s/{name}"


def id_key(rid: str) -> str:
    """The key two ids of one Hub repo share: the Hub matches repo ids case-insensitively."""
    return rid.casefold()
