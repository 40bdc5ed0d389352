"""Exceptions that end at the CLI edge as one clear line.

Exit codes: 2 for these and for OS errors on the files a command names (the message names the file
and the problem); 3 for anything else, which is a bug (``bug_message`` asks for a report).
"""

from __future__ import annotations

import stat
import traceback

EXIT_ERROR, EXIT_BUG = 2, 3


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


class StoreBusyError(StoreError):
    """Another process holds the store's write lock (a running scan); ``scan --wait`` queues behind it."""


def describe_os_error(exc: OSError) -> str:
    """An OS error as one line naming the file: ``path: reason``."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    names = [n for n in (exc.filename, exc.filename2) if n is not None]
    return f"{' → '.join(str(n) for n in names)}: {reason}" if names else reason


def bug_message(exc: BaseException) -> str:
    """The one line for an unexpected exception: what, where, and how to report it."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    text = " ".join(str(exc).split())[:200]
    return (
        f"internal error ({type(exc).__name__}{where}: {text}); this is a bug in provaudit — please report it "
        "with the command and the traceback from `provaudit --debug ...` (or PROVAUDIT_DEBUG=1)"
    )


def file_kind(mode: int) -> str:
    """What a path that is not a regular file is, from its ``st_mode``, for a refusal message."""
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "not a regular file"
