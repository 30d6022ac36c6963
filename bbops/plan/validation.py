"""``bbops validate``: every plan file checked at once, each problem located in its YAML.

The result says itself for people (an ``ok:`` line per valid file; the problems of an invalid
one are the ``PlanError`` the CLI prints on stderr), for machines (json), and for the Actions
runner (an ``::error`` annotation on each problem's line).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbops.core.report import Annotation, TextOut
from bbops.errors import Problem
from bbops.plan import display_path, plan_files, validate_file


@dataclass(frozen=True)
class Validation:
    files: tuple[Path, ...]
    problems: tuple[Problem, ...]

    @property
    def valid(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "files": [display_path(f) for f in self.files],
            "problems": [p.as_dict() for p in self.problems],
        }

    def write_text(self, out: TextOut) -> None:
        if self.valid:
            for f in self.files:
                out.line(f"ok: {display_path(f)}")

    def annotations(self) -> list[Annotation]:
        return [
            Annotation(
                "error", f"{p.field}: {p.message}" if p.field else p.message, file=p.file, line=p.line, col=p.column
            )
            for p in self.problems
        ]


def validate_plans(paths: list[Path]) -> Validation:
    """Every plan file of ``paths`` (default: every plan under ``plans/``) and all their problems."""
    files = plan_files(paths)
    return Validation(tuple(files), tuple(p for f in files for p in validate_file(f)))
