"""``bbops copy`` and ``bbops verify``: move every row between databases, then prove it arrived."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bbops.commands.options import format_option, source_target_options
from bbops.core import console, redact
from bbops.errors import DifferencesFound, UsageError

if TYPE_CHECKING:
    from bbops.copy.engine import CopyReport

_UNITS = {"": 1, "b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4}


def parse_size(text: str) -> int:
    """``64MB``, ``1GB``, ``16kB``, ``4096`` -> bytes (binary multiples, like Postgres settings)."""
    import re

    from bbops.errors import UsageError

    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else None
    if not match or unit not in _UNITS or int(match.group(1)) <= 0:
        raise UsageError(f"--chunk-size {text!r}: expected a size such as 64MB or 1GB")
    return int(match.group(1)) * _UNITS[unit]


def _human_bytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


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
    from bbops.copy.engine import copy_database
    from bbops.copy.progress import default_sink

    redact.register_url(source_url)
    redact.register_url(target_url)
    if abort or follow:
        from bbops.commands.stream import abort_stream, start_stream

        if abort:
            abort_stream(source_url, target_url, stream, fmt)
        else:
            if resume:
                raise UsageError("--resume does not apply to --follow: an interrupted follow copy starts over itself")
            start_stream(
                source_url,
                target_url,
                stream,
                tables=tables,
                jobs=jobs,
                data_only=data_only,
                rebuild_indexes=rebuild_indexes,
                truncate=truncate,
                fmt=fmt,
            )
        return
    report = copy_database(
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
    if fmt == "json":
        console.emit_json(report.as_dict())
        return
    print_copy_report(report)


def print_copy_report(report: CopyReport) -> None:
    console.table(
        ["table", "rows", "size", "chunks", "seconds"],
        [(t.table, f"{t.rows:,}", _human_bytes(t.bytes), t.chunks, f"{t.seconds:.1f}") for t in report.tables],
    )
    for note in report.notes:
        console.say(f"note: {note}")
    what = "resumed and finished" if report.resumed else "copied"
    console.say(
        f"{what} {report.rows:,} rows in {len(report.tables)} tables, {report.post_data} indexes/keys, "
        f"{report.sequences} sequences, in {report.seconds:.1f}s"
    )


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
    if fmt == "json":
        console.emit_json(report.as_dict())
    else:
        columns = ["table", "source rows", "target rows"] + (["checksum"] if checksums else []) + ["status"]
        rows = []
        for t in report.tables:
            row = [t.table, _n(t.source_rows), _n(t.target_rows)]
            if checksums:
                row.append(
                    "match"
                    if t.source_checksum and t.source_checksum == t.target_checksum
                    else ("-" if t.source_checksum is None or t.target_checksum is None else "DIFFERS")
                )
            rows.append([*row, t.status])
        console.table(columns, rows)
        for note in report.notes:
            console.say(f"note: {note}")
        for category in ("data", "schema"):
            for diff in report.of(category):
                console.say(f"DIFFERENCE ({category}) {diff.table}: {diff.kind}: {diff.detail}")
        if report.ok:
            console.say(f"verified {len(report.tables)} tables: everything matches ({report.seconds:.1f}s)")
    if not report.ok:
        raise DifferencesFound(f"{len(report.differences)} difference(s) between source and target")


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


COMMANDS = [copy, verify]
