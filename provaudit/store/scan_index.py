"""The scan index: what a scan needs of the store before it reads a folder, in one file beside it.

After each commit the embedded store's writer writes ``<store>/scan-index.tsv``: every record's current
revision with its scan summary (``pa:scanSummary``), and every folder fingerprint with the revision read
from that folder. The next scan reads this file instead of querying the database for the same (at 20,000
records those queries were 40% of an unchanged re-scan), so an unchanged folder costs its stat walk and
one dictionary look-up.

The file is derived data and never trusted blindly: its first line names the committed graphs it
describes (a digest of their IRIs). When they are not the store's committed graphs now — a scan that
stopped between its commit and the index, a graph committed by a training run, an import or an older
provaudit — the file is ignored and the database is read as before; a malformed or foreign file is
ignored too. Lines are ``C<TAB>record<TAB>revision``, ``S<TAB>revision<TAB>summary`` and
``F<TAB>fingerprint<TAB>revision`` (IRIs and JSON text hold no tab or newline).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

NAME = "scan-index.tsv"
_MAGIC = "provaudit-scan-index 1"
_ENCODING = {"encoding": "utf-8", "errors": "surrogatepass"}  # a lone surrogate from a bad card survives


def graphs_key(graphs: Iterable[str]) -> str:
    """The digest of a set of committed graph IRIs that names the index's state."""
    return hashlib.sha256("\n".join(sorted(graphs)).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class ScanIndex:
    current: dict[str, str] = field(default_factory=dict)  # record IRI → its current revision
    summaries: dict[str, str] = field(default_factory=dict)  # current revision → its scan summary JSON
    prints: dict[str, str] = field(default_factory=dict)  # folder fingerprint → the revision read from it


def read(store: Path, key: str) -> ScanIndex | None:
    """The index of the store when it describes exactly the committed graphs ``key`` names; else None."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(store / NAME, flags)  # a symlink or FIFO in its place is refused, never followed
    except OSError:
        return None
    index = ScanIndex()
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        with open(fd, **_ENCODING) as handle:  # type: ignore[call-overload]  # encoding and errors as keywords
            if handle.readline() != f"{_MAGIC} {key}\n":
                return None
            same: dict[str, str] = {}  # one string per revision IRI (C, S and F lines name the same ones)
            for line in handle:
                kind, first, second, *rest = line.rstrip("\n").split("\t")
                if rest or kind not in "CSF" or len(kind) != 1:
                    return None
                if kind == "C":
                    index.current[first] = same.setdefault(second, second)
                elif kind == "S":
                    index.summaries[same.setdefault(first, first)] = second
                else:
                    index.prints.setdefault(first, same.setdefault(second, second))
    except (OSError, ValueError):  # unreadable or malformed (too few fields, not UTF-8): read the store instead
        return None
    return index


def summary_line(revision: str, summary: str) -> str:
    return f"S\t{revision}\t{summary}\n"


def write(store: Path, key: str, index: ScanIndex, more_summaries: IO[str] | None = None) -> None:
    """Replace the store's index (atomically: a reader finds the old file or the new one, whole).

    ``more_summaries``: :func:`summary_line` lines (a scan's, spooled as it went), kept for the
    revisions in ``index.current``. An index that cannot be written is removed: the next scan then
    reads the database, as it would without one."""
    path = store / NAME
    part = store / f".{NAME}.{os.getpid()}.part"
    current = set(index.current.values())
    try:
        with open(part, "w", **_ENCODING) as out:  # type: ignore[call-overload]  # encoding and errors as keywords
            out.write(f"{_MAGIC} {key}\n")
            for record, revision in index.current.items():
                out.write(f"C\t{record}\t{revision}\n")
            for revision, summary in index.summaries.items():
                if revision in current:
                    out.write(summary_line(revision, summary))
            if more_summaries is not None:
                more_summaries.seek(0)
                for line in more_summaries:
                    if line.split("\t", 2)[1] in current:
                        out.write(line)
            for fingerprint, revision in index.prints.items():
                out.write(f"F\t{fingerprint}\t{revision}\n")
        os.replace(part, path)
    except OSError:
        with contextlib.suppress(OSError):
            part.unlink()
        with contextlib.suppress(OSError):
            path.unlink()
