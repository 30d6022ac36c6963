"""`bbops rollback` and `bbops production apply|status`; `bbops apply` calls ``run_production_steps``.

`bbops apply` (in ``commands/infra.py``) reconciles the infrastructure, then
runs the pending production steps through ``run_production_steps``;
`bbops production apply` runs only the steps. After a rollback, both refuse
to run the undone steps again until the plan's steps change or
``--after-rollback`` is passed.
"""

from __future__ import annotations

from pathlib import Path

import click

from bbops.commands.options import (
    backend_option,
    confirm,
    format_option,
    on_terminal,
    plan_option,
    refuse_off_terminal,
    transports,
    yes_option,
)
from bbops.core import console
from bbops.errors import UsageError
from bbops.github import runner as gha
from bbops.online.status import plan_streams
from bbops.plan.model import Plan
from bbops.production.health import HealthChecker
from bbops.production.history import History
from bbops.production.pending import Recorded, plan_run
from bbops.production.rollback import PARTS, RollbackFailed, RollbackReport, rollback
from bbops.production.run import RunReport, StepFailed, apply_production
from bbops.providers.base import Backend
from bbops.providers.select import app_connection, plan_and_backend

after_rollback_option = click.option(
    "--after-rollback",
    is_flag=True,
    help="Run production steps again that a rollback undid, although the plan's steps did not change.",
)


def _log(line: str) -> None:
    console.say(f"  {line}", stderr=True)


def _print_run(report: RunReport, fmt: str = "text") -> None:
    if fmt == "json":
        console.emit_json(report.as_dict())
        return
    if report.restore_point:
        verb = "taken" if report.restore_point_taken else ("would be taken" if report.dry_run else "reused")
        console.say(f"Restore point {report.restore_point} {verb}.")
    if not report.steps:
        console.say(f"Production steps: nothing pending ({len(report.already_applied)} applied).")
        return
    console.table(["step", "kind", "outcome", "detail"], [[s.id, s.kind, s.status, s.detail] for s in report.steps])
    if report.rollback is not None:
        console.say(f"Automatic rollback to {report.rollback.to}:")
        for line in report.rollback.lines():
            console.say(f"  {line}")


def run_production_steps(
    backend: Backend,
    plan: Plan,
    *,
    dry_run: bool,
    yes: bool,
    after_rollback: bool,
    fmt: str = "text",
) -> RunReport:
    """The production half of `bbops apply`: show what would run, confirm, run."""
    if plan.production is None or not plan.production.steps:
        return RunReport(branch="main", dry_run=dry_run)
    health = HealthChecker(transports().health)
    preview = apply_production(
        backend, plan, dry_run=True, after_rollback=after_rollback, log=_log, summary=dry_run, health=health
    )
    if dry_run or not preview.steps:
        _print_run(preview, fmt)
        return preview
    if not yes and on_terminal():
        _print_run(preview)
    confirm(f"Run {len(preview.steps)} production step(s)?", yes=yes, what="run the production steps")
    try:
        report = apply_production(backend, plan, after_rollback=after_rollback, log=_log, health=health)
    except StepFailed as exc:  # both reports: the steps that ran, and the automatic rollback
        _print_run(exc.report, fmt)
        raise
    _print_run(report, fmt)
    return report


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
        run_production_steps(be, plan, dry_run=dry_run, yes=yes, after_rollback=after_rollback, fmt=fmt)


@production_group.command("status")
@plan_option
@backend_option
@format_option
def production_status_cmd(plan_path: Path | None, backend: str, fmt: str) -> None:
    """Each step's state in the production history: applied, failed, pending, or changed since applied."""
    with plan_and_backend(plan_path, backend, transports()) as (plan, be):
        if plan.production is None or plan.neon is None:
            raise UsageError(f"{plan.file.name} has no production steps")
        url = app_connection(be, plan, plan.production.branch).url
        history = History(url)
        attempts = history.latest_attempts() if history.exists() else {}
        points = [r.name for r in history.restore_points()] if attempts else []
        streams = plan_streams(plan.production.steps, url)
    planned = plan_run(plan, {k: Recorded(a.status, a.checksum, a.error) for k, a in attempts.items()})
    drifted = {d.step_id for d in planned.drift}
    rows = []
    for step in plan.production.steps:
        a = attempts.get(step.id)
        state = "changed since applied" if step.id in drifted else (a.status if a else "pending")
        rows.append(
            {
                "id": step.id,
                "kind": step.kind,
                "state": state,
                "error": a.error if a else None,
                "finished_at": a.finished_at.isoformat() if a and a.finished_at else None,
            }
        )
    if fmt == "json":
        console.emit_json({"steps": rows, "restore_points": points, "streams": streams})
        return
    console.table(
        ["step", "kind", "state", "finished", "error"],
        [[r["id"], r["kind"], r["state"], r["finished_at"] or "", r["error"] or ""] for r in rows],
    )
    for s in streams:  # an online cutover's replication objects: each holds resources until dropped
        lag = f", lag {s['lag']}" if s.get("lag") else ""
        console.say(f"stream {s['stream']} (step {s['step']}): {s['phase']}{lag}")
        for o in s["objects"]:
            held = f", {o['retained_bytes']:,} bytes of WAL retained" if o.get("retained_bytes") else ""
            console.say(f"  {o['database']}: {o['kind']} {o['name']}{held}")
    console.say(f"Restore points: {', '.join(points) or 'none'}")


def _print_rollback(report: RollbackReport, fmt: str) -> None:
    lines = "\n".join(f"    {line}" for line in report.lines())
    gha.append_summary(
        f"### Rollback of `{report.branch}` to `{report.to}`{' (dry run)' if report.dry_run else ''}\n\n{lines}\n"
    )
    if fmt == "json":
        console.emit_json(report.as_dict())
        return
    head = "Rollback (dry run)" if report.dry_run else "Rollback"
    console.say(f"{head} of {report.branch} to {report.to}:")
    for line in report.lines():
        console.say(f"  {line}")


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
            for line in preview.lines():
                console.say(f"  {line}")
            confirm(f"Roll back {preview.branch} to {preview.to}?", yes=False, what="roll back production")
        try:
            report = rollback(
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
    _print_rollback(report, fmt)


COMMANDS = [rollback_cmd, production_group]
