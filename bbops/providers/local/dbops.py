"""Database-level operations behind local branches: copy as template, drop, rename.

Postgres refuses ``CREATE DATABASE ... TEMPLATE t`` while any other session is
connected to ``t`` (after waiting up to 5 s itself), and refuses a rename while
anyone is connected to the database being renamed. A branch's parent is often
held open by an idle pool (the app, a psql left open), so before copying we end
the *idle* sessions on it and wait briefly for busy ones to finish; an *active*
session is never killed to make a copy (the copy would catch its work half
done), and the error names it. Every name is quoted with ``sql.Identifier``, never pasted.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
from psycopg import errors, sql

from bbops.core.poll import poll
from bbops.errors import ProviderError

# Sessions we may end to free a template: idle outside a transaction, they hold no work.
# "idle in transaction" is someone's unfinished work (a migration between two
# statements): ending it would abort that work, so it is waited for like a busy one.
_IDLE_STATES = ("idle",)


def terminate_sessions(conn: psycopg.Connection, database: str, *, idle_only: bool = True) -> int:
    """End other sessions connected to ``database``; how many were ended."""
    query = (
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    )
    params: tuple[Any, ...] = (database,)
    if idle_only:
        query += " AND state = ANY(%s)"
        params += (list(_IDLE_STATES),)
    row = conn.execute(query, params).fetchone()
    return int(row[0]) if row else 0


def _blockers(conn: psycopg.Connection, database: str) -> str:
    rows = conn.execute(
        "SELECT pid, coalesce(nullif(application_name, ''), '?'), coalesce(state, '?')"
        " FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() ORDER BY pid",
        (database,),
    ).fetchall()
    return ", ".join(f"pid {pid} ({app}, {state})" for pid, app, state in rows) or "none now"


def wait_until_unused(conn: psycopg.Connection, database: str, *, wait: float) -> bool:
    """End idle sessions on ``database`` until none is left; False if busy ones remain after ``wait`` s.

    Polling here instead of letting ``CREATE DATABASE`` find the template busy
    matters: Postgres then waits 5 s before failing, on every attempt.
    """

    def unused() -> bool | None:
        terminate_sessions(conn, database)
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (database,)
        ).fetchone()
        return True if not row or row[0] == 0 else None

    # A steady 50 ms: ended sessions take a moment to go; busy ones may finish.
    return poll(unused, timeout=wait, delay=0.05, factor=1.0, clock=time.monotonic) is not None


def copy_database(conn: psycopg.Connection, source: str, target: str, *, wait: float = 10.0, attempts: int = 3) -> None:
    """``CREATE DATABASE target TEMPLATE source``, once ``source`` has no other sessions.

    Idle sessions are ended; busy ones are waited for up to ``wait`` seconds,
    then named in the error.
    """
    stmt = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(target), sql.Identifier(source))
    for attempt in range(1, attempts + 1):
        if not wait_until_unused(conn, source, wait=wait):
            raise ProviderError(
                f"cannot copy database {source!r}: other sessions are using it ({_blockers(conn, source)})",
                hint="let the work on the parent branch finish (or close those sessions) and retry",
            )
        try:
            conn.execute(stmt)
            return
        except errors.ObjectInUse:
            # Someone connected between our check and the copy: check again.
            if attempt == attempts:
                raise ProviderError(
                    f"cannot copy database {source!r}: sessions keep connecting to it ({_blockers(conn, source)})"
                ) from None
        except errors.InvalidCatalogName:
            raise ProviderError(f"database {source!r} of the parent branch does not exist") from None
        except errors.DuplicateDatabase:
            raise ProviderError(f"database {target!r} already exists") from None


def create_empty(conn: psycopg.Connection, target: str) -> None:
    """A fresh database from ``template0`` (a root branch has no parent to copy)."""
    try:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(target)))
    except errors.DuplicateDatabase:
        raise ProviderError(f"database {target!r} already exists") from None


def drop_database(conn: psycopg.Connection, name: str) -> None:
    """Drop ``name`` if it exists, ending every session on it (FORCE, Postgres 13+)."""
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def rename_database(conn: psycopg.Connection, old: str, new: str, *, attempts: int = 5) -> None:
    """Rename ``old`` to ``new``, ending every session on ``old`` first (a rename needs it unused)."""
    stmt = sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(old), sql.Identifier(new))
    for attempt in range(1, attempts + 1):
        terminate_sessions(conn, old, idle_only=False)
        try:
            conn.execute(stmt)
            return
        except errors.InvalidCatalogName:
            raise ProviderError(f"cannot rename database {old!r}: it does not exist") from None
        except errors.DuplicateDatabase:
            raise ProviderError(f"cannot rename database {old!r}: {new!r} already exists") from None
        except errors.ObjectInUse:
            # A client reconnected between the terminate and the rename: try again.
            if attempt == attempts:
                raise ProviderError(
                    f"cannot rename database {old!r}: sessions keep reconnecting ({_blockers(conn, old)})"
                ) from None
            time.sleep(0.1 * attempt)


def existing_databases(conn: psycopg.Connection, names: list[str]) -> set[str]:
    rows = conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", (names,)).fetchall()
    return {r[0] for r in rows}
