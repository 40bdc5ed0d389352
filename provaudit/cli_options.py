"""Click options shared by every command module, so `--store` means the same everywhere."""

from __future__ import annotations

from pathlib import Path

import click

from provaudit.store.base import STORE_ENV

store_option = click.option(
    "--store",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=STORE_ENV,
    default=None,
    help=f"Store folder (default: ${STORE_ENV} or ./.provaudit).",
)
