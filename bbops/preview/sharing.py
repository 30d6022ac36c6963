"""Previews that share a git branch, and the lock that guards a git branch's env vars.

Vercel scopes a preview's env vars by git branch, not by pull request: two open
PRs from the same git branch (one retargeted to another base, say) share one set
of variables. Closing one must not take the other's ``DATABASE_URL`` away.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from bbops.core import pg
from bbops.core.locks import advisory_lock
from bbops.plan.model import Plan
from bbops.preview.ownership import owned_pr
from bbops.providers.base import Backend, Branch
from bbops.providers.select import lock_url

LOCK_TIMEOUT = 120.0


def lock_branch(plan: Plan) -> str:
    """Where previews take their lock: the preview parent, else a long-lived branch that is not production's.

    Locking on production would wake its compute for every preview and fail where its
    IP allowlist keeps CI runners out (production only as the last resort).
    """
    assert plan.neon is not None
    production = plan.production.branch if plan.production else plan.neon.default_branch.name
    names = [plan.preview.parent] if plan.preview else []
    names += [b.name for b in plan.neon.branches]
    return next((n for n in names if n != production), production)


@contextmanager
def git_branch_lock(backend: Backend, plan: Plan, git_branch: str) -> Iterator[None]:
    """Held while a git branch's preview env vars are written, or checked and deleted.

    Taken inside a preview's own lock (never the other way round), on the same database.
    """
    url = lock_url(backend, plan, lock_branch(plan))
    with pg.connection(url, autocommit=True) as conn:
        key, what = f"bbops preview env {git_branch}", f"env vars of git branch {git_branch}"
        with advisory_lock(conn, key, timeout=LOCK_TIMEOUT, purpose=what):
            yield


def previews_on(
    backend: Backend, plan: Plan, git_branch: str, *, besides: str, listed: Sequence[Branch] | None = None
) -> list[Branch]:
    """The other previews (not ``besides``) whose pull request comes from ``git_branch``, newest first.

    ``listed``: a listing this command already made (one lookup per command), else one is made.
    """
    found = [
        b
        for b in (backend.branches.list_branches() if listed is None else listed)
        if b.name != besides and b.annotations.get("git_branch") == git_branch and owned_pr(plan, b) is not None
    ]
    return sorted(found, key=lambda b: (b.created_at is not None, b.created_at), reverse=True)
