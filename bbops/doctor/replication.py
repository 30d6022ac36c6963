"""Replication slots that hold WAL back: a forgotten slot fills the disk, and on Neon it counts as storage.

A slot keeps every WAL segment its consumer has not confirmed. An inactive slot (its subscriber or
tool gone) retains WAL forever. bbops' own slots (``bbops_fwd_*``, ``bbops_rev_*`` from the online
cutover) get the bbops command that removes them with the rest of their stream.
"""

from __future__ import annotations

from bbops.doctor.context import Context
from bbops.doctor.finding import Finding, Severity

_SLOTS = """
SELECT slot_name, slot_type, active, coalesce(database, '') AS database,
       pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained
FROM pg_replication_slots
WHERE restart_lsn IS NOT NULL AND (database IS NULL OR database = current_database())
ORDER BY retained DESC
"""


def slots(ctx: Context) -> list[Finding]:
    """Inactive slots (any retained WAL) and active ones retaining more than the limit."""
    out = []
    for row in ctx.rows(_SLOTS):
        retained = int(row["retained"] or 0)
        if row["active"] and retained < ctx.limits.slot_retained_bytes:
            continue
        name = str(row["slot_name"])
        ours = name.startswith(("bbops_fwd_", "bbops_rev_"))
        hint = (
            f"; it is an online cutover stream's: `bbops copy --abort --stream {name.split('_', 2)[2]}` "
            "removes it with its publication and subscription"
            if ours
            else ""
        )
        state = "active" if row["active"] else "inactive (nobody consumes it)"
        out.append(
            Finding(
                "replication.slot_retains_wal",
                Severity.ERROR
                if not row["active"] and retained >= ctx.limits.slot_retained_bytes
                else Severity.WARNING,
                f"replication slot {name} is {state} and holds {retained / 1_048_576:.1f} MB of WAL{hint}",
                (name,),
                {"retained_bytes": retained, "active": bool(row["active"]), "database": row["database"]},
                None
                if row["active"]
                else f"SELECT pg_drop_replication_slot('{name}');",  # slot names are [a-z0-9_]: nothing to quote,
            )
        )
    return out
