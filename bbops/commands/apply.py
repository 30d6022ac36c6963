"""`bbops apply` and `bbops production apply`: prepare, show, ask, execute (bbops.apply does the work)."""

from __future__ import annotations

from pathlib import Path

import click

from bbops.apply.session import ApplyReport, prepare
from bbops.commands.options import (
    after_rollback_option,
    backend_option,
    confirm,
    format_option,
    plan_option,
    transports,
    yes_option,
)
from bbops.core import console, report
from bbops.plan.model import Plan
from bbops.production.health import HealthChecker
from bbops.production.run import RunReport, StepFailed
from bbops.providers.base import Backend
from bbops.providers.select import plan_and_backend


def _log(line: str) -> None:
    console.say(f"  {line}", stderr=True)


def run_apply(
    backend: Backend,
    plan: Plan,
    *,
    infrastructure: bool,
    steps: bool,
    dry_run: bool,
    yes: bool,
    after_rollback: bool,
    fmt: str = "text",
) -> ApplyReport:
    """Both apply commands: show what would change, ask (or ``--yes``), then change it."""
    text = fmt == "text"
    with prepare(backend, plan, infrastructure=infrastructure, steps=steps, after_rollback=after_rollback) as session:
        prepared = session.prepared
        if dry_run:
            if text and prepared.refusal is not None:  # what the infrastructure would do, then why the steps may not
                report.emit(prepared, "text")
            result = session.dry_run()
            report.emit(_shown(result, infrastructure), fmt)
            return result
        if text:
            report.emit(prepared, "text")
        session.check()
        changes = [f"{len(prepared.pending)} change(s)"] if prepared.pending else []
        changes += [f"{prepared.step_count} production step(s)"] if prepared.step_count else []
        if changes:
            confirm(f"Apply {' and run '.join(changes)}?", yes=yes, what="apply")
        try:
            result = session.execute(health=HealthChecker(transports().health), log=_log)
        except StepFailed as exc:  # both reports: the steps that ran, and the automatic rollback
            report.emit(exc.report, fmt)
            raise
    report.emit(_shown(result, infrastructure), fmt)
    return result


def _shown(result: ApplyReport, infrastructure: bool) -> ApplyReport | RunReport:
    """`bbops production apply` shows (and its json is) the steps' report alone, as it always has."""
    return result if infrastructure or result.steps is None else result.steps


@click.command("apply")
@yes_option
@click.option("--dry-run", is_flag=True, help="Show the actions and change nothing.")
@click.option(
    "--steps/--no-steps",
    default=True,
    show_default=True,
    help="After the infrastructure, run the plan's pending production steps.",
)
@after_rollback_option
@plan_option
@backend_option
@format_option
def apply_cmd(
    yes: bool, dry_run: bool, steps: bool, after_rollback: bool, plan_path: Path | None, backend: str, fmt: str
) -> None:
    """Make the infrastructure match the plan, then run the pending production steps."""
    with plan_and_backend(plan_path, backend, transports()) as (plan, be):
        run_apply(
            be,
            plan,
            infrastructure=True,
            steps=steps,
            dry_run=dry_run,
            yes=yes,
            after_rollback=after_rollback,
            fmt=fmt,
        )


COMMANDS = [apply_cmd]
