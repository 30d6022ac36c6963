"""Problems of a running database (bloat, vacuum, sessions, parity) built on a real Postgres and found by id."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg

from bbops.doctor import Limits
from tests.doctor.conftest import by_id, doctor, problems, sql


def test_bloat_and_dead_rows_after_a_mass_update(clean_url: str) -> None:
    sql(
        clean_url,
        "CREATE TABLE items (id integer PRIMARY KEY, qty integer NOT NULL, label text NOT NULL)"
        " WITH (autovacuum_enabled = false)",
        "INSERT INTO items SELECT i, i % 10, 'label ' || i FROM generate_series(1, 100000) i",
        "ANALYZE items",
    )
    before = doctor(clean_url)
    assert by_id(before, "bloat.table") == [] and by_id(before, "bloat.index") == []
    assert by_id(before, "vacuum.dead_tuples") == []
    assert [f.objects for f in by_id(before, "vacuum.disabled")] == [("public.items",)]
    with psycopg.connect(clean_url, autocommit=True) as conn:
        conn.execute("UPDATE items SET qty = qty + 1")  # every row gets a new version, in new pages
        conn.execute("ANALYZE items")
        conn.execute("SELECT pg_stat_force_next_flush()")
    after = doctor(clean_url)
    (heap,) = by_id(after, "bloat.table")
    assert heap.objects == ("public.items",) and 0.4 < float(heap.evidence["ratio"] or 0) < 0.6
    (index,) = by_id(after, "bloat.index")
    assert index.objects == ("public.items_pkey",) and float(index.evidence["ratio"] or 0) > 0.3
    assert index.fix == 'REINDEX INDEX CONCURRENTLY "public"."items_pkey";'
    (dead,) = by_id(after, "vacuum.dead_tuples")
    assert dead.evidence["dead_rows"] == 100_000 and dead.evidence["overdue"] is True
    # VACUUM FULL (the fix) rewrites the table compactly: the estimate agrees.
    sql(clean_url, "VACUUM (FULL, ANALYZE) items")
    healed = doctor(clean_url)
    assert by_id(healed, "bloat.table") == [] and by_id(healed, "bloat.index") == []


def test_long_idle_in_transaction_session(clean_url: str) -> None:
    limits = Limits(session_seconds=1)
    with psycopg.connect(clean_url) as idle:
        idle.execute("SELECT count(*) FROM child").fetchone()  # opens a transaction and leaves it open
        pid = idle.info.backend_pid
        time.sleep(1.5)
        (found,) = by_id(doctor(clean_url, limits=limits), "session.idle_in_transaction")
        assert found.objects == (f"pid:{pid}",) and found.evidence["pid"] == pid
        assert float(found.evidence["seconds"] or 0) >= 1 and found.evidence["command"] == "SELECT"
        assert "count(*)" not in found.message, "the query's text never appears"
        assert found.fix and f"pg_terminate_backend({pid})" in found.fix
        idle.rollback()
    assert by_id(doctor(clean_url, limits=limits), "session.idle_in_transaction") == []


def test_long_running_query(clean_url: str) -> None:
    started = threading.Event()

    def sleeper() -> None:
        with psycopg.connect(clean_url, autocommit=True) as conn:
            started.set()
            conn.execute("SELECT pg_sleep(4)")

    thread = threading.Thread(target=sleeper)
    thread.start()
    try:
        started.wait(5)
        time.sleep(1.5)
        found = by_id(doctor(clean_url, limits=Limits(session_seconds=1)), "session.long_running")
        assert [f.evidence["command"] for f in found] == ["SELECT"]
    finally:
        thread.join()


def test_parity_with_another_database(clean_url: str, make_database: Callable[..., str]) -> None:
    other = make_database("old")
    sql(other, "CREATE EXTENSION vector")
    report = doctor(clean_url, compare_url=other)
    (missing,) = by_id(report, "parity.extension_missing")
    assert missing.objects == ("extension:vector",) and missing.fix == 'CREATE EXTENSION IF NOT EXISTS "vector";'
    assert by_id(report, "parity.server_version") == []
    sql(clean_url, "CREATE EXTENSION vector")
    assert problems(doctor(clean_url, compare_url=other)) == set()


def test_a_forgotten_replication_slot_is_reported_with_the_command_that_removes_it(clean_url: str) -> None:
    assert by_id(doctor(clean_url), "replication.slot_retains_wal") == []
    sql(clean_url, "SELECT pg_create_logical_replication_slot('bbops_fwd_cutover', 'pgoutput')")
    try:
        sql(clean_url, "CREATE TABLE churn AS SELECT g FROM generate_series(1, 50000) g")  # WAL the slot now holds
        (slot,) = by_id(doctor(clean_url), "replication.slot_retains_wal")
        assert slot.objects == ("bbops_fwd_cutover",) and slot.evidence["active"] is False
        # call-overload: evidence values are typed object; this one is the slot's byte count.
        assert int(slot.evidence["retained_bytes"] or 0) > 1_000_000  # type: ignore[call-overload]
        assert "bbops copy --abort --stream cutover" in slot.message
        assert slot.fix == "SELECT pg_drop_replication_slot('bbops_fwd_cutover');"
    finally:
        sql(clean_url, "SELECT pg_drop_replication_slot('bbops_fwd_cutover')")
    assert by_id(doctor(clean_url), "replication.slot_retains_wal") == []
