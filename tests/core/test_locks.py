"""The generic advisory lock, against a real Postgres."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from bbops.core.locks import advisory_lock, lock_holders, lock_id
from bbops.errors import LockTimeout


def test_lock_id_is_a_stable_signed_64_bit_number() -> None:
    assert lock_id("bbops migrate x") == lock_id("bbops migrate x")
    assert lock_id("a") != lock_id("b")
    for key in ("a", "b", "bbops migrate drizzle.__drizzle_migrations", "ü" * 40):
        assert -(2**63) <= lock_id(key) < 2**63


def _try(url: str, key: str) -> bool:
    """Can a separate session take (and immediately give back) the lock?"""
    with psycopg.connect(url, autocommit=True) as other:
        got = other.execute("SELECT pg_try_advisory_lock(%s)", (lock_id(key),)).fetchone()[0]
        if got:
            other.execute("SELECT pg_advisory_unlock(%s)", (lock_id(key),))
        return got


def test_held_inside_the_block_and_released_after(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        with advisory_lock(conn, "k1", timeout=1, purpose="unit test"):
            assert not _try(database_url, "k1")
            assert _try(database_url, "another key")
            name = conn.execute("SELECT current_setting('application_name')").fetchone()[0]
            assert name == "bbops unit test"
        assert _try(database_url, "k1")
        # The session's own name comes back afterwards.
        assert conn.execute("SELECT current_setting('application_name')").fetchone()[0] != "bbops unit test"


def test_released_when_the_block_raises(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        with pytest.raises(ZeroDivisionError):
            with advisory_lock(conn, "k2", timeout=1):
                raise ZeroDivisionError
        assert _try(database_url, "k2")


def test_released_after_a_failed_transaction_inside(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:  # not autocommit
        with pytest.raises(psycopg.errors.UndefinedTable):
            with advisory_lock(conn, "k3", timeout=1):
                conn.execute("SELECT * FROM no_such_table")
        assert _try(database_url, "k3")


def test_timeout_names_the_holder(database_url: str) -> None:
    with (
        psycopg.connect(database_url, autocommit=True) as holder,
        psycopg.connect(database_url, autocommit=True) as waiter,
    ):
        holder_pid = holder.info.backend_pid
        with advisory_lock(holder, "k4", purpose="deploy 42"):
            heard: list = []
            started = time.monotonic()
            with pytest.raises(LockTimeout) as info:
                with advisory_lock(waiter, "k4", timeout=0.4, on_wait=heard.append):
                    pytest.fail("must not get the lock")
            waited = time.monotonic() - started
    message = str(info.value)
    assert f"pid {holder_pid}" in message
    assert "bbops deploy 42" in message
    assert "local socket" in message or "client" in message
    assert 0.35 <= waited < 3
    assert heard and heard[0][0].pid == holder_pid
    assert info.value.exit_code == 5


def test_a_waiter_gets_the_lock_once_released(database_url: str) -> None:
    released = threading.Event()

    def hold() -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            with advisory_lock(conn, "k5"):
                released.wait(5)
                time.sleep(0.3)

    t = threading.Thread(target=hold)
    t.start()
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            deadline = time.monotonic() + 5
            while not lock_holders(conn, "k5") and time.monotonic() < deadline:
                time.sleep(0.02)
            assert lock_holders(conn, "k5"), "the holder thread never took the lock"
            released.set()
            with advisory_lock(conn, "k5", timeout=5, poll_interval=0.05):
                assert lock_holders(conn, "k5")[0].pid == conn.info.backend_pid
    finally:
        released.set()
        t.join()


def test_polling_leaves_no_transaction_open_on_a_non_autocommit_connection(database_url: str) -> None:
    # A waiter that keeps a transaction open would block the holder's CREATE INDEX CONCURRENTLY.
    with psycopg.connect(database_url, autocommit=True) as holder, psycopg.connect(database_url) as waiter:
        with advisory_lock(holder, "k6"):
            with pytest.raises(LockTimeout):
                with advisory_lock(waiter, "k6", timeout=0.2):
                    pass
            assert waiter.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with advisory_lock(waiter, "k6", timeout=1, purpose="second"):
            assert waiter.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            assert waiter.execute("SELECT current_setting('application_name')").fetchone()[0] == "bbops second"
            waiter.rollback()
