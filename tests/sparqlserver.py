"""A real Oxigraph SPARQL server (the `oxigraph` CLI from PyPI) on 127.0.0.1, for the server-store tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def oxigraph_binary() -> str | None:
    beside = Path(sys.executable).parent / "oxigraph"
    return str(beside) if beside.is_file() else shutil.which("oxigraph")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def oxigraph_server(location: Path) -> Iterator[str]:
    """Start `oxigraph serve` on a free port with its data in ``location``; yields its base URL."""
    binary = oxigraph_binary()
    if binary is None:
        if os.environ.get("CI"):
            raise AssertionError("the oxigraph CLI is missing: `pip install -e '.[test]'` installs it")
        pytest.skip("the oxigraph CLI is not installed (pip install oxigraph)")
    for _ in range(5):  # a free port can be taken between asking and binding: try another
        port = _free_port()
        log = (location.parent / f"oxigraph-{port}.log").open("wb")
        proc = subprocess.Popen(
            [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/query?query=ASK%7B%7D", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        if proc.poll() is None:
            try:
                yield url
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                log.close()
            return
        log.close()
    raise AssertionError(f"oxigraph serve did not start; see {location.parent}/oxigraph-*.log")
