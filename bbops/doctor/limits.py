"""Counters that run out: sequences and the integer keys they feed, and transaction IDs before wraparound."""

from __future__ import annotations

from bbops.doctor.context import Context
from bbops.doctor.finding import Finding, Severity
from bbops.doctor.sqltext import dotted, ident, qualified

TYPE_MAX = {"int2": 32_767, "int4": 2_147_483_647, "int8": 9_223_372_036_854_775_807}
WRAPAROUND = 2**31  # transaction IDs a database can use before Postgres stops accepting writes

_SEQUENCES = """
SELECT s.schemaname AS schema, s.sequencename AS name, s.data_type::text AS seq_type, s.last_value,
       s.min_value, s.max_value, s.increment_by, tn.nspname AS table_schema, t.relname AS table,
       a.attname AS column, ty.typname AS column_type
FROM pg_sequences s
JOIN pg_namespace sn ON sn.nspname = s.schemaname
JOIN pg_class sc ON sc.relnamespace = sn.oid AND sc.relname = s.sequencename
LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = sc.oid
     AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
LEFT JOIN pg_class t ON t.oid = d.refobjid LEFT JOIN pg_namespace tn ON tn.oid = t.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
LEFT JOIN pg_type ty ON ty.oid = a.atttypid
WHERE s.last_value IS NOT NULL AND s.increment_by > 0
ORDER BY s.schemaname, s.sequencename
"""


def sequences(ctx: Context) -> list[Finding]:
    """A sequence, or the integer column it fills, near its largest value (the column's type counts too)."""
    out = []
    for r in ctx.rows(_SEQUENCES):
        column_max = TYPE_MAX.get(r["column_type"] or "", r["max_value"])
        limit = min(int(r["max_value"]), column_max)
        span = max(limit - int(r["min_value"]), 1)
        used = (int(r["last_value"]) - int(r["min_value"])) / span
        if used < ctx.limits.sequence_warning:
            continue
        fixes = []
        where = f"sequence {r['schema']}.{r['name']}"
        objects = [dotted(r["schema"], r["name"])]
        if r["column"]:
            where += f" (feeds {r['table_schema']}.{r['table']}.{r['column']}, {r['column_type']})"
            objects.append(dotted(r["table_schema"], r["table"], r["column"]))
            if column_max < TYPE_MAX["int8"]:
                fixes.append(
                    "-- rewrites the table under an exclusive lock; columns referencing it need the same change\n"
                    f"ALTER TABLE {qualified(r['table_schema'], r['table'])} ALTER COLUMN {ident(r['column'])} "
                    "TYPE bigint;"
                )
        if r["seq_type"] != "bigint":
            fixes.append(f"ALTER SEQUENCE {qualified(r['schema'], r['name'])} AS bigint;")
        out.append(
            Finding(
                "sequence.near_max",
                Severity.ERROR if used >= ctx.limits.sequence_error else Severity.WARNING,
                f"{where} has used {used:.1%} of its range ({int(r['last_value']):,} of {limit:,})",
                tuple(objects),
                {"last_value": int(r["last_value"]), "max_value": limit, "used": round(used, 4)},
                "\n".join(fixes) or None,
            )
        )
    return out


def transaction_ids(ctx: Context) -> list[Finding]:
    """The database's oldest unfrozen transaction ID; past 2^31 Postgres refuses writes to prevent wraparound."""
    row = ctx.rows(
        """SELECT current_database() AS db, age(d.datfrozenxid)::bigint AS xid_age,
                  mxid_age(d.datminmxid)::bigint AS mxid_age,
                  current_setting('autovacuum_freeze_max_age')::bigint AS freeze_max_age
           FROM pg_database d WHERE d.datname = current_database()"""
    )[0]
    share = row["xid_age"] / WRAPAROUND
    if share < ctx.limits.xid_warning:
        return []
    oldest = ctx.rows(
        """SELECT n.nspname AS schema, c.relname AS name, age(c.relfrozenxid)::bigint AS age
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'm', 't') ORDER BY age(c.relfrozenxid) DESC LIMIT 3"""
    )
    return [
        Finding(
            "xid.age",
            Severity.ERROR if share >= ctx.limits.xid_error else Severity.WARNING,
            f"database {row['db']} has used {share:.0%} of its transaction IDs before wraparound "
            f"(age {row['xid_age']:,}); oldest: {', '.join(dotted(o['schema'], o['name']) for o in oldest)}",
            (row["db"], *(dotted(o["schema"], o["name"]) for o in oldest)),
            {
                "xid_age": row["xid_age"],
                "mxid_age": row["mxid_age"],
                "share": round(share, 4),
                "autovacuum_freeze_max_age": row["freeze_max_age"],
            },
            "\n".join(f"VACUUM (FREEZE, VERBOSE) {qualified(o['schema'], o['name'])};" for o in oldest),
        )
    ]
