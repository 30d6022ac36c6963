"""What both stateful fakes share: request log, auth check, failure injection.

A fake is an ``httpx.MockTransport`` handler (``fake.transport()``). Faults are
queued with ``fake.fail(method, path_regex, ...)`` and consumed in order:

- ``status=429, headers={"Retry-After": "3"}``: answer with that status, do nothing;
- ``kind="connect"``: the connection is refused before the request is sent;
- ``kind="timeout"``: the read times out *before* the server acted;
- ``kind="drop_after"``: the server acts, then the connection drops (the client
  sees ``httpx.ReadError`` although the change happened).
"""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests import leakcheck


class FakeClock:
    """Seconds since the epoch that move only when told (``advance``), so waits cost no wall time.

    ``CloudFakes.sleep`` advances it: a client that sleeps while polling lets the
    fakes' slow work (Vercel builds) progress exactly as far as it waited.
    """

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    kind: str = "status"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    times: int = 1
    message: str | None = None  # the error's message (default: "injected <status>")


# One counter for every fake: the order of requests across services (Neon, then Vercel, then Neon ...).
_ARRIVAL = itertools.count()


@dataclass
class Seen:
    method: str
    path: str
    params: dict[str, str]
    body: Any
    status: int | None = None  # None when the connection failed
    seq: int = field(default_factory=lambda: next(_ARRIVAL))


class FakeServer:
    token: str
    unauthorized = "authentication required"  # the service's message for a bad token

    def __init__(self, token: str) -> None:
        self.token = leakcheck.remember(token)
        self.faults: list[Fault] = []
        self.requests: list[Seen] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def fail(
        self,
        method: str,
        path: str,
        *,
        status: int = 500,
        kind: str = "status",
        headers: dict[str, str] | None = None,
        body: Any = None,
        times: int = 1,
        message: str | None = None,
    ) -> None:
        self.faults.append(
            Fault(method.upper(), re.compile(path), kind, status, dict(headers or {}), body, times, message)
        )

    def count(self, method: str, path: str, status: int | None = None) -> int:
        pattern = re.compile(path)
        return sum(
            1
            for r in self.requests
            if r.method == method and pattern.fullmatch(r.path) and (status is None or r.status == status)
        )

    def _fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.method in (method, "*") and fault.path.fullmatch(path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        path = request.url.path
        seen = Seen(request.method, path, dict(request.url.params), body)
        self.requests.append(seen)
        self.before(request)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self.error(401, self.unauthorized)
        fault = self._fault(request.method, path)
        if fault and fault.kind == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        if fault and fault.kind == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if fault and fault.kind == "status":
            seen.status = fault.status
            if fault.body is not None:
                return httpx.Response(fault.status, json=fault.body, headers=fault.headers)
            return self.error(fault.status, fault.message or f"injected {fault.status}", headers=fault.headers)
        response = self.handle(request, path, dict(request.url.params), body)
        if fault and fault.kind == "drop_after":
            raise httpx.ReadError("connection reset by peer", request=request)
        seen.status = response.status_code
        return response

    # -- for subclasses -----------------------------------------------------------

    def before(self, request: httpx.Request) -> None:
        """Called for every request (the Neon fake advances its operations here)."""

    def handle(self, request: httpx.Request, path: str, params: dict[str, str], body: Any) -> httpx.Response:
        raise NotImplementedError

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
        raise NotImplementedError
