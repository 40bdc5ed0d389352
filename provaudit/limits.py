"""The bounds of every read a scan makes: one place for their defaults (collectors and CLI flags alike).

A light module, so the command line can show these defaults without loading the collectors.
"""

from typing import TypedDict

MAX_FILE_BYTES = 16 * 1024 * 1024  # larger cards / metadata files are reported, not parsed
MAX_NESTING = 100  # JSON/YAML values nested deeper are reported, not parsed
MAX_YAML_BYTES = 4 * 1024 * 1024  # a larger card front matter is reported, not parsed (YAML is the slow part)
MAX_FILES = 10_000  # files hashed per record folder; the rest are reported
MAX_DIGEST_BYTES = 10 * 1024**3  # a larger file is recorded by size and mtime, not hashed (a 5 GB file takes 44 s)
MAX_ELEMENTS = 20_000  # packages, files, snippets and relationships of one SPDX document (spdx-tools is slow)
MAX_EXPRESSION_TERMS = 500  # licences in one expression simplified in a review (simplifying is quadratic)
MAX_UPSTREAMS = 1_000  # upstream links of one record read, followed and exported (real cards name < 100)


class ReadLimits(TypedDict):
    """The limits as ``CollectOptions`` keyword arguments (what ``cli_options.read_limit_options`` passes)."""

    max_file_bytes: int
    max_nesting: int
    max_yaml_bytes: int
    max_files: int
    max_digest_bytes: int
    max_elements: int
