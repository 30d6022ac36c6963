"""Running the checks on one database: one read-only session, each check on its own.

A check that fails (a permission it lacks, its statement timing out) is
reported as skipped with the reason and the others still run: a partial health
report beats none. Losing the connection stops the run (exit 4).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import psycopg

from bbops.core import redact
from bbops.doctor import (
    activity,
    bloat,
    indexes,
    limits,
    parity,
    probes,
    replication,
    security,
    statements,
    tables,
)
from bbops.doctor.context import Context, Limits, Probe
from bbops.doctor.finding import Finding
from bbops.doctor.progress import CheckProgress, NoProgress
from bbops.doctor.report import Report, Skipped
from bbops.doctor.session import read_only_session
from bbops.errors import ProviderError

Scope = Literal["schema", "all"]


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[Context], list[Finding]]
    schema: bool  # depends on the schema alone (not on statistics or activity): comparable between branches


CHECKS: tuple[Check, ...] = (
    Check("foreign keys", indexes.unindexed_foreign_keys, True),
    Check("duplicate indexes", indexes.duplicate_indexes, True),
    Check("invalid indexes", indexes.invalid_indexes, True),
    Check("primary keys", tables.no_primary_key, True),
    Check("sequences", limits.sequences, True),
    Check("row-level security", security.row_level_security, True),
    Check("security definer functions", security.definer_search_path, True),
    Check("unused indexes", indexes.unused_indexes, False),
    Check("statements", statements.slow_and_frequent, False),
    Check("probe queries", probes.seq_scans, False),
    Check("sizes", tables.table_sizes, False),
    Check("table bloat", bloat.table_bloat, False),
    Check("index bloat", bloat.index_bloat, False),
    Check("vacuum", bloat.dead_tuples, False),
    Check("transaction ids", limits.transaction_ids, False),
    Check("cache", activity.cache_hit_ratio, False),
    Check("connections", activity.connections, False),
    Check("sessions", activity.sessions, False),
    Check("parity", parity.parity, False),
    Check("replication slots", replication.slots, False),
)


def _where(url: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(url)
    return f"{params.get('host', 'localhost')}/{params.get('dbname', '')}"


def run_doctor(
    url: str,
    *,
    limits: Limits | None = None,
    probes: Sequence[Probe] = (),
    compare_url: str | None = None,
    scope: Scope = "all",
    progress: CheckProgress | None = None,
) -> Report:
    started = time.monotonic()
    redact.register_url(url)
    if compare_url:
        redact.register_url(compare_url)
    progress = progress or NoProgress()
    chosen = [c for c in CHECKS if scope == "all" or c.schema]
    with read_only_session(url) as conn:
        ctx = Context(conn, limits or Limits(), tuple(probes), compare_url)
        report = Report(_where(url), ctx.server_version)
        progress.start(len(chosen))
        try:
            for check in chosen:
                progress.step(check.name)
                try:
                    report.findings += check.run(ctx)
                    report.checks.append(check.name)
                except psycopg.OperationalError as exc:
                    if conn.closed or conn.broken:
                        raise ProviderError(f"lost the connection during the {check.name} check: {exc}") from None
                    report.skipped.append(Skipped(check.name, redact.scrub(str(exc)).strip()))
                except psycopg.Error as exc:
                    report.skipped.append(Skipped(check.name, redact.scrub(str(exc)).strip()))
        finally:
            progress.close()
    report.seconds = time.monotonic() - started
    return report
