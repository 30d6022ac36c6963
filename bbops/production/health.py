"""The HTTP health check: GET a URL until it answers as expected, within a time budget.

Used by the ``check`` step and after a rollback. The transport is injectable
(``httpx.MockTransport`` in tests; a CLI run passes ``Transports.health``)
and so are the clock and the sleep, so a
180-second budget is tested without waiting. The URL may be a ``${NAME}``
reference; it is resolved at the moment of use, and only its redacted form is
ever reported (health URLs sometimes carry a token).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from bbops.core import redact
from bbops.core.poll import poll
from bbops.errors import MigrationError
from bbops.plan.model import resolve_ref

FIRST_DELAY = 1.0
MAX_DELAY = 15.0


@dataclass(frozen=True)
class HealthResult:
    url: str  # redacted
    status: int | None
    attempts: int
    seconds: float


@dataclass
class HealthChecker:
    transport: httpx.BaseTransport | None = None  # None: the network
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    request_timeout: float = 10.0

    def check(
        self,
        url_ref: str,
        *,
        timeout_seconds: float = 120,
        expect_status: int | None = None,
        what: str = "health check",
    ) -> HealthResult:
        url = resolve_ref(url_ref, what=what) or ""
        shown = _shown(url, what)
        start = self.clock()
        attempts, last = 0, "no answer"
        with httpx.Client(transport=self.transport, timeout=self.request_timeout, follow_redirects=True) as client:

            def answered() -> HealthResult | None:
                nonlocal attempts, last
                attempts += 1
                try:
                    status = client.get(url).status_code
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {redact.scrub(str(exc)) or 'no detail'}"
                    return None
                if (status == expect_status) if expect_status else 200 <= status < 300:
                    return HealthResult(shown, status, attempts, round(self.clock() - start, 3))
                last = f"HTTP {status}"
                return None

            result = poll(
                answered,
                timeout=timeout_seconds,
                delay=FIRST_DELAY,
                max_delay=MAX_DELAY,
                sleep=self.sleep,
                clock=self.clock,
            )
        if result is None:
            wanted = f"HTTP {expect_status}" if expect_status else "a 2xx status"
            raise MigrationError(
                f"{what}: {shown} did not answer with {wanted} within {timeout_seconds:g}s "
                f"({attempts} attempt(s); last: {last})"
            )
        return result


def _shown(url: str, what: str) -> str:
    """The URL without its query string or credentials (health URLs sometimes carry a token there).

    A URL that cannot be requested (no http(s) scheme or host, a port out of range) fails the step here.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        raise MigrationError(f"{what}: invalid URL: {redact.scrub(str(exc))}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MigrationError(f"{what}: invalid URL: expected http(s)://host/...")
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
