"""The env vars a preview deployment gets, scoped to the PR's git branch."""

from __future__ import annotations

import psycopg

from bbops.core import bookkeeping
from bbops.infra.envvalues import branch_env
from bbops.plan.model import Plan
from bbops.providers.base import Backend, EnvVar, env_value_matches, fingerprint


def preview_env(backend: Backend, plan: Plan, branch: str, git_branch: str) -> list[EnvVar]:
    """The env vars the plan gives a preview deployment, with values from ``branch``."""
    target = plan.vercel.target("preview") if plan.vercel else None
    if target is None:
        return []
    return branch_env(
        backend, plan, branch, target.env, target="preview", git_branch=git_branch, what="vercel.targets.preview.env"
    )


def hand_out_env(
    backend: Backend, plan: Plan, branch: str, git_branch: str | None, conn: psycopg.Connection
) -> tuple[list[str], str | None]:
    """Upsert the preview's env vars where they differ; redeploy until a deployment has them.

    ``conn`` is a connection to the preview's database, where the last redeploy is recorded.
    """
    if not git_branch:
        return [], None
    wanted = preview_env(backend, plan, branch, git_branch)
    if not wanted:
        return [], None
    current = {v.scope(): v for v in backend.env.list_env(target="preview", git_branch=git_branch)}
    changed = [
        v
        for v in wanted
        if (c := current.get(v.scope())) is None
        or c.type != v.type
        or c.fingerprint is None  # not written by bbops (or before it marked its variables): mark it now
        or not env_value_matches(c, v.value_to_write())
    ]
    if changed:
        backend.env.upsert_env(changed)
    redeployed = None
    # Env changes reach only new deployments: redeploy the branch's preview unless the
    # last redeploy already carried these values (a failed one is retried here).
    if backend.deployments is not None:
        digest = fingerprint("\n".join(sorted(f"{v.key}={v.value}" for v in wanted)))
        # What the deployment was last redeployed with is kept in the preview's own database
        # (bbops.preview_env): a redeploy that failed after the env upsert is retried by the next run.
        bookkeeping.ensure(conn)
        with conn.transaction():
            done = conn.execute("SELECT env_fingerprint FROM bbops.preview_env").fetchone()
        if changed or done is None or done[0] != digest:
            redeployed = backend.deployments.redeploy(target="preview", git_branch=git_branch)
            with conn.transaction():
                conn.execute(
                    "INSERT INTO bbops.preview_env (env_fingerprint) VALUES (%s) ON CONFLICT (only_row) "
                    "DO UPDATE SET env_fingerprint = excluded.env_fingerprint, redeployed_at = now()",
                    (digest,),
                )
    return sorted(v.key for v in wanted), redeployed


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
