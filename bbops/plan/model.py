"""The plan as frozen dataclasses, built only from data that already passed validation.

Paths in the model are absolute (resolved against the plan file's folder).
``${NAME}`` references stay as references: they are resolved at the moment of
use with ``resolve_ref`` so that a secret lives in memory only as long as needed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bbops.errors import UsageError
from bbops.providers.base import EnvType, env_type

REF = re.compile(r"^\$\{([A-Z_][A-Z0-9_]*)\}$")
DEFAULT_BRANCH_TEMPLATE = "preview/pr-{pr}"
DEFAULT_TTL_DAYS = 7


def resolve_ref(value: str | None, *, what: str, required: bool = True) -> str | None:
    """The value of a ``${NAME}`` reference (or a literal, returned as is)."""
    if value is None:
        return None
    match = REF.match(value)
    if not match:
        return value
    name = match.group(1)
    resolved = os.environ.get(name)
    if resolved is None or resolved == "":
        if required:
            raise UsageError(f"{what} refers to ${{{name}}}, but the environment variable {name} is not set")
        return None
    return resolved


@dataclass(frozen=True)
class Autoscaling:
    min_cu: float
    max_cu: float


@dataclass(frozen=True)
class ReadReplicas:
    count: int
    autoscaling: Autoscaling | None = None


@dataclass(frozen=True)
class BranchSpec:
    name: str
    parent: str | None = None
    protected: bool = False
    default: bool = False
    read_replicas: ReadReplicas | None = None


@dataclass(frozen=True)
class IpAllowlist:
    ips: tuple[str, ...]
    protected_branches_only: bool = False


@dataclass(frozen=True)
class NeonProject:
    name: str
    region: str
    pg_version: int
    id: str | None = None
    autoscaling: Autoscaling | None = None
    suspend_timeout_seconds: int | None = None
    history_retention_days: float | None = None
    ip_allowlist: IpAllowlist | None = None
    logical_replication: bool | None = None


@dataclass(frozen=True)
class Neon:
    project: NeonProject
    database: str
    role: str
    branches: tuple[BranchSpec, ...]
    api_key: str | None = None

    def branch(self, name: str) -> BranchSpec | None:
        return next((b for b in self.branches if b.name == name), None)

    @property
    def default_branch(self) -> BranchSpec:
        return next((b for b in self.branches if b.default), self.branches[0])

    def creation_order(self) -> tuple[BranchSpec, ...]:
        """Branches with every parent before its children (validation guarantees no cycle)."""
        done: list[BranchSpec] = []
        names: set[str] = set()
        pending = list(self.branches)
        while pending:
            ready = [b for b in pending if b.parent is None or b.parent in names]
            if not ready:  # unreachable after validation; keep the rest in written order
                ready = pending[:1]
            for b in ready:
                done.append(b)
                names.add(b.name)
                pending.remove(b)
        return tuple(done)


READ_WRITE = "read_write"
READ_ONLY = "read_only"


@dataclass(frozen=True)
class EnvSource:
    """Where one env var's value comes from: a branch connection, or a literal/``${NAME}``.

    A connection is the target's own branch's (a preview's: the PR's branch; an ``env``
    step's: the step's branch) unless ``branch`` names another long-lived branch of the
    plan. ``endpoint`` ``read_only`` is that branch's read replica (its first ``read_only``
    compute) instead of its read-write compute; validation makes sure the plan gives the
    branch read replicas.
    """

    key: str
    connection: str | None = None  # "pooled" | "direct"
    value: str | None = None
    type: EnvType = "encrypted"
    branch: str | None = None  # a long-lived branch of the plan; None: the target's own
    endpoint: str = READ_WRITE  # READ_WRITE | READ_ONLY (the read replica)

    @property
    def replica(self) -> bool:
        return self.endpoint == READ_ONLY

    def branch_for(self, own: str) -> str:
        """The branch whose connection this source takes, where the target's own branch is ``own``."""
        return self.branch or own


@dataclass(frozen=True)
class VercelTarget:
    name: str  # production | preview | development
    env: tuple[EnvSource, ...]
    branch: str | None = None  # None for preview: each PR's own branch


@dataclass(frozen=True)
class Vercel:
    project: str
    targets: tuple[VercelTarget, ...]
    team: str | None = None
    token: str | None = None

    def target(self, name: str) -> VercelTarget | None:
        return next((t for t in self.targets if t.name == name), None)


@dataclass(frozen=True)
class ScrubRule:
    table: str
    column: str  # a name or a glob
    with_: str


@dataclass(frozen=True)
class LintIgnore:
    """``preview.lint.ignore``: a migration lint rule silenced for one migration (or all), with why."""

    rule: str
    reason: str
    migration: str | None = None  # a tag or tag prefix; None: every migration of the folder


@dataclass(frozen=True)
class PreviewCompute:
    """The compute each preview branch gets (``preview.compute``); None fields follow the project."""

    autoscaling: Autoscaling | None = None
    suspend_timeout_seconds: int | None = None


@dataclass(frozen=True)
class Preview:
    parent: str
    branch_name: str = DEFAULT_BRANCH_TEMPLATE
    ttl_days: float = DEFAULT_TTL_DAYS
    compute: PreviewCompute | None = None
    migrations: Path | None = None
    seed: tuple[Path, ...] = ()
    scrub: tuple[ScrubRule, ...] = ()
    lint_ignores: tuple[LintIgnore, ...] = ()

    def branch_for(self, pr: int) -> str:
        return self.branch_name.replace("{pr}", str(pr))

    def pr_of(self, name: str) -> int | None:
        """The PR number whose preview branch is ``name``, or None (the inverse of ``branch_for``)."""
        return template_pr(self.branch_name, name)


def template_pr(template: str, name: str) -> int | None:
    """The PR number ``n`` for which ``template`` gives ``name``, if any (as ``str(n)``: no sign, no leading 0)."""
    prefix, _, suffix = template.partition("{pr}")
    if len(name) <= len(prefix) + len(suffix) or not (name.startswith(prefix) and name.endswith(suffix)):
        return None
    middle = name[len(prefix) : len(name) - len(suffix)]
    if not (middle.isascii() and middle.isdigit()) or middle.startswith("0"):
        return None
    return int(middle)


@dataclass(frozen=True)
class Step:
    """One production step. ``spec`` keeps the step's fields as written (for its checksum)."""

    id: str
    kind: str
    spec: dict[str, Any] = field(hash=False, compare=False)
    base_dir: Path = field(default=Path("."), compare=False)

    def get(self, key: str, default: Any = None) -> Any:
        return self.spec.get(key, default)

    def path(self, key: str) -> Path:
        return (self.base_dir / str(self.spec[key])).resolve()


@dataclass(frozen=True)
class Retention:
    """How many restore points and rolled-back states ``bbops preview gc`` keeps (defaults in the schema)."""

    keep_last: int = 3
    keep_days: int = 7


@dataclass(frozen=True)
class Production:
    branch: str = "main"
    restore_point: bool = True
    retention: Retention = Retention()
    health_check: str | None = None
    steps: tuple[Step, ...] = ()
    on_failure: str = "stop"  # stop | rollback | rollback-with-data (a step's own `on_failure` wins)

    def failure_policy(self, step: Step) -> str:
        return str(step.get("on_failure") or self.on_failure)


@dataclass(frozen=True)
class Plan:
    file: Path
    name: str
    neon: Neon | None = None
    vercel: Vercel | None = None
    preview: Preview | None = None
    production: Production | None = None
    description: str = ""

    @property
    def base_dir(self) -> Path:
        return self.file.parent


def build(data: dict[str, Any], file: Path) -> Plan:
    """The model of validated plan data."""
    base = file.parent
    return Plan(
        file=file,
        name=data["name"],
        description=data.get("description", ""),
        neon=_neon(data["neon"]) if "neon" in data else None,
        vercel=_vercel(data["vercel"]) if "vercel" in data else None,
        preview=_preview(data["preview"], base) if "preview" in data else None,
        production=_production(data["production"], base) if "production" in data else None,
    )


def _autoscaling(d: dict[str, Any] | None) -> Autoscaling | None:
    return Autoscaling(float(d["min_cu"]), float(d["max_cu"])) if d else None


def _neon(d: dict[str, Any]) -> Neon:
    p = d["project"]
    allow = p.get("ip_allowlist")
    project = NeonProject(
        name=p["name"],
        region=p["region"],
        pg_version=p["pg_version"],
        id=p.get("id"),
        autoscaling=_autoscaling(p.get("autoscaling")),
        suspend_timeout_seconds=p.get("suspend_timeout_seconds"),
        history_retention_days=p.get("history_retention_days"),
        ip_allowlist=IpAllowlist(tuple(allow["ips"]), allow.get("protected_branches_only", False)) if allow else None,
        logical_replication=p.get("logical_replication"),
    )
    branches = []
    for name, b in d["branches"].items():
        b = b or {}
        rr = b.get("read_replicas")
        branches.append(
            BranchSpec(
                name=name,
                parent=b.get("parent"),
                protected=b.get("protected", False),
                default=b.get("default", False),
                read_replicas=ReadReplicas(rr["count"], _autoscaling(rr.get("autoscaling"))) if rr else None,
            )
        )
    return Neon(project, d["database"], d["role"], tuple(branches), d.get("api_key"))


def env_sources(env: dict[str, Any]) -> tuple[EnvSource, ...]:
    return tuple(
        EnvSource(
            key,
            v.get("connection"),
            v.get("value"),
            env_type(v.get("type", "encrypted")),
            v.get("branch"),
            v.get("endpoint", READ_WRITE),
        )
        for key, v in env.items()
    )


def _vercel(d: dict[str, Any]) -> Vercel:
    targets = tuple(VercelTarget(name, env_sources(t["env"]), t.get("branch")) for name, t in d["targets"].items())
    return Vercel(d["project"], targets, d.get("team"), d.get("token"))


def _preview(d: dict[str, Any], base: Path) -> Preview:
    return Preview(
        parent=d["parent"],
        branch_name=d.get("branch_name", DEFAULT_BRANCH_TEMPLATE),
        ttl_days=d.get("ttl_days", DEFAULT_TTL_DAYS),
        compute=PreviewCompute(
            _autoscaling(d["compute"].get("autoscaling")), d["compute"].get("suspend_timeout_seconds")
        )
        if d.get("compute")
        else None,
        migrations=(base / d["migrations"]).resolve() if d.get("migrations") else None,
        seed=tuple((base / s).resolve() for s in d.get("seed", [])),
        scrub=tuple(ScrubRule(r["table"], r["column"], r["with"]) for r in d.get("scrub", [])),
        lint_ignores=tuple(
            LintIgnore(i["rule"], i["reason"], i.get("migration")) for i in d.get("lint", {}).get("ignore", [])
        ),
    )


def _production(d: dict[str, Any], base: Path) -> Production:
    return Production(
        branch=d.get("branch", "main"),
        restore_point=d.get("restore_point", True),
        retention=Retention(**d.get("retention", {})),
        health_check=d.get("health_check"),
        steps=tuple(Step(s["id"], s["kind"], dict(s), base) for s in d.get("steps", [])),
        on_failure=d.get("on_failure", "stop"),
    )
