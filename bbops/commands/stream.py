"""``bbops stream``: the online cutover by hand: status, switch, back, end (``bbops copy --follow`` starts it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from bbops.commands.options import format_option, source_target_options
from bbops.core import console, redact

F = TypeVar("F", bound=Callable[..., Any])


def _urls(f: F) -> F:
    f = source_target_options(f)
    f = click.option("--stream", "name", default="copy", show_default=True, help="The stream's name.")(f)
    f = format_option(f)
    return f


def _register(*urls: str) -> None:
    for url in urls:
        redact.register_url(url)


def start_stream(
    source_url: str,
    target_url: str,
    name: str,
    *,
    tables: Sequence[str],
    jobs: int,
    data_only: bool,
    rebuild_indexes: bool,
    truncate: bool,
    fmt: str,
) -> None:
    from bbops.commands.copy import print_copy_report
    from bbops.copy.progress import default_sink
    from bbops.online.follow import start

    report = start(
        source_url,
        target_url,
        name=name,
        tables=tables,
        jobs=jobs,
        data_only=data_only,
        rebuild_indexes=rebuild_indexes,
        truncate=truncate,
        progress=default_sink(),
    )
    if fmt == "json":
        console.emit_json(report.as_dict())
        return
    if report.copy:
        print_copy_report(report.copy)
    for note in report.notes:
        console.say(f"note: {note}")
    lag = report.lag
    behind = f"{lag.bytes:,} bytes, {lag.seconds} s behind" if lag and lag.bytes is not None else "lag unknown"
    console.say(f"stream {report.stream}: {report.phase} ({len(report.tables)} tables; {behind})")


def abort_stream(source_url: str, target_url: str, name: str, fmt: str) -> None:
    from bbops.online.follow import abort

    dropped = abort(source_url, target_url, name)
    if fmt == "json":
        console.emit_json({"dropped": dropped})
    else:
        console.say("dropped: " + (", ".join(dropped) if dropped else "nothing (no replication objects left)"))


@click.group("stream")
def stream() -> None:
    """The online cutover's streams: status, switch, back, end. `bbops copy --follow` starts one."""


@stream.command("status")
@_urls
def status(source_url: str, target_url: str, name: str, fmt: str) -> None:
    """The stream's phase and lag, and every bbops_* slot, publication and subscription on both sides."""
    from bbops.online.status import stream_status

    _register(source_url, target_url)
    data = stream_status(source_url, target_url, name)
    if fmt == "json":
        console.emit_json(data)
        return
    console.say(f"stream {data['stream']}: {data['phase']}")
    if data.get("lag"):
        console.say(f"lag: {data['lag']}")
    console.table(
        ["database", "kind", "name", "active", "WAL retained"],
        [(o["database"], o["kind"], o["name"], o["active"], o["retained_bytes"]) for o in data["objects"]],
    )


@stream.command("switch")
@_urls
@click.option("--reverse", is_flag=True, help="Stream writes on the new database back to the old one afterwards.")
@click.option(
    "--validation-days",
    type=click.IntRange(min=0),
    default=7,
    show_default=True,
    help="How long the reverse stream runs before `bbops stream end` drops it.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=60,
    show_default=True,
    help="Seconds to wait for the target to catch up after the freeze.",
)
def switch_cmd(
    source_url: str, target_url: str, name: str, fmt: str, reverse: bool, validation_days: int, timeout: float
) -> None:
    """Freeze the source, wait for the target, move sequences, verify, hand writes over."""
    from bbops.online.switch import switch

    _register(source_url, target_url)
    report = switch(
        source_url, target_url, name=name, with_reverse=reverse, validation_days=validation_days, timeout=timeout
    )
    if fmt == "json":
        console.emit_json(report.as_dict())
        return
    if report.already:
        console.say(f"stream {report.stream} was already switched")
        return
    console.say(
        f"switched {report.stream}: source frozen ({report.sessions_ended} sessions ended), caught up in "
        f"{report.catch_up_seconds:.2f} s, {report.sequences} sequences moved, {report.verified_tables} tables "
        f"verified; freeze to writable target: {report.freeze_seconds:.2f} s"
        + ("; reverse stream running" if report.reverse else "")
    )


@stream.command("back")
@_urls
@click.option("--accept-data-loss", is_flag=True, help="Roll back even when writes on the new database would be lost.")
def back(source_url: str, target_url: str, name: str, fmt: str, accept_data_loss: bool) -> None:
    """Make the old database the writer again, with what the reverse stream carried back."""
    from bbops.online.reverse import roll_back

    _register(source_url, target_url)
    report = roll_back(source_url, target_url, name=name, accept_data_loss=accept_data_loss)
    if fmt == "json":
        console.emit_json(report.as_dict())
        return
    for note in report.notes:
        console.say(f"note: {note}")
    state = "caught up" if report.caught_up else "NOT caught up"
    console.say(f"back on the old database: reverse stream {state}, {report.sequences} sequences moved")


@stream.command("end")
@_urls
def end(source_url: str, target_url: str, name: str, fmt: str) -> None:
    """Drop the reverse streams whose validation period is over."""
    from bbops.online.reverse import end_expired

    _register(source_url, target_url)
    dropped = end_expired(source_url, target_url)
    if fmt == "json":
        console.emit_json({"dropped": dropped})
    else:
        console.say("dropped: " + (", ".join(dropped) if dropped else "nothing (no validation period is over)"))


COMMANDS = [stream]
