"""Neon project settings and compute endpoints (``InfraProvider``), mixed into ``NeonBranches``.

Field names follow ``bbops.providers.base.ProjectSettings``; this module maps
them onto Neon's nesting (``settings.allowed_ips``, ``default_endpoint_settings``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from bbops.core.http import RequestUncertain
from bbops.errors import ProviderError, UsageError
from bbops.providers.base import Branch, Endpoint, ProjectSettings

if TYPE_CHECKING:
    from bbops.core.http import ApiClient
    from bbops.providers.neon.operations import OperationWaiter

IMMUTABLE = ("region", "pg_version")
_ENDPOINT_FIELDS = ("autoscaling_min_cu", "autoscaling_max_cu", "suspend_timeout_seconds")
_NEON_ENDPOINT_KEYS = {
    "autoscaling_min_cu": "autoscaling_limit_min_cu",
    "autoscaling_max_cu": "autoscaling_limit_max_cu",
    "suspend_timeout_seconds": "suspend_timeout_seconds",
}


def settings_from_project(project: Mapping[str, Any]) -> ProjectSettings:
    defaults = project.get("default_endpoint_settings") or {}
    allowed = (project.get("settings") or {}).get("allowed_ips") or {}
    return ProjectSettings(
        name=project.get("name"),
        region=project.get("region_id"),
        pg_version=project.get("pg_version"),
        autoscaling_min_cu=defaults.get("autoscaling_limit_min_cu"),
        autoscaling_max_cu=defaults.get("autoscaling_limit_max_cu"),
        suspend_timeout_seconds=defaults.get("suspend_timeout_seconds"),
        history_retention_seconds=project.get("history_retention_seconds"),
        allowed_ips=tuple(allowed.get("ips") or ()),
        allowed_ips_protected_only=bool(allowed.get("protected_branches_only")),
        logical_replication=bool((project.get("settings") or {}).get("enable_logical_replication")),
    )


def project_patch(changes: Mapping[str, object]) -> dict[str, Any]:
    """The ``PATCH /projects/{id}`` body for the changed ``ProjectSettings`` fields."""
    bad = [k for k in changes if k in IMMUTABLE]
    if bad:
        raise UsageError(f"neon: {', '.join(bad)} of an existing project cannot be changed")
    project: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for field, value in changes.items():
        if field in _NEON_ENDPOINT_KEYS:
            defaults[_NEON_ENDPOINT_KEYS[field]] = value
        elif field in ("name", "history_retention_seconds"):
            project[field] = value
        elif field == "allowed_ips":
            ips = cast("Iterable[str]", value)  # ProjectSettings.allowed_ips: a tuple of addresses
            project.setdefault("settings", {}).setdefault("allowed_ips", {})["ips"] = list(ips)
        elif field == "logical_replication":
            project.setdefault("settings", {})["enable_logical_replication"] = bool(value)
        elif field == "allowed_ips_protected_only":
            project.setdefault("settings", {}).setdefault("allowed_ips", {})["protected_branches_only"] = bool(value)
        else:
            raise UsageError(f"neon: unknown project setting {field!r}")
    if defaults:
        project["default_endpoint_settings"] = defaults
    return {"project": project}


class NeonInfraMixin:
    api: ApiClient
    base: str
    ops: OperationWaiter
    _names: dict[str, str]
    _endpoints: list[dict[str, Any]] | None

    if TYPE_CHECKING:
        # Provided by NeonBranches, the one class this mixes into.
        def list_branches(self) -> list[Branch]: ...
        def _require(self, name: str) -> Branch: ...

    def get_settings(self) -> ProjectSettings:
        return settings_from_project(self.api.get(self.base).json()["project"])

    def branch_limit(self) -> int | None:
        """``project.owner.branches_limit`` of ``GET /projects/{id}`` (spec: ProjectOwnerData)."""
        limit = ((self.api.get(self.base).json().get("project") or {}).get("owner") or {}).get("branches_limit")
        return int(limit) if isinstance(limit, int) and limit > 0 else None

    def update_settings(self, changes: Mapping[str, object]) -> ProjectSettings:
        if not changes:
            return self.get_settings()
        body = project_patch(changes)
        if "allowed_ips" in changes or "allowed_ips_protected_only" in changes:
            # Neon replaces the whole allowed_ips object: send both halves.
            current = self.get_settings()
            ips = body["project"]["settings"]["allowed_ips"]
            ips.setdefault("ips", list(current.allowed_ips))
            ips.setdefault("protected_branches_only", current.allowed_ips_protected_only)
        reply = self.api.patch(self.base, json=body, idempotent=True).json()
        self.ops.wait(reply.get("operations") or [])
        return self.get_settings()

    def _endpoint(self, raw: Mapping[str, Any]) -> Endpoint:
        return Endpoint(
            id=raw["id"],
            branch=self._names.get(raw["branch_id"], raw["branch_id"]),
            type=raw.get("type", "read_only"),
            autoscaling_min_cu=raw.get("autoscaling_limit_min_cu"),
            autoscaling_max_cu=raw.get("autoscaling_limit_max_cu"),
            suspend_timeout_seconds=raw.get("suspend_timeout_seconds"),
            name=raw.get("name"),
        )

    def _list_raw_endpoints(self) -> list[dict[str, Any]]:
        raw: list[dict[str, Any]] = self.api.get(f"{self.base}/endpoints").json().get("endpoints") or []
        self._endpoints = raw  # what ``replica_of`` reads for the rest of the command
        return raw

    def list_endpoints(self) -> list[Endpoint]:
        raw = self._list_raw_endpoints()
        if any(e["branch_id"] not in self._names for e in raw):
            self.list_branches()  # learn branch names
        return [self._endpoint(e) for e in raw]

    def replica_of(self, branch_id: str) -> str | None:
        """The id of the branch's first read replica (``read_only`` endpoint, by id), or None.

        From the endpoint listing this command already made (``bbops plan`` lists them anyway),
        else one listing; the replicas this command makes or deletes are kept in it.
        """
        raw = self._endpoints if self._endpoints is not None else self._list_raw_endpoints()
        ids = sorted(e["id"] for e in raw if e.get("branch_id") == branch_id and e.get("type") == "read_only")
        return ids[0] if ids else None

    def create_endpoint(
        self,
        branch: str,
        *,
        type: str = "read_only",
        autoscaling_min_cu: float | None = None,
        autoscaling_max_cu: float | None = None,
        suspend_timeout_seconds: int | None = None,
    ) -> Endpoint:
        target = self._require(branch)
        values = {
            "autoscaling_min_cu": autoscaling_min_cu,
            "autoscaling_max_cu": autoscaling_max_cu,
            "suspend_timeout_seconds": suspend_timeout_seconds,
        }
        endpoint: dict[str, Any] = {"branch_id": target.id, "type": type}
        endpoint.update({_NEON_ENDPOINT_KEYS[k]: v for k, v in values.items() if v is not None})
        before = {e.id for e in self.list_endpoints()}
        try:
            reply = self.api.post(f"{self.base}/endpoints", json={"endpoint": endpoint}).json()
        except RequestUncertain:
            # Look for an endpoint that appeared meanwhile before deciding anything.
            new = [e for e in self.list_endpoints() if e.id not in before and e.branch == branch and e.type == type]
            if new:
                return new[0]
            reply = self.api.post(f"{self.base}/endpoints", json={"endpoint": endpoint}).json()
        self.ops.wait(reply.get("operations") or [])
        self._seen_endpoint(reply["endpoint"])
        return self._endpoint(reply["endpoint"])

    def _seen_endpoint(self, raw: dict[str, Any]) -> None:
        """Keep this command's listing current with an endpoint it made (no second listing)."""
        if self._endpoints is not None and all(e.get("id") != raw.get("id") for e in self._endpoints):
            self._endpoints.append(raw)

    def update_endpoint(self, endpoint_id: str, changes: Mapping[str, object]) -> Endpoint:
        unknown = [k for k in changes if k not in _ENDPOINT_FIELDS]
        if unknown:
            raise UsageError(f"neon: endpoint fields {unknown} cannot be changed")
        body = {"endpoint": {_NEON_ENDPOINT_KEYS[k]: v for k, v in changes.items()}}
        reply = self.api.patch(f"{self.base}/endpoints/{endpoint_id}", json=body, idempotent=True).json()
        self.ops.wait(reply.get("operations") or [])
        if "endpoint" not in reply:
            raise ProviderError(
                "neon: endpoint update returned no endpoint",
                method="PATCH",
                path=f"{self.base}/endpoints/{endpoint_id}",
            )
        return self._endpoint(reply["endpoint"])

    def delete_endpoint(self, endpoint_id: str) -> bool:
        if self._endpoints is not None:  # gone from this command's listing, whatever the answer
            self._endpoints = [e for e in self._endpoints if e.get("id") != endpoint_id]
        response = self.api.delete(f"{self.base}/endpoints/{endpoint_id}", allow=(404,))
        if response.status_code == 404:
            return False
        if response.status_code == 200:
            self.ops.wait(response.json().get("operations") or [])
        return True
