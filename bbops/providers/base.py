"""The contract between bbops and a backend: Protocols, the value types they exchange, ``Backend``.

Every backend implements ``BranchProvider`` and ``EnvProvider``. What only
some backends can do is a capability of its own (``RootBranches``,
``ProtectedBranches``, ``InfraProvider``, ``ReadReplicaConnections``,
``RestorePoints``, ``TimestampRestore``, ``AdminDatabase``, ``DeploymentProvider``): a backend
declares it by filling the matching field of ``Backend`` when it is opened,
and callers test that field, never the provider's attributes. A third
backend implements the two required Protocols and whichever capabilities it
has; mypy checks each implementation against the Protocols it subclasses.

Two implementations stand behind them today: the cloud (``neon`` for branches,
``vercel`` for env vars and deployments) and ``local`` (databases on an
embedded Postgres, env vars in a file store). The preview lifecycle and the
production steps only ever see these Protocols, so the same plan runs on both.

Names used here are *branch names* (``main``, ``preview/pr-42``), never
provider ids: the cloud implementation maps names to ids itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from bbops.errors import UsageError

EnvType = Literal["encrypted", "sensitive", "plain"]
ENV_TYPES: tuple[EnvType, ...] = ("encrypted", "sensitive", "plain")
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
    """One environment variable with Vercel's model. ``value`` is a secret.

    Written variables always carry their value. A listed variable's ``value`` is
    None where the provider does not return it (the value is opaque: Vercel's
    listing never returns one, ciphertext or nothing); ``fingerprint`` is then what
    bbops stored beside the value when it wrote it, and ``env_value_matches``
    compares by it. ``EnvProvider.read_value`` reads a real value by id where one
    is needed (an undo record).
    """

    key: str
    value: str | None = field(repr=False)
    type: EnvType = "encrypted"
    targets: tuple[str, ...] = ("preview",)
    git_branch: str | None = None
    id: str | None = None
    fingerprint: str | None = None
    changed_at: datetime | None = field(default=None, compare=False)  # when the provider last changed it

    def scope(self) -> tuple[str, tuple[str, ...], str | None]:
        """What identifies a variable: the same key may exist once per target set and git branch."""
        return (self.key, tuple(sorted(self.targets)), self.git_branch)

    def value_to_write(self) -> str:
        """The value to store; a listed variable whose value was not returned cannot be written back."""
        if self.value is None:
            raise ValueError(f"env var {self.key}: its value was not returned by the provider, so it cannot be written")
        return self.value


@dataclass(frozen=True)
class ComputeSize:
    """The compute a new branch gets (Neon's endpoint options); None fields: the project's defaults."""

    min_cu: float | None = None
    max_cu: float | None = None
    suspend_timeout_seconds: int | None = None


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
        compute: ComputeSize | None = None,
        meanwhile: Callable[[], object] | None = None,
    ) -> Branch:
        """Create ``name`` from the current state of ``parent`` and wait until it is usable.

        ``compute``: the size of its compute where the backend has computes (Neon); else ignored.
        ``meanwhile``: called once the branch exists, before waiting for it to be usable (reads that
        need nothing from the new branch overlap the wait: no extra polls); then the wait, even if it fails.
        A branch of that name already exists: ``ProviderError`` with status 409."""
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

    def reset_role_password(self, name: str, *, role: str, meanwhile: Callable[[], object] | None = None) -> bool:
        """Give ``role`` on ``name`` a new password, so credentials of ``name`` open no other branch.

        True when its connection strings changed (they hold a password made just now); False where
        there is nothing to reset (local). ``meanwhile`` as for ``create_branch``: called before the
        wait for the new password to work, e.g. to read the new connection strings."""
        ...


FINGERPRINT_PREFIX = "bbops:sha256:"


def env_type(value: str) -> EnvType:
    """``value`` as an ``EnvType``: the plan schema allows only these, and bbops records only these."""
    for known in ENV_TYPES:
        if value == known:
            return known
    raise UsageError(f"unknown env var type {value!r}; expected one of: {', '.join(ENV_TYPES)}")


def fingerprint(value: str) -> str:
    """A short digest of a value, stored beside it (Vercel: the variable's comment) to detect changes."""
    return FINGERPRINT_PREFIX + hashlib.sha256(value.encode()).hexdigest()[:16]


def is_fingerprint(comment: str | None) -> bool:
    """Whether a variable's comment is bbops' fingerprint: the mark of a variable bbops wrote."""
    return bool(comment) and str(comment).startswith(FINGERPRINT_PREFIX)


def stored_value_matches(value: str | None, stored_fingerprint: str | None, wanted: str) -> bool:
    """Whether a stored variable holds ``wanted``: by value when it was returned, else by fingerprint.

    An opaque value (None) matches only through the fingerprint bbops stored when
    it wrote the value; without one, it is taken as different (it will be rewritten).
    """
    if value is not None:
        return value == wanted
    return stored_fingerprint is not None and stored_fingerprint == fingerprint(wanted)


def env_value_matches(current: EnvVar, wanted: str) -> bool:
    """Whether the listed variable ``current`` already holds ``wanted`` (see ``stored_value_matches``)."""
    return stored_value_matches(current.value, current.fingerprint, wanted)


@runtime_checkable
class EnvProvider(Protocol):
    """Deployment environment variables with targets and git-branch scoping (Vercel's model)."""

    def list_env(self, *, target: str | None = None, git_branch: str | None = None) -> list[EnvVar]:
        """Variables, optionally only those for ``target`` and/or scoped to ``git_branch``.

        A value the provider does not return is None, with the stored ``fingerprint``
        (see ``EnvVar``); callers compare through ``env_value_matches``.
        """
        ...

    def read_value(self, var: EnvVar) -> str | None:
        """The real value of a listed variable (by id), or None where the provider never returns it."""
        ...

    def upsert_env(self, variables: Sequence[EnvVar]) -> list[EnvVar]:
        """Create or replace each variable (matched by key, targets and git branch) in one go."""
        ...

    def delete_env(self, variables: Sequence[EnvVar]) -> int:
        """Delete the given variables (by id when known, else by scope); returns how many went."""
        ...


@dataclass(frozen=True)
class Deployment:
    """One deployment of the app (Vercel's model): which commit, in which state, made when."""

    id: str
    sha: str | None
    state: str  # BUILDING | READY | ERROR | ... (Vercel's states), READY locally
    created_at: datetime
    url: str | None = None


@runtime_checkable
class DeploymentProvider(Protocol):
    """Deployments that pick up env changes, and production rollbacks."""

    def redeploy(self, *, target: str, git_branch: str | None = None) -> str | None:
        """Start a new deployment of ``target`` (a git branch's latest preview); its id, or None if none exists."""
        ...

    def deploy_preview(
        self, *, git_branch: str, sha: str | None, env_changed_at: datetime, log: Callable[[str], None]
    ) -> Deployment | None:
        """Make sure a deployment of ``sha`` (the PR's head; else the branch's newest commit) made after
        ``env_changed_at`` exists, so it was built with the env vars as they are now: wait (bounded)
        for the Git integration's build, redeploy it when it predates the change. Never redeploys
        an older commit. None when no such deployment could be had within the wait."""
        ...

    def current_production(self) -> str | None:
        """The id of the deployment serving production now."""
        ...

    def rollback(self, deployment_id: str) -> None:
        """Make ``deployment_id`` serve production again."""
        ...


# Every Neon plan allows at least this many branches (the free plan: 10); below it no limit is read.
SMALLEST_BRANCH_LIMIT = 10


@runtime_checkable
class BranchLimit(Protocol):
    """A cap on how many branches the project may have (Neon: the plan's ``branches_limit``)."""

    def branch_limit(self) -> int | None:
        """The most branches the project may have, or None when the provider does not say."""
        ...


@runtime_checkable
class RootBranches(Protocol):
    """Branches made empty, with no parent (locally the project's default branch; Neon makes its own)."""

    def create_root(
        self,
        name: str,
        *,
        protected: bool = False,
        default: bool = True,
        annotations: Mapping[str, str] | None = None,
    ) -> Branch: ...


@runtime_checkable
class ProtectedBranches(Protocol):
    """Branches whose protection can change after they were made."""

    def set_protected(self, name: str, protected: bool) -> Branch: ...


@runtime_checkable
class AdminDatabase(Protocol):
    """A maintenance database of the backend's own: where bbops' advisory locks live.

    It is never a template source, so a lock held there never blocks a copy.
    Without one, locks live on a branch's database (``providers.select.lock_url``).
    """

    def admin_url(self) -> str: ...


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
class InfraProvider(ProtectedBranches, Protocol):
    """The long-lived part of a project: settings, protected branches and endpoints."""

    def get_settings(self) -> ProjectSettings: ...

    def update_settings(self, changes: Mapping[str, object]) -> ProjectSettings:
        """Change only the given ``ProjectSettings`` fields (region and pg_version can't change)."""
        ...

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


# What people are told where a read replica's connection is the branch's own (plan, apply, the env step).
NO_REPLICAS = "no read replicas on this backend: the branch's own connection"


@runtime_checkable
class ReadReplicaConnections(Protocol):
    """Connection strings of a branch's read replica (Neon: its ``read_only`` compute endpoint).

    Only some backends have read replicas; a backend without them (local) leaves
    ``Backend.replicas`` None, and callers use the branch's own connection instead,
    saying so (``providers.select.app_connection``).
    """

    def replica_connection(self, name: str, *, database: str, role: str, pooled: bool = True) -> Connection | None:
        """Credentials for ``database`` as ``role`` on the first read replica of ``name``; None when it has none."""
        ...


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


# -- a backend ----------------------------------------------------------------------------


@dataclass
class Backend:
    """What a command gets to work with: the required providers and the capabilities this backend has.

    A capability field is None where the backend does not have it; callers check
    the field (and say what the backend cannot do), never the provider's attributes.
    """

    name: str
    branches: BranchProvider
    env: EnvProvider
    deployments: DeploymentProvider | None = None
    roots: RootBranches | None = None
    protection: ProtectedBranches | None = None
    infra: InfraProvider | None = None
    restore_points: RestorePoints | None = None
    timestamp_restore: TimestampRestore | None = None
    admin: AdminDatabase | None = None
    limits: BranchLimit | None = None
    replicas: ReadReplicaConnections | None = None
    # What to close when the command is done (HTTP clients, catalog connections).
    closers: tuple[Callable[[], None], ...] = ()

    def close(self) -> None:
        for close in self.closers:
            close()
