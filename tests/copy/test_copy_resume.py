"""A copy killed with SIGKILL in the middle, then resumed: nothing duplicated, nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from bbops.copy.engine import copy_database
from bbops.copy.verify import verify_databases
from bbops.errors import UsageError

SOURCE = """
CREATE TABLE account (id integer PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id integer NOT NULL REFERENCES account (id),
    payload jsonb NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX event_account_idx ON event (account_id);
INSERT INTO account SELECT i, 'user' || i || '@example.com' FROM generate_series(1, 2000) i;
INSERT INTO event (account_id, payload, at)
SELECT 1 + i % 2000, jsonb_build_object('n', i, 'pad', repeat('x', 40)), timestamptz '2024-01-01' + i * interval '1 s'
FROM generate_series(1, 120000) i;
ANALYZE;
"""


def _chunks_done(url: str) -> tuple[int, int, int]:
    """(chunk marks, rows the marks vouch for, rows actually in event) on the target."""
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('bbops.copy_progress')").fetchone()[0] is None:
            return 0, 0, 0
        marks, vouched = conn.execute(
            "SELECT count(*), coalesce(sum(rows), 0) FROM bbops.copy_progress WHERE item LIKE 'chunk public.event %'"
        ).fetchone()
        rows = (
            conn.execute("SELECT count(*) FROM public.event").fetchone()[0]
            if conn.execute("SELECT to_regclass('public.event')").fetchone()[0]
            else 0
        )
        return marks, int(vouched), rows


def _start_copy(source: str, target: str, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, CI="1")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bbops",
            "copy",
            "--source",
            source,
            "--target",
            target,
            "--jobs",
            "2",
            "--chunk-size",
            "16kB",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def _kill_midway(proc: subprocess.Popen, target: str, at_least: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the copy finished before it could be killed: {proc.stderr.read().decode()[-2000:]}")
        marks = _chunks_done(target)[0]
        if marks >= at_least:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return marks
        time.sleep(0.02)
    proc.kill()
    pytest.fail("the copy made no progress")


@pytest.mark.slow
def test_full_copy_killed_then_resumed_is_identical(make_database):
    source, target = make_database("resrc"), make_database("redst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(SOURCE)
    proc = _start_copy(source, target)
    _kill_midway(proc, target, at_least=40)

    marks, vouched, rows = _chunks_done(target)
    with psycopg.connect(source) as conn:
        blocks = conn.execute("SELECT pg_relation_size('event') / 8192").fetchone()[0]
    assert 0 < marks < blocks // 2, "killed in the middle of the table"
    # The invariant resume relies on: rows present are exactly the rows of finished chunks.
    assert rows == vouched

    with pytest.raises(UsageError, match="--resume"):
        copy_database(source, target, chunk_bytes=16 * 1024)
    report = copy_database(source, target, resume=True, chunk_bytes=16 * 1024)
    assert report.resumed
    result = verify_databases(source, target, checksums=True)
    assert result.ok, result.differences
    with psycopg.connect(source) as s, psycopg.connect(target) as t:
        q = "SELECT count(*), count(DISTINCT id), sum(id), max(id) FROM event"
        assert s.execute(q).fetchone() == t.execute(q).fetchone()


@pytest.mark.slow
def test_data_only_copy_killed_then_resumed_is_identical(make_database):
    source, target = make_database("resrc"), make_database("redst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(SOURCE)
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(SOURCE.split("INSERT")[0])
    proc = _start_copy(source, target, "--data-only")
    _kill_midway(proc, target, at_least=30)
    marks, vouched, rows = _chunks_done(target)
    assert marks > 0 and rows == vouched

    proc = _start_copy(source, target, "--data-only", "--resume")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert verify_databases(source, target, checksums=True).ok
