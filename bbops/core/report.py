"""One reporter per output format: a command hands its result over, the reporter prints it.

A command's result is a ``Report``: ``as_dict`` for machines (json), ``write_text`` for people
(lines and tables through a ``TextOut``); a ``MarkdownReport`` also renders itself as markdown
for a PR comment or a job summary. ``emit`` picks the reporter ``--format`` names, as
check-jsonschema does: a new format is a new reporter, not a branch in every command. Every
reporter prints through ``console``, so secrets are scrubbed on the way out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from bbops.core import console


class TextOut(Protocol):
    """Where a report writes its text form: plain lines and aligned tables."""

    def line(self, text: str = "") -> None: ...

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None: ...


class Report(Protocol):
    def as_dict(self) -> Any: ...

    def write_text(self, out: TextOut) -> None: ...


class MarkdownReport(Report, Protocol):
    def markdown(self) -> str: ...


class ConsoleText:
    """``TextOut`` on the terminal (tables drawn by rich)."""

    def line(self, text: str = "") -> None:
        console.say(text)

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        console.table(columns, rows)


class LinesText:
    """``TextOut`` into a list of lines (tables as tab-separated rows): for tests and summaries."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str = "") -> None:
        self.lines.append(text)

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        self.lines.append("\t".join(columns))
        self.lines.extend("\t".join("" if c is None else str(c) for c in row) for row in rows)


def as_text(report: Report) -> str:
    out = LinesText()
    report.write_text(out)
    return "\n".join(out.lines)


class TextReporter:
    def emit(self, report: Report) -> None:
        report.write_text(ConsoleText())


class JsonReporter:
    def emit(self, report: Report) -> None:
        console.emit_json(report.as_dict())


class MarkdownReporter:
    def emit(self, report: MarkdownReport) -> None:
        console.say(report.markdown())


def emit(report: Report, fmt: str) -> None:
    """Print ``report`` for ``--format`` text or json."""
    if fmt == "json":
        JsonReporter().emit(report)
    else:
        TextReporter().emit(report)


def emit_rich(report: MarkdownReport, fmt: str) -> None:
    """Print ``report`` for ``--format`` text, json or markdown."""
    if fmt == "markdown":
        MarkdownReporter().emit(report)
    else:
        emit(report, fmt)
