"""``bbops local status`` and ``bbops local stop``: the embedded backend's server and state."""

from __future__ import annotations

import click

from bbops.commands.options import format_option
from bbops.core.report import emit
from bbops.providers.local.status import local_status, stop_server


@click.group("local")
def local_group() -> None:
    """The embedded local backend: its Postgres server and state folder."""


@local_group.command("status")
@format_option
def status_cmd(fmt: str) -> None:
    """Show the local server, its branches with sizes, and the env var count."""
    emit(local_status(), fmt)


@local_group.command("stop")
@format_option
def stop_cmd(fmt: str) -> None:
    """Stop the embedded Postgres server (nothing to do for an external one or a stopped one)."""
    emit(stop_server(), fmt)


COMMANDS = [local_group]
