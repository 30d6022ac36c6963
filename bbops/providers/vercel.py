"""Vercel REST: env vars (``EnvProvider``) and deployments (``DeploymentProvider``).

All env changes for one step go in ONE ``POST /v10/projects/{p}/env?upsert=true``
with an array: a 201 may still carry ``failed`` entries, which become a
``ProviderError`` naming the keys. Upsert is repeatable, so a lost reply is
retried. Values bbops writes or reads by id are secrets (by type, or holding a password): registered at once.

Values are never read from a listing: ``GET /v10/projects/{p}/env`` does not
decrypt (its ``decrypt`` query is deprecated and ignored, vercel/vercel#9072,
vercel/sdk#118): ``encrypted`` values come back as ciphertext, ``sensitive`` ones
not at all. Each variable bbops writes carries a value fingerprint in its
``comment``; listings are compared by that. A real previous value (for an undo
record) is read with ``GET /v1/projects/{p}/env/{id}``, which decrypts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bbops.core import redact
from bbops.core.http import ApiClient, RequestUncertain
from bbops.errors import ProviderError, UsageError
from bbops.providers.base import FINGERPRINT_PREFIX, Deployment, DeploymentProvider, EnvProvider, EnvVar, fingerprint

DEFAULT_HOST = "https://api.vercel.com"


BUILDING = frozenset({"BUILDING", "QUEUED", "INITIALIZING"})
FAILED = frozenset({"ERROR", "CANCELED", "DELETED"})


def _object(body: Any) -> dict[str, Any]:
    """A JSON reply that must be an object (Vercel's deployments are)."""
    if not isinstance(body, dict):
        raise ProviderError(f"vercel: expected a JSON object, got {type(body).__name__}")
    return body


def _state(raw: Mapping[str, Any]) -> str:
    return str(raw.get("readyState") or raw.get("state") or "")


def _when(ms: Any) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if isinstance(ms, int | float) else None


def _deployment(raw: Mapping[str, Any]) -> Deployment:
    return Deployment(
        id=raw["uid"],
        sha=(raw.get("meta") or {}).get("githubCommitSha"),
        state=_state(raw),
        created_at=_when(raw.get("created")) or datetime.now(UTC),
        url=raw.get("url"),
    )


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

    def _listed(self, raw: Mapping[str, Any]) -> EnvVar:
        # Whatever ``value`` the listing holds (ciphertext, nothing, a plain value) is not used:
        # not compared, not registered as a secret. The comment's fingerprint says what it is.
        comment = str(raw.get("comment") or "")
        updated = raw.get("updatedAt") or raw.get("createdAt")
        return EnvVar(
            key=raw["key"],
            value=None,
            type=raw.get("type", "encrypted"),
            targets=_targets(raw.get("target")),
            git_branch=raw.get("gitBranch") or None,
            id=raw.get("id"),
            fingerprint=comment if comment.startswith(FINGERPRINT_PREFIX) else None,
            changed_at=datetime.fromtimestamp(updated / 1000, UTC) if isinstance(updated, int | float) else None,
        )

    def list_env(self, *, target: str | None = None, git_branch: str | None = None) -> list[EnvVar]:
        """Variables: keys, scopes and fingerprints, never values (see the module's docstring)."""
        body = self.api.get(f"/v10/projects/{self.project}/env", params={"gitBranch": git_branch}).json()
        raws: list[Any] = body["envs"] if isinstance(body, dict) and "envs" in body else [body]
        found = [self._listed(raw) for raw in raws if raw and raw.get("type") != "system"]
        return [
            v
            for v in found
            if (target is None or target in v.targets) and (git_branch is None or v.git_branch == git_branch)
        ]

    def read_value(self, var: EnvVar) -> str | None:
        """``GET /v1/projects/{p}/env/{id}``: decrypted for ``encrypted``; None for ``sensitive`` (never returned)."""
        if not var.id:
            raise UsageError(f"cannot read env var {var.key}: no id")
        raw = self.api.get(f"/v1/projects/{self.project}/env/{var.id}").json()
        if raw.get("type") == "sensitive" or "value" not in raw:
            return None
        if raw.get("type") == "encrypted" and raw.get("decrypted") is False:
            raise ProviderError(
                f"vercel: env var {var.key} came back encrypted from the read-by-id endpoint",
                method="GET",
                path=f"/v1/projects/{self.project}/env/{var.id}",
            )
        value = str(raw.get("value") or "")
        redact.register(value)
        return value

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
            (c["key"], _targets(c.get("target")), c.get("gitBranch") or None): c
            for c in (created if isinstance(created, list) else [created])
            if c
        }
        return [
            EnvVar(
                key=v.key,
                value=v.value,
                type=v.type,
                targets=v.targets,
                git_branch=v.git_branch,
                id=(saved := by_scope.get((v.key, _targets(v.targets), v.git_branch)) or {}).get("id", v.id),
                fingerprint=fingerprint(v.value_to_write()),
                changed_at=_when(saved.get("updatedAt") or saved.get("createdAt")),
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
    # Env vars reach only deployments created after they change, and a build reads them when it
    # starts; the Git integration starts building a pushed commit at once and builds take minutes
    # (design.md; Vercel docs "Environment variables"). ``GET /v6/deployments`` filters by
    # ``sha``, ``branch``, ``state`` and ``target`` (spec).

    def _list(self, **filters: Any) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"projectId": self.project, "limit": 20, **filters}
        found = self.api.get("/v6/deployments", params=params).json().get("deployments") or []
        return [d for d in found if isinstance(d, dict)]

    def _latest(self, *, target: str, git_branch: str | None, ready: bool = True) -> dict[str, Any] | None:
        filters: dict[str, Any] = {"limit": 1}
        if ready:
            filters["state"] = "READY"
        if target == "production":
            filters["target"] = "production"
        if git_branch:
            filters["branch"] = git_branch
        found = self._list(**filters)
        return found[0] if found else None

    def _post_redeploy(
        self, source: dict[str, Any], *, target: str, newest_known: float | None = None
    ) -> dict[str, Any]:
        """``POST /v13/deployments`` copying ``source`` (same commit); a lost reply is looked up, not repeated.

        ``newest_known``: the creation time of the newest deployment of that commit seen before posting.
        """
        body: dict[str, Any] = {
            "name": source.get("name") or self.project,
            "project": self.project,
            "deploymentId": source["uid"],
        }
        if target == "production":
            body["target"] = "production"  # omitted means preview
        try:
            return _object(self.api.post("/v13/deployments", json=body).json())
        except RequestUncertain:
            # Look before repeating: a deployment of the same commit newer than the source means the POST happened.
            sha = (source.get("meta") or {}).get("githubCommitSha")
            newest = self._list(sha=sha, limit=1) if sha else []
            known = max(newest_known or 0, source.get("created", 0))
            if newest and newest[0]["uid"] != source["uid"] and newest[0].get("created", 0) > known:
                return {"id": newest[0]["uid"], **newest[0]}
            return _object(self.api.post("/v13/deployments", json=body).json())

    def redeploy(self, *, target: str, git_branch: str | None = None) -> str | None:
        latest = self._latest(target=target, git_branch=git_branch)
        if latest is None:
            return None
        new_id = self._post_redeploy(latest, target=target).get("id")
        if target == "production" and new_id:
            # Production moves to the new deployment only once it is built: later steps (the health
            # check) must see it, so wait, bounded, as for previews.
            state = _state(self._wait_state(str(new_id), lambda _: None))
            if state in FAILED:
                raise ProviderError(
                    f"vercel: the production redeploy {new_id} ended {state}; production still serves the "
                    "previous deployment",
                    method="GET",
                    path=f"/v13/deployments/{new_id}",
                )
        return str(new_id) if new_id else None

    # The bounds of a wait for a build, in seconds: polls back off from the first to the last delay.
    # A build is waited for up to ``wait_seconds``; a Git deployment that has not appeared at all
    # (Git deploys may be off for previews) only up to ``appear_seconds``: the integration starts
    # building a push within seconds.
    wait_seconds = 900.0
    appear_seconds = 180.0
    poll_first, poll_max = 5.0, 30.0

    def _wait_state(self, deployment_id: str, log: Callable[[str], None]) -> dict[str, Any]:
        """Poll one deployment until it stops building (bounded); its last state."""
        waited, delay = 0.0, self.poll_first
        while True:
            raw = _object(self.api.get(f"/v13/deployments/{deployment_id}").json())
            if _state(raw) not in BUILDING or waited >= self.wait_seconds:
                return raw
            log(f"waiting for deployment {deployment_id} to finish building ({waited:.0f} s so far)")
            self.api.sleep(delay)
            waited += delay
            delay = min(self.poll_max, delay * 2)

    def deploy_preview(
        self, *, git_branch: str, sha: str | None, env_changed_at: datetime, log: Callable[[str], None]
    ) -> Deployment | None:
        since = env_changed_at.timestamp() * 1000
        waited, delay = 0.0, self.poll_first
        while True:
            if sha is None:  # no head commit given: the branch's newest deployment names it
                newest = self._list(branch=git_branch, limit=1)
                sha = ((newest[0].get("meta") or {}).get("githubCommitSha") if newest else None) or None
            found = self._list(sha=sha) if sha else []
            fresh = [d for d in found if d.get("created", 0) >= since and _state(d) not in FAILED]
            if fresh:  # built (or building) after the change: it reads the env as it is now
                return _deployment(max(fresh, key=lambda d: d.get("created", 0)))
            done = [d for d in found if _state(d) not in BUILDING]
            building = len(done) < len(found)  # a build of the head started before the change: wait for it
            if done and not building:  # the head commit, built before the change: again (never an older commit)
                source = max(done, key=lambda d: d.get("created", 0))
                made = self._post_redeploy(
                    source, target="preview", newest_known=max(d.get("created", 0) for d in found)
                )
                log(f"redeployed {source['uid']} ({(sha or '')[:7]}) as {made.get('id')} with the new env vars")
                return Deployment(
                    id=str(made.get("id")),
                    sha=sha,
                    state=_state(made) or "QUEUED",
                    created_at=_when(made.get("createdAt") or made.get("created")) or datetime.now(UTC),
                    url=made.get("url"),
                )
            if waited >= (self.wait_seconds if found else self.appear_seconds):
                log(f"no deployment of {(sha or git_branch)[:12]} to redeploy after {waited:.0f} s; a re-run retries")
                return None
            if found:
                log(
                    f"waiting for deployment {found[0]['uid']} of {(sha or '')[:7]} to finish building "
                    f"({waited:.0f} s so far) before redeploying it"
                )
            else:
                log(f"waiting for Vercel's Git deployment of {(sha or git_branch)[:12]} ({waited:.0f} s so far)")
            self.api.sleep(delay)
            waited += delay
            delay = min(self.poll_max, delay * 2)

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
