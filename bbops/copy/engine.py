"""``copy_database``: every row of one Postgres database into another, fast and resumable.

Full mode (the target has none of the tables): pre-data schema, then every
table streamed with binary COPY from one exported snapshot by N workers,
largest first and cut into page ranges; each index is built the moment its
table is loaded; primary keys and unique constraints are attached to their
indexes; foreign keys are added NOT VALID and validated; then triggers and
policies, sequences, materialized views and ANALYZE.

Data-only mode (the schema exists, e.g. made by the migrations): tables load
in foreign-key order (``bbops.copy.order``), or, with ``rebuild_indexes``,
in any order with the target's indexes and keys dropped first and rebuilt
after. See ``copy_plan`` for the jobs and ``copy_state`` for resuming.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from bbops.copy import recheck
from bbops.copy import state as copy_state
from bbops.copy.catalog import (
    Table,
    foreign_keys,
    list_tables,
    prepare_session,
    select_tables,
    server_major,
)
from bbops.copy.jobs import Job, JobRunner
from bbops.copy.load import LoadSetup, prepare_data_only, prepare_full
from bbops.copy.progress import NullProgress, ProgressSink
from bbops.copy.schema import materialized_views, sequence_values, set_sequences
from bbops.copy.tasks import (
    CHUNK_BYTES,
    P_CHUNK,
    ChunkSpec,
    TableTally,
    Worker,
    analyze_job,
    cancel_worker,
    chunk_count,
    chunk_job,
    close_worker,
    open_worker,
    post_jobs,
)
from bbops.core import pg, pooler
from bbops.core.report import TextOut
from bbops.errors import UsageError

MAINTENANCE_WORK_MEM = "256MB"


@dataclass
class TableReport:
    table: str
    rows: int
    bytes: int
    chunks: int
    seconds: float


@dataclass
class CopyReport:
    mode: str
    tables: list[TableReport] = field(default_factory=list)
    post_data: int = 0
    sequences: int = 0
    seconds: float = 0.0
    resumed: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rows"] = self.rows
        return data

    def write_text(self, out: TextOut) -> None:
        out.table(
            ["table", "rows", "size", "chunks", "seconds"],
            [
                (t.table, f"{t.rows:,}", f"{t.bytes / 1_000_000:.1f} MB", t.chunks, f"{t.seconds:.1f}")
                for t in self.tables
            ],
        )
        for note in self.notes:
            out.line(f"note: {note}")
        what = "resumed and finished" if self.resumed else "copied"
        out.line(
            f"{what} {self.rows:,} rows in {len(self.tables)} tables, {self.post_data} indexes/keys, "
            f"{self.sequences} sequences, in {self.seconds:.1f}s"
        )


def _check_options(jobs: int, data_only: bool, rebuild_indexes: bool, resume: bool, truncate: bool) -> None:
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if rebuild_indexes and not data_only:
        raise UsageError("--rebuild-indexes applies to --data-only (a full copy always builds indexes after the rows)")
    if resume and truncate:
        raise UsageError("--resume and --truncate contradict each other: pick one")


def copy_database(
    source_url: str,
    target_url: str,
    *,
    tables: Sequence[str] = (),
    jobs: int = 2,
    data_only: bool = False,
    rebuild_indexes: bool = False,
    resume: bool = False,
    truncate: bool = False,
    progress: ProgressSink | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    snapshot: str | None = None,
) -> CopyReport:
    """Copy ``source_url``'s rows (and, unless ``data_only``, its schema) into ``target_url``.

    ``snapshot``: read the source as of this exported snapshot (a replication slot's, in follow mode)
    instead of exporting one; the caller keeps it alive for the whole copy.
    """
    _check_options(jobs, data_only, rebuild_indexes, resume, truncate)
    # Exported snapshots shared by several connections and session settings do not survive the pooler.
    pooler.refuse(source_url, "copy --source")
    pooler.refuse(target_url, "copy --target")
    progress = progress or NullProgress()
    started = time.monotonic()
    report = CopyReport(mode="data-only" if data_only else "full")

    source = pg.connect(source_url)
    target = pg.connect(target_url, autocommit=True)
    try:
        source.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        source.read_only = True
        if snapshot:
            # Must be the transaction's first statement.
            source.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        prepare_session(source)
        if not snapshot:
            # Every worker imports this snapshot: all tables are read as of one instant.
            snapshot = pg.scalar(source, "SELECT pg_export_snapshot()", kind=str)
        prepare_session(target)
        major = server_major(source)
        source_tables = list_tables(source, include_partitioned=True)
        chosen = [t for t in select_tables(source_tables, tables) if t.kind == "r"]
        fks = foreign_keys(source)

        if data_only:
            load = prepare_data_only(
                source,
                target,
                chosen,
                fks,
                resume=resume,
                truncate=truncate,
                rebuild=rebuild_indexes,
                progress=progress,
            )
        else:
            load = prepare_full(
                source,
                target,
                source_url,
                snapshot,
                major,
                source_tables,
                chosen,
                fks,
                resume=resume,
                truncate=truncate,
                progress=progress,
            )
        report.resumed = load.resumed
        report.notes = load.notes
        done = copy_state.done_items(target)
        if load.resumed:
            _recheck_finished(source, target, chosen, load, done, progress, data_only=data_only)

        job_list, tallies, specs = _data_jobs(target, chosen, load, done, major, chunk_bytes, jobs, progress)
        chunk_keys = {name: [s.key for s in table_specs] for name, table_specs in specs.items()}
        sizes = {t.qualified: t.bytes for t in chosen}
        job_list += post_jobs(load.items, chunk_keys, done, restore=load.restore, progress=progress, sizes=sizes)
        job_list += _analyze_jobs(chosen, job_list, done)
        report.post_data = sum(1 for j in job_list if j.kind in ("index", "attach", "fk"))

        runner: JobRunner[Worker] = JobRunner(
            job_list,
            jobs,
            make_worker=lambda i: open_worker(source_url, target_url, snapshot, MAINTENANCE_WORK_MEM),
            close_worker=close_worker,
            cancel_worker=cancel_worker,
        )
        runner.run()

        # The finishing touches are quick and order-sensitive: one connection, in order.
        for item in load.items:
            if item.kind == "other" and f"post {item.key}" not in done:
                with target.transaction():
                    target.execute(item.sql)
                    copy_state.mark(target, f"post {item.key}", table=item.table)
        owned = None if not data_only else [t.oid for t in chosen]
        values = sequence_values(source, owned)
        report.sequences = set_sequences(target, values)
        if not data_only:
            for view in materialized_views(source):
                target.execute(f"REFRESH MATERIALIZED VIEW {view}")
        previously = copy_state.rows_done(target)
        for t in chosen:
            tally = tallies.get(t.qualified)
            rows = previously.get(t.qualified, 0)
            seconds = 0.0
            if tally and tally.started is not None and tally.finished is not None:
                seconds = tally.finished - tally.started
            report.tables.append(
                TableReport(
                    t.qualified, rows, tally.bytes if tally else 0, len(specs.get(t.qualified, [])), round(seconds, 3)
                )
            )
        copy_state.cleanup(target)
    finally:
        progress.close()
        source.close()
        target.close()
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _recheck_finished(
    source: psycopg.Connection,
    target: psycopg.Connection,
    chosen: list[Table],
    load: LoadSetup,
    done: set[str],
    progress: ProgressSink,
    *,
    data_only: bool,
) -> None:
    """Keep finished chunks only where the source still holds the same rows (``bbops.copy.recheck``)."""
    plans = copy_state.table_plans(target)
    finished: dict[str, tuple[list[int], int, int]] = {}
    for table in chosen:
        plan = plans.get(table.qualified)
        if plan is None or plan.source_filenode != table.filenode:
            continue  # never planned, or rewritten (recopied whole by ``_data_jobs``)
        prefix = f"chunk {table.qualified} "
        indexes = [int(k[len(prefix) :]) for k in done if k.startswith(prefix)]
        if indexes:
            finished[table.qualified] = (indexes, plan.chunks, plan.source_blocks)
    columns = {name: cols for name, (cols, _binary) in load.columns.items()}
    stale = recheck.changed_tables(source, target, chosen, finished, columns, progress, load.notes)
    if stale:
        _start_over(target, stale, load, done, {t.qualified for t in chosen}, progress, data_only=data_only)


def _start_over(
    target: psycopg.Connection,
    stale: set[str],
    load: LoadSetup,
    done: set[str],
    chosen: set[str],
    progress: ProgressSink,
    *,
    data_only: bool,
) -> None:
    """Empty ``stale`` tables and forget their chunks, so ``_data_jobs`` plans them afresh.

    TRUNCATE refuses a table another one references. In a full copy every foreign key on
    the target was added by this copy: the ones touching a stale table are dropped and
    added again after the reload. In a data-only copy the keys are the schema's own: the
    tables referencing a stale one are emptied and reloaded too (their chunks wait for
    their parents' as always), which only works for tables being copied.
    """
    tables = set(stale)
    if data_only:
        while True:
            children = {fk.child for fk in foreign_keys(target) if fk.parent in tables and fk.child not in tables}
            outside = sorted(children - chosen)
            if outside:
                raise UsageError(
                    f"{', '.join(sorted(stale))} changed on the source since the interrupted run and must be "
                    f"copied again, but {', '.join(outside)} (not being copied) reference(s) it",
                    hint="include the referencing tables in --tables, or start over with --truncate",
                )
            if not children:
                break
            tables |= children
    else:
        for item in load.items:
            key = f"post {item.key}"
            if item.kind == "fk" and key in done and (item.table in tables or item.parent in tables):
                with target.transaction():
                    target.execute(
                        sql.SQL("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}").format(
                            sql.SQL(item.table), sql.Identifier(item.name)
                        )
                    )
                    copy_state.forget(target, key)
                done.discard(key)
    with target.transaction():
        target.execute("TRUNCATE " + ", ".join(sorted(tables)))
        for name in tables:
            copy_state.forget_table(target, name)
            copy_state.forget(target, f"analyze {name}")
    for name in tables:
        done -= {k for k in done if k.startswith(f"chunk {name} ") or k == f"analyze {name}"}
    if tables - stale:
        line = f"copying again with them: {', '.join(sorted(tables - stale))} (their rows reference the changed ones)"
        progress.step(line)
        load.notes.append(line)


def _data_jobs(
    target: psycopg.Connection,
    chosen: list[Table],
    load: LoadSetup,
    done: set[str],
    major: int,
    chunk_bytes: int,
    workers: int,
    progress: ProgressSink,
) -> tuple[list[Job[Worker]], dict[str, TableTally], dict[str, list[ChunkSpec]]]:
    """Chunk jobs for every table, cut as recorded (resume) or freshly planned."""
    plans = copy_state.table_plans(target)
    share = sum(t.bytes for t in chosen) / max(workers, 1)
    jobs: list[Job[Worker]] = []
    tallies: dict[str, TableTally] = {}
    specs: dict[str, list[ChunkSpec]] = {}
    for table in chosen:
        name = table.qualified
        plan = plans.get(name)
        if plan is None or plan.source_filenode != table.filenode:
            if plan is not None:
                # Rewritten on the source since the interrupted run: its ranges mean nothing now.
                progress.step(f"{name} was rewritten on the source since the last run: copying it again")
                with target.transaction():
                    target.execute(f"TRUNCATE {name}")
                    copy_state.forget_table(target, name)
                done -= {k for k in done if k.startswith(f"chunk {name} ")}
            count = chunk_count(
                table,
                chunk_bytes=chunk_bytes,
                share=share,
                server_major=major,
                splittable=name not in load.whole_tables,
            )
            plan = copy_state.TablePlan(name, table.filenode, table.blocks, count)
            copy_state.save_table_plan(target, plan)
        table_specs = [ChunkSpec(table, i, plan.chunks, plan.source_blocks) for i in range(plan.chunks)]
        specs[name] = table_specs
        todo = [s for s in table_specs if s.key not in done]
        tallies[name] = TableTally(chunks_left=len(todo))
        columns, binary = load.columns[name]
        # FREEZE needs the truncate in the same transaction; only safe for a single-chunk
        # table in a full copy (no foreign keys exist yet, nobody else writes it).
        freeze = load.freeze and plan.chunks == 1
        for spec in todo:
            jobs.append(
                Job(
                    spec.key,
                    chunk_job(spec, columns, binary, freeze, tallies[name], progress),
                    set(),
                    P_CHUNK + table.bytes,
                    "chunk",
                    name,
                )
            )
    # Foreign-key order (data-only): a table's chunks wait for every chunk of its parents.
    # Finished chunks are not jobs; the runner treats dependencies on them as met.
    for job in jobs:
        job.deps = {s.key for parent in load.parents.get(job.table, ()) for s in specs.get(parent, [])}
    return jobs, tallies, specs


def _analyze_jobs(chosen: list[Table], jobs: list[Job[Worker]], done: set[str]) -> list[Job[Worker]]:
    """ANALYZE each table once nothing else will lock it (fresh tables have no statistics)."""
    out = []
    for table in chosen:
        key = f"analyze {table.qualified}"
        if key in done:
            continue
        deps = {j.key for j in jobs if j.table == table.qualified}
        out.append(Job(key, analyze_job(table.qualified), deps, -1.0, "analyze", table.qualified))
    return out
