"""Deleting previews, listing them, and sweeping the expired and the orphaned."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bbops.plan.model import Plan
from bbops.preview.env import delete_preview_env, preview_keys
from bbops.preview.lifecycle import policy_of, preview_lock
from bbops.preview.ownership import check_ours, owned_pr
from bbops.preview.request import check_git_branch, check_pr
from bbops.providers.base import Backend, Branch

# A branch without its env-var partner is only an orphan once it is this old: a
# create still running in another job has made the branch but not the env vars yet.
ORPHAN_GRACE = timedelta(hours=1)


@dataclass
class DeleteReport:
    pr: int
    branch: str
    branch_deleted: bool
    env_deleted: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def delete(backend: Backend, plan: Plan, number: int, *, git_branch: str | None = None) -> DeleteReport:
    """Delete the preview branch and its branch-scoped env vars; what is already gone is fine."""
    policy = policy_of(plan)
    name = policy.branch_for(check_pr(number))
    check_git_branch(git_branch)
    with preview_lock(backend, plan, name):
        branch = backend.branches.get_branch(name)
        if branch:
            check_ours(plan, branch, number)
        git_branch = git_branch or (branch.annotations.get("git_branch") if branch else None)
        deleted = backend.branches.delete_branch(name) if branch else False
        env_deleted = delete_preview_env(backend, plan, git_branch) if git_branch else 0
    return DeleteReport(number, name, deleted, env_deleted)


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
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def gc(backend: Backend, plan: Plan, *, dry_run: bool = False, now: datetime | None = None) -> GcReport:
    """Delete expired previews, branches whose env vars are gone, and env vars whose branch is gone."""
    now = now or datetime.now(UTC)
    report = GcReport(dry_run=dry_run)
    previews = list_previews(backend, plan)
    ours = preview_keys(plan)
    env = [v for v in backend.env.list_env(target="preview") if v.git_branch and v.key in ours]
    env_branches = {v.git_branch for v in env if v.git_branch}
    handled: set[str] = set()
    for b in previews:
        git_branch = b.annotations.get("git_branch")
        expired = b.expires_at is not None and b.expires_at <= now
        old_enough = b.created_at is None or now - b.created_at >= ORPHAN_GRACE
        orphan = bool(plan.vercel and git_branch and git_branch not in env_branches and old_enough)
        if expired or orphan:
            (report.expired if expired else report.orphan_branches).append(b.name)
            number = owned_pr(plan, b)
            if not dry_run and number:
                delete(backend, plan, number, git_branch=git_branch)
        if git_branch:
            handled.add(git_branch)
    for git_branch in sorted(env_branches - handled):
        keys = sorted(v.key for v in env if v.git_branch == git_branch)
        report.orphan_env.append(f"{git_branch}: {', '.join(keys)}")
        if not dry_run:
            delete_preview_env(backend, plan, git_branch)
    return report
