"""Follow mode: the initial copy from a slot's snapshot, then the source's changes streamed after it.

``start`` is idempotent across crashes: a stream already ``streaming`` is left alone (the subscription
runs inside the target server, not in bbops, so killing bbops loses nothing); a stream caught
``copying`` lost its snapshot with the process that held it, so its slot is dropped and the copy
starts over into emptied tables, which neither loses nor doubles a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from bbops.copy import state as copy_state
from bbops.copy.catalog import list_tables, prepare_session, select_tables
from bbops.copy.engine import CopyReport, copy_database
from bbops.copy.progress import ProgressSink
from bbops.core.report import TextOut
from bbops.errors import UsageError
from bbops.online import catalog, state, stream
from bbops.online.names import forward, reverse, stream_name
from bbops.online.stream import Lag


@dataclass
class FollowReport:
    stream: str
    phase: str
    tables: list[str] = field(default_factory=list)
    copy: CopyReport | None = None
    lag: Lag | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "stream": self.stream,
            "phase": self.phase,
            "tables": self.tables,
            "copy": self.copy.as_dict() if self.copy else None,
            "lag": self.lag.as_dict() if self.lag else None,
            "notes": self.notes,
        }

    def write_text(self, out: TextOut) -> None:
        if self.copy:
            self.copy.write_text(out)
        for note in self.notes:
            out.line(f"note: {note}")
        lag = self.lag
        behind = f"{lag.bytes:,} bytes, {lag.seconds} s behind" if lag and lag.bytes is not None else "lag unknown"
        out.line(f"stream {self.stream}: {self.phase} ({len(self.tables)} tables; {behind})")


def start(
    source_url: str,
    target_url: str,
    *,
    name: str = "copy",
    tables: Sequence[str] = (),
    jobs: int = 2,
    data_only: bool = False,
    rebuild_indexes: bool = False,
    truncate: bool = False,
    progress: ProgressSink | None = None,
) -> FollowReport:
    """Copy ``source_url`` into ``target_url`` and keep streaming its changes; returns once streaming."""
    names = forward(name)
    source = stream.open_session(source_url)
    target = stream.open_session(target_url)
    try:
        catalog.require_logical(source, "source")
        current = state.load(target, names.stream)
        if current is not None and current.phase in ("streaming", "switched"):
            return FollowReport(
                names.stream,
                current.phase,
                list(current.tables),
                lag=stream.lag(source, target, names) if current.phase == "streaming" else None,
                notes=["the stream was already running: nothing to copy"],
            )
        report = FollowReport(names.stream, "streaming")
        prepare_session(source)  # schema-qualified names, as the copy engine and the publication use them
        chosen = [t.qualified for t in select_tables(list_tables(source), tables)]
        resume = False
        if current is not None and current.phase == "copying":
            stream.drop(source, target, names)
            resume, truncate = _start_over(target, chosen, data_only)
            report.notes.append(
                "an earlier initial copy was interrupted and its snapshot is gone: copying the rows again, new slot"
            )
        if not chosen:
            raise UsageError("follow mode found no tables to copy on the source")
        catalog.require_identity(source, chosen)
        report.tables = chosen
        stream.ensure_marker(source)
        stream.ensure_marker(target)
        state.begin(target, names.stream, chosen)
        stream.create_publication(source, names, chosen)
        with stream.exported_slot(source_url, names) as snapshot:
            report.copy = copy_database(
                source_url,
                target_url,
                tables=chosen,
                jobs=jobs,
                data_only=data_only,
                rebuild_indexes=rebuild_indexes,
                truncate=truncate,
                resume=resume,
                progress=progress,
                snapshot=snapshot,
            )
        stream.subscribe(target, names, source_url)
        state.set_phase(target, names.stream, "streaming")
        report.lag = stream.lag(source, target, names)
        return report
    finally:
        source.close()
        target.close()


def _start_over(target: psycopg.Connection, chosen: list[str], data_only: bool) -> tuple[bool, bool]:
    """Empty what an interrupted initial copy loaded; returns the copy's (resume, truncate).

    Rows copied from the lost snapshot cannot be matched with a new slot's start, so every table's rows
    go; a full copy keeps the schema and the indexes it built (valid on empty tables) and resumes the rest.
    """
    if data_only:
        return False, True
    if not copy_state.exists(target):
        return False, False  # interrupted before the schema was made: a fresh full copy
    present = {t.qualified for t in list_tables(target)}
    for name in chosen:
        copy_state.forget_table(target, name)
    emptied = [sql.SQL(n) for n in chosen if n in present]  # catalog-quoted names
    if emptied:
        target.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(emptied)))
    return True, False


def status(source_url: str | None, target_url: str, name: str = "copy") -> FollowReport | None:
    """The stream's phase and, while it runs, its lag; None when there is no such stream."""
    names = forward(name)
    target = stream.open_session(target_url)
    try:
        current = state.load(target, names.stream)
        if current is None:
            return None
        report = FollowReport(names.stream, current.phase, list(current.tables))
        if current.phase == "streaming" and source_url:
            source = stream.open_session(source_url)
            try:
                report.lag = stream.lag(source, target, names)
            finally:
                source.close()
        return report
    finally:
        target.close()


def abort(source_url: str | None, target_url: str, name: str = "copy") -> list[str]:
    """Drop every replication object of the stream, both directions, and mark it ended."""
    target = stream.open_session(target_url)
    source = stream.open_session(source_url) if source_url else None
    try:
        dropped = stream.drop(source, target, forward(name))
        dropped += stream.drop(target, source, reverse(name))
        if state.load(target, stream_name(name)) is not None:
            state.set_phase(target, stream_name(name), "ended")
        return dropped
    finally:
        target.close()
        if source is not None:
            source.close()
