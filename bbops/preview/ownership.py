"""Which branches a preview command may touch: only a PR's own preview branch.

A branch whose name fits the preview template is not necessarily a preview: a
template like ``release-{pr}`` fits the long-lived ``release-2``, and a branch
may have been made by hand. The lifecycle reuses, scrubs, resets and deletes a
branch only when nothing says it belongs to someone else.
"""

from __future__ import annotations

from bbops.errors import UsageError
from bbops.plan.model import Plan
from bbops.providers.base import Branch


def not_ours(plan: Plan, branch: Branch, number: int) -> str | None:
    """Why ``branch`` is not PR ``number``'s preview (protected, long-lived, another PR's), or None."""
    long_lived = {b.name for b in plan.neon.branches} if plan.neon else set()
    if branch.name in long_lived:
        return f"branch {branch.name} is one of the plan's long-lived branches, not a preview"
    if branch.default:
        return f"branch {branch.name} is the project's default branch, not a preview"
    if branch.protected:
        return f"branch {branch.name} is protected, so it is not a preview"
    if branch.annotations.get("pr") not in (None, str(number)):
        return f"branch {branch.name} belongs to PR #{branch.annotations['pr']}, not #{number}"
    return None


def check_ours(plan: Plan, branch: Branch, number: int) -> None:
    """Refuse (exit 2, nothing changed) to touch a branch that is not PR ``number``'s preview."""
    reason = not_ours(plan, branch, number)
    if reason:
        raise UsageError(reason, hint="bbops changes only preview branches it made; check preview.branch_name")


def owned_pr(plan: Plan, branch: Branch) -> int | None:
    """The PR whose preview ``branch`` is, judged by its name and everything above; None if it is no preview."""
    if plan.preview is None:
        return None
    number = plan.preview.pr_of(branch.name)
    if number is None or not_ours(plan, branch, number):
        return None
    return number
