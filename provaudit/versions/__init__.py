"""Versions of what a model is made from and what it answered.

- :mod:`provaudit.versions.data` — content-addressed data versions, the same digest DVC gives a folder.
- :mod:`provaudit.versions.predictions` — the hash-chained, append-only prediction log.

Nothing here writes to the RDF store; runs that use these versions record them there.
"""

PREDICTION_LOG_ENV = "PROVAUDIT_PREDICTION_LOG"
"""The environment variable naming the prediction log when ``log=`` is not given."""
