"""The server right now: cache hit ratio, connection headroom, long-running and idle-in-transaction sessions.

Session findings name the backend, its user, application and the statement's
first keyword only: the text of a running query can carry literal values
(emails, tokens), which never belong in a report.
"""

from __future__ import annotations

from bbops.doctor.context import Context
from bbops.doctor.finding import Finding, Severity
from bbops.doctor.sqltext import ident


def cache_hit_ratio(ctx: Context) -> list[Finding]:
    """Share of table and index block reads served from shared buffers; low means the working set does not fit."""
    row = ctx.rows(
        """SELECT coalesce(sum(heap_blks_hit), 0)::bigint AS heap_hit,
                  coalesce(sum(heap_blks_read), 0)::bigint AS heap_read,
                  coalesce(sum(idx_blks_hit), 0)::bigint AS idx_hit, coalesce(sum(idx_blks_read), 0)::bigint AS idx_read
           FROM pg_statio_user_tables"""
    )[0]
    out = []
    db = ctx.value("SELECT current_database()")
    for what, hit, read in (("table", row["heap_hit"], row["heap_read"]), ("index", row["idx_hit"], row["idx_read"])):
        total = hit + read
        if total < ctx.limits.cache_min_reads:
            continue
        ratio = hit / total
        if ratio >= ctx.limits.cache_hit_min:
            continue
        out.append(
            Finding(
                "cache.hit_ratio",
                Severity.WARNING,
                f"{what} cache hit ratio is {ratio:.2%} (below {ctx.limits.cache_hit_min:.0%}): the working set does "
                "not fit in memory; on Neon raise the compute size (autoscaling max_cu) or trim what queries read",
                (f"{db}:{what}",),
                {"hit_blocks": hit, "read_blocks": read, "ratio": round(ratio, 4)},
            )
        )
    return out


def connections(ctx: Context) -> list[Finding]:
    row = ctx.rows(
        """SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS used,
                  count(*) FILTER (WHERE state = 'active' AND backend_type = 'client backend') AS active,
                  count(*) FILTER (WHERE state LIKE 'idle in transaction%'
                                   AND backend_type = 'client backend') AS idle_tx,
                  current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
                    AS available
           FROM pg_stat_activity"""
    )[0]
    share = row["used"] / max(row["available"], 1)
    if share < ctx.limits.connections_warning:
        return []
    return [
        Finding(
            "connections.usage",
            Severity.ERROR if share >= 0.95 else Severity.WARNING,
            f"{row['used']} of {row['available']} connections in use ({share:.0%}); "
            "point the app at the pooled URL (-pooler host on Neon)",
            (str(ctx.value("SELECT current_database()")),),
            {
                "used": row["used"],
                "available": row["available"],
                "active": row["active"],
                "idle_in_transaction": row["idle_tx"],
            },
        )
    ]


_SESSIONS = """
SELECT pid, datname, usename, application_name, state, backend_xmin IS NOT NULL AS holds_xmin,
       extract(epoch FROM now() - query_start)::float8 AS query_seconds,
       extract(epoch FROM now() - state_change)::float8 AS state_seconds,
       extract(epoch FROM now() - xact_start)::float8 AS xact_seconds,
       upper(substring(ltrim(query) FROM '^[A-Za-z]+')) AS command
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
  AND ((state = 'active' AND now() - query_start > make_interval(secs => %(s)s))
    OR (state LIKE 'idle in transaction%%' AND now() - state_change > make_interval(secs => %(s)s)))
ORDER BY xact_start NULLS LAST
"""


def sessions(ctx: Context) -> list[Finding]:
    """Long queries and idle-in-transaction sessions: both hold locks and stop vacuum from removing dead rows."""
    out = []
    for r in ctx.rows(_SESSIONS, {"s": ctx.limits.session_seconds}):
        who = f"pid {r['pid']} ({r['usename']}" + (f", {r['application_name']}" if r["application_name"] else "") + ")"
        evidence = {
            "pid": r["pid"],
            "database": r["datname"],
            "user": r["usename"],
            "application": r["application_name"],
            "command": r["command"],
            "transaction_seconds": round(r["xact_seconds"] or 0, 1),
            "holds_xmin": r["holds_xmin"],
        }
        stop = f"SELECT pg_terminate_backend({int(r['pid'])});"
        if r["state"] == "active":
            secs = r["query_seconds"]
            out.append(
                Finding(
                    "session.long_running",
                    Severity.WARNING,
                    f"{who} has been running a {r['command'] or 'statement'} for {secs:,.0f} s",
                    (f"pid:{r['pid']}",),
                    {**evidence, "seconds": round(secs, 1)},
                    f"SELECT pg_cancel_backend({int(r['pid'])});",
                )
            )
        else:
            secs = r["state_seconds"]
            out.append(
                Finding(
                    "session.idle_in_transaction",
                    Severity.WARNING,
                    f"{who} has been idle in a transaction for {secs:,.0f} s: it holds its locks and keeps vacuum "
                    "from removing dead rows",
                    (f"pid:{r['pid']}",),
                    {**evidence, "seconds": round(secs, 1)},
                    f"{stop}\nALTER DATABASE {ident(r['datname'])} SET idle_in_transaction_session_timeout = '5min';",
                )
            )
    return out
