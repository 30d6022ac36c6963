"""Tables without a primary key, and where the space goes (largest tables with their indexes and TOAST)."""

from __future__ import annotations

from bbops.doctor.context import Context
from bbops.doctor.finding import Finding, Severity
from bbops.doctor.sqltext import dotted, ident, qualified, user_relation

_NO_PK = f"""
SELECT n.nspname AS schema, c.relname AS table, greatest(c.reltuples, 0)::bigint AS rows,
       pg_total_relation_size(c.oid) AS bytes,
       (SELECT x.relname FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
        WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
          AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey::int2[]) k(attnum) JOIN pg_attribute a
                          ON a.attrelid = c.oid AND a.attnum = k.attnum WHERE NOT a.attnotnull)
        ORDER BY i.indnatts, x.relname LIMIT 1) AS usable_unique
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {user_relation("c")}
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
ORDER BY n.nspname, c.relname
"""


def no_primary_key(ctx: Context) -> list[Finding]:
    """Without a primary key, rows cannot be told apart: logical replication, many tools and ORMs need one."""
    out = []
    for r in ctx.rows(_NO_PK):
        table = qualified(r["schema"], r["table"])
        if r["usable_unique"]:
            fix = f"ALTER TABLE {table} ADD PRIMARY KEY USING INDEX {ident(r['usable_unique'])};"
            how = f"its unique index {r['usable_unique']} on NOT NULL columns can become one"
        else:
            fix = f"ALTER TABLE {table} ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY;"
            how = "adding an identity column rewrites the table under an exclusive lock: plan a window"
        out.append(
            Finding(
                "table.no_primary_key",
                Severity.WARNING,
                f"table {r['schema']}.{r['table']} has no primary key; {how}",
                (dotted(r["schema"], r["table"]),),
                {"rows": r["rows"], "bytes": r["bytes"]},
                fix,
            )
        )
    return out


_SIZES = f"""
SELECT n.nspname AS schema, c.relname AS table, greatest(c.reltuples, 0)::bigint AS rows,
       pg_total_relation_size(c.oid) AS total_bytes, pg_relation_size(c.oid) AS table_bytes,
       pg_indexes_size(c.oid) AS index_bytes,
       coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0) AS toast_bytes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND {user_relation("c")}
ORDER BY pg_total_relation_size(c.oid) DESC, c.relname LIMIT %s
"""


def table_sizes(ctx: Context) -> list[Finding]:
    """The largest tables (facts, not problems): what a copy, a bloat or an index build will cost."""
    total = ctx.value("SELECT pg_database_size(current_database())")
    return [
        Finding(
            "size.table",
            Severity.INFO,
            f"table {r['schema']}.{r['table']}: {_mb(r['total_bytes'])} in all ({_mb(r['table_bytes'])} rows, "
            f"{_mb(r['index_bytes'])} indexes, {_mb(r['toast_bytes'])} TOAST), ~{r['rows']:,} rows",
            (dotted(r["schema"], r["table"]),),
            {
                "rows": r["rows"],
                "total_bytes": r["total_bytes"],
                "table_bytes": r["table_bytes"],
                "index_bytes": r["index_bytes"],
                "toast_bytes": r["toast_bytes"],
                "database_bytes": total,
            },
        )
        for r in ctx.rows(_SIZES, (ctx.limits.largest_tables,))
    ]


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"
