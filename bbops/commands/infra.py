"""`bbops plan` and `bbops apply`: the infrastructure (Neon project, long-lived branches, replicas, env vars)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from bbops.commands.options import backend_option, confirm, output_format, plan_option, transports, yes_option
from bbops.commands.production import after_rollback_option, run_production_steps
from bbops.core import console
from bbops.errors import DifferencesFound
from bbops.infra import apply as infra
from bbops.infra import render as infra_render
from bbops.infra.diff import Action
from bbops.production.run import apply_production, env_owned_by_steps
from bbops.providers.select import plan_and_backend


def _render(actions: Sequence[Action], fmt: str) -> None:
    if fmt == "json":
        console.say(infra_render.as_json(actions))
    elif fmt == "markdown":
        console.say(infra_render.markdown(actions))
    else:
        console.say(infra_render.text(actions))


@click.command("plan")
@click.option("--check", is_flag=True, help="Exit 1 when anything would change (drift detection).")
@output_format("markdown")
@plan_option
@backend_option
def plan_cmd(check: bool, fmt: str, plan_path: Path | None, backend: str) -> None:
    """Show what apply would change so the infrastructure matches the plan."""
    with plan_and_backend(plan_path, backend, transports()) as (plan, be):
        actions = infra.plan_infra(be, plan)
    _render(actions, fmt)
    pending = [a for a in actions if a.pending]
    if check and pending:
        raise DifferencesFound(f"{len(pending)} difference(s) between the plan and the infrastructure")


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
def apply_cmd(
    yes: bool, dry_run: bool, steps: bool, after_rollback: bool, plan_path: Path | None, backend: str
) -> None:
    """Make the infrastructure match the plan, then run the pending production steps."""
    with plan_and_backend(plan_path, backend, transports()) as (plan, be):
        actions = infra.plan_infra(be, plan)
        console.say(infra_render.text(actions))
        if steps:  # env vars a pending production step sets (the cutover) are left to that step
            owned_keys = env_owned_by_steps(be, plan, after_rollback=after_rollback)
            owned = {f"vercel.env.{t}.{k}": step for (t, k), step in owned_keys.items()}
            for a in actions:
                if a.pending and a.address in owned:
                    console.say(f"{a.address}: left to production step {owned[a.address]}")
            actions = [a for a in actions if a.address not in owned]
        pending = [a for a in actions if a.pending]
        if steps and pending and not dry_run:
            # Refuse before the infrastructure changes what the steps cannot finish: a missing
            # ${NAME}, drift of an applied step, a rollback not yet acknowledged.
            apply_production(be, plan, dry_run=True, after_rollback=after_rollback, summary=False)
        if pending and not dry_run:
            confirm(f"Apply {len(pending)} change(s)?", yes=yes, what="apply")
            report = infra.apply_actions(be, plan, actions, log=lambda line: console.say(f"  {line}", stderr=True))
            console.say(f"Applied {len(report.done)} change(s).")
        # Then the production steps (they need the infrastructure, e.g. the production branch).
        if steps:
            run_production_steps(be, plan, dry_run=dry_run, yes=yes, after_rollback=after_rollback)


COMMANDS = [plan_cmd, apply_cmd]
