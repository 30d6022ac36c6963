"""The switch: freeze the old database, let the new one catch up, and hand writes over in seconds.

Order matters and each step is there for a reason:
1. freeze the source (``freeze``): from here on the app's writes to it fail loudly;
2. a marker written after the freeze reaches the target: every committed write is now there;
3. sequences move forward (logical replication does not carry them), so the next id is not a duplicate;
4. verification with checksums of the streamed tables: the switch only happens on equal data;
5. with ``reverse``: the reverse stream (new -> old) is set up before the target takes a single write;
6. the forward stream is dropped: the target is the writer now.
Anything failing before 6 removes what 5 made and thaws the source, so the old database is back in
service, still streaming forward, and the switch can be tried again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from bbops.copy.catalog import list_tables, prepare_session, select_tables
from bbops.copy.schema import sequence_values, set_sequences
from bbops.copy.verify import verify_databases
from bbops.core.freeze import freeze_on, unfreeze_on
from bbops.core.report import TextOut
from bbops.errors import MigrationError, UsageError
from bbops.online import state, stream
from bbops.online.names import forward, reverse


@dataclass
class SwitchReport:
    stream: str
    already: bool = False
    sessions_ended: int = 0
    catch_up_seconds: float = 0.0
    sequences: int = 0
    verified_tables: int = 0
    reverse: bool = False
    freeze_seconds: float = 0.0  # from the freeze to a writable target
    validation_until: datetime | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "stream": self.stream,
            "already_switched": self.already,
            "sessions_ended": self.sessions_ended,
            "catch_up_seconds": round(self.catch_up_seconds, 3),
            "sequences": self.sequences,
            "verified_tables": self.verified_tables,
            "reverse": self.reverse,
            "freeze_seconds": round(self.freeze_seconds, 3),
            "validation_until": self.validation_until.isoformat() if self.validation_until else None,
            "notes": self.notes,
        }

    def write_text(self, out: TextOut) -> None:
        if self.already:
            out.line(f"stream {self.stream} was already switched")
            return
        out.line(
            f"switched {self.stream}: source frozen ({self.sessions_ended} sessions ended), caught up in "
            f"{self.catch_up_seconds:.2f} s, {self.sequences} sequences moved, {self.verified_tables} tables "
            f"verified; freeze to writable target: {self.freeze_seconds:.2f} s"
            + ("; reverse stream running" if self.reverse else "")
        )


def switch(
    source_url: str,
    target_url: str,
    *,
    name: str = "copy",
    with_reverse: bool = False,
    validation_days: int = 7,
    verify: bool = True,
    timeout: float = 60.0,
) -> SwitchReport:
    """Switch the stream ``name`` over to its target; see the module docstring for the steps."""
    names = forward(name)
    report = SwitchReport(names.stream)
    source = stream.open_session(source_url)
    target = stream.open_session(target_url)
    try:
        current = state.load(target, names.stream)
        if current is not None and current.phase == "switched":
            report.already, report.reverse = True, current.reverse
            report.freeze_seconds = current.freeze_seconds or 0.0
            report.validation_until = current.validation_until
            return report
        if current is None or current.phase != "streaming":
            phase = current.phase if current else "absent"
            raise UsageError(
                f"stream {names.stream} is {phase}: the switch needs a running forward stream (copy follow)"
            )
        started = time.monotonic()
        report.sessions_ended = freeze_on(source).ended
        rev = reverse(name)
        try:
            waited = stream.caught_up(source, target, names, timeout)
            if waited is None:
                lag = stream.lag(source, target, names)
                raise MigrationError(f"the target did not catch up within {timeout:.0f} s ({lag.bytes} bytes behind)")
            report.catch_up_seconds = waited
            report.sequences = sync_sequences(source, target, current.tables)
            if verify:
                # Data only: the target's schema may come from migrations, with other index names.
                result = verify_databases(source_url, target_url, checksums=True, tables=current.tables, data_only=True)
                if not result.ok:
                    shown = "; ".join(f"{d.table}: {d.detail}" for d in result.differences[:5])
                    raise MigrationError(f"verification before the switch found differences: {shown}")
                report.verified_tables = len(current.tables)
            if with_reverse:
                stream.create_publication(target, rev, current.tables)
                stream.create_slot(target, rev)
                stream.subscribe(source, rev, target_url)
                report.reverse = True
            stream.drop(source, target, names)
        except BaseException:
            stream.drop(target, source, rev)
            unfreeze_on(source)
            raise
        report.freeze_seconds = time.monotonic() - started
        report.validation_until = datetime.now(UTC) + timedelta(days=validation_days) if with_reverse else None
        state.set_phase(
            target,
            names.stream,
            "switched",
            reverse=report.reverse,
            switched_at=datetime.now(UTC),
            freeze_seconds=report.freeze_seconds,
            validation_until=report.validation_until,
        )
        return report
    finally:
        source.close()
        target.close()


def sync_sequences(source: psycopg.Connection, target: psycopg.Connection, tables: tuple[str, ...]) -> int:
    """Set the target's sequences owned by the streamed tables to the source's values."""
    prepare_session(source)
    oids = [t.oid for t in select_tables(list_tables(source), list(tables))]
    return set_sequences(target, sequence_values(source, oids))
