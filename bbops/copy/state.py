"""Resume bookkeeping: what a copy has finished, kept in schema ``bbops`` on the target.

Every unit of work (a key range of a table, an index, a foreign key...) writes
its row in ``bbops.copy_progress`` *in the same transaction* as the work it
vouches for. After a crash or ``kill -9`` either both the rows and their mark
are committed or neither is, so ``--resume`` skips exactly what is done and
redoes exactly what is not: no duplicated and no lost rows.

``bbops.copy_tables`` remembers how each table was cut into ranges so that a
resumed run cuts it the same way, and the source table's file node and size
at the time, so that a table rewritten in between (``VACUUM FULL``, ``CLUSTER``)
is detected and recopied whole. Objects dropped for a load (cycle keys,
``--rebuild-indexes``) are recorded with their definition before they are
dropped, so an interrupted run can still put them back.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from bbops.core import bookkeeping, pg


@dataclass(frozen=True)
class TablePlan:
    table: str
    source_filenode: int
    source_blocks: int
    chunks: int


def exists(conn: psycopg.Connection) -> bool:
    """Whether an earlier copy left bookkeeping on this target (marks, table plans or dropped objects)."""
    if not pg.scalar(conn, "SELECT to_regclass('bbops.copy_progress') IS NOT NULL", kind=bool):
        return False
    return pg.scalar(
        conn,
        "SELECT EXISTS (SELECT 1 FROM bbops.copy_progress) OR EXISTS (SELECT 1 FROM bbops.copy_tables)"
        " OR EXISTS (SELECT 1 FROM bbops.copy_dropped)",
        kind=bool,
    )


def ensure(conn: psycopg.Connection) -> None:
    bookkeeping.ensure(conn)


def done_items(conn: psycopg.Connection) -> set[str]:
    if not exists(conn):
        return set()
    return {r[0] for r in conn.execute("SELECT item FROM bbops.copy_progress").fetchall()}


def mark(
    conn: psycopg.Connection,
    item: str,
    *,
    table: str | None = None,
    rows: int | None = None,
    nbytes: int | None = None,
    detail: str | None = None,
) -> None:
    """Record ``item`` as done, in the caller's (still open) transaction."""
    conn.execute(
        "INSERT INTO bbops.copy_progress (item, table_name, rows, bytes, detail) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (item) DO UPDATE SET rows = excluded.rows, bytes = excluded.bytes, done_at = now()",
        [item, table, rows, nbytes, detail],
    )


def rows_done(conn: psycopg.Connection) -> dict[str, int]:
    """Rows already copied per table by finished chunks."""
    if not exists(conn):
        return {}
    rows = conn.execute(
        "SELECT table_name, sum(rows) FROM bbops.copy_progress WHERE item LIKE 'chunk %' GROUP BY 1"
    ).fetchall()
    return {t: int(n) for t, n in rows}


def table_plans(conn: psycopg.Connection) -> dict[str, TablePlan]:
    if not exists(conn):
        return {}
    rows = conn.execute("SELECT table_name, source_filenode, source_blocks, chunks FROM bbops.copy_tables").fetchall()
    return {r[0]: TablePlan(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows}


def save_table_plan(conn: psycopg.Connection, plan: TablePlan) -> None:
    conn.execute(
        "INSERT INTO bbops.copy_tables VALUES (%s, %s, %s, %s) ON CONFLICT (table_name) DO UPDATE"
        " SET source_filenode = excluded.source_filenode, source_blocks = excluded.source_blocks,"
        " chunks = excluded.chunks",
        [plan.table, plan.source_filenode, plan.source_blocks, plan.chunks],
    )


def forget_table(conn: psycopg.Connection, table: str) -> None:
    """Drop a table's chunk marks (its rows are being recopied from scratch)."""
    conn.execute("DELETE FROM bbops.copy_progress WHERE table_name = %s AND item LIKE 'chunk %%'", [table])
    conn.execute("DELETE FROM bbops.copy_tables WHERE table_name = %s", [table])


def forget(conn: psycopg.Connection, item: str) -> None:
    """Drop one item's mark (it must be done again)."""
    conn.execute("DELETE FROM bbops.copy_progress WHERE item = %s", [item])


def forget_all_chunks(conn: psycopg.Connection) -> None:
    conn.execute("DELETE FROM bbops.copy_progress")
    conn.execute("DELETE FROM bbops.copy_tables")


def record_dropped(
    conn: psycopg.Connection,
    item: str,
    kind: str,
    table: str,
    create_sql: str,
    parent: str | None = None,
    validate: bool = False,
    name: str = "",
) -> None:
    conn.execute(
        "INSERT INTO bbops.copy_dropped VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (item) DO NOTHING",
        [item, kind, table, parent, create_sql, validate, name],
    )


def dropped(conn: psycopg.Connection) -> list[tuple[str, str, str, str | None, str, bool, str]]:
    if not exists(conn):
        return []
    return conn.execute(
        "SELECT item, kind, table_name, parent, create_sql, validate, name FROM bbops.copy_dropped ORDER BY item"
    ).fetchall()


def restored(conn: psycopg.Connection, item: str) -> None:
    conn.execute("DELETE FROM bbops.copy_dropped WHERE item = %s", [item])


def cleanup(conn: psycopg.Connection) -> None:
    """Forget a finished copy: its marks go, and schema bbops too if nothing else of bbops' lives there."""
    conn.execute("DELETE FROM bbops.copy_progress")
    conn.execute("DELETE FROM bbops.copy_tables")
    conn.execute("DELETE FROM bbops.copy_dropped")
    bookkeeping.remove_if_unused(conn)
