"""Options shared by several commands, so each is spelled one way everywhere."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bbops.errors import UsageError

FC = TypeVar("FC", bound=Callable[..., Any])

if TYPE_CHECKING:
    from bbops.core.http import Transports


def transports() -> Transports:
    """The HTTP seam handed to the CLI as click's context object (tests: the fakes), else the network."""
    # Imported here: httpx costs every command's start-up, and only the commands that call out need it.
    from bbops.core.http import NETWORK, Transports

    return click.get_current_context().find_object(Transports) or NETWORK


_FORMATS = {
    "text": "people",
    "json": "machines",
    "markdown": "a PR comment or job summary",
    "github": "GitHub annotations",
}


def output_format(*more: str) -> Callable[[FC], FC]:
    """``--format``: text and json, plus the ``more`` formats a command can render (markdown, github)."""
    choices = ["text", "json", *more]
    said = ", ".join(f"{_FORMATS[c]} ({c})" for c in choices)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default="text",
        show_default=True,
        help=f"Output for {said}.",
    )


format_option = output_format()

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

after_rollback_option = click.option(
    "--after-rollback",
    is_flag=True,
    help="Run production steps again that a rollback undid, although the plan's steps did not change.",
)

yes_option = click.option(
    "--yes",
    "--auto-approve",
    "yes",
    is_flag=True,
    help="Go ahead without asking (required when not on a terminal); --auto-approve is the same.",
)


def on_terminal() -> bool:
    """Whether someone can answer a prompt (stdin is a terminal)."""
    return sys.stdin.isatty()


def refuse_off_terminal(*, yes: bool, what: str) -> None:
    """Off a terminal (CI, a pipe, ``</dev/null``) nobody can answer a prompt: without ``--yes``, exit 2."""
    if not yes and not on_terminal():
        raise UsageError(f"not on a terminal: pass --yes (or --auto-approve) to {what} without a prompt")


def confirm(question: str, *, yes: bool, what: str) -> None:
    """Go on only if ``--yes`` was given or the person at the terminal says yes (else exit 2, nothing changed)."""
    if yes:
        return
    refuse_off_terminal(yes=yes, what=what)
    if not click.confirm(question, default=False):
        raise UsageError("not confirmed: nothing was changed")


def source_target_options(f: FC) -> FC:
    """--source and --target of the commands that move rows between two databases (copy, verify, stream)."""
    f = click.option(
        "--target",
        "target_url",
        envvar="DATABASE_URL",
        required=True,
        metavar="URL",
        help="The database to write (default: $DATABASE_URL). Use a direct, unpooled URL.",
    )(f)
    f = click.option(
        "--source",
        "source_url",
        envvar="OLD_DATABASE_URL",
        required=True,
        metavar="URL",
        help="The database to read (default: $OLD_DATABASE_URL). Use a direct, unpooled URL.",
    )(f)
    return f
