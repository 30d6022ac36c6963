"""The app's own queries, EXPLAINed (never run): sequential scans over large tables are reported.

Probes come from a ``--queries FILE`` (statements separated by ``;``, each
optionally named by a ``-- name: NAME`` comment line) or from the plan's
``check`` steps that carry ``queries:``. A probe with ``$1`` parameters is
planned generically on Postgres 16 and later (``EXPLAIN (GENERIC_PLAN)``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import psycopg

from bbops.core import redact
from bbops.doctor.context import Context, Probe
from bbops.doctor.finding import Finding, Severity
from bbops.drizzle.statements import Statement, code_only, split_statements
from bbops.errors import UsageError

_NAME = re.compile(r"^\s*--\s*name:\s*(\S+)", re.M)
_PARAM = re.compile(r"\$\d+")


def read_probes(path: Path) -> list[Probe]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--queries {path}: {exc.strerror or exc}") from None
    probes = []
    for stmt in split_statements(Statement(1, text, 1), 1):
        if not code_only(stmt.sql).strip(" \t\r\n;"):
            continue
        named = _NAME.search(stmt.sql)
        where = f"{path.name}:{stmt.line}"
        probes.append(Probe(named.group(1) if named else where, stmt.sql.rstrip().rstrip(";"), where))
    if not probes:
        raise UsageError(f"--queries {path}: no statement found")
    return probes


def probes_from_steps(steps: Iterator[tuple[str, Any]]) -> list[Probe]:
    """Probes from plan steps' ``queries:`` (a mapping name -> SQL or {sql|query: SQL}, or a list of those)."""
    out = []
    for step_id, queries in steps:
        items: list[tuple[str, Any]] = (
            list(queries.items())
            if isinstance(queries, Mapping)
            else [(str(q.get("name", i)) if isinstance(q, Mapping) else str(i), q) for i, q in enumerate(queries or [])]
        )
        for name, spec in items:
            sql = spec.get("sql") or spec.get("query") if isinstance(spec, Mapping) else spec
            if isinstance(sql, str) and sql.strip():
                out.append(Probe(str(name), sql.strip().rstrip(";"), f"step {step_id}"))
    return out


def _seq_scans(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    if node.get("Node Type") == "Seq Scan":
        yield node
    for child in node.get("Plans", ()):
        yield from _seq_scans(child)


def _explain(ctx: Context, probe: Probe) -> Mapping[str, Any]:
    options = "FORMAT JSON, VERBOSE"
    if _PARAM.search(code_only(probe.sql)):
        if ctx.server_version < 160000:
            raise UsageError("it has $n parameters, which only Postgres 16+ can plan without values")
        options += ", GENERIC_PLAN"
    row = ctx.conn.execute(f"EXPLAIN ({options}) {probe.sql}").fetchone()
    assert row is not None
    doc = row[0]
    plan: Mapping[str, Any] = (doc[0] if isinstance(doc, list) else doc)["Plan"]  # EXPLAIN's JSON
    return plan


def seq_scans(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for probe in ctx.probes:
        try:
            plan = _explain(ctx, probe)
        except (psycopg.Error, UsageError) as exc:
            out.append(
                Finding(
                    "query.failed",
                    Severity.WARNING,
                    f"probe {probe.name} ({probe.source}) could not be EXPLAINed: {redact.scrub(str(exc)).strip()}",
                    (f"probe:{probe.name}",),
                    {},
                )
            )
            continue
        for scan in _seq_scans(plan):
            schema, table = scan.get("Schema", "public"), scan["Relation Name"]
            rows = ctx.value(
                "SELECT greatest(c.reltuples, 0)::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname = %s",
                (schema, table),
            )
            if rows is None or rows < ctx.limits.large_table_rows:
                continue
            condition = scan.get("Filter")
            out.append(
                Finding(
                    "query.seq_scan",
                    Severity.WARNING,
                    f"probe {probe.name} ({probe.source}) reads all of {schema}.{table} (~{rows:,} rows)"
                    + (f" to filter on {condition}" if condition else "")
                    + ": no index matches; an expression index must repeat the query's expression exactly",
                    (f"probe:{probe.name}", f"{schema}.{table}"),
                    {
                        "table_rows": rows,
                        "plan_rows": scan.get("Plan Rows"),
                        "total_cost": scan.get("Total Cost"),
                        "filter": condition,
                    },
                )
            )
    return out
