"""What ``migrate up`` reports: the migrations it chose, ran, repaired and warned about."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bbops.drizzle.execute import AppliedMigration


@dataclass(frozen=True)
class PlannedMigration:
    tag: str
    when: int
    transactional: bool
    reason: str | None
    statements: tuple[str, ...]
    out_of_order: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "when": self.when,
            "transactional": self.transactional,
            "no_transaction_reason": self.reason,
            "out_of_order": self.out_of_order,
            "statements": list(self.statements),
        }


@dataclass(frozen=True)
class MigrateReport:
    database: str  # redacted URL
    folder: str
    dry_run: bool
    applied: tuple[AppliedMigration, ...]
    planned: tuple[PlannedMigration, ...]  # what would run (dry run) or what was chosen to run
    repaired: tuple[str, ...]  # INVALID indexes dropped before rebuilding them
    warnings: tuple[str, ...]
    duration_s: float

    @property
    def tags(self) -> list[str]:
        return [a.tag for a in self.applied]

    @property
    def statements_run(self) -> int:
        return sum(a.statements for a in self.applied)

    def as_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "folder": self.folder,
            "dry_run": self.dry_run,
            "applied": [a.as_dict() for a in self.applied],
            "applied_tags": self.tags,
            "statements_run": self.statements_run,
            "planned": [p.as_dict() for p in self.planned],
            "repaired_indexes": list(self.repaired),
            "warnings": list(self.warnings),
            "duration_s": round(self.duration_s, 3),
        }
