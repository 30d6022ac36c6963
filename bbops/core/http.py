"""The one place that knows how bbops talks HTTP to Neon, Vercel and GitHub.

What every client gets from ``ApiClient``:

- connect and read timeouts (configurable);
- retries with exponential backoff and full jitter, honouring ``Retry-After``
  and Vercel's ``X-RateLimit-Reset``, but only where a repeat is harmless:
  423, 429 and 503 mean the server refused the request, so any method may be
  repeated; 502, 504 and a connection that broke after the request went out
  may hide a request that *did* happen, so only idempotent requests are
  repeated and a POST raises ``RequestUncertain`` for the caller to look up
  what exists before deciding (e.g. find the branch by name);
- one error class (``ProviderError``) naming method, path, status and the
  service's own message, scrubbed of secrets; the token is registered as a
  secret on construction and the ``Authorization`` header is never logged.

The sleep, clock and random source are injectable so tests never wait.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from bbops.core import redact
from bbops.errors import ProviderError, UsageError

log = logging.getLogger("bbops.core.http")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# The server refused these before doing anything: safe to repeat for any method.
REFUSED_STATUSES = frozenset({423, 429, 503})
# A gateway gave up: the request may or may not have been processed.
GATEWAY_STATUSES = frozenset({502, 504})
# The request never left this machine.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class Transports:
    """Where each service's HTTP goes (None: the network), and the sleep between retries.

    The one seam for tests and embedding, always passed explicitly: a library
    caller hands it to ``open_backend``/``GitHub.from_env``/``HealthChecker``;
    the CLI takes it from click's context object
    (``CliRunner().invoke(main, args, obj=Transports(...))``).
    """

    neon: httpx.BaseTransport | None = None
    vercel: httpx.BaseTransport | None = None
    github: httpx.BaseTransport | None = None
    health: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] | None = None


NETWORK = Transports()


class RequestUncertain(ProviderError):
    """A non-idempotent request may or may not have reached the server.

    Raised instead of repeating it blindly; the caller looks up the resource it
    meant to create and decides whether to try again.
    """


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8  # total tries, the first included (about a minute of backoff)
    base_delay: float = 0.5  # seconds before the 1st retry, doubling after
    max_delay: float = 20.0  # one backoff wait is at most this
    max_server_wait: float = 120.0  # a longer Retry-After is not waited for


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    read: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Timeouts:
        """``BBOPS_HTTP_CONNECT_TIMEOUT`` / ``BBOPS_HTTP_READ_TIMEOUT`` (seconds) override the defaults."""
        try:
            return cls(
                float(env.get("BBOPS_HTTP_CONNECT_TIMEOUT") or cls.connect),
                float(env.get("BBOPS_HTTP_READ_TIMEOUT") or cls.read),
            )
        except ValueError:
            raise UsageError("BBOPS_HTTP_CONNECT_TIMEOUT and BBOPS_HTTP_READ_TIMEOUT are seconds") from None

    def httpx(self) -> httpx.Timeout:
        return httpx.Timeout(self.read, connect=self.connect)


def _default_message(response: httpx.Response) -> str:
    """The service's own words: Neon ``{message}``, Vercel ``{error: {message}}``, else text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            code = err.get("code")
            return f"{err['message']}" + (f" ({code})" if code else "")
        if isinstance(err, str):
            return err
        if body.get("message"):
            code = body.get("code")
            return f"{body['message']}" + (f" ({code})" if code else "")
    return str(body)[:300]


class ApiClient:
    """A JSON API client over httpx with bbops' retry and error rules."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        service: str,
        transport: httpx.BaseTransport | None = None,
        timeouts: Timeouts = Timeouts(),
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        default_params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        redact.register(token)
        self.service = service
        self.retry = retry
        self.sleep = sleep
        self.clock = clock
        self.rng = rng
        self.default_params = dict(default_params or {})
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=timeouts.httpx(),
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": "bbops",
                **dict(headers or {}),
            },
        )

    def close(self) -> None:
        self._http.close()

    # -- the verbs -----------------------------------------------------------------

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send a request; return the response if it is 2xx or its status is in ``allow``.

        ``idempotent`` overrides the method's default (a PATCH that sets absolute
        values, or Vercel's ``upsert=true`` POST, may be repeated safely).
        """
        method = method.upper()
        safe = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        query = {**self.default_params, **{k: _param(v) for k, v in (params or {}).items() if v is not None}}
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self.retry.attempts
            try:
                response = self._http.request(method, path, params=query or None, json=json)
            except _NOT_SENT as exc:
                if last:
                    raise self._network_error(method, path, exc) from None
                self._pause(attempt, None, method, path, type(exc).__name__)
                continue
            except httpx.TransportError as exc:
                if not safe:
                    raise RequestUncertain(
                        f"{self.service} connection failed after the request was sent "
                        f"({type(exc).__name__}); it may or may not have been applied",
                        method=method,
                        path=path,
                    ) from None
                if last:
                    raise self._network_error(method, path, exc) from None
                self._pause(attempt, None, method, path, type(exc).__name__)
                continue
            status = response.status_code
            log.debug("%s %s %s -> %s", self.service, method, path, status)
            if response.is_success or status in allow:
                return response
            retryable = status in REFUSED_STATUSES or rate_limited(response) or (status in GATEWAY_STATUSES and safe)
            if retryable and not last and self._pause(attempt, response, method, path, str(status)):
                continue
            if status in GATEWAY_STATUSES and not safe:
                raise RequestUncertain(
                    f"{self.service} gateway error; the request may or may not have been applied: "
                    + redact.scrub(_default_message(response)),
                    method=method,
                    path=path,
                    status=status,
                )
            raise self.error(response)

    # -- helpers ---------------------------------------------------------------------

    def error(self, response: httpx.Response, message: str | None = None) -> ProviderError:
        """The ``ProviderError`` for a failed response (method, path, status, service message)."""
        text = message or _default_message(response)
        return ProviderError(
            f"{self.service}: {redact.scrub(text)}",
            method=response.request.method,
            path=response.request.url.path,
            status=response.status_code,
            hint=_hint(response.status_code),
        )

    def _network_error(self, method: str, path: str, exc: Exception) -> ProviderError:
        return ProviderError(
            f"{self.service} unreachable after {self.retry.attempts} attempts: "
            f"{type(exc).__name__}: {redact.scrub(str(exc))}",
            method=method,
            path=path,
        )

    def _pause(self, attempt: int, response: httpx.Response | None, method: str, path: str, why: str) -> bool:
        """Wait before the next attempt; False when the server asks for longer than we accept."""
        wait = self.server_wait(response) if response is not None else None
        if wait is None:
            ceiling = min(self.retry.max_delay, self.retry.base_delay * 2 ** (attempt - 1))
            wait = ceiling * (0.5 + self.rng() / 2)  # jitter: never zero, never above the ceiling
        elif wait > self.retry.max_server_wait:
            return False
        log.info("%s %s %s: %s, retrying in %.1fs (attempt %d)", self.service, method, path, why, wait, attempt)
        self.sleep(wait)
        return True

    def server_wait(self, response: httpx.Response) -> float | None:
        """Seconds the server asked us to wait (``Retry-After`` or ``X-RateLimit-Reset``), if any."""
        after = response.headers.get("Retry-After")
        if after:
            after = after.strip()
            if after.isdigit():
                return float(after)
            try:
                when = email.utils.parsedate_to_datetime(after)
                return max(0.0, when.timestamp() - self.clock())
            except (TypeError, ValueError):
                pass
        reset = response.headers.get("X-RateLimit-Reset")
        if reset and (response.status_code == 429 or rate_limited(response)):
            try:
                value = float(reset)
            except ValueError:
                return None
            # Vercel sends an epoch in seconds; tolerate milliseconds.
            if value > 1e11:
                value /= 1000
            return max(0.0, value - self.clock())
        return None


def rate_limited(response: httpx.Response) -> bool:
    """A 403 that is a rate limit, not a refusal: GitHub answers its primary and secondary
    limits with 403 and ``x-ratelimit-remaining: 0`` or ``retry-after`` ("Rate limits for the
    REST API", docs.github.com); like a 429, nothing was done and the request may be repeated."""
    if response.status_code != 403:
        return False
    return response.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in response.headers


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _hint(status: int) -> str | None:
    if status in (401, 403):
        return "check the API token and that it may access this project"
    if status == 429:
        return "rate limited: try again later"
    return None
