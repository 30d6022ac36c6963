"""What must change so the infrastructure matches the plan: a pure diff.

``diff(desired, observed)`` compares two plain values and returns every
``Action`` (create / update / delete / no-op), each with field-level before and
after. It never calls a provider, so it is tested in memory; ``bbops.infra.apply``
builds both sides and runs the actions.

Secret values never enter an ``Action``: env values are compared here and
shown as ``***`` (or as where they will come from, e.g. "connection of main (pooled)").
Actions sort in dependency order: project settings, then branches (parents
first), then their read replicas, then env vars (which need the branches'
connection strings), deletions last.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bbops.production.restore import preserved_of
from bbops.providers.base import NO_REPLICAS, Branch, Endpoint, EnvType, ProjectSettings, stored_value_matches

Op = Literal["create", "update", "delete", "no-op"]
MASK = "***"
RANK = {"project": 0, "branch": 1, "replica": 2, "compute": 2, "env": 3}
# The project's compute settings that each existing read-write compute also carries.
COMPUTE_FIELDS = ("autoscaling_min_cu", "autoscaling_max_cu", "suspend_timeout_seconds")
# How a backend fingerprints a value it will not return (Vercel's sensitive env vars); see providers.base.fingerprint.
Fingerprint = Callable[[str], str]
IMMUTABLE_SETTINGS = {"region": "a project's region", "pg_version": "a project's Postgres version"}


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class Action:
    op: Op
    area: str  # project | branch | replica | env
    address: str  # e.g. neon.branch.development, vercel.env.production.DATABASE_URL
    changes: tuple[Change, ...] = ()
    # What ``apply`` needs (ids, field values); never a secret value.
    data: Mapping[str, Any] = field(default_factory=dict, compare=False)
    blocked: str | None = None  # why this difference cannot be applied
    rank: int = 0

    @property
    def pending(self) -> bool:
        return self.op != "no-op"

    def as_dict(self) -> dict[str, Any]:
        out = {
            "op": self.op,
            "area": self.area,
            "address": self.address,
            "changes": [c.as_dict() for c in self.changes],
        }
        if self.blocked:
            out["blocked"] = self.blocked
        return out


@dataclass(frozen=True)
class Replicas:
    count: int
    min_cu: float | None = None
    max_cu: float | None = None


@dataclass(frozen=True)
class DesiredBranch:
    name: str
    parent: str | None
    protected: bool
    default: bool
    replicas: Replicas


@dataclass(frozen=True)
class DesiredEnv:
    """One env var for a deployment target, valued by a literal or by a branch's connection."""

    target: str
    key: str
    type: EnvType
    value: str | None = field(default=None, repr=False)  # a literal (already resolved)
    branch: str | None = None  # or the connection string of this branch
    pooled: bool = True
    replica: bool = False  # of the branch's read replica (``endpoint: read_only``)

    @property
    def connection_key(self) -> tuple[str | None, bool, bool]:
        """Which connection string this is: ``Observed.connections`` holds them by this key."""
        return (self.branch, self.pooled, self.replica)

    def source(self, *, replicas: bool = True) -> str:
        """Where the value comes from; ``replicas`` False: the backend has none (the branch's own is used)."""
        if self.branch is not None:
            kind = "pooled" if self.pooled else "direct"
            if self.replica:
                kind += ", read replica" if replicas else f", read replica; {NO_REPLICAS}"
            return f"connection of {self.branch} ({kind})"
        return MASK if self.type != "plain" else str(self.value)


@dataclass(frozen=True)
class Desired:
    settings: Mapping[str, Any]  # only the ProjectSettings fields the plan sets
    branches: tuple[DesiredBranch, ...]  # parents before children
    env: tuple[DesiredEnv, ...]


@dataclass(frozen=True)
class ObservedEnv:
    target: str
    key: str
    type: str
    id: str | None
    value: str | None = field(default=None, repr=False)  # None when it cannot be read (sensitive)
    fingerprint: str | None = None  # from the var's comment, when bbops wrote it


@dataclass(frozen=True)
class Observed:
    settings: ProjectSettings | None  # None: the backend has no project settings (local)
    branches: Mapping[str, Branch]
    endpoints: tuple[Endpoint, ...] | None  # None: the backend has no endpoints (local)
    env: tuple[ObservedEnv, ...]
    # Connection strings of existing branches (and replicas), by ``DesiredEnv.connection_key``: compared, never shown.
    connections: Mapping[tuple[str | None, bool, bool], str] = field(default_factory=dict, repr=False)
    replicas: bool = True  # False: the backend has no read replicas (local); their sources use the branch's own


def diff(desired: Desired, observed: Observed) -> list[Action]:
    """Every action that makes ``observed`` match ``desired``, in dependency order."""
    actions = _settings(desired, observed) + _branches(desired, observed) + _replicas(desired, observed)
    actions += _computes(desired, observed)
    actions += _env(desired, observed)
    return sorted(actions, key=lambda a: (a.op == "delete", a.rank))


def _settings(desired: Desired, observed: Observed) -> list[Action]:
    if observed.settings is None or not desired.settings:
        return []
    changes, blocked = [], []
    for name, want in desired.settings.items():
        have = getattr(observed.settings, name)
        if _same(have, want):
            continue
        changes.append(Change(name, _show(have), _show(want)))
        if name in IMMUTABLE_SETTINGS:
            blocked.append(f"{IMMUTABLE_SETTINGS[name]} cannot change (needs a new project)")
        if name == "logical_replication" and have and not want:
            blocked.append("logical replication cannot be disabled once enabled")
    fields = {c.field: desired.settings[c.field] for c in changes}
    op: Op = "update" if changes else "no-op"
    return [
        Action(
            op,
            "project",
            "neon.project",
            tuple(changes),
            {"fields": fields},
            "; ".join(blocked) or None,
            RANK["project"],
        )
    ]


def _same(have: Any, want: Any) -> bool:
    if isinstance(want, float) or isinstance(have, float):
        return have is not None and want is not None and abs(float(have) - float(want)) < 1e-9
    if isinstance(want, tuple):
        return tuple(sorted(have or ())) == tuple(sorted(want))
    return bool(have == want)


def _show(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _branches(desired: Desired, observed: Observed) -> list[Action]:
    actions = []
    for order, want in enumerate(desired.branches):
        address = f"neon.branch.{want.name}"
        have = observed.branches.get(want.name)
        rank = RANK["branch"] * 100 + order  # parents were listed first
        if have is None:
            changes = (
                Change("exists", False, True),
                Change("parent", None, want.parent),
                Change("protected", None, want.protected),
            )
            blocked = None if want.parent or want.default else "a root branch other than the default can't be made"
            actions.append(
                Action(
                    "create",
                    "branch",
                    address,
                    changes,
                    {"name": want.name, "parent": want.parent, "protected": want.protected, "default": want.default},
                    blocked,
                    rank,
                )
            )
            continue
        changed: list[Change] = []
        refusals: list[str] = []
        if have.protected != want.protected:
            changed.append(Change("protected", have.protected, want.protected))
        # A rollback on Neon moves the children of the restored branch under its preserved state
        # (``main-before-rollback-...``): the plan's "development descends from main" still holds.
        moved = want.parent is not None and preserved_of(have.parent) == want.parent.replace("/", "-")
        if want.parent is not None and have.parent != want.parent and not moved:
            changed.append(Change("parent", have.parent, want.parent))
            refusals.append("a branch's parent cannot change (delete and recreate it by hand)")
        if have.default != want.default:
            changed.append(Change("default", have.default, want.default))
            refusals.append("the default branch is changed in the Neon console")
        actions.append(
            Action(
                "update" if changed else "no-op",
                "branch",
                address,
                tuple(changed),
                {"name": want.name, "protected": want.protected},
                "; ".join(refusals) or None,
                rank,
            )
        )
    return actions


def _replicas(desired: Desired, observed: Observed) -> list[Action]:
    if observed.endpoints is None:
        return []
    actions = []
    for want in desired.branches:
        have = sorted(
            (e for e in observed.endpoints if e.branch == want.name and e.type == "read_only"), key=lambda e: e.id
        )
        spec = want.replicas
        base = f"neon.branch.{want.name}.read_replica"
        for i in range(max(spec.count, len(have))):
            address = f"{base}[{i}]"
            changes: tuple[Change, ...]
            if i >= len(have):
                changes = (
                    Change("exists", False, True),
                    Change("autoscaling_min_cu", None, spec.min_cu),
                    Change("autoscaling_max_cu", None, spec.max_cu),
                )
                actions.append(
                    Action(
                        "create",
                        "replica",
                        address,
                        changes,
                        {"branch": want.name, "min_cu": spec.min_cu, "max_cu": spec.max_cu},
                        rank=RANK["replica"] * 100,
                    )
                )
            elif i >= spec.count:
                actions.append(
                    Action(
                        "delete",
                        "replica",
                        address,
                        (Change("exists", True, False),),
                        {"id": have[i].id},
                        rank=RANK["replica"] * 100,
                    )
                )
            else:
                changes = tuple(
                    Change(f, getattr(have[i], f), w)
                    for f, w in (("autoscaling_min_cu", spec.min_cu), ("autoscaling_max_cu", spec.max_cu))
                    if w is not None and not _same(getattr(have[i], f), w)
                )
                actions.append(
                    Action(
                        "update" if changes else "no-op",
                        "replica",
                        address,
                        changes,
                        {"id": have[i].id, "fields": {c.field: c.after for c in changes}},
                        rank=RANK["replica"] * 100,
                    )
                )
    return actions


def _computes(desired: Desired, observed: Observed) -> list[Action]:
    """The read-write computes of the plan's branches follow the project's compute settings.

    Neon applies ``default_endpoint_settings`` only to computes created later; an existing
    compute keeps its own (``PATCH /projects/{id}/endpoints/{endpoint_id}``), so each is
    compared and updated here (design.md, "Behaviour the services document").
    """
    wanted = {f: desired.settings[f] for f in COMPUTE_FIELDS if desired.settings.get(f) is not None}
    if observed.endpoints is None or not wanted:
        return []
    actions = []
    for want in desired.branches:
        computes = sorted(
            (e for e in observed.endpoints if e.branch == want.name and e.type == "read_write"), key=lambda e: e.id
        )
        for i, have in enumerate(computes):
            changes = tuple(Change(f, getattr(have, f), w) for f, w in wanted.items() if not _same(getattr(have, f), w))
            actions.append(
                Action(
                    "update" if changes else "no-op",
                    "compute",
                    f"neon.branch.{want.name}.compute" + (f"[{i}]" if i else ""),
                    changes,
                    {"id": have.id, "fields": {c.field: c.after for c in changes}},
                    rank=RANK["compute"] * 100 + 1,
                )
            )
    return actions


def _env(desired: Desired, observed: Observed) -> list[Action]:
    actions = []
    for want in desired.env:
        address = f"vercel.env.{want.target}.{want.key}"
        data = {"target": want.target, "key": want.key, "type": want.type}
        have = [o for o in observed.env if o.target == want.target and o.key == want.key]
        if not have:
            changes = (
                Change("exists", False, True),
                Change("type", None, want.type),
                Change("value", None, want.source(replicas=observed.replicas)),
            )
            actions.append(Action("create", "env", address, changes, data, rank=RANK["env"] * 100))
            continue
        current = have[0]
        changed: list[Change] = []
        if current.type != want.type:
            changed.append(Change("type", current.type, want.type))
        if not _value_matches(want, current, observed):
            shown = current.value if current.type == "plain" and current.value is not None else MASK
            changed.append(Change("value", shown, want.source(replicas=observed.replicas)))
        actions.append(
            Action(
                "update" if changed else "no-op",
                "env",
                address,
                tuple(changed),
                {**data, "id": current.id},
                rank=RANK["env"] * 100,
            )
        )
    return actions


def _wanted_value(want: DesiredEnv, observed: Observed) -> str | None:
    if want.branch is None:
        return want.value
    return observed.connections.get(want.connection_key)


def _value_matches(want: DesiredEnv, have: ObservedEnv, observed: Observed) -> bool:
    value = _wanted_value(want, observed)
    if value is None:
        return False  # the branch (or its replica) does not exist yet: its connection string will be new
    # Unreadable (sensitive): only the fingerprint bbops stored when it wrote the value decides.
    return stored_value_matches(have.value, have.fingerprint, value)
