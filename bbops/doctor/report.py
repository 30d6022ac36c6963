"""The doctor's report: findings plus what ran, what could not, and how long it took (pure data)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bbops.doctor.finding import Finding, Severity, at_least

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Skipped:
    """A check that could not run (no privilege, timed out): the report says so rather than staying silent."""

    check: str
    reason: str


@dataclass
class Report:
    database: str  # host/dbname, never the password
    server_version: int
    findings: list[Finding] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        return {s.value: sum(1 for f in self.findings if f.severity is s) for s in Severity}

    def failing(self, level: Severity | None) -> list[Finding]:
        """The findings at or above ``level`` (none when no level is set)."""
        return at_least(self.findings, level) if level else []

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "database": self.database,
            "server_version": self.server_version,
            "seconds": round(self.seconds, 3),
            "counts": self.counts(),
            "checks": list(self.checks),
            "skipped": [{"check": s.check, "reason": s.reason} for s in self.skipped],
            "findings": [f.as_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Report:
        return cls(
            database=str(data.get("database", "")),
            server_version=int(data.get("server_version", 0)),
            findings=[Finding.from_dict(f) for f in data.get("findings") or ()],
            checks=[str(c) for c in data.get("checks") or ()],
            skipped=[Skipped(str(s["check"]), str(s["reason"])) for s in data.get("skipped") or ()],
            seconds=float(data.get("seconds", 0.0)),
        )


def new_findings(current: Sequence[Finding], baseline: Sequence[Finding]) -> list[Finding]:
    """Findings of ``current`` that ``baseline`` does not have (same id and objects), e.g. a PR against its parent."""
    known = {f.key for f in baseline}
    return [f for f in current if f.key not in known]
