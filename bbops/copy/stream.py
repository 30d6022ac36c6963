"""Streaming one ``COPY ... TO STDOUT`` into one ``COPY ... FROM STDIN``, memory flat.

Why raw libpq instead of ``cursor.copy()``: psycopg's ``Copy.read()`` costs
about 2 µs of Python per row, which at 4 million rows is the whole time budget
of a copy. Here each row is one ``get_copy_data`` and one ``put_copy_data``
call (both C), and waiting for the network happens in ``poll()``, which
releases the GIL so parallel workers in other threads keep running (psycopg's
own libpq wrappers hold the GIL while they block, so both connections are put
in non-blocking mode and never block inside libpq).

Memory stays flat: rows are forwarded as they arrive, and before reading more
from the source everything queued for the target is flushed, so at most one
socket read (libpq's input buffer) is in flight per worker.
"""

from __future__ import annotations

import contextlib
import select
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import pq

from bbops.core import redact
from bbops.errors import MigrationError

# How often (in rows) the progress callback hears about a running stream.
PROGRESS_EVERY = 50_000


@dataclass
class StreamResult:
    rows: int
    bytes: int


def _wait(fd: int, events: int) -> None:
    poller = select.poll()
    poller.register(fd, events)
    poller.poll(1000)


def _fail(pgconn: pq.abc.PGconn, what: str) -> MigrationError:
    msg = pgconn.error_message.decode("utf-8", "replace").strip()
    return MigrationError(f"{what}: {redact.scrub(msg)}")


def _start(pgconn: pq.abc.PGconn, statement: str, expected: pq.ExecStatus, what: str) -> None:
    pgconn.send_query(statement.encode())
    while True:
        pgconn.flush()
        pgconn.consume_input()
        if not pgconn.is_busy():
            break
        _wait(pgconn.socket, select.POLLIN)
    res = pgconn.get_result()
    if res is None or res.status != expected:
        detail = res.error_message.decode("utf-8", "replace").strip() if res is not None else ""
        # Drain whatever else the server sent so the connection stays usable for rollback.
        while pgconn.get_result() is not None:
            pass
        raise MigrationError(f"{what}: {redact.scrub(detail) or 'unexpected response'}")


def _finish(pgconn: pq.abc.PGconn, what: str) -> int:
    """Collect the final result of a COPY (its row count); raise if the server reported an error."""
    error: str | None = None
    count = 0
    while True:
        while pgconn.is_busy():
            pgconn.consume_input()
            if pgconn.is_busy():
                _wait(pgconn.socket, select.POLLIN)
        res = pgconn.get_result()
        if res is None:
            break
        if res.status == pq.ExecStatus.COMMAND_OK:
            count = res.command_tuples or 0
        else:
            error = res.error_message.decode("utf-8", "replace").strip()
    if error:
        raise MigrationError(f"{what}: {redact.scrub(error)}")
    return count


def _flush_all(dst: pq.abc.PGconn) -> None:
    while dst.flush() == 1:
        _wait(dst.socket, select.POLLOUT | select.POLLIN)
        # The target may send a notice or an error while we push rows.
        dst.consume_input()


def stream(
    source: psycopg.Connection,
    target: psycopg.Connection,
    copy_out: str,
    copy_in: str,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> StreamResult:
    """Pipe ``copy_out`` on ``source`` into ``copy_in`` on ``target``.

    Both connections must be idle inside their transactions; they are left the
    same way (the caller commits). ``progress(rows, bytes)`` receives deltas.
    """
    src, dst = source.pgconn, target.pgconn
    for pgconn in (src, dst):
        # The caller's transaction must be open, or the COPY would commit on its own.
        if pgconn.transaction_status != pq.TransactionStatus.INTRANS:
            raise MigrationError("internal: copy stream started outside a transaction")
    _start(src, copy_out, pq.ExecStatus.COPY_OUT, "reading from the source failed")
    try:
        _start(dst, copy_in, pq.ExecStatus.COPY_IN, "writing to the target failed")
    except MigrationError:
        _abort_source(source)
        raise
    src.nonblocking = 1
    dst.nonblocking = 1
    rows = nbytes = 0
    last_rows = last_bytes = 0
    get, put = src.get_copy_data, dst.put_copy_data
    try:
        while True:
            # The hot loop: drain what libpq has buffered, one C call each way per row.
            n, data = get(1)
            while n > 0:
                if not put(data):  # 0: the non-blocking queue is full
                    _flush_all(dst)
                    while not put(data):
                        _flush_all(dst)
                rows += 1
                nbytes += n
                n, data = get(1)
            if n < 0:
                break  # -1: the COPY OUT is complete
            # The source's buffer is drained: report, push what we queued, wait for more.
            if progress is not None and rows - last_rows >= PROGRESS_EVERY:
                progress(rows - last_rows, nbytes - last_bytes)
                last_rows, last_bytes = rows, nbytes
            _flush_all(dst)
            _wait(src.socket, select.POLLIN)
            src.consume_input()
        sent = _finish(src, "reading from the source failed")
        while dst.put_copy_end(None) == 0:
            _flush_all(dst)
        _flush_all(dst)
        loaded = _finish(dst, "writing to the target failed")
    except MigrationError:
        _abort_target(target)
        raise
    except psycopg.OperationalError as exc:
        raise MigrationError(f"copy stream broke: {redact.scrub(str(exc))}") from None
    finally:
        src.nonblocking = 0
        dst.nonblocking = 0
    if loaded != sent:
        raise MigrationError(f"the source sent {sent} rows but the target loaded {loaded}")
    # ``rows`` counted messages (binary COPY adds a trailer message); the servers' own
    # counts are authoritative, so progress is corrected by the difference at the end.
    if progress is not None:
        progress(loaded - last_rows, nbytes - last_bytes)
    return StreamResult(rows=loaded, bytes=nbytes)


def _abort_source(conn: psycopg.Connection) -> None:
    # Best effort: the stream is already failing and its own error is the one to report.
    with contextlib.suppress(psycopg.Error):
        conn.cancel()


def _abort_target(conn: psycopg.Connection) -> None:
    pgconn = conn.pgconn
    try:
        if pgconn.transaction_status == pq.TransactionStatus.ACTIVE:
            pgconn.put_copy_end(b"bbops: copy aborted")
            while pgconn.get_result() is not None:
                pass
    except psycopg.Error:
        pass
