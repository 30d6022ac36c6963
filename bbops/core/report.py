"""One reporter per output format: a command hands its result over, the reporter prints it.

A command's result is a ``Report``: ``as_dict`` for machines (json), ``write_text`` for people
(lines and tables through a ``TextOut``); a ``MarkdownReport`` also renders itself as markdown
for a PR comment or a job summary; a ``GithubReport`` also says its findings as ``Annotation``s
on files' lines, which the Actions runner shows on the PR's diff. ``emit`` picks the reporter
``--format`` names, as check-jsonschema does: a new format is a new reporter, not a branch in
every command. Every reporter prints through ``console``, so secrets are scrubbed on the way
out; the github reporter speaks the runner's protocol through ``bbops.github.runner``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bbops.core import console
from bbops.github import runner


class TextOut(Protocol):
    """Where a report writes its text form: plain lines and aligned tables."""

    def line(self, text: str = "") -> None: ...

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None) -> None: ...


class Report(Protocol):
    def as_dict(self) -> Any: ...

    def write_text(self, out: TextOut) -> None: ...


class MarkdownReport(Report, Protocol):
    def markdown(self) -> str: ...


@dataclass(frozen=True)
class Annotation:
    """One finding on a file's line, for the Actions runner to show on the PR's diff."""

    level: str  # error | warning | notice
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    title: str | None = None

    def command(self) -> str:
        """The ``::error file=...,line=...::message`` workflow command."""
        return runner.annotation_line(
            self.level, self.message, file=self.file, line=self.line, col=self.col, title=self.title
        )


class AnnotatedReport(Report, Protocol):
    def annotations(self) -> Sequence[Annotation]: ...


class GithubReport(AnnotatedReport, MarkdownReport, Protocol):
    """``--format github``: the annotations, then ``summary`` (one line for the log), and
    ``job_summary`` (markdown) on the step's summary page."""

    def summary(self) -> str: ...

    def job_summary(self) -> str: ...


class ConsoleText:
    """``TextOut`` on the terminal (tables drawn by rich)."""

    def line(self, text: str = "") -> None:
        console.say(text)

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None) -> None:
        console.table(columns, rows, title=title)


class LinesText:
    """``TextOut`` into a list of lines (tables as tab-separated rows): for tests and summaries."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str = "") -> None:
        self.lines.append(text)

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None) -> None:
        if title:
            self.lines.append(title)
        self.lines.append("\t".join(columns))
        self.lines.extend("\t".join("" if c is None else str(c) for c in row) for row in rows)


_UNITS = ("B", "kB", "MB", "GB", "TB")


def human_bytes(n: float, *, largest: str = "TB") -> str:
    """Bytes for people: ``512 B``, ``1.5 MB``; ``largest`` is the biggest unit used (``2048.0 GB`` with "GB")."""
    last = _UNITS.index(largest)
    for unit in _UNITS[:last]:
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.0f} {largest}" if largest == "B" else f"{n:.1f} {largest}"


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


class GithubReporter:
    """Workflow commands on stdout (the runner reads them from the log), the job summary on its page."""

    def emit(self, report: GithubReport) -> None:
        for annotation in report.annotations():
            console.say(annotation.command())
        console.say(report.summary())
        runner.append_summary(report.job_summary())


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


def emit_annotated(report: GithubReport, fmt: str) -> None:
    """Print ``report`` for ``--format`` text, json, markdown or github."""
    if fmt == "github":
        GithubReporter().emit(report)
    else:
        emit_rich(report, fmt)


def annotate(report: AnnotatedReport) -> None:
    """Inside Actions, whatever ``--format`` prints: each annotation as a workflow command on stderr."""
    for a in report.annotations():
        runner.annotate(a.level, a.message, file=a.file, line=a.line, col=a.col, title=a.title)
