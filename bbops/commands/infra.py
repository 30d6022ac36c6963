"""`bbops plan`: what `bbops apply` would change in the infrastructure (Neon project, branches, env vars)."""

from __future__ import annotations

from pathlib import Path

import click

from bbops.commands.options import backend_option, output_format, plan_option, transports
from bbops.core import report
from bbops.errors import DifferencesFound
from bbops.infra import apply as infra
from bbops.infra.render import InfraPlan
from bbops.providers.select import plan_and_backend


@click.command("plan")
@click.option("--check", is_flag=True, help="Exit 1 when anything would change (drift detection).")
@output_format("markdown")
@plan_option
@backend_option
def plan_cmd(check: bool, fmt: str, plan_path: Path | None, backend: str) -> None:
    """Show what apply would change so the infrastructure matches the plan."""
    with plan_and_backend(plan_path, backend, transports()) as (plan, be):
        result = InfraPlan(infra.plan_infra(be, plan))
    report.emit_rich(result, fmt)
    if check and result.pending:
        raise DifferencesFound(f"{len(result.pending)} difference(s) between the plan and the infrastructure")


COMMANDS = [plan_cmd]
