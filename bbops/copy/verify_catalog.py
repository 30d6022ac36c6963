"""Catalog-side checks for ``verify``: orphans, sequences, indexes and constraints.

Each ``*_queries`` function returns ``(table, label, sql)`` triples to run on
the target's snapshot workers; each ``compare_*`` returns differences as
``(table, kind, detail)`` triples.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg

_FKS = """
SELECT con.conname, con.conrelid::regclass::text, con.confrelid::regclass::text,
       array(SELECT quote_ident(a.attname) FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i),
       array(SELECT quote_ident(a.attname) FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_constraint con
WHERE con.contype = 'f' AND con.conparentid = 0
ORDER BY 2, 1
"""


def orphan_queries(conn: psycopg.Connection, tables: set[str]) -> list[tuple[str, str, str]]:
    """One anti-join per foreign key of the target: rows whose parent does not exist.

    MATCH SIMPLE semantics: a row with any NULL key column references nothing.
    """
    out = []
    for name, child, parent, cols, pcols in conn.execute(_FKS).fetchall():
        if child not in tables:
            continue
        present = " AND ".join(f"c.{c} IS NOT NULL" for c in cols)
        join = " AND ".join(f"p.{p} = c.{c}" for c, p in zip(cols, pcols, strict=True))
        sql = (
            f"SELECT count(*) FROM ONLY {child} c WHERE {present} "
            f"AND NOT EXISTS (SELECT 1 FROM ONLY {parent} p WHERE {join})"
        )
        out.append((child, f"foreign key {name} ({', '.join(cols)}) -> {parent}", sql))
    return out


_OWNED_SEQUENCES = """
SELECT s.oid::regclass::text, d.refobjid::regclass::text, quote_ident(a.attname)
FROM pg_depend d
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
JOIN pg_type t ON t.oid = a.atttypid AND t.typname IN ('int2', 'int4', 'int8')
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
  AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
ORDER BY 1
"""


def sequence_queries(conn: psycopg.Connection, tables: set[str]) -> list[tuple[str, str, str]]:
    out = []
    for seq, table, column in conn.execute(_OWNED_SEQUENCES).fetchall():
        if table in tables:
            sql = (
                f"SELECT (SELECT last_value FROM {seq}), (SELECT is_called FROM {seq}), "
                f"(SELECT max({column}) FROM ONLY {table})"
            )
            out.append((table, f"sequence {seq} of {table}.{column}", sql))
    return out


_INDEXES = """
SELECT i.indrelid::regclass::text, c.relname, pg_get_indexdef(i.indexrelid), i.indisvalid AND i.indisready
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid::regclass::text = ANY(%s)
"""

_CONSTRAINTS = """
SELECT con.conrelid::regclass::text, con.conname, pg_get_constraintdef(con.oid), con.convalidated
FROM pg_constraint con
WHERE con.conrelid <> 0 AND con.conrelid::regclass::text = ANY(%s) AND con.contype <> 'n'
"""


def _fetch(conn: psycopg.Connection, sql: str, tables: Iterable[str]) -> dict[tuple[str, str], tuple[str, bool]]:
    return {(r[0], r[1]): (r[2], r[3]) for r in conn.execute(sql, [list(tables)]).fetchall()}


def compare_indexes(
    source: psycopg.Connection, target: psycopg.Connection, tables: list[str]
) -> list[tuple[str, str, str]]:
    src, tgt = _fetch(source, _INDEXES, tables), _fetch(target, _INDEXES, tables)
    out = []
    for (table, name), (definition, _) in sorted(src.items()):
        if (table, name) not in tgt:
            out.append((table, "index", f"index {name} is missing on the target"))
            continue
        tdef, valid = tgt[(table, name)]
        if tdef != definition:
            out.append((table, "index", f"index {name} differs: {tdef} (source: {definition})"))
        if not valid:
            out.append((table, "index", f"index {name} is INVALID on the target"))
    for (table, name), (_, valid) in sorted(tgt.items()):
        if (table, name) not in src and not valid:
            out.append((table, "index", f"index {name} (only on the target) is INVALID"))
    return out


def compare_constraints(
    source: psycopg.Connection, target: psycopg.Connection, tables: list[str]
) -> list[tuple[str, str, str]]:
    src, tgt = _fetch(source, _CONSTRAINTS, tables), _fetch(target, _CONSTRAINTS, tables)
    out = []
    for (table, name), (definition, validated) in sorted(src.items()):
        if (table, name) not in tgt:
            out.append((table, "constraint", f"constraint {name} is missing on the target"))
            continue
        tdef, tvalid = tgt[(table, name)]
        if tdef != definition:
            out.append((table, "constraint", f"constraint {name} differs: {tdef} (source: {definition})"))
        if validated and not tvalid:
            out.append((table, "constraint", f"constraint {name} is NOT VALID on the target"))
    return out
