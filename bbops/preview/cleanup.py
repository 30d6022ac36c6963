"""Deleting previews, listing them, and sweeping the expired and the orphaned."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bbops.plan.model import Plan
from bbops.preview.env import bbops_preview_env, delete_preview_env, preview_env
from bbops.preview.lifecycle import policy_of, preview_lock
from bbops.preview.ownership import check_ours, owned_pr
from bbops.preview.request import check_git_branch, check_pr
from bbops.preview.sharing import git_branch_lock, previews_on
from bbops.production import retention
from bbops.providers.base import Backend, Branch
from bbops.providers.select import app_connection

# A branch without its env-var partner is only an orphan once it is this old: a
# create still running in another job has made the branch but not the env vars yet.
ORPHAN_GRACE = timedelta(hours=1)


@dataclass
class DeleteReport:
    pr: int
    branch: str
    branch_deleted: bool
    env_deleted: int
    # Open PRs from the same git branch: their preview keeps the branch's env vars (pointed at the newest one).
    env_kept_for: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def delete(backend: Backend, plan: Plan, number: int, *, git_branch: str | None = None) -> DeleteReport:
    """Delete the preview branch and its branch-scoped env vars; what is already gone is fine."""
    policy = policy_of(plan)
    name = policy.branch_for(check_pr(number))
    check_git_branch(git_branch)
    with preview_lock(backend, plan, name):
        return _delete_locked(backend, plan, number, name, git_branch)


def _delete_locked(
    backend: Backend, plan: Plan, number: int, name: str, git_branch: str | None, *, branch: Branch | None = None
) -> DeleteReport:
    branch = branch or backend.branches.get_branch(name)
    if branch:
        check_ours(plan, branch, number)
    git_branch = git_branch or (branch.annotations.get("git_branch") if branch else None)
    deleted = backend.branches.delete_branch(name) if branch else False
    report = DeleteReport(number, name, deleted, 0)
    if git_branch:
        with git_branch_lock(backend, plan, git_branch):
            others = previews_on(backend, plan, git_branch, besides=name)
            if others:
                # Another open PR previews this git branch: its deployments keep a database (the newest one's).
                report.env_kept_for = sorted({b.pr for b in others if b.pr})
                wanted = preview_env(backend, plan, others[0].name, git_branch)
                if wanted:
                    backend.env.upsert_env(wanted)
            else:
                report.env_deleted = delete_preview_env(backend, plan, git_branch)
    return report


def is_preview(plan: Plan, branch: Branch) -> bool:
    """Named by the preview template, and neither protected, long-lived nor another PR's branch."""
    return owned_pr(plan, branch) is not None


def list_previews(backend: Backend, plan: Plan) -> list[Branch]:
    policy_of(plan)
    return sorted(
        (b for b in backend.branches.list_branches() if is_preview(plan, b)), key=lambda b: owned_pr(plan, b) or 0
    )


@dataclass
class GcReport:
    expired: list[str] = field(default_factory=list)
    orphan_branches: list[str] = field(default_factory=list)
    orphan_env: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)  # restore points and rolled-back states past retention
    streams_ended: list[str] = field(default_factory=list)  # online cutovers' reverse streams past validation
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def gc(backend: Backend, plan: Plan, *, dry_run: bool = False, now: datetime | None = None) -> GcReport:
    """Delete expired previews, branches whose env vars are gone, and env vars whose branch is gone.

    Only bbops' own variables count (``bbops_preview_env``), and each deletion is decided
    again under the lock a concurrent ``create`` holds, so gc never undoes a create's work.
    """
    now = now or datetime.now(UTC)
    report = GcReport(dry_run=dry_run)
    env_branches = {v.git_branch for v in bbops_preview_env(backend, plan) if v.git_branch}
    handled: set[str] = set()
    for b in list_previews(backend, plan):
        git_branch = b.annotations.get("git_branch")
        if git_branch:
            handled.add(git_branch)
        verdict = _stale(plan, b, git_branch in env_branches, now)
        if verdict is None:
            continue
        number = owned_pr(plan, b)
        if not dry_run and number:
            with preview_lock(backend, plan, b.name):
                fresh = backend.branches.get_branch(b.name)
                has_env = bool(git_branch and bbops_preview_env(backend, plan, git_branch))
                if fresh is None or owned_pr(plan, fresh) != number or _stale(plan, fresh, has_env, now) is None:
                    continue  # refreshed, deleted or given env vars meanwhile
                _delete_locked(backend, plan, number, b.name, git_branch, branch=fresh)
        (report.expired if verdict == "expired" else report.orphan_branches).append(b.name)
    for git_branch in sorted(g for g in env_branches - handled if g):
        keys = sorted(v.key for v in bbops_preview_env(backend, plan, git_branch))
        if not dry_run:
            with git_branch_lock(backend, plan, git_branch):
                # A create upserts under this lock after making its branch: if it got that far, keep.
                if any(b.annotations.get("git_branch") == git_branch for b in list_previews(backend, plan)):
                    continue
                delete_preview_env(backend, plan, git_branch)
        report.orphan_env.append(f"{git_branch}: {', '.join(keys)}")
    report.pruned = retention.prune(backend, plan, dry_run=dry_run, now=now)
    report.streams_ended = _end_streams(backend, plan, dry_run, now)
    return report


def _end_streams(backend: Backend, plan: Plan, dry_run: bool, now: datetime) -> list[str]:
    """Reverse streams of an online cutover whose validation period is over (the nightly sweep ends them)."""
    production = plan.production
    if production is None or not any(s.kind == "switch" and s.get("reverse") for s in production.steps):
        return []
    from bbops.online.status import end_plan_streams

    url = app_connection(backend, plan, production.branch).url
    return end_plan_streams(production.steps, url, now=now, dry_run=dry_run)


def _stale(plan: Plan, branch: Branch, has_env: bool, now: datetime) -> str | None:
    """'expired', 'orphan' (its git branch's env vars are gone and it is past the grace), or None."""
    if branch.expires_at is not None and branch.expires_at <= now:
        return "expired"
    old_enough = branch.created_at is None or now - branch.created_at >= ORPHAN_GRACE
    if plan.vercel and branch.annotations.get("git_branch") and not has_env and old_enough:
        return "orphan"
    return None
