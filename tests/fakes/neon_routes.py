"""Request handlers of the fake Neon API (paths relative to ``/projects/{project_id}``)."""

from __future__ import annotations

import copy
import re
import secrets as pysecrets
from typing import TYPE_CHECKING, Any

import httpx

from tests import leakcheck
from tests.fakes.neon import now

if TYPE_CHECKING:
    from tests.fakes.neon import FakeNeon


def ok(data: dict, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=data)


def route(fake: FakeNeon, method: str, rest: str, params: dict[str, str], body: dict) -> httpx.Response:
    if rest == "":
        return project(fake, method, body)
    if rest == "/branches":
        return list_branches(fake, params) if method == "GET" else create_branch(fake, body)
    if m := re.fullmatch(r"/branches/([a-z0-9-]+)", rest):
        return one_branch(fake, method, m.group(1), body)
    if m := re.fullmatch(r"/branches/([a-z0-9-]+)/restore", rest):
        return restore(fake, m.group(1), body) if method == "POST" else fake.error(405, "method not allowed")
    if m := re.fullmatch(r"/branches/([a-z0-9-]+)/roles/([^/]+)/reset_password", rest):
        return reset_password(fake, m.group(1), m.group(2)) if method == "POST" else fake.error(405, "not allowed")
    if rest == "/connection_uri":
        return connection_uri(fake, params)
    if rest == "/operations":
        ops = sorted(fake.operations.values(), key=lambda o: o["created_at"], reverse=True)
        return ok({"operations": ops[: int(params.get("limit", 10))], "pagination": {}})
    if m := re.fullmatch(r"/operations/([0-9a-f-]+)", rest):
        op = fake.operations.get(m.group(1))
        return ok({"operation": op}) if op else fake.error(404, "operation not found")
    if rest == "/endpoints":
        if method == "GET":
            return ok({"endpoints": list(fake.endpoints.values())})
        return create_endpoint(fake, body)
    if m := re.fullmatch(r"/endpoints/([a-z0-9-]+)", rest):
        return one_endpoint(fake, method, m.group(1), body)
    return fake.error(404, f"no route for {method} {rest}")


def project(fake: FakeNeon, method: str, body: dict) -> httpx.Response:
    if method == "GET":
        return ok({"project": fake.project})
    if method != "PATCH":
        return fake.error(405, "method not allowed")
    changes = body.get("project")
    if not isinstance(changes, dict):
        return fake.error(400, "project is required")
    for key in ("name", "history_retention_seconds"):
        if key in changes:
            fake.project[key] = changes[key]
    if "default_endpoint_settings" in changes:
        fake.project["default_endpoint_settings"].update(changes["default_endpoint_settings"])
    if "enable_logical_replication" in (changes.get("settings") or {}):
        if (
            fake.project["settings"].get("enable_logical_replication")
            and not changes["settings"]["enable_logical_replication"]
        ):
            return fake.error(400, "logical replication cannot be disabled once enabled")
        fake.project["settings"]["enable_logical_replication"] = changes["settings"]["enable_logical_replication"]
    if "allowed_ips" in (changes.get("settings") or {}):
        # Neon replaces the allowed_ips object as a whole.
        fake.project["settings"]["allowed_ips"] = copy.deepcopy(changes["settings"]["allowed_ips"])
    fake.project["updated_at"] = now()
    return ok({"project": fake.project, "operations": [fake._op("apply_config")]})


def list_branches(fake: FakeNeon, params: dict[str, str]) -> httpx.Response:
    search = (params.get("search") or "").lower()
    found = [b for b in fake.branches.values() if search in b["name"].lower() or search == b["id"]]
    key = params.get("sort_by", "updated_at")
    found.sort(key=lambda b: (b.get(key) or "", b["id"]), reverse=params.get("sort_order", "desc") == "desc")
    limit = int(params.get("limit", 10000))
    start = fake.page_offset(params.get("cursor"))
    page = found[start : start + limit]
    pagination: dict[str, Any] = {"sort_by": key, "sort_order": params.get("sort_order", "desc")}
    if start + limit < len(found):
        pagination["next"] = fake.page_cursor(start + limit)
    return ok(
        {"branches": page, "annotations": {b["id"]: fake._branch_json(b["id"]) for b in page}, "pagination": pagination}
    )


def create_branch(fake: FakeNeon, body: dict) -> httpx.Response:
    spec = body.get("branch") or {}
    if spec.get("name") and fake.named(spec["name"]):
        # Branch names are unique in a project: Neon answers 409 "branch already exists" (neonctl's
        # telemetry counts them, neondatabase/neon-pkgs#307; the message as create-branch-action#67 shows it).
        return httpx.Response(409, json={"code": "", "message": f'branch already exists; branch_name:"{spec["name"]}"'})
    if len(fake.branches) >= fake.project["owner"]["branches_limit"]:
        # Neon refuses past the plan's branches_limit with 422, as it does past projects_limit
        # ({"code":"PROJECTS_LIMIT_EXCEEDED"}, neondatabase/neonctl#255).
        limit = fake.project["owner"]["branches_limit"]
        return httpx.Response(
            422,
            json={
                "code": "BRANCHES_LIMIT_EXCEEDED",
                "message": f"branches limit of {limit} exceeded, got {len(fake.branches)}",
            },
        )
    parent_id = spec.get("parent_id") or next(b["id"] for b in fake.branches.values() if b["default"])
    if parent_id not in fake.branches:
        return fake.error(404, f"branch {parent_id} not found")
    problem = fake.check_expiry(spec.get("expires_at"))
    if problem:
        return fake.error(400, problem)
    annotations = body.get("annotation_value") or {}
    if len(annotations) > 50 or not all(isinstance(v, str) for v in annotations.values()):
        return fake.error(400, "annotation_value must map at most 50 keys to strings")
    parent = fake.branches[parent_id]["name"]
    branch = fake.add_branch(
        spec.get("name") or f"br-{len(fake.branches)}",
        parent=parent,
        protected=bool(spec.get("protected")),
        annotations=annotations,
        expires_at=spec.get("expires_at"),
        endpoint=False,
    )
    branch["current_state"] = "init"
    ops = [fake._op("create_timeline", branch["id"])]
    endpoints = []
    for ep in body.get("endpoints") or []:
        # BranchCreateRequestEndpointOptions (spec): size and suspend timeout, else the project's defaults.
        sizes = {
            k: ep[k]
            for k in ("autoscaling_limit_min_cu", "autoscaling_limit_max_cu", "suspend_timeout_seconds")
            if k in ep
        }
        endpoint = fake._add_endpoint(branch["id"], ep.get("type", "read_write"), **sizes)
        endpoints.append(endpoint)
        ops.append(fake._op("start_compute", branch["id"], endpoint["id"]))
    branch["current_state"] = "ready"
    return ok(
        {
            "branch": branch,
            "endpoints": endpoints,
            "operations": ops,
            "roles": [],
            "databases": [],
            "connection_uris": [],
        },
        201,
    )


def one_branch(fake: FakeNeon, method: str, branch_id: str, body: dict) -> httpx.Response:
    branch = fake.branches.get(branch_id)
    if branch is None and method == "DELETE" and branch_id in fake.deleted:
        # Spec, deleteProjectBranch: "204: Returned if the branch doesn't exist or has already been deleted".
        return httpx.Response(204)
    if branch is None:
        return fake.error(404, f"branch {branch_id} not found")
    if method == "GET":
        return ok({"branch": branch, "annotation": fake._branch_json(branch_id)})
    if method == "DELETE":
        if branch["default"] or branch["protected"]:
            return fake.error(422, "cannot delete a protected or default branch")
        if any(b.get("parent_id") == branch_id for b in fake.branches.values()):
            return fake.error(422, "cannot delete a branch with children")
        fake._drop_branch(branch_id)
        return ok({"branch": branch, "operations": [fake._op("delete_timeline", branch_id)]})
    if method == "PATCH":
        changes = body.get("branch")
        if not isinstance(changes, dict):
            return fake.error(400, "branch is required")
        problem = fake.check_expiry(changes.get("expires_at"))
        if problem:
            return fake.error(400, problem)
        if "expires_at" in changes and (branch["protected"] or branch["default"]) and changes["expires_at"]:
            return fake.error(422, "protected and default branches cannot expire")
        for key in ("name", "protected", "expires_at"):
            if key in changes:
                branch[key] = changes[key]
        branch["updated_at"] = now()
        return ok({"branch": branch, "operations": []})
    return fake.error(405, "method not allowed")


def restore(fake: FakeNeon, branch_id: str, body: dict) -> httpx.Response:
    branch = fake.branches.get(branch_id)
    source = fake.branches.get(body.get("source_branch_id", ""))
    if branch is None or source is None:
        return fake.error(404, "branch not found")
    preserve = body.get("preserve_under_name")
    # A reset to the parent is refused on protected branches; a restore that keeps the old state is not.
    if (branch["protected"] or branch["default"]) and not preserve:
        return fake.error(422, "protected and default branches cannot be reset")
    to_self = source["id"] == branch_id
    if to_self and not (body.get("source_timestamp") or body.get("source_lsn")):
        return fake.error(400, "restoring a branch from itself needs source_timestamp or source_lsn")
    if (to_self or any(b.get("parent_id") == branch_id for b in fake.branches.values())) and not preserve:
        return fake.error(400, "preserve_under_name is required")
    if preserve and fake.named(preserve):
        return fake.error(409, f"branch {preserve} already exists")
    fake.restores.append(dict(body, branch_id=branch_id))
    ops = []
    if preserve:
        # The old state keeps the branch's own parent (None for a root such as main).
        old_parent = fake.branches[branch["parent_id"]]["name"] if branch.get("parent_id") else None
        kept = fake.add_branch(preserve, parent=old_parent, endpoint=False)
        if fake.databases:
            fake.databases.reset(kept["id"], branch_id)  # the old state lives on under the new name
        # Spec, BranchRestoreRequest.preserve_under_name: "All existing child branches will be moved
        # to the newly created branch under the name preserve_under_name."
        for child in fake.branches.values():
            if child.get("parent_id") == branch_id and child["id"] != kept["id"]:
                child["parent_id"] = kept["id"]
    if fake.databases and not to_self:  # the fake keeps no history: a point in time leaves the data as is
        fake.databases.reset(branch_id, source["id"])
    branch["last_reset_at"] = now()
    branch["updated_at"] = now()
    ops.append(fake._op("create_timeline", branch_id))
    return ok({"branch": branch, "operations": ops})


def reset_password(fake: FakeNeon, branch_id: str, role: str) -> httpx.Response:
    """neon-api-v2.yaml, resetProjectBranchRolePassword: "Returns a new password and operations. The new
    password is ready to use when the last operation finishes. The old password remains valid until last
    operation finishes. Connections to the compute endpoint are dropped." Neon's docs (FAQ "Reset a
    database password"): "Any application still using the old password gets an authentication error on
    its next connection attempt"; the reset applies to that branch only, not to its children.

    ``connection_uri`` answers with the new password at once: Neon stores it with the reset ("the connection
    string for that role updates with the new password", neon.com/faqs/reset-database-password). On a branch
    backed by a real database (``tests.fakes.pgdb``) the server learns it when the ``apply_config``
    operation finishes: then the branch's role gets it (ALTER ROLE ... PASSWORD), the branch's sessions are
    ended, and the old password is refused by the server from then on. The fake keeps one password per
    branch (one role)."""
    branch = fake.branches.get(branch_id)
    if branch is None:
        return fake.error(404, f"branch {branch_id} not found")
    password = fake.passwords[branch_id] = leakcheck.remember("npg_" + pysecrets.token_hex(8))
    fake.password_resets.append((branch_id, role))
    endpoint = next((e["id"] for e in fake.endpoints.values() if e["branch_id"] == branch_id), None)
    operation = fake._op("apply_config", branch_id, endpoint)
    databases = fake.databases
    if databases is not None:
        fake._on_finish[operation["id"]] = lambda: databases.set_password(branch_id, password)
    role_json = {
        "branch_id": branch_id,
        "name": role,
        "password": password,
        "protected": False,
        "created_at": branch["created_at"],
        "updated_at": now(),
    }
    return ok({"role": role_json, "operations": [operation]})


def connection_uri(fake: FakeNeon, params: dict[str, str]) -> httpx.Response:
    branch_id = params.get("branch_id") or next(b["id"] for b in fake.branches.values() if b["default"])
    if branch_id not in fake.branches:
        return fake.error(404, f"branch {branch_id} not found")
    database, role = params.get("database_name"), params.get("role_name")
    if not database or not role:
        return fake.error(400, "database_name and role_name are required")
    pooled = params.get("pooled") == "true"
    # neon-api-v2.yaml, getConnectionURI: `endpoint_id` "defaults to the read-write endpoint_id associated
    # with the branch_id"; given, the URI is that endpoint's, e.g. a read replica (an endpoint of type
    # `read_only` on the branch, design.md), with its own host (Endpoint.host) and the same role password.
    # `pooled` "adds the -pooler option": the host's endpoint id gets `-pooler`.
    endpoint_id = params.get("endpoint_id")
    if endpoint_id is not None:
        chosen = fake.endpoints.get(endpoint_id)
        if chosen is None or chosen["branch_id"] != branch_id:
            return fake.error(404, f"endpoint {endpoint_id} not found on branch {branch_id}")
    else:
        chosen = next(
            (e for e in fake.endpoints.values() if e["branch_id"] == branch_id and e["type"] == "read_write"), None
        )
    if fake.databases:
        # A branch is one real database here, and its replica serves that same database; the replica's
        # URL is told apart by its application_name (the real one differs by host, which a test server can't).
        uri = fake.databases.url(branch_id, database, role, pooled, fake.passwords[branch_id])
        if chosen is not None and chosen["type"] == "read_only":
            uri += ("&" if "?" in uri else "?") + f"application_name={chosen['id']}"
        return ok({"uri": uri})
    if chosen is None:
        return fake.error(404, "branch has no read_write endpoint")
    rw = chosen
    host = rw["host"].replace(rw["id"], rw["id"] + "-pooler") if pooled else rw["host"]
    password = fake.passwords[branch_id]
    return ok({"uri": f"postgresql://{role}:{password}@{host}/{database}?sslmode=require"})


def create_endpoint(fake: FakeNeon, body: dict) -> httpx.Response:
    spec = body.get("endpoint") or {}
    if spec.get("branch_id") not in fake.branches or spec.get("type") not in ("read_only", "read_write"):
        return fake.error(400, "endpoint.branch_id and endpoint.type are required")
    if spec["type"] == "read_write" and any(
        e["branch_id"] == spec["branch_id"] and e["type"] == "read_write" for e in fake.endpoints.values()
    ):
        return fake.error(400, "branch already has a read_write endpoint")
    fields = {
        k: spec[k]
        for k in ("autoscaling_limit_min_cu", "autoscaling_limit_max_cu", "suspend_timeout_seconds")
        if k in spec
    }
    endpoint = fake._add_endpoint(spec["branch_id"], spec["type"], **fields)
    return ok({"endpoint": endpoint, "operations": [fake._op("start_compute", spec["branch_id"], endpoint["id"])]}, 201)


def one_endpoint(fake: FakeNeon, method: str, endpoint_id: str, body: dict) -> httpx.Response:
    endpoint = fake.endpoints.get(endpoint_id)
    if endpoint is None:
        return fake.error(404, f"endpoint {endpoint_id} not found")
    if method == "GET":
        return ok({"endpoint": endpoint})
    if method == "DELETE":
        del fake.endpoints[endpoint_id]
        return ok(
            {"endpoint": endpoint, "operations": [fake._op("suspend_compute", endpoint["branch_id"], endpoint_id)]}
        )
    if method == "PATCH":
        for key, value in (body.get("endpoint") or {}).items():
            if key in ("autoscaling_limit_min_cu", "autoscaling_limit_max_cu", "suspend_timeout_seconds"):
                endpoint[key] = value
        endpoint["updated_at"] = now()
        return ok({"endpoint": endpoint, "operations": [fake._op("apply_config", endpoint["branch_id"], endpoint_id)]})
    return fake.error(405, "method not allowed")
