"""The report for people: plain text for a terminal or a CI log, markdown for a job summary or a PR comment.

``DoctorView`` is the report as a ``bbops.core.report.MarkdownReport``; its JSON is
``Report.as_dict()`` (documented in docs/doctor.md and bbops/schema/doctor.schema.json).
Every renderer is pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bbops.core.report import TextOut
from bbops.doctor.finding import Finding
from bbops.doctor.report import Report

_ORDER = {"error": 0, "warning": 1, "info": 2}


def ordered(findings: Sequence[Finding]) -> list[Finding]:
    """Worst first, then by check id, keeping each check's own order."""
    return sorted(findings, key=lambda f: (_ORDER[f.severity.value], f.id))


def summary(report: Report) -> str:
    c = report.counts()
    line = (
        f"{len(report.findings)} finding(s) on {report.database}: {c['error']} error(s), {c['warning']} warning(s), "
        f"{c['info']} info; {len(report.checks)} check(s) in {report.seconds:.2f} s"
    )
    if report.skipped:
        line += f"; skipped: {', '.join(s.check for s in report.skipped)}"
    return line


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def markdown_findings(findings: Sequence[Finding]) -> str:
    """A table of findings and, below it, the fixes as SQL blocks (for a PR comment or a job summary)."""
    if not findings:
        return "_no findings_"
    rows = ["| severity | check | objects | finding |", "| --- | --- | --- | --- |"]
    for f in ordered(findings):
        objects = ", ".join(f"`{o}`" for o in f.objects)
        rows.append(f"| {f.severity.value} | `{f.id}` | {_cell(objects)} | {_cell(f.message)} |")
    fixes = [f.fix for f in ordered(findings) if f.fix]
    if fixes:
        rows += [
            "",
            "<details>",
            f"<summary>fixes ({len(fixes)})</summary>",
            "",
            "```sql",
            *fixes,
            "```",
            "",
            "</details>",
        ]
    return "\n".join(rows)


@dataclass(frozen=True)
class DoctorView:
    report: Report

    def as_dict(self) -> dict[str, Any]:
        return self.report.as_dict()

    def write_text(self, out: TextOut) -> None:
        for f in ordered(self.report.findings):
            out.line(f"{f.severity.value.upper():7} {f.id}  {', '.join(f.objects)}")
            out.line(f"        {f.message}")
            for i, line in enumerate((f.fix or "").splitlines()):
                out.line(f"        fix: {line}" if i == 0 else f"             {line}")
        for s in self.report.skipped:
            out.line(f"SKIPPED {s.check}: {s.reason}")
        out.line(summary(self.report))

    def markdown(self) -> str:
        r = self.report
        parts = [f"### bbops doctor: {r.database}", "", summary(r), "", markdown_findings(r.findings)]
        if r.skipped:
            parts += ["", "**Skipped checks**", *[f"- {s.check}: {_cell(s.reason)}" for s in r.skipped]]
        return "\n".join(parts) + "\n"
