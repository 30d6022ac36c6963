"""``bbops stream``: the online cutover by hand: status, switch, back, end (``bbops copy --follow`` starts it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from bbops.commands.options import format_option, source_target_options
from bbops.core import redact
from bbops.core.report import emit

F = TypeVar("F", bound=Callable[..., Any])


def _urls(f: F) -> F:
    f = source_target_options(f)
    f = click.option("--stream", "name", default="copy", show_default=True, help="The stream's name.")(f)
    f = format_option(f)
    return f


def _register(*urls: str) -> None:
    for url in urls:
        redact.register_url(url)


@click.group("stream")
def stream() -> None:
    """The online cutover's streams: status, switch, back, end. `bbops copy --follow` starts one."""


@stream.command("status")
@_urls
def status(source_url: str, target_url: str, name: str, fmt: str) -> None:
    """The stream's phase and lag, and every bbops_* slot, publication and subscription on both sides."""
    from bbops.online.status import stream_status
    from bbops.online.views import StreamStatusView

    _register(source_url, target_url)
    emit(StreamStatusView(stream_status(source_url, target_url, name)), fmt)


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
    emit(report, fmt)


@stream.command("back")
@_urls
@click.option("--accept-data-loss", is_flag=True, help="Roll back even when writes on the new database would be lost.")
def back(source_url: str, target_url: str, name: str, fmt: str, accept_data_loss: bool) -> None:
    """Make the old database the writer again, with what the reverse stream carried back."""
    from bbops.online.reverse import roll_back

    _register(source_url, target_url)
    emit(roll_back(source_url, target_url, name=name, accept_data_loss=accept_data_loss), fmt)


@stream.command("end")
@_urls
def end(source_url: str, target_url: str, name: str, fmt: str) -> None:
    """Drop the reverse streams whose validation period is over."""
    from bbops.online.reverse import end_expired
    from bbops.online.views import Dropped

    _register(source_url, target_url)
    emit(Dropped(end_expired(source_url, target_url), "no validation period is over"), fmt)


COMMANDS = [stream]
