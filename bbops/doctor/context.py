"""What every check gets: the read-only session, the thresholds, and the optional inputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row


@dataclass(frozen=True)
class Limits:
    """Thresholds of the checks; the defaults follow pghero's and postgres-checkup's."""

    slow_mean_ms: float = 100.0  # a statement slower than this on average is "slow"
    top_statements: int = 10  # how many statements by total time are listed
    large_table_rows: int = 10_000  # a sequential scan over a table this big is reported
    largest_tables: int = 10  # sizes listed
    bloat_ratio: float = 0.3  # estimated wasted share of a relation...
    bloat_min_bytes: int = 1_000_000  # ...and at least this many wasted bytes
    dead_tuple_ratio: float = 0.2  # dead/live rows above this with at least dead_tuple_min dead rows
    dead_tuple_min: int = 1_000
    sequence_warning: float = 0.75  # share of the usable range a sequence or key has used
    sequence_error: float = 0.90
    xid_warning: float = 0.50  # share of the 2^31 transaction IDs before wraparound
    xid_error: float = 0.75
    cache_hit_min: float = 0.99
    cache_min_reads: int = 10_000  # blocks read + hit before the ratio means anything
    connections_warning: float = 0.80
    slot_retained_bytes: int = 1 << 30  # an active slot holding more WAL than this is reported
    session_seconds: float = 60.0  # a query running or a transaction idle for longer is reported


@dataclass(frozen=True)
class Probe:
    """One query the app runs, to be EXPLAINed (never executed)."""

    name: str
    sql: str
    source: str  # file:line, or the plan step it came from


@dataclass
class Context:
    conn: psycopg.Connection[Any]
    limits: Limits = field(default_factory=Limits)
    probes: Sequence[Probe] = ()
    compare_url: str | None = None

    @property
    def server_version(self) -> int:
        return int(self.conn.info.server_version)

    def rows(self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        with self.conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def value(self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Any:
        row = self.conn.execute(query, params).fetchone()
        return row[0] if row else None
