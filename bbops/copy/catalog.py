"""What the copy and the verification need to know about a database, read from its catalogs.

Names are returned schema-qualified and quoted exactly as Postgres prints
them (``public.orders``, ``"Odd"."Name"``) because the sessions that read the
catalogs run with an empty ``search_path``; the same strings are pasted into
SQL, used as dictionary keys and shown to people.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg

from bbops.copy.order import ForeignKey
from bbops.core import pg
from bbops.errors import UsageError

# Schemas that never hold user data (bbops keeps its own bookkeeping in ``bbops``).
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "bbops")
# Postgres hands out OIDs below this to built-in objects, whose binary form is the same everywhere.
FIRST_NORMAL_OID = 16384


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # format_type() text, e.g. numeric(10,2)
    generated: bool
    binary_safe: bool  # binary COPY carries no database-specific OIDs for this type
    hash_safe: bool = False  # its hash function gives the same value in every database


@dataclass
class Table:
    oid: int
    schema: str
    name: str
    qualified: str  # quoted and schema-qualified
    kind: str  # 'r' ordinary, 'p' partitioned (holds no rows itself)
    bytes: int
    blocks: int
    rows_estimate: int
    filenode: int
    columns: list[Column] = field(default_factory=list)

    @property
    def copy_columns(self) -> list[Column]:
        """Columns a COPY can write (generated columns are computed by the target)."""
        return [c for c in self.columns if not c.generated]


def _tables_query(kinds: str) -> str:
    return f"""
    SELECT c.oid, n.nspname, c.relname, c.oid::regclass::text, c.relkind,
           pg_relation_size(c.oid), pg_relation_size(c.oid) / current_setting('block_size')::int,
           greatest(c.reltuples, 0)::bigint, c.relfilenode
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ({kinds})
      AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'bbops')
      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY n.nspname, c.relname
    """


_COLUMNS = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attgenerated <> '',
       -- binary-safe: a built-in scalar, an enum (sent as its label), or a domain/array over
       -- a built-in; arrays and composites of user types embed OIDs that differ between databases.
       CASE
         WHEN t.typtype = 'e' THEN true
         WHEN t.typtype = 'c' THEN false
         WHEN t.typelem <> 0 THEN et.oid < 16384 AND et.typtype NOT IN ('c')
         WHEN t.typtype = 'd' THEN bt.oid < 16384
         ELSE t.oid < 16384
       END,
       -- hash-safe: built-in types whose extended hash depends only on the value (enums hash
       -- their OID, json and geometric types have no hash; those are compared as text).
       t.typtype = 'b' AND coalesce(et.oid, t.oid) < 16384
       AND coalesce(et.typname, t.typname) IN ('int2', 'int4', 'int8', 'bool', 'text', 'varchar', 'bpchar',
           'bytea', 'numeric', 'float4', 'float8', 'date', 'time', 'timetz', 'timestamp', 'timestamptz',
           'interval', 'uuid', 'jsonb', 'inet', 'cidr', 'macaddr', 'char', 'name', 'oid')
       AND NOT EXISTS (SELECT 1 FROM pg_collation co WHERE co.oid = a.attcollation AND NOT co.collisdeterministic)
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type et ON et.oid = t.typelem
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""


def prepare_session(conn: psycopg.Connection) -> None:
    """Settings every catalog and checksum session shares: qualified names, stable text output."""
    conn.execute(
        "SELECT set_config('search_path', '', false), set_config('TimeZone', 'UTC', false),"
        " set_config('DateStyle', 'ISO, YMD', false), set_config('IntervalStyle', 'postgres', false),"
        " set_config('extra_float_digits', '3', false), set_config('bytea_output', 'hex', false)"
    )


def list_tables(conn: psycopg.Connection, *, include_partitioned: bool = False) -> list[Table]:
    """User tables (not system, bbops or extension-owned ones), with their columns."""
    kinds = "'r', 'p'" if include_partitioned else "'r'"
    tables = [
        Table(
            oid=r[0],
            schema=r[1],
            name=r[2],
            qualified=r[3],
            kind=r[4],
            bytes=int(r[5]),
            blocks=int(r[6]),
            rows_estimate=int(r[7]),
            filenode=int(r[8]),
        )
        for r in conn.execute(_tables_query(kinds)).fetchall()
    ]
    by_oid = {t.oid: t for t in tables}
    if by_oid:
        for oid, name, typ, generated, safe, hashable in conn.execute(_COLUMNS, [list(by_oid)]).fetchall():
            by_oid[oid].columns.append(
                Column(name=name, type=typ, generated=generated, binary_safe=safe, hash_safe=hashable)
            )
    return tables


def select_tables(tables: Sequence[Table], patterns: Sequence[str]) -> list[Table]:
    """Tables matching any glob in ``patterns`` (``orders``, ``public.order*``, ``*.users``).

    A pattern without a dot matches the table name in any schema. A pattern
    matching nothing is an error: a typo must not silently copy nothing.
    """
    if not patterns:
        return list(tables)
    chosen: dict[int, Table] = {}
    for pattern in patterns:
        hits = [t for t in tables if matches(t, pattern)]
        if not hits:
            raise UsageError(f"--tables {pattern!r} matches no table in the source")
        for t in hits:
            chosen[t.oid] = t
    return [t for t in tables if t.oid in chosen]


def matches(table: Table, pattern: str) -> bool:
    return (
        fnmatch.fnmatchcase(f"{table.schema}.{table.name}", pattern)
        or fnmatch.fnmatchcase(table.qualified, pattern)
        or ("." not in pattern and fnmatch.fnmatchcase(table.name, pattern))
    )


def foreign_keys(conn: psycopg.Connection) -> list[ForeignKey]:
    rows = conn.execute(
        """SELECT con.conname, con.conrelid::regclass::text, con.confrelid::regclass::text, con.condeferrable
           FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
           WHERE con.contype = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'bbops')
           ORDER BY 2, 1"""
    ).fetchall()
    return [ForeignKey(name=r[0], child=r[1], parent=r[2], deferrable=r[3]) for r in rows]


def server_major(conn: psycopg.Connection) -> int:
    return conn.info.server_version // 10000


def nonempty(conn: psycopg.Connection, tables: Sequence[str]) -> list[str]:
    """Which of ``tables`` (qualified names) hold at least one row."""
    found = []
    for table in tables:
        if pg.scalar(conn, f"SELECT EXISTS (SELECT 1 FROM {table})", kind=bool):
            found.append(table)
    return found
