"""``bbops copy`` and ``bbops verify``: move every row between databases, then prove it arrived."""

from __future__ import annotations

import click

from bbops.commands.options import format_option, source_target_options
from bbops.core import redact
from bbops.core.report import emit
from bbops.errors import DifferencesFound, UsageError


@click.command("copy")
@source_target_options
@click.option(
    "--tables",
    "tables",
    multiple=True,
    metavar="PATTERN",
    help="Only these tables (globs on [schema.]name; repeatable).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Parallel workers (connections to each database).",
)
@click.option("--data-only", is_flag=True, help="The target's schema exists already: load rows only.")
@click.option(
    "--rebuild-indexes",
    is_flag=True,
    help="With --data-only: drop the target's indexes and keys for the load and rebuild them after.",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted copy where it stopped.")
@click.option("--truncate", is_flag=True, help="Empty the target tables first (with --data-only).")
@click.option(
    "--chunk-size",
    default="1GB",
    show_default=True,
    metavar="SIZE",
    help="Largest range of a table copied in one transaction (what a resume redoes at most).",
)
@click.option(
    "--follow",
    is_flag=True,
    help="Keep streaming the source's changes after the copy (logical replication; needs wal_level = logical).",
)
@click.option("--stream", "stream", default="copy", show_default=True, help="Name of the follow-mode stream.")
@click.option("--abort", is_flag=True, help="Drop the stream's replication slots, publications and subscriptions.")
@format_option
def copy(
    source_url: str,
    target_url: str,
    tables: tuple[str, ...],
    jobs: int,
    data_only: bool,
    rebuild_indexes: bool,
    resume: bool,
    truncate: bool,
    chunk_size: str,
    follow: bool,
    stream: str,
    abort: bool,
    fmt: str,
) -> None:
    """Copy every row (and, unless --data-only, the schema) from --source to --target.

    With --follow the copy reads a replication slot's snapshot and the target then subscribes to the
    source's changes; `bbops stream switch` hands writes over. --abort removes the stream.
    """
    from bbops.copy.progress import default_sink

    redact.register_url(source_url)
    redact.register_url(target_url)
    if abort:
        from bbops.online.follow import abort as abort_stream
        from bbops.online.views import Dropped

        emit(Dropped(abort_stream(source_url, target_url, stream), "no replication objects left"), fmt)
    elif follow:
        from bbops.online.follow import start

        if resume:
            raise UsageError("--resume does not apply to --follow: an interrupted follow copy starts over itself")
        report = start(
            source_url,
            target_url,
            name=stream,
            tables=tables,
            jobs=jobs,
            data_only=data_only,
            rebuild_indexes=rebuild_indexes,
            truncate=truncate,
            progress=default_sink(),
        )
        emit(report, fmt)
    else:
        from bbops.copy.engine import copy_database
        from bbops.copy.tasks import parse_size

        copied = copy_database(
            source_url,
            target_url,
            tables=tables,
            jobs=jobs,
            data_only=data_only,
            rebuild_indexes=rebuild_indexes,
            resume=resume,
            truncate=truncate,
            progress=default_sink(),
            chunk_bytes=parse_size(chunk_size),
        )
        emit(copied, fmt)


@click.command("verify")
@source_target_options
@click.option("--checksums", is_flag=True, help="Compare a content checksum of every table, not just row counts.")
@click.option("--tables", "tables", multiple=True, metavar="PATTERN", help="Only these tables (globs; repeatable).")
@click.option(
    "--jobs", type=click.IntRange(min=1), default=2, show_default=True, help="Parallel connections to each database."
)
@click.option(
    "--data-only",
    is_flag=True,
    help="The target's schema came from its own migrations: other index/constraint names and "
    "objects the copy did not touch are notes, not differences.",
)
@format_option
def verify(
    source_url: str, target_url: str, checksums: bool, tables: tuple[str, ...], jobs: int, data_only: bool, fmt: str
) -> None:
    """Compare --target with --source: data (rows, content, orphans, sequences), then schema
    (indexes and constraints, matched by definition).

    Exit 0 only when everything matches, 1 when anything differs.
    """
    from bbops.copy.verify import verify_databases

    redact.register_url(source_url)
    redact.register_url(target_url)
    report = verify_databases(
        source_url, target_url, checksums=checksums, tables=tables, jobs=jobs, data_only=data_only
    )
    emit(report, fmt)
    if not report.ok:
        raise DifferencesFound(f"{len(report.differences)} difference(s) between source and target")


COMMANDS = [copy, verify]
