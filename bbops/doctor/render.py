"""The report for people: plain text for a terminal or a CI log, markdown for a job summary or a PR comment.

JSON is ``Report.as_dict()`` (documented in docs/doctor.md and
bbops/schema/doctor.schema.json). Both renderers are pure.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def text(report: Report) -> str:
    lines = []
    for f in ordered(report.findings):
        lines.append(f"{f.severity.value.upper():7} {f.id}  {', '.join(f.objects)}")
        lines.append(f"        {f.message}")
        if f.fix:
            lines += [
                f"        fix: {line}" if i == 0 else f"             {line}"
                for i, line in enumerate(f.fix.splitlines())
            ]
    for s in report.skipped:
        lines.append(f"SKIPPED {s.check}: {s.reason}")
    lines.append(summary(report))
    return "\n".join(lines)


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


def markdown(report: Report) -> str:
    parts = [f"### bbops doctor: {report.database}", "", summary(report), "", markdown_findings(report.findings)]
    if report.skipped:
        parts += ["", "**Skipped checks**", *[f"- {s.check}: {_cell(s.reason)}" for s in report.skipped]]
    return "\n".join(parts) + "\n"
