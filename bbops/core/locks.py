"""A Postgres advisory lock with a timeout and a useful answer to "who has it?".

Session-level ``pg_advisory_lock`` would wait forever, so the lock is polled
with ``pg_try_advisory_lock`` until the timeout; on timeout the error names the
holder (pid, application name, client address, since when) read from
``pg_locks`` and ``pg_stat_activity``. While held, the session's
``application_name`` says ``bbops <purpose>`` so a human looking at
``pg_stat_activity`` (or the next waiter) recognises it.

Session-level advisory locks need a real session: behind a transaction-mode
pooler (Neon's ``-pooler`` host) they do not protect anything, so callers
should pass a direct connection.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.pq import TransactionStatus

from bbops.core import pg
from bbops.core.poll import poll
from bbops.errors import LockTimeout

_APP_NAME_MAX = 63  # Postgres truncates application_name to NAMEDATALEN - 1


def lock_id(key: str) -> int:
    """The signed 64-bit advisory lock id for ``key`` (stable across processes and machines)."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big", signed=True)


@dataclass(frozen=True)
class Holder:
    pid: int
    application_name: str
    client: str
    backend_start: datetime | None
    state: str
    state_change: datetime | None

    def describe(self) -> str:
        since = self.backend_start.isoformat(timespec="seconds") if self.backend_start else "unknown"
        return (
            f"pid {self.pid} (application {self.application_name or '(none)'!r}, client {self.client}, "
            f"connected since {since}, {self.state or 'unknown state'})"
        )


def lock_holders(conn: psycopg.Connection, key: str) -> list[Holder]:
    """Sessions currently holding the advisory lock for ``key``."""
    n = lock_id(key) & 0xFFFFFFFFFFFFFFFF
    ours = _idle(conn)
    # A bigint advisory key shows in pg_locks as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
    rows = conn.execute(
        "SELECT l.pid, a.application_name, coalesce(host(a.client_addr), 'local socket'), a.backend_start, "
        "a.state, a.state_change FROM pg_catalog.pg_locks l "
        "LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
        "AND l.classid::text::bigint = %s AND l.objid::text::bigint = %s AND l.database = "
        "(SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())",
        (n >> 32, n & 0xFFFFFFFF),
    ).fetchall()
    _end_poll(conn, ours)
    return [Holder(int(r[0]), r[1] or "", r[2] or "unknown", r[3], r[4] or "", r[5]) for r in rows]


def _idle(conn: psycopg.Connection) -> bool:
    return conn.autocommit or conn.info.transaction_status == TransactionStatus.IDLE


def _end_poll(conn: psycopg.Connection, ours: bool) -> None:
    # In a non-autocommit connection every query opens a transaction; a waiter must not keep one
    # open, or the holder's CREATE INDEX CONCURRENTLY would wait for it to end. Only a transaction
    # we opened ourselves is ended (committed, so set_config survives); a caller's is left alone.
    if ours and not conn.autocommit and conn.info.transaction_status == TransactionStatus.INTRANS:
        conn.commit()


@contextmanager
def advisory_lock(
    conn: psycopg.Connection,
    key: str,
    *,
    timeout: float = 60.0,
    purpose: str = "",
    poll_interval: float = 0.5,
    on_wait: Callable[[list[Holder]], None] | None = None,
) -> Iterator[None]:
    """Hold the session-level advisory lock for ``key`` for the duration of the block.

    Raises ``LockTimeout`` naming the holder if it is not free within ``timeout``
    seconds. ``on_wait`` hears once who holds it when we first have to wait.
    The lock is released on exit, also on error.
    """
    ident = lock_id(key)
    ours = _idle(conn)
    told = False

    def taken() -> bool | None:
        nonlocal told
        got = pg.scalar(conn, "SELECT pg_catalog.pg_try_advisory_lock(%s)", (ident,), kind=bool)
        _end_poll(conn, ours)
        if got:
            return True
        if not told and on_wait is not None:
            on_wait(lock_holders(conn, key))
            told = True
        return None

    # Short pauses first: a lock held for a moment is taken without waiting half a second.
    if (
        poll(
            taken,
            timeout=max(timeout, 0.0),
            delay=min(0.05, poll_interval),
            max_delay=poll_interval,
            clock=time.monotonic,
        )
        is None
    ):
        holders = lock_holders(conn, key)
        who = "; ".join(h.describe() for h in holders) or "a session that has just released it"
        raise LockTimeout(
            f"timed out after {timeout:g}s waiting for the lock {key!r}, held by {who}",
            hint="another run is in progress; wait for it, or raise --lock-timeout",
        )
    previous: str | None = None
    try:
        previous = _set_app_name(conn, f"bbops {purpose}".strip() if purpose else "bbops", ours)
        yield
    finally:
        _release(conn, ident, previous, ours)


def _set_app_name(conn: psycopg.Connection, name: str, ours: bool) -> str | None:
    old = pg.scalar(conn, "SELECT current_setting('application_name')", kind=str)
    conn.execute("SELECT set_config('application_name', %s, false)", (name[:_APP_NAME_MAX],))
    _end_poll(conn, ours)
    return old


def _release(conn: psycopg.Connection, ident: int, previous: str | None, ours: bool) -> None:
    if conn.closed or conn.broken:
        return  # the server dropped the session, and its locks with it
    try:
        if conn.info.transaction_status == TransactionStatus.INERROR:
            conn.rollback()
        conn.execute("SELECT pg_catalog.pg_advisory_unlock(%s)", (ident,))
        if previous is not None:
            conn.execute("SELECT set_config('application_name', %s, false)", (previous,))
        _end_poll(conn, ours)
    except psycopg.Error:
        # A session we cannot talk to any more cannot hold the lock for long either; close it so it
        # is released now rather than when the server notices.
        conn.close()
