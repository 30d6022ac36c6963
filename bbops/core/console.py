"""Everything bbops prints goes through here, scrubbed of secrets.

Commands print tables and summaries with ``table``/``say`` (rich, for people)
or ``emit_json`` (for machines). Errors go to stderr with ``error``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bbops.core import redact


def _console(stderr: bool = False) -> Console:
    # Made per call: click's test runner swaps sys.stdout between invocations.
    return Console(
        file=sys.stderr if stderr else sys.stdout,
        highlight=False,
        soft_wrap=True,
        width=None if (sys.stderr if stderr else sys.stdout).isatty() else 200,
    )


def say(text: str = "", *, stderr: bool = False) -> None:
    """Print one plain line (no rich markup is interpreted)."""
    stream = sys.stderr if stderr else sys.stdout
    stream.write(redact.scrub(text) + "\n")
    stream.flush()


def error(text: str) -> None:
    say(f"error: {text}", stderr=True)


def warn(text: str) -> None:
    say(f"warning: {text}", stderr=True)


def to_json(data: Any) -> str:
    return redact.scrub(json.dumps(data, indent=2, sort_keys=False, default=str))


def emit_json(data: Any) -> None:
    say(to_json(data))


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    stderr: bool = False,
) -> None:
    """Print rows as an aligned table; every cell is scrubbed of secrets."""
    t = Table(title=title, show_lines=False, header_style="bold")
    for col in columns:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*(Text(redact.scrub("" if cell is None else str(cell))) for cell in row))
    _console(stderr).print(t)
