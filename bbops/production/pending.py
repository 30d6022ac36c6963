"""Which production steps a run executes: pure functions over the plan and the history.

A step's checksum covers its definition as written (canonical JSON of
``Step.spec``) plus the content of every file it references (a migrations
folder's files, a SQL file), so editing an applied migration is seen as well
as editing the YAML. A changed checksum of an applied step is drift, except
for a ``migrations`` step: its folder is meant to grow, so new files make it
pending again (the runner checks applied files' hashes itself). Nothing here touches a database or a provider.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bbops.plan.model import Plan, Production, Step

# Kinds that change production data, env vars or (freeze) the old database: a restore point comes
# before the first of them, and their undo records belong to it (a rotation's env vars and redeploy too).
MUTATING = frozenset({"migrations", "sql", "copy", "env", "redeploy", "switch", "freeze", "rotate"})


def _files(step: Step) -> list[Path]:
    if step.kind == "migrations" and step.get("dir"):
        folder = step.path("dir")
        return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else [folder]
    if step.kind == "sql" and step.get("file"):
        return [step.path("file")]
    if step.kind == "check" and step.get("queries_file"):
        return [step.path("queries_file")]
    return []


def step_checksum(step: Step) -> str:
    """sha256 of the step's canonical JSON, then of each referenced file (relative name + content)."""
    digest = hashlib.sha256(json.dumps(step.spec, sort_keys=True, separators=(",", ":")).encode())
    for path in _files(step):
        digest.update(b"\0" + path.name.encode())
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"<missing>")  # a missing file changes the checksum; the step itself will fail
    return digest.hexdigest()


def steps_checksum(production: Production) -> str:
    """One checksum over every step, in order: "did the plan's steps change since then?"."""
    digest = hashlib.sha256()
    for step in production.steps:
        digest.update(f"{step.id}:{step_checksum(step)}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Recorded:
    """What the history says about one step id (the newest attempt)."""

    status: str  # running | applied | failed
    checksum: str
    error: str | None = None


@dataclass(frozen=True)
class PendingStep:
    step: Step
    checksum: str
    reason: str  # new | failed | interrupted | new migrations
    resume: bool  # a copy that was interrupted or failed continues where it stopped

    @property
    def mutating(self) -> bool:
        return self.step.kind in MUTATING


@dataclass(frozen=True)
class Drift:
    step_id: str
    recorded: str
    current: str


@dataclass(frozen=True)
class RunPlan:
    pending: list[PendingStep]
    applied: list[str]
    drift: list[Drift]


def plan_run(plan: Plan, history: Mapping[str, Recorded]) -> RunPlan:
    """Pending steps in plan order, the applied ones, and applied steps whose definition changed."""
    steps = plan.production.steps if plan.production else ()
    pending: list[PendingStep] = []
    applied: list[str] = []
    drift: list[Drift] = []
    for step in steps:
        checksum = step_checksum(step)
        seen = history.get(step.id)
        if seen is None:
            pending.append(PendingStep(step, checksum, "new", False))
        elif seen.status == "applied" and seen.checksum != checksum and step.kind == "migrations":
            # A Drizzle folder grows: new files make the step pending again, and the runner itself
            # refuses if an already-applied migration file changed (its hash check).
            pending.append(PendingStep(step, checksum, "new migrations", False))
        elif seen.status == "applied":
            applied.append(step.id)
            if seen.checksum != checksum:
                drift.append(Drift(step.id, seen.checksum, checksum))
        else:
            reason = "failed" if seen.status == "failed" else "interrupted"
            pending.append(PendingStep(step, checksum, reason, step.kind == "copy"))
    return RunPlan(pending, applied, drift)


def pending_steps(plan: Plan, history: Mapping[str, Recorded]) -> list[PendingStep]:
    """The steps a run would execute, in order (drift is reported by ``plan_run``)."""
    return plan_run(plan, history).pending


def first_mutating(pending: list[PendingStep]) -> int | None:
    return next((i for i, p in enumerate(pending) if p.mutating), None)
