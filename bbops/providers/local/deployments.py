"""``LocalDeployments``: the ``DeploymentProvider`` of the embedded backend.

There is no app host locally, but the preview lifecycle and rollback still
need somewhere to "redeploy" and something to roll back, so this records
deployments in ``<home>/deployments.json``: each redeploy gets an id, the
target, the git branch, the time and the env var *keys* it would see (never
values); a production redeploy becomes the current production deployment,
and ``rollback`` points production back at an earlier one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bbops.errors import ProviderError, UsageError
from bbops.providers.base import TARGETS, Deployment, DeploymentProvider, EnvProvider
from bbops.providers.local.state import file_lock, read_json, write_json_atomic

FILE = "deployments.json"


class LocalDeployments(DeploymentProvider):
    def __init__(self, home: Path, env: EnvProvider | None = None) -> None:
        self.path = home / FILE
        self.lock_path = home / (FILE + ".lock")
        self.env = env

    def _load(self) -> dict[str, Any]:
        data = read_json(self.path, {"version": 1, "deployments": [], "production": None})
        if not isinstance(data, dict) or not isinstance(data.get("deployments"), list):
            raise ProviderError(f"{self.path} does not look like a bbops deployment record; fix or remove it")
        return data

    def _env_keys(self, target: str, git_branch: str | None) -> list[str]:
        if self.env is None:
            return []
        keys = {v.key for v in self.env.list_env(target=target) if v.git_branch in (None, git_branch)}
        return sorted(keys)

    def redeploy(self, *, target: str, git_branch: str | None = None) -> str | None:
        """Record a new deployment of ``target``; a production one starts serving production at once."""
        if target not in TARGETS:
            raise UsageError(f"unknown deployment target {target!r}; expected one of {', '.join(TARGETS)}")
        return str(self._record(target, git_branch, None)["id"])

    def _record(self, target: str, git_branch: str | None, sha: str | None) -> dict[str, Any]:
        deployment_id = f"dpl_local_{uuid.uuid4().hex[:16]}"
        record = {
            "id": deployment_id,
            "target": target,
            "git_branch": git_branch,
            "sha": sha,
            "created_at": datetime.now(UTC).isoformat(),
            "env_keys": self._env_keys(target, git_branch),
        }
        with file_lock(self.lock_path):
            data = self._load()
            data["deployments"].append(record)
            if target == "production":
                data["production"] = deployment_id
            write_json_atomic(self.path, data)
        return record

    def deploy_preview(
        self, *, git_branch: str, sha: str | None, env_changed_at: datetime, log: Callable[[str], None]
    ) -> Deployment | None:
        """Locally nothing builds: a deployment of the commit is recorded now, after the change."""
        record = self._record("preview", git_branch, sha)
        log(f"recorded local deployment {record['id']} of {git_branch}")
        return Deployment(str(record["id"]), sha, "READY", datetime.fromisoformat(str(record["created_at"])))

    def current_production(self) -> str | None:
        with file_lock(self.lock_path, shared=True):
            return self._load().get("production")

    def rollback(self, deployment_id: str) -> None:
        """Make an earlier production deployment serve production again."""
        with file_lock(self.lock_path):
            data = self._load()
            found = next((d for d in data["deployments"] if d.get("id") == deployment_id), None)
            if found is None:
                raise ProviderError(f"no deployment {deployment_id!r}", method="rollback", status=404)
            if found.get("target") != "production":
                raise ProviderError(
                    f"deployment {deployment_id!r} is a {found.get('target')} deployment, not production",
                    method="rollback",
                    status=400,
                )
            data["production"] = deployment_id
            write_json_atomic(self.path, data)

    def list_deployments(self, *, target: str | None = None) -> list[dict[str, Any]]:
        """Recorded deployments, oldest first (copies; safe to print)."""
        with file_lock(self.lock_path, shared=True):
            deployments = self._load()["deployments"]
        return [dict(d) for d in deployments if target is None or d.get("target") == target]
