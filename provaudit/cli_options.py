"""Click options shared by every command module, so `--store` and the read limits mean the same everywhere."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from provaudit import limits
from provaudit.store.base import STORE_ENV


class StoreLocation(click.Path):
    """A store folder, or an ``http(s)://`` URL of a SPARQL server kept as text (Path would fold its ``//``)."""

    name = "store"

    def __init__(self) -> None:
        super().__init__(file_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
        return super().convert(value, param, ctx)


STORE_HELP = f"Store folder, or the URL of a SPARQL 1.1 server (default: ${STORE_ENV} or ./.provaudit)."
_GROUP_STORE = "provaudit_store"  # where `provaudit --store X COMMAND` leaves X for the command


def remember_group_store(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """``provaudit --store X COMMAND``: the store given before the command (as ``git -C``)."""
    if value is not None:
        ctx.meta[_GROUP_STORE] = value


def _command_store(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """The command's own --store; else one given before the command; else $PROVAUDIT_STORE."""
    source = ctx.get_parameter_source(param.name or "store")
    if source in {click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.PROMPT}:
        return value
    return ctx.meta.get(_GROUP_STORE, value)


store_option = click.option(
    "--store",
    type=StoreLocation(),
    envvar=STORE_ENV,
    default=None,
    callback=_command_store,
    help=STORE_HELP + " Also accepted before the command: provaudit --store PATH COMMAND.",
)


# (parameter, flag, default, help): the bounds every read of a scan keeps (provaudit.limits)
_READ_LIMITS = (
    (
        "max_file_bytes",
        "--max-file-bytes",
        limits.MAX_FILE_BYTES,
        "Card and metadata files larger than this are reported, not parsed.",
    ),
    (
        "max_nesting",
        "--max-nesting",
        limits.MAX_NESTING,
        "JSON and YAML values nested deeper than this are reported, not parsed.",
    ),
    (
        "max_yaml_bytes",
        "--max-yaml-bytes",
        limits.MAX_YAML_BYTES,
        "A card's front matter larger than this is reported, not parsed (YAML parsing is the slow part).",
    ),
    ("max_files", "--max-files", limits.MAX_FILES, "Files hashed per record folder; more are reported."),
    (
        "max_digest_bytes",
        "--max-digest-bytes",
        limits.MAX_DIGEST_BYTES,
        "Files larger than this are recorded by size and mtime with a finding, not hashed.",
    ),
    (
        "max_elements",
        "--max-elements",
        limits.MAX_ELEMENTS,
        "SPDX documents with more packages, files, snippets and relationships are reported, not parsed.",
    ),
)


# (parameter, flag, help): bounds on what one record may hold, kept by scan, review and export alike
_RECORD_LIMITS = (
    (
        "max_expression_terms",
        "--max-expression-terms",
        "Licences in one expression or declared by one record; more are reported, not read or simplified.",
    ),
    ("max_upstreams", "--max-upstreams", "Upstream links of one record read and followed; more are reported."),
)


def _apply_record_limits(values: dict[str, int]) -> None:
    """Set the per-record bounds for this process (the collectors, normalizer and review read them)."""
    from provaudit.licenses.normalize import normalize

    limits.MAX_EXPRESSION_TERMS = values["max_expression_terms"]
    limits.MAX_UPSTREAMS = values["max_upstreams"]
    normalize.cache_clear()  # its readings depend on the bound


def record_limit_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add --max-expression-terms and --max-upstreams (defaults in provaudit.limits)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _apply_record_limits({name: kwargs.pop(name) for name, *_ in _RECORD_LIMITS})
        return func(*args, **kwargs)

    defaults = {"max_expression_terms": limits.MAX_EXPRESSION_TERMS, "max_upstreams": limits.MAX_UPSTREAMS}
    for name, flag, text in reversed(_RECORD_LIMITS):
        wrapper = click.option(
            flag, name, type=click.IntRange(1), default=defaults[name], show_default=True, help=text
        )(wrapper)
    return wrapper


def read_limit_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the read limits (--max-file-bytes, --max-nesting, --max-yaml-bytes, --max-files, --max-digest-bytes,
    --max-elements); the command receives them together as ``read_limits``, keyword arguments of ``CollectOptions``.
    The per-record bounds of :func:`record_limit_options` come with them."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["read_limits"] = {name: kwargs.pop(name) for name, *_ in _READ_LIMITS}
        return func(*args, **kwargs)

    for name, flag, default, text in reversed(_READ_LIMITS):
        wrapper = click.option(flag, name, type=click.IntRange(1), default=default, show_default=True, help=text)(
            wrapper
        )
    return record_limit_options(wrapper)
