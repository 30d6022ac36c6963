"""The way back: whether the reverse stream has carried every write to the old database, and the rollback.

After a switch with ``reverse``, writes made on the new database flow back to the (still frozen) old
one. Rolling back then loses nothing, provided the stream has caught up: the new database is frozen
for the moment it takes to check (a marker written on it must reach the old one), sequences move
forward on the old database, the reverse stream is dropped and the old database is thawed. When the
stream is behind or was never set up, the rollback is refused unless the caller accepts the loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from bbops.core.freeze import freeze_on, unfreeze_on
from bbops.core.report import TextOut
from bbops.errors import UsageError
from bbops.online import state, stream
from bbops.online.names import reverse, stream_name
from bbops.online.switch import sync_sequences


@dataclass
class RollbackReport:
    stream: str
    reverse: bool
    caught_up: bool
    catch_up_seconds: float | None = None
    sequences: int = 0
    dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "stream": self.stream,
            "reverse": self.reverse,
            "caught_up": self.caught_up,
            "catch_up_seconds": self.catch_up_seconds,
            "sequences": self.sequences,
            "dropped": self.dropped,
            "notes": self.notes,
        }

    def write_text(self, out: TextOut) -> None:
        for note in self.notes:
            out.line(f"note: {note}")
        state = "caught up" if self.caught_up else "NOT caught up"
        out.line(f"back on the old database: reverse stream {state}, {self.sequences} sequences moved")


def roll_back(
    old_url: str, new_url: str, *, name: str = "copy", accept_data_loss: bool = False, timeout: float = 30.0
) -> RollbackReport:
    """Make the old database the writer again, with every write made on the new one since the switch."""
    names = reverse(name)
    new = stream.open_session(new_url)
    old = stream.open_session(old_url)
    try:
        current = state.load(new, stream_name(name))
        if current is None or current.phase != "switched":
            phase = current.phase if current else "absent"
            raise UsageError(f"stream {stream_name(name)} is {phase}: there is no switch to roll back")
        report = RollbackReport(names.stream, current.reverse, caught_up=False)
        freeze_on(new)  # no write may land on the new database while the stream drains
        try:
            if current.reverse:
                report.catch_up_seconds = stream.caught_up(new, old, names, timeout)
                report.caught_up = report.catch_up_seconds is not None
            if not report.caught_up and not accept_data_loss:
                why = "is behind" if current.reverse else "was not set up (switch without reverse)"
                raise UsageError(
                    f"the reverse stream {why}: rolling back to the old database would lose the writes made on "
                    f"the new one since {current.switched_at:%Y-%m-%d %H:%M:%S %Z}; "
                    "pass --accept-data-loss to do it anyway"
                )
            if not report.caught_up:
                report.notes.append("accepted data loss: writes made on the new database since the switch stay there")
            report.sequences = sync_sequences(new, old, current.tables)
            report.dropped = stream.drop(new, old, names)
            unfreeze_on(old)
        finally:
            unfreeze_on(new)
        state.set_phase(new, names.stream, "rolled-back")
        return report
    finally:
        new.close()
        old.close()


def reverse_caught_up(old_url: str, new_url: str, *, name: str = "copy", timeout: float = 10.0) -> bool | None:
    """Whether the reverse stream is caught up now (None: there is none); freezes nothing."""
    names = reverse(name)
    new = stream.open_session(new_url)
    old = stream.open_session(old_url)
    try:
        current = state.load(new, names.stream)
        if current is None or current.phase != "switched" or not current.reverse:
            return None
        return stream.caught_up(new, old, names, timeout) is not None
    finally:
        new.close()
        old.close()


def end_expired(old_url: str | None, new_url: str, *, now: datetime | None = None, dry_run: bool = False) -> list[str]:
    """Drop the reverse streams whose validation period is over; returns what was (or would be) dropped."""
    now = now or datetime.now(UTC)
    new = stream.open_session(new_url)
    old = stream.open_session(old_url) if old_url else None
    dropped: list[str] = []
    try:
        for current in state.load_all(new):
            if current.phase == "switched" and current.validation_until and current.validation_until <= now:
                if dry_run:
                    dropped.append(f"stream {reverse(current.stream).object} (validation period over)")
                    continue
                dropped += stream.drop(new, old, reverse(current.stream))
                state.set_phase(new, current.stream, "ended")
        return dropped
    finally:
        new.close()
        if old is not None:
            old.close()
