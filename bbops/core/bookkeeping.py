"""Schema ``bbops``: every table bbops keeps in a database, its version, and the upgrades between versions.

bbops records what it did inside the databases it works on: production steps,
restore points, undo records and rollbacks (``production``), the migration log
(``drizzle``), seeds and the last preview redeploy (``preview``), a copy's
resume marks (``copy``), online streams and their markers (``online``). Those
tables are defined here and nowhere else.

``ensure(conn)`` brings the schema to the newest version before any use: it
reads ``bbops.schema_version`` and, when that is behind, applies the missing
``UPGRADES`` in order, in one transaction holding an advisory lock, so two
processes never run the same DDL at once and a failed upgrade leaves the
version it started from. A database written by bbops before versioning (the
tables exist, the version table does not) is at version 0: upgrade 1 creates
only what is missing (``IF NOT EXISTS``, the definitions of that time) and
keeps every row. A database at a version newer than this bbops knows is
refused rather than written with old assumptions.

An upgrade is appended, never edited: a database that already ran it will not
run it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from bbops import __version__
from bbops.core import pg
from bbops.errors import UsageError

SCHEMA = "bbops"
LOCK_KEY = "bbops bookkeeping"
LOCK_TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class Upgrade:
    version: int
    summary: str
    sql: str  # one or more statements, no parameters


# Version 1: the tables as bbops created them before schema versioning, unchanged.
_BASELINE = """
CREATE TABLE IF NOT EXISTS bbops.production_steps (
    attempt bigserial PRIMARY KEY,
    step_id text NOT NULL,
    kind text NOT NULL,
    checksum text NOT NULL,
    status text NOT NULL CHECK (status IN ('running', 'applied', 'failed')),
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    run_id text, commit_sha text, actor text,
    error text
);
CREATE TABLE IF NOT EXISTS bbops.restore_points (
    name text PRIMARY KEY,
    branch text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    run_id text, commit_sha text, actor text
);
CREATE TABLE IF NOT EXISTS bbops.undo_records (
    id bigserial PRIMARY KEY,
    restore_point text,
    step_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('env', 'deployment')),
    target text NOT NULL,
    key text, git_branch text, env_type text, env_targets text,
    state text NOT NULL CHECK (state IN ('present', 'absent', 'unreadable', 'deployment')),
    sealed_value text,
    deployment_id text,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS bbops.rollbacks (
    id bigserial PRIMARY KEY,
    restore_point text NOT NULL,
    parts text NOT NULL,
    steps_checksum text NOT NULL,
    done_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    run_id text, commit_sha text, actor text,
    cleared_at timestamptz
);
CREATE TABLE IF NOT EXISTS bbops.migration_log (
    id bigserial PRIMARY KEY,
    tag text NOT NULL,
    hash text NOT NULL,
    created_at bigint NOT NULL,
    status text NOT NULL CHECK (status IN ('running', 'applied', 'failed')),
    transactional boolean NOT NULL,
    statements_total integer NOT NULL,
    statements_done integer NOT NULL DEFAULT 0,
    statements jsonb NOT NULL DEFAULT '[]'::jsonb,
    actor text,
    github_run_id text,
    github_run_url text,
    bbops_version text,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    duration_ms bigint,
    error text
);
CREATE TABLE IF NOT EXISTS bbops.seeds (
    name text PRIMARY KEY,
    sha256 text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS bbops.preview_env (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    env_fingerprint text NOT NULL,
    redeployed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS bbops.copy_progress (
    item text PRIMARY KEY,
    table_name text,
    rows bigint,
    bytes bigint,
    detail text,
    done_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS bbops.copy_tables (
    table_name text PRIMARY KEY,
    source_filenode bigint NOT NULL,
    source_blocks bigint NOT NULL,
    chunks integer NOT NULL
);
CREATE TABLE IF NOT EXISTS bbops.copy_dropped (
    item text PRIMARY KEY,
    kind text NOT NULL,
    table_name text NOT NULL,
    parent text,
    create_sql text NOT NULL,
    validate boolean NOT NULL DEFAULT false,
    name text NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS bbops.online_streams (
    stream text PRIMARY KEY,
    phase text NOT NULL,
    tables text[] NOT NULL DEFAULT '{}',
    reverse boolean NOT NULL DEFAULT false,
    started_at timestamptz NOT NULL DEFAULT now(),
    switched_at timestamptz,
    freeze_seconds double precision,
    validation_until timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS bbops.online_marker (
    stream text NOT NULL,
    token text NOT NULL,
    written_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (stream, token)
);
"""

# Version 2: undo records of write freezes (kind freeze; ``detail`` holds the setting the freeze replaced).
_FREEZE_UNDO = """
ALTER TABLE bbops.undo_records ADD COLUMN IF NOT EXISTS detail text;
ALTER TABLE bbops.undo_records DROP CONSTRAINT IF EXISTS undo_records_kind_check;
ALTER TABLE bbops.undo_records DROP CONSTRAINT IF EXISTS undo_records_state_check;
ALTER TABLE bbops.undo_records ADD CONSTRAINT undo_records_kind_check CHECK (kind IN ('env', 'deployment', 'freeze'));
ALTER TABLE bbops.undo_records ADD CONSTRAINT undo_records_state_check
    CHECK (state IN ('present', 'absent', 'unreadable', 'deployment', 'freeze'));
"""

# Version 4: undo records of credential rotations (kind rotate: ``target`` the branch, ``key`` the role,
# ``env_targets`` the deployment target, ``detail`` the env vars it updated). Nothing undoes one; a
# rollback reads it so that it never puts the old password back (``production.rotation``).
_ROTATE_UNDO = """
ALTER TABLE bbops.undo_records DROP CONSTRAINT IF EXISTS undo_records_kind_check;
ALTER TABLE bbops.undo_records DROP CONSTRAINT IF EXISTS undo_records_state_check;
ALTER TABLE bbops.undo_records ADD CONSTRAINT undo_records_kind_check
    CHECK (kind IN ('env', 'deployment', 'freeze', 'rotate'));
ALTER TABLE bbops.undo_records ADD CONSTRAINT undo_records_state_check
    CHECK (state IN ('present', 'absent', 'unreadable', 'deployment', 'freeze', 'rotate'));
"""

UPGRADES: tuple[Upgrade, ...] = (
    Upgrade(1, "bbops' tables as they were before schema versioning", _BASELINE),
    Upgrade(2, "undo records of write freezes", _FREEZE_UNDO),
    Upgrade(
        3,
        "preview_env records the head commit and the deployment built with the preview's env vars",
        "ALTER TABLE bbops.preview_env ADD COLUMN IF NOT EXISTS sha text;\n"
        "ALTER TABLE bbops.preview_env ADD COLUMN IF NOT EXISTS deployment text;\n",
    ),
    Upgrade(4, "undo records of credential rotations", _ROTATE_UNDO),
)

# Every table the upgrades make (besides schema_version): what ``remove_if_unused`` may drop.
TABLES = (
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
)

_VERSION_TABLE = """
CREATE SCHEMA IF NOT EXISTS bbops;
CREATE TABLE IF NOT EXISTS bbops.schema_version (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version integer NOT NULL,
    upgraded_at timestamptz NOT NULL DEFAULT now(),
    bbops_version text
);
"""


def current_version(conn: psycopg.Connection) -> int:
    """The version of schema ``bbops`` in this database; 0 when it has none (never used, or older than versions)."""
    row = conn.execute("SELECT to_regclass('bbops.schema_version') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    found = conn.execute("SELECT version FROM bbops.schema_version").fetchone()
    return int(found[0]) if found else 0


def ensure(conn: psycopg.Connection, upgrades: Sequence[Upgrade] = UPGRADES) -> int:
    """Bring schema ``bbops`` to the newest of ``upgrades`` (see the module docstring); returns that version."""
    latest = _check(upgrades)
    with conn.transaction():  # also on a non-autocommit connection, leave no transaction open
        version = current_version(conn)
    if _usable(version, latest):
        return latest  # the usual case: one cheap read, no lock, no DDL
    with conn.transaction():
        conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'")
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (LOCK_KEY,))
        conn.execute(_VERSION_TABLE)
        version = current_version(conn)  # again, under the lock: another process may have upgraded meanwhile
        if _usable(version, latest):
            return latest
        for upgrade in upgrades:
            if upgrade.version > version:
                conn.execute(upgrade.sql)
        conn.execute(
            "INSERT INTO bbops.schema_version (version, bbops_version) VALUES (%s, %s) ON CONFLICT (only_row)"
            " DO UPDATE SET version = excluded.version, bbops_version = excluded.bbops_version, upgraded_at = now()",
            (latest, __version__),
        )
    return latest


def remove_if_unused(conn: psycopg.Connection) -> bool:
    """Drop schema ``bbops`` when it holds nothing but bbops' own tables, all empty; whether it went.

    A finished copy leaves its target as it found it: no schema bbops, unless
    something in it is worth keeping (a row, or an object bbops did not make).
    """
    row = conn.execute(
        "SELECT coalesce(array_agg(c.relname::text) FILTER (WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')), '{}'),"
        " (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = n.oid)"
        " FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid WHERE n.nspname = 'bbops' GROUP BY n.oid"
    ).fetchone()
    if row is None:
        return False  # no schema bbops at all
    tables, functions = set(row[0]), int(row[1])
    if functions or not tables <= {*TABLES, "schema_version"}:
        return False
    for table in tables - {"schema_version"}:
        if pg.scalar(
            conn, sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(SCHEMA, table)), kind=bool
        ):
            return False
    conn.execute("DROP SCHEMA bbops CASCADE")
    return True


def _usable(version: int, latest: int) -> bool:
    if version > latest:
        raise UsageError(
            f"schema bbops in this database is at version {version}, newer than this bbops knows ({latest})",
            hint="upgrade bbops: an older one would write with outdated assumptions",
        )
    return version == latest


def _check(upgrades: Sequence[Upgrade]) -> int:
    versions = [u.version for u in upgrades]
    if not versions or versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"bookkeeping upgrades must be numbered 1, 2, 3...: {versions}")
    return versions[-1]
