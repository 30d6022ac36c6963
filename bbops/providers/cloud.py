"""The ``cloud`` backend: Neon for branches and infrastructure, Vercel for env vars and deployments.

Settings come from the environment first, then the plan:
``NEON_API_KEY``, ``NEON_PROJECT_ID`` (else ``neon.project.id``), ``NEON_API_HOST``;
``VERCEL_TOKEN``, ``VERCEL_PROJECT_ID`` (else ``vercel.project``), ``VERCEL_TEAM_ID``
(else ``vercel.team``), ``VERCEL_API_HOST``.

HTTP goes where the ``Transports`` handed in say (the network by default):
tests pass the in-memory fakes' transports, nothing is patched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx

from bbops.core.http import NETWORK, Timeouts, Transports
from bbops.plan.model import Plan, resolve_ref
from bbops.providers.base import Backend
from bbops.providers.neon.branches import NeonBranches
from bbops.providers.vercel import VercelProject


def _api_kwargs(
    transport: httpx.BaseTransport | None, transports: Transports, env: Mapping[str, str]
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"timeouts": Timeouts.from_env(env)}
    if transport is not None:
        kwargs["transport"] = transport
    if transports.sleep is not None:
        kwargs["sleep"] = transports.sleep
    return kwargs


def open_neon(
    plan: Plan | None = None, env: Mapping[str, str] | None = None, transports: Transports = NETWORK
) -> NeonBranches:
    env = os.environ if env is None else env
    project_id = None
    if plan and plan.neon and plan.neon.project.id:
        project_id = resolve_ref(plan.neon.project.id, what="neon.project.id", required=False)
    return NeonBranches.from_env(env, project_id=project_id, **_api_kwargs(transports.neon, transports, env))


def open_vercel(
    plan: Plan | None = None, env: Mapping[str, str] | None = None, transports: Transports = NETWORK
) -> VercelProject:
    env = os.environ if env is None else env
    project = team = None
    if plan and plan.vercel:
        project = plan.vercel.project
        team = resolve_ref(plan.vercel.team, what="vercel.team", required=False)
    return VercelProject.from_env(env, project=project, team_id=team, **_api_kwargs(transports.vercel, transports, env))


def open_cloud_backend(
    plan: Plan | None = None, *, env: Mapping[str, str] | None = None, transports: Transports = NETWORK
) -> Backend:
    """Neon (branches, settings and endpoints, read replicas, restore points, timestamp restores) and Vercel
    (env, deployments)."""
    neon = open_neon(plan, env, transports)
    try:
        vercel = open_vercel(plan, env, transports)
    except BaseException:
        neon.close()
        raise
    return Backend(
        name="cloud",
        branches=neon,
        env=vercel,
        deployments=vercel,
        protection=neon,
        infra=neon,
        restore_points=neon,
        timestamp_restore=neon,
        limits=neon,
        replicas=neon,
        closers=(neon.close, vercel.close),
    )
