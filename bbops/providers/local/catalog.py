"""Branch metadata on the local server: one table in the ``bbops_catalog`` database.

Neon keeps a branch's parent, creation time, expiry, protection and
annotations for us; locally this table does. Rows are keyed by
``(namespace, name)``: the namespace (normally '') lets test runs share one
server without seeing each other's branches. ``kind`` separates real branches
from restore points (snapshots), which are never listed as branches.
"""

from __future__ import annotations

import builtins  # `list` in Catalog's annotations would name its own list() method
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bbops.core import pg
from bbops.providers.base import Branch

SCHEMA = """
CREATE TABLE IF NOT EXISTS bbops_branches (
    namespace   text        NOT NULL DEFAULT '',
    name        text        NOT NULL,
    kind        text        NOT NULL DEFAULT 'branch' CHECK (kind IN ('branch', 'snapshot')),
    database    text        NOT NULL,
    id          text        NOT NULL,
    parent      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    protected   boolean     NOT NULL DEFAULT false,
    is_default  boolean     NOT NULL DEFAULT false,
    annotations jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (namespace, name),
    UNIQUE (database)
)
"""

_COLUMNS = "name, kind, database, id, parent, created_at, expires_at, protected, is_default, annotations"


@dataclass(frozen=True)
class Entry:
    """One catalog row."""

    name: str
    database: str
    id: str
    kind: str = "branch"
    parent: str | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    protected: bool = False
    is_default: bool = False
    annotations: Mapping[str, str] = field(default_factory=dict)

    def to_branch(self, size_bytes: int | None = None) -> Branch:
        return Branch(
            name=self.name,
            id=self.id,
            parent=self.parent,
            created_at=self.created_at,
            expires_at=self.expires_at,
            protected=self.protected,
            default=self.is_default,
            annotations=dict(self.annotations),
            size_bytes=size_bytes,
        )


def ensure_schema(conn: psycopg.Connection) -> None:
    """Create the catalog table once; concurrent first runs are serialised by an advisory lock."""
    if pg.scalar(conn, "SELECT to_regclass('bbops_branches') IS NOT NULL", kind=bool):
        return  # the usual case: no DDL, no lock
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('bbops-local-catalog-schema', 0))")
        conn.execute(SCHEMA)


class Catalog:
    """Reads and writes catalog rows on an autocommit connection to the catalog database."""

    def __init__(self, conn: psycopg.Connection, namespace: str = "") -> None:
        self.conn = conn
        self.namespace = namespace

    def get(self, name: str) -> Entry | None:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                f"SELECT {_COLUMNS} FROM bbops_branches WHERE namespace = %s AND name = %s",
                (self.namespace, name),
            )
            row = cur.fetchone()
        return _entry(row) if row else None

    def list(self, kind: str | None = "branch") -> list[Entry]:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                f"SELECT {_COLUMNS} FROM bbops_branches WHERE namespace = %s"
                " AND (%s::text IS NULL OR kind = %s) ORDER BY created_at, name",
                (self.namespace, kind, kind),
            )
            return [_entry(row) for row in cur.fetchall()]

    def children(self, name: str) -> builtins.list[str]:
        rows = self.conn.execute(
            "SELECT name FROM bbops_branches WHERE namespace = %s AND parent = %s AND kind = 'branch' ORDER BY name",
            (self.namespace, name),
        ).fetchall()
        return [r[0] for r in rows]

    def insert(self, entry: Entry) -> Entry:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                f"INSERT INTO bbops_branches (namespace, {_COLUMNS})"
                " VALUES (%s, %s, %s, %s, %s, %s, coalesce(%s, now()), %s, %s, %s, %s)"
                f" RETURNING {_COLUMNS}",
                (
                    self.namespace,
                    entry.name,
                    entry.kind,
                    entry.database,
                    entry.id,
                    entry.parent,
                    entry.created_at,
                    entry.expires_at,
                    entry.protected,
                    entry.is_default,
                    json.dumps(dict(entry.annotations)),
                ),
            )
            return _entry(pg.one(cur, "insert into bbops_branches"))

    def update(self, entry: Entry) -> Entry:
        """Write back the mutable fields of ``entry`` (expiry, annotations, protection)."""
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                "UPDATE bbops_branches SET expires_at = %s, annotations = %s, protected = %s, is_default = %s"
                f" WHERE namespace = %s AND name = %s RETURNING {_COLUMNS}",
                (
                    entry.expires_at,
                    json.dumps(dict(entry.annotations)),
                    entry.protected,
                    entry.is_default,
                    self.namespace,
                    entry.name,
                ),
            )
            row = cur.fetchone()
        return _entry(row) if row else replace(entry)

    def delete(self, name: str) -> bool:
        cur = self.conn.execute("DELETE FROM bbops_branches WHERE namespace = %s AND name = %s", (self.namespace, name))
        return cur.rowcount > 0

    def owner(self, database: str) -> tuple[str, str] | None:
        """The ``(namespace, name)`` of the row, in any namespace, whose database is ``database``."""
        row = self.conn.execute(
            "SELECT namespace, name FROM bbops_branches WHERE database = %s", (database,)
        ).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def sizes(self, databases: builtins.list[str]) -> dict[str, int]:
        """Size in bytes of the given databases that exist, by name (a stat per file, no scan)."""
        rows = self.conn.execute(
            "SELECT datname, pg_database_size(oid) FROM pg_database WHERE datname = ANY(%s)", (databases,)
        ).fetchall()
        return dict(rows)

    def databases(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT datname FROM pg_database").fetchall()}


def _entry(row: Mapping[str, Any]) -> Entry:
    annotations = row["annotations"] or {}
    return Entry(
        name=row["name"],
        kind=row["kind"],
        database=row["database"],
        id=row["id"],
        parent=row["parent"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        protected=row["protected"],
        is_default=row["is_default"],
        annotations={str(k): str(v) for k, v in annotations.items()},
    )
