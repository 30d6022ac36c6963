"""Choosing a backend: ``local`` (embedded Postgres + file store) or ``cloud`` (Neon + Vercel)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bbops.core.http import NETWORK, Transports
from bbops.errors import ProviderError, UsageError
from bbops.plan import default_plan_path, load_plan
from bbops.plan.model import Plan
from bbops.providers.base import Backend, Connection


def open_backend(name: str, plan: Plan, transports: Transports = NETWORK) -> Backend:
    """Backend ``name`` for ``plan``; the cloud's HTTP goes where ``transports`` say."""
    if name == "local":
        from bbops.providers.local import open_local_backend

        return open_local_backend()
    if name == "cloud":
        from bbops.providers.cloud import open_cloud_backend

        return open_cloud_backend(plan, transports=transports)
    raise UsageError(f"unknown backend {name!r}: expected local or cloud")


@contextmanager
def plan_and_backend(
    plan_path: Path | None, backend: str, transports: Transports = NETWORK
) -> Iterator[tuple[Plan, Backend]]:
    """The plan (``--plan`` or the one under plans/) and its backend, closed afterwards."""
    plan = load_plan(plan_path or default_plan_path())
    be = open_backend(backend, plan, transports)
    try:
        yield plan, be
    finally:
        be.close()


def app_connection(
    backend: Backend, plan: Plan, branch: str, *, pooled: bool = False, replica: bool = False
) -> Connection:
    """Where the app's database (the plan's database and role) answers on ``branch``; direct by default.

    ``replica``: on the branch's read replica. A backend without read replicas (local) gives
    the branch's own connection (``providers.base.NO_REPLICAS`` says so to people); one with them but none on
    ``branch`` is an error (``bbops apply`` makes the plan's ``read_replicas`` first).
    """
    if plan.neon is None:
        raise UsageError(f"{plan.file.name} has no `neon:` section (database and role names)")
    database, role = plan.neon.database, plan.neon.role
    if replica and backend.replicas is not None:
        found = backend.replicas.replica_connection(branch, database=database, role=role, pooled=pooled)
        if found is None:
            raise ProviderError(
                f"{backend.name}: branch {branch!r} has no read replica",
                hint=f"`bbops apply` creates the read replicas the plan gives neon.branches.{branch}",
            )
        return found
    return backend.branches.connection(branch, database=database, role=role, pooled=pooled)


def lock_url(backend: Backend, plan: Plan, branch: str) -> str:
    """Where bbops' advisory locks for work on ``branch`` live.

    The backend's own maintenance database when it has one (never a template
    source, so a lock never blocks a copy); else the app's database on
    ``branch``, direct (a pooler in transaction mode would lose session locks).
    """
    if backend.admin is not None:
        return backend.admin.admin_url()
    return app_connection(backend, plan, branch).url
