"""bbops.copy.estimate: source sizes per selected table and a timed read sample, on a real Postgres."""

from __future__ import annotations

import psycopg
import pytest

from bbops.copy.estimate import CopyEstimate, TableSize, estimate_copy, human_bytes, human_seconds
from bbops.errors import UsageError

SOURCE = """
CREATE TABLE public.orders (id int PRIMARY KEY, note text);
CREATE TABLE public.users (id int PRIMARY KEY, name text);
CREATE TABLE audit.events (id int, payload text);
INSERT INTO public.orders SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;
INSERT INTO public.users SELECT g, 'user ' || g FROM generate_series(1, 500) g;
INSERT INTO audit.events SELECT g, 'e' FROM generate_series(1, 100) g;
ANALYZE;
"""


@pytest.fixture
def source(make_database) -> str:
    url = make_database("est")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA audit")
        conn.execute(SOURCE)
    return url


def _sizes(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        conn.execute("SET search_path = ''")  # regclass names schema-qualified, as the copy's sessions do
        rows = conn.execute(
            "SELECT c.oid::regclass::text, pg_table_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname IN ('public', 'audit')"
        ).fetchall()
    return dict(rows)


def test_sizes_follow_the_copy_selection_and_the_sample_reads_the_largest_table(source):
    estimate = estimate_copy(source, tables=("public.*",), jobs=2)
    sizes = _sizes(source)
    assert {t.table: t.table_bytes for t in estimate.tables} == {
        "public.orders": sizes["public.orders"],
        "public.users": sizes["public.users"],
    }
    orders = next(t for t in estimate.tables if t.table == "public.orders")
    assert orders.rows_estimate == 20000 and orders.index_bytes > 0
    assert estimate.sample_table == "public.orders" and estimate.sample_bytes > 0 and estimate.rate
    assert orders.seconds == pytest.approx(orders.table_bytes / estimate.rate)
    assert "2 table(s)" in estimate.lines()[0] and "public.orders" in estimate.lines()[1]


def test_a_sample_cut_short_cancels_the_copy_and_leaves_no_session_behind(source):
    estimate = estimate_copy(source, tables=("orders",), sample_bytes=4096)
    assert 4096 <= estimate.sample_bytes < _sizes(source)["public.orders"]  # stopped early
    with psycopg.connect(source) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bbops copy estimate'"
        ).fetchone()
    assert left == (0,)


def test_a_pattern_matching_nothing_is_refused_as_the_copy_would(source):
    with pytest.raises(UsageError, match="matches no table"):
        estimate_copy(source, tables=("public.nope",))


def test_wall_time_spreads_tables_over_jobs_but_never_beats_the_largest_table():
    tables = [TableSize(f"t{i}", 0, 10, 0, s) for i, s in enumerate((40.0, 10.0, 10.0, 20.0))]
    assert CopyEstimate(tables=tables, jobs=1).seconds == 80.0
    assert CopyEstimate(tables=tables, jobs=4).seconds == 40.0  # the largest table is one worker's
    assert CopyEstimate(tables=tables, jobs=2).seconds == 40.0
    never = CopyEstimate(tables=[TableSize("fresh", None, 10, 0, 0.5)], jobs=1, sample_bytes=10, sample_seconds=0.5)
    assert "rows unknown (never analyzed)" in never.lines()[1] and "source; under 1 s with 1 job(s)" in never.lines()[0]
    assert CopyEstimate(error="could not connect").lines() == ["no estimate: could not connect"]
    assert human_bytes(3 * 1024 * 1024) == "3.0 MB" and human_seconds(150) == "about 2 min"
