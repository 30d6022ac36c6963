"""The Finding model: one rule broken by one statement of one migration (pure data)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """``error``: takes locks or breaks the running app on a live table; ``warning``: worth a look."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    file: str  # path of the .sql file as the user named the folder
    line: int  # 1-based line of the statement (or of the directive, for directive problems)
    column: int
    migration: str  # the journal tag
    statement: int  # 1-based statement number in the file, in parser order (0: the file as a whole)
    message: str  # what this statement does
    why: str  # why it hurts on a live table
    fix: str  # the safe rewrite
    breaking: bool = False  # breaks the deployment that is running while the migration runs
    ignored: str | None = None  # the reason given by an ignore, when one applies

    @property
    def active(self) -> bool:
        """True unless an ignore with a reason silenced it."""
        return self.ignored is None

    def ignore(self, reason: str) -> Finding:
        return replace(self, ignored=reason)

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        """Back from ``as_dict`` (the preview report's JSON, read again by ``comment preview``)."""
        fields = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**{**fields, "severity": Severity(d["severity"])})

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": str(self.severity),
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "migration": self.migration,
            "statement": self.statement,
            "message": self.message,
            "why": self.why,
            "fix": self.fix,
            "breaking": self.breaking,
            "ignored": self.ignored,
        }


def blocks_at(findings: list[Finding], level: Severity | None) -> list[Finding]:
    """The active findings at ``level`` or worse (errors for ``error``, everything for ``warning``)."""
    if level is None:
        return []
    wanted = {Severity.ERROR} if level is Severity.ERROR else {Severity.ERROR, Severity.WARNING}
    return [f for f in findings if f.active and f.severity in wanted]
