"""One direction of a logical replication stream: publication, slot, subscription, marker, lag, teardown.

The publication and the slot live on the sending database, the subscription on the receiving one; the
subscription is attached to a slot bbops made itself (``create_slot = false``) because the slot must exist
before the copy (its exported snapshot is what the copy reads) and because a subscription cannot create
its slot on the same server it runs on (the command would wait for itself).

A *marker* row (``bbops.online_marker``, published with the tables) is how bbops knows a receiver has
applied everything up to a point: the receiver applies transactions in commit order, so once the row
written after a freeze is there, every write committed before the freeze is there too. Waiting on the
slot's ``confirmed_flush_lsn`` instead would add the receiver's status interval (10 s by default).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql

from bbops.core import bookkeeping, pg
from bbops.errors import MigrationError
from bbops.online.names import MARKER_TABLE, StreamNames


@dataclass(frozen=True)
class Lag:
    """How far a receiver is behind: WAL bytes the slot has not confirmed, seconds since the last apply."""

    bytes: int | None
    seconds: float | None

    def as_dict(self) -> dict[str, object]:
        return {"bytes": self.bytes, "seconds": self.seconds}


def open_session(url: str) -> psycopg.Connection:
    """An autocommit session that is read-write even on a frozen database (bbops' own work must go on)."""
    conn = pg.connect(url, autocommit=True)
    conn.execute("SET default_transaction_read_only = off")
    return conn


def ensure_marker(conn: psycopg.Connection) -> None:
    bookkeeping.ensure(conn)  # bbops.online_marker is part of schema bbops


def _exists(conn: psycopg.Connection, query: str, name: str) -> bool:
    return conn.execute(query, [name]).fetchone() is not None


def create_publication(conn: psycopg.Connection, names: StreamNames, tables: Sequence[str]) -> None:
    """Publish ``tables`` and the marker under the stream's name (kept if a crashed run made it already)."""
    if _exists(conn, "SELECT 1 FROM pg_publication WHERE pubname = %s", names.object):
        return
    targets = sql.SQL(", ").join(sql.SQL(t) for t in [*tables, MARKER_TABLE])  # catalog-quoted names
    conn.execute(sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(sql.Identifier(names.object), targets))


@contextmanager
def exported_slot(url: str, names: StreamNames) -> Iterator[str]:
    """Create the stream's slot and yield the snapshot it exported, valid until the block ends.

    The snapshot is the instant the slot starts decoding from: a copy that reads it and a subscription
    that streams from the slot together hold every row exactly once. It stays importable only while
    this replication connection is open and idle, hence the context manager.
    """
    conn = pg.connect(url, autocommit=True, replication="database")
    try:
        try:
            row = conn.execute(
                sql.SQL("CREATE_REPLICATION_SLOT {} LOGICAL pgoutput EXPORT_SNAPSHOT").format(
                    sql.Identifier(names.object)
                )
            ).fetchone()
        except psycopg.Error as exc:
            raise MigrationError(f"creating replication slot {names.object} failed: {exc}".strip()) from None
        if row is None:
            raise MigrationError(f"creating replication slot {names.object} returned nothing")
        yield str(row[2])
    finally:
        conn.close()


def create_slot(conn: psycopg.Connection, names: StreamNames) -> None:
    """A slot without a snapshot (the reverse stream starts from "now"); kept if it exists."""
    if _exists(conn, "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", names.object):
        return
    conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", [names.object])


def subscribe(conn: psycopg.Connection, names: StreamNames, sender_url: str) -> None:
    """Attach a subscription on ``conn``'s database to the sender's slot; no initial copy.

    ``origin = none`` keeps a change that arrived by replication from being sent back again, which
    matters once streams run both ways.
    """
    if _exists(conn, "SELECT 1 FROM pg_subscription WHERE subname = %s", names.object):
        return
    options = "create_slot = false, copy_data = false, slot_name = {slot}"
    major = conn.info.server_version // 10000
    if major >= 16:
        options += ", origin = none"
    conn.execute(
        sql.SQL("CREATE SUBSCRIPTION {name} CONNECTION {dsn} PUBLICATION {name} WITH (" + options + ")").format(
            name=sql.Identifier(names.object), dsn=sql.Literal(sender_url), slot=sql.Literal(names.object)
        )
    )


def lag(sender: psycopg.Connection, receiver: psycopg.Connection, names: StreamNames) -> Lag:
    """WAL the slot still holds for the receiver, and seconds since the receiver last heard of a commit."""
    row = sender.execute(
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint"
        " FROM pg_replication_slots WHERE slot_name = %s",
        [names.object],
    ).fetchone()
    behind = int(row[0]) if row and row[0] is not None else None
    row = receiver.execute(
        "SELECT extract(epoch FROM now() - latest_end_time)::float FROM pg_stat_subscription"
        " WHERE subname = %s AND relid IS NULL",
        [names.object],
    ).fetchone()
    seconds = float(row[0]) if row and row[0] is not None and behind else 0.0 if behind == 0 else None
    return Lag(behind, round(seconds, 3) if seconds is not None else None)


def write_marker(sender: psycopg.Connection, names: StreamNames) -> str:
    token = uuid.uuid4().hex
    sender.execute("INSERT INTO bbops.online_marker (stream, token) VALUES (%s, %s)", [names.object, token])
    return token


def wait_for_marker(receiver: psycopg.Connection, names: StreamNames, token: str, timeout: float) -> float | None:
    """Seconds until the marker arrived on the receiver, or None if it did not within ``timeout``."""
    started = time.monotonic()
    delay = 0.01
    while True:
        if _exists(receiver, "SELECT 1 FROM bbops.online_marker WHERE token = %s", token):
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def caught_up(
    sender: psycopg.Connection, receiver: psycopg.Connection, names: StreamNames, timeout: float
) -> float | None:
    """Write a marker on the sender and wait for it: seconds it took, or None when the stream is behind."""
    return wait_for_marker(receiver, names, write_marker(sender, names), timeout)


def drop(sender: psycopg.Connection | None, receiver: psycopg.Connection | None, names: StreamNames) -> list[str]:
    """Remove the stream's subscription, slot and publication, whichever exist; returns what was dropped.

    Dropping the subscription drops its slot on the sender too when the sender answers; a slot left
    behind (the subscription was never made, or the sender was unreachable) is dropped here, because a
    forgotten slot keeps its server's WAL forever.
    """
    dropped: list[str] = []
    name = names.object
    slot_query = "SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s"
    had_slot = sender is not None and _exists(sender, slot_query, name)
    if receiver is not None and _exists(receiver, "SELECT 1 FROM pg_subscription WHERE subname = %s", name):
        ident = sql.Identifier(name)
        if sender is not None:
            # Detach the slot first and drop it below through our own session. A plain DROP SUBSCRIPTION
            # connects to the sender to drop the slot while holding its lock on pg_subscription; when both
            # databases share a server (the local backend, tests) the sender's new walsender can need that
            # lock to start, and the two wait for each other forever.
            receiver.execute(sql.SQL("ALTER SUBSCRIPTION {} DISABLE").format(ident))
            receiver.execute(sql.SQL("ALTER SUBSCRIPTION {} SET (slot_name = NONE)").format(ident))
        receiver.execute(sql.SQL("DROP SUBSCRIPTION {}").format(ident))
        dropped.append(f"subscription {name}")
    if sender is not None:
        row = sender.execute(slot_query, [name]).fetchone()
        if row is not None:
            if row[0] is not None:
                sender.execute("SELECT pg_terminate_backend(%s)", [row[0]])
                _wait_inactive(sender, name)
            sender.execute("SELECT pg_drop_replication_slot(%s)", [name])
        if had_slot:
            dropped.append(f"slot {name}")
        if _exists(sender, "SELECT 1 FROM pg_publication WHERE pubname = %s", name):
            sender.execute(sql.SQL("DROP PUBLICATION {}").format(sql.Identifier(name)))
            dropped.append(f"publication {name}")
    return dropped


def _wait_inactive(conn: psycopg.Connection, slot: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", [slot]).fetchone()
        if row is None or not row[0]:
            return
        time.sleep(0.05)
