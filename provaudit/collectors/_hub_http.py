"""Talking to the Hugging Face Hub politely: settings, bounded retries with backoff, errors as findings.

huggingface_hub retries file downloads itself, but ``model_info``/``dataset_info`` make one request; a
scan of hundreds of repos needs them retried on rate limits (429, honouring ``Retry-After``), server
errors (5xx) and timeouts, a bounded number of times, and every failure turned into a finding with a
stable rule id instead of an exception.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import (
    DisabledRepoError,
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from provaudit.collectors.base import CollectOptions
from provaudit.errors import InputError
from provaudit.records.model import Finding, Severity, Source

T = TypeVar("T")

GATED = "PA010"  # gated, private or otherwise refused (401/403)
NOT_FOUND = "PA011"  # no such repo, revision or a malformed repo id (404)
UNREACHABLE = "PA012"  # timeout, connection error or server error (5xx) after retries
RATE_LIMITED = "PA013"  # still rate limited (429) after retries
NOT_CACHED = "PA014"  # offline, and the repo is not in the local Hugging Face cache
OFFLINE_CACHE = "PA015"  # offline: read from the local cache, without the Hub API's tags and gating

_RETRY_STATUS = {408, 429, 500, 502, 503, 504}
_TRUE = {"1", "on", "yes", "true"}


@dataclass(frozen=True)
class HubSettings:
    """Where and how to reach the Hub. Read when a scan starts, so environment changes are honoured."""

    endpoint: str
    cache_dir: Path
    token: str | None  # None: huggingface_hub finds HF_TOKEN or the saved login itself
    offline: bool
    timeout: float  # seconds per request
    retries: int  # extra attempts after the first
    backoff: float  # first wait between attempts (doubles each time)
    max_wait: float  # upper bound on any wait, Retry-After included
    workers: int

    @classmethod
    def from_options(cls, options: CollectOptions) -> HubSettings:
        """From ``options.extra["hub_*"]``, then the environment, then defaults."""
        extra = options.extra

        def pick(key: str, env: str | None, default: str) -> str:
            value = extra.get(key)
            if value is None and env:
                value = os.environ.get(env) or None
            return str(value) if value is not None else default

        def number(key: str, env: str | None, default: float, minimum: float) -> float:
            raw = pick(key, env, str(default))
            name = f"{env} (or {key})" if env else key
            try:
                value = float(raw)
            except ValueError:
                raise InputError(None, f"{name}: {raw!r} is not a number") from None
            if value < minimum:
                raise InputError(None, f"{name}: {raw!r} must be at least {minimum}")
            return value

        # huggingface_hub reads HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE once, at import: read them again here
        endpoint = pick("hub_endpoint", "HF_ENDPOINT", hf_constants.ENDPOINT).rstrip("/")
        home = os.environ.get("HF_HOME")
        default_cache = str(Path(home).expanduser() / "hub") if home else hf_constants.HF_HUB_CACHE
        cache_dir = Path(pick("hub_cache_dir", "HF_HUB_CACHE", default_cache)).expanduser()
        offline_raw = extra.get("hub_offline")
        if offline_raw is None:
            env_offline = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
            offline = env_offline.strip().lower() in _TRUE or hf_constants.is_offline_mode()
        else:
            offline = str(offline_raw).strip().lower() in _TRUE
        token = extra.get("hub_token")
        return cls(
            endpoint=endpoint,
            cache_dir=cache_dir,
            token=str(token) if token else None,
            offline=offline,
            timeout=number("hub_timeout", "PROVAUDIT_HUB_TIMEOUT", 10.0, 0.01),
            retries=int(number("hub_retries", "PROVAUDIT_HUB_RETRIES", 4, 0)),
            backoff=number("hub_backoff", None, 1.0, 0.0),
            max_wait=number("hub_max_wait", None, 60.0, 0.0),
            workers=int(number("hub_workers", "PROVAUDIT_HUB_WORKERS", 8, 1)),
        )


class Throttle:
    """A pause shared by all workers: when the Hub says "retry after N s", nobody asks before then."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until = 0.0

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)

    def wait(self) -> None:
        with self._lock:
            delay = self._until - time.monotonic()
        if delay > 0:
            time.sleep(delay)


@dataclass(frozen=True)
class Problem:
    """A failed Hub request, classified: the rule id, one line on what happened, what to do."""

    rule: str
    message: str
    fix: str
    retryable: bool = False
    retry_after: float | None = None

    def finding(self, what: str, source: Source, severity: Severity = Severity.ERROR) -> Finding:
        return Finding(
            rule=self.rule, severity=severity, message=f"{what}: {self.message}", source=source, fix=self.fix
        )


NOT_CACHED_PROBLEM = Problem(
    NOT_CACHED,
    "offline and not in the local Hugging Face cache",
    "scan once with network access (HF_HUB_OFFLINE unset) to fill the cache, or set HF_HOME to one that has it",
)


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare on the Hub; fall back to exponential backoff


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def classify(exc: BaseException) -> Problem:
    """What a failed request means for the audit. Knows huggingface_hub's errors and its HTTP stack's."""
    cause = exc.__cause__
    if isinstance(exc, LocalEntryNotFoundError) and cause is not None and not isinstance(cause, OfflineModeIsEnabled):
        # hf_hub_download found neither the Hub nor a cached copy: what matters is why the Hub failed
        return classify(cause)
    status = _status(exc)
    code = f" (HTTP {status})" if status else ""
    token_fix = "request access on the repo's Hub page, then set HF_TOKEN to a token of an account that has it"
    if isinstance(exc, GatedRepoError):
        return Problem(GATED, f"gated repository: its files need an accepted access request{code}", token_fix)
    if isinstance(exc, HFValidationError):
        return Problem(NOT_FOUND, f"not a valid Hub repo id: {exc}", "name the repo as owner/name (or name)")
    if isinstance(exc, RevisionNotFoundError):
        return Problem(NOT_FOUND, f"revision not found{code}", "check the revision after @ in the target")
    if isinstance(exc, DisabledRepoError):
        return Problem(GATED, f"repository disabled on the Hub{code}", "the repo's files cannot be read by anyone")
    if isinstance(exc, RepositoryNotFoundError) and status in {401, 403}:
        return Problem(GATED, f"repository not accessible: private, gated or missing{code}", token_fix)
    if isinstance(exc, RepositoryNotFoundError) or status == 404:
        return Problem(NOT_FOUND, f"repository not found on the Hub{code}", "check the repo id and its type")
    if isinstance(exc, OfflineModeIsEnabled | LocalEntryNotFoundError):
        return NOT_CACHED_PROBLEM
    if status in {401, 403}:
        return Problem(GATED, f"access refused{code}", token_fix)
    if status == 429:
        return Problem(
            RATE_LIMITED,
            "rate limited by the Hub (HTTP 429), still after retries",
            "scan again later, with fewer targets at once, or set HF_TOKEN (authenticated requests get higher limits)",
            retryable=True,
            retry_after=_retry_after(exc),
        )
    if status is not None and (status >= 500 or status == 408):
        return Problem(
            UNREACHABLE,
            f"Hub server error{code}, still after retries",
            "scan again later; https://status.huggingface.co shows outages",
            retryable=True,
            retry_after=_retry_after(exc),
        )
    if isinstance(exc, HfHubHTTPError):
        return Problem(UNREACHABLE, f"Hub request failed{code}: {str(exc).strip().splitlines()[0]}", "scan again later")
    names = _names(exc)
    if isinstance(exc, TimeoutError) or any("Timeout" in n for n in names):
        return Problem(
            UNREACHABLE,
            "no answer from the Hub in time, still after retries",
            "scan again later, or raise the timeout (PROVAUDIT_HUB_TIMEOUT, in seconds)",
            retryable=True,
        )
    if isinstance(exc, ConnectionError) or names & {"ConnectError", "NetworkError", "RemoteProtocolError"}:
        return Problem(
            UNREACHABLE,
            f"cannot connect to the Hub: {exc}",
            "check the network, proxy and HF_ENDPOINT; or scan offline from the cache with HF_HUB_OFFLINE=1",
            retryable=True,
        )
    return Problem(UNREACHABLE, f"unexpected error reading from the Hub: {type(exc).__name__}: {exc}", "report this")


# --- one status line instead of raw retry lines ---------------------------------------------------------

# A scan shows what the Hub is doing on this logger (INFO, one line per wait); `provaudit scan` puts it on
# its status line. huggingface_hub's own two WARNING lines per retry are turned into the same.
STATUS = logging.getLogger("provaudit.hub")
_HF_HTTP_LOGGER = "huggingface_hub.utils._http"


class _RetryStatus(logging.Filter):
    """huggingface_hub logs every retry as "'<error>' thrown while requesting GET <url>" then "Retrying in
    Ns [Retry k/5]."; this keeps both off the terminal and says it once, on the status logger."""

    def __init__(self) -> None:
        super().__init__()
        self._error = ""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "thrown while requesting" in message:
            self._error = message.split(" thrown while requesting", 1)[0].strip("'\"")
            return False
        if message.startswith("Retrying in"):
            STATUS.info("Hub: %s; %s", self._error or "request failed", message.rstrip(".").lower())
            return False
        return True


_FILTER = _RetryStatus()


def quiet_retries() -> None:
    """Route huggingface_hub's retry warnings to the status logger (idempotent)."""
    logger = logging.getLogger(_HF_HTTP_LOGGER)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


_PROXIES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def unreachable(settings: HubSettings) -> str | None:
    """Why the Hub's host cannot be reached at all (connection refused, no such host, no answer), or None.

    One TCP connection before a scan asks anything: a Hub that refuses connections is not retried for
    minutes, request after request. Not checked behind a proxy (the proxy is what is reached) or offline.
    """
    if settings.offline or any(os.environ.get(name) for name in _PROXIES):
        return None
    parts = urlsplit(settings.endpoint)
    if not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=settings.timeout).close()
    except OSError as exc:
        return f"{settings.endpoint} does not answer ({exc.strerror or exc or type(exc).__name__})"
    return None


def with_retries(call: Callable[[], T], settings: HubSettings, throttle: Throttle) -> T:
    """Run call; on a retryable failure wait (Retry-After, else exponential backoff) and try again, boundedly."""
    attempt = 0
    while True:
        throttle.wait()
        try:
            return call()
        except Exception as exc:
            problem = classify(exc)
            if not problem.retryable or attempt >= settings.retries:
                raise
            if problem.retry_after is not None:
                wait = min(problem.retry_after, settings.max_wait)
                throttle.pause(wait)  # the limit is per client: every worker waits, not just this one
            else:
                # jitter keeps parallel workers that failed together from retrying together
                wait = min(settings.backoff * 2**attempt, settings.max_wait) * random.uniform(1.0, 1.25)
            attempt += 1
            STATUS.info("Hub: %s; retrying in %.0fs [retry %d/%d]", problem.message, wait, attempt, settings.retries)
            time.sleep(wait)
