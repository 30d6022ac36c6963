"""The measured review: run a PR's migrations on its preview while watching them from outside.

``Recorder`` is the migration runner's ``Observer``. For each migration it
starts a read and a write probe on every touched table that exists (the four
largest at most), a lock sampler, and keeps one more session to snapshot the
migrating backend's locks after each statement (exact for a transactional
migration, whose locks stay until commit). Everything it records becomes a
``Measured`` (``bbops.review.measured``): durations, locks, blocked time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bbops.core import pg
from bbops.drizzle.journal import Migration
from bbops.drizzle.report import MigrateReport
from bbops.drizzle.statements import Statement
from bbops.plan.model import LintIgnore
from bbops.review.measured import Measured, MigrationRun, StatementRun, build
from bbops.review.probe import Probe, Sampler, held_locks
from bbops.review.tables import TableStats, existing, stats, touched_tables

MAX_PROBED_TABLES = 4
READY_TIMEOUT = 15.0


@dataclass
class _Watch:
    run: MigrationRun
    pid: int
    snap: psycopg.Connection
    probes: list[Probe] = field(default_factory=list)
    sampler: Sampler | None = None


class Recorder:
    """Observer of ``migrate_up``; ``url`` is the preview, ``parent_url`` where rows and sizes are read."""

    def __init__(self, url: str, parent_url: Callable[[], str] | str | None = None) -> None:
        self.url = url
        self._parent = parent_url  # a URL, or how to get one: asked only once a migration is pending
        self.runs: list[MigrationRun] = []
        self.tables: dict[str, TableStats] = {}
        self.notes: list[str] = []
        self._watch: _Watch | None = None

    @contextmanager
    def migration(self, m: Migration, statements: Sequence[Statement], pid: int, transactional: bool) -> Iterator[None]:
        snap = pg.connect(self.url, autocommit=True, application_name="bbops review snapshot")
        try:
            tables = self._probed_tables(snap, statements)
            run = MigrationRun(m.tag, transactional, start=0.0)
            watch = _Watch(run, pid, snap, [Probe(self.url, t, k) for t in tables for k in ("read", "write")])
            for p in watch.probes:
                p.start()
            for p in watch.probes:
                p.ready.wait(READY_TIMEOUT)
            watch.sampler = Sampler(self.url, pid, [p.pid for p in watch.probes if p.pid])
            watch.sampler.start()
            watch.sampler.ready.wait(READY_TIMEOUT)
            run.start = time.monotonic()
            self._watch = watch
            try:
                yield
            finally:
                run.end = time.monotonic()
                self._finish(watch)
        finally:
            self._watch = None
            snap.close()

    @contextmanager
    def statement(self, stmt: Statement) -> Iterator[None]:
        watch = self._watch
        if watch is None:
            yield
            return
        s = StatementRun(stmt.number, stmt.line, stmt.sql, start=time.monotonic())
        watch.run.statements.append(s)
        try:
            yield
        finally:
            s.end = time.monotonic()
            try:
                s.snapshot = {(x.table, x.mode) for x in held_locks(watch.snap, watch.pid, [])}
            except psycopg.Error as exc:
                self.notes.append(f"lock snapshot after {watch.run.tag} statement {stmt.number}: {exc}")

    def _probed_tables(self, snap: psycopg.Connection, statements: Sequence[Statement]) -> list[str]:
        tables = existing(snap, touched_tables(statements))
        for t in tables:
            if t not in self.tables:
                found = self._stats(t)
                if found:
                    self.tables[t] = found
        tables.sort(key=lambda t: -(self.tables[t].bytes if t in self.tables else 0))
        return tables[:MAX_PROBED_TABLES]

    def parent_url(self) -> str | None:
        if callable(self._parent):
            try:
                self._parent = self._parent()
            except Exception as exc:  # no parent connection: the preview's copy of its data will do
                self.notes.append(f"rows read on the preview: the parent is not reachable ({type(exc).__name__})")
                self._parent = None
        return self._parent

    def _stats(self, table: str) -> TableStats | None:
        for url in (self.parent_url(), self.url):
            if not url:
                continue
            try:
                with pg.connection(url, autocommit=True, application_name="bbops review stats") as conn:
                    return stats(conn, table)
            except (psycopg.Error, Exception) as exc:  # the parent may be unreachable: use the preview's copy
                self.notes.append(f"rows of {table}: {type(exc).__name__}")
        return None

    def _finish(self, watch: _Watch) -> None:
        for p in watch.probes:
            p.stop.set()
        if watch.sampler:
            watch.sampler.stop.set()
            watch.sampler.join(READY_TIMEOUT)
            watch.run.seen = list(watch.sampler.seen)
            if watch.sampler.error:
                self.notes.append(f"lock sampler: {watch.sampler.error}")
        for p in watch.probes:
            p.join(READY_TIMEOUT)
            watch.run.blocked.append((p.table, p.kind, p.pid, list(p.blocked)))
            if p.error:
                self.notes.append(f"{p.kind} probe on {p.table}: {p.error}")
        self.runs.append(watch.run)

    def result(self) -> Measured:
        return build(self.runs, self.tables, self.notes)


def review_migrations(
    url: str,
    folder: Path,
    *,
    parent_url: Callable[[], str] | str | None = None,
    ignores: Sequence[LintIgnore] = (),
    on_event: Callable[[str], None] | None = None,
) -> tuple[MigrateReport, Measured]:
    """Apply the pending migrations under a ``Recorder`` and lint the ones applied."""
    from bbops.drizzle.runner import migrate_up
    from bbops.review.lint import lint_folder

    recorder = Recorder(url, parent_url)
    report = migrate_up(url, folder, on_event=on_event, observer=recorder)
    measured = recorder.result()
    if report.applied:
        measured.findings = lint_folder(folder, ignores=ignores, only=set(report.tags)).findings
    return report, measured
