"""Success criteria as numbers: run the app's hot queries against a branch and measure them.

A ``check`` step's ``queries:`` lists probes, each ``{name, sql, p95_ms, runs}``;
a probe without ``sql`` takes the statement of that name from the step's
``queries_file`` (``-- name: NAME`` sections, read by the doctor's parser). Each
probe runs once unmeasured (the first run pays for planning and a cold cache),
then ``runs`` times, timed by the client around the whole round trip, as the app
sees it. The step fails when a probe's 95th percentile is above its budget.

Probes run in a read-only transaction that is rolled back, with a statement
timeout, so a probe can neither change production nor hang the cutover.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from bbops.core import pg, redact
from bbops.errors import MigrationError, UsageError

DEFAULT_RUNS = 20
TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Probe:
    name: str
    sql: str
    p95_ms: float
    runs: int = DEFAULT_RUNS


@dataclass(frozen=True)
class Measured:
    probe: Probe
    p50_ms: float
    p95_ms: float

    @property
    def ok(self) -> bool:
        return self.p95_ms <= self.probe.p95_ms

    def line(self) -> str:
        verdict = "within" if self.ok else "OVER"
        return (
            f"{self.probe.name}: p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms "
            f"({verdict} {self.probe.p95_ms:g} ms, {self.probe.runs} runs)"
        )


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least ``pct`` % of samples at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def probes_of(queries: Sequence[Mapping[str, Any]], queries_file: Path | None, *, what: str) -> list[Probe]:
    from bbops.doctor.probes import read_probes

    named = {p.name: p.sql for p in read_probes(queries_file)} if queries_file else {}
    out = []
    for q in queries:
        sql = q.get("sql") or named.get(q["name"])
        if not sql:
            where = f" in {queries_file.name}" if queries_file else " (and the step has no queries_file)"
            raise UsageError(f"{what}: probe {q['name']!r} has no `sql` and no statement of that name{where}")
        out.append(Probe(q["name"], sql.strip().rstrip(";"), float(q["p95_ms"]), int(q.get("runs", DEFAULT_RUNS))))
    return out


def measure(url: str, probes: Sequence[Probe]) -> list[Measured]:
    out = []
    with pg.connection(url, autocommit=True, application_name="bbops probes") as conn:
        for probe in probes:
            try:
                conn.execute("BEGIN READ ONLY")
                conn.execute(f"SET LOCAL statement_timeout = {TIMEOUT_MS}")
                conn.execute(probe.sql).fetchall()  # warm-up: planning, cold cache
                samples = []
                for _ in range(probe.runs):
                    started = time.perf_counter()
                    conn.execute(probe.sql).fetchall()
                    samples.append((time.perf_counter() - started) * 1000)
            except psycopg.Error as exc:
                raise MigrationError(f"probe {probe.name}: {redact.scrub(str(exc)).strip()}") from None
            finally:
                conn.execute("ROLLBACK")
            out.append(Measured(probe, round(percentile(samples, 50), 3), round(percentile(samples, 95), 3)))
    return out


def check(url: str, probes: Sequence[Probe], *, log: Callable[[str], None] = lambda _: None) -> str:
    """Measure every probe; one line per probe for the step's detail, or a failure naming those over budget."""
    measured = measure(url, probes)
    for m in measured:
        log(f"probe {m.line()}")
    over = [m for m in measured if not m.ok]
    if over:
        raise MigrationError(f"{len(over)} probe(s) over budget: {'; '.join(m.line() for m in over)}")
    return "probes " + "; ".join(m.line() for m in measured)
