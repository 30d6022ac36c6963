"""Choosing a backend: ``local`` (embedded Postgres + file store) or ``cloud`` (Neon + Vercel)."""

from __future__ import annotations

from bbops.errors import UsageError
from bbops.plan.model import Plan
from bbops.providers.base import Backend


def open_backend(name: str, plan: Plan) -> Backend:
    if name == "local":
        from bbops.providers.local import open_local_backend

        return open_local_backend(plan=plan)
    if name == "cloud":
        from bbops.providers.cloud import open_cloud_backend

        return open_cloud_backend(plan)
    raise UsageError(f"unknown backend {name!r}: expected local or cloud")
