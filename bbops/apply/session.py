"""One apply: prepare (read everything, refuse early), then execute, under one production lock.

Why one lock for the whole command: the steps a person confirmed are the steps that run. With
the lock released between the dry run and the run, another apply (or a rollback) could change
the history in between; held throughout, the history is read once and stays true.

The lock is taken before anything changes when the production branch exists. On the first
apply the branch does not exist yet: every step is new, and the lock is taken once the
infrastructure made the branch. Should the lock's session end while the infrastructure changes
(a compute restart), it is taken again and the history read again before any step runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from bbops.core.report import TextOut
from bbops.errors import BBopsError
from bbops.github import runner as gha
from bbops.infra import apply as infra
from bbops.infra import render
from bbops.infra.diff import Action
from bbops.plan.model import Plan
from bbops.production.health import HealthChecker
from bbops.production.history import RunInfo
from bbops.production.run import (
    LOCK_TIMEOUT,
    NO_HISTORY,
    ProductionHold,
    RunReport,
    env_owned_by_steps,
    estimate_copies,
    hold_production,
    preview_steps,
    production_exists,
    run_info_from_env,
)
from bbops.production.secretbox import SecretBox
from bbops.providers.base import Backend

Log = Callable[[str], None]


@dataclass
class LeftToStep:
    """A pending infrastructure action on an env var that a pending production step sets instead."""

    action: Action
    step: str


@dataclass
class Prepared:
    """What an apply would do, read before anything changes."""

    planned: list[Action] | None = None  # every infrastructure action; None: not part of this apply
    actions: list[Action] = field(default_factory=list)  # those this apply runs, in order
    left_to_steps: list[LeftToStep] = field(default_factory=list)
    steps: RunReport | None = None  # the production steps that would run; None: not part of this apply
    refusal: BBopsError | None = None  # why the steps may not run: raised before any change

    @property
    def pending(self) -> list[Action]:
        return [a for a in self.actions if a.pending]

    @property
    def step_count(self) -> int:
        return len(self.steps.steps) if self.steps else 0

    def write_infra_text(self, out: TextOut) -> None:
        if self.planned is not None:
            out.line(render.text(self.planned))
        for left in self.left_to_steps:
            out.line(f"{left.action.address}: left to production step {left.step}")

    def write_text(self, out: TextOut) -> None:
        """The infrastructure's plan, then the production steps that would run (if any)."""
        self.write_infra_text(out)
        if self.steps is not None and self.steps.steps:
            self.steps.write_text(out)

    def as_dict(self) -> dict[str, Any]:
        return {
            "actions": [a.as_dict() for a in self.actions],
            "left_to_steps": [{"address": x.action.address, "step": x.step} for x in self.left_to_steps],
            "steps": self.steps.as_dict() if self.steps else None,
        }


@dataclass
class ApplyReport:
    """What an apply did: the infrastructure's actions run, then the production steps' report."""

    prepared: Prepared
    applied: list[Action] = field(default_factory=list)
    steps: RunReport | None = None
    dry_run: bool = False

    def write_text(self, out: TextOut) -> None:
        if self.dry_run:
            self.prepared.write_infra_text(out)
        elif self.applied:
            out.line(f"Applied {len(self.applied)} change(s).")
        if self.steps is not None:
            self.steps.write_text(out)

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan": self.prepared.as_dict(),
            "applied": [a.as_dict() for a in self.applied],
            "steps": self.steps.as_dict() if self.steps else None,
            "dry_run": self.dry_run,
        }


class ApplySession:
    """An apply between ``prepare`` and the end of its ``with`` block (see the module docstring)."""

    def __init__(
        self,
        backend: Backend,
        plan: Plan,
        stack: ExitStack,
        *,
        infrastructure: bool,
        steps: bool,
        after_rollback: bool,
        run: RunInfo,
        lock_timeout: float,
    ) -> None:
        self.backend, self.plan, self._stack = backend, plan, stack
        self.after_rollback, self.run_info, self.lock_timeout = after_rollback, run, lock_timeout
        production = plan.production
        self.with_steps = steps and production is not None and bool(production.steps)
        self._hold: ProductionHold | None = None
        if self.with_steps and production_exists(backend, plan):
            self._hold = self._take()
        self.prepared = self._prepare(infrastructure)

    def _take(self) -> ProductionHold:
        return self._stack.enter_context(hold_production(self.backend, self.plan, "apply", self.lock_timeout))

    def _prepare(self, infrastructure: bool) -> Prepared:
        prepared = Prepared(planned=infra.plan_infra(self.backend, self.plan) if infrastructure else None)
        state = self._hold.state if self._hold else NO_HISTORY
        owned = env_owned_by_steps(self.plan, state, after_rollback=self.after_rollback) if self.with_steps else {}
        by_address = {f"vercel.env.{target}.{key}": step for (target, key), step in owned.items()}
        for action in prepared.planned or ():
            step = by_address.get(action.address)
            if step is None:
                prepared.actions.append(action)
            elif action.pending:
                prepared.left_to_steps.append(LeftToStep(action, step))
        if not self.with_steps:
            return prepared
        try:
            prepared.steps = preview_steps(self.plan, state, after_rollback=self.after_rollback, run=self.run_info)
        except BBopsError as exc:  # shown after the infrastructure's plan; raised before any change
            prepared.refusal = exc
        return prepared

    def dry_run(self, *, summary: bool = True) -> ApplyReport:
        """What ``execute`` would do, changing nothing (raises what would stop the steps)."""
        self.check()
        steps = self.prepared.steps
        if steps is not None:
            estimate_copies(self.plan, steps)
            if summary:
                gha.append_summary(steps.markdown())
        return ApplyReport(self.prepared, steps=steps, dry_run=True)

    def check(self) -> None:
        """Raise what would stop the steps (drift, an unacknowledged rollback, a missing ``${NAME}``)."""
        if self.prepared.refusal is not None:
            raise self.prepared.refusal

    def execute(
        self,
        *,
        health: HealthChecker | None = None,
        box: SecretBox | None = None,
        log: Log = lambda _: None,
        summary: bool = True,
    ) -> ApplyReport:
        """Apply the prepared infrastructure actions, then run the production steps (exit 5 on a failed step)."""
        self.check()
        report = ApplyReport(self.prepared)
        if self.prepared.pending:
            report.applied = infra.apply_actions(self.backend, self.plan, self.prepared.actions, log=log).done
        if not self.with_steps:
            return report
        hold = self._hold
        if hold is None or not hold.held():
            # The first apply (the branch exists only now) or a lock lost to a compute restart:
            # take it (again) and read the history (again) before any step; the run checks it again.
            hold = self._hold = self._take()
        report.steps = hold.run(
            after_rollback=self.after_rollback, run=self.run_info, health=health, box=box, log=log, summary=summary
        )
        return report


@contextmanager
def prepare(
    backend: Backend,
    plan: Plan,
    *,
    infrastructure: bool = True,
    steps: bool = True,
    after_rollback: bool = False,
    run: RunInfo | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
) -> Iterator[ApplySession]:
    """Read what an apply would do under the production lock; the lock lasts until the block ends."""
    with ExitStack() as stack:
        yield ApplySession(
            backend,
            plan,
            stack,
            infrastructure=infrastructure,
            steps=steps,
            after_rollback=after_rollback,
            run=run or run_info_from_env(),
            lock_timeout=lock_timeout,
        )
