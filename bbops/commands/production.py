"""`bbops rollback` and `bbops production apply|status`.

`bbops production apply` runs only the steps, through the same ``run_apply`` as
`bbops apply` (``commands/apply.py``). After a rollback, both refuse to run the
undone steps again until the plan's steps change or ``--after-rollback`` is passed.
"""

from __future__ import annotations

from pathlib import Path

import click

from bbops.commands.apply import run_apply
from bbops.commands.options import (
    after_rollback_option,
    backend_option,
    confirm,
    format_option,
    plan_option,
    refuse_off_terminal,
    transports,
    yes_option,
)
from bbops.core import console, report
from bbops.github import runner as gha
from bbops.production.health import HealthChecker
from bbops.production.rollback import PARTS, RollbackFailed, RollbackReport, rollback
from bbops.production.status import production_status
from bbops.providers.select import plan_and_backend


@click.group("production")
def production_group() -> None:
    """The plan's production steps (also run by `bbops apply`)."""


@production_group.command("apply")
@yes_option
@click.option("--dry-run", is_flag=True, help="Show the steps that would run and change nothing.")
@after_rollback_option
@plan_option
@backend_option
@format_option
def production_apply_cmd(
    yes: bool, dry_run: bool, after_rollback: bool, plan_path: Path | None, backend: str, fmt: str
) -> None:
    """Run the pending production steps once each, in order (no infrastructure changes)."""
    with plan_and_backend(plan_path, backend, transports()) as (plan, be):
        run_apply(
            be,
            plan,
            infrastructure=False,
            steps=True,
            dry_run=dry_run,
            yes=yes,
            after_rollback=after_rollback,
            fmt=fmt,
        )


@production_group.command("status")
@plan_option
@backend_option
@format_option
def production_status_cmd(plan_path: Path | None, backend: str, fmt: str) -> None:
    """Each step's state in the production history: applied, failed, pending, or changed since applied."""
    with plan_and_backend(plan_path, backend, transports()) as (plan, be):
        result = production_status(be, plan)
    report.emit(result, fmt)


def _print_rollback(result: RollbackReport, fmt: str) -> None:
    gha.append_summary(result.markdown())
    report.emit(result, fmt)


def _log(line: str) -> None:
    console.say(f"  {line}", stderr=True)


@click.command("rollback")
@click.option(
    "--to",
    "to",
    required=True,
    metavar="RESTORE_POINT|TIMESTAMP|latest",
    help="A restore point name, `latest`, or an ISO 8601 timestamp (backends with history only).",
)
@click.option("--data", is_flag=True, help="Restore the production branch's data (the old state is kept).")
@click.option("--env", "env", is_flag=True, help="Put back the env vars production steps changed.")
@click.option("--deployment", is_flag=True, help="Make the previous production deployment serve again.")
@click.option("--freeze", is_flag=True, help="Lift the write freezes production steps put on databases.")
@click.option(
    "--stream",
    "stream",
    is_flag=True,
    help="Make the old database the writer again after an online cutover (drains the reverse stream).",
)
@click.option(
    "--accept-data-loss",
    is_flag=True,
    help="Roll an online cutover back even when writes made on the new database since the switch would be lost.",
)
@click.option("--dry-run", is_flag=True, help="Say what each part would do; change nothing.")
@yes_option
@plan_option
@backend_option
@format_option
def rollback_cmd(
    to: str,
    data: bool,
    env: bool,
    deployment: bool,
    freeze: bool,
    stream: bool,
    accept_data_loss: bool,
    dry_run: bool,
    yes: bool,
    plan_path: Path | None,
    backend: str,
    fmt: str,
) -> None:
    """Put production back to a restore point: data, write freezes, env vars, deployment (no part flag: all),
    then health check.

    Asks first on a terminal (after showing what it would do); elsewhere it needs --yes.
    """
    asked = {"stream": stream, "data": data, "freeze": freeze, "env": env, "deployment": deployment}
    chosen = tuple(n for n in PARTS if asked[n]) or PARTS
    if not dry_run:  # refused before the plan or the backend is even opened
        refuse_off_terminal(yes=yes, what="roll back production")
    with plan_and_backend(plan_path, backend, transports()) as (plan, be):
        if not dry_run and not yes:  # on a terminal: show what would happen, then ask
            preview = rollback(be, plan, to, parts=chosen, dry_run=True)
            report.emit(preview, "text")
            confirm(f"Roll back {preview.branch} to {preview.to}?", yes=False, what="roll back production")
        try:
            result = rollback(
                be,
                plan,
                to,
                parts=chosen,
                dry_run=dry_run,
                log=_log if fmt == "text" else lambda _: None,
                health=HealthChecker(transports().health),
                accept_data_loss=accept_data_loss,
            )
        except RollbackFailed as exc:
            _print_rollback(exc.report, fmt)
            raise
    _print_rollback(result, fmt)


COMMANDS = [rollback_cmd, production_group]
