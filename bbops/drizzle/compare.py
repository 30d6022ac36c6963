"""Pure comparison of a journal with Drizzle's history rows: applied, pending, changed, unknown.

drizzle-orm decides what to run from one number: every journal entry whose
``when`` is greater than the newest row's ``created_at`` is pending. bbops
matches each row to its entry (by ``created_at``, or by hash when an entry's
``when`` was rewritten) so it can also see what drizzle-kit cannot: a file
edited after it was applied (changed), a row whose file is gone (unknown), and
an entry older than the newest row that never ran (drizzle-kit would skip it
for ever; bbops applies it and says so).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bbops.core.report import TextOut
from bbops.drizzle.history import Attempt, DrizzleRow
from bbops.drizzle.journal import Migration


@dataclass(frozen=True)
class MigrationState:
    tag: str | None  # None for an applied row that matches no journal entry
    when: int | None
    state: str  # applied | pending | changed | unknown
    file_hash: str | None = None
    db_hash: str | None = None
    row_id: int | None = None
    out_of_order: bool = False  # pending, but older than the newest applied row
    progress: str | None = None  # an interrupted non-transactional attempt, e.g. "2/5 statements done"

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and v is not False}

    def note(self) -> str:
        """What ``migrate status`` says about it beyond its state."""
        note = []
        if self.out_of_order:
            note.append("older than newest applied (drizzle-kit skips it)")
        if self.progress:
            note.append(self.progress)
        if self.state == "changed":
            note.append(f"db {_short(self.db_hash)} != file {_short(self.file_hash)}")
        if self.state == "unknown":
            note.append(f"row {self.row_id}, hash {_short(self.db_hash)}")
        return "; ".join(note)


def _short(digest: str | None) -> str:
    return digest[:12] if digest else "?"


@dataclass(frozen=True)
class MigrationStatus:
    database: str  # redacted URL
    folder: str
    applied: tuple[MigrationState, ...]
    pending: tuple[MigrationState, ...]
    changed: tuple[MigrationState, ...]
    unknown: tuple[MigrationState, ...]

    @property
    def drift(self) -> bool:
        return bool(self.changed or self.unknown)

    def rows(self) -> list[MigrationState]:
        """Every state in journal order, unknown rows last."""
        order = {s.tag: i for i, s in enumerate(self.applied + self.changed + self.pending)}
        known = sorted(self.applied + self.changed + self.pending, key=lambda s: (s.when or 0, order[s.tag]))
        return known + list(self.unknown)

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "folder": self.folder,
            "drift": self.drift,
            "applied": [s.as_dict() for s in self.applied],
            "pending": [s.as_dict() for s in self.pending],
            "changed": [s.as_dict() for s in self.changed],
            "unknown": [s.as_dict() for s in self.unknown],
        }

    def write_text(self, out: TextOut) -> None:
        out.table(
            ["migration", "when", "state", "note"],
            [(s.tag or "(not in journal)", s.when, s.state, s.note()) for s in self.rows()],
            title=f"migrations on {self.database}",
        )
        out.line(
            f"{len(self.applied)} applied, {len(self.pending)} pending, "
            f"{len(self.changed)} changed, {len(self.unknown)} unknown"
        )


def compare(
    migrations: Sequence[Migration],
    rows: Sequence[DrizzleRow],
    attempts: Mapping[str, Attempt] | None = None,
    *,
    database: str = "",
    folder: str = "",
) -> MigrationStatus:
    attempts = attempts or {}
    unmatched = {r.id: r for r in rows}
    by_when: dict[int, list[DrizzleRow]] = {}
    for r in rows:
        if r.created_at is not None:
            by_when.setdefault(r.created_at, []).append(r)
    newest = max((r.created_at for r in rows if r.created_at is not None), default=None)

    applied: list[MigrationState] = []
    changed: list[MigrationState] = []
    pending: list[Migration] = []
    for m in migrations:
        same_when = [r for r in by_when.get(m.when, []) if r.id in unmatched]
        match = next((r for r in same_when if r.hash in m.hashes), None)
        if match is None and not same_when:
            # The entry's `when` was rewritten after it ran: the file's hash still identifies it.
            match = next((r for r in unmatched.values() if r.hash in m.hashes), None)
        if match is not None:
            del unmatched[match.id]
            applied.append(MigrationState(m.tag, m.when, "applied", m.hash, match.hash, match.id))
        elif same_when:
            row = same_when[0]
            del unmatched[row.id]
            changed.append(MigrationState(m.tag, m.when, "changed", m.hash, row.hash, row.id))
        else:
            pending.append(m)

    pending_states = []
    for m in pending:
        attempt = attempts.get(m.tag)
        progress = None
        if attempt and attempt.status != "applied" and attempt.hash in m.hashes and not attempt.transactional:
            progress = f"{attempt.statements_done}/{attempt.statements_total} statements done ({attempt.status})"
        late = newest is not None and m.when <= newest
        pending_states.append(MigrationState(m.tag, m.when, "pending", m.hash, None, None, late, progress))

    unknown = [
        MigrationState(None, r.created_at, "unknown", None, r.hash, r.id)
        for r in sorted(unmatched.values(), key=lambda r: r.id)
    ]
    return MigrationStatus(database, folder, tuple(applied), tuple(pending_states), tuple(changed), tuple(unknown))
