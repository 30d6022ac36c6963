"""Lint findings for people (text), machines (json), PR comments (markdown) and the Actions runner (github)."""

from __future__ import annotations

from collections.abc import Sequence

from bbops.core import console
from bbops.github.runner import annotation_line
from bbops.review.finding import Finding, Severity
from bbops.review.lint import LintReport
from bbops.review.rules import RULES, Rule

FORMATS = ("text", "json", "markdown", "github")


def render(report: LintReport, fmt: str) -> str:
    if fmt == "json":
        return console.to_json(report.as_dict())
    if fmt == "markdown":
        return markdown(report.findings)
    if fmt == "github":
        return github(report)
    return text(report)


def summary(report: LintReport) -> str:
    ignored = len(report.findings) - len(report.active)
    n = len(report.migrations)
    return (
        f"{n} migration{'s' if n != 1 else ''}, {report.statements} statements: "
        f"{report.count(Severity.ERROR)} error(s), {report.count(Severity.WARNING)} warning(s), "
        f"{ignored} ignored ({report.duration_s * 1000:.0f} ms)"
    )


def text(report: LintReport) -> str:
    lines = []
    for f in report.findings:
        if not f.active:
            continue
        tag = " [breaking for the running deployment]" if f.breaking else ""
        lines += [f"{f.location}: {f.severity} {f.rule}: {f.message}{tag}", f"  why: {f.why}", f"  fix: {f.fix}"]
    for f in report.findings:
        if not f.active:
            lines.append(f"{f.location}: ignored {f.rule}: {f.ignored}")
    lines.append(summary(report))
    return "\n".join(lines)


def github(report: LintReport) -> str:
    """One workflow command per active finding: annotations on the PR's diff."""
    lines = []
    for f in report.active:
        title = f"{f.rule}" + (" (breaking for the running deployment)" if f.breaking else "")
        body = f"{f.message}\nWhy: {f.why}\nFix: {f.fix}"
        lines.append(annotation_line(str(f.severity), body, file=f.file, line=f.line, col=f.column, title=title))
    lines.append(summary(report))
    return "\n".join(lines)


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def markdown(findings: Sequence[Finding]) -> str:
    """The findings as a table; ignored ones folded below with their reasons."""
    active = [f for f in findings if f.active]
    ignored = [f for f in findings if not f.active]
    if not findings:
        return "_No lint findings._"
    out = []
    if active:
        out += ["| | Where | Rule | What | Fix |", "| --- | --- | --- | --- | --- |"]
        for f in active:
            icon = "❌" if f.severity is Severity.ERROR else "⚠️"
            what = f.message + (" **(breaking for the running deployment)**" if f.breaking else "")
            out.append(f"| {icon} | `{f.location}` | `{f.rule}` | {_cell(what)} | {_cell(f.fix)} |")
    else:
        out.append("_No active lint findings._")
    if ignored:
        rows = "\n".join(f"- `{f.location}` `{f.rule}`: {_cell(f.ignored or '')}" for f in ignored)
        out += ["", "<details>", f"<summary>{len(ignored)} ignored with a reason</summary>", "", rows, "", "</details>"]
    return "\n".join(out)


def rules_table(rules: Sequence[Rule] = RULES) -> str:
    """The docs' rules table (docs/migration-lint.md embeds this output)."""
    out = ["| Rule | Severity | What | Why | Fix |", "| --- | --- | --- | --- | --- |"]
    for r in rules:
        why = r.why if not r.breaking or "Breaking" in r.why else f"Breaking for the running deployment. {r.why}"
        out.append(f"| `{r.id}` | {r.severity} | {_cell(r.what)} | {_cell(why)} | {_cell(r.fix)} |")
    return "\n".join(out)
