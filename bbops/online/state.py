"""Where a stream is in its life, kept on the new database in ``bbops.online_streams``.

The new database is the one bbops always reaches (it becomes production); a re-run after a crash
reads the phase here and carries on: ``copying`` (the initial copy was interrupted: its snapshot is
gone, so the copy starts over), ``streaming`` (forward stream running), ``switched`` (writes go to the
new database; the reverse stream, if any, runs until ``validation_until``), ``ended`` (all replication
objects dropped), ``rolled-back`` (production went back to the old database).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from bbops.core import bookkeeping

PHASES = ("copying", "streaming", "switched", "ended", "rolled-back")


@dataclass(frozen=True)
class StreamState:
    stream: str
    phase: str
    tables: tuple[str, ...]
    reverse: bool
    started_at: datetime
    switched_at: datetime | None
    freeze_seconds: float | None
    validation_until: datetime | None

    def as_dict(self) -> dict[str, object]:
        return {
            "stream": self.stream,
            "phase": self.phase,
            "tables": list(self.tables),
            "reverse": self.reverse,
            "started_at": self.started_at.isoformat(),
            "switched_at": self.switched_at.isoformat() if self.switched_at else None,
            "freeze_seconds": self.freeze_seconds,
            "validation_until": self.validation_until.isoformat() if self.validation_until else None,
        }


def ensure(conn: psycopg.Connection) -> None:
    bookkeeping.ensure(conn)  # bbops.online_streams is part of schema bbops


def _exists(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT to_regclass('bbops.online_streams') IS NOT NULL").fetchone()
    return bool(row and row[0])


def load(conn: psycopg.Connection, stream: str) -> StreamState | None:
    if not _exists(conn):
        return None
    row = conn.execute(
        "SELECT stream, phase, tables, reverse, started_at, switched_at, freeze_seconds, validation_until"
        " FROM bbops.online_streams WHERE stream = %s",
        [stream],
    ).fetchone()
    return None if row is None else StreamState(row[0], row[1], tuple(row[2]), *row[3:])


def load_all(conn: psycopg.Connection) -> list[StreamState]:
    if not _exists(conn):
        return []
    rows = conn.execute(
        "SELECT stream, phase, tables, reverse, started_at, switched_at, freeze_seconds, validation_until"
        " FROM bbops.online_streams ORDER BY started_at"
    ).fetchall()
    return [StreamState(r[0], r[1], tuple(r[2]), *r[3:]) for r in rows]


def begin(conn: psycopg.Connection, stream: str, tables: list[str]) -> None:
    ensure(conn)
    conn.execute(
        "INSERT INTO bbops.online_streams (stream, phase, tables) VALUES (%s, 'copying', %s)"
        " ON CONFLICT (stream) DO UPDATE SET phase = 'copying', tables = EXCLUDED.tables, started_at = now(),"
        "   switched_at = NULL, freeze_seconds = NULL, validation_until = NULL, reverse = false, updated_at = now()",
        [stream, tables],
    )


def set_phase(conn: psycopg.Connection, stream: str, phase: str, **fields: object) -> None:
    assert phase in PHASES, phase
    allowed = {"reverse", "switched_at", "freeze_seconds", "validation_until"}
    extra = "".join(f", {k} = %({k})s" for k in fields if k in allowed)
    conn.execute(
        f"UPDATE bbops.online_streams SET phase = %(phase)s, updated_at = now(){extra} WHERE stream = %(stream)s",
        {"phase": phase, "stream": stream, **fields},
    )
