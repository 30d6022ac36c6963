"""A small stateful Vercel REST server for tests, shaped on the published OpenAPI spec.

Env vars (``/v10/projects/{p}/env`` list and batch upsert, ``/v1/projects/{p}/env/{id}``
read, ``/v9/.../env/{id}`` edit and delete), deployments (``/v6/deployments`` list
with its filters, ``/v13/deployments`` redeploy), the project (``/v9/projects/{p}``,
whose ``targets.production`` is the deployment serving production) and promote.
``fail_keys`` makes the next upsert report those keys under ``failed`` with a 201,
as Vercel does.

What the real service does and kinder fakes forget (design.md, "Behaviour the
services document"; vercel/vercel#9072, vercel/sdk#118):

- the env *list* never decrypts: ``decrypt=true`` is deprecated in the spec and
  ignored; ``encrypted`` values come back as ciphertext with ``decrypted: false``,
  ``sensitive`` ones without a value. Only ``GET /v1/projects/{p}/env/{id}``
  returns an ``encrypted`` value decrypted (spec: "Retrieve the environment variable").
- builds take time (``build_seconds`` for a Git push, ``redeploy_seconds`` for a
  redeploy, measured on ``clock``) and read the env vars when they *start*
  (each deployment keeps the values it was built with, ``env_of``); the Git
  integration starts building a pushed commit at once (``git_push``).
- the branch's preview URL is assigned to a deployment when it becomes READY,
  so a late older build takes it over (``serving``).
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import httpx

from tests.fakes.base import FakeClock, FakeServer

ENV_TYPES = ("encrypted", "sensitive", "plain")
TARGETS = ("production", "preview", "development")


class FakeVercel(FakeServer):
    def __init__(
        self,
        token: str,
        *,
        project_id: str = "prj_bbprodx000000000000",
        name: str = "bb-prodx",
        team_id: str | None = None,
        clock: FakeClock | None = None,
        build_seconds: float = 20.0,
        redeploy_seconds: float = 3.0,
    ) -> None:
        super().__init__(token)
        self.team_id = team_id
        self.clock = clock or FakeClock()
        self.build_seconds = build_seconds
        self.redeploy_seconds = redeploy_seconds
        self.repo_id = 123456789
        self.project = {"id": project_id, "name": name, "accountId": team_id or "user_1", "targets": {}}
        self.envs: dict[str, dict] = {}
        self.deployments: list[dict] = []
        self.built_with: dict[str, dict[str, str]] = {}  # deployment id -> env values read at build start
        self.ready_at: dict[str, float] = {}  # deployment id -> when its build finishes (ms)
        self.fail_keys: dict[str, str] = {}
        self._seq = itertools.count(1)

    # -- direct state access for tests ------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._seq):016d}"

    def _ms(self) -> float:
        return self.clock() * 1000

    def add_env(
        self,
        key: str,
        value: str,
        *,
        type: str = "encrypted",
        target: list[str] | None = None,
        git_branch: str | None = None,
        comment: str | None = None,
    ) -> dict:
        env = {
            "id": self._id("env"),
            "key": key,
            "value": value,
            "type": type,
            "target": target or ["preview"],
            "createdAt": self._ms(),
            "updatedAt": self._ms(),
            "decrypted": False,
        }
        if git_branch:
            env["gitBranch"] = git_branch
        if comment:
            env["comment"] = comment
        self.envs[env["id"]] = env
        return env

    def add_deployment(
        self,
        *,
        target: str | None,
        branch: str,
        state: str = "READY",
        sha: str | None = None,
        seconds: float = 0.0,
    ) -> dict:
        """A deployment of ``branch`` at ``sha``; not READY until ``seconds`` have passed on the clock."""
        created = self._ms() + next(self._seq) / 1000  # distinct, ordered creation times
        building = seconds > 0 and state == "READY"
        deployment = {
            "uid": self._id("dpl"),
            "name": self.project["name"],
            "projectId": self.project["id"],
            "url": f"bb-prodx-{next(self._seq)}.vercel.app",
            "created": created,
            "createdAt": created,
            "buildingAt": created,
            "state": "BUILDING" if building else state,
            "readyState": "BUILDING" if building else state,
            "type": "LAMBDAS",
            "target": target,
            "creator": {"uid": "user_1"},
            "inspectorUrl": None,
            "meta": {
                "githubCommitRef": branch,
                "githubCommitSha": sha or f"{next(self._seq):040x}",
                "githubRepoId": str(self.repo_id),
            },
        }
        if not building and state == "READY":
            deployment["ready"] = created
            if target == "production":
                self.project["targets"]["production"] = {"id": deployment["uid"]}
        # The build reads the env vars when it starts (design.md; Vercel docs "Environment variables").
        self.built_with[deployment["uid"]] = self._env_for(target or "preview", branch)
        self.ready_at[deployment["uid"]] = self._ms() + seconds * 1000
        self.deployments.append(deployment)
        self._settle()
        return deployment

    def git_push(self, branch: str, sha: str) -> dict:
        """What the Git integration does on a push: start building the commit at once."""
        production = branch == self.production_branch
        return self.add_deployment(
            target="production" if production else None, branch=branch, sha=sha, seconds=self.build_seconds
        )

    production_branch = "main"

    def _env_for(self, target: str, branch: str) -> dict[str, str]:
        found = [e for e in self.envs.values() if target in e["target"] and e.get("gitBranch") in (None, branch)]
        # A branch-scoped value wins over the unscoped one of the same key.
        found.sort(key=lambda e: e.get("gitBranch") is not None)
        return {e["key"]: e["value"] for e in found}

    def env_of(self, deployment_id: str) -> dict[str, str]:
        """The env values a deployment was built with."""
        return dict(self.built_with[deployment_id])

    def _settle(self) -> None:
        """Finish the builds whose time has come (in the order they finish)."""
        now = self._ms()
        due = [d for d in self.deployments if d["state"] == "BUILDING" and self.ready_at[d["uid"]] <= now]
        for d in sorted(due, key=lambda d: self.ready_at[d["uid"]]):
            d["state"] = d["readyState"] = "READY"
            d["ready"] = self.ready_at[d["uid"]]
            if d["target"] == "production":
                self.project["targets"]["production"] = {"id": d["uid"]}

    def serving(self, branch: str) -> dict | None:
        """The deployment behind the branch's preview URL: the one that became READY last."""
        self._settle()
        ready = [d for d in self.deployments if d["state"] == "READY" and d["meta"]["githubCommitRef"] == branch]
        return max(ready, key=lambda d: d["ready"], default=None)

    def scoped(self, key: str) -> list[dict]:
        return [e for e in self.envs.values() if e["key"] == key]

    # -- plumbing ---------------------------------------------------------------------

    def error(
        self, status: int, message: str, headers: dict[str, str] | None = None, code: str = "bad_request"
    ) -> httpx.Response:
        return httpx.Response(status, json={"error": {"code": code, "message": message}}, headers=headers or {})

    def before(self, request: httpx.Request) -> None:
        self._settle()

    def handle(self, request: httpx.Request, path: str, params: dict[str, str], body: Any) -> httpx.Response:
        if self.team_id and params.get("teamId") != self.team_id:
            return self.error(403, "You don't have permission to access this resource", code="forbidden")
        method = request.method
        if m := re.fullmatch(r"/v10/projects/([^/]+)/env", path):
            if not self._mine(m.group(1)):
                return self.error(404, "Project not found", code="not_found")
            return self.list_env(params) if method == "GET" else self.upsert(params, body)
        if (m := re.fullmatch(r"/v1/projects/([^/]+)/env/([^/]+)", path)) and method == "GET":
            if not self._mine(m.group(1)):
                return self.error(404, "Project not found", code="not_found")
            return self.read_env(m.group(2))
        if m := re.fullmatch(r"/v9/projects/([^/]+)/env/([^/]+)", path):
            if not self._mine(m.group(1)):
                return self.error(404, "Project not found", code="not_found")
            return self.one_env(method, m.group(2), body)
        if path == "/v6/deployments" and method == "GET":
            return self.list_deployments(params)
        if (m := re.fullmatch(r"/v13/deployments/([^/]+)", path)) and method == "GET":
            # GET /v13/deployments/{idOrUrl} (spec): one deployment with its readyState.
            found = next((d for d in self.deployments if d["uid"] == m.group(1)), None)
            return (
                httpx.Response(200, json={**found, "id": found["uid"]})
                if found
                else self.error(404, "Deployment not found", code="not_found")
            )
        if path == "/v13/deployments" and method == "POST":
            return self.redeploy(body)
        if (m := re.fullmatch(r"/v9/projects/([^/]+)", path)) and method == "GET":
            return (
                httpx.Response(200, json=self.project)
                if self._mine(m.group(1))
                else self.error(404, "Project not found", code="not_found")
            )
        if (m := re.fullmatch(r"/v10/projects/([^/]+)/promote/([^/]+)", path)) and method == "POST":
            return self.promote(m.group(1), m.group(2))
        return self.error(404, f"no route for {method} {path}", code="not_found")

    def _mine(self, id_or_name: str) -> bool:
        return id_or_name in (self.project["id"], self.project["name"])

    # -- env ------------------------------------------------------------------------

    def _shown(self, env: dict, decrypt: bool = False) -> dict:
        """An env var as Vercel shows it: only the read-by-id endpoint decrypts (``decrypt``)."""
        shown = dict(env)
        if env["type"] == "sensitive":
            del shown["value"]  # never returned, by any endpoint
        elif env["type"] == "encrypted" and not decrypt:
            shown["value"] = "eyJ2IjoiZW5jcnlwdGVkIn0" + env["id"][-6:]  # ciphertext
        shown["decrypted"] = decrypt and env["type"] == "encrypted"
        return shown

    def list_env(self, params: dict[str, str]) -> httpx.Response:
        # ``decrypt`` is deprecated and ignored (vercel/vercel#9072): the listing never decrypts.
        branch = params.get("gitBranch")
        found = [e for e in self.envs.values() if not branch or e.get("gitBranch") in (branch, None)]
        shown = [self._shown(e) for e in found]
        return httpx.Response(
            200, json={"envs": shown, "pagination": {"count": len(shown), "next": None, "prev": None}}
        )

    def read_env(self, env_id: str) -> httpx.Response:
        # GET /v1/projects/{idOrName}/env/{id}: "Retrieve the environment variable", decrypted.
        env = self.envs.get(env_id)
        if env is None:
            return self.error(404, "Environment Variable not found", code="not_found")
        return httpx.Response(200, json=self._shown(env, decrypt=True))

    def upsert(self, params: dict[str, str], body: Any) -> httpx.Response:
        items = body if isinstance(body, list) else [body]
        created, failed = [], []
        for item in items:
            key, target = item.get("key"), item.get("target") or []
            if not key or item.get("type") not in ENV_TYPES or not target or any(t not in TARGETS for t in target):
                return self.error(400, f"invalid environment variable {key!r}")
            if key in self.fail_keys:
                failed.append(
                    {
                        "error": {
                            "code": "env_conflict",
                            "message": self.fail_keys[key],
                            "key": key,
                            "envVarKey": key,
                            "target": target,
                        }
                    }
                )
                continue
            clash = [
                e
                for e in self.envs.values()
                if e["key"] == key and e.get("gitBranch") == item.get("gitBranch") and set(e["target"]) & set(target)
            ]
            if clash and params.get("upsert") != "true":
                failed.append(
                    {"error": {"code": "ENV_ALREADY_EXISTS", "message": "already exists", "key": key, "envVarKey": key}}
                )
                continue
            if clash:
                env = clash[0]
                for other in clash[1:]:
                    del self.envs[other["id"]]
                env.update(value=item["value"], type=item["type"], target=list(target), updatedAt=self._ms())
                if item.get("comment") is not None:
                    env["comment"] = item["comment"]
            else:
                env = self.add_env(
                    key,
                    item["value"],
                    type=item["type"],
                    target=list(target),
                    git_branch=item.get("gitBranch"),
                    comment=item.get("comment"),
                )
            created.append(self._shown(env))
        self.fail_keys = {}
        return httpx.Response(
            201, json={"created": created if isinstance(body, list) else (created or [None])[0], "failed": failed}
        )

    def one_env(self, method: str, env_id: str, body: Any) -> httpx.Response:
        env = self.envs.get(env_id)
        if env is None:
            return self.error(404, "Environment Variable not found", code="not_found")
        if method == "DELETE":
            del self.envs[env_id]
            return httpx.Response(200, json=self._shown(env))
        if method == "PATCH":
            for key in ("key", "value", "type", "target", "gitBranch", "comment"):
                if key in (body or {}):
                    env[key] = body[key]
            env["updatedAt"] = self._ms()
            return httpx.Response(200, json=self._shown(env))
        return self.error(405, "method not allowed")

    # -- deployments ----------------------------------------------------------------

    def list_deployments(self, params: dict[str, str]) -> httpx.Response:
        # GET /v6/deployments filters (spec): projectId, target, branch, sha, state (comma list), limit, until.
        found = [d for d in self.deployments if self._mine(params.get("projectId", d["projectId"]))]
        if params.get("target"):
            # Preview deployments carry target null; the filter names them "preview".
            found = [d for d in found if (d["target"] or "preview") == params["target"]]
        if params.get("branch"):
            found = [d for d in found if d["meta"].get("githubCommitRef") == params["branch"]]
        if params.get("sha"):
            found = [d for d in found if d["meta"].get("githubCommitSha") == params["sha"]]
        if params.get("state"):
            found = [d for d in found if d["state"] in params["state"].split(",")]
        if params.get("until"):
            found = [d for d in found if d["created"] < float(params["until"])]
        found.sort(key=lambda d: d["created"], reverse=True)
        page = found[: int(params.get("limit", 20))]
        return httpx.Response(
            200,
            json={
                "deployments": page,
                "pagination": {
                    "count": len(page),
                    "next": page[-1]["created"] if len(found) > len(page) else None,
                    "prev": None,
                },
            },
        )

    def redeploy(self, body: dict) -> httpx.Response:
        source = next((d for d in self.deployments if d["uid"] == body.get("deploymentId")), None)
        if source is None:
            return self.error(404, "Deployment not found", code="not_found")
        if source["state"] in ("BUILDING", "QUEUED", "INITIALIZING"):
            # Assumed, not in the spec: a deployment still building cannot be redeployed yet.
            return self.error(400, "The deployment is still building", code="deployment_not_ready")
        new = self.add_deployment(
            target=body.get("target"),
            branch=source["meta"]["githubCommitRef"],
            sha=source["meta"]["githubCommitSha"],
            seconds=self.redeploy_seconds,
        )
        return httpx.Response(
            200,
            json={
                "id": new["uid"],
                "url": new["url"],
                "readyState": new["readyState"],
                "createdAt": new["created"],
                "target": new["target"],
                "name": new["name"],
                "projectId": new["projectId"],
                "meta": new["meta"],
            },
        )

    def promote(self, project_id: str, deployment_id: str) -> httpx.Response:
        if project_id != self.project["id"]:
            return self.error(404, "Project not found", code="not_found")
        if not any(d["uid"] == deployment_id for d in self.deployments):
            return self.error(404, "Deployment not found", code="not_found")
        self.project["targets"]["production"] = {"id": deployment_id}
        return httpx.Response(201, json={})
