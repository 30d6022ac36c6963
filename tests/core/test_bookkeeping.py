"""Schema ``bbops``: one owner, a version, ordered upgrades under a lock; against a real Postgres."""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
import pytest

from bbops.core import bookkeeping, pg
from bbops.core.bookkeeping import UPGRADES, Upgrade
from bbops.errors import UsageError
from bbops.production.history import History

# What bbops wrote before schema versioning, statement for statement as the six modules
# that created these tables did (production history, copy state, seeds, preview env,
# migration log, online streams and markers): the state an existing database is in.
LEGACY = {
    "production": """
        CREATE SCHEMA IF NOT EXISTS bbops;
        CREATE TABLE IF NOT EXISTS bbops.production_steps (
            attempt bigserial PRIMARY KEY, step_id text NOT NULL, kind text NOT NULL, checksum text NOT NULL,
            status text NOT NULL CHECK (status IN ('running', 'applied', 'failed')),
            started_at timestamptz NOT NULL DEFAULT clock_timestamp(), finished_at timestamptz,
            run_id text, commit_sha text, actor text, error text);
        CREATE TABLE IF NOT EXISTS bbops.restore_points (
            name text PRIMARY KEY, branch text NOT NULL, created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            run_id text, commit_sha text, actor text);
        CREATE TABLE IF NOT EXISTS bbops.undo_records (
            id bigserial PRIMARY KEY, restore_point text, step_id text NOT NULL,
            kind text NOT NULL CHECK (kind IN ('env', 'deployment')), target text NOT NULL,
            key text, git_branch text, env_type text, env_targets text,
            state text NOT NULL CHECK (state IN ('present', 'absent', 'unreadable', 'deployment')),
            sealed_value text, deployment_id text, recorded_at timestamptz NOT NULL DEFAULT clock_timestamp());
        CREATE TABLE IF NOT EXISTS bbops.rollbacks (
            id bigserial PRIMARY KEY, restore_point text NOT NULL, parts text NOT NULL, steps_checksum text NOT NULL,
            done_at timestamptz NOT NULL DEFAULT clock_timestamp(), run_id text, commit_sha text, actor text,
            cleared_at timestamptz);
    """,
    "copy": """
        CREATE SCHEMA IF NOT EXISTS bbops;
        CREATE TABLE IF NOT EXISTS bbops.copy_progress (item text PRIMARY KEY, table_name text, rows bigint,
            bytes bigint, detail text, done_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS bbops.copy_tables (table_name text PRIMARY KEY, source_filenode bigint NOT NULL,
            source_blocks bigint NOT NULL, chunks integer NOT NULL);
        CREATE TABLE IF NOT EXISTS bbops.copy_dropped (item text PRIMARY KEY, kind text NOT NULL,
            table_name text NOT NULL, parent text, create_sql text NOT NULL, validate boolean NOT NULL DEFAULT false,
            name text NOT NULL DEFAULT '');
    """,
    "seeds": """
        create schema if not exists bbops;
        create table if not exists bbops.seeds (name text primary key, sha256 text not null,
            applied_at timestamptz not null default now());
    """,
    "preview_env": """
        CREATE SCHEMA IF NOT EXISTS bbops;
        CREATE TABLE IF NOT EXISTS bbops.preview_env (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            env_fingerprint text NOT NULL, redeployed_at timestamptz NOT NULL DEFAULT now());
    """,
    "migration_log": """
        CREATE SCHEMA IF NOT EXISTS "bbops";
        CREATE TABLE IF NOT EXISTS "bbops"."migration_log" (
            id bigserial PRIMARY KEY, tag text NOT NULL, hash text NOT NULL, created_at bigint NOT NULL,
            status text NOT NULL CHECK (status IN ('running', 'applied', 'failed')), transactional boolean NOT NULL,
            statements_total integer NOT NULL, statements_done integer NOT NULL DEFAULT 0,
            statements jsonb NOT NULL DEFAULT '[]'::jsonb, actor text, github_run_id text, github_run_url text,
            bbops_version text, started_at timestamptz NOT NULL DEFAULT clock_timestamp(), finished_at timestamptz,
            duration_ms bigint, error text);
    """,
    "online": """
        CREATE SCHEMA IF NOT EXISTS bbops;
        CREATE TABLE IF NOT EXISTS bbops.online_streams (stream text PRIMARY KEY, phase text NOT NULL,
            tables text[] NOT NULL DEFAULT '{}', reverse boolean NOT NULL DEFAULT false,
            started_at timestamptz NOT NULL DEFAULT now(), switched_at timestamptz,
            freeze_seconds double precision, validation_until timestamptz,
            updated_at timestamptz NOT NULL DEFAULT now());
        CREATE TABLE IF NOT EXISTS bbops.online_marker (stream text NOT NULL, token text NOT NULL,
            written_at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (stream, token));
    """,
}

ROWS = {
    "production_steps": "INSERT INTO bbops.production_steps (step_id, kind, checksum, status) "
    "VALUES ('schema', 'migrations', 'c1', 'applied')",
    "restore_points": "INSERT INTO bbops.restore_points (name, branch) VALUES ('bbops-rp-abcdef1', 'main')",
    "seeds": "INSERT INTO bbops.seeds (name, sha256) VALUES ('seed.sql', 'ab')",
    "migration_log": "INSERT INTO bbops.migration_log (tag, hash, created_at, status, transactional, "
    "statements_total) VALUES ('0000_init', 'h', 1, 'applied', true, 1)",
    "copy_progress": "INSERT INTO bbops.copy_progress (item, table_name, rows) VALUES ('chunk public.a 0', 'a', 5)",
}


def _catalog(conn: psycopg.Connection) -> list[tuple]:
    """Every column and constraint in schema bbops: what an upgrade must make equal."""
    columns = conn.execute(
        "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns"
        " WHERE table_schema = 'bbops' ORDER BY 1, 2"
    ).fetchall()
    constraints = conn.execute(
        "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE connamespace = 'bbops'::regnamespace ORDER BY 1, 2"
    ).fetchall()
    return [*columns, *constraints]


def _rows(conn: psycopg.Connection, table: str) -> int:
    return pg.scalar(conn, f"SELECT count(*) FROM bbops.{table}", kind=int)


@pytest.fixture
def fresh(make_database: Callable[..., str]) -> Callable[[], str]:
    return lambda: make_database("bk")


def test_a_fresh_database_gets_every_table_and_its_version(fresh: Callable[[], str]) -> None:
    with psycopg.connect(fresh(), autocommit=True) as conn:
        assert bookkeeping.current_version(conn) == 0
        assert bookkeeping.ensure(conn) == UPGRADES[-1].version
        assert bookkeeping.current_version(conn) == UPGRADES[-1].version
        tables = {t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'bbops'")}
    assert tables == {
        "schema_version",
        "production_steps",
        "restore_points",
        "undo_records",
        "rollbacks",
        "migration_log",
        "seeds",
        "preview_env",
        "copy_progress",
        "copy_tables",
        "copy_dropped",
        "online_streams",
        "online_marker",
    }


@pytest.mark.parametrize("parts", [tuple(LEGACY), ("seeds", "migration_log"), ("production",)])
def test_an_old_database_upgrades_in_place_and_keeps_its_rows(fresh: Callable[[], str], parts: tuple[str, ...]) -> None:
    with psycopg.connect(fresh(), autocommit=True) as new:
        bookkeeping.ensure(new)
        expected = _catalog(new)
    with psycopg.connect(fresh(), autocommit=True) as old:
        for part in parts:  # what today's bbops left: some or all of its tables, no version table
            old.execute(LEGACY[part])
        present = {t for (t,) in old.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'bbops'")}
        for table, insert in ROWS.items():
            if table in present:
                old.execute(insert)
        assert bookkeeping.current_version(old) == 0
        bookkeeping.ensure(old)
        assert bookkeeping.current_version(old) == UPGRADES[-1].version
        assert _catalog(old) == expected  # the missing tables made, the existing ones as a fresh one has them
        for table in ROWS:
            assert _rows(old, table) == (1 if table in present else 0), table


def test_upgrades_run_once_in_order_under_one_transaction(fresh: Callable[[], str]) -> None:
    log = "CREATE TABLE IF NOT EXISTS bbops.upgrade_log (n int, at timestamptz DEFAULT clock_timestamp());"
    n = UPGRADES[-1].version  # the test's upgrades come after the shipped ones
    first = (*UPGRADES, Upgrade(n + 1, "log", log + f"INSERT INTO bbops.upgrade_log (n) VALUES ({n + 1});"))
    later = (
        *first,
        Upgrade(
            n + 2,
            "a column",
            f"ALTER TABLE bbops.seeds ADD COLUMN note text; INSERT INTO bbops.upgrade_log VALUES ({n + 2});",
        ),
        Upgrade(n + 3, "four", f"INSERT INTO bbops.upgrade_log (n) VALUES ({n + 3});"),
    )
    with psycopg.connect(fresh(), autocommit=True) as conn:
        assert bookkeeping.ensure(conn, first) == n + 1
        conn.execute("INSERT INTO bbops.seeds (name, sha256) VALUES ('s', 'x')")
        assert bookkeeping.ensure(conn, later) == n + 3
        assert bookkeeping.ensure(conn, later) == n + 3  # nothing left: nothing runs again
        assert [v for (v,) in conn.execute("SELECT n FROM bbops.upgrade_log ORDER BY at, n")] == [n + 1, n + 2, n + 3]
        assert conn.execute("SELECT name, note FROM bbops.seeds").fetchall() == [("s", None)]


def test_a_failed_upgrade_leaves_the_version_it_started_from(fresh: Callable[[], str]) -> None:
    n = UPGRADES[-1].version
    broken = (
        *UPGRADES,
        Upgrade(n + 1, "fine", "CREATE TABLE bbops.two (x int);"),
        Upgrade(n + 2, "bad", "SELECT 1/0;"),
    )
    with psycopg.connect(fresh(), autocommit=True) as conn:
        bookkeeping.ensure(conn)
        with pytest.raises(psycopg.errors.DivisionByZero):
            bookkeeping.ensure(conn, broken)
        assert bookkeeping.current_version(conn) == UPGRADES[-1].version
        assert conn.execute("SELECT to_regclass('bbops.two')").fetchone() == (None,)  # upgrade 2 rolled back too


def test_a_database_from_a_newer_bbops_is_refused(fresh: Callable[[], str]) -> None:
    with psycopg.connect(fresh(), autocommit=True) as conn:
        bookkeeping.ensure(conn)
        conn.execute("UPDATE bbops.schema_version SET version = 99")
        with pytest.raises(UsageError, match="version 99, newer than this bbops knows"):
            bookkeeping.ensure(conn)
        assert bookkeeping.current_version(conn) == 99


def test_first_use_by_several_processes_at_once_is_serialised(fresh: Callable[[], str]) -> None:
    url = fresh()
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def first_use() -> None:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                barrier.wait()
                bookkeeping.ensure(conn)
        except BaseException as exc:  # collected: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=first_use) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # Without the lock, concurrent CREATE TABLE IF NOT EXISTS fails with a unique violation in pg_type.
    assert errors == []
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*), max(version) FROM bbops.schema_version").fetchone() == (
            1,
            UPGRADES[-1].version,
        )


def test_on_a_non_autocommit_connection_ensure_leaves_no_transaction_open(fresh: Callable[[], str]) -> None:
    with psycopg.connect(fresh()) as conn:
        bookkeeping.ensure(conn)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        bookkeeping.ensure(conn)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_production_history_exists_only_where_steps_were_recorded(fresh: Callable[[], str]) -> None:
    url = fresh()
    with psycopg.connect(url, autocommit=True) as conn:
        bookkeeping.ensure(conn)  # e.g. seeds ran on this branch: the tables exist, no production history
    assert History(url).exists() is False
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(ROWS["production_steps"])
    assert History(url).exists() is True


def test_an_unused_schema_is_removed_and_one_holding_anything_is_kept(fresh: Callable[[], str]) -> None:
    with psycopg.connect(fresh(), autocommit=True) as conn:
        assert bookkeeping.remove_if_unused(conn) is False  # no schema bbops at all
        bookkeeping.ensure(conn)
        conn.execute(ROWS["seeds"])
        assert bookkeeping.remove_if_unused(conn) is False  # a seed was recorded here: it stays
        conn.execute("DELETE FROM bbops.seeds")
        conn.execute("CREATE TABLE bbops.notes_by_hand (x int)")
        assert bookkeeping.remove_if_unused(conn) is False  # not bbops' own table: not ours to drop
        conn.execute("DROP TABLE bbops.notes_by_hand")
        assert bookkeeping.remove_if_unused(conn) is True
        assert conn.execute("SELECT to_regnamespace('bbops')").fetchone() == (None,)
