"""Running one migration: in a transaction, or statement by statement outside one.

A transactional migration runs its chunks and writes both history rows
(Drizzle's and bbops' log) in one transaction, so the database is always at a
whole migration. A migration that cannot run in a transaction runs each
statement in autocommit; bbops' log records progress after every statement,
and Drizzle's row is written only once all of them succeeded. A later run
resumes after the last statement that succeeded, and first drops an INVALID
index a failed ``CREATE INDEX CONCURRENTLY`` left behind, so re-running works.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg

from bbops.core import redact
from bbops.core.rowvalues import without_values
from bbops.drizzle import history
from bbops.drizzle.history import Attempt
from bbops.drizzle.journal import Migration
from bbops.drizzle.statements import Statement, concurrent_index_target, line_col, split_statements
from bbops.errors import MigrationError


@dataclass(frozen=True)
class AppliedMigration:
    tag: str
    when: int
    transactional: bool
    statements: int  # statements run by this run
    skipped: int  # statements already done by an interrupted earlier run
    duration_s: float
    reason: str | None = None  # why it ran outside a transaction

    def as_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "when": self.when,
            "transactional": self.transactional,
            "statements": self.statements,
            "skipped_statements": self.skipped,
            "duration_s": round(self.duration_s, 3),
            "no_transaction_reason": self.reason,
        }


class Observer(Protocol):
    """Watches a run from outside (the preview's measured review): told when each migration and statement runs.

    ``migration`` is entered before the first statement and left after the commit (or the failure), so
    a transactional migration's locks are released by the time it is left.
    """

    def migration(
        self, m: Migration, statements: Sequence[Statement], pid: int, transactional: bool
    ) -> AbstractContextManager[None]: ...

    def statement(self, stmt: Statement) -> AbstractContextManager[None]: ...


class NoObserver:
    def migration(
        self, m: Migration, statements: Sequence[Statement], pid: int, transactional: bool
    ) -> AbstractContextManager[None]:
        return nullcontext()

    def statement(self, stmt: Statement) -> AbstractContextManager[None]:
        return nullcontext()


NO_OBSERVER = NoObserver()


def statements_for(migration: Migration, transactional: bool) -> list[Statement]:
    """What bbops sends: drizzle's chunks, each split further when running outside a transaction."""
    if transactional:
        return list(migration.chunks)
    out: list[Statement] = []
    for chunk in migration.chunks:
        out.extend(split_statements(chunk, len(out) + 1))
    return out


@dataclass(frozen=True)
class Target:
    """Where Drizzle's history table lives (drizzle.config may move it)."""

    schema: str = history.DRIZZLE_SCHEMA
    table: str = history.DRIZZLE_TABLE


def apply_transactional(
    conn: psycopg.Connection, m: Migration, target: Target, observer: Observer = NO_OBSERVER
) -> AppliedMigration:
    stmts = statements_for(m, True)
    started = time.monotonic()
    try:
        with conn.transaction():
            for stmt in stmts:
                _run(conn, m, stmt, len(stmts), observer)
            history.record_applied(conn, m.hash, m.when, target.schema, target.table)
            log_id = history.log_start(
                conn,
                tag=m.tag,
                hash_=m.hash,
                created_at=m.when,
                transactional=True,
                total=len(stmts),
                done=[s.sql for s in stmts],
                status="applied",
            )
            history.log_finish(conn, log_id, "applied", time.monotonic() - started)
    except MigrationError as exc:
        # The transaction is rolled back; remember the failed attempt outside it.
        _log_failure(conn, m, True, len(stmts), [], exc, started)
        raise MigrationError(
            f"{exc.message}; the migration was rolled back, the database is at the previous migration",
            hint=exc.hint,
        ) from None
    return AppliedMigration(m.tag, m.when, True, len(stmts), 0, time.monotonic() - started)


def apply_outside_transaction(
    conn: psycopg.Connection,
    m: Migration,
    target: Target,
    reason: str,
    previous: Attempt | None,
    emit: Callable[[str], None],
    repaired: list[str],
    observer: Observer = NO_OBSERVER,
) -> AppliedMigration:
    stmts = statements_for(m, False)
    skip = 0
    if (
        previous is not None
        and previous.status in ("running", "failed")
        and not previous.transactional
        and previous.hash in m.hashes
        and previous.statements_total == len(stmts)
    ):
        skip = previous.statements_done
        if skip:
            emit(f"  resuming {m.tag} after statement {skip} of {len(stmts)} (done by an earlier run)")
    done = [s.sql for s in stmts[:skip]]
    started = time.monotonic()
    log_id = history.log_start(
        conn, tag=m.tag, hash_=m.hash, created_at=m.when, transactional=False, total=len(stmts), done=done
    )
    try:
        for stmt in stmts[skip:]:
            _repair_invalid_index(conn, stmt, emit, repaired)
            _run(conn, m, stmt, len(stmts), observer)
            done.append(stmt.sql)
            history.log_progress(conn, log_id, done)
        with conn.transaction():
            history.record_applied(conn, m.hash, m.when, target.schema, target.table)
            history.log_finish(conn, log_id, "applied", time.monotonic() - started)
    except MigrationError as exc:
        _finish_failed(conn, log_id, exc, started)
        left = (
            f"statements 1-{len(done)} ran and stay applied; the next run resumes at statement {len(done) + 1}"
            if done
            else "no statement of it took effect"
        )
        raise MigrationError(f"{exc.message}; it ran outside a transaction ({reason}): {left}", hint=exc.hint) from None
    return AppliedMigration(m.tag, m.when, False, len(stmts) - skip, skip, time.monotonic() - started, reason)


def _run(conn: psycopg.Connection, m: Migration, stmt: Statement, total: int, observer: Observer) -> None:
    try:
        with observer.statement(stmt):
            conn.execute(stmt.sql, prepare=False)
    except psycopg.Error as exc:
        raise MigrationError(_describe(m, stmt, total, exc)) from None


def _describe(m: Migration, stmt: Statement, total: int, exc: psycopg.Error) -> str:
    diag = exc.diag
    message = (diag.message_primary or str(exc)).strip()
    where = f"{m.path.name} line {stmt.line}"
    if diag.statement_position:
        line, col = line_col(stmt.sql, int(diag.statement_position))
        where += f"; at line {line}, column {col} of the statement ({m.path.name} line {stmt.line + line - 1})"
    text = f"migration {m.tag} failed at statement {stmt.number} of {total} ({where}): "
    text += f"{diag.severity or 'ERROR'}"
    text += f" {diag.sqlstate}: " if diag.sqlstate else ": "
    text += message
    if diag.message_detail:
        text += f" (detail: {without_values(diag.message_detail)})"
    if diag.message_hint:
        text += f" (hint: {diag.message_hint.strip()})"
    return redact.scrub(text)


def _repair_invalid_index(
    conn: psycopg.Connection, stmt: Statement, emit: Callable[[str], None], repaired: list[str]
) -> None:
    """Drop the INVALID index a failed build of this very CREATE INDEX CONCURRENTLY left behind."""
    found = concurrent_index_target(stmt.sql)
    if found is None:
        return
    name, table = found
    rows = conn.execute(
        "SELECT i.indexrelid::regclass::text FROM pg_catalog.pg_index i "
        "JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
        "WHERE NOT i.indisvalid AND c.relname = %s AND i.indrelid = to_regclass(%s)",
        (name, table),
    ).fetchall()
    for (index,) in rows:
        emit(f"  dropping INVALID index {index} left by an earlier failed build")
        try:
            # The name comes from regclass output, which Postgres has already quoted as needed.
            conn.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {index}")
        except psycopg.Error as exc:
            raise MigrationError(f"cannot drop the INVALID index {index} before rebuilding it: {exc}") from None
        repaired.append(index)


def _log_failure(
    conn: psycopg.Connection,
    m: Migration,
    transactional: bool,
    total: int,
    done: list[str],
    exc: MigrationError,
    started: float,
) -> None:
    try:
        log_id = history.log_start(
            conn,
            tag=m.tag,
            hash_=m.hash,
            created_at=m.when,
            transactional=transactional,
            total=total,
            done=done,
            status="failed",
        )
        _finish_failed(conn, log_id, exc, started)
    except psycopg.Error:
        pass  # the log is a courtesy; the migration's own error is what the user needs


def _finish_failed(conn: psycopg.Connection, log_id: int, exc: MigrationError, started: float) -> None:
    # The log is a courtesy; the migration's own error is what the user needs.
    with contextlib.suppress(psycopg.Error):
        history.log_finish(conn, log_id, "failed", time.monotonic() - started, exc.message)
