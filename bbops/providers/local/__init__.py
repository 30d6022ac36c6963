"""The embedded local backend: branches as databases on a local Postgres, env vars and
deployments in files under the state folder (``.bbops/``, or ``$BBOPS_HOME``).

``open_local_backend()`` is all a command needs::

    backend = open_local_backend()
    try:
        backend.branches.create_branch("preview/pr-1", parent="main")
    finally:
        backend.close()

Environment: ``BBOPS_HOME`` (state folder), ``BBOPS_LOCAL_DATABASE_URL`` (use
an existing server instead of the embedded one), ``BBOPS_LOCAL_NAMESPACE``
(a short tag that keeps several users of one server apart, e.g. test runs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bbops.providers.base import Backend
from bbops.providers.local.branches import LocalBranches
from bbops.providers.local.deployments import LocalDeployments
from bbops.providers.local.envstore import LocalEnv
from bbops.providers.local.server import LocalServer
from bbops.providers.local.state import state_home

ENV_NAMESPACE = "BBOPS_LOCAL_NAMESPACE"


@dataclass
class LocalBackend(Backend):
    """A ``Backend`` whose parts keep their local types (``bbops local`` reaches the server through them)."""

    branches: LocalBranches
    env: LocalEnv
    deployments: LocalDeployments


__all__ = [
    "LocalBackend",
    "LocalBranches",
    "LocalDeployments",
    "LocalEnv",
    "LocalServer",
    "open_local_backend",
    "state_home",
]


def open_local_backend(
    home: Path | None = None,
    *,
    url: str | None = None,
    namespace: str | None = None,
    lock_timeout: float = 60.0,
) -> LocalBackend:
    """A ``Backend`` named ``local``. The server starts lazily, on the first branch operation."""
    # The folder is made on the first write or server start, not here: `local status` creates nothing.
    home = home or state_home()
    server = LocalServer(home, url)
    branches = LocalBranches(
        server,
        namespace=namespace if namespace is not None else os.environ.get(ENV_NAMESPACE, ""),
        lock_timeout=lock_timeout,
    )
    env = LocalEnv(home)
    return LocalBackend(
        name="local",
        branches=branches,
        env=env,
        deployments=LocalDeployments(home, env),
        roots=branches,
        protection=branches,
        restore_points=branches,
        admin=branches,
        closers=(branches.close,),
    )
