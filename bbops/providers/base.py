"""The Protocols every backend implements, and the small value types they exchange.

Two implementations stand behind them: the cloud (``neon`` for branches,
``vercel`` for env vars and deployments) and ``local`` (databases on an
embedded Postgres, env vars in a file store). The preview lifecycle and the
production steps only ever see these Protocols, so the same plan runs on both.

Names used here are *branch names* (``main``, ``preview/pr-42``), never
provider ids: the cloud implementation maps names to ids itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

EnvType = Literal["encrypted", "sensitive", "plain"]
Target = Literal["production", "preview", "development"]
TARGETS: tuple[str, ...] = ("production", "preview", "development")


@dataclass(frozen=True)
class Branch:
    """A database branch as the provider reports it."""

    name: str
    id: str
    parent: str | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    protected: bool = False
    default: bool = False
    # PR metadata: keys "pr", "git_branch", "commit", "repo" (strings).
    annotations: Mapping[str, str] = field(default_factory=dict)
    size_bytes: int | None = None

    @property
    def pr(self) -> int | None:
        value = self.annotations.get("pr")
        return int(value) if value and value.isdigit() else None


@dataclass(frozen=True)
class Connection:
    """Where a branch's database answers. ``url`` is a secret: it never appears in ``repr``."""

    host: str
    database: str
    role: str
    pooled: bool
    url: str = field(repr=False)

    def __str__(self) -> str:  # what may be printed
        kind = "pooled" if self.pooled else "direct"
        return f"{self.role}@{self.host}/{self.database} ({kind})"


@dataclass(frozen=True)
class EnvVar:
    """One environment variable with Vercel's model. ``value`` is a secret."""

    key: str
    value: str = field(repr=False)
    type: EnvType = "encrypted"
    targets: tuple[str, ...] = ("preview",)
    git_branch: str | None = None
    id: str | None = None

    def scope(self) -> tuple[str, tuple[str, ...], str | None]:
        """What identifies a variable: the same key may exist once per target set and git branch."""
        return (self.key, tuple(sorted(self.targets)), self.git_branch)


@runtime_checkable
class BranchProvider(Protocol):
    """Database branches: list, find, create from a parent, delete, reset, connect."""

    def list_branches(self) -> list[Branch]: ...

    def get_branch(self, name: str) -> Branch | None:
        """The branch with exactly this name, or None."""
        ...

    def create_branch(
        self,
        name: str,
        *,
        parent: str,
        annotations: Mapping[str, str] | None = None,
        expires_at: datetime | None = None,
        protected: bool = False,
    ) -> Branch:
        """Create ``name`` from the current state of ``parent`` and wait until it is usable."""
        ...

    def update_branch(
        self,
        name: str,
        *,
        expires_at: datetime | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> Branch:
        """Refresh a branch's expiry and/or annotations (given keys replace old ones)."""
        ...

    def delete_branch(self, name: str) -> bool:
        """Delete ``name``; False (not an error) when it was already gone."""
        ...

    def reset_branch(self, name: str) -> Branch:
        """Put ``name`` back to its parent's current state (data and schema)."""
        ...

    def connection(self, name: str, *, database: str, role: str, pooled: bool = True) -> Connection:
        """Credentials for ``database`` as ``role`` on ``name``, fetched per branch."""
        ...


FINGERPRINT_PREFIX = "bbops:sha256:"


def fingerprint(value: str) -> str:
    """A short digest of a value, stored beside it (Vercel: the variable's comment) to detect changes."""
    return FINGERPRINT_PREFIX + hashlib.sha256(value.encode()).hexdigest()[:16]


def env_value_matches(provider: object, current: EnvVar, value: str) -> bool:
    """Whether ``current`` already holds ``value``.

    A provider that never returns some values (Vercel's ``sensitive`` type) offers
    ``fingerprint_of``: then the fingerprint bbops stored when writing decides.
    """
    fingerprint_of = getattr(provider, "fingerprint_of", None)
    if current.value or fingerprint_of is None:
        return current.value == value
    return fingerprint_of(current) == fingerprint(value)


@runtime_checkable
class EnvProvider(Protocol):
    """Deployment environment variables with targets and git-branch scoping (Vercel's model)."""

    def list_env(self, *, target: str | None = None, git_branch: str | None = None) -> list[EnvVar]:
        """Variables, optionally only those for ``target`` and/or scoped to ``git_branch``."""
        ...

    def upsert_env(self, variables: Sequence[EnvVar]) -> list[EnvVar]:
        """Create or replace each variable (matched by key, targets and git branch) in one go."""
        ...

    def delete_env(self, variables: Sequence[EnvVar]) -> int:
        """Delete the given variables (by id when known, else by scope); returns how many went."""
        ...


@runtime_checkable
class DeploymentProvider(Protocol):
    """Redeploys so env changes reach the app, and production rollbacks."""

    def redeploy(self, *, target: str, git_branch: str | None = None) -> str | None:
        """Start a new deployment of ``target`` (a git branch's latest preview); its id, or None if none exists."""
        ...

    def current_production(self) -> str | None:
        """The id of the deployment serving production now."""
        ...

    def rollback(self, deployment_id: str) -> None:
        """Make ``deployment_id`` serve production again."""
        ...


@dataclass
class Backend:
    """What a command gets to work with: one implementation of each Protocol."""

    name: str
    branches: BranchProvider
    env: EnvProvider
    deployments: DeploymentProvider | None = None

    def close(self) -> None:
        for part in (self.branches, self.env, self.deployments):
            close = getattr(part, "close", None)
            if close:
                close()


# -- infrastructure (``bbops plan`` / ``bbops apply``) -------------------------------------


@dataclass(frozen=True)
class ProjectSettings:
    """The project-wide settings bbops manages (Neon's names, units as the API takes them)."""

    name: str | None = None
    region: str | None = None
    pg_version: int | None = None
    autoscaling_min_cu: float | None = None
    autoscaling_max_cu: float | None = None
    suspend_timeout_seconds: int | None = None
    history_retention_seconds: int | None = None
    allowed_ips: tuple[str, ...] = ()
    allowed_ips_protected_only: bool = False
    logical_replication: bool | None = None


@dataclass(frozen=True)
class Endpoint:
    """A compute endpoint; read replicas are ``read_only`` endpoints."""

    id: str
    branch: str  # branch *name*
    type: Literal["read_write", "read_only"] = "read_only"
    autoscaling_min_cu: float | None = None
    autoscaling_max_cu: float | None = None
    suspend_timeout_seconds: int | None = None
    name: str | None = None


@runtime_checkable
class InfraProvider(Protocol):
    """The long-lived part of a project: settings, protected branches and endpoints."""

    def get_settings(self) -> ProjectSettings: ...

    def update_settings(self, changes: Mapping[str, object]) -> ProjectSettings:
        """Change only the given ``ProjectSettings`` fields (region and pg_version can't change)."""
        ...

    def set_protected(self, name: str, protected: bool) -> Branch: ...

    def list_endpoints(self) -> list[Endpoint]: ...

    def create_endpoint(
        self,
        branch: str,
        *,
        type: str = "read_only",
        autoscaling_min_cu: float | None = None,
        autoscaling_max_cu: float | None = None,
        suspend_timeout_seconds: int | None = None,
    ) -> Endpoint: ...

    def update_endpoint(self, endpoint_id: str, changes: Mapping[str, object]) -> Endpoint: ...

    def delete_endpoint(self, endpoint_id: str) -> bool: ...


# -- restore points (production steps and ``bbops rollback``) --------------------------------


@runtime_checkable
class RestorePoints(Protocol):
    """Copies of a branch kept aside, and putting a branch back from one.

    On the local backend a restore point is a template copy of the branch's
    database; on Neon, a backup branch made from the branch. A restore keeps
    the replaced state under ``preserve_under_name`` so it can be inspected.
    """

    def snapshot(self, name: str, as_name: str, *, annotations: Mapping[str, str] | None = None) -> Branch:
        """Keep the current state of branch ``name`` as restore point ``as_name``."""
        ...

    def get_snapshot(self, name: str) -> Branch | None: ...

    def list_snapshots(self) -> list[Branch]: ...

    def restore(self, name: str, from_snapshot: str, *, preserve_under_name: str | None = None) -> Branch:
        """Put restore point ``from_snapshot``'s data into branch ``name`` (same name and id)."""
        ...


@runtime_checkable
class TimestampRestore(Protocol):
    """Restoring a branch to a moment of its own history (Neon, within history retention)."""

    def restore_to_time(self, name: str, timestamp: datetime, *, preserve_under_name: str) -> Branch: ...
