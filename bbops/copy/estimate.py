"""Before the real copy: how big the source's selected tables are and how long copying them may take.

``estimate_copy`` reads the catalogs (table size with TOAST, index size, estimated rows) and times a
short binary ``COPY ... TO STDOUT`` of the largest selected table (at most ``sample_bytes`` or
``sample_seconds``, whichever comes first) in a read-only session, so it is safe on the old
production database. The estimate divides each table's size by the sampled read rate and spreads
the tables over the copy's workers (a table is not split here, so the largest one is a floor).

What it leaves out, and says so: the target's write rate (WAL, foreign-key checks), index
builds after the load, and the network between the two servers when they are far apart -- the
sample reads over the same connection the copy would use, so a slow link does show in it.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from bbops.copy.catalog import list_tables, prepare_session, select_tables
from bbops.core import pg
from bbops.core.report import human_bytes

SAMPLE_BYTES = 32 * 1024 * 1024
SAMPLE_SECONDS = 2.0


@dataclass(frozen=True)
class TableSize:
    table: str
    rows_estimate: int | None  # None: never analyzed (Postgres keeps no estimate yet)
    table_bytes: int  # heap + TOAST: what the copy reads
    index_bytes: int  # rebuilt on the target, not read
    seconds: float  # the estimated read time at the sampled rate


@dataclass
class CopyEstimate:
    tables: list[TableSize] = field(default_factory=list)
    jobs: int = 1
    sample_table: str | None = None
    sample_bytes: int = 0
    sample_seconds: float = 0.0
    error: str | None = None  # why there is no estimate (the source could not be read)

    @property
    def rate(self) -> float | None:
        """Bytes per second the sample read (None: nothing to sample)."""
        if not self.sample_bytes or self.sample_seconds <= 0:
            return None
        return self.sample_bytes / self.sample_seconds

    @property
    def total_bytes(self) -> int:
        return sum(t.table_bytes for t in self.tables)

    @property
    def seconds(self) -> float:
        """Wall time over ``jobs`` workers: the larger of the biggest table and an even share of all."""
        if not self.tables:
            return 0.0
        return max(max(t.seconds for t in self.tables), sum(t.seconds for t in self.tables) / self.jobs)

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "rate_bytes_per_second": self.rate,
            "total_bytes": self.total_bytes,
            "seconds": self.seconds,
        }

    def lines(self, *, limit: int = 15) -> list[str]:
        if self.error:
            return [f"no estimate: {self.error}"]
        rate = self.rate
        head = f"{len(self.tables)} table(s), {human_bytes(self.total_bytes)} at the source; " + (
            f"{human_seconds(self.seconds)} with {self.jobs} job(s) at the sampled "
            f"{human_bytes(rate)}/s read rate ({self.sample_table}), plus the target's writes and index builds"
            if rate
            else "no rows to sample"
        )
        out = [head]
        biggest = sorted(self.tables, key=lambda t: t.table_bytes, reverse=True)
        for t in biggest[:limit]:
            rows = f"~{t.rows_estimate:,} rows" if t.rows_estimate is not None else "rows unknown (never analyzed)"
            out.append(
                f"  {t.table}: {rows}, {human_bytes(t.table_bytes)} "
                f"(+{human_bytes(t.index_bytes)} indexes), {human_seconds(t.seconds)}"
            )
        if len(biggest) > limit:
            out.append(f"  ... and {len(biggest) - limit} smaller table(s)")
        return out


def human_seconds(s: float) -> str:
    if s < 1:
        return "under 1 s"
    if s < 120:
        return f"about {s:.0f} s"
    if s < 7200:
        return f"about {s / 60:.0f} min"
    return f"about {s / 3600:.1f} h"


_SIZES = """
SELECT c.oid::regclass::text, pg_table_size(c.oid), pg_indexes_size(c.oid), c.reltuples::bigint
FROM pg_class c WHERE c.oid = ANY(%s)
"""


def estimate_copy(
    source_url: str,
    *,
    tables: tuple[str, ...] = (),
    jobs: int = 2,
    sample_bytes: int = SAMPLE_BYTES,
    sample_seconds: float = SAMPLE_SECONDS,
) -> CopyEstimate:
    """Sizes of the tables ``tables`` selects (as the copy selects them) and a timed read sample."""
    with pg.connection(source_url, application_name="bbops copy estimate") as conn:
        conn.read_only = True
        prepare_session(conn)
        chosen = select_tables(list_tables(conn), tables)
        sizes = {
            name: (int(size), int(index), int(rows) if rows >= 0 else None)
            for name, size, index, rows in conn.execute(_SIZES, [[t.oid for t in chosen]]).fetchall()
        }
        estimate = CopyEstimate(jobs=max(1, jobs))
        largest = max(chosen, key=lambda t: sizes[t.qualified][0], default=None)
        if largest is not None and sizes[largest.qualified][0] > 0:
            estimate.sample_table = largest.qualified
            estimate.sample_bytes, estimate.sample_seconds = _sample(
                conn, largest.qualified, sample_bytes, sample_seconds
            )
        conn.rollback()
    rate = estimate.rate
    for t in chosen:
        size, index, rows = sizes[t.qualified]
        estimate.tables.append(TableSize(t.qualified, rows, size, index, size / rate if rate else 0.0))
    return estimate


def _sample(conn: psycopg.Connection, table: str, limit_bytes: int, limit_seconds: float) -> tuple[int, float]:
    """Read the start of ``table`` as the copy reads it (binary COPY); bytes read and seconds taken."""
    query = sql.SQL("COPY (SELECT * FROM {}) TO STDOUT (FORMAT binary)").format(sql.SQL(table))
    read = 0
    started = last = time.perf_counter()
    try:
        with conn.cursor() as cur, cur.copy(query) as copy:
            for chunk in copy:
                read += len(chunk)
                last = time.perf_counter()
                if read >= limit_bytes or last - started >= limit_seconds:
                    # Leaving the block with an exception makes psycopg cancel the COPY on the
                    # server; a plain `break` would leave the connection mid-COPY.
                    raise _Enough
    except _Enough:
        pass
    return read, last - started


class _Enough(Exception):
    """The sample has read enough."""
