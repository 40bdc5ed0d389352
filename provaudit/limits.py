"""The bounds of every read a scan makes: one place for their defaults (collectors and CLI flags alike).

A light module, so the command line can show these defaults without loading the collectors.
"""

from typing import TypedDict

MAX_FILE_BYTES = 16 * 1024 * 1024  # larger cards / metadata files are reported, not parsed
MAX_NESTING = 100  # JSON/YAML values nested deeper are reported, not parsed
MAX_YAML_BYTES = 4 * 1024 * 1024  # a larger card front matter is reported, not parsed (YAML is the slow part)
MAX_FILES = 10_000  # files hashed per record folder; the rest are reported


class ReadLimits(TypedDict):
    """The limits as ``CollectOptions`` keyword arguments (what ``cli_options.read_limit_options`` passes)."""

    max_file_bytes: int
    max_nesting: int
    max_yaml_bytes: int
    max_files: int
