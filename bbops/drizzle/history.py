"""What a database says has been applied: Drizzle's table, plus bbops' own log beside it.

``drizzle.__drizzle_migrations (id serial primary key, hash text not null,
created_at bigint)`` is Drizzle's, and bbops writes it exactly as drizzle-orm
does (hash = sha256 of the file, created_at = the journal's ``when``) so the
app's own ``drizzle-kit migrate`` and bbops agree. Everything else bbops wants
to remember (who, when, how long, which statements, progress through a
migration run outside a transaction) lives in ``bbops.migration_log`` and
never in Drizzle's table.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import dataclass

import psycopg
from psycopg import sql

from bbops import __version__
from bbops.core import bookkeeping, pg

DRIZZLE_SCHEMA = "drizzle"
DRIZZLE_TABLE = "__drizzle_migrations"
LOG_SCHEMA = "bbops"
LOG_TABLE = "migration_log"


@dataclass(frozen=True)
class DrizzleRow:
    id: int
    hash: str
    created_at: int | None


@dataclass(frozen=True)
class Attempt:
    """The latest bbops attempt at one migration, from the log."""

    id: int
    tag: str
    hash: str
    status: str  # running | applied | failed
    transactional: bool
    statements_done: int
    statements_total: int
    error: str | None


def _qualified(schema: str, table: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def _exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        (schema, table),
    ).fetchone()
    return row is not None


def read_rows(conn: psycopg.Connection, schema: str = DRIZZLE_SCHEMA, table: str = DRIZZLE_TABLE) -> list[DrizzleRow]:
    """Every row of Drizzle's table, oldest first; empty when the table does not exist yet."""
    if not _exists(conn, schema, table):
        return []
    query = sql.SQL("SELECT id, hash, created_at FROM {} ORDER BY id").format(_qualified(schema, table))
    return [DrizzleRow(int(r[0]), r[1], None if r[2] is None else int(r[2])) for r in conn.execute(query)]


def ensure_drizzle_table(conn: psycopg.Connection, schema: str = DRIZZLE_SCHEMA, table: str = DRIZZLE_TABLE) -> None:
    """Create Drizzle's schema and table if missing, with drizzle-orm's own definition."""
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    conn.execute(
        sql.SQL("CREATE TABLE IF NOT EXISTS {} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)").format(
            _qualified(schema, table)
        )
    )


def record_applied(
    conn: psycopg.Connection, hash_: str, created_at: int, schema: str = DRIZZLE_SCHEMA, table: str = DRIZZLE_TABLE
) -> None:
    conn.execute(
        sql.SQL('INSERT INTO {} ("hash", "created_at") VALUES (%s, %s)').format(_qualified(schema, table)),
        (hash_, created_at),
    )


def ensure_log(conn: psycopg.Connection) -> None:
    """The migration log (``bbops.migration_log``) is part of schema bbops, owned by ``core.bookkeeping``."""
    bookkeeping.ensure(conn)


def actor() -> str:
    """Who is applying: the GitHub actor in Actions, else the OS user."""
    if os.environ.get("GITHUB_ACTOR"):
        return os.environ["GITHUB_ACTOR"]
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def github_run() -> tuple[str | None, str | None]:
    run_id = os.environ.get("GITHUB_RUN_ID")
    if not run_id:
        return None, None
    server, repo = os.environ.get("GITHUB_SERVER_URL", "https://github.com"), os.environ.get("GITHUB_REPOSITORY")
    return run_id, (f"{server}/{repo}/actions/runs/{run_id}" if repo else None)


def log_start(
    conn: psycopg.Connection,
    *,
    tag: str,
    hash_: str,
    created_at: int,
    transactional: bool,
    total: int,
    done: list[str],
    status: str = "running",
) -> int:
    run_id, run_url = github_run()
    cur = conn.execute(
        sql.SQL(
            "INSERT INTO {} (tag, hash, created_at, status, transactional, statements_total, statements_done, "
            "statements, actor, github_run_id, github_run_url, bbops_version) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s) RETURNING id"
        ).format(_qualified(LOG_SCHEMA, LOG_TABLE)),
        (
            tag,
            hash_,
            created_at,
            status,
            transactional,
            total,
            len(done),
            json.dumps(done),
            actor(),
            run_id,
            run_url,
            __version__,
        ),
    )
    return int(pg.one(cur, f"log the start of migration {tag}")[0])


def log_progress(conn: psycopg.Connection, log_id: int, done: list[str]) -> None:
    conn.execute(
        sql.SQL("UPDATE {} SET statements_done = %s, statements = %s::jsonb WHERE id = %s").format(
            _qualified(LOG_SCHEMA, LOG_TABLE)
        ),
        (len(done), json.dumps(done), log_id),
    )


def log_finish(conn: psycopg.Connection, log_id: int, status: str, duration_s: float, error: str | None = None) -> None:
    conn.execute(
        sql.SQL(
            "UPDATE {} SET status = %s, finished_at = clock_timestamp(), duration_ms = %s, error = %s WHERE id = %s"
        ).format(_qualified(LOG_SCHEMA, LOG_TABLE)),
        (status, round(duration_s * 1000), error, log_id),
    )


def latest_attempts(conn: psycopg.Connection) -> dict[str, Attempt]:
    """The latest logged attempt per tag (empty before bbops ever ran here)."""
    if not _exists(conn, LOG_SCHEMA, LOG_TABLE):
        return {}
    query = sql.SQL(
        "SELECT DISTINCT ON (tag) id, tag, hash, status, transactional, statements_done, statements_total, error "
        "FROM {} ORDER BY tag, id DESC"
    ).format(_qualified(LOG_SCHEMA, LOG_TABLE))
    return {
        r[1]: Attempt(int(r[0]), r[1], r[2], r[3], bool(r[4]), int(r[5]), int(r[6]), r[7]) for r in conn.execute(query)
    }
