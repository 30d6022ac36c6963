"""Vercel REST: env vars (``EnvProvider``) and deployments (``DeploymentProvider``).

All env changes for one step go in ONE ``POST /v10/projects/{p}/env?upsert=true``
with an array: a 201 may still carry ``failed`` entries, which become a
``ProviderError`` naming the keys. Upsert is repeatable, so a lost reply is
retried. Secret values (by type, or holding a password) are registered as soon as they are seen.

Each variable carries a value fingerprint in its ``comment`` so that drift of
``sensitive`` variables (whose values Vercel never returns) can still be seen:
a listed variable whose value did not come back has ``value=None`` and that
``fingerprint`` (the ``EnvProvider`` contract in ``providers.base``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from bbops.core import redact
from bbops.core.http import ApiClient, RequestUncertain
from bbops.errors import ProviderError, UsageError
from bbops.providers.base import FINGERPRINT_PREFIX, DeploymentProvider, EnvProvider, EnvVar, fingerprint

DEFAULT_HOST = "https://api.vercel.com"


def _targets(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        return (raw,)
    return tuple(sorted(raw or ()))


class VercelProject(EnvProvider, DeploymentProvider):
    """Env vars and deployments of one Vercel project (by id or name), team-scoped when given."""

    def __init__(self, api: ApiClient, project: str) -> None:
        self.api = api
        self.project = project

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        project: str | None = None,
        team_id: str | None = None,
        **api_kwargs: Any,
    ) -> VercelProject:
        env = os.environ if env is None else env
        token = env.get("VERCEL_TOKEN")
        if not token:
            raise UsageError("VERCEL_TOKEN is not set", hint="create a token in the Vercel account settings")
        project = env.get("VERCEL_PROJECT_ID") or project
        if not project:
            raise UsageError("no Vercel project: set VERCEL_PROJECT_ID or vercel.project in the plan")
        team = env.get("VERCEL_TEAM_ID") or team_id
        api = ApiClient(
            env.get("VERCEL_API_HOST") or DEFAULT_HOST,
            token,
            service="vercel",
            default_params={"teamId": team} if team else None,
            **api_kwargs,
        )
        return cls(api, project)

    def close(self) -> None:
        self.api.close()

    # -- env vars ---------------------------------------------------------------------

    def _env(self, raw: Mapping[str, Any]) -> EnvVar:
        # Vercel never returns a sensitive variable's value: it stays None (opaque).
        value = None if raw.get("type") == "sensitive" else str(raw.get("value") or "")
        redact.register_env_value(value, str(raw.get("type") or "encrypted"))
        comment = str(raw.get("comment") or "")
        return EnvVar(
            key=raw["key"],
            value=value,
            type=raw.get("type", "encrypted"),
            targets=_targets(raw.get("target")),
            git_branch=raw.get("gitBranch") or None,
            id=raw.get("id"),
            fingerprint=comment if comment.startswith(FINGERPRINT_PREFIX) else None,
        )

    def list_env(self, *, target: str | None = None, git_branch: str | None = None) -> list[EnvVar]:
        """Variables with their values where Vercel returns them (``sensitive`` ones: None, by fingerprint)."""
        body = self.api.get(
            f"/v10/projects/{self.project}/env",
            params={"gitBranch": git_branch, "decrypt": "true"},
        ).json()
        raws: list[Any] = body["envs"] if isinstance(body, dict) and "envs" in body else [body]
        found = [self._env(raw) for raw in raws if raw and raw.get("type") != "system"]
        return [
            v
            for v in found
            if (target is None or target in v.targets) and (git_branch is None or v.git_branch == git_branch)
        ]

    def upsert_env(self, variables: Sequence[EnvVar]) -> list[EnvVar]:
        if not variables:
            return []
        for var in variables:
            redact.register_env_value(var.value, var.type)
        payload = [
            {
                "key": v.key,
                "value": v.value_to_write(),
                "type": v.type,
                "target": list(v.targets),
                **({"gitBranch": v.git_branch} if v.git_branch else {}),
                "comment": fingerprint(v.value_to_write()),
            }
            for v in variables
        ]
        path = f"/v10/projects/{self.project}/env"
        response = self.api.post(path, params={"upsert": "true"}, json=payload, idempotent=True)
        body = response.json()
        failed = body.get("failed") or []
        if failed:
            keys = sorted(
                {(f.get("error") or {}).get("envVarKey") or (f.get("error") or {}).get("key") or "?" for f in failed}
            )
            messages = "; ".join(sorted({(f.get("error") or {}).get("message", "") for f in failed}))
            raise ProviderError(
                f"vercel: {len(failed)} variable(s) not saved: {', '.join(keys)}: {messages}",
                method="POST",
                path=path,
                status=response.status_code,
            )
        created = body.get("created") or []
        by_scope = {
            (c["key"], _targets(c.get("target")), c.get("gitBranch") or None): c.get("id")
            for c in (created if isinstance(created, list) else [created])
        }
        return [
            EnvVar(
                key=v.key,
                value=v.value,
                type=v.type,
                targets=v.targets,
                git_branch=v.git_branch,
                id=by_scope.get((v.key, _targets(v.targets), v.git_branch), v.id),
                fingerprint=fingerprint(v.value_to_write()),
            )
            for v in variables
        ]

    def edit_env(self, var: EnvVar) -> EnvVar:
        """Change one variable in place by id (value, type, targets)."""
        if not var.id:
            raise UsageError(f"cannot edit env var {var.key}: no id")
        redact.register_env_value(var.value, var.type)
        body = {
            "key": var.key,
            "value": var.value_to_write(),
            "type": var.type,
            "target": list(var.targets),
            "gitBranch": var.git_branch,
            "comment": fingerprint(var.value_to_write()),
        }
        self.api.patch(f"/v9/projects/{self.project}/env/{var.id}", json=body, idempotent=True)
        return var

    def delete_env(self, variables: Sequence[EnvVar]) -> int:
        gone = 0
        pending = [v for v in variables if not v.id]
        ids = [v.id for v in variables if v.id]
        if pending:
            wanted = {v.scope() for v in pending}
            ids += [v.id for v in self.list_env() if v.scope() in wanted and v.id]
        for env_id in dict.fromkeys(ids):
            response = self.api.delete(f"/v9/projects/{self.project}/env/{env_id}", allow=(404,))
            gone += response.status_code != 404  # already gone is fine, just not counted
        return gone

    # -- deployments ------------------------------------------------------------------

    def _latest(self, *, target: str, git_branch: str | None, ready: bool = True) -> dict[str, Any] | None:
        params: dict[str, Any] = {"projectId": self.project, "limit": 1}
        if ready:
            params["state"] = "READY"
        if target == "production":
            params["target"] = "production"
        if git_branch:
            params["branch"] = git_branch
        found = self.api.get("/v6/deployments", params=params).json().get("deployments") or []
        return found[0] if found else None

    def redeploy(self, *, target: str, git_branch: str | None = None) -> str | None:
        latest = self._latest(target=target, git_branch=git_branch)
        if latest is None:
            return None
        body: dict[str, Any] = {
            "name": latest.get("name") or self.project,
            "project": self.project,
            "deploymentId": latest["uid"],
        }
        if target == "production":
            body["target"] = "production"  # omitted means preview
        deployment_id: str | None
        try:
            deployment_id = self.api.post("/v13/deployments", json=body).json().get("id")
        except RequestUncertain:
            # Look before repeating: a deployment newer than the one we copied means the POST happened.
            newest = self._latest(target=target, git_branch=git_branch, ready=False)
            if newest and newest["uid"] != latest["uid"] and newest.get("created", 0) > latest.get("created", 0):
                deployment_id = newest["uid"]
            else:
                deployment_id = self.api.post("/v13/deployments", json=body).json().get("id")
        return deployment_id

    def _project(self) -> dict[str, Any]:
        project: dict[str, Any] = self.api.get(f"/v9/projects/{self.project}").json()
        return project

    def current_production(self) -> str | None:
        production = (self._project().get("targets") or {}).get("production") or {}
        return production.get("id")

    def rollback(self, deployment_id: str) -> None:
        # The published spec offers "promote" (point production domains at an existing
        # deployment, no rebuild); pointing at the same one twice is harmless.
        project_id = self._project().get("id") or self.project
        self.api.post(f"/v10/projects/{project_id}/promote/{deployment_id}", idempotent=True)
