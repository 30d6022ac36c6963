"""``bbops local status`` and ``bbops local stop``: the embedded backend's server and state, as reports.

Looking never starts the server and stopping starts nothing: neither creates the state folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bbops.core.report import TextOut, human_bytes
from bbops.providers.base import Branch
from bbops.providers.local import open_local_backend
from bbops.providers.local.server import ServerStatus


def size(n: float | None) -> str:
    """Bytes for people: ``512 B``, ``1.5 MB``; gigabytes at most."""
    return "-" if n is None else human_bytes(n, largest="GB")


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


@dataclass(frozen=True)
class LocalStatus:
    home: str
    namespace: str
    server: ServerStatus
    branches: Sequence[Branch]  # none listed while the server is not running
    snapshots: Sequence[Branch]
    env_vars: int
    production_deployment: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "home": self.home,
            "namespace": self.namespace,
            "server": self.server.as_dict(),
            "branches": [_branch_dict(b) for b in self.branches],
            "snapshots": [_branch_dict(b) for b in self.snapshots],
            "env_vars": self.env_vars,
            "production_deployment": self.production_deployment,
        }

    def write_text(self, out: TextOut) -> None:
        srv = self.server
        out.line(f"server:   {srv.kind}, {'running' if srv.running else 'not running'}")
        if srv.url:
            out.line(f"url:      {srv.url}")
        if srv.data_dir:
            out.line(f"data dir: {srv.data_dir}")
        out.line(f"state:    {self.home}" + (f" (namespace {self.namespace})" if self.namespace else ""))
        out.line(f"env vars: {self.env_vars}")
        if self.production_deployment:
            out.line(f"production deployment: {self.production_deployment}")
        if not srv.running:
            return
        out.table(
            ["branch", "parent", "pr", "expires", "size"],
            [
                (
                    b.name,
                    b.parent or "-",
                    b.pr or "-",
                    b.expires_at.isoformat() if b.expires_at else "-",
                    size(b.size_bytes),
                )
                for b in self.branches
            ],
            title=f"{len(self.branches)} branch(es)",
        )
        if self.snapshots:
            out.table(
                ["snapshot", "of", "created", "size"],
                [
                    (s.name, s.parent or "-", s.created_at.isoformat() if s.created_at else None, size(s.size_bytes))
                    for s in self.snapshots
                ],
                title="restore points",
            )


def local_status() -> LocalStatus:
    """The server, its branches and restore points (when it runs), the env store; never starts the server."""
    backend = open_local_backend()
    try:
        branches, env, deployments = backend.branches, backend.env, backend.deployments
        server = branches.server.status()
        return LocalStatus(
            home=str(branches.server.home),
            namespace=branches.namespace,
            server=server,
            branches=branches.list_branches() if server.running else [],
            snapshots=branches.list_snapshots() if server.running else [],
            env_vars=env.count(),
            production_deployment=deployments.current_production(),
        )
    finally:
        backend.close()


@dataclass(frozen=True)
class Stopped:
    stopped: bool  # False: it was not running, or it is external
    kind: str  # embedded | external

    def as_dict(self) -> dict[str, Any]:
        return {"stopped": self.stopped, "kind": self.kind}

    def write_text(self, out: TextOut) -> None:
        if self.stopped:
            out.line("stopped the embedded Postgres server")
        elif self.kind == "external":
            out.line("the server is external (BBOPS_LOCAL_DATABASE_URL): bbops does not stop it")
        else:
            out.line("the embedded Postgres server is not running")


def stop_server() -> Stopped:
    """Stop the embedded server (nothing to do for an external one, or one that is not running)."""
    backend = open_local_backend()
    try:
        server = backend.branches.server
        stopped = server.stop()
        return Stopped(stopped, "embedded" if server.embedded else "external")
    finally:
        backend.close()
