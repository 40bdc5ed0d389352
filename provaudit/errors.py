"""Exceptions that end at the CLI edge as one clear line (exit code 2)."""

from __future__ import annotations


class ProvauditError(Exception):
    """Base class: a problem the user can act on; the message says what and where."""


class InputError(ProvauditError):
    """An input file or argument cannot be read or understood."""

    def __init__(self, path: str | None, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


class StoreError(ProvauditError):
    """The store cannot be opened or written."""
