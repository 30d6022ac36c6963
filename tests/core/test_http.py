"""The shared HTTP rules: which failures are retried, how long we wait, what errors say."""

from __future__ import annotations

import logging

import httpx
import pytest

from bbops.core import redact
from bbops.core.http import ApiClient, RequestUncertain, RetryPolicy, Timeouts
from bbops.errors import ProviderError, UsageError

TOKEN = "tok_" + "q" * 20


class Script:
    """A transport that plays back a list of outcomes (responses or exceptions) and records calls."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def client(script: Script, sleeps: list[float], **kw) -> ApiClient:
    return ApiClient(
        "https://api.test/v2",
        TOKEN,
        service="neon",
        transport=httpx.MockTransport(script),
        sleep=sleeps.append,
        clock=lambda: 1_000_000.0,
        rng=lambda: 0.5,
        **kw,
    )


def test_refused_statuses_are_retried_for_any_method_with_backoff():
    sleeps: list[float] = []
    script = Script(
        httpx.Response(423, json={"message": "locked"}),
        httpx.Response(503, json={}),
        httpx.Response(201, json={"ok": True}),
    )
    response = client(script, sleeps).post("/things", json={"a": 1})
    assert response.json() == {"ok": True}
    assert len(script.calls) == 3
    # Exponential: the second wait is twice the first (jitter fixed at the middle here).
    assert sleeps == [pytest.approx(0.375), pytest.approx(0.75)]


def test_retry_after_seconds_and_vercel_reset_header_are_honoured():
    sleeps: list[float] = []
    script = Script(
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(429, headers={"X-RateLimit-Reset": str(1_000_000 + 12)}),
        httpx.Response(200, json={}),
    )
    client(script, sleeps).get("/x")
    assert sleeps == [7.0, 12.0]


def test_githubs_403_rate_limits_are_retried_like_429_and_a_plain_403_is_not():
    sleeps: list[float] = []
    script = Script(
        # Primary limit: remaining 0, reset at an epoch; secondary limit: retry-after.
        httpx.Response(403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(1_000_000 + 5)}),
        httpx.Response(403, headers={"retry-after": "9"}, json={"message": "secondary rate limit"}),
        httpx.Response(201, json={"ok": True}),
    )
    assert client(script, sleeps).post("/repos/o/r/issues/1/comments", json={}).json() == {"ok": True}
    assert sleeps == [5.0, 9.0]
    refused = Script(httpx.Response(403, headers={"x-ratelimit-remaining": "4999"}, json={"message": "forbidden"}))
    with pytest.raises(ProviderError) as err:
        client(refused, sleeps).get("/x")
    assert err.value.status == 403 and len(refused.calls) == 1


def test_a_server_wait_longer_than_accepted_fails_instead_of_hanging():
    sleeps: list[float] = []
    script = Script(httpx.Response(429, headers={"Retry-After": "3600"}, json={"message": "slow down"}))
    with pytest.raises(ProviderError) as err:
        client(script, sleeps).get("/x")
    assert err.value.status == 429 and sleeps == []


def test_gateway_errors_retry_get_but_make_post_uncertain():
    sleeps: list[float] = []
    script = Script(httpx.Response(502), httpx.Response(200, json={"n": 1}))
    assert client(script, sleeps).get("/x").json() == {"n": 1}
    script = Script(httpx.Response(504, text="gateway timeout"))
    with pytest.raises(RequestUncertain) as err:
        client(script, sleeps).post("/x", json={})
    assert len(script.calls) == 1 and err.value.status == 504


def test_connection_errors_before_sending_are_retried_even_for_post():
    sleeps: list[float] = []
    script = Script(httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.Response(201, json={}))
    assert client(script, sleeps).post("/x", json={}).status_code == 201
    assert len(script.calls) == 3


def test_a_broken_connection_after_sending_a_post_is_not_repeated():
    sleeps: list[float] = []
    script = Script(httpx.ReadError("reset"), httpx.Response(201, json={}))
    with pytest.raises(RequestUncertain):
        client(script, sleeps).post("/x", json={})
    assert len(script.calls) == 1


def test_read_timeouts_retry_idempotent_requests_until_attempts_run_out():
    sleeps: list[float] = []
    script = Script(httpx.ReadTimeout("slow"))
    with pytest.raises(ProviderError) as err:
        client(script, sleeps, retry=RetryPolicy(attempts=3)).get("/x")
    assert len(script.calls) == 3 and len(sleeps) == 2
    assert "unreachable after 3 attempts" in str(err.value)
    # A PATCH declared idempotent is retried the same way.
    script = Script(httpx.ReadTimeout("slow"), httpx.Response(200, json={}))
    assert client(script, sleeps).patch("/x", json={}, idempotent=True).status_code == 200


def test_errors_name_method_path_status_and_message_but_never_the_token(caplog):
    caplog.set_level(logging.DEBUG, logger="bbops.core.http")
    leaked = "postgresql://u:pw_" + "z" * 12 + "@h/db"
    redact.register_url(leaked)
    script = Script(httpx.Response(400, json={"code": "", "message": f"bad value {leaked} for {TOKEN}"}))
    with pytest.raises(ProviderError) as err:
        client(script, []).get("/projects/p1/branches", params={"search": "x"})
    text = str(err.value)
    assert text.startswith("GET /v2/projects/p1/branches -> 400: neon: bad value")
    assert TOKEN not in text and "pw_" not in text
    assert err.value.exit_code == 4
    assert script.calls[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in caplog.text and "Authorization" not in caplog.text


def test_vercel_error_shape_and_allowed_statuses():
    script = Script(httpx.Response(404, json={"error": {"code": "not_found", "message": "Project not found"}}))
    api = client(script, [])
    assert api.delete("/v9/x", allow=(404,)).status_code == 404
    with pytest.raises(ProviderError, match=r"Project not found \(not_found\)"):
        api.get("/v9/x")


def test_default_params_are_sent_with_every_request():
    script = Script(httpx.Response(200, json={}))
    api = ApiClient(
        "https://api.test",
        TOKEN,
        service="vercel",
        transport=httpx.MockTransport(script),
        default_params={"teamId": "team_1"},
    )
    api.get("/v9/projects/p", params={"decrypt": True, "skip": None})
    assert dict(script.calls[0].url.params) == {"teamId": "team_1", "decrypt": "true"}


def test_timeouts_are_configurable_from_the_environment():
    assert Timeouts.from_env({}) == Timeouts(10.0, 30.0)
    assert Timeouts.from_env({"BBOPS_HTTP_READ_TIMEOUT": "90"}) == Timeouts(10.0, 90.0)
    with pytest.raises(UsageError):
        Timeouts.from_env({"BBOPS_HTTP_CONNECT_TIMEOUT": "soon"})
