"""Estimated heap and index bloat, dead tuples and autovacuum lag.

Bloat is estimated from the planner's statistics (``pg_stats`` widths and
``reltuples``) the way check_postgres and pghero do, so it costs no table scan:
expected pages = rows x (tuple header + aligned data + line pointer) / usable
page bytes. Relations never analyzed, or with columns missing from
``pg_stats``, are skipped rather than guessed.
"""

from __future__ import annotations

import math

from bbops.doctor.context import Context
from bbops.doctor.finding import Finding, Severity
from bbops.doctor.sqltext import dotted, qualified, user_relation

_PAGE_HEADER = 24
_LINE_POINTER = 4
_HEAP_TUPLE_HEADER = 23
_INDEX_TUPLE_HEADER = 8
_BTREE_SPECIAL = 16

_HEAP = f"""
SELECT n.nspname AS schema, c.relname AS name, c.reltuples::float8 AS rows, c.relpages::bigint AS pages,
       current_setting('block_size')::int AS block,
       coalesce((SELECT substring(o FROM 'fillfactor=(\\d+)')::int FROM unnest(c.reloptions) o
                 WHERE o LIKE 'fillfactor=%'), 100) AS fillfactor,
       (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS ncols,
       (SELECT count(*) FROM pg_stats s WHERE s.schemaname = n.nspname AND s.tablename = c.relname
          AND NOT s.inherited) AS nstats,
       (SELECT sum((1 - s.null_frac) * s.avg_width) FROM pg_stats s
          WHERE s.schemaname = n.nspname AND s.tablename = c.relname AND NOT s.inherited) AS width,
       (SELECT bool_or(s.null_frac > 0) FROM pg_stats s
          WHERE s.schemaname = n.nspname AND s.tablename = c.relname AND NOT s.inherited) AS nulls
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND c.relpages > 0 AND c.reltuples >= 0 AND {user_relation("c")}
"""


def _align(n: float, to: int = 8) -> float:
    return math.ceil(n / to) * to


def _finding(kind: str, schema: str, name: str, pages: int, expected: float, block: int, fix: str) -> Finding:
    wasted = max(pages - expected, 0) * block
    ratio = wasted / (pages * block) if pages else 0.0
    return Finding(
        kind,
        Severity.WARNING,
        f"{'table' if kind == 'bloat.table' else 'index'} {schema}.{name} is about {ratio:.0%} bloat "
        f"({wasted / 1_000_000:.1f} MB of {pages * block / 1_000_000:.1f} MB, estimated from statistics)",
        (dotted(schema, name),),
        {
            "bytes": pages * block,
            "wasted_bytes": int(wasted),
            "ratio": round(ratio, 3),
            "expected_pages": math.ceil(expected),
        },
        fix,
    )


def _over(ctx: Context, pages: int, expected: float, block: int) -> bool:
    wasted = (pages - expected) * block
    return pages > 0 and wasted >= ctx.limits.bloat_min_bytes and wasted / (pages * block) >= ctx.limits.bloat_ratio


def table_bloat(ctx: Context) -> list[Finding]:
    out = []
    for r in ctx.rows(_HEAP):
        if r["nstats"] < r["ncols"] or r["width"] is None:
            continue  # never analyzed (or not every column): no estimate beats a wrong one
        header = _align(_HEAP_TUPLE_HEADER + (math.ceil(r["ncols"] / 8) if r["nulls"] else 0))
        tuple_bytes = header + _align(float(r["width"])) + _LINE_POINTER
        usable = (r["block"] - _PAGE_HEADER) * r["fillfactor"] / 100
        expected = math.ceil(r["rows"] * tuple_bytes / usable) if r["rows"] else 1
        if _over(ctx, r["pages"], expected, r["block"]):
            fix = (
                f"-- VACUUM FULL takes an exclusive lock; pg_repack rebuilds online\n"
                f"VACUUM (FULL, ANALYZE) {qualified(r['schema'], r['name'])};"
            )
            out.append(_finding("bloat.table", r["schema"], r["name"], r["pages"], expected, r["block"], fix))
    return out


_BTREE = f"""
SELECT n.nspname AS schema, x.relname AS name, x.reltuples::float8 AS rows, x.relpages::bigint AS pages,
       current_setting('block_size')::int AS block,
       coalesce((SELECT substring(o FROM 'fillfactor=(\\d+)')::int FROM unnest(x.reloptions) o
                 WHERE o LIKE 'fillfactor=%'), 90) AS fillfactor,
       i.indnatts AS ncols,
       (SELECT count(*) FROM unnest(i.indkey::int2[]) k(attnum) JOIN pg_attribute a
          ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = t.relname AND s.attname = a.attname
           AND NOT s.inherited) AS nstats,
       (SELECT sum((1 - s.null_frac) * s.avg_width) FROM unnest(i.indkey::int2[]) k(attnum) JOIN pg_attribute a
          ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = t.relname AND s.attname = a.attname
           AND NOT s.inherited) AS width
FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_am am ON am.oid = x.relam
WHERE am.amname = 'btree' AND i.indexprs IS NULL AND i.indisvalid AND x.relpages > 1 AND x.reltuples >= 0
  AND {user_relation("t")}
"""


def index_bloat(ctx: Context) -> list[Finding]:
    """B-tree indexes on plain columns (expression and other access methods are not estimated)."""
    out = []
    for r in ctx.rows(_BTREE):
        if r["nstats"] < r["ncols"] or r["width"] is None:
            continue
        tuple_bytes = _align(_INDEX_TUPLE_HEADER + float(r["width"])) + _LINE_POINTER
        usable = (r["block"] - _PAGE_HEADER - _BTREE_SPECIAL) * r["fillfactor"] / 100
        expected = math.ceil(r["rows"] * tuple_bytes / usable) + 1  # + the metapage
        if _over(ctx, r["pages"], expected, r["block"]):
            fix = f"REINDEX INDEX CONCURRENTLY {qualified(r['schema'], r['name'])};"
            out.append(_finding("bloat.index", r["schema"], r["name"], r["pages"], expected, r["block"], fix))
    return out


_DEAD = f"""
SELECT n.nspname AS schema, c.relname AS name, s.n_live_tup AS live, s.n_dead_tup AS dead,
       s.last_autovacuum, s.last_vacuum, s.autovacuum_count,
       extract(epoch FROM now() - greatest(s.last_autovacuum, s.last_vacuum))::bigint AS since_vacuum,
       current_setting('autovacuum_vacuum_threshold')::float8
         + current_setting('autovacuum_vacuum_scale_factor')::float8 * greatest(c.reltuples, 0) AS threshold,
       coalesce(c.reloptions::text[] @> ARRAY['autovacuum_enabled=false'], false) AS disabled
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {user_relation("c")}
ORDER BY s.n_dead_tup DESC
"""


def dead_tuples(ctx: Context) -> list[Finding]:
    """Many dead rows (``vacuum.dead_tuples``, "overdue" when past autovacuum's own threshold); autovacuum off."""
    out = []
    if ctx.value("SELECT current_setting('autovacuum')") != "on":
        out.append(
            Finding(
                "vacuum.disabled",
                Severity.ERROR,
                "autovacuum is off for the whole server: dead rows pile up and transaction IDs are never frozen",
                (ctx.value("SELECT current_database()"),),
                {},
                "ALTER SYSTEM SET autovacuum = on; SELECT pg_reload_conf();",
            )
        )
    for r in ctx.rows(_DEAD):
        table = qualified(r["schema"], r["name"])
        if r["disabled"]:
            out.append(
                Finding(
                    "vacuum.disabled",
                    Severity.WARNING,
                    f"autovacuum is disabled on table {r['schema']}.{r['name']}",
                    (dotted(r["schema"], r["name"]),),
                    {"dead_rows": r["dead"], "live_rows": r["live"]},
                    f"ALTER TABLE {table} RESET (autovacuum_enabled);",
                )
            )
        dead, live = int(r["dead"]), int(r["live"])
        if dead < ctx.limits.dead_tuple_min or dead / max(dead + live, 1) < ctx.limits.dead_tuple_ratio:
            continue
        overdue = dead > r["threshold"]
        when = r["last_autovacuum"] or r["last_vacuum"]
        out.append(
            Finding(
                "vacuum.dead_tuples",
                Severity.WARNING,
                f"table {r['schema']}.{r['name']} has {dead:,} dead rows for {live:,} live ones"
                + (f"; autovacuum is behind (its threshold is {int(r['threshold']):,})" if overdue else "")
                + (f"; last vacuumed {when:%Y-%m-%d %H:%M} UTC" if when else "; never vacuumed"),
                (dotted(r["schema"], r["name"]),),
                {
                    "dead_rows": dead,
                    "live_rows": live,
                    "autovacuum_threshold": int(r["threshold"]),
                    "overdue": overdue,
                    "seconds_since_vacuum": r["since_vacuum"],
                    "autovacuum_count": r["autovacuum_count"],
                },
                f"VACUUM (ANALYZE) {table};",
            )
        )
    return out
