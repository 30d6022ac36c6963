"""In-memory pieces of the copy: the job runner, range planning, size parsing."""

from __future__ import annotations

import threading
import time

import pytest

from bbops.copy.catalog import Table
from bbops.copy.jobs import Job, JobRunner
from bbops.copy.tasks import ChunkSpec, chunk_count, parse_size
from bbops.errors import MigrationError, UsageError


def _table(nbytes: int) -> Table:
    return Table(
        oid=1,
        schema="public",
        name="t",
        qualified="public.t",
        kind="r",
        bytes=nbytes,
        blocks=max(1, nbytes // 8192),
        rows_estimate=0,
        filenode=1,
    )


def test_runner_respects_dependencies_and_priorities():
    order: list[str] = []
    lock = threading.Lock()

    def record(name):
        def run(worker):
            time.sleep(0.01)
            with lock:
                order.append(name)

        return run

    jobs = [
        Job("small", record("small"), priority=1),
        Job("big", record("big"), priority=100),
        Job("index big", record("index big"), {"big"}, priority=1000),
        Job("fk", record("fk"), {"index big", "small"}, priority=1000),
        Job("done earlier", record("x"), {"not in this run"}),
    ]
    JobRunner(jobs, 1, make_worker=lambda i: None).run()
    assert order == ["big", "index big", "small", "fk", "x"]


def test_runner_uses_all_workers_and_closes_them():
    active, peak, closed = [0], [0], []
    lock = threading.Lock()

    def run(worker):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1

    JobRunner([Job(str(i), run) for i in range(6)], 3, make_worker=lambda i: i, close_worker=closed.append).run()
    assert peak[0] == 3 and sorted(closed) == [0, 1, 2]


def test_runner_stops_at_the_first_failure():
    ran: list[str] = []

    def boom(worker):
        raise RuntimeError("disk full")

    jobs = [Job("a", boom, priority=10), Job("b", lambda w: ran.append("b"), {"a"})]
    with pytest.raises(MigrationError, match="a: disk full"):
        JobRunner(jobs, 2, make_worker=lambda i: None).run()
    assert ran == []


def test_runner_rejects_a_dependency_cycle():
    with pytest.raises(MigrationError, match="cycle"):
        JobRunner([Job("a", print, {"b"}), Job("b", print, {"a"})], 1, make_worker=lambda i: None)


def test_ranges_cover_every_page_once():
    specs = [ChunkSpec(_table(800 * 8192), i, 7, 800) for i in range(7)]
    assert specs[0].where() == "ctid < '(114,0)'::tid"
    assert specs[3].where() == "ctid >= '(342,0)'::tid AND ctid < '(457,0)'::tid"
    assert specs[-1].where() == "ctid >= '(685,0)'::tid"  # open-ended: rows appended later are copied too
    bounds = [(800 * i // 7, 800 * (i + 1) // 7) for i in range(7)]
    assert all(bounds[i][1] == bounds[i + 1][0] for i in range(6))
    assert ChunkSpec(_table(8192), 0, 1, 1).where() == ""


def test_chunk_count_splits_only_what_would_set_the_pace():
    mb = 1024 * 1024
    # A table within its fair share stays whole (fast path, COPY FREEZE).
    assert chunk_count(_table(190 * mb), chunk_bytes=1024 * mb, share=195 * mb, server_major=16, splittable=True) == 1
    # One table holding most of the data is cut so every worker gets a share of it.
    assert chunk_count(_table(900 * mb), chunk_bytes=1024 * mb, share=500 * mb, server_major=16, splittable=True) == 2
    # Resume granularity: never more than chunk_bytes per transaction.
    assert chunk_count(_table(100 * mb), chunk_bytes=16 * mb, share=1000 * mb, server_major=16, splittable=True) == 7
    # Self-referencing tables and old servers (no TID range scans) are never cut.
    assert chunk_count(_table(900 * mb), chunk_bytes=mb, share=mb, server_major=16, splittable=False) == 1
    assert chunk_count(_table(900 * mb), chunk_bytes=mb, share=mb, server_major=13, splittable=True) == 1


def test_parse_size():
    assert parse_size("16kB") == 16 * 1024
    assert parse_size("1GB") == 1024**3
    assert parse_size("4096") == 4096
    for bad in ("", "1.5GB", "12 parsecs", "0"):
        with pytest.raises(UsageError):
            parse_size(bad)


def test_log_progress_lines(capsys):
    from bbops.copy.progress import LogProgress

    sink = LogProgress(every=0)
    sink.table_started("public.orders", 1000)
    sink.advance("public.orders", 500, 2_000_000)
    sink.table_done("public.orders")
    err = capsys.readouterr().err
    assert "copy public.orders: started (~1,000 rows)" in err
    assert "500 rows (50%), 2.0 MB" in err
    assert "done, 500 rows" in err


def test_rich_progress_survives_a_whole_copy(capsys):
    from bbops.copy.progress import RichProgress

    sink = RichProgress()
    sink.table_started("public.orders", 10)
    sink.advance("public.orders", 25, 1000)  # more rows than estimated
    sink.advance("public.unplanned", 1, 10)
    sink.step("index public.orders_pkey: done")
    sink.table_done("public.orders")
    sink.close()
    assert "index public.orders_pkey: done" in capsys.readouterr().err


def test_pg_dump_too_old_for_the_server_is_a_usage_error():
    from bbops.copy.schema import find_pg_dump

    with pytest.raises(UsageError, match="needs pg_dump 99 or newer") as info:
        find_pg_dump(99)
    assert "--data-only" in (info.value.hint or "")
