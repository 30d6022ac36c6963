"""Lint findings for people (text), machines (json), PR comments (markdown) and the Actions runner (github).

``LintView`` is the lint report as a ``bbops.core.report.GithubReport``: ``migrate lint`` hands it to
``emit_annotated``, which picks the reporter its ``--format`` names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bbops.core.report import Annotation, TextOut
from bbops.review.finding import Finding, Severity
from bbops.review.lint import LintReport
from bbops.review.rules import RULES, Rule

FORMATS = ("text", "json", "markdown", "github")


def summary(report: LintReport) -> str:
    ignored = len(report.findings) - len(report.active)
    n = len(report.migrations)
    return (
        f"{n} migration{'s' if n != 1 else ''}, {report.statements} statements: "
        f"{report.count(Severity.ERROR)} error(s), {report.count(Severity.WARNING)} warning(s), "
        f"{ignored} ignored ({report.duration_s * 1000:.0f} ms)"
    )


@dataclass(frozen=True)
class LintView:
    report: LintReport

    def as_dict(self) -> dict[str, Any]:
        return self.report.as_dict()

    def write_text(self, out: TextOut) -> None:
        findings = self.report.findings
        for f in findings:
            if f.active:
                tag = " [breaking for the running deployment]" if f.breaking else ""
                out.line(f"{f.location}: {f.severity} {f.rule}: {f.message}{tag}")
                out.line(f"  why: {f.why}")
                out.line(f"  fix: {f.fix}")
        for f in findings:
            if not f.active:
                out.line(f"{f.location}: ignored {f.rule}: {f.ignored}")
        out.line(self.summary())

    def markdown(self) -> str:
        return markdown(self.report.findings)

    def annotations(self) -> list[Annotation]:
        """One per active finding: on the PR's diff, at the statement's line."""
        return [
            Annotation(
                str(f.severity),
                f"{f.message}\nWhy: {f.why}\nFix: {f.fix}",
                file=f.file,
                line=f.line,
                col=f.column,
                title=f.rule + (" (breaking for the running deployment)" if f.breaking else ""),
            )
            for f in self.report.active
        ]

    def summary(self) -> str:
        return summary(self.report)

    def job_summary(self) -> str:
        return "### Migration lint\n\n" + self.markdown()


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
