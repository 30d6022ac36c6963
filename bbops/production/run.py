"""``apply`` for the production steps: plan (pure, ``pending``), then run under a lock.

Order of a run, and why:

1. one advisory lock per production branch, so two runs never overlap (held
   off the production branch: on the local backend's maintenance database, on
   Neon on another long-lived branch, because taking a restore point or
   restoring one ends the sessions on the production branch);
2. the history is read and the pending steps computed; an applied step whose
   definition changed is drift and stops everything (exit 1) before any change;
3. an unacknowledged rollback stops the run (exit 2) while the plan's steps are
   the ones that were rolled back, unless ``after_rollback`` says to run them again;
4. the encryption key for previous env values is checked before any change;
5. a restore point before the first step that changes data or env vars;
6. each step is recorded ``running`` then ``applied`` or ``failed``; a failure
   stops the run (exit 5) and the next run starts from that step (a copy resumes);
7. with ``on_failure: rollback`` (the plan's or the step's), a failure after the
   restore point first rolls back what this run changed (write freezes, env vars,
   the production deployment; the data too with ``rollback-with-data``), still
   under the same lock; the run's report carries the rollback's, and the exit is 5.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg

from bbops.copy.estimate import CopyEstimate, estimate_copy
from bbops.core import redact
from bbops.core.report import TextOut
from bbops.errors import BBopsError, DifferencesFound, MigrationError, UsageError
from bbops.github import runner as gha
from bbops.plan.model import Plan
from bbops.production import restore
from bbops.production.health import HealthChecker
from bbops.production.history import History, RollbackRecord, RunInfo
from bbops.production.lock import LOCK_TIMEOUT, production_lock
from bbops.production.pending import (
    PendingStep,
    Recorded,
    first_mutating,
    pending_steps,
    plan_run,
    steps_checksum,
)
from bbops.production.secretbox import SecretBox, open_box
from bbops.production.steps import StepContext, preflight, run_step, source_of
from bbops.providers.base import Backend
from bbops.providers.select import app_connection

if TYPE_CHECKING:
    from bbops.production.rollback import RollbackReport

__all__ = [
    "LOCK_TIMEOUT",
    "RunReport",
    "StepFailed",
    "apply_production",
    "pending_steps",
    "run_info_from_env",
]


def run_info_from_env(environ: dict[str, str] | None = None) -> RunInfo:
    env = os.environ if environ is None else environ
    return RunInfo(
        env.get("GITHUB_RUN_ID") or None,
        env.get("GITHUB_SHA") or None,
        env.get("GITHUB_ACTOR") or env.get("USER") or None,
    )


@dataclass
class StepOutcome:
    id: str
    kind: str
    status: str  # applied | would run | failed
    detail: str = ""
    seconds: float = 0.0


@dataclass
class RunReport:
    branch: str
    dry_run: bool
    already_applied: list[str] = field(default_factory=list)
    restore_point: str | None = None
    restore_point_taken: bool = False
    steps: list[StepOutcome] = field(default_factory=list)
    rollback: RollbackReport | None = None  # the automatic rollback after a failed step
    estimates: dict[str, CopyEstimate] = field(default_factory=dict)  # a dry run's, per pending copy step

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write_text(self, out: TextOut) -> None:
        if self.restore_point:
            verb = "taken" if self.restore_point_taken else ("would be taken" if self.dry_run else "reused")
            out.line(f"Restore point {self.restore_point} {verb}.")
        if not self.steps:
            out.line(f"Production steps: nothing pending ({len(self.already_applied)} applied).")
            return
        out.table(["step", "kind", "outcome", "detail"], [[s.id, s.kind, s.status, s.detail] for s in self.steps])
        for step_id, estimate in self.estimates.items():
            out.line(f"Copy estimate for {step_id}:")
            for line in estimate.lines():
                out.line(f"  {line}")
        if self.rollback is not None:
            out.line(f"Automatic rollback to {self.rollback.to}:")
            for line in self.rollback.lines():
                out.line(f"  {line}")

    def markdown(self) -> str:
        head = "### Production steps" + (" (dry run)" if self.dry_run else "")
        rows = "\n".join(f"| `{s.id}` | {s.kind} | {s.status} | {s.detail} |" for s in self.steps)
        point = f"Restore point: `{self.restore_point}`\n\n" if self.restore_point else ""
        body = (
            f"| step | kind | outcome | detail |\n|---|---|---|---|\n{rows}\n" if self.steps else "Nothing pending.\n"
        )
        for step_id, estimate in self.estimates.items():
            lines = "\n".join(f"    {line}" for line in estimate.lines())
            body += f"\n#### Copy estimate for `{step_id}`\n\n{lines}\n"
        if self.rollback is not None:
            lines = "\n".join(f"    {line}" for line in self.rollback.lines())
            body += f"\n#### Automatic rollback to `{self.rollback.to}`\n\n{lines}\n"
        return f"{head}\n\n{point}{body}"


@dataclass(frozen=True)
class HistoryState:
    """The production history as a command reads it: once, under the production lock."""

    recorded: dict[str, Recorded] = field(default_factory=dict)
    outstanding: RollbackRecord | None = None  # the newest rollback no apply acknowledged yet

    @classmethod
    def read(cls, history: History) -> HistoryState:
        if not history.exists():
            return cls()
        attempts = history.latest_attempts()
        return cls(
            {k: Recorded(a.status, a.checksum, a.error) for k, a in attempts.items()}, history.outstanding_rollback()
        )


NO_HISTORY = HistoryState()  # a production branch that does not exist yet: every step is new


@dataclass(frozen=True)
class _Planned:
    pending: list[PendingStep]
    mutating_at: int | None
    point: str | None


def _plan(plan: Plan, state: HistoryState, report: RunReport, *, after_rollback: bool, run: RunInfo) -> _Planned:
    """Which steps run, or why none may: drift (exit 1), an unacknowledged rollback (exit 2), a missing ``${NAME}``."""
    production = plan.production
    assert production is not None
    planned = plan_run(plan, state.recorded)
    report.already_applied = planned.applied
    if planned.drift:
        names = ", ".join(d.step_id for d in planned.drift)
        raise DifferencesFound(
            f"applied step(s) changed since they ran: {names}; nothing was run",
            hint="an applied step never runs again: put the change in a new step with a new id",
        )
    pending = planned.pending
    outstanding = state.outstanding
    if outstanding and pending and not after_rollback and outstanding.steps_checksum == steps_checksum(production):
        raise UsageError(
            f"production was rolled back to {outstanding.restore_point} ({outstanding.parts}) at "
            f"{outstanding.done_at:%Y-%m-%d %H:%M:%S %Z}; the steps it undid would run again: "
            + ", ".join(p.step.id for p in pending),
            hint="change the plan's steps (fix what failed), or pass --after-rollback to run them again as they are",
        )
    preflight(pending)
    mutating_at = first_mutating(pending)
    point = restore.point_name(run.commit) if production.restore_point and mutating_at is not None else None
    report.restore_point = point
    return _Planned(pending, mutating_at, point)


def preview_steps(
    plan: Plan, state: HistoryState, *, after_rollback: bool = False, run: RunInfo | None = None
) -> RunReport:
    """What a run would do from ``state`` (a dry run): raises what the real run would refuse with."""
    production = plan.production
    report = RunReport(branch=production.branch if production else "main", dry_run=True)
    if production is None or not production.steps:
        return report
    planned = _plan(plan, state, report, after_rollback=after_rollback, run=run or run_info_from_env())
    report.steps = [
        StepOutcome(p.step.id, p.step.kind, "would run", p.reason + (", resumes" if p.resume else ""))
        for p in planned.pending
    ]
    return report


def estimate_copies(plan: Plan, report: RunReport) -> None:
    """A dry run's estimate for each pending `copy` step: source sizes and a timed read sample."""
    production = plan.production
    assert production is not None
    pending = {s.id for s in report.steps}
    for step in production.steps:
        if step.kind != "copy" or step.id not in pending:
            continue
        try:
            report.estimates[step.id] = estimate_copy(
                source_of(step), tables=tuple(step.get("tables") or ()), jobs=int(step.get("jobs", 2))
            )
        except (BBopsError, psycopg.Error, OSError) as exc:  # a dry run still shows everything else
            report.estimates[step.id] = CopyEstimate(error=redact.scrub(str(exc)).strip() or type(exc).__name__)


def env_owned_by_steps(plan: Plan, state: HistoryState, *, after_rollback: bool = False) -> dict[tuple[str, str], str]:
    """(target, key) -> id of the ``env`` step that owns it for now.

    `bbops apply` leaves these to the step: a cutover must not happen during the
    infrastructure reconcile, before the data is copied and verified (and the
    step records the value it replaces, which a rollback puts back). The keys of
    a pending step are owned; after a rollback not yet acknowledged (by
    ``--after-rollback``), those of every env step, so the next apply does not
    silently redo the cutover that was rolled back.
    """
    production = plan.production
    if production is None or plan.neon is None or not any(s.kind == "env" for s in production.steps):
        return {}
    recorded = {} if state.outstanding and not after_rollback else state.recorded
    return {
        (p.step.get("target"), key): p.step.id
        for p in pending_steps(plan, recorded)
        if p.step.kind == "env"
        for key in (p.step.get("env") or {})
    }


class ProductionHold:
    """One command's hold on production: the lock taken once, the history read once (``state``).

    Between the dry run a person confirms and the run itself nothing else can change the
    history: the same lock is held throughout, so both see the same ``state``.
    """

    def __init__(self, backend: Backend, plan: Plan, history: History, session: psycopg.Connection) -> None:
        self.backend, self.plan, self.history, self._session = backend, plan, history, session
        self.state = HistoryState.read(history)

    def held(self) -> bool:
        """Whether the lock's session is still there: a compute restart (Neon restarts one when its
        size changes) ends the session and with it the lock, silently."""
        try:
            self._session.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def preview(self, *, after_rollback: bool = False, run: RunInfo | None = None) -> RunReport:
        return preview_steps(self.plan, self.state, after_rollback=after_rollback, run=run)

    def run(
        self,
        *,
        after_rollback: bool = False,
        run: RunInfo | None = None,
        health: HealthChecker | None = None,
        box: SecretBox | None = None,
        log: Callable[[str], None] = lambda _: None,
        summary: bool = True,
    ) -> RunReport:
        """Run the pending steps (see the module docstring for the order of things)."""
        production = self.plan.production
        assert production is not None
        report = RunReport(branch=production.branch, dry_run=False)
        try:
            _run(
                self.backend,
                self.plan,
                self.history,
                self.state,
                report,
                after_rollback=after_rollback,
                run=run or run_info_from_env(),
                health=health or HealthChecker(),
                box=box,
                log=log,
            )
        finally:
            if summary:
                gha.append_summary(report.markdown())
        return report


@contextmanager
def hold_production(
    backend: Backend, plan: Plan, purpose: str, lock_timeout: float = LOCK_TIMEOUT
) -> Iterator[ProductionHold]:
    """The production lock and one read of the history; the production branch must exist."""
    production = plan.production
    assert production is not None
    if plan.neon is None:
        raise UsageError(f"{plan.file.name} has production steps but no `neon:` section (database and role)")
    history = History(app_connection(backend, plan, production.branch).url)
    with production_lock(backend, plan, production.branch, purpose, lock_timeout) as session:
        yield ProductionHold(backend, plan, history, session)


def production_exists(backend: Backend, plan: Plan) -> bool:
    return plan.production is not None and backend.branches.get_branch(plan.production.branch) is not None


def apply_production(
    backend: Backend,
    plan: Plan,
    *,
    dry_run: bool = False,
    after_rollback: bool = False,
    run: RunInfo | None = None,
    health: HealthChecker | None = None,
    box: SecretBox | None = None,
    log: Callable[[str], None] = lambda _: None,
    lock_timeout: float = LOCK_TIMEOUT,
    summary: bool = True,
) -> RunReport:
    """Run (or, ``dry_run``, preview) the pending production steps under the production lock."""
    production = plan.production
    if production is None or not production.steps:
        return RunReport(branch=production.branch if production else "main", dry_run=dry_run)
    if plan.neon is None:
        raise UsageError(f"{plan.file.name} has production steps but no `neon:` section (database and role)")
    if not production_exists(backend, plan):
        if not dry_run:
            raise UsageError(
                f"the production branch {production.branch} does not exist",
                hint="run `bbops apply` (with the infrastructure) to create the plan's branches",
            )
        return preview_steps(plan, NO_HISTORY, after_rollback=after_rollback, run=run)
    with hold_production(backend, plan, "production apply", lock_timeout) as hold:
        if dry_run:
            report = hold.preview(after_rollback=after_rollback, run=run)
            if summary:
                gha.append_summary(report.markdown())
            return report
        return hold.run(after_rollback=after_rollback, run=run, health=health, box=box, log=log, summary=summary)


def _run(
    backend: Backend,
    plan: Plan,
    history: History,
    state: HistoryState,
    report: RunReport,
    *,
    after_rollback: bool,
    run: RunInfo,
    health: HealthChecker,
    box: SecretBox | None,
    log: Callable[[str], None],
) -> None:
    production = plan.production
    assert production is not None
    planned = _plan(plan, state, report, after_rollback=after_rollback, run=run)
    pending, mutating_at, point = planned.pending, planned.mutating_at, planned.point
    if not pending:
        if state.outstanding and after_rollback:
            history.clear_rollbacks()  # acknowledged: `apply` manages those env vars again
        return
    needs_box = any(p.step.kind == "env" for p in pending)
    sealed = box or (open_box(backend.name) if needs_box else None)  # fails before any change if no key
    history.ensure()
    if state.outstanding:
        history.clear_rollbacks()
    ctx = StepContext(backend, plan, history, lambda: _require(sealed), health, None, log)
    for index, p in enumerate(pending):
        if index == mutating_at and point:
            history.add_restore_point(point, production.branch, run)
            _, report.restore_point_taken = restore.take(backend, production.branch, point, commit=run.commit)
            log(f"restore point {point} {'taken' if report.restore_point_taken else 'already there (re-run)'}")
            ctx.restore_point = point
        log(f"step {p.step.id} ({p.step.kind}): {p.reason}{', resuming' if p.resume else ''}")
        started = time.monotonic()
        attempt = history.start(p.step.id, p.step.kind, p.checksum, run)
        outcome = StepOutcome(p.step.id, p.step.kind, "failed")
        report.steps.append(outcome)
        try:
            outcome.detail = run_step(ctx, p)
        except (BBopsError, psycopg.Error, OSError) as exc:
            message = redact.scrub(str(exc)).strip() or type(exc).__name__
            outcome.detail, outcome.seconds = message, round(time.monotonic() - started, 3)
            history.finish(attempt, error=message)
            failure = f"step {p.step.id} ({p.step.kind}) failed: {message}"
            policy = production.failure_policy(p.step)
            if policy == "stop" or ctx.restore_point is None:  # nothing changed yet: nothing to undo
                hint = "fix the cause and run apply again: it starts from this step"
                raise StepFailed(report, failure, hint=hint) from None
            _roll_back_run(
                ctx, report, pending[: index + 1], failure, with_data=policy == "rollback-with-data", run=run
            )
        except KeyboardInterrupt:
            history.finish(attempt, error="interrupted")
            raise
        except Exception as exc:
            # A bug still ends the attempt: a step left "running" would block every later run's view of it.
            history.finish(attempt, error=f"internal error ({type(exc).__name__}): {redact.scrub(str(exc)).strip()}")
            raise
        history.finish(attempt)
        outcome.status, outcome.seconds = "applied", round(time.monotonic() - started, 3)
        log(f"step {p.step.id}: {outcome.detail}")


class StepFailed(MigrationError):
    """A step failed (exit 5); carries the run's report (and the automatic rollback's, if one ran)."""

    def __init__(self, report: RunReport, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.report = report


# What undoes each kind of step; data steps only when the plan asks (rollback-with-data). Nothing undoes
# a `rotate`: the old password is the leaked one, and what the rotation changed (env vars, deployment)
# holds the only password that works; an earlier step's part in the same run still runs.
_UNDONE_BY = {"freeze": "freeze", "env": "env", "redeploy": "deployment"}
_DATA_KINDS = frozenset({"migrations", "sql", "copy"})


def _roll_back_run(
    ctx: StepContext, report: RunReport, ran: list[PendingStep], failure: str, *, with_data: bool, run: RunInfo
) -> None:
    """Undo the parts this run changed (the failed step included: it may have changed some), then raise."""
    from bbops.production.rollback import PARTS, RollbackFailed, rollback_locked  # rollback imports this module

    changed = {_UNDONE_BY[p.step.kind] for p in ran if p.step.kind in _UNDONE_BY}
    if with_data and any(p.step.kind in _DATA_KINDS for p in ran):
        changed.add("data")
    parts = tuple(n for n in PARTS if n in changed)
    assert ctx.restore_point is not None
    if not parts:
        raise StepFailed(report, f"{failure}; nothing this run changed needs a rollback")
    ctx.log(f"rolling back {', '.join(parts)} to {ctx.restore_point}")
    try:
        rolled = rollback_locked(
            ctx.backend,
            ctx.plan,
            ctx.history,
            ctx.restore_point,
            parts=parts,
            run=run,
            health=ctx.health,
            box=ctx.box() if "env" in parts else None,
            log=ctx.log,
        )
    except RollbackFailed as exc:
        report.rollback = exc.report
        raise StepFailed(
            report,
            f"{failure}; the automatic rollback failed too: {exc.message}",
            hint="production is partly rolled back (see the report): finish with `bbops rollback`",
        ) from None
    except BBopsError as exc:  # refused before any part (e.g. a missing ${NAME})
        raise StepFailed(
            report,
            f"{failure}; the automatic rollback did not start: {exc.message}",
            hint="roll back by hand with `bbops rollback --to " + ctx.restore_point + "`",
        ) from None
    report.rollback = rolled
    raise StepFailed(
        report,
        f"{failure}; rolled back automatically to {ctx.restore_point}: {', '.join(parts)}",
        hint="fix the cause, change the plan's steps (or pass --after-rollback) and apply again",
    )


def _require(box: SecretBox | None) -> SecretBox:
    if box is None:  # unreachable: the box is opened whenever an env step is pending
        raise UsageError("no key to seal previous env values")
    return box
