"""The lint runner: every migration of a Drizzle folder, statement by statement, through every rule.

Migrations are read in journal order and the linter's model of the database
(tables created, checks validated) carries from one to the next, so a rule can
tell a new empty table from a live one. ``only`` limits which migrations are
reported (the pending ones, a PR's new ones) while the earlier ones still feed
the model.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbops.drizzle.journal import Migration, read_journal
from bbops.plan import display_path
from bbops.plan.model import LintIgnore
from bbops.review.finding import Finding, Severity
from bbops.review.rules import BAD_IGNORE, BY_ID, RULES, SYNTAX_ERROR, Context, Rule
from bbops.review.source import Directive, Parsed, Source, read_source
from bbops.review.track import track


@dataclass(frozen=True)
class LintReport:
    folder: str
    migrations: tuple[str, ...]  # the tags reported on
    statements: int
    findings: tuple[Finding, ...]
    duration_s: float

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if f.active]

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.active if f.severity is severity)

    def as_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "migrations": list(self.migrations),
            "statements": self.statements,
            "errors": self.count(Severity.ERROR),
            "warnings": self.count(Severity.WARNING),
            "ignored": len(self.findings) - len(self.active),
            "findings": [f.as_dict() for f in self.findings],
            "duration_s": round(self.duration_s, 3),
        }


def lint_folder(folder: Path, *, ignores: Sequence[LintIgnore] = (), only: Collection[str] | None = None) -> LintReport:
    started = time.monotonic()
    journal = read_journal(Path(folder))
    findings, tags, count = lint_migrations(journal.migrations, ignores=ignores, only=only)
    return LintReport(display_path(Path(folder)), tags, count, tuple(findings), time.monotonic() - started)


def lint_migrations(
    migrations: Iterable[Migration], *, ignores: Sequence[LintIgnore] = (), only: Collection[str] | None = None
) -> tuple[list[Finding], tuple[str, ...], int]:
    """(findings, tags reported, statements checked) for migrations in the order they run."""
    ctx: Context | None = None
    findings: list[Finding] = []
    tags: list[str] = []
    count = 0
    for m in migrations:
        source = read_source(m)
        ctx = Context(m.tag, source.transactional) if ctx is None else ctx.for_next_file(m.tag, source.transactional)
        found = _lint_source(source, ctx)
        if only is not None and m.tag not in only:
            continue
        tags.append(m.tag)
        count += len(source.statements)
        findings += _apply_ignores(source, found, ignores)
    return findings, tuple(tags), count


def _lint_source(source: Source, ctx: Context) -> list[Finding]:
    file = display_path(source.migration.path)
    if source.syntax is not None:
        s = source.syntax
        return [
            Finding(SYNTAX_ERROR, Severity.ERROR, file, s.line, s.column, source.migration.tag, 0,
                    f"the PostgreSQL parser rejects this file: {s.message}", "Nothing in it was checked.",
                    "Fix the SQL; `bbops migrate up --dry-run` shows what would be sent.")
        ]  # fmt: skip
    out: list[Finding] = []
    for stmt in source.statements:
        for rule in RULES:
            out += _check(rule, stmt, ctx, file)
        track(stmt.node, ctx)
    return out


def _check(rule: Rule, stmt: Parsed, ctx: Context, file: str) -> list[Finding]:
    return [
        Finding(
            rule=rule.id,
            severity=hit.severity or rule.severity,
            file=file,
            line=stmt.line,
            column=stmt.column,
            migration=ctx.tag,
            statement=stmt.number,
            message=hit.message,
            why=rule.why,
            fix=rule.fix,
            breaking=rule.breaking,
        )
        for hit in rule.check(stmt.node, ctx)
    ]


def _apply_ignores(source: Source, found: list[Finding], plan: Sequence[LintIgnore]) -> list[Finding]:
    tag = source.migration.tag
    reasons: dict[str, str] = {}
    problems: list[Finding] = []
    for d in source.directives:
        problem = _directive_problem(d)
        if problem:
            file = display_path(source.migration.path)
            problems.append(
                Finding(BAD_IGNORE, Severity.ERROR, file, d.line, 1, tag, 0, problem,
                        "An ignore must name a rule and say why it is safe here, so the next reviewer can judge.",
                        "-- bbops:ignore <rule-id> <why this is safe here>")
            )  # fmt: skip
        else:
            reasons.setdefault(d.rule, d.reason)
    for p in plan:
        if p.migration is None or tag == p.migration or tag.startswith(p.migration):
            reasons.setdefault(p.rule, f"{p.reason} (plan)")
    return problems + [f.ignore(reasons[f.rule]) if f.rule in reasons else f for f in found]


def _directive_problem(d: Directive) -> str | None:
    if not d.rule:
        return "`-- bbops:ignore` names no rule"
    if d.rule not in BY_ID:
        return f"`-- bbops:ignore {d.rule}`: no such rule (see `bbops migrate lint --rules`)"
    if not d.reason:
        return f"`-- bbops:ignore {d.rule}` gives no reason; it is not applied"
    return None
