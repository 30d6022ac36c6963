"""The sessions that watch a migration from outside: a lock sampler and read/write probes.

- ``Sampler`` polls ``pg_locks`` every few milliseconds: the relation locks the
  migrating backend holds, and the lock requests the probes are waiting on.
- ``Probe`` is one session that keeps trying one kind of access to one table
  with a short ``lock_timeout``: a read is ``SELECT 1 FROM t LIMIT 1`` (ACCESS
  SHARE, what every SELECT takes), a write is ``LOCK TABLE t IN ROW EXCLUSIVE
  MODE`` in a transaction that is rolled back (the lock every INSERT, UPDATE
  and DELETE takes first, without changing a row of someone's preview). An
  attempt that times out was blocked for its whole duration.

All times are ``time.monotonic()`` seconds; threads own their connections.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import psycopg
from psycopg import sql

from bbops.core import pg

PROBE_LOCK_TIMEOUT_MS = 50
SAMPLE_EVERY_S = 0.005
_SKIP_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast", "drizzle", "bbops")

_HELD = """
SELECT n.nspname, c.relname, l.mode, l.pid, l.granted
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_class c ON c.oid = l.relation
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE l.locktype = 'relation' AND c.relkind IN ('r', 'p', 'm')
  AND n.nspname <> ALL(%(skip)s)
  AND ((l.pid = %(migrator)s AND l.granted) OR (l.pid = ANY(%(probes)s) AND NOT l.granted))
"""


@dataclass(frozen=True)
class LockSeen:
    at: float
    table: str  # schema.table
    mode: str  # pg_locks.mode, e.g. AccessExclusiveLock
    waiting_probe: int | None  # the probe's pid when this is a probe waiting, None for a lock the migration holds


def held_locks(conn: psycopg.Connection, migrator: int, probes: list[int]) -> list[LockSeen]:
    now = time.monotonic()
    rows = conn.execute(_HELD, {"skip": list(_SKIP_SCHEMAS), "migrator": migrator, "probes": probes}).fetchall()
    return [LockSeen(now, f"{s}.{t}", mode, None if pid == migrator else pid) for s, t, mode, pid, _ in rows]


class Sampler(threading.Thread):
    """Polls pg_locks while a migration runs; ``seen`` collects every observation."""

    def __init__(self, url: str, migrator: int, probes: list[int]) -> None:
        super().__init__(name="bbops-lock-sampler", daemon=True)
        self.url, self.migrator, self.probes = url, migrator, probes
        self.seen: list[LockSeen] = []
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.error: str | None = None

    def run(self) -> None:
        try:
            with pg.connection(self.url, autocommit=True, application_name="bbops review sampler") as conn:
                self.ready.set()
                while not self.stop.is_set():
                    self.seen += held_locks(conn, self.migrator, self.probes)
                    self.stop.wait(SAMPLE_EVERY_S)
        except Exception as exc:  # a broken observer must not break the migration it watches
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.ready.set()


class Probe(threading.Thread):
    """Keeps reading (or writing) one table; ``blocked`` holds the [start, end] of every timed-out attempt."""

    def __init__(self, url: str, table: str, kind: str) -> None:
        super().__init__(name=f"bbops-probe-{kind}-{table}", daemon=True)
        self.url, self.table, self.kind = url, table, kind  # table: schema.table; kind: read | write
        self.blocked: list[tuple[float, float]] = []
        self.attempts = 0
        self.pid = 0
        self.error: str | None = None
        self.stop = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        schema, _, name = self.table.partition(".")
        target = pg.ident(schema, name)
        query = (
            sql.SQL("SELECT 1 FROM {} LIMIT 1").format(target)
            if self.kind == "read"
            else sql.SQL("LOCK TABLE {} IN ROW EXCLUSIVE MODE").format(target)
        )
        try:
            with pg.connection(self.url, application_name=f"bbops review probe ({self.kind})") as conn:
                conn.execute(f"SET lock_timeout = '{PROBE_LOCK_TIMEOUT_MS}ms'")
                conn.commit()
                self.pid = conn.info.backend_pid
                self.ready.set()
                while not self.stop.is_set():
                    self._attempt(conn, query)
        except Exception as exc:  # the table went away, the server hung up: stop probing, keep the migration
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.ready.set()

    def _attempt(self, conn: psycopg.Connection, query: sql.Composed) -> None:
        started = time.monotonic()
        self.attempts += 1
        try:
            conn.execute(query)
        except psycopg.errors.LockNotAvailable:
            self.blocked.append((started, time.monotonic()))
        finally:
            conn.rollback()
        self.stop.wait(0.002)
