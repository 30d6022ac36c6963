"""``migrate up`` and ``migrate status``: a Drizzle folder against a database.

Fixes what drizzle-kit users complain about while writing the same history:
each migration gets its own transaction (or none, when it holds
``CREATE INDEX CONCURRENTLY`` and the like), an advisory lock keeps two runs
apart, applied files are checked against their hash, and a dry run shows the
SQL without touching anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bbops.core import pg, pooler, redact
from bbops.core.locks import Holder, advisory_lock
from bbops.drizzle import history
from bbops.drizzle.compare import MigrationState, MigrationStatus, compare
from bbops.drizzle.execute import (
    NO_OBSERVER,
    AppliedMigration,
    Observer,
    Target,
    apply_outside_transaction,
    apply_transactional,
    statements_for,
)
from bbops.drizzle.journal import Journal, Migration, read_journal
from bbops.drizzle.report import MigrateReport, PlannedMigration
from bbops.drizzle.statements import non_transactional_reason
from bbops.errors import DifferencesFound, MigrationError, ProviderError
from bbops.plan.model import LintIgnore
from bbops.review.finding import Severity
from bbops.review.gate import check_pending

__all__ = ["MigrateReport", "MigrationStatus", "PlannedMigration", "lock_key", "migrate_status", "migrate_up"]


def lock_key(target: Target) -> str:
    # Keyed on the history table, not on the folder: two checkouts of the same app (two workflow
    # runs) have different folder paths but must still exclude each other on one database.
    return f"bbops migrate {target.schema}.{target.table}"


def migrate_status(
    url: str,
    folder: Path,
    *,
    migrations_schema: str = history.DRIZZLE_SCHEMA,
    migrations_table: str = history.DRIZZLE_TABLE,
) -> MigrationStatus:
    journal = read_journal(Path(folder))
    with pg.connection(url, autocommit=True, application_name="bbops migrate status") as conn, _db_errors(url):
        return _status(conn, url, journal, Target(migrations_schema, migrations_table))


@contextmanager
def _db_errors(url: str) -> Iterator[None]:
    """Errors of bbops' own queries (not of migration statements, which say more) as bbops errors."""
    try:
        yield
    except psycopg.OperationalError as exc:
        raise ProviderError(
            f"lost the connection to {redact.redact_url(url)}: {redact.scrub(str(exc)).strip()}"
        ) from None
    except psycopg.Error as exc:
        raise MigrationError(f"bookkeeping query failed: {redact.scrub(str(exc)).strip()}") from None


def migrate_up(
    url: str,
    folder: Path,
    *,
    to: str | None = None,
    dry_run: bool = False,
    allow_changed: bool = False,
    lock_timeout: float = 60.0,
    on_event: Callable[[str], None] | None = None,
    migrations_schema: str = history.DRIZZLE_SCHEMA,
    migrations_table: str = history.DRIZZLE_TABLE,
    lint: Severity | None = None,
    lint_ignores: Sequence[LintIgnore] = (),
    observer: Observer = NO_OBSERVER,
) -> MigrateReport:
    """Apply pending migrations (up to and including ``to``); see the module doc for guarantees.

    With ``lint``, pending migrations with an active lint finding at that level refuse to run.
    """
    emit = on_event or (lambda _text: None)
    journal = read_journal(Path(folder))
    stop = journal.find(to) if to else None
    target = Target(migrations_schema, migrations_table)
    started = time.monotonic()
    warnings: list[str] = []

    def warn(text: str) -> None:
        warnings.append(text)
        emit(f"warning: {text}")

    with pg.connection(url, autocommit=True, application_name="bbops migrate") as conn, _db_errors(url):
        if dry_run:
            status = _status(conn, url, journal, target)
            _check_drift(status, allow_changed, warn)
            planned = _plan(conn, journal, status, stop, warn)
            check_pending(journal, [p.tag for p in planned], lint, lint_ignores)
            return MigrateReport(
                status.database,
                str(folder),
                True,
                (),
                tuple(planned),
                (),
                tuple(warnings),
                time.monotonic() - started,
            )
        if pooler.is_pooled(url):
            warn("this looks like a pooled connection; the migration lock needs a direct (unpooled) URL")
        with advisory_lock(
            conn, lock_key(target), timeout=lock_timeout, purpose="migrate up", on_wait=_waiting(emit, lock_timeout)
        ):
            # Read the history only under the lock: a run we waited for may have applied everything.
            status = _status(conn, url, journal, target)
            _check_drift(status, allow_changed, warn)
            planned = _plan(conn, journal, status, stop, warn)
            check_pending(journal, [p.tag for p in planned], lint, lint_ignores)
            applied, repaired = _apply(conn, journal, planned, target, emit, observer)
    return MigrateReport(
        status.database,
        str(folder),
        False,
        tuple(applied),
        tuple(planned),
        tuple(repaired),
        tuple(warnings),
        time.monotonic() - started,
    )


def _status(conn: psycopg.Connection, url: str, journal: Journal, target: Target) -> MigrationStatus:
    rows = history.read_rows(conn, target.schema, target.table)
    attempts = history.latest_attempts(conn)
    return compare(journal.migrations, rows, attempts, database=redact.redact_url(url), folder=str(journal.folder))


def _check_drift(status: MigrationStatus, allow_changed: bool, warn: Callable[[str], None]) -> None:
    problems = [
        f"{s.tag}: applied with hash {_short(s.db_hash)}, file now hashes to {_short(s.file_hash)}"
        for s in status.changed
    ]
    problems += [
        f"history row {s.row_id} (created_at {s.when}, hash {_short(s.db_hash)}) matches no journal entry"
        for s in status.unknown
    ]
    if not problems:
        return
    if allow_changed:
        for p in problems:
            warn(f"drift allowed: {p}")
        return
    raise DifferencesFound(
        "the database's migration history does not match the folder:\n  " + "\n  ".join(problems),
        hint="restore the original files, or pass --allow-changed to apply pending migrations anyway",
    )


def _plan(
    conn: psycopg.Connection,
    journal: Journal,
    status: MigrationStatus,
    stop: Migration | None,
    warn: Callable[[str], None],
) -> list[PlannedMigration]:
    pending: dict[str, MigrationState] = {s.tag: s for s in status.pending if s.tag}
    limit = journal.migrations.index(stop) if stop else len(journal.migrations) - 1
    version = conn.info.server_version
    planned = []
    for m in journal.migrations[: limit + 1]:
        state = pending.get(m.tag)
        if state is None:
            continue
        if state.out_of_order:
            warn(f"{m.tag} is older than the newest applied migration; drizzle-kit would skip it, bbops applies it")
        reason = non_transactional_reason(m.text, version)
        stmts = statements_for(m, reason is None)
        planned.append(
            PlannedMigration(m.tag, m.when, reason is None, reason, tuple(s.sql for s in stmts), state.out_of_order)
        )
    return planned


def _apply(
    conn: psycopg.Connection,
    journal: Journal,
    planned: list[PlannedMigration],
    target: Target,
    emit: Callable[[str], None],
    observer: Observer,
) -> tuple[list[AppliedMigration], list[str]]:
    if not planned:
        emit("nothing to apply: the database is up to date")
        return [], []
    history.ensure_drizzle_table(conn, target.schema, target.table)
    history.ensure_log(conn)
    attempts = history.latest_attempts(conn)
    by_tag = {m.tag: m for m in journal.migrations}
    applied: list[AppliedMigration] = []
    repaired: list[str] = []
    for p in planned:
        m = by_tag[p.tag]
        how = "in a transaction" if p.transactional else f"outside a transaction: {p.reason}"
        emit(f"applying {m.tag} ({len(p.statements)} statements, {how})")
        with observer.migration(m, statements_for(m, p.transactional), conn.info.backend_pid, p.transactional):
            if p.transactional:
                result = apply_transactional(conn, m, target, observer)
            else:
                previous = attempts.get(m.tag)
                reason = p.reason or ""
                result = apply_outside_transaction(conn, m, target, reason, previous, emit, repaired, observer)
        emit(f"applied {m.tag} in {result.duration_s:.2f}s")
        applied.append(result)
    return applied, repaired


def _waiting(emit: Callable[[str], None], timeout: float) -> Callable[[list[Holder]], None]:
    def told(holders: list[Holder]) -> None:
        who = "; ".join(h.describe() for h in holders) or "another session"
        emit(f"waiting up to {timeout:g}s for the migration lock held by {who}")

    return told


def _short(h: str | None) -> str:
    return (h or "?")[:12]
