"""The doctor's connection: read-only, short timeouts, safe to point at production.

Every statement runs in autocommit with ``default_transaction_read_only`` on, so
nothing can write even by mistake; ``statement_timeout`` bounds each catalog
query and ``lock_timeout`` makes a query give up rather than queue behind DDL
(the checks only read catalogs and statistics views, which take no locks
beyond ``AccessShareLock``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from bbops.core import pg

STATEMENT_TIMEOUT_MS = 5_000
LOCK_TIMEOUT_MS = 1_000


@contextmanager
def read_only_session(
    url: str, *, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS, lock_timeout_ms: int = LOCK_TIMEOUT_MS
) -> Iterator[psycopg.Connection[Any]]:
    with pg.connection(url, autocommit=True, application_name="bbops doctor") as conn:
        # SET rather than startup options: Neon's pooler drops startup options (use a direct URL anyway).
        conn.execute("SET default_transaction_read_only = on")
        conn.execute(f"SET statement_timeout = {int(statement_timeout_ms)}")
        conn.execute(f"SET lock_timeout = {int(lock_timeout_ms)}")
        conn.execute("SET idle_in_transaction_session_timeout = 60000")
        yield conn
