"""Pure parts of the production steps: checksums, pending-step planning, the secret box, the health check."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from bbops.core import redact
from bbops.errors import MigrationError, UsageError
from bbops.plan.model import Plan, Production, Step
from bbops.production.health import HealthChecker
from bbops.production.pending import Recorded, first_mutating, pending_steps, plan_run, step_checksum, steps_checksum
from bbops.production.restore import parse_timestamp, point_name
from bbops.production.secretbox import ENV_KEY, SecretBox, open_box


def plan_of(tmp_path: Path, *steps: Step) -> Plan:
    return Plan(file=tmp_path / "p.yaml", name="p", production=Production(steps=tuple(steps)))


def sql_step(tmp_path: Path, id: str, text: str = "SELECT 1;", **extra) -> Step:
    (tmp_path / f"{id}.sql").write_text(text)
    return Step(id, "sql", {"id": id, "kind": "sql", "file": f"{id}.sql", **extra}, tmp_path)


def test_checksum_covers_the_definition_and_the_files(tmp_path):
    a = sql_step(tmp_path, "a")
    base = step_checksum(a)
    assert step_checksum(sql_step(tmp_path, "a")) == base  # stable
    assert step_checksum(Step("a", "sql", {"file": "a.sql", "kind": "sql", "id": "a"}, tmp_path)) == base  # key order
    assert step_checksum(sql_step(tmp_path, "a", transaction=False)) != base
    (tmp_path / "a.sql").write_text("SELECT 2;")
    assert step_checksum(a) != base


def test_pending_steps_in_order_with_failed_and_interrupted_ones(tmp_path):
    a, b, c = (
        sql_step(tmp_path, "a"),
        Step("b", "copy", {"id": "b", "kind": "copy", "source": "${X}"}),
        Step("c", "check", {"id": "c", "kind": "check", "url": "https://x"}),
    )
    plan = plan_of(tmp_path, a, b, c)
    assert [p.step.id for p in pending_steps(plan, {})] == ["a", "b", "c"]
    history = {"a": Recorded("applied", step_checksum(a)), "b": Recorded("running", step_checksum(b))}
    pending = pending_steps(plan, history)
    assert [(p.step.id, p.reason, p.resume) for p in pending] == [("b", "interrupted", True), ("c", "new", False)]
    history["b"] = Recorded("failed", step_checksum(b), "boom")
    assert pending_steps(plan, history)[0].reason == "failed"
    assert first_mutating(pending) == 0 and first_mutating(pending[1:]) is None  # a check changes nothing


def test_changed_applied_step_is_drift_but_a_grown_migrations_folder_is_pending(tmp_path):
    a = sql_step(tmp_path, "a")
    (tmp_path / "drizzle").mkdir()
    m = Step("m", "migrations", {"id": "m", "kind": "migrations", "dir": "drizzle"}, tmp_path)
    history = {"a": Recorded("applied", "0" * 64), "m": Recorded("applied", "1" * 64)}
    run = plan_run(plan_of(tmp_path, m, a), history)
    assert [d.step_id for d in run.drift] == ["a"]
    assert [(p.step.id, p.reason) for p in run.pending] == [("m", "new migrations")]


def test_steps_checksum_changes_with_any_step(tmp_path):
    one = Production(steps=(sql_step(tmp_path, "a"),))
    two = Production(steps=(sql_step(tmp_path, "a"), sql_step(tmp_path, "b")))
    assert steps_checksum(one) != steps_checksum(two) and steps_checksum(one) == steps_checksum(one)


def test_restore_point_names_and_timestamps():
    assert point_name("ABCDEF1234") == "bbops-rp-abcdef1"
    assert point_name("not a sha").startswith("bbops-rp-2")
    assert parse_timestamp("bbops-rp-abc") is None
    assert parse_timestamp("2026-11-26T07:00:00Z").isoformat() == "2026-11-26T07:00:00+00:00"
    assert parse_timestamp("2026-11-26").tzinfo is not None
    with pytest.raises(UsageError, match="ISO 8601"):
        parse_timestamp("2026-13-45T99")


def test_secret_box_round_trip_and_wrong_key(monkeypatch):
    box = SecretBox(Fernet.generate_key())
    token = box.encrypt("postgresql://u:" + "p" * 12 + "@h/db")
    assert "p" * 12 not in token
    assert box.decrypt(token).endswith("@h/db")
    with pytest.raises(UsageError, match="not the key it was recorded with"):
        SecretBox(Fernet.generate_key()).decrypt(token)
    with pytest.raises(UsageError, match="not a valid Fernet key"):
        SecretBox("short")


def test_open_box_local_key_file_and_cloud_requirement(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)
    with pytest.raises(UsageError, match="BBOPS_STATE_KEY is not set"):
        open_box("cloud", tmp_path)
    with pytest.raises(UsageError, match="no BBOPS_STATE_KEY"):
        open_box("local", tmp_path, create=False)
    box = open_box("local", tmp_path)
    key_file = tmp_path / "state.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert open_box("local", tmp_path).decrypt(box.encrypt("kept")) == "kept"  # the same key next time
    assert redact.scrub(key_file.read_text().strip()) == "***"  # the key itself is a secret
    monkeypatch.setenv(ENV_KEY, Fernet.generate_key().decode())
    with pytest.raises(UsageError):
        open_box("cloud").decrypt(box.encrypt("x"))  # the env key wins over the file


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_health_check_backs_off_until_timeout(monkeypatch):
    clock = Clock()
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    monkeypatch.setenv("HEALTH", "https://app.example/api/health?token=" + "t" * 16)
    redact.register("t" * 16)
    checker = HealthChecker(httpx.MockTransport(handler), clock.sleep, lambda: clock.now)
    with pytest.raises(MigrationError, match="did not answer with a 2xx status within 20s") as exc:
        checker.check("${HEALTH}", timeout_seconds=20)
    assert "t" * 16 not in str(exc.value) and "ConnectError" in str(exc.value)
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 5.0]  # doubling, the last one cut to the budget
    assert len(calls) == 6


def test_health_check_expected_status():
    clock = Clock()
    answers = iter([200, 204, 418])
    checker = HealthChecker(
        httpx.MockTransport(lambda r: httpx.Response(next(answers))), clock.sleep, lambda: clock.now
    )
    result = checker.check("https://app.example/teapot", timeout_seconds=60, expect_status=418)
    assert (result.status, result.attempts) == (418, 3)
