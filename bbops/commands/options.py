"""Options shared by several commands, so each is spelled one way everywhere."""

from __future__ import annotations

from pathlib import Path

import click

from bbops.core.http import NETWORK, Transports


def transports() -> Transports:
    """The HTTP seam handed to the CLI as click's context object (tests: the fakes), else the network."""
    return click.get_current_context().find_object(Transports) or NETWORK


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output for people (text) or machines (json).",
)

plan_option = click.option(
    "--plan",
    "plan_path",
    type=click.Path(path_type=Path),
    default=None,
    help="The plan file (default: the one plan under plans/).",
)

backend_option = click.option(
    "--backend",
    type=click.Choice(["local", "cloud"]),
    envvar="BBOPS_BACKEND",
    default="local",
    show_default=True,
    help="Where branches and env vars live: the embedded local backend, or Neon and Vercel (env BBOPS_BACKEND).",
)
