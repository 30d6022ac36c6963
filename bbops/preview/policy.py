"""Whose preview policy applies: the base branch's, not the pull request's own.

A preview is made with project-wide credentials, so what it copies and what it
hides must not be up to the change under review: a PR could point
``preview.parent`` at production, empty the scrub rules or add a seed file that
reads data out. ``with_base_policy`` keeps the PR's plan (its migrations are
what the preview is for) but takes the parent, the seed files and the scrub
rules from the plan as it is on the base branch (a checkout of the PR's base
commit; see the preview workflow).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bbops.errors import UsageError
from bbops.plan import load_plan
from bbops.plan.model import Plan


def with_base_policy(plan: Plan, base_plan: Path) -> Plan:
    """``plan`` with the preview parent, seed files and scrub rules of the plan at ``base_plan``."""
    base = load_plan(base_plan)
    if base.preview is None:
        raise UsageError(f"{base_plan}: the base branch's plan has no `preview:` section, so no preview policy")
    if plan.preview is None:
        raise UsageError(f"{plan.file.name} has no `preview:` section")
    policy = replace(plan.preview, parent=base.preview.parent, seed=base.preview.seed, scrub=base.preview.scrub)
    return replace(plan, preview=policy)
