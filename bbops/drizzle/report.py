"""What ``migrate up`` reports: the migrations it chose, ran, repaired and warned about."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bbops.core.report import TextOut
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

    def write_text(self, out: TextOut) -> None:
        """What ran, in one line; a dry run prints the SQL that would run, in order."""
        if not self.dry_run:
            n = len(self.applied)
            out.line(
                f"applied {n} migration{'s' if n != 1 else ''} ({self.statements_run} statements) to "
                f"{self.database} in {self.duration_s:.2f}s" + (f": {', '.join(self.tags)}" if n else "")
            )
            return
        out.line(f"-- dry run against {self.database}: {len(self.planned)} migration(s) would run")
        for p in self.planned:
            how = (
                "in one transaction"
                if p.transactional
                else f"outside a transaction ({p.reason}), statement by statement"
            )
            out.line(f"\n-- {p.tag} (when {p.when}), {how}")
            for n, stmt in enumerate(p.statements, 1):
                out.line(f"-- statement {n}")
                out.line(stmt if stmt.rstrip().endswith(";") else stmt + ";")
