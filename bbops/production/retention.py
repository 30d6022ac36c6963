"""Pruning restore points and rolled-back states, which count against the project's branch limit.

Each production apply may leave a restore point (``bbops-rp-*``) and each data
rollback a preserved state (``main-before-rollback-*``); on Neon each is a branch,
and plans cap branches (10 on the free plan). ``production.retention`` says what
stays: the newest ``keep_last`` of each kind and anything younger than
``keep_days`` (defaults 3 and 7). A preserved state that still has children (Neon
moved the long-lived branches under it at the rollback) is never deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bbops.plan.model import Plan, Retention
from bbops.production.restore import PREFIX, preserved_of
from bbops.providers.base import Backend, Branch


def _kind(branch: Branch) -> str | None:
    if branch.name.startswith(PREFIX):
        return "restore point"
    if preserved_of(branch.name) is not None:
        return "rolled-back state"
    return None


def expendable(branches: Sequence[Branch], rule: Retention, now: datetime) -> list[Branch]:
    """The branches ``rule`` does not keep (pure: decided from a listing)."""
    parents = {b.parent for b in branches if b.parent}
    out: list[Branch] = []
    for kind in ("restore point", "rolled-back state"):
        ours = [b for b in branches if _kind(b) == kind]
        oldest_first = sorted(ours, key=lambda b: (b.created_at or now, b.name))
        for branch in oldest_first[: max(0, len(ours) - rule.keep_last)]:
            young = branch.created_at is not None and now - branch.created_at < timedelta(days=rule.keep_days)
            if not young and branch.name not in parents and not branch.protected:
                out.append(branch)
    return out


def prune(backend: Backend, plan: Plan, *, dry_run: bool = False, now: datetime | None = None) -> list[str]:
    """Delete what the plan's retention rule does not keep; the names (would be) deleted."""
    if plan.production is None or backend.restore_points is None:
        return []
    gone = expendable(backend.branches.list_branches(), plan.production.retention, now or datetime.now(UTC))
    if not dry_run:
        for branch in gone:
            backend.branches.delete_branch(branch.name)
    return [b.name for b in gone]
