"""``bbops local status`` and ``bbops local stop``: the embedded backend's server and state."""

from __future__ import annotations

from typing import Any

import click

from bbops.commands.options import format_option
from bbops.core import console
from bbops.providers.base import Branch
from bbops.providers.local import open_local_backend


def _size(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def local_status() -> dict[str, Any]:
    """Everything ``local status`` reports, as data; never starts the server."""
    backend = open_local_backend()
    try:
        branches, env, deployments = backend.branches, backend.env, backend.deployments
        server = branches.server.status()
        listed: list[dict[str, Any]] = []
        snapshots: list[dict[str, Any]] = []
        if server.running:
            listed = [_branch_dict(b) for b in branches.list_branches()]
            snapshots = [_branch_dict(b) for b in branches.list_snapshots()]
        return {
            "home": str(branches.server.home),
            "namespace": branches.namespace,
            "server": server.as_dict(),
            "branches": listed,
            "snapshots": snapshots,
            "env_vars": env.count(),
            "production_deployment": deployments.current_production(),
        }
    finally:
        backend.close()


def _branch_dict(b: Branch) -> dict[str, Any]:
    return {
        "name": b.name,
        "id": b.id,
        "parent": b.parent,
        "pr": b.pr,
        "git_branch": b.annotations.get("git_branch"),
        "created_at": b.created_at.isoformat() if b.created_at else None,
        "expires_at": b.expires_at.isoformat() if b.expires_at else None,
        "protected": b.protected,
        "default": b.default,
        "size_bytes": b.size_bytes,
    }


@click.group("local")
def local_group() -> None:
    """The embedded local backend: its Postgres server and state folder."""


@local_group.command("status")
@format_option
def status_cmd(fmt: str) -> None:
    """Show the local server, its branches with sizes, and the env var count."""
    data = local_status()
    if fmt == "json":
        console.emit_json(data)
        return
    srv = data["server"]
    state = "running" if srv["running"] else "not running"
    console.say(f"server:   {srv['kind']}, {state}")
    if srv["url"]:
        console.say(f"url:      {srv['url']}")
    if srv["data_dir"]:
        console.say(f"data dir: {srv['data_dir']}")
    console.say(f"state:    {data['home']}" + (f" (namespace {data['namespace']})" if data["namespace"] else ""))
    console.say(f"env vars: {data['env_vars']}")
    if data["production_deployment"]:
        console.say(f"production deployment: {data['production_deployment']}")
    if not srv["running"]:
        return
    rows = [
        (b["name"], b["parent"] or "-", b["pr"] or "-", b["expires_at"] or "-", _size(b["size_bytes"]))
        for b in data["branches"]
    ]
    console.table(["branch", "parent", "pr", "expires", "size"], rows, title=f"{len(rows)} branch(es)")
    if data["snapshots"]:
        snapshot_rows = [
            (s["name"], s["parent"] or "-", s["created_at"], _size(s["size_bytes"])) for s in data["snapshots"]
        ]
        console.table(["snapshot", "of", "created", "size"], snapshot_rows, title="restore points")


@local_group.command("stop")
@format_option
def stop_cmd(fmt: str) -> None:
    """Stop the embedded Postgres server (nothing to do for an external one or a stopped one)."""
    backend = open_local_backend()
    try:
        server = backend.branches.server
        stopped = server.stop()
        kind = "embedded" if server.embedded else "external"
    finally:
        backend.close()
    if fmt == "json":
        console.emit_json({"stopped": stopped, "kind": kind})
    elif stopped:
        console.say("stopped the embedded Postgres server")
    elif kind == "external":
        console.say("the server is external (BBOPS_LOCAL_DATABASE_URL): bbops does not stop it")
    else:
        console.say("the embedded Postgres server is not running")


COMMANDS = [local_group]
