"""The env vars a preview deployment gets, scoped to the PR's git branch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg

from bbops.core import bookkeeping
from bbops.infra.envvalues import branch_env
from bbops.plan.model import EnvSource, Plan
from bbops.providers.base import Backend, EnvVar, env_value_matches, fingerprint

# What the preview's deployment was last made with is kept in the preview's own database
# (bbops.preview_env, owned by core.bookkeeping): the env fingerprint, the commit and the
# deployment that carries them. A run whose env and head commit match it does nothing; one
# that could not get a deployment records nothing, so the next run tries again.


@dataclass
class HandedOut:
    """What ``hand_out_env`` did: the keys it manages and the deployment that carries the database."""

    keys: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deployment: str | None = None  # the deployment built with these values (None: none yet)
    deployment_state: str | None = None
    deployment_url: str | None = None
    # For ``deploy_handed_out``: the git branch and head commit, a digest of the values, and when
    # the provider last changed any of them (its own clock).
    git_branch: str | None = None
    sha: str | None = None
    digest: str | None = None
    changed_at: datetime | None = None


def _preview_sources(plan: Plan) -> list[EnvSource]:
    target = plan.vercel.target("preview") if plan.vercel else None
    return list(target.env) if target else []


def connection_pooling(plan: Plan) -> set[bool]:
    """Which of its own connection strings (pooled: True, direct: False) a preview's env vars hand out.

    A source naming a shared long-lived branch (``branch:``) is that branch's, not the preview's.
    """
    return {s.connection == "pooled" for s in _preview_sources(plan) if s.connection and s.branch is None}


def preview_env(backend: Backend, plan: Plan, branch: str, git_branch: str) -> list[EnvVar]:
    """The env vars the plan gives a preview deployment, with values from ``branch``."""
    sources = _preview_sources(plan)
    if not sources:
        return []
    return branch_env(
        backend, plan, branch, sources, target="preview", git_branch=git_branch, what="vercel.targets.preview.env"
    )


def hand_out_env(
    backend: Backend,
    plan: Plan,
    branch: str,
    git_branch: str | None,
    *,
    sha: str | None = None,
    new_credentials: bool = False,
) -> HandedOut:
    """Upsert the preview's env vars where they differ (``deploy_handed_out`` then gets them deployed).

    ``new_credentials``: ``branch``'s connection strings hold a password made by this command.
    When every variable is one of them, none can match what is stored, so the listing is not read.
    """
    out = HandedOut(git_branch=git_branch, sha=sha)
    if not git_branch:
        return out
    wanted = preview_env(backend, plan, branch, git_branch)
    if not wanted:
        return out
    out.keys = sorted(v.key for v in wanted)
    # A shared branch's connection string (``branch:``) keeps its password: it may match what is stored.
    if new_credentials and all(s.connection and s.branch is None for s in _preview_sources(plan)):
        current: dict[tuple[str, tuple[str, ...], str | None], EnvVar] = {}  # all changed: one request fewer
    else:
        current = {v.scope(): v for v in backend.env.list_env(target="preview", git_branch=git_branch)}
    changed = [
        v
        for v in wanted
        if (c := current.get(v.scope())) is None
        or c.type != v.type
        or c.fingerprint is None  # not written by bbops (or before it marked its variables): mark it now
        or not env_value_matches(c, v.value_to_write())
    ]
    saved = backend.env.upsert_env(changed) if changed else []
    out.changed = sorted(v.key for v in changed)
    out.digest = fingerprint("\n".join(sorted(f"{v.key}={v.value_to_write()}" for v in wanted)))
    # Env vars reach only deployments created after they change: the newest change is the bar.
    # The provider's own clock is used (a deployment's creation time is compared with it); a change
    # it did not time counts as now.
    stamps = [v.changed_at for v in saved] + [c.changed_at for c in current.values() if c.key in out.keys]
    if any(t is None for t in stamps):
        stamps.append(datetime.now(UTC))
    out.changed_at = max((t for t in stamps if t is not None), default=datetime.now(UTC))
    return out


def deploy_handed_out(
    backend: Backend, out: HandedOut, conn: psycopg.Connection, *, log: Callable[[str], None] = lambda _: None
) -> HandedOut:
    """Make sure a deployment of the head commit was built with the values ``hand_out_env`` handed out.

    ``conn`` is a connection to the preview's database, where the last deployment is recorded: a run
    whose values and head commit match it does nothing. Run it outside the git branch's lock: it may
    wait minutes for a Vercel build.
    """
    if backend.deployments is None or not out.git_branch or out.digest is None or out.changed_at is None:
        return out
    bookkeeping.ensure(conn)
    with conn.transaction():
        done = conn.execute("SELECT env_fingerprint, sha, deployment FROM bbops.preview_env").fetchone()
    sha = out.sha
    if not out.changed and done is not None and done[0] == out.digest and done[2] and (sha is None or done[1] == sha):
        out.deployment = done[2]  # nothing changed since that deployment was made: nothing to do
        return out
    deployment = backend.deployments.deploy_preview(
        git_branch=out.git_branch, sha=sha, env_changed_at=out.changed_at, log=log
    )
    if deployment is None:
        return out  # nothing recorded: the next run tries again
    out.deployment, out.deployment_state, out.deployment_url = deployment.id, deployment.state, deployment.url
    with conn.transaction():
        conn.execute(
            "INSERT INTO bbops.preview_env (env_fingerprint, sha, deployment) VALUES (%s, %s, %s) "
            "ON CONFLICT (only_row) DO UPDATE SET env_fingerprint = excluded.env_fingerprint, "
            "sha = excluded.sha, deployment = excluded.deployment, redeployed_at = now()",
            (out.digest, deployment.sha or sha, deployment.id),
        )
    return out


def preview_keys(plan: Plan) -> set[str]:
    """The variables this plan hands to previews; others scoped to a git branch are not ours to touch."""
    target = plan.vercel.target("preview") if plan.vercel else None
    return {s.key for s in target.env} if target else set()


def bbops_preview_env(backend: Backend, plan: Plan, git_branch: str | None = None) -> list[EnvVar]:
    """Preview variables that are bbops': a key the plan hands out, scoped to a git branch, and
    carrying bbops' fingerprint in their comment. A hand-made variable of the same key is not ours."""
    keys = preview_keys(plan)
    return [
        v
        for v in backend.env.list_env(target="preview", git_branch=git_branch)
        if v.git_branch and (git_branch is None or v.git_branch == git_branch) and v.key in keys and v.fingerprint
    ]


def delete_preview_env(backend: Backend, plan: Plan, git_branch: str) -> int:
    scoped = bbops_preview_env(backend, plan, git_branch)
    return backend.env.delete_env(scoped) if scoped else 0
