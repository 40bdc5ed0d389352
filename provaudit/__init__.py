"""provaudit: where did this dataset or model come from, and which licenses really apply."""

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:  # what type checkers see; at run time __getattr__ imports on first use
    from provaudit.versions.data import data_version
    from provaudit.versions.predictions import log_prediction, read_prediction
    from provaudit.versions.runs import run

__all__ = ["__version__", "data_version", "log_prediction", "read_prediction", "run"]

# Lazy exports (PEP 562): `import provaudit` and `provaudit --version` stay cheap.
_LAZY = {
    "log_prediction": "provaudit.versions.predictions",
    "read_prediction": "provaudit.versions.predictions",
    "data_version": "provaudit.versions.data",
    "run": "provaudit.versions.runs",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'provaudit' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
