"""Turning tables and post-data items into jobs for the runner, and the work each job does.

A *chunk* is a range of a table's heap pages (``ctid`` bounds, served by a TID
range scan since Postgres 14), so two workers help even when one table is most
of the database. The first chunk has no lower bound and the last no upper
bound, so rows appended after planning are still copied. A chunk commits its
rows and its progress mark together (see ``copy_state``).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
import psycopg.sql

from bbops.copy import state as copy_state
from bbops.copy.catalog import Table
from bbops.copy.jobs import Job
from bbops.copy.progress import ProgressSink
from bbops.copy.schema import PostItem
from bbops.copy.stream import stream
from bbops.core import pg
from bbops.errors import BBopsError, UsageError

# The largest range one transaction copies (the unit a resume redoes).
CHUNK_BYTES = 1024 * 1024 * 1024
_UNITS = {"": 1, "b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4}
# A table larger than this many times its fair share (total / workers) is cut so workers share it.
SPLIT_OVER_SHARE = 1.25
# Postgres >= 14 serves ctid ranges with a TID range scan; older ones would scan the whole table per chunk.
MIN_SPLIT_MAJOR = 14

# Adding a foreign key locks its two tables (SHARE ROW EXCLUSIVE) in child-then-parent order;
# two keys of a cycle added at once would take them in opposite orders and deadlock. Adding
# NOT VALID is instant, so the adds go one at a time; the long VALIDATEs still run in parallel.
_ADD_KEY = threading.Lock()

# Ready jobs run in this order: constraints (instant), then index builds and keys, then copies by size.
P_ATTACH, P_INDEX, P_CHUNK = 3e15, 2e15, 0.0


def parse_size(text: str) -> int:
    """``--chunk-size``: ``64MB``, ``1GB``, ``16kB``, ``4096`` -> bytes (binary multiples, like Postgres settings)."""
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else None
    if not match or unit not in _UNITS or int(match.group(1)) <= 0:
        raise UsageError(f"--chunk-size {text!r}: expected a size such as 64MB or 1GB")
    return int(match.group(1)) * _UNITS[unit]


@dataclass
class Worker:
    """One thread's connections: the source inside the shared snapshot, the target for loading."""

    source: psycopg.Connection | None
    target: psycopg.Connection


def open_worker(source_url: str | None, target_url: str, snapshot: str | None, maintenance_work_mem: str) -> Worker:
    source = None
    if source_url:
        # Text travels as UTF-8 both ways, whatever the two databases' encodings.
        source = pg.connect(source_url, client_encoding="UTF8")
        source.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        source.read_only = True
        if snapshot:
            source.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        else:
            source.execute("SELECT 1")
    target = pg.connect(target_url, client_encoding="UTF8")
    # Losing the last commits in a target crash is harmless: their progress marks vanish with them.
    target.execute("SET synchronous_commit = off")
    current = pg.scalar(
        target, "SELECT setting::bigint * 1024 FROM pg_settings WHERE name = 'maintenance_work_mem'", kind=int
    )
    wanted = pg.scalar(target, "SELECT pg_size_bytes(%s)", [maintenance_work_mem], kind=int)
    if wanted > current:
        target.execute(f"SET maintenance_work_mem = {int(wanted // 1024)}")

    target.commit()
    return Worker(source, target)


def close_worker(worker: Worker) -> None:
    for conn in (worker.source, worker.target):
        if conn is not None:
            conn.close()


def cancel_worker(worker: Worker) -> None:
    for conn in (worker.source, worker.target):
        if conn is not None and not conn.closed:
            conn.cancel()


def chunk_count(table: Table, *, chunk_bytes: int, share: float, server_major: int, splittable: bool) -> int:
    """How many page ranges to cut ``table`` into.

    Splitting has a price: an uncut table is copied with the plain ``COPY table``
    fast path and loaded ``FREEZE`` (no later hint-bit rewrite or vacuum of its
    pages), while ranges go through a TID range scan and plain inserts. So a table
    is cut only when it is larger than ``chunk_bytes`` (resume granularity) or so
    much larger than a worker's fair ``share`` that it alone would set the pace.
    """
    if not splittable or server_major < MIN_SPLIT_MAJOR or table.blocks < 2:
        return 1
    count = math.ceil(table.bytes / chunk_bytes)
    if table.bytes > SPLIT_OVER_SHARE * share > 0:
        count = max(count, math.ceil(table.bytes / share))
    return max(1, min(count, table.blocks))


@dataclass
class ChunkSpec:
    table: Table
    index: int
    count: int
    blocks: int  # the table's size in pages when it was planned

    @property
    def key(self) -> str:
        return f"chunk {self.table.qualified} {self.index}"

    def where(self) -> str:
        lo = self.blocks * self.index // self.count
        hi = self.blocks * (self.index + 1) // self.count
        parts = []
        if self.index > 0:
            parts.append(f"ctid >= '({lo},0)'::tid")
        if self.index < self.count - 1:
            parts.append(f"ctid < '({hi},0)'::tid")
        return " AND ".join(parts)


@dataclass
class TableTally:
    """Per-table counters for the report and the progress sink."""

    chunks_left: int
    rows: int = 0
    bytes: int = 0
    started: float | None = None
    finished: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def chunk_job(
    spec: ChunkSpec, columns: list[str], binary: bool, freeze: bool, tally: TableTally, progress: ProgressSink
) -> Callable[[Worker], None]:
    table = spec.table.qualified
    cols = ", ".join(columns)
    fmt = "binary" if binary else "text"
    where = spec.where()
    if where:
        copy_out = f"COPY (SELECT {cols} FROM ONLY {table} WHERE {where}) TO STDOUT (FORMAT {fmt})"
    else:
        copy_out = f"COPY {table} ({cols}) TO STDOUT (FORMAT {fmt})"
    # FREEZE is legal only when the table was created or truncated in this transaction;
    # it saves the later hint-bit rewrite and vacuum of every page.
    copy_in = f"COPY {table} ({cols}) FROM STDIN (FORMAT {fmt}{', FREEZE' if freeze else ''})"

    def run(worker: Worker) -> None:
        with tally.lock:
            if tally.started is None:
                tally.started = time.monotonic()
                progress.table_started(table, spec.table.rows_estimate)
        target = worker.target
        # Opens the transaction that will hold both the rows and their progress mark.
        target.execute("SET LOCAL synchronous_commit = off")
        if freeze:
            target.execute(f"TRUNCATE {table}")
        if worker.source is None:  # data jobs run on workers opened with the source (open_worker)
            raise BBopsError(f"copy {table}: the worker has no source connection")
        result = stream(worker.source, target, copy_out, copy_in, progress=lambda r, b: progress.advance(table, r, b))
        copy_state.mark(target, spec.key, table=table, rows=result.rows, nbytes=result.bytes)
        target.commit()
        with tally.lock:
            tally.rows += result.rows
            tally.bytes += result.bytes
            tally.chunks_left -= 1
            last = tally.chunks_left == 0
            if last:
                tally.finished = time.monotonic()
        if last:
            progress.table_done(table)

    return run


def post_job(item: PostItem, *, restore: bool, progress: ProgressSink) -> Callable[[Worker], None]:
    """Create one post-data object and record it, atomically (``restore``: it was dropped by us)."""

    def finish(target: psycopg.Connection) -> None:
        if restore:
            copy_state.restored(target, item.key)
        else:
            copy_state.mark(target, f"post {item.key}", table=item.table)
        target.commit()

    def run(worker: Worker) -> None:
        target = worker.target
        started = time.monotonic()
        if item.kind == "fk":
            present = pg.scalar(
                target,
                "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass AND conname = %s)",
                [item.table, item.name],
                kind=bool,
            )
            if not present:
                with _ADD_KEY:
                    target.execute(item.sql)
                    target.commit()
            if item.validate:
                # A separate step: VALIDATE only takes SHARE UPDATE EXCLUSIVE on the child and
                # ROW SHARE on the parent, so several keys to one parent validate at once.
                target.execute(
                    psycopg.sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {}").format(
                        psycopg.sql.SQL(item.table), psycopg.sql.Identifier(item.name)
                    )
                )
        else:
            target.execute(item.sql)
        finish(target)
        progress.step(f"{item.kind} {item.key}: done in {time.monotonic() - started:.1f}s")

    return run


def analyze_job(table: str) -> Callable[[Worker], None]:
    def run(worker: Worker) -> None:
        worker.target.execute(f"ANALYZE {table}")
        copy_state.mark(worker.target, f"analyze {table}", table=table)
        worker.target.commit()

    return run


def post_jobs(
    items: list[PostItem],
    chunk_keys: dict[str, list[str]],
    done: set[str],
    *,
    restore: bool,
    progress: ProgressSink,
    sizes: dict[str, int],
) -> list[Job[Worker]]:
    """Jobs for indexes, constraints and foreign keys, wired to wait for the rows they need."""
    indexes: dict[str, list[str]] = {}
    built: dict[str, list[str]] = {}  # index and constraint jobs per table
    for item in items:
        if item.kind == "index":
            indexes.setdefault(item.table, []).append(f"post {item.key}")
        if item.kind in ("index", "attach"):
            built.setdefault(item.table, []).append(f"post {item.key}")
    jobs: list[Job[Worker]] = []
    for item in items:
        key = f"post {item.key}"
        if (not restore and key in done) or item.kind == "other":
            continue
        deps = set(chunk_keys.get(item.table, []))
        size = sizes.get(item.table, 0)
        if item.kind == "index":
            priority = P_INDEX + size
        elif item.kind == "attach":
            # ADD CONSTRAINT takes an exclusive lock: wait until the table's builds are over.
            deps |= set(indexes.get(item.table, []))
            priority = P_ATTACH
        else:  # fk: after both tables are loaded and indexed, so its locks never wait on a build
            parent = item.parent or item.table
            deps |= set(chunk_keys.get(parent, []))
            deps |= set(built.get(item.table, [])) | set(built.get(parent, []))
            priority = P_INDEX + size
        jobs.append(Job(key, post_job(item, restore=restore, progress=progress), deps, priority, item.kind, item.table))
    return jobs
