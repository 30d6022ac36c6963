"""The env vars a preview deployment gets, scoped to the PR's git branch."""

from __future__ import annotations

from bbops.plan.model import Plan, resolve_ref
from bbops.providers.base import Backend, EnvVar, env_value_matches


def preview_env(backend: Backend, plan: Plan, branch: str, git_branch: str) -> list[EnvVar]:
    """The env vars the plan gives a preview deployment, with values from ``branch``."""
    assert plan.neon is not None
    target = plan.vercel.target("preview") if plan.vercel else None
    if target is None:
        return []
    out = []
    for source in target.env:
        if source.connection:
            value = backend.branches.connection(
                branch, database=plan.neon.database, role=plan.neon.role, pooled=source.connection == "pooled"
            ).url
        else:
            value = resolve_ref(source.value, what=f"vercel.targets.preview.env.{source.key}") or ""
        out.append(EnvVar(source.key, value, source.type, ("preview",), git_branch))  # type: ignore[arg-type]
    return out


def hand_out_env(backend: Backend, plan: Plan, branch: str, git_branch: str | None) -> tuple[list[str], str | None]:
    if not git_branch:
        return [], None
    wanted = preview_env(backend, plan, branch, git_branch)
    if not wanted:
        return [], None
    current = {v.scope(): v for v in backend.env.list_env(target="preview", git_branch=git_branch)}
    changed = [
        v for v in wanted
        if (c := current.get(v.scope())) is None or c.type != v.type or not env_value_matches(backend.env, c, v.value)
    ]
    if changed:
        backend.env.upsert_env(changed)
    redeployed = None
    # Env changes reach only new deployments: redeploy the branch's preview if one was built without them.
    if changed and backend.deployments is not None:
        redeployed = backend.deployments.redeploy(target="preview", git_branch=git_branch)
    return sorted(v.key for v in wanted), redeployed


def preview_keys(plan: Plan) -> set[str]:
    """The variables this plan hands to previews; others scoped to a git branch are not ours to touch."""
    target = plan.vercel.target("preview") if plan.vercel else None
    return {s.key for s in target.env} if target else set()


def delete_preview_env(backend: Backend, plan: Plan, git_branch: str) -> int:
    keys = preview_keys(plan)
    scoped = [
        v for v in backend.env.list_env(target="preview", git_branch=git_branch)
        if v.git_branch == git_branch and v.key in keys
    ]
    return backend.env.delete_env(scoped) if scoped else 0
