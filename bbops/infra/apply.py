"""The infrastructure part of ``bbops plan`` / ``bbops apply``: build both sides, diff, run.

``desired_state(plan)`` reads the plan; ``observe(backend, plan, desired)``
reads the providers; ``reconcile.diff`` compares them; ``apply_actions`` runs
exactly the pending actions in their order. Running it twice changes nothing
the second time; after a failure, running it again does the rest (the diff
is recomputed from what exists).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bbops.errors import ProviderError, UsageError
from bbops.infra.diff import (
    Action,
    Desired,
    DesiredBranch,
    DesiredEnv,
    Observed,
    ObservedEnv,
    Replicas,
    diff,
)
from bbops.plan.model import Plan, resolve_ref
from bbops.providers.base import NO_REPLICAS, Backend, EnvVar, InfraProvider
from bbops.providers.select import app_connection

Log = Callable[[str], None]
DAY = 86400


def desired_state(plan: Plan) -> Desired:
    if plan.neon is None:
        raise UsageError(f"plan {plan.name} has no neon section: nothing to plan")
    project = plan.neon.project
    settings: dict[str, object] = {"name": project.name, "region": project.region, "pg_version": project.pg_version}
    if project.autoscaling:
        settings["autoscaling_min_cu"] = project.autoscaling.min_cu
        settings["autoscaling_max_cu"] = project.autoscaling.max_cu
    if project.suspend_timeout_seconds is not None:
        settings["suspend_timeout_seconds"] = project.suspend_timeout_seconds
    if project.history_retention_days is not None:
        settings["history_retention_seconds"] = round(project.history_retention_days * DAY)
    if project.ip_allowlist is not None:
        settings["allowed_ips"] = tuple(project.ip_allowlist.ips)
        settings["allowed_ips_protected_only"] = project.ip_allowlist.protected_branches_only
    if project.logical_replication is not None:
        settings["logical_replication"] = project.logical_replication
    branches = []
    for spec in plan.neon.creation_order():
        rr = spec.read_replicas
        replicas = (
            Replicas(
                rr.count,
                rr.autoscaling.min_cu if rr and rr.autoscaling else None,
                rr.autoscaling.max_cu if rr and rr.autoscaling else None,
            )
            if rr
            else Replicas(0)
        )
        branches.append(DesiredBranch(spec.name, spec.parent, spec.protected, spec.default, replicas))
    env = []
    for target in plan.vercel.targets if plan.vercel else ():
        if target.branch is None:
            continue  # preview vars belong to each pull request (bbops preview)
        for source in target.env:
            if source.connection:
                env.append(
                    DesiredEnv(
                        target.name,
                        source.key,
                        source.type,
                        branch=source.branch_for(target.branch),
                        pooled=source.connection == "pooled",
                        replica=source.replica,
                    )
                )
            else:
                value = resolve_ref(source.value, what=f"vercel.targets.{target.name}.env.{source.key}")
                env.append(DesiredEnv(target.name, source.key, source.type, value=value))
    return Desired(settings, tuple(branches), tuple(env))


def _read_env(backend: Backend, targets: set[str]) -> tuple[ObservedEnv, ...]:
    # Vercel lists no value (its listing does not decrypt): its variables compare by fingerprint.
    observed = []
    for var in backend.env.list_env():
        if var.git_branch is not None:
            continue  # branch-scoped vars belong to previews
        for target in set(var.targets) & targets:
            # An opaque value (None) is compared by the fingerprint bbops stored beside it.
            observed.append(ObservedEnv(target, var.key, var.type, var.id, var.value, var.fingerprint))
    return tuple(observed)


def observe(backend: Backend, plan: Plan, desired: Desired) -> Observed:
    assert plan.neon is not None
    infra = backend.infra
    branches = {b.name: b for b in backend.branches.list_branches()}
    # Listed before the connections: a replica's connection string is looked up on this listing.
    endpoints = tuple(infra.list_endpoints()) if infra else None
    connections: dict[tuple[str | None, bool, bool], str] = {}
    for want in desired.env:
        if want.branch is None or want.branch not in branches or want.connection_key in connections:
            continue
        conn = _connection(backend, plan, want)
        if conn is not None:  # None: the branch has no read replica yet (apply makes it first)
            connections[want.connection_key] = conn
    return Observed(
        settings=infra.get_settings() if infra else None,
        branches=branches,
        endpoints=endpoints,
        env=_read_env(backend, {e.target for e in desired.env}),
        connections=connections,
        replicas=backend.replicas is not None,
    )


def _connection(backend: Backend, plan: Plan, want: DesiredEnv) -> str | None:
    """The connection string ``want`` takes, or None when it is a read replica's that does not exist yet."""
    assert want.branch is not None and plan.neon is not None
    if want.replica and backend.replicas is not None:
        found = backend.replicas.replica_connection(
            want.branch, database=plan.neon.database, role=plan.neon.role, pooled=want.pooled
        )
        return found.url if found is not None else None
    return app_connection(backend, plan, want.branch, pooled=want.pooled).url


def plan_infra(backend: Backend, plan: Plan) -> list[Action]:
    desired = desired_state(plan)
    return diff(desired, observe(backend, plan, desired))


@dataclass
class ApplyReport:
    done: list[Action] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"applied": [a.as_dict() for a in self.done]}


def apply_actions(backend: Backend, plan: Plan, actions: Sequence[Action], *, log: Log = lambda _: None) -> ApplyReport:
    """Run the pending ``actions`` in order; blocked ones stop everything before any change."""
    assert plan.neon is not None
    blocked = [a for a in actions if a.pending and a.blocked]
    if blocked:
        raise UsageError(
            "cannot apply: " + "; ".join(f"{a.address}: {a.blocked}" for a in blocked),
            hint="fix the plan or change these by hand, then run bbops plan again",
        )
    report = ApplyReport()
    env_actions = [a for a in actions if a.pending and a.area == "env"]
    for action in actions:
        if not action.pending or action.area == "env":
            continue
        log(f"{action.op} {action.address}")
        _run(backend, action)
        report.done.append(action)
    if env_actions:
        _apply_env(backend, plan, env_actions, log)
        report.done.extend(env_actions)
    return report


def _infra(backend: Backend) -> InfraProvider:
    if backend.infra is None:
        raise ProviderError(f"the {backend.name} backend has no project settings or endpoints to change")
    return backend.infra


def _run(backend: Backend, action: Action) -> None:
    data = action.data
    if action.area == "project":
        _infra(backend).update_settings(data["fields"])
    elif action.area == "branch" and action.op == "create":
        if backend.branches.get_branch(data["name"]) is not None:
            return  # made meanwhile (a rerun, or someone else): nothing to do
        if data["parent"] is None:
            if backend.roots is None:
                raise ProviderError(f"the {backend.name} backend cannot create root branch {data['name']!r}")
            backend.roots.create_root(data["name"], protected=data["protected"], default=data["default"])
        else:
            backend.branches.create_branch(data["name"], parent=data["parent"], protected=data["protected"])
    elif action.area == "branch":
        if backend.protection is None:
            raise ProviderError(f"the {backend.name} backend cannot change branch protection")
        backend.protection.set_protected(data["name"], data["protected"])
    elif action.area == "replica" and action.op == "create":
        _infra(backend).create_endpoint(
            data["branch"], type="read_only", autoscaling_min_cu=data["min_cu"], autoscaling_max_cu=data["max_cu"]
        )
    elif action.area in ("replica", "compute") and action.op == "update":
        _infra(backend).update_endpoint(data["id"], data["fields"])
    elif action.area == "replica" and action.op == "delete":
        _infra(backend).delete_endpoint(data["id"])


def _apply_env(backend: Backend, plan: Plan, actions: Sequence[Action], log: Log) -> None:
    """All env changes in one upsert, valued at the last moment (branches may be new)."""
    assert plan.neon is not None
    desired = {(e.target, e.key): e for e in desired_state(plan).env}
    variables = []
    for action in actions:
        want = desired[(action.data["target"], action.data["key"])]
        value = want.value
        if want.branch is not None:
            value = app_connection(backend, plan, want.branch, pooled=want.pooled, replica=want.replica).url
        note = f" ({NO_REPLICAS})" if want.replica and backend.replicas is None else ""
        log(f"{action.op} {action.address}{note}")
        variables.append(EnvVar(want.key, value or "", want.type, (want.target,), None))
    backend.env.upsert_env(variables)
