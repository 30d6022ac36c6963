"""The ``cloud`` backend: Neon for branches and infrastructure, Vercel for env vars and deployments.

Settings come from the environment first, then the plan:
``NEON_API_KEY``, ``NEON_PROJECT_ID`` (else ``neon.project.id``), ``NEON_API_HOST``;
``VERCEL_TOKEN``, ``VERCEL_PROJECT_ID`` (else ``vercel.project``), ``VERCEL_TEAM_ID``
(else ``vercel.team``), ``VERCEL_API_HOST``.

``use_transports`` is the one seam for tests and embedding: the httpx
transports (and a sleep) every cloud backend opened inside it will use, so a
whole CLI run can talk to in-memory fakes without patching anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bbops.core.http import Timeouts
from bbops.plan.model import Plan, resolve_ref
from bbops.providers.base import Backend
from bbops.providers.neon.branches import NeonBranches
from bbops.providers.vercel import VercelProject


@dataclass
class _Wiring:
    neon: httpx.BaseTransport | None = None
    vercel: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] | None = None


_wiring = _Wiring()


@contextmanager
def use_transports(
    *,
    neon: httpx.BaseTransport | None = None,
    vercel: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
) -> Iterator[None]:
    global _wiring
    previous = _wiring
    _wiring = _Wiring(neon, vercel, sleep)
    try:
        yield
    finally:
        _wiring = previous


def _api_kwargs(transport: httpx.BaseTransport | None, env: Mapping[str, str]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"timeouts": Timeouts.from_env(env)}
    if transport is not None:
        kwargs["transport"] = transport
    if _wiring.sleep is not None:
        kwargs["sleep"] = _wiring.sleep
    return kwargs


def open_neon(plan: Plan | None = None, env: Mapping[str, str] | None = None) -> NeonBranches:
    env = os.environ if env is None else env
    project_id = None
    if plan and plan.neon and plan.neon.project.id:
        project_id = resolve_ref(plan.neon.project.id, what="neon.project.id", required=False)
    return NeonBranches.from_env(env, project_id=project_id, **_api_kwargs(_wiring.neon, env))


def open_vercel(plan: Plan | None = None, env: Mapping[str, str] | None = None) -> VercelProject:
    env = os.environ if env is None else env
    project = team = None
    if plan and plan.vercel:
        project = plan.vercel.project
        team = resolve_ref(plan.vercel.team, what="vercel.team", required=False)
    return VercelProject.from_env(env, project=project, team_id=team, **_api_kwargs(_wiring.vercel, env))


def open_cloud_backend(plan: Plan | None = None, *, env: Mapping[str, str] | None = None) -> Backend:
    neon = open_neon(plan, env)
    try:
        vercel = open_vercel(plan, env)
    except BaseException:
        neon.close()
        raise
    return Backend(name="cloud", branches=neon, env=vercel, deployments=vercel)
