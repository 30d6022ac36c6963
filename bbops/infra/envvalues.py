"""Turning a plan's env var sources into values: a branch's connection strings or ``${NAME}``s.

A connection is the target's own branch's, another long-lived branch's (``branch:``), or a
branch's read replica's (``endpoint: read_only``).

Previews (scoped to a git branch) and the production `env` step both use this.
"""

from __future__ import annotations

from collections.abc import Iterable

from bbops.core import redact
from bbops.plan.model import REF, EnvSource, Plan, resolve_ref
from bbops.providers.base import NO_REPLICAS, Backend, EnvVar
from bbops.providers.select import app_connection


def branch_env(
    backend: Backend,
    plan: Plan,
    branch: str,
    sources: Iterable[EnvSource],
    *,
    target: str,
    git_branch: str | None,
    what: str,
) -> list[EnvVar]:
    """The variables ``sources`` describe for ``target``, with ``branch``'s connection strings.

    A source naming another long-lived ``branch`` takes that branch's; ``endpoint: read_only``
    the read replica's (the branch's own where the backend has no replicas: ``replica_notes``).

    Connection strings are secrets and registered as such, ``${NAME}`` values when
    their type is secret (``redact.register_env_value``); a literal value is not
    (validation refuses literal credentials), so that ``true`` is not masked all over the output.
    """
    out = []
    for source in sources:
        if source.connection:
            value = app_connection(
                backend, plan, source.branch_for(branch), pooled=source.connection == "pooled", replica=source.replica
            ).url
        else:
            value = resolve_ref(source.value, what=f"{what}.{source.key}") or ""
        if source.connection:
            redact.register(value)  # secret by origin: the branch's credentials, with or without a password
            redact.register_url(value)
        elif REF.match(source.value or ""):
            redact.register_env_value(value, source.type)
        out.append(EnvVar(source.key, value, source.type, (target,), git_branch))
    return out


def replica_notes(backend: Backend, branch: str, sources: Iterable[EnvSource]) -> list[str]:
    """What people are told about read-replica sources on a backend without replicas (local)."""
    if backend.replicas is not None:
        return []
    return [f"{s.key}: {NO_REPLICAS} ({s.branch_for(branch)})" for s in sources if s.connection and s.replica]
