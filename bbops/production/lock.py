"""The production lock: one advisory lock per production branch, held where no rollback or reset of it ends it.

Applies and rollbacks of a production branch take it (``production_lock``) for their whole run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from bbops.core import pg
from bbops.core.locks import advisory_lock
from bbops.plan.model import Plan
from bbops.providers.base import Backend
from bbops.providers.select import lock_url

LOCK_TIMEOUT = 120.0


def production_lock_branch(backend: Backend, plan: Plan, branch: str) -> str | None:
    """The branch holding the production lock of ``branch`` (None: the backend's maintenance database).

    Never ``branch`` itself when there is any other place: a data rollback restores ``branch``,
    and on Neon a restore restarts the branch's compute, dropping every session on it -- the
    lock's too, halfway through the rollback. So the lock is held on the backend's maintenance
    database (local), else on another long-lived branch of the plan (the default branch, else
    the first other one that exists), which no rollback of ``branch`` touches. Only a plan with
    a single branch keeps it on ``branch``.
    """
    if backend.admin is not None or plan.neon is None:
        return None
    default = plan.neon.default_branch.name
    others = [default] + [b.name for b in plan.neon.creation_order() if b.name != default]
    for name in others:
        if name != branch and backend.branches.get_branch(name) is not None:
            return name
    return branch


def production_lock_url(backend: Backend, plan: Plan, branch: str) -> str:
    """Where the production lock of ``branch`` lives (``production_lock_branch``)."""
    return lock_url(backend, plan, production_lock_branch(backend, plan, branch) or branch)


@contextmanager
def production_lock(
    backend: Backend, plan: Plan, branch: str, purpose: str, timeout: float = LOCK_TIMEOUT
) -> Iterator[psycopg.Connection]:
    """The one lock that keeps applies and rollbacks of a production branch apart (see the module doc).

    Yields the session holding it: the lock lasts exactly as long as that session does.
    """
    url = production_lock_url(backend, plan, branch)
    with (
        pg.connection(url, autocommit=True, application_name=f"bbops {purpose}") as conn,
        advisory_lock(conn, f"bbops production {branch}", timeout=timeout, purpose=purpose),
    ):
        yield conn
