"""Foreign keys without an index, duplicate and redundant indexes, unused and INVALID indexes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bbops.doctor.context import Context
from bbops.doctor.finding import Finding, Severity
from bbops.doctor.sqltext import dotted, ident, index_name, qualified, user_relation

ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

# An index "covers" a foreign key when its leading key columns are the key's columns (in any order), it
# is valid, and it is not partial: only then can a delete on the referenced table find the rows quickly.
_COVERS = """
    EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indisvalid AND i.indpred IS NULL
            AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] @> c.conkey
            AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] <@ c.conkey)
"""

_FOREIGN_KEYS = f"""
SELECT c.conname, n.nspname AS schema, t.relname AS table, c.confdeltype,
       rn.nspname AS ref_schema, rt.relname AS ref_table,
       pg_total_relation_size(c.confrelid) AS ref_bytes, greatest(rt.reltuples, 0)::bigint AS ref_rows,
       greatest(t.reltuples, 0)::bigint AS rows, pg_total_relation_size(c.conrelid) AS bytes,
       array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
       {_COVERS} AS covered
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_class rt ON rt.oid = c.confrelid JOIN pg_namespace rn ON rn.oid = rt.relnamespace
WHERE c.contype = 'f' AND {user_relation("t")}
ORDER BY n.nspname, t.relname, c.conname
"""


def unindexed_foreign_keys(ctx: Context) -> list[Finding]:
    out = []
    for r in ctx.rows(_FOREIGN_KEYS):
        if r["covered"]:
            continue
        cols: list[str] = r["columns"]
        action = ON_DELETE.get(r["confdeltype"], r["confdeltype"])
        name = index_name(r["table"], cols)
        out.append(
            Finding(
                "fk.unindexed",
                Severity.WARNING,
                f"foreign key {r['conname']} on {r['schema']}.{r['table']} ({', '.join(cols)}) has no index: "
                f"each delete or key update on {r['ref_schema']}.{r['ref_table']} (ON DELETE {action}) "
                f"scans {r['table']}, and joins on it cannot use an index",
                (dotted(r["schema"], r["table"], *cols), dotted(r["ref_schema"], r["ref_table"])),
                {
                    "constraint": r["conname"],
                    "on_delete": action,
                    "rows": r["rows"],
                    "bytes": r["bytes"],
                    "referenced_rows": r["ref_rows"],
                    "referenced_bytes": r["ref_bytes"],
                },
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {ident(name)} ON {qualified(r['schema'], r['table'])} "
                f"({', '.join(ident(c) for c in cols)});",
            )
        )
    return out


_INDEXES = f"""
SELECT i.indexrelid AS oid, n.nspname AS schema, t.relname AS table, x.relname AS name, am.amname AS method,
       i.indnkeyatts AS nkeys, i.indkey::int2[] AS keys, i.indclass::oid[] AS classes,
       i.indcollation::oid[] AS collations, i.indoption::int2[] AS options,
       coalesce(pg_get_expr(i.indexprs, i.indrelid), '') AS exprs,
       coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS pred,
       i.indisunique AS is_unique, i.indisprimary AS is_primary, i.indisvalid AS valid,
       EXISTS (SELECT 1 FROM pg_constraint k
               WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid) AS backs_constraint,
       EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid) AS building,
       pg_relation_size(i.indexrelid) AS bytes, coalesce(s.idx_scan, 0) AS scans,
       pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_am am ON am.oid = x.relam
LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
WHERE {user_relation("t")}
ORDER BY n.nspname, t.relname, x.relname
"""


@dataclass(frozen=True)
class _Index:
    row: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.row[key]

    def columns(self, n: int | None = None) -> tuple[tuple[Any, ...], ...]:
        """(attnum, opclass, collation, option) per key column; the first ``n`` only when given."""
        k = self.row["nkeys"] if n is None else n
        r = self.row
        return tuple(zip(r["keys"][:k], r["classes"][:k], r["collations"][:k], r["options"][:k], strict=True))

    @property
    def includes(self) -> tuple[int, ...]:
        return tuple(self.row["keys"][self.row["nkeys"] :])

    @property
    def shape(self) -> tuple[Any, ...]:
        r = self.row
        return (r["table"], r["schema"], r["method"], r["exprs"], r["pred"])

    @property
    def enforces(self) -> bool:
        return bool(self.row["is_unique"] or self.row["is_primary"] or self.row["backs_constraint"])


def _indexes(ctx: Context) -> list[_Index]:
    return [_Index(r) for r in ctx.rows(_INDEXES)]


def _drop(ix: _Index) -> str:
    return f"DROP INDEX CONCURRENTLY IF EXISTS {qualified(ix['schema'], ix['name'])};"


def _keep_rank(ix: _Index) -> tuple[bool, bool, bool, int]:
    """Of identical indexes, keep the primary key, then a constraint's, then a unique one, then the oldest."""
    return (ix["is_primary"], ix["backs_constraint"], ix["is_unique"], -ix["oid"])


def _finding(kind: str, a: _Index, b: _Index, what: str) -> Finding:
    return Finding(
        kind,
        Severity.WARNING,
        f"index {a['schema']}.{a['name']} on {a['table']} {what}; it costs writes and space for nothing",
        (dotted(a["schema"], a["name"]), dotted(b["schema"], b["name"])),
        {"bytes": a["bytes"], "scans": a["scans"], "kept_bytes": b["bytes"]},
        # An index behind a constraint goes with ALTER TABLE ... DROP CONSTRAINT, a decision left to people.
        None if a["backs_constraint"] else _drop(a),
    )


def duplicate_indexes(ctx: Context) -> list[Finding]:
    """Same keys as another index (``index.duplicate``), or keys that lead another's (``index.redundant``)."""
    ixs = [ix for ix in _indexes(ctx) if ix["valid"]]
    groups: dict[tuple[Any, ...], list[_Index]] = {}
    for ix in ixs:
        groups.setdefault((ix.shape, ix.columns(), ix.includes), []).append(ix)
    out: list[Finding] = []
    reported: set[int] = set()
    for group in groups.values():
        keep = max(group, key=_keep_rank)
        for a in group:
            if a is not keep:
                reported.add(a["oid"])
                out.append(_finding("index.duplicate", a, keep, f"has the same definition as {keep['name']}"))
    for a in ixs:
        if a["oid"] in reported or a.enforces or a["method"] != "btree" or a["exprs"]:
            continue
        for b in ixs:
            longer = b["nkeys"] > a["nkeys"] or (b["nkeys"] == a["nkeys"] and set(a.includes) < set(b.includes))
            if (
                b is not a
                and b["oid"] not in reported
                and b.shape == a.shape
                and longer
                and a.columns() == b.columns(a["nkeys"])
                and set(a.includes) <= set(b["keys"])
            ):
                reported.add(a["oid"])
                out.append(_finding("index.redundant", a, b, f"is a prefix of {b['name']}, which serves its lookups"))
                break
    return out


def _covers_foreign_key(ctx: Context) -> set[int]:
    rows = ctx.rows(
        """SELECT i.indexrelid AS oid FROM pg_index i
           JOIN pg_constraint c ON c.conrelid = i.indrelid AND c.contype = 'f'
           WHERE i.indpred IS NULL AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] @> c.conkey
             AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] <@ c.conkey"""
    )
    return {r["oid"] for r in rows}


def unused_indexes(ctx: Context) -> list[Finding]:
    """No scan since the statistics were reset; indexes that enforce something or serve a foreign key are kept."""
    reset = ctx.value("SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()")
    fk = _covers_foreign_key(ctx)
    out = []
    for ix in _indexes(ctx):
        if ix["scans"] or ix.enforces or not ix["valid"] or ix["oid"] in fk:
            continue
        since = f"since the statistics were reset ({reset:%Y-%m-%d})" if reset else "since the statistics began"
        out.append(
            Finding(
                "index.unused",
                Severity.WARNING if ix["bytes"] >= ctx.limits.bloat_min_bytes else Severity.INFO,
                f"index {ix['schema']}.{ix['name']} on {ix['table']} has not been scanned {since}",
                (dotted(ix["schema"], ix["name"]),),
                {"bytes": ix["bytes"], "scans": 0, "stats_reset": reset.isoformat() if reset else None},
                _drop(ix),
            )
        )
    return out


def invalid_indexes(ctx: Context) -> list[Finding]:
    """A failed ``CREATE INDEX CONCURRENTLY`` leaves an INVALID index: written on every change, never read."""
    out = []
    for ix in _indexes(ctx):
        if ix["valid"]:
            continue
        rebuild = ix["definition"].replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1)
        rebuild = rebuild.replace("CREATE UNIQUE INDEX", "CREATE UNIQUE INDEX CONCURRENTLY", 1)
        building = bool(ix["building"])
        out.append(
            Finding(
                "index.invalid",
                Severity.INFO if building else Severity.ERROR,
                f"index {ix['schema']}.{ix['name']} on {ix['table']} is INVALID"
                + (" (it is being built right now)" if building else ": a failed concurrent build left it behind"),
                (dotted(ix["schema"], ix["name"]),),
                {"bytes": ix["bytes"], "being_built": building},
                None if building else f"{_drop(ix)}\n{rebuild};",
            )
        )
    return out
