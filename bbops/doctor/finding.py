"""The pure result of a check: what was found, on which objects, with which numbers, and the fix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Evidence = Mapping[str, int | float | str | bool | None]


class Severity(StrEnum):
    """Ordered: ``--fail-on warning`` also fails on errors."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(frozen=True)
class Finding:
    """One problem (or fact worth knowing) about the database.

    ``id`` is stable across releases (``fk.unindexed``, ``index.invalid`` ...) so CI
    and the preview comment can match findings between runs and databases;
    ``objects`` are qualified names (``public.orders``, ``public.orders.user_id``);
    ``evidence`` holds the numbers behind the finding; ``fix`` is SQL to run, when
    one exists (never run by bbops).
    """

    id: str
    severity: Severity
    message: str
    objects: tuple[str, ...] = ()
    evidence: Evidence = field(default_factory=dict)
    fix: str | None = None

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        """What makes two findings "the same" across databases: the check and its objects, not the numbers."""
        return (self.id, self.objects)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": self.severity.value,
            "message": self.message,
            "objects": list(self.objects),
            "evidence": dict(self.evidence),
            "fix": self.fix,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            id=str(data["id"]),
            severity=Severity(data["severity"]),
            message=str(data.get("message", "")),
            objects=tuple(str(o) for o in data.get("objects") or ()),
            evidence=dict(data.get("evidence") or {}),
            fix=data.get("fix"),
        )


def at_least(findings: Sequence[Finding], level: Severity) -> list[Finding]:
    return [f for f in findings if f.severity.rank >= level.rank]
