"""A small stateful Vercel REST server for tests, shaped on the published OpenAPI spec.

Env vars (``/v10/projects/{p}/env`` list and batch upsert, ``/v9/.../env/{id}``
edit and delete), deployments (``/v6/deployments`` list, ``/v13/deployments``
redeploy), the project (``/v9/projects/{p}``, whose ``targets.production`` is
the deployment serving production) and promote. ``fail_keys`` makes the next
upsert report those keys under ``failed`` with a 201, as Vercel does.
"""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

import httpx

from tests.fakes.base import FakeServer

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
    ) -> None:
        super().__init__(token)
        self.team_id = team_id
        self.project = {"id": project_id, "name": name, "accountId": team_id or "user_1", "targets": {}}
        self.envs: dict[str, dict] = {}
        self.deployments: list[dict] = []
        self.fail_keys: dict[str, str] = {}
        self._seq = itertools.count(1)

    # -- direct state access for tests ------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._seq):016d}"

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
            "createdAt": time.time() * 1000,
            "updatedAt": time.time() * 1000,
            "decrypted": False,
        }
        if git_branch:
            env["gitBranch"] = git_branch
        if comment:
            env["comment"] = comment
        self.envs[env["id"]] = env
        return env

    def add_deployment(self, *, target: str | None, branch: str, state: str = "READY") -> dict:
        deployment = {
            "uid": self._id("dpl"),
            "name": self.project["name"],
            "projectId": self.project["id"],
            "url": f"bb-prodx-{next(self._seq)}.vercel.app",
            "created": time.time() * 1000 + next(self._seq),
            "state": state,
            "readyState": state,
            "type": "LAMBDAS",
            "target": target,
            "creator": {"uid": "user_1"},
            "inspectorUrl": None,
            "meta": {"githubCommitRef": branch},
        }
        self.deployments.append(deployment)
        if target == "production" and state == "READY":
            self.project["targets"]["production"] = {"id": deployment["uid"]}
        return deployment

    def scoped(self, key: str) -> list[dict]:
        return [e for e in self.envs.values() if e["key"] == key]

    # -- plumbing ---------------------------------------------------------------------

    def error(
        self, status: int, message: str, headers: dict[str, str] | None = None, code: str = "bad_request"
    ) -> httpx.Response:
        return httpx.Response(status, json={"error": {"code": code, "message": message}}, headers=headers or {})

    def handle(self, request: httpx.Request, path: str, params: dict[str, str], body: Any) -> httpx.Response:
        if self.team_id and params.get("teamId") != self.team_id:
            return self.error(403, "You don't have permission to access this resource", code="forbidden")
        method = request.method
        if m := re.fullmatch(r"/v10/projects/([^/]+)/env", path):
            if not self._mine(m.group(1)):
                return self.error(404, "Project not found", code="not_found")
            return self.list_env(params) if method == "GET" else self.upsert(params, body)
        if m := re.fullmatch(r"/v9/projects/([^/]+)/env/([^/]+)", path):
            if not self._mine(m.group(1)):
                return self.error(404, "Project not found", code="not_found")
            return self.one_env(method, m.group(2), body)
        if path == "/v6/deployments" and method == "GET":
            return self.list_deployments(params)
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

    def _shown(self, env: dict, decrypt: bool) -> dict:
        shown = dict(env)
        if env["type"] == "sensitive":
            shown["value"] = ""
        elif env["type"] == "encrypted" and not decrypt:
            shown["value"] = "eyJ2IjoiZW5jcnlwdGVkIn0" + env["id"][-6:]
        shown["decrypted"] = decrypt and env["type"] != "sensitive"
        return shown

    def list_env(self, params: dict[str, str]) -> httpx.Response:
        branch = params.get("gitBranch")
        found = [e for e in self.envs.values() if not branch or e.get("gitBranch") in (branch, None)]
        shown = [self._shown(e, params.get("decrypt") == "true") for e in found]
        return httpx.Response(
            200, json={"envs": shown, "pagination": {"count": len(shown), "next": None, "prev": None}}
        )

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
                env.update(value=item["value"], type=item["type"], target=list(target), updatedAt=time.time() * 1000)
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
            created.append(self._shown(env, False))
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
            return httpx.Response(200, json=self._shown(env, False))
        if method == "PATCH":
            for key in ("key", "value", "type", "target", "gitBranch", "comment"):
                if key in (body or {}):
                    env[key] = body[key]
            env["updatedAt"] = time.time() * 1000
            return httpx.Response(200, json=self._shown(env, False))
        return self.error(405, "method not allowed")

    # -- deployments ----------------------------------------------------------------

    def list_deployments(self, params: dict[str, str]) -> httpx.Response:
        found = [d for d in self.deployments if self._mine(params.get("projectId", d["projectId"]))]
        if params.get("target"):
            found = [d for d in found if d["target"] == params["target"]]
        if params.get("branch"):
            found = [d for d in found if d["meta"].get("githubCommitRef") == params["branch"]]
        if params.get("state"):
            found = [d for d in found if d["state"] in params["state"].split(",")]
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
        new = self.add_deployment(target=body.get("target"), branch=source["meta"]["githubCommitRef"])
        return httpx.Response(
            200,
            json={
                "id": new["uid"],
                "url": new["url"],
                "readyState": new["readyState"],
                "target": new["target"],
                "name": new["name"],
                "projectId": new["projectId"],
            },
        )

    def promote(self, project_id: str, deployment_id: str) -> httpx.Response:
        if project_id != self.project["id"]:
            return self.error(404, "Project not found", code="not_found")
        if not any(d["uid"] == deployment_id for d in self.deployments):
            return self.error(404, "Deployment not found", code="not_found")
        self.project["targets"]["production"] = {"id": deployment_id}
        return httpx.Response(201, json={})
