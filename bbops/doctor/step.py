"""The production step ``kind: doctor``: the health report of a branch, failing the run at ``fail_on``."""

from __future__ import annotations

from collections.abc import Callable

from bbops.doctor.finding import Severity
from bbops.doctor.probes import read_probes
from bbops.doctor.render import ordered, summary
from bbops.doctor.runner import run_doctor
from bbops.errors import MigrationError
from bbops.plan.model import Step


def doctor_step(url: str, step: Step, log: Callable[[str], None] = lambda _: None) -> str:
    """Run every check on ``url``; raise (exit 5) naming the findings at or above the step's ``fail_on``."""
    level = Severity(step.get("fail_on", "error"))
    probes = read_probes(step.path("queries")) if step.get("queries") else []
    report = run_doctor(url, probes=probes)
    for f in ordered(report.findings):
        if f.severity is not Severity.INFO:
            log(f"{f.severity.value} {f.id} {', '.join(f.objects)}: {f.message}")
    failing = report.failing(level)
    if failing:
        names = ", ".join(f"{f.id} {f.objects[0]}" if f.objects else f.id for f in ordered(failing)[:5])
        more = f" (and {len(failing) - 5} more)" if len(failing) > 5 else ""
        raise MigrationError(f"doctor found {len(failing)} finding(s) at or above {level.value}: {names}{more}")
    return summary(report)
