"""Resuming after the source changed: are the finished chunks still what the source holds?

A resumed copy reads the rest of each table from a *new* snapshot. A chunk is a
range of heap pages, and a row updated on the source between the two runs gets
a new version, often on another page: from a finished range into one still to
copy (the row would arrive twice), or the other way round (it would be lost);
an update in place or a delete would leave a stale row behind. So before any
new chunk runs, for every table with finished chunks, the source's rows in the
finished ranges (read in the new snapshot) are compared with the target's rows
(which are exactly the finished chunks' rows: each chunk commits its rows and
its mark together): row count plus an order-independent checksum of the copied
columns' text (md5 per row, its two 64-bit halves summed). Equal: the finished
chunks stand. Different: the table is copied again from scratch. The copy says
which for every table it checked.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg

from bbops.copy.catalog import Table
from bbops.copy.progress import ProgressSink
from bbops.core import pg


def finished_runs(indexes: Iterable[int]) -> list[tuple[int, int]]:
    """Contiguous runs ``(first, last)`` of finished chunk indexes."""
    runs: list[tuple[int, int]] = []
    for i in sorted(set(indexes)):
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def range_filter(runs: list[tuple[int, int]], chunks: int, blocks: int) -> str:
    """A WHERE condition selecting the pages of the finished runs, cut as ``ChunkSpec.where`` cuts them."""
    parts = []
    for first, last in runs:
        bounds = []
        if first > 0:
            bounds.append(f"ctid >= '({blocks * first // chunks},0)'::tid")
        if last < chunks - 1:
            bounds.append(f"ctid < '({blocks * (last + 1) // chunks},0)'::tid")
        if not bounds:
            return "true"
        parts.append("(" + " AND ".join(bounds) + ")")
    return " OR ".join(parts) or "false"


def _fingerprint(conn: psycopg.Connection, table: str, columns: list[str], where: str) -> tuple[int, int, int]:
    row = "ROW(" + ", ".join(f"t.{c}" for c in columns) + ")" if columns else "ROW(0)"
    sql = (
        "SELECT count(*), coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint), 0),"
        " coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint), 0)"
        f" FROM (SELECT md5({row}::text) AS h FROM ONLY {table} t WHERE {where}) s"
    )
    count, low, high = pg.one(conn.execute(sql), f"fingerprint {table}")
    return int(count), int(low), int(high)


def changed_tables(
    source: psycopg.Connection,
    target: psycopg.Connection,
    tables: list[Table],
    finished: dict[str, tuple[list[int], int, int]],
    columns: dict[str, list[str]],
    progress: ProgressSink,
    notes: list[str],
) -> set[str]:
    """Tables whose finished chunks no longer match the source (``finished``: indexes, chunks, blocks).

    ``source`` reads in the snapshot the rest of the copy uses; ``target`` must be outside a transaction.
    """
    stale: set[str] = set()
    for table in tables:
        name = table.qualified
        if name not in finished:
            continue
        indexes, chunks, blocks = finished[name]
        where = range_filter(finished_runs(indexes), chunks, blocks)
        cols = columns[name]
        src = _fingerprint(source, name, cols, where)
        with target.transaction():
            dst = _fingerprint(target, name, cols, "true")
        if src == dst:
            line = (
                f"{name}: {len(indexes)} finished chunk(s) checked against the source ({dst[0]} rows): unchanged, kept"
            )
        else:
            stale.add(name)
            line = (
                f"{name}: changed on the source since the interrupted run ({len(indexes)} finished chunk(s) hold "
                f"{dst[0]} rows, the source now {src[0]} in those pages or different contents): copying it again"
            )
        progress.step(line)
        notes.append(line)
    return stale
