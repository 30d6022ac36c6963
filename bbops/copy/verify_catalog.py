"""Catalog-side checks for ``verify``: orphans, sequences, indexes and constraints.

Each ``*_queries`` function returns ``(table, label, sql)`` triples to run on
the target's snapshot workers; each ``compare_*`` returns findings as
``(table, kind, detail, failure)``: indexes and constraints are matched by
definition (table, columns, predicate, uniqueness), so a name is only a
difference where the copy made the schema too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

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


# An index definition without its name: ``CREATE UNIQUE INDEX x ON public.t USING btree (a) WHERE ...``
# -> ``CREATE UNIQUE INDEX ON public.t USING btree (a) WHERE ...`` (table, method, columns, predicate, uniqueness).
_INDEX_NAME = re.compile(r'^(CREATE (?:UNIQUE )?INDEX )(?:"(?:[^"]|"")+"|\S+) ON ')


def index_shape(definition: str) -> str:
    return _INDEX_NAME.sub(r"\1ON ", definition, count=1)


Finding = tuple[str, str, str, bool]  # (table, kind, detail, failure?)


def _fetch(conn: psycopg.Connection, sql: str, tables: Iterable[str]) -> dict[tuple[str, str], tuple[str, bool]]:
    return {(r[0], r[1]): (r[2], r[3]) for r in conn.execute(sql, [list(tables)]).fetchall()}


def _by_shape(
    found: dict[tuple[str, str], tuple[str, bool]], shape: Callable[[str], str]
) -> dict[tuple[str, str], list[tuple[str, bool]]]:
    """(table, definition without the name) -> [(name, valid)], names sorted."""
    out: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    for (table, name), (definition, valid) in sorted(found.items()):
        out.setdefault((table, shape(definition)), []).append((name, valid))
    return out


def _compare(
    what: str,
    src: dict[tuple[str, str], tuple[str, bool]],
    tgt: dict[tuple[str, str], tuple[str, bool]],
    shape: Callable[[str], str],
    *,
    names_matter: bool,
    invalid: str,
) -> list[Finding]:
    """Match by definition (table + definition without the name); names only matter when ``names_matter``.

    A source object with no target object of the same definition fails; one that
    exists under another name is a failure only when names matter (a full copy),
    else information (a data-only copy into a schema made by migrations). A matched
    target object that is not valid fails; target-only objects are information,
    or a failure when they are not valid (they would block or slow the app).
    """
    s_shapes, t_shapes = _by_shape(src, shape), _by_shape(tgt, shape)
    out: list[Finding] = []
    for (table, definition), names in sorted(s_shapes.items()):
        matched = t_shapes.get((table, definition), [])
        for i, (name, validated) in enumerate(names):
            if i >= len(matched):
                same_name = tgt.get((table, name))
                extra = f" (the target's {what} {name} is: {same_name[0]})" if same_name else ""
                out.append(
                    (table, what, f"{what} {name} is missing on the target: {src[(table, name)][0]}{extra}", True)
                )
                continue
            tname, tvalid = matched[i]
            if tname != name:
                out.append(
                    (table, what, f"{what} {name} is named {tname} on the target (same definition)", names_matter)
                )
            if validated and not tvalid:
                out.append((table, what, f"{what} {tname} is {invalid} on the target", True))
    for (table, definition), names in sorted(t_shapes.items()):
        for name, valid in names[len(s_shapes.get((table, definition), [])) :]:
            if not valid:
                out.append((table, what, f"{what} {name} (only on the target) is {invalid}", True))
            else:
                out.append((table, what, f"{what} {name} exists only on the target: {definition}", False))
    return out


def compare_indexes(
    source: psycopg.Connection, target: psycopg.Connection, tables: list[str], *, names_matter: bool = True
) -> list[Finding]:
    src, tgt = _fetch(source, _INDEXES, tables), _fetch(target, _INDEXES, tables)
    return _compare("index", src, tgt, index_shape, names_matter=names_matter, invalid="INVALID")


def compare_constraints(
    source: psycopg.Connection, target: psycopg.Connection, tables: list[str], *, names_matter: bool = True
) -> list[Finding]:
    src, tgt = _fetch(source, _CONSTRAINTS, tables), _fetch(target, _CONSTRAINTS, tables)
    # NOT VALID is a state of the same definition (reported as such), not another definition.
    return _compare("constraint", src, tgt, _constraint_shape, names_matter=names_matter, invalid="NOT VALID")


def _constraint_shape(definition: str) -> str:
    return definition.removesuffix(" NOT VALID")
