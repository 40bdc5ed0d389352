"""Click options shared by every command module, so `--store` means the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

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


store_option = click.option(
    "--store",
    type=StoreLocation(),
    envvar=STORE_ENV,
    default=None,
    help=f"Store folder, or the URL of a SPARQL 1.1 server (default: ${STORE_ENV} or ./.provaudit).",
)
