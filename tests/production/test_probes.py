"""check-step probes: measured on a real server, p50/p95 reported, a probe over its budget fails the step."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from bbops.errors import MigrationError, UsageError
from bbops.production import probes


def test_percentile_is_nearest_rank():
    samples = [float(i) for i in range(1, 21)]  # 1..20
    assert probes.percentile(samples, 50) == 10.0
    assert probes.percentile(samples, 95) == 19.0
    assert probes.percentile([3.0], 95) == 3.0


def test_probes_come_from_the_step_or_the_named_file(tmp_path: Path):
    file = tmp_path / "queries.sql"
    file.write_text("-- name: one\nSELECT 1;\n\n-- name: two\nSELECT 2;\n")
    found = probes.probes_of(
        [{"name": "two", "p95_ms": 5}, {"name": "inline", "sql": "SELECT 3;", "p95_ms": 1, "runs": 3}],
        file,
        what="step s",
    )
    assert [(p.name, p.sql, p.p95_ms, p.runs) for p in found] == [
        ("two", "-- name: two\nSELECT 2", 5.0, 20),
        ("inline", "SELECT 3", 1.0, 3),
    ]
    with pytest.raises(UsageError, match=r"probe 'three' has no `sql` and no statement of that name in queries\.sql"):
        probes.probes_of([{"name": "three", "p95_ms": 5}], file, what="step s")


def test_a_probe_within_budget_passes_and_one_over_fails(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t AS SELECT i FROM generate_series(1, 1000) i")
    detail = probes.check(database_url, [probes.Probe("count", "SELECT count(*) FROM t", 2000, 5)])
    assert detail.startswith("probes count: p50 ") and "within 2000 ms, 5 runs" in detail

    slow = [probes.Probe("fast", "SELECT 1", 2000, 3), probes.Probe("slow", "SELECT pg_sleep(0.03)", 5, 3)]
    with pytest.raises(
        MigrationError, match=r"1 probe\(s\) over budget: slow: p50 \d+\.\d ms, p95 \d+\.\d ms \(OVER 5 ms"
    ):
        probes.check(database_url, slow)


def test_a_probe_cannot_write(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (i int)")
    with pytest.raises(MigrationError, match="read-only transaction"):
        probes.measure(database_url, [probes.Probe("w", "INSERT INTO t VALUES (1) RETURNING i", 100, 2)])
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0
