"""Neon API v2: branches for the preview lifecycle (``BranchProvider``).

Branch *names* are what callers use; ids are looked up here. Every mutating
call returns ``operations`` that this module waits for (polled with backoff)
before saying the branch is usable. A create whose connection broke after the
POST went out is not repeated blindly: the branch is looked up by name first.

Project settings and endpoints (``InfraProvider``) live in ``neon_infra``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

from bbops.core import redact
from bbops.core.http import ApiClient, RequestUncertain
from bbops.errors import ProviderError, UsageError
from bbops.providers.base import (
    Branch,
    BranchLimit,
    BranchProvider,
    ComputeSize,
    Connection,
    InfraProvider,
    ReadReplicaConnections,
    RestorePoints,
    TimestampRestore,
)
from bbops.providers.neon.infra import NeonInfraMixin
from bbops.providers.neon.operations import OperationWaiter

log = logging.getLogger("bbops.neon")

DEFAULT_HOST = "https://console.neon.tech/api/v2"
MAX_EXPIRY = timedelta(days=30)
PAGE_SIZE = 100
_CREATE_TRIES = 3


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _stamp(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _UriKey(NamedTuple):
    """A connection string this command read: per branch, endpoint (None: the read-write one), database, role."""

    branch_id: str
    endpoint: str | None
    database: str
    role: str
    pooled: bool


class NeonBranches(
    NeonInfraMixin,
    BranchProvider,
    InfraProvider,
    ReadReplicaConnections,
    RestorePoints,
    TimestampRestore,
    BranchLimit,
):
    """``BranchProvider``, ``InfraProvider``, ``ReadReplicaConnections``, ``RestorePoints`` and
    ``TimestampRestore`` over the Neon API.

    No root branches (Neon makes the project's default branch itself) and no
    admin database (locks live on a branch's database).
    """

    def __init__(
        self,
        api: ApiClient,
        project_id: str,
        *,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.api = api
        self.project_id = project_id
        self.base = f"/projects/{project_id}"
        self.clock = clock
        self.ops = OperationWaiter(api, self.base, sleep=sleep or api.sleep)
        self._names: dict[str, str] = {}  # branch id -> name, for parents
        # The branches this command has seen (name -> raw, annotations): one lookup per branch per
        # command. Ids of a name do not change while it exists; what bbops changes it updates here,
        # a restore (which moves children) forgets everything, and public reads
        # (``get_branch``/``list_branches``) always ask Neon.
        self._known: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
        self._uris: dict[_UriKey, Connection] = {}
        self._endpoints: list[dict[str, Any]] | None = None  # this command's endpoint listing (``replica_of``)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, project_id: str | None = None, **api_kwargs: Any
    ) -> NeonBranches:
        env = os.environ if env is None else env
        key = env.get("NEON_API_KEY")
        if not key:
            raise UsageError("NEON_API_KEY is not set", hint="create an API key in the Neon console")
        project = env.get("NEON_PROJECT_ID") or project_id  # the environment wins over the plan
        if not project:
            raise UsageError("no Neon project id: set NEON_PROJECT_ID or neon.project_id in the plan")
        sleep = api_kwargs.get("sleep")
        api = ApiClient(env.get("NEON_API_HOST") or DEFAULT_HOST, key, service="neon", **api_kwargs)
        return cls(api, project, sleep=sleep)

    def close(self) -> None:
        self.api.close()

    # -- reading ---------------------------------------------------------------------

    def _pages(self, search: str | None = None) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Every branch (raw) with its annotation value, following ``pagination.next``."""
        found: list[tuple[dict[str, Any], dict[str, Any]]] = []
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            body = self.api.get(
                f"{self.base}/branches",
                params={
                    "search": search,
                    "limit": PAGE_SIZE,
                    "cursor": cursor,
                    "sort_by": "name",
                    "sort_order": "asc",
                },
            ).json()
            annotations = body.get("annotations") or {}
            page = body.get("branches") or []
            for raw in page:
                self._names[raw["id"]] = raw["name"]
                found.append((raw, (annotations.get(raw["id"]) or {}).get("value") or {}))
                self._known[raw["name"]] = found[-1]
            cursor = (body.get("pagination") or {}).get("next")
            # An empty page or a cursor seen before ends the walk (guards against a server loop).
            if not page or not cursor or cursor in seen:
                return found
            seen.add(cursor)

    def _branch(self, raw: dict[str, Any], annotations: Mapping[str, str]) -> Branch:
        parent_id = raw.get("parent_id")
        return Branch(
            name=raw["name"],
            id=raw["id"],
            parent=self._names.get(parent_id, parent_id) if parent_id else None,
            created_at=_time(raw.get("created_at")),
            expires_at=_time(raw.get("expires_at")),
            protected=bool(raw.get("protected")),
            default=bool(raw.get("default")),
            annotations=dict(annotations),
            size_bytes=raw.get("logical_size"),
        )

    def list_branches(self) -> list[Branch]:
        pages = self._pages()
        return [self._branch(raw, ann) for raw, ann in pages]

    def _find_raw(self, name: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        # ``search`` matches substrings: keep only the exact name.
        for raw, ann in self._pages(search=name):
            if raw["name"] == name:
                return raw, ann
        return None

    def get_branch(self, name: str) -> Branch | None:
        found = self._find_raw(name)
        if found and found[0].get("parent_id") and found[0]["parent_id"] not in self._names:
            self._names.update({raw["id"]: raw["name"] for raw, _ in self._pages()})
        return self._branch(*found) if found else None

    def _require(self, name: str) -> Branch:
        """The branch ``name`` as this command last saw it (looked up once), or a ``ProviderError``."""
        if name in self._known:
            return self._branch(*self._known[name])
        branch = self.get_branch(name)
        if branch is None:
            raise ProviderError(f"neon: no branch named {name!r} in project {self.project_id}")
        return branch

    def _learn(self, raw: dict[str, Any], annotations: Mapping[str, str]) -> Branch:
        """Remember a branch from a mutation's reply (no second lookup) and return it."""
        self._names[raw["id"]] = raw["name"]
        self._known[raw["name"]] = (raw, dict(annotations))
        return self._branch(raw, annotations)

    # -- changing --------------------------------------------------------------------

    def create_branch(
        self,
        name: str,
        *,
        parent: str,
        annotations: Mapping[str, str] | None = None,
        expires_at: datetime | None = None,
        protected: bool = False,
        compute: ComputeSize | None = None,
        meanwhile: Callable[[], object] | None = None,
    ) -> Branch:
        parent_branch = self._require(parent)
        endpoint: dict[str, Any] = {"type": "read_write"}
        if compute is not None:  # spec: BranchCreateRequestEndpointOptions
            sizes = {
                "autoscaling_limit_min_cu": compute.min_cu,
                "autoscaling_limit_max_cu": compute.max_cu,
                "suspend_timeout_seconds": compute.suspend_timeout_seconds,
            }
            endpoint.update({k: v for k, v in sizes.items() if v is not None})
        body: dict[str, Any] = {
            "branch": {"name": name, "parent_id": parent_branch.id, "protected": protected},
            "endpoints": [endpoint],
        }
        if expires_at is not None:
            body["branch"]["expires_at"] = _stamp(self._check_expiry(expires_at))
        if annotations:
            body["annotation_value"] = {k: str(v) for k, v in annotations.items()}
        uncertain = False
        for _ in range(_CREATE_TRIES):
            try:
                created = self.api.post(f"{self.base}/branches", json=body).json()
            except RequestUncertain:
                # The branch may exist now: never make a second one.
                uncertain = True
                existing = self._find_raw(name)
                if existing is None:
                    continue
                self._wait(partial(self.ops.wait_branch_ready, existing[0]["id"]), meanwhile)
                return self._require(name)
            except ProviderError as exc:
                # Neon refuses a second branch of one name (409). After a lost reply, the branch of
                # that name is the one our earlier attempt made (a listing may lag behind the create).
                existing = self._find_raw(name) if uncertain and exc.status == 409 else None
                if existing is None:
                    raise
                self._wait(partial(self.ops.wait_branch_ready, existing[0]["id"]), meanwhile)
                return self._require(name)
            self._wait(partial(self.ops.wait, created.get("operations") or []), meanwhile)
            if isinstance(created.get("branch"), dict):
                return self._learn(created["branch"], body.get("annotation_value") or {})
            return self._require(name)
        raise ProviderError(
            f"neon: could not create branch {name!r}: the connection kept failing",
            method="POST",
            path=f"{self.base}/branches",
        )

    @staticmethod
    def _wait(wait: Callable[[], None], meanwhile: Callable[[], object] | None) -> None:
        """``wait`` for a change's operations, after ``meanwhile`` (reads that overlap the wait; see the protocol).

        The operations are waited for even when ``meanwhile`` fails: nothing is left running behind an error.
        """
        try:
            if meanwhile is not None:
                meanwhile()
        finally:
            wait()

    def _check_expiry(self, expires_at: datetime) -> datetime:
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        if expires_at > self.clock() + MAX_EXPIRY:
            raise UsageError(f"expires_at {_stamp(expires_at)} is more than 30 days ahead (Neon's limit)")
        return expires_at

    def _patch_branch(self, branch: Branch, fields: dict[str, Any]) -> Branch:
        # Setting absolute values: repeating this PATCH is harmless.
        body = self.api.patch(f"{self.base}/branches/{branch.id}", json={"branch": fields}, idempotent=True).json()
        self.ops.wait(body.get("operations") or [])
        if isinstance(body.get("branch"), dict):  # the reply is the branch as changed; annotations stay
            return self._learn(body["branch"], branch.annotations)
        self._known.pop(branch.name, None)
        return self._require(branch.name)

    def update_branch(
        self, name: str, *, expires_at: datetime | None = None, annotations: Mapping[str, str] | None = None
    ) -> Branch:
        branch = self._require(name)
        if annotations and any(branch.annotations.get(k) != str(v) for k, v in annotations.items()):
            # Neon API v2 sets annotations only when a branch is created: the returned branch
            # shows what is really stored, and the log says why it differs.
            log.info("neon: annotations of branch %r can only be set at creation; kept as they are", name)
        if expires_at is None:
            return branch
        return self._patch_branch(branch, {"expires_at": _stamp(self._check_expiry(expires_at))})

    def set_protected(self, name: str, protected: bool) -> Branch:
        branch = self._require(name)
        if branch.protected == protected:
            return branch
        return self._patch_branch(branch, {"protected": protected})

    def delete_branch(self, name: str) -> bool:
        found = self._find_raw(name)
        if found is None:
            return False
        self._known.pop(name, None)
        response = self.api.delete(f"{self.base}/branches/{found[0]['id']}", allow=(404,))
        # Spec (deleteProjectBranch): 204 "if the branch doesn't exist or has already been deleted".
        if response.status_code in (204, 404):
            return False  # deleted meanwhile: the goal is reached
        self.ops.wait(response.json().get("operations") or [])
        return True

    def reset_branch(self, name: str, *, preserve_under_name: str | None = None) -> Branch:
        branch = self._require(name)
        if not branch.parent:
            raise UsageError(f"branch {name!r} has no parent to reset from")
        parent = self._require(branch.parent)
        body: dict[str, Any] = {"source_branch_id": parent.id}
        if preserve_under_name:
            body["preserve_under_name"] = preserve_under_name
        # Restoring to the parent's head twice gives the same result; a lost reply may be repeated.
        created = self.api.post(
            f"{self.base}/branches/{branch.id}/restore", json=body, idempotent=not preserve_under_name
        ).json()
        self.ops.wait(created.get("operations") or [])
        self._known.clear()  # a restore may move children: parents changed
        return self._require(name)

    def connection(self, name: str, *, database: str, role: str, pooled: bool = True) -> Connection:
        return self._uri(name, None, database=database, role=role, pooled=pooled)

    def replica_connection(self, name: str, *, database: str, role: str, pooled: bool = True) -> Connection | None:
        """The first read replica's (``read_only`` endpoint, by id) connection string, or None without one.

        ``connection_uri`` takes the endpoint (spec, getConnectionURI: ``endpoint_id`` "defaults to the
        read-write endpoint_id associated with the branch_id"), so the host is the replica's own, with
        ``-pooler`` after its id when pooled. The endpoints come from this command's one listing.
        """
        endpoint = self.replica_of(self._require(name).id)
        if endpoint is None:
            return None
        return self._uri(name, endpoint, database=database, role=role, pooled=pooled)

    def _uri(self, name: str, endpoint: str | None, *, database: str, role: str, pooled: bool) -> Connection:
        """``connection_uri`` of branch ``name`` on ``endpoint`` (None: its read-write one), once per command."""
        branch = self._require(name)
        key = _UriKey(branch.id, endpoint, database, role, pooled)
        if key in self._uris:  # asked before in this command (a branch's credentials don't change meanwhile)
            return self._uris[key]
        params = {"database_name": database, "role_name": role, "pooled": pooled, "endpoint_id": endpoint}
        try:
            body = self.api.get(f"{self.base}/connection_uri", params={"branch_id": branch.id, **params}).json()
        except ProviderError as exc:
            # A replica belongs to the branch id it was listed with: only the read-write case looks again.
            if exc.status != 404 or name not in self._known or endpoint is not None:
                raise
            self._known.pop(name)  # the branch was replaced since this command saw it: look again
            branch = self._require(name)
            body = self.api.get(f"{self.base}/connection_uri", params={"branch_id": branch.id, **params}).json()
        uri = body.get("uri")
        if not uri:
            raise ProviderError(
                "neon: connection_uri returned no uri", method="GET", path=f"{self.base}/connection_uri"
            )
        redact.register_url(uri)
        found = Connection(host=urlsplit(uri).hostname or "", database=database, role=role, pooled=pooled, url=uri)
        self._uris[_UriKey(branch.id, endpoint, database, role, pooled)] = found
        return found

    def reset_role_password(self, name: str, *, role: str, meanwhile: Callable[[], object] | None = None) -> bool:
        # A child of an unprotected branch keeps its parent's role password (Neon docs), so a preview's
        # DATABASE_URL would open its parent too. The reply holds the new password: register it before
        # anything could print it, and wait for the operations (the old password works until they end).
        branch = self._require(name)
        path = f"{self.base}/branches/{branch.id}/roles/{quote(role, safe='')}/reset_password"
        # Another reset after a lost reply only makes yet another password: safe to repeat.
        body = self.api.post(path, json={}, idempotent=True).json()
        password = (body.get("role") or {}).get("password")
        if password:
            redact.register(password)
        # Connection strings read before hold the old password. Neon stores the new one at once ("the
        # connection string for that role updates with the new password", neon.com/faqs/reset-database-password),
        # so ``meanwhile`` may read them again while the operations run; they work once the wait is over.
        # The read replicas' too: they carry the branch's role password.
        self._uris = {k: v for k, v in self._uris.items() if not (k.branch_id == branch.id and k.role == role)}
        self._wait(partial(self.ops.wait, body.get("operations") or []), meanwhile)
        return True

    # -- restore points (``RestorePoints``, ``TimestampRestore``) --------------------------

    SNAPSHOT_MARK = "bbops_snapshot_of"

    def snapshot(self, name: str, as_name: str, *, annotations: Mapping[str, str] | None = None) -> Branch:
        """A backup branch ``as_name`` made from ``name``'s head, without compute (it is only kept)."""
        source = self._require(name)
        if self._find_raw(as_name) is not None:
            raise ProviderError(
                f"neon: a branch named {as_name!r} already exists",
                method="POST",
                path=f"{self.base}/branches",
                status=409,
            )
        marks = {self.SNAPSHOT_MARK: name, **{k: str(v) for k, v in (annotations or {}).items()}}
        body = {"branch": {"name": as_name, "parent_id": source.id}, "annotation_value": marks}
        try:
            created = self.api.post(f"{self.base}/branches", json=body).json()
            self.ops.wait(created.get("operations") or [])
        except RequestUncertain:
            existing = self._find_raw(as_name)  # the POST may have landed: never make two
            if existing is None:
                raise
            self.ops.wait_branch_ready(existing[0]["id"])
        return self._require(as_name)

    def get_snapshot(self, name: str) -> Branch | None:
        branch = self.get_branch(name)
        return branch if branch is not None and self.SNAPSHOT_MARK in branch.annotations else None

    def list_snapshots(self) -> list[Branch]:
        return [b for b in self.list_branches() if self.SNAPSHOT_MARK in b.annotations]

    def _restore(self, branch: Branch, body: dict[str, Any]) -> Branch:
        # Not repeated after a lost reply: with preserve_under_name a second call would preserve the restored state.
        created = self.api.post(f"{self.base}/branches/{branch.id}/restore", json=body).json()
        self.ops.wait(created.get("operations") or [])
        self._known.clear()  # the restore moved the branch's children under the preserved state
        return self._require(branch.name)

    def restore(self, name: str, from_snapshot: str, *, preserve_under_name: str | None = None) -> Branch:
        branch, source = self._require(name), self._require(from_snapshot)
        body: dict[str, Any] = {"source_branch_id": source.id}
        if preserve_under_name:
            body["preserve_under_name"] = preserve_under_name
        return self._restore(branch, body)

    def restore_to_time(self, name: str, timestamp: datetime, *, preserve_under_name: str) -> Branch:
        branch = self._require(name)
        return self._restore(
            branch,
            {
                "source_branch_id": branch.id,
                "source_timestamp": _stamp(timestamp),
                "preserve_under_name": preserve_under_name,
            },
        )
