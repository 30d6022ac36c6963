"""Which tables a migration touches (from its parse tree), and their rows and size on the parent."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from pglast import ast, parser
from pglast.enums import ObjectType
from pglast.parser import ParseError
from psycopg import sql

from bbops.core import pg
from bbops.drizzle.statements import Statement

COUNT_TIMEOUT = "5s"  # an exact count(*) up to this long, else the planner's estimate


@dataclass(frozen=True)
class TableStats:
    table: str  # schema.table
    rows: int
    bytes: int
    exact: bool  # rows is a count(*), not pg_class.reltuples

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "rows": self.rows, "bytes": self.bytes, "exact": self.exact}


def _walk(node: Any) -> Iterator[Any]:
    if isinstance(node, ast.Node):
        yield node
        for attr in node:
            yield from _walk(getattr(node, attr))
    elif isinstance(node, tuple):
        for item in node:
            yield from _walk(item)


def touched_tables(statements: Iterable[Statement]) -> list[str]:
    """``schema.table`` of every table a statement names, in order of first mention."""
    out: dict[str, None] = {}
    for stmt in statements:
        try:
            trees = parser.parse_sql(stmt.sql)
        except ParseError:
            continue
        for node in _walk(trees):
            if isinstance(node, ast.RangeVar) and node.relname:
                out[f"{node.schemaname or 'public'}.{node.relname}"] = None
            elif isinstance(node, ast.DropStmt) and node.removeType == ObjectType.OBJECT_TABLE:
                for obj in node.objects or ():
                    names = [p.sval for p in obj]
                    out[".".join(names) if len(names) > 1 else f"public.{names[0]}"] = None
    return list(out)


def existing(conn: psycopg.Connection, tables: list[str]) -> list[str]:
    """The ones that are ordinary or partitioned tables in this database now."""
    rows = conn.execute(
        "SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname || '.' || c.relname = ANY(%s)",
        (tables,),
    ).fetchall()
    found = {r[0] for r in rows}
    return [t for t in tables if t in found]


def stats(conn: psycopg.Connection, table: str) -> TableStats | None:
    """Rows (exact when counting is quick) and total size (with indexes and TOAST) of one table."""
    schema, _, name = table.partition(".")
    row = conn.execute(
        "SELECT c.reltuples::bigint, pg_catalog.pg_total_relation_size(c.oid) FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
        (schema, name),
    ).fetchone()
    if row is None:
        return None
    estimate, size = row
    try:
        with conn.transaction():
            conn.execute(f"SET LOCAL statement_timeout = '{COUNT_TIMEOUT}'")
            (count,) = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(pg.ident(schema, name))).fetchone() or (
                0,
            )
        return TableStats(table, int(count), int(size), True)
    except psycopg.errors.QueryCanceled:
        return TableStats(table, max(int(estimate), 0), int(size), False)
