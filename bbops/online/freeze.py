"""Making a database refuse the app's writes, and taking that back.

``ALTER DATABASE ... SET default_transaction_read_only = on`` applies to sessions that start afterwards,
so the sessions already open are ended: their next statement fails and the app's pool reconnects
read-only. A write is then refused with the server's own error (``cannot execute INSERT in a
read-only transaction``): the writer hears of it, nothing is lost silently.

What it does not stop: a session that runs ``SET transaction_read_only = off`` itself (bbops' own
sessions do, to write its marker and to apply the reverse stream), and superusers who do the same.
Logical replication's apply worker is not stopped either, which is what lets the reverse stream
write into a frozen old database.
"""

from __future__ import annotations

import psycopg
from psycopg import sql


def _database(conn: psycopg.Connection) -> sql.Identifier:
    row = conn.execute("SELECT current_database()").fetchone()
    assert row is not None
    return sql.Identifier(str(row[0]))


def freeze(conn: psycopg.Connection) -> int:
    """Freeze ``conn``'s database; returns how many of the app's sessions were ended."""
    conn.execute(sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(_database(conn)))
    rows = conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
    ).fetchall()
    return sum(1 for (ok,) in rows if ok)


def thaw(conn: psycopg.Connection) -> None:
    conn.execute(sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only").format(_database(conn)))


def frozen(conn: psycopg.Connection) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase"
        " WHERE d.datname = current_database() AND s.setrole = 0"
        " AND 'default_transaction_read_only=on' = ANY(s.setconfig))"
    ).fetchone()
    return bool(row and row[0])
