"""Which database the doctor examines and which probe queries it EXPLAINs, from the command's options."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bbops.core import redact
from bbops.doctor.context import Probe
from bbops.doctor.probes import probes_from_steps, read_probes
from bbops.errors import UsageError

if TYPE_CHECKING:  # the plan (and its jsonschema) is loaded only for --branch or --plan
    from bbops.core.http import Transports
    from bbops.plan.model import Plan


def plan_probes(plan: Plan) -> list[Probe]:
    """The plan's probe queries: its ``check`` steps' ``queries:`` and its ``doctor`` steps' queries files."""
    steps = plan.production.steps if plan.production else ()
    probes = probes_from_steps((s.id, s.get("queries")) for s in steps if s.kind == "check" and s.get("queries"))
    for step in steps:
        if step.kind == "doctor" and step.get("queries"):
            probes += read_probes(step.path("queries"))
    return probes


def resolve_target(
    database_url: str | None,
    branch: str | None,
    queries: Path | None,
    plan_path: Path | None,
    backend: str,
    transports: Transports | None = None,
) -> tuple[str, list[Probe]]:
    """``--branch`` asks the plan's backend for the app's database on that branch; else ``--database-url``."""
    probes = read_probes(queries) if queries else []
    if branch:
        from bbops.core.http import NETWORK
        from bbops.providers.select import app_connection, plan_and_backend

        with plan_and_backend(plan_path, backend, transports or NETWORK) as (plan, be):
            if be.branches.get_branch(branch) is None:
                raise UsageError(f"branch {branch!r} does not exist on the {backend} backend")
            url = app_connection(be, plan, branch).url
            redact.register_url(url)
            return url, probes or plan_probes(plan)
    if not database_url:
        raise UsageError("no database given: pass --database-url URL (or set DATABASE_URL) or --branch NAME")
    if not probes and plan_path:
        from bbops.plan import load_plan

        probes = plan_probes(load_plan(plan_path))
    return database_url, probes
