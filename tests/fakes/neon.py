"""A small stateful Neon API v2 server for tests, shaped on the published OpenAPI spec.

Branches, annotations, endpoints, operations and project settings live in
memory. Mutations answer at once with ``operations`` that finish after
``op_ticks`` further requests; while any operation runs, every mutation answers
423 Locked (as Neon does). ``pagination.next`` is an opaque cursor. Database
URLs come from an optional ``databases`` hook so a branch can be a real
Postgres database (see ``tests.fakes.pgdb``), reached as a role of the branch's
own with its password; otherwise they are fake URLs with a per-branch password.
"""

from __future__ import annotations

import base64
import itertools
import re
import secrets as pysecrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from tests import leakcheck
from tests.fakes.base import FakeServer

WORDS = ("aged", "bold", "calm", "dark", "eager", "fancy", "gentle", "hidden", "icy", "jolly")
NOUNS = ("salad", "river", "cloud", "stone", "meadow", "forest", "lake", "hill", "field", "brook")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class BranchDatabases(Protocol):
    def create(self, branch_id: str, parent_id: str | None) -> None: ...
    def set_password(self, branch_id: str, password: str) -> None: ...
    def url(self, branch_id: str, database: str, role: str, pooled: bool, password: str | None = None) -> str: ...
    def reset(self, branch_id: str, source_id: str) -> None: ...
    def drop(self, branch_id: str) -> None: ...


class FakeNeon(FakeServer):
    def __init__(
        self,
        token: str,
        project_id: str = "bb-prodx-123456",
        *,
        op_ticks: int = 2,
        databases: BranchDatabases | None = None,
        region: str = "aws-eu-central-1",
        branches_limit: int = 10,
    ) -> None:
        super().__init__(token)
        self.project_id = project_id
        self.op_ticks = op_ticks
        self.databases = databases
        self._seq = itertools.count(1)
        self.branches: dict[str, dict] = {}
        self.annotations: dict[str, dict] = {}
        self.endpoints: dict[str, dict] = {}
        self.operations: dict[str, dict] = {}
        self._ticks: dict[str, int] = {}
        self._on_finish: dict[str, Callable[[], None]] = {}  # what happens when an operation finishes
        self.passwords: dict[str, str] = {}
        self.password_resets: list[tuple[str, str]] = []  # (branch id, role) of reset_password calls
        # Action names whose next operation fails once and is retried by Neon's control plane (status
        # `failed`, then running again), or ends in `error` (Neon gave up: the change did not happen).
        self.fail_next_operation: str | None = None
        self.error_next_operation: str | None = None
        self.restores: list[dict] = []  # bodies of restore requests, for tests
        self.deleted: set[str] = set()  # ids of deleted branches: deleting one again answers 204
        self.project: dict[str, Any] = {
            "id": project_id,
            "name": "bb-prodx",
            "region_id": region,
            "pg_version": 16,
            "history_retention_seconds": 86400,
            "proxy_host": f"{region}.aws.neon.tech",
            "platform_id": "aws",
            "store_passwords": True,
            "provisioner": "k8s-neonvm",
            "creation_source": "console",
            "owner_id": "u-1",
            "created_at": now(),
            "updated_at": now(),
            "default_endpoint_settings": {
                "autoscaling_limit_min_cu": 0.25,
                "autoscaling_limit_max_cu": 1,
                "suspend_timeout_seconds": 0,
            },
            "settings": {"allowed_ips": {"ips": [], "protected_branches_only": False}},
            # ProjectOwnerData.branches_limit (spec, GET /projects/{id}): the plan's cap on branches;
            # 10 on the free plan.
            "owner": {
                "name": "BB Ops",
                "email": "ops@example.com",
                "branches_limit": branches_limit,
                "subscription_type": "free",
            },
        }

    # -- direct state access for tests ------------------------------------------------

    def _id(self, prefix: str) -> str:
        n = next(self._seq)
        return f"{prefix}-{WORDS[n % 10]}-{NOUNS[(n // 10) % 10]}-{100000 + n}"

    def add_branch(
        self,
        name: str,
        *,
        parent: str | None = None,
        default: bool = False,
        protected: bool = False,
        annotations: dict | None = None,
        expires_at: str | None = None,
        endpoint: bool = True,
    ) -> dict:
        parent_id = self.by_name(parent)["id"] if parent else None
        branch = {
            "id": self._id("br"),
            "project_id": self.project_id,
            "name": name,
            "parent_id": parent_id,
            "current_state": "ready",
            "state_changed_at": now(),
            "creation_source": "console",
            "created_at": now(),
            "updated_at": now(),
            "default": default,
            "protected": protected,
            "cpu_used_sec": 0,
            "active_time_seconds": 0,
            "compute_time_seconds": 0,
            "written_data_bytes": 0,
            "data_transfer_bytes": 0,
            "logical_size": 30_000_000,
            "init_source": "parent-data",
        }
        if expires_at:
            branch["expires_at"] = expires_at
        self.branches[branch["id"]] = branch
        self.annotations[branch["id"]] = dict(annotations or {})
        # design.md: "a child of an unprotected branch shares its role password"; branches made from a
        # protected parent (and roots) get new passwords.
        parent_branch = self.branches.get(parent_id or "")
        if parent_branch is not None and not parent_branch["protected"]:
            self.passwords[branch["id"]] = self.passwords[parent_branch["id"]]
        else:
            self.passwords[branch["id"]] = leakcheck.remember("npg_" + pysecrets.token_hex(8))
        if self.databases:
            self.databases.create(branch["id"], parent_id)
            self.databases.set_password(branch["id"], self.passwords[branch["id"]])
        if endpoint:
            self._add_endpoint(branch["id"], "read_write")
        return branch

    def by_name(self, name: str) -> dict:
        return next(b for b in self.branches.values() if b["name"] == name)

    def named(self, name: str) -> list[dict]:
        return [b for b in self.branches.values() if b["name"] == name]

    def delete_out_of_band(self, name: str) -> None:
        self._drop_branch(self.by_name(name)["id"])

    def running(self) -> list[dict]:
        return [op for op in self.operations.values() if op["status"] in ("scheduling", "running")]

    # -- plumbing ---------------------------------------------------------------------

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.Response(
            status, json={"code": "", "message": message, "request_id": str(uuid.uuid4())}, headers=headers or {}
        )

    def before(self, request: httpx.Request) -> None:
        for op_id in list(self._ticks):
            self._ticks[op_id] -= 1
            if self._ticks[op_id] <= 0:
                del self._ticks[op_id]
                op = self.operations[op_id]
                if op["status"] == "failed":
                    # Neon retries a failed operation: the spec's Operation.failures_count counts the
                    # failures "and retries" of one operation, whose status moves on from `failed`
                    # (terminal are finished, skipped, cancelled and error; neon-api-v2 OperationStatus).
                    op.update(status="running", updated_at=now())
                    self._ticks[op_id] = self.op_ticks
                elif op["status"] == "running":
                    op["status"] = "finished"
                    op["updated_at"] = now()
                    done = self._on_finish.pop(op_id, None)
                    if done is not None:
                        done()
                else:
                    self._on_finish.pop(op_id, None)  # an operation in error changed nothing

    def _op(self, action: str, branch_id: str | None = None, endpoint_id: str | None = None) -> dict:
        failing = self.fail_next_operation == action
        erring = self.error_next_operation == action
        op = {
            "id": str(uuid.uuid4()),
            "project_id": self.project_id,
            "action": action,
            "status": "running",
            "failures_count": 0,
            "created_at": now(),
            "updated_at": now(),
            "total_duration_ms": 0,
        }
        if branch_id:
            op["branch_id"] = branch_id
        if endpoint_id:
            op["endpoint_id"] = endpoint_id
        if failing:
            self.fail_next_operation = None
            op.update(status="failed", failures_count=1, error=f"{action} failed: storage unavailable")
        if erring:
            self.error_next_operation = None
            op.update(status="error", failures_count=3, error=f"{action} failed: storage unavailable")
        self.operations[op["id"]] = op
        self._ticks[op["id"]] = self.op_ticks
        return op

    def _add_endpoint(self, branch_id: str, type_: str, **fields: Any) -> dict:
        defaults = self.project["default_endpoint_settings"]
        ep_id = self._id("ep")
        region = self.project["region_id"]
        endpoint = {
            "id": ep_id,
            "project_id": self.project_id,
            "branch_id": branch_id,
            "type": type_,
            "host": f"{ep_id}.{region}.aws.neon.tech",
            "region_id": region,
            "current_state": "idle",
            "autoscaling_limit_min_cu": fields.get("autoscaling_limit_min_cu", defaults["autoscaling_limit_min_cu"]),
            "autoscaling_limit_max_cu": fields.get("autoscaling_limit_max_cu", defaults["autoscaling_limit_max_cu"]),
            "suspend_timeout_seconds": fields.get("suspend_timeout_seconds", defaults["suspend_timeout_seconds"]),
            "pooler_enabled": False,
            "pooler_mode": "transaction",
            "disabled": False,
            "passwordless_access": False,
            "creation_source": "console",
            "created_at": now(),
            "updated_at": now(),
            "settings": {},
            "proxy_host": f"{region}.aws.neon.tech",
            "provisioner": "k8s-neonvm",
        }
        self.endpoints[ep_id] = endpoint
        return endpoint

    def _drop_branch(self, branch_id: str) -> None:
        del self.branches[branch_id]
        self.deleted.add(branch_id)
        self.annotations.pop(branch_id, None)
        for ep_id in [e for e, ep in self.endpoints.items() if ep["branch_id"] == branch_id]:
            del self.endpoints[ep_id]
        if self.databases:
            self.databases.drop(branch_id)

    def _branch_json(self, branch_id: str) -> dict:
        return {
            "object": {"type": "console/branch", "id": branch_id},
            "value": self.annotations[branch_id],
            "created_at": now(),
            "updated_at": now(),
        }

    # -- routing ----------------------------------------------------------------------

    def handle(self, request: httpx.Request, path: str, params: dict[str, str], body: Any) -> httpx.Response:
        prefix = f"/api/v2/projects/{self.project_id}"
        if not path.startswith(prefix):
            return self.error(404, "project not found")
        rest = path[len(prefix) :]
        method = request.method
        if method != "GET" and self.running():
            return self.error(
                423, "project already has running conflicting operations, scheduling of new ones is prohibited"
            )
        from tests.fakes.neon_routes import route

        return route(self, method, rest, params, body or {})

    def page_cursor(self, offset: int) -> str:
        return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()

    def page_offset(self, cursor: str | None) -> int:
        if not cursor:
            return 0
        match = re.fullmatch(r"offset:(\d+)", base64.urlsafe_b64decode(cursor.encode()).decode())
        return int(match.group(1)) if match else 0

    def check_expiry(self, value: str | None) -> str | None:
        if value is None:
            return None
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if when > datetime.now(UTC) + timedelta(days=30, minutes=5):
            return "expires_at must not be more than 30 days in the future"
        return None
