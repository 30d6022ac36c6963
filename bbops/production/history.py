"""The production history: schema ``bbops`` on the production branch's own database.

What lives here, and why on that database: each step attempt (id, checksum of
its definition, status, times, who ran it, the error), the restore points
taken, what a rollback needs to undo env and deployment changes (previous env
values, encrypted; the production deployment before a redeploy) and the
rollbacks done. Keeping it next to the data means a branch restore rolls the
history back *with* the data it describes, so "applied" never lies about the
data; the flip side (see ``rollback``) is that a rollback reads what it needs
before restoring and records itself after.

Every call opens its own short autocommit connection: the local backend ends
idle sessions on a database it copies or renames, and a long-held history
connection would be cut in the middle of a run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import psycopg

from bbops.core import bookkeeping, pg, redact
from bbops.errors import MigrationError


@dataclass(frozen=True)
class RunInfo:
    """Who runs this and for which commit (from GitHub Actions when there)."""

    run_id: str | None = None
    commit: str | None = None
    actor: str | None = None


@dataclass(frozen=True)
class Attempt:
    step_id: str
    kind: str
    checksum: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class RestorePointRecord:
    name: str
    branch: str
    created_at: datetime
    commit: str | None


@dataclass(frozen=True)
class UndoRecord:
    step_id: str
    kind: str  # env | deployment | freeze | rotate
    target: str  # env: the Vercel target; freeze: the frozen database's name; rotate: the branch
    key: str | None  # env: the variable; freeze: the ${NAME} holding the frozen database's URL; rotate: the role
    git_branch: str | None
    env_type: str | None
    env_targets: str | None  # the previous variable's targets, comma-separated; rotate: the Vercel target
    state: str  # present | absent | unreadable | deployment
    sealed_value: str | None  # Fernet token of the previous value (present only)
    deployment_id: str | None
    recorded_at: datetime
    detail: str | None = None  # freeze: the setting before it (None: it had none); rotate: the env vars it updated


@dataclass(frozen=True)
class RollbackRecord:
    id: int
    restore_point: str
    parts: str
    steps_checksum: str
    done_at: datetime
    cleared: bool


class History:
    """Reads and writes the history on one database URL."""

    def __init__(self, url: str) -> None:
        self.url = url

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection]:
        with pg.connection(self.url, autocommit=True, application_name="bbops production history") as conn:
            try:
                yield conn
            except psycopg.Error as exc:
                raise MigrationError(f"production history query failed: {redact.scrub(str(exc)).strip()}") from None

    def ensure(self) -> None:
        with self._conn() as conn:
            bookkeeping.ensure(conn)

    def exists(self) -> bool:
        """Whether production steps or rollbacks left records here (schema bbops may exist for other reasons)."""
        with self._conn() as conn:
            if not pg.scalar(conn, "SELECT to_regclass('bbops.production_steps') IS NOT NULL", kind=bool):
                return False
            # Any production record counts: after a data rollback to a point taken before the first
            # step, the steps' rows are gone but the rollback's record says what happened.
            return pg.scalar(
                conn,
                "SELECT EXISTS (SELECT 1 FROM bbops.production_steps) OR EXISTS (SELECT 1 FROM bbops.rollbacks)"
                " OR EXISTS (SELECT 1 FROM bbops.restore_points) OR EXISTS (SELECT 1 FROM bbops.undo_records)",
                kind=bool,
            )

    # -- steps ----------------------------------------------------------------------------

    def latest_attempts(self) -> dict[str, Attempt]:
        """The newest attempt of every step id."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT DISTINCT ON (step_id) step_id, kind, checksum, status, started_at, finished_at, error "
                "FROM bbops.production_steps ORDER BY step_id, attempt DESC"
            ).fetchall()
        return {r[0]: Attempt(*r) for r in rows}

    def start(self, step_id: str, kind: str, checksum: str, run: RunInfo) -> int:
        with self._conn() as conn:
            return pg.scalar(
                conn,
                "INSERT INTO bbops.production_steps (step_id, kind, checksum, status, run_id, commit_sha, actor) "
                "VALUES (%s, %s, %s, 'running', %s, %s, %s) RETURNING attempt",
                (step_id, kind, checksum, run.run_id, run.commit, run.actor),
                kind=int,
            )

    def finish(self, attempt: int, *, error: str | None = None) -> None:
        with self._conn() as conn:
            conn.execute(
                "UPDATE bbops.production_steps SET status = %s, finished_at = clock_timestamp(), error = %s "
                "WHERE attempt = %s",
                ("failed" if error is not None else "applied", redact.scrub(error) if error else None, attempt),
            )

    # -- restore points and undo records -----------------------------------------------

    def add_restore_point(self, name: str, branch: str, run: RunInfo) -> None:
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO bbops.restore_points (name, branch, run_id, commit_sha, actor) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO NOTHING",
                (name, branch, run.run_id, run.commit, run.actor),
            )

    def restore_points(self) -> list[RestorePointRecord]:
        """Oldest first."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT name, branch, created_at, commit_sha FROM bbops.restore_points ORDER BY created_at, name"
            ).fetchall()
        return [RestorePointRecord(*r) for r in rows]

    def add_undo(self, record: UndoRecord, restore_point: str | None) -> None:
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO bbops.undo_records (restore_point, step_id, kind, target, key, git_branch, env_type, "
                "env_targets, state, sealed_value, deployment_id, detail) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    restore_point,
                    record.step_id,
                    record.kind,
                    record.target,
                    record.key,
                    record.git_branch,
                    record.env_type,
                    record.env_targets,
                    record.state,
                    record.sealed_value,
                    record.deployment_id,
                    record.detail,
                ),
            )

    def undo_records(self, since: datetime) -> list[UndoRecord]:
        """Records made at or after ``since``, oldest first."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT step_id, kind, target, key, git_branch, env_type, env_targets, state, sealed_value, "
                "deployment_id, recorded_at, detail FROM bbops.undo_records WHERE recorded_at >= %s "
                "ORDER BY recorded_at, id",
                (since,),
            ).fetchall()
        return [UndoRecord(*r) for r in rows]

    # -- rollbacks -------------------------------------------------------------------------

    def add_rollback(self, restore_point: str, parts: list[str], steps_checksum: str, run: RunInfo) -> int:
        with self._conn() as conn:
            row = conn.execute(
                "INSERT INTO bbops.rollbacks (restore_point, parts, steps_checksum, run_id, commit_sha, actor) "
                "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (restore_point, ",".join(parts), steps_checksum, run.run_id, run.commit, run.actor),
            ).fetchone()
        assert row is not None
        return int(row[0])

    def set_rollback_parts(self, rollback_id: int, parts: list[str]) -> None:
        with self._conn() as conn:
            conn.execute("UPDATE bbops.rollbacks SET parts = %s WHERE id = %s", (",".join(parts), rollback_id))

    def drop_rollback(self, rollback_id: int) -> None:
        with self._conn() as conn:
            conn.execute("DELETE FROM bbops.rollbacks WHERE id = %s", (rollback_id,))

    def outstanding_rollback(self) -> RollbackRecord | None:
        """The newest rollback not yet acknowledged by an apply."""
        with self._conn() as conn:
            row = conn.execute(
                "SELECT id, restore_point, parts, steps_checksum, done_at, cleared_at IS NOT NULL "
                "FROM bbops.rollbacks WHERE cleared_at IS NULL ORDER BY id DESC LIMIT 1"
            ).fetchone()
        return RollbackRecord(*row) if row else None

    def clear_rollbacks(self) -> None:
        with self._conn() as conn:
            conn.execute("UPDATE bbops.rollbacks SET cleared_at = clock_timestamp() WHERE cleared_at IS NULL")
