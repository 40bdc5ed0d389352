"""A small local Hugging Face Hub for tests: the real ``huggingface_hub`` client talks to it through HF_ENDPOINT.

It serves recorded repositories from a fixture folder laid out like the provaudit corpus::

    ROOT/datasets/<name>/README.md, dataset_infos.json, ...   -> dataset repo "<name>" (or "<owner>__<name>")
    ROOT/models/<owner>__<name>/README.md, LICENSE.txt, ...   -> model repo "<owner>/<name>"
    ROOT/behaviours.json                                      -> gated repos, rate limits, errors, slow routes

Routes (the ones huggingface_hub 2.x requests for ``model_info``/``dataset_info``, ``list_models``/
``list_datasets`` and ``hf_hub_download``)::

    GET  /api/{models|datasets}[?author=&search=&filter=&limit=&cursor=]   listing, Link rel="next" pagination
    GET  /api/{models|datasets}/{repo_id}[/revision/{rev}][?blobs=true]     repo info (id, sha, cardData, siblings...)
    HEAD /{datasets/}{repo_id}/resolve/{rev}/{path}                         X-Repo-Commit, ETag, Content-Length
    GET  /{datasets/}{repo_id}/resolve/{rev}/{path}                         file content
    GET  /{datasets/}{repo_id}/blob/{rev}/{path}                            file content (the Hub's web URL)

Everything in the API JSON is derived from the recorded files: ``cardData`` is the README front matter,
``tags`` are derived from it the way the Hub does (``license:x``, ``dataset:x``, ``base_model:x`` and
``base_model:<relation>:x`` with the relation inferred as documented in hub-docs ``model-cards.md``),
``sha`` is a deterministic hash of the repo's files and each file's ETag is its git blob id.

``behaviours.json``::

    {"page_size": 1000,
     "tokens": {"<token>": ["models/<id>", ...]},            # tokens that pass the gate of these repos
     "gated": {"models/<id>": {"mode": "manual", "api": false, "open_files": ["README.md"]}},
     "rules": [{"repo": "datasets/<id>", "route": "api|file|any", "file": "README.md",
                "status": 429, "error_code": "...", "retry_after": 1, "times": 2, "delay": 3.0}]}

A rule applies to its first ``times`` matching requests (every request when ``times`` is absent); ``delay``
sleeps before answering, to trigger client timeouts.

Run it by hand: ``python tests/hubserver.py --port 8765 --root tests/fixtures/hub``, then
``HF_ENDPOINT=http://127.0.0.1:8765 provaudit scan hf:datasets/squad_v2``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import yaml

_YAML_BLOCK = re.compile(r"^(\s*---[\r\n]+)([\S\s]*?)([\r\n]+---(\r\n|\n|$))")
_REPO = r"(?P<id>[^/]+(?:/[^/]+)?)"
_API_INFO = re.compile(rf"^/api/(?P<type>models|datasets)/{_REPO}(?:/revision/(?P<rev>[^/]+))?$")
_API_LIST = re.compile(r"^/api/(?P<type>models|datasets)/?$")
_FILE = re.compile(rf"^/(?:(?P<type>datasets)/)?{_REPO}/(?P<kind>resolve|blob)/(?P<rev>[^/]+)/(?P<path>.+)$")
# packager metadata recorded next to some corpus cards: not a file of the Hub repository
_NOT_REPO_FILES = {"hub_manifest.yaml"}
_RELATIONS = ("adapter", "merge", "quantized", "finetune")


def _git_blob_id(data: bytes) -> str:
    """The git object id of a file: what the Hub sends as the ETag of a non-LFS file."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@dataclass
class Repo:
    """One recorded repository: its files, the commit sha derived from them and its card metadata."""

    type: str  # "models" | "datasets"
    id: str
    files: dict[str, bytes]
    sha: str = ""
    card: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        digest = hashlib.sha1()
        for path in sorted(self.files):
            digest.update(f"{path}\0{_git_blob_id(self.files[path])}\n".encode())
        self.sha = digest.hexdigest()
        self.card = _front_matter(self.files.get("README.md"))

    @property
    def key(self) -> str:
        return f"{self.type}/{self.id}"

    @property
    def author(self) -> str | None:
        return self.id.split("/")[0] if "/" in self.id else None

    def tags(self) -> list[str]:
        """Tags as the Hub derives them from the card (and, for base_model relations, from the files)."""
        card = self.card or {}
        tags = [str(t) for t in _as_list(card.get("tags"))]
        tags += [f"license:{x}" for x in _as_list(card.get("license"))]
        if self.type == "datasets":
            for key in ("language", "task_categories", "size_categories", "source_datasets", "multilinguality"):
                tags += [f"{key}:{x}" for x in _as_list(card.get(key))]
            return tags
        tags += [f"dataset:{x}" for x in _as_list(card.get("datasets"))]
        bases = [str(b) for b in _as_list(card.get("base_model"))]
        # hub-docs model-cards.md: "The Hub will infer the type of relationship from the current model to the
        # base model ("adapter", "merge", "quantized", "finetune") but you can also set it explicitly"
        relation = str(card.get("base_model_relation") or "")
        if relation not in _RELATIONS:
            if len(bases) > 1:
                relation = "merge"
            elif "adapter_config.json" in self.files:
                relation = "adapter"
            elif any(p.endswith(".gguf") for p in self.files):
                relation = "quantized"
            else:
                relation = "finetune"
        for base in bases:
            tags += [f"base_model:{base}", f"base_model:{relation}:{base}"]
        return tags

    def info(self, *, full: bool, blobs: bool = False) -> dict[str, Any]:
        card = self.card or {}
        data: dict[str, Any] = {"_id": hashlib.md5(self.key.encode()).hexdigest()[:24], "id": self.id}
        if self.type == "models":
            data["modelId"] = self.id
            for key in ("pipeline_tag", "library_name"):
                if card.get(key):
                    data[key] = card[key]
        data.update({"author": self.author, "private": False, "disabled": False, "gated": False})
        data["tags"] = self.tags()
        if full:
            data["sha"] = self.sha
            if self.card is not None:
                data["cardData"] = self.card
            siblings = []
            for path in sorted(self.files):
                sibling: dict[str, Any] = {"rfilename": path}
                if blobs:
                    sibling.update(size=len(self.files[path]), blobId=_git_blob_id(self.files[path]))
                siblings.append(sibling)
            data["siblings"] = siblings
        return data


def _front_matter(readme: bytes | None) -> dict[str, Any] | None:
    if readme is None:
        return None
    match = _YAML_BLOCK.search(readme.decode("utf-8-sig", errors="replace"))
    if not match:
        return None
    try:
        data = yaml.safe_load(match.group(2))
    except yaml.YAMLError:
        return None  # the Hub shows a metadata error and serves no cardData
    # through JSON so that dates and other YAML scalars become what the Hub's API would send
    return json.loads(json.dumps(data, default=str)) if isinstance(data, dict) else None


def load_repos(root: Path) -> dict[str, Repo]:
    """Every recorded repository under root, by "models/<id>" / "datasets/<id>"."""
    repos: dict[str, Repo] = {}
    for repo_type in ("models", "datasets"):
        base = root / repo_type
        if not base.is_dir():
            continue
        for folder in sorted(p for p in base.iterdir() if p.is_dir()):
            files = {
                p.relative_to(folder).as_posix(): p.read_bytes()
                for p in sorted(folder.rglob("*"))
                if p.is_file() and p.name not in _NOT_REPO_FILES
            }
            repo = Repo(type=repo_type, id=folder.name.replace("__", "/", 1), files=files)
            repos[repo.key] = repo
    return repos


@dataclass
class Rule:
    repo: str
    route: str = "any"  # api | file | any
    file: str | None = None
    status: int | None = None
    error_code: str | None = None
    retry_after: int | None = None
    times: int | None = None
    delay: float = 0.0
    used: int = 0

    def matches(self, repo: str, route: str, file: str | None) -> bool:
        if self.repo != repo or self.route not in {"any", route}:
            return False
        if self.file is not None and self.file != file:
            return False
        return self.times is None or self.used < self.times


@dataclass
class Behaviours:
    page_size: int = 1000
    tokens: dict[str, list[str]] = field(default_factory=dict)
    gated: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Behaviours:
        if not path.is_file():
            return cls()
        raw = json.loads(path.read_text())
        rules = [Rule(**{k: v for k, v in r.items() if not k.startswith("_")}) for r in raw.get("rules", [])]
        return cls(
            page_size=int(raw.get("page_size", 1000)),
            tokens=raw.get("tokens", {}),
            gated={k: v for k, v in raw.get("gated", {}).items() if not k.startswith("_")},
            rules=rules,
        )


@dataclass
class Request:
    method: str
    path: str
    authorization: str | None


class HubState:
    """Repositories, behaviours and the log of requests, shared by the handler threads."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repos = load_repos(root)
        self.behaviours_path = root / "behaviours.json"
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.behaviours = Behaviours.load(self.behaviours_path)
        self.in_flight = 0
        self.peak = 0  # most requests being answered at the same time: shows a client's parallelism

    def reset(self) -> None:
        """Fresh rule counters, an empty request log and peak (between tests)."""
        with self.lock:
            self.behaviours = Behaviours.load(self.behaviours_path)
            self.requests.clear()
            self.peak = self.in_flight

    def log(self, method: str, path: str, authorization: str | None) -> None:
        with self.lock:
            self.requests.append(Request(method, path, authorization))

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def take_rule(self, repo: str, route: str, file: str | None) -> Rule | None:
        with self.lock:
            for rule in self.behaviours.rules:
                if rule.matches(repo, route, file):
                    rule.used += 1
                    return rule
        return None

    def allowed(self, repo: str, authorization: str | None) -> bool:
        token = (authorization or "").removeprefix("Bearer ").strip()
        return repo in self.behaviours.tokens.get(token, [])


class HubHandler(BaseHTTPRequestHandler):
    server_version = "provaudit-test-hub/1"
    protocol_version = "HTTP/1.1"
    state: HubState  # set on the subclass made by make_server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is kept in HubState; stderr stays quiet during tests

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    # --- dispatch ----------------------------------------------------------------------------

    def _dispatch(self, *, head: bool) -> None:
        self.state.enter()
        try:
            self._route(head=head)
        finally:
            self.state.leave()

    def _route(self, *, head: bool) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        self.state.log(self.command, self.path, self.headers.get("Authorization"))
        if match := _API_LIST.match(path):
            return self._list(match["type"], query, url.query)
        if match := _API_INFO.match(path):
            return self._info(match["type"], match["id"], match["rev"], query)
        if match := _FILE.match(path):
            repo_type = match["type"] or "models"
            return self._file(
                repo_type, match["id"], match["rev"], match["path"], head=head, web=match["kind"] == "blob"
            )
        return self._error(404, "Not Found", None)

    def _apply_rules(self, repo: str, route: str, file: str | None) -> bool:
        """Play a configured behaviour; True when it answered the request."""
        rule = self.state.take_rule(repo, route, file)
        if rule is None:
            return False
        if rule.delay:
            time.sleep(rule.delay)
        if rule.status is None:
            return False
        headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
        self._error(rule.status, f"behaviour {rule.status} for {repo}", rule.error_code, headers)
        return True

    def _gate(self, repo: Repo, route: str, file: str | None) -> bool:
        """Answer 401/403 GatedRepo when the repo is gated for this route and the token does not pass."""
        gate = self.state.behaviours.gated.get(repo.key)
        if gate is None:
            return False
        if route == "api" and not gate.get("api"):
            return False
        if route == "file" and file in gate.get("open_files", []):
            return False
        auth = self.headers.get("Authorization")
        if self.state.allowed(repo.key, auth):
            return False
        status = 403 if auth else 401  # the Hub: 401 without a token, 403 when the token is not granted
        self._error(status, f"Access to model {repo.id} is restricted. You must have access to it.", "GatedRepo")
        return True

    # --- routes ------------------------------------------------------------------------------

    def _list(self, repo_type: str, query: dict[str, str], raw_query: str) -> None:
        author = query.get("author", "").lower()
        search = query.get("search", "").lower()
        tag = query.get("filter")
        found = [
            r
            for r in self.state.repos.values()
            if r.type == repo_type
            and (not author or (r.author or "").lower() == author)
            and (not search or search in r.id.lower())
            and (not tag or tag in r.tags())
        ]
        found.sort(key=lambda r: r.id.lower())
        limit = int(query["limit"]) if query.get("limit") else None
        page_size = min(limit or self.state.behaviours.page_size, self.state.behaviours.page_size)
        start = int(query.get("cursor", "0"))
        page = found[start : start + page_size]
        full = query.get("full") in {"True", "true", "1"}
        body = [r.info(full=full) for r in page]
        headers: dict[str, str] = {}
        if start + page_size < len(found) and limit is None:
            params = {k: v for k, v in query.items() if k != "cursor"} | {"cursor": str(start + page_size)}
            host = self.headers.get("Host", "127.0.0.1")
            headers["Link"] = f'<http://{host}/api/{repo_type}?{urlencode(params)}>; rel="next"'
        self._json(body, headers)

    def _info(self, repo_type: str, repo_id: str, rev: str | None, query: dict[str, str]) -> None:
        key = f"{repo_type}/{repo_id}"
        if self._apply_rules(key, "api", None):
            return
        repo = self.state.repos.get(key)
        if repo is None:
            return self._error(404, "Repository not found", "RepoNotFound")
        if self._gate(repo, "api", None):
            return
        if rev is not None and rev not in {"main", repo.sha}:
            return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        data = repo.info(full=True, blobs=query.get("blobs") in {"True", "true", "1"})
        gate = self.state.behaviours.gated.get(key)
        if gate is not None:
            data["gated"] = gate.get("mode", "manual")
        self._json(data)

    def _file(self, repo_type: str, repo_id: str, rev: str, path: str, *, head: bool, web: bool) -> None:
        key = f"{repo_type}/{repo_id}"
        if self._apply_rules(key, "file", path):
            return
        repo = self.state.repos.get(key)
        if repo is None:
            return self._error(404, "Repository not found", "RepoNotFound")
        if rev not in {"main", repo.sha}:
            return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        commit = {"X-Repo-Commit": repo.sha}
        if self._gate(repo, "file", path):
            return
        data = repo.files.get(path)
        if data is None:
            return self._error(404, "Entry not found", "EntryNotFound", commit)
        headers = {**commit, "ETag": f'"{_git_blob_id(data)}"', "Content-Type": "text/plain; charset=utf-8"}
        if web:
            headers.pop("ETag")
        self._send(200, data, headers, head=head)

    # --- responses ---------------------------------------------------------------------------

    def _json(self, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self._send(200, data, {"Content-Type": "application/json", **(headers or {})})

    def _error(self, status: int, message: str, code: str | None, headers: dict[str, str] | None = None) -> None:
        extra = {"X-Error-Message": message, **(headers or {})}
        if code:
            extra["X-Error-Code"] = code
        self._send(status, json.dumps({"error": message}).encode(), {"Content-Type": "application/json", **extra})

    def _send(self, status: int, data: bytes, headers: dict[str, str], *, head: bool = False) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head and self.command != "HEAD":
            self.wfile.write(data)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True  # slow-route sleepers must not hold up shutdown

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that timed out has closed its socket: expected in the slow-route tests, not worth a traceback
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class HubServer:
    """The local Hub in a background thread: ``with HubServer(root) as hub: hub.url``."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = HubState(Path(root))
        handler = type("BoundHubHandler", (HubHandler,), {"state": self.state})
        self.httpd = _QuietServer((host, port), handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    @property
    def requests(self) -> list[Request]:
        with self.state.lock:
            return list(self.state.requests)

    def requests_to(self, fragment: str) -> list[Request]:
        """Logged requests whose path contains fragment (quoted as the client sends it)."""
        return [r for r in self.requests if quote(fragment, safe="/") in r.path or fragment in r.path]

    def reset(self) -> None:
        self.state.reset()

    def add_rule(self, **rule: Any) -> None:
        """A behaviour for this test only (reset() restores behaviours.json)."""
        with self.state.lock:
            self.state.behaviours.rules.append(Rule(**rule))

    def start(self) -> HubServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="hubserver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve recorded Hugging Face repos as a local Hub.")
    parser.add_argument("--root", type=Path, default=Path(__file__).parent / "fixtures" / "hub")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = HubServer(args.root, args.host, args.port)
    print(f"serving {len(server.state.repos)} repos from {args.root} at {server.url}", flush=True)
    print(f"export HF_ENDPOINT={server.url}", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


if __name__ == "__main__":
    main()
