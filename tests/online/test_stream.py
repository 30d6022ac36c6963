"""Follow mode, the switch and the reverse stream on a real Postgres (wal_level = logical)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from bbops.copy.verify import verify_databases
from bbops.errors import UsageError
from bbops.online import follow
from bbops.online.reverse import end_expired, reverse_caught_up, roll_back
from bbops.online.status import stream_status
from bbops.online.switch import switch


class Writer(threading.Thread):
    """The app: commits an insert and an update at a steady rate, logging only what was committed."""

    def __init__(self, url: str, every: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.url, self.every = url, every
        self.committed: list[int] = []
        self.updated: dict[int, int] = {}
        self.refused: list[str] = []
        self._halt = threading.Event()

    def run(self) -> None:
        conn: psycopg.Connection | None = None
        n = 0
        while not self._halt.is_set():
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.url, autocommit=True)
                n += 1
                row = conn.execute(
                    "INSERT INTO orders (customer_id, total) VALUES (%s, %s) RETURNING id", [1 + n % 200, n]
                ).fetchone()
                assert row is not None
                self.committed.append(row[0])
                target = 1 + n % 5000
                conn.execute("UPDATE orders SET total = %s WHERE id = %s", [n, target])
                self.updated[target] = n
            except psycopg.Error as exc:
                self.refused.append(type(exc).__name__)
                if conn is not None:
                    conn.close()
                conn = None
            time.sleep(self.every)
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        self._halt.set()
        self.join(10)


def _scalar(url: str, query: str, params: list[object] | None = None) -> object:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query, params).fetchone()
        assert row is not None
        return row[0]


def _objects(url: str) -> int:
    return int(
        _scalar(
            url,
            "SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'bbops%%')"
            " + (SELECT count(*) FROM pg_publication WHERE pubname LIKE 'bbops%%')"
            " + (SELECT count(*) FROM pg_subscription WHERE subname LIKE 'bbops%%'"
            "    AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()))",
        )  # type: ignore[call-overload]  # _scalar returns object; this query returns a bigint
    )


def test_every_write_committed_during_follow_and_switch_is_on_the_target(old_new: tuple[str, str]) -> None:
    old, new = old_new
    writer = Writer(old)
    writer.start()
    time.sleep(0.3)
    report = follow.start(old, new)
    assert report.phase == "streaming" and report.copy is not None and report.copy.rows >= 5200
    time.sleep(0.5)
    done = switch(old, new)
    time.sleep(0.3)  # the writer keeps trying against the frozen old database
    writer.stop()

    assert writer.refused, "writes after the freeze must fail loudly"
    assert len(writer.committed) > 20
    on_target = _scalar(new, "SELECT count(*) FROM orders WHERE id = ANY(%s)", [writer.committed])
    assert on_target == len(writer.committed)
    for order_id, total in list(writer.updated.items())[-20:]:
        assert _scalar(new, "SELECT total::int FROM orders WHERE id = %s", [order_id]) == total
    assert verify_databases(old, new, checksums=True, tables=["public.*"]).ok
    assert done.freeze_seconds < 5 and done.verified_tables == 2
    # Sequences came forward: the new database's next id is past everything the old one handed out.
    new_id = _scalar(new, "INSERT INTO orders (customer_id, total) VALUES (1, 1) RETURNING id")
    assert isinstance(new_id, int) and new_id > max(writer.committed)
    with psycopg.connect(old, autocommit=True) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("INSERT INTO customers (email) VALUES ('late@example.com')")
    assert _objects(old) == 0 and _objects(new) == 0  # the forward stream is gone once switched


def test_reverse_stream_carries_new_writes_back_and_rollback_loses_nothing(old_new: tuple[str, str]) -> None:
    old, new = old_new
    follow.start(old, new)
    done = switch(old, new, with_reverse=True, validation_days=7)
    assert done.reverse and done.validation_until is not None
    with psycopg.connect(new, autocommit=True) as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "INSERT INTO orders (customer_id, total) SELECT 1, g FROM generate_series(1, 50) g RETURNING id"
            ).fetchall()
        ]
        conn.execute("UPDATE customers SET email = 'changed@example.com' WHERE id = 7")
        conn.execute("DELETE FROM orders WHERE id = 3")
    assert reverse_caught_up(old, new, timeout=10) is True

    back = roll_back(old, new)
    assert back.caught_up and back.reverse
    assert _scalar(old, "SELECT count(*) FROM orders WHERE id = ANY(%s)", [ids]) == 50
    assert _scalar(old, "SELECT email FROM customers WHERE id = 7") == "changed@example.com"
    assert _scalar(old, "SELECT count(*) FROM orders WHERE id = 3") == 0
    # The old database takes writes again, with ids past the new database's.
    again = _scalar(old, "INSERT INTO orders (customer_id, total) VALUES (1, 1) RETURNING id")
    assert isinstance(again, int) and again > max(ids)
    assert _objects(old) == 0 and _objects(new) == 0


def test_rollback_without_a_reverse_stream_is_refused_unless_loss_is_accepted(old_new: tuple[str, str]) -> None:
    old, new = old_new
    follow.start(old, new)
    switch(old, new)
    with psycopg.connect(new, autocommit=True) as conn:
        conn.execute("INSERT INTO customers (email) VALUES ('only-on-new@example.com')")
    with pytest.raises(UsageError, match="accept-data-loss"):
        roll_back(old, new)
    # Refused: the new database still takes writes, the old one is still frozen.
    _scalar(new, "INSERT INTO customers (email) VALUES ('still-new@example.com') RETURNING id")
    with psycopg.connect(old, autocommit=True) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("INSERT INTO customers (email) VALUES ('x@example.com')")
    back = roll_back(old, new, accept_data_loss=True)
    assert not back.caught_up and back.notes
    _scalar(old, "INSERT INTO customers (email) VALUES ('writable-again@example.com') RETURNING id")


def test_a_table_without_a_primary_key_is_refused_before_anything_is_created(old_new: tuple[str, str]) -> None:
    old, new = old_new
    with psycopg.connect(old, autocommit=True) as conn:
        conn.execute("CREATE TABLE audit (at timestamptz, what text)")
    with pytest.raises(UsageError, match=r"public\.audit.*REPLICA IDENTITY FULL"):
        follow.start(old, new)
    assert _objects(old) == 0
    # The app can still update the table: no publication makes the source refuse it.
    with psycopg.connect(old, autocommit=True) as conn:
        conn.execute("INSERT INTO audit VALUES (now(), 'x')")
        conn.execute("UPDATE audit SET what = 'y'")


def test_killed_during_the_initial_copy_it_starts_over_without_losing_or_doubling(old_new: tuple[str, str]) -> None:
    old, new = old_new
    with psycopg.connect(old, autocommit=True) as conn:
        conn.execute("INSERT INTO orders (customer_id, total) SELECT 1 + g % 200, g FROM generate_series(1, 400000) g")
    env = {**os.environ, "BBOPS_DEBUG": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bbops", "copy", "--follow", "--jobs", "1", "--source", old, "--target", new],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            with psycopg.connect(old, autocommit=True) as conn:
                if conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'bbops_fwd_copy'").fetchone():
                    break
            time.sleep(0.02)
        else:
            pytest.fail("the follow copy never created its slot")
        time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with psycopg.connect(old, autocommit=True) as conn:
        conn.execute("INSERT INTO orders (customer_id, total) SELECT 1, g FROM generate_series(1, 100) g")
        conn.execute("UPDATE orders SET note = 'after the kill' WHERE id <= 10")

    report = follow.start(old, new)
    assert report.phase == "streaming"
    assert any("starting" in n or "again" in n for n in report.notes)
    with psycopg.connect(old, autocommit=True) as conn:
        conn.execute("INSERT INTO orders (customer_id, total) SELECT 2, g FROM generate_series(1, 100) g")
    switch(old, new)  # verifies with checksums before switching
    assert _scalar(new, "SELECT count(*) FROM orders") == _scalar(old, "SELECT count(*) FROM orders")
    assert _scalar(new, "SELECT count(*) FROM orders WHERE note = 'after the kill'") == 10


def test_status_lists_the_streams_objects_and_abort_drops_them(old_new: tuple[str, str]) -> None:
    old, new = old_new
    follow.start(old, new, name="Cut over")
    status = stream_status(old, new, "Cut over")
    assert status["phase"] == "streaming" and status["stream"] == "cut_over"
    kinds = {(o["database"], o["kind"]) for o in status["objects"]}
    assert kinds == {("source", "slot"), ("source", "publication"), ("target", "subscription")}
    dropped = follow.abort(old, new, "Cut over")
    assert len(dropped) == 3 and _objects(old) == 0 and _objects(new) == 0
    assert stream_status(old, new, "Cut over")["phase"] == "ended"


def test_reverse_streams_end_when_their_validation_period_is_over(old_new: tuple[str, str]) -> None:
    old, new = old_new
    follow.start(old, new)
    switch(old, new, with_reverse=True, validation_days=7)
    assert end_expired(old, new) == []  # still inside the period
    dropped = end_expired(old, new, now=datetime.now(UTC) + timedelta(days=8))
    assert len(dropped) == 3 and _objects(old) == 0 and _objects(new) == 0
