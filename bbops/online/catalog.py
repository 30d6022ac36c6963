"""What a server says about logical replication: whether it can, which tables cannot, what bbops left.

Read-only queries, used before a stream starts (so a source that cannot stream is refused before
anything is created) and by ``bbops production status`` and ``bbops copy --status`` afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from bbops.errors import UsageError

NEON_HINT = (
    "on Neon, turn on logical replication in the project's settings (Settings > Logical Replication; it "
    "restarts the computes and cannot be turned off again); elsewhere set wal_level = logical and restart"
)


@dataclass(frozen=True)
class ReplicationObject:
    """One ``bbops_*`` slot, publication or subscription found on a database."""

    kind: str  # slot | publication | subscription
    name: str
    active: bool | None = None
    retained_bytes: int | None = None  # WAL a slot holds back on its server

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "active": self.active, "retained_bytes": self.retained_bytes}


def require_logical(conn: psycopg.Connection, role: str) -> None:
    """Refuse, saying how to fix it, when ``conn``'s server cannot decode its WAL logically."""
    row = conn.execute("SELECT current_setting('wal_level')").fetchone()
    level = row[0] if row else "unknown"
    if level != "logical":
        raise UsageError(f"follow mode needs wal_level = logical on the {role}, which has {level}: {NEON_HINT}")


_NO_IDENTITY = """
SELECT c.oid::regclass::text
FROM pg_class c
WHERE c.oid = ANY(%s::regclass[])
  AND (c.relreplident = 'n'
       OR (c.relreplident = 'd'
           AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)))
ORDER BY 1
"""


def require_identity(conn: psycopg.Connection, tables: Sequence[str]) -> None:
    """Refuse tables whose UPDATE/DELETE logical replication cannot carry.

    Worse than an incomplete copy: once such a table is in a publication, the *source* refuses every
    UPDATE and DELETE on it ("does not have a replica identity"), which would break the running app.
    """
    missing = [r[0] for r in conn.execute(_NO_IDENTITY, [list(tables)]).fetchall()]
    if missing:
        fixes = "; ".join(f"ALTER TABLE {t} REPLICA IDENTITY FULL" for t in missing)
        raise UsageError(
            f"follow mode cannot stream updates and deletes of tables without a primary key: {', '.join(missing)}"
            f" (add a primary key, or: {fixes})"
        )


def bbops_objects(conn: psycopg.Connection) -> list[ReplicationObject]:
    """Every ``bbops_*`` slot (with the WAL it retains), publication and subscription of this database."""
    found: list[ReplicationObject] = []
    slots = conn.execute(
        "SELECT slot_name, active, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint"
        " FROM pg_replication_slots WHERE slot_name LIKE 'bbops\\_%%' AND database = current_database()"
        " ORDER BY 1"
    ).fetchall()
    found += [ReplicationObject("slot", n, bool(a), int(b) if b is not None else None) for n, a, b in slots]
    pubs = conn.execute("SELECT pubname FROM pg_publication WHERE pubname LIKE 'bbops\\_%%' ORDER BY 1").fetchall()
    found += [ReplicationObject("publication", n) for (n,) in pubs]
    subs = conn.execute(
        "SELECT subname, subenabled FROM pg_subscription"
        " WHERE subname LIKE 'bbops\\_%%'"
        " AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " ORDER BY 1"
    ).fetchall()
    found += [ReplicationObject("subscription", n, bool(e)) for n, e in subs]
    return found
