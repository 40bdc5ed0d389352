"""A module imported on first use, so that `provaudit --version` and `--help` start fast.

``api = LazyModule("provaudit.api")`` reads like ``from provaudit import api``, but the import (pydantic,
Oxigraph, the collectors: most of a second) happens only when an attribute is first read. Type checkers
see the real module through an ``if TYPE_CHECKING:`` import beside it.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module ``name``; every attribute read is passed on to the imported module."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{' (imported)' if self._module else ''}>"
