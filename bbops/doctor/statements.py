"""Slow and frequent statements from ``pg_stat_statements``.

Only the extension's normalised text is shown (constants replaced by ``$1``),
and only for plannable statements: utility statements such as ``ALTER ROLE
... PASSWORD`` are not normalised on every version, so they are never quoted.
"""

from __future__ import annotations

from typing import Any

import psycopg

from bbops.doctor.context import Context
from bbops.doctor.finding import Finding, Severity

# Neon's docs (extensions/pg_stat_statements): installable on any project with CREATE EXTENSION; statistics are
# not kept when the compute suspends or restarts.
ENABLE_ON_NEON = (
    "-- Neon preloads pg_stat_statements; create the extension once per database (as its owner).\n"
    "-- Its statistics live in the compute's memory: they restart when the compute suspends.\n"
    "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;"
)
_PLANNABLE = r"^\s*(select|insert|update|delete|with|merge|values|table)\y"  # \y: a word boundary in Postgres regexes
_TEXT_CHARS = 300


def _unavailable(ctx: Context, why: str) -> list[Finding]:
    return [
        Finding(
            "statements.unavailable",
            Severity.INFO,
            f"pg_stat_statements {why}: slow and frequent statements cannot be listed",
            (str(ctx.value("SELECT current_database()")),),
            {},
            ENABLE_ON_NEON,
        )
    ]


def _columns(version: int) -> tuple[str, str]:
    return ("total_exec_time", "mean_exec_time") if version >= 130000 else ("total_time", "mean_time")


def _fetch(ctx: Context, schema: str) -> list[dict[str, Any]]:
    total, mean = _columns(ctx.server_version)
    query = f"""
        SELECT queryid::text AS queryid, calls, {total}::float8 AS total_ms, {mean}::float8 AS mean_ms, rows,
               left(regexp_replace(query, '\\s+', ' ', 'g'), {_TEXT_CHARS}) AS text,
               {total} / nullif(sum({total}) OVER (), 0) AS share
        FROM "{schema.replace('"', '""')}".pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND query ~* %s
        ORDER BY {total} DESC LIMIT %s"""
    return ctx.rows(query, (_PLANNABLE, max(ctx.limits.top_statements * 5, 50)))


def _finding(kind: str, severity: Severity, r: dict[str, Any], why: str) -> Finding:
    return Finding(
        kind,
        severity,
        f"{why}: {r['calls']:,} calls, {r['mean_ms']:.1f} ms on average, {r['total_ms'] / 1000:,.1f} s in all "
        f"({(r['share'] or 0):.0%} of the time): {r['text']}",
        (f"queryid:{r['queryid']}",),
        {
            "calls": r["calls"],
            "total_ms": round(r["total_ms"], 1),
            "mean_ms": round(r["mean_ms"], 2),
            "rows": r["rows"],
            "share": round(float(r["share"] or 0), 4),
            "query": r["text"],
        },
        None,
    )


def slow_and_frequent(ctx: Context) -> list[Finding]:
    """``statements.slow`` above the mean-time limit; ``statements.frequent``: the rest of the top by total time."""
    schema = ctx.value(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_stat_statements'"
    )
    if schema is None:
        return _unavailable(ctx, "is not installed in this database")
    try:
        rows = _fetch(ctx, schema)
    except psycopg.errors.ObjectNotInPrerequisiteState:
        return _unavailable(ctx, "is installed but not in shared_preload_libraries")
    out = []
    top = 0
    for r in rows:
        if r["mean_ms"] >= ctx.limits.slow_mean_ms:
            out.append(_finding("statements.slow", Severity.WARNING, r, "slow statement"))
        elif top < ctx.limits.top_statements:
            top += 1
            out.append(_finding("statements.frequent", Severity.INFO, r, "among the most time-consuming statements"))
    return out
