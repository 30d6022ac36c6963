"""``bbops rollback``: put production's data, env vars and deployment back to a restore point.

The history lives on the production database, so restoring the data also
rolls the history back. Hence the order: everything the later parts need (the
recorded env values and deployment ids made since the restore point) is read
*before* the data restore. The rollback record is written before the first
part ("unfinished"), again right after the data restore (which rolled the
history back), and completed with the parts done at the end; a rollback that
changed nothing removes it. That record is what makes the next ``apply`` refuse
to re-run the undone steps until the plan's steps change or
``--after-rollback`` is given, also after a rollback that died half-way.
The production lock is held off the production branch (``production_lock_url``):
on Neon a restore restarts the branch's compute and would drop it.

Parts run in order stream -> data -> freeze -> env -> deployment -> health
check: an online cutover's reverse stream is drained into the old database (and
the rollback refused when it would lose writes, unless accepted) before a data
restore of the new branch drops the stream's slot; the old database a cutover
froze takes writes again before the app is pointed back at it. The first part
that fails stops the rollback: the parts after it are not attempted, and the
report says for each part whether it was done, failed (and how), or not
attempted, so the operator knows exactly what state production is in.

A credential rotation since the point is never undone, and no part brings its old
password back (``production.rotation``): a recorded env value that is the rotated
branch's connection string is put back with the password the role has now, and a
deployment built before the rotation with that password is not brought back:
production is redeployed instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from bbops.core import pg, redact
from bbops.core.report import TextOut
from bbops.errors import BBopsError, MigrationError, UsageError
from bbops.plan.model import Plan, resolve_ref
from bbops.production import restore, rotation
from bbops.production.health import HealthChecker
from bbops.production.history import History, RunInfo, UndoRecord
from bbops.production.lock import production_lock
from bbops.production.pending import steps_checksum
from bbops.production.run import run_info_from_env
from bbops.production.secretbox import SecretBox, open_box
from bbops.providers.base import Backend, EnvVar, env_type
from bbops.providers.select import app_connection

# "stream" first: an online cutover goes back by draining its reverse stream into the old database,
# which must happen before a data restore of the new branch drops the stream's slot.
PARTS = ("stream", "data", "freeze", "env", "deployment")
# The parts a rollback record shows while it runs (and keeps if the run dies half-way).
UNFINISHED = "unfinished"


@dataclass
class PartReport:
    name: str
    status: str = "not attempted"  # done | would do | nothing to do | failed | not attempted
    actions: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class RollbackReport:
    to: str
    branch: str
    dry_run: bool
    parts: list[PartReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.status == "failed" for p in self.parts)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def write_text(self, out: TextOut) -> None:
        out.line(f"{'Rollback (dry run)' if self.dry_run else 'Rollback'} of {self.branch} to {self.to}:")
        for line in self.lines():
            out.line(f"  {line}")

    def markdown(self) -> str:
        lines = "\n".join(f"    {line}" for line in self.lines())
        return f"### Rollback of `{self.branch}` to `{self.to}`{' (dry run)' if self.dry_run else ''}\n\n{lines}\n"

    def lines(self) -> list[str]:
        out = []
        for p in self.parts:
            head = f"{p.name}: {p.status}" + (f": {p.error}" if p.error else "")
            out.append(head)
            out += [f"  - {a}" for a in p.actions]
        return out


@dataclass(frozen=True)
class _Target:
    label: str
    point: str | datetime
    since: datetime


def _resolve(backend: Backend, history: History, to: str) -> _Target:
    when = restore.parse_timestamp(to)
    if when is not None:
        return _Target(when.isoformat(), when, when)
    recorded = history.restore_points()
    if to == "latest":
        provider = restore.points(backend)
        usable = [r for r in recorded if provider.get_snapshot(r.name) is not None]
        if not usable:
            raise UsageError("no restore point recorded in the production history")
        return _Target(usable[-1].name, usable[-1].name, usable[-1].created_at)
    found = next((r for r in recorded if r.name == to), None)
    if found is None:
        names = ", ".join(r.name for r in recorded[-5:]) or "none"
        raise UsageError(f"no restore point {to!r} in the production history (latest: {names})")
    return _Target(found.name, found.name, found.created_at)


def _env_plan(records: list[UndoRecord]) -> list[UndoRecord]:
    """The first record of each variable since the point: its value before the first change."""
    first: dict[tuple[str, str, str | None], UndoRecord] = {}
    for r in records:
        if r.kind == "env" and r.key:
            first.setdefault((r.target, r.key, r.git_branch), r)
    return list(first.values())


def rollback(
    backend: Backend,
    plan: Plan,
    to: str,
    *,
    parts: tuple[str, ...] = PARTS,
    dry_run: bool = False,
    run: RunInfo | None = None,
    health: HealthChecker | None = None,
    box: SecretBox | None = None,
    log: Callable[[str], None] = lambda _: None,
    accept_data_loss: bool = False,
) -> RollbackReport:
    production = plan.production
    if production is None or plan.neon is None:
        raise UsageError(f"{plan.file.name} has no `production:` and `neon:` sections to roll back")
    if production.health_check:  # a missing ${NAME} must stop the rollback before its first part, not after
        resolve_ref(production.health_check, what="production.health_check")
    url = app_connection(backend, plan, production.branch).url
    history = History(url)
    if not history.exists():
        raise UsageError(f"branch {production.branch} has no production history: nothing was applied there")
    with production_lock(backend, plan, production.branch, "rollback"):
        return rollback_locked(
            backend,
            plan,
            history,
            to,
            parts=parts,
            dry_run=dry_run,
            run=run,
            health=health,
            box=box,
            log=log,
            accept_data_loss=accept_data_loss,
        )


def rollback_locked(
    backend: Backend,
    plan: Plan,
    history: History,
    to: str,
    *,
    parts: tuple[str, ...] = PARTS,
    dry_run: bool = False,
    run: RunInfo | None = None,
    health: HealthChecker | None = None,
    box: SecretBox | None = None,
    log: Callable[[str], None] = lambda _: None,
    accept_data_loss: bool = False,
) -> RollbackReport:
    """The rollback itself, for a caller that holds the production lock (``rollback``, or an apply
    rolling back its own run)."""
    production = plan.production
    assert production is not None
    run = run or run_info_from_env()
    report = RollbackReport(to=to, branch=production.branch, dry_run=dry_run)
    target = _resolve(backend, history, to)
    if isinstance(target.point, datetime) and "data" in parts and backend.timestamp_restore is None:
        raise UsageError(
            f"the {backend.name} backend cannot restore to a timestamp; use a restore point name or `latest`"
        )
    report.to = target.label
    # Read everything now: the data restore below rolls these tables back.
    undo = history.undo_records(target.since)
    env_plan = _env_plan(undo) if "env" in parts else []
    assert plan.neon is not None
    # A rotation since the point: no part may bring its old password back (``production.rotation``).
    rotated = rotation.rotations(backend, plan.neon.database, undo) if {"env", "deployment"} & set(parts) else []
    frozen = _freeze_plan(undo) if "freeze" in parts else []
    streams = switched_streams(plan, app_connection(backend, plan, production.branch).url) if "stream" in parts else []
    deployment = next((r for r in undo if r.kind == "deployment"), None) if "deployment" in parts else None
    reads = rotated and deployment is not None and any(r.kind == "env" and r.state == "present" for r in undo)
    if reads or any(r.state == "present" for r in env_plan):
        box = box or open_box(backend.name, create=False)
    stale = rotation.stale_keys(rotated, undo, deployment, lambda r: _opened(box, r))
    steps: list[tuple[str, Callable[[PartReport], None]]] = [
        ("stream", lambda p: _streams_back(streams, p, dry_run, accept_data_loss)),
        ("data", lambda p: _data(backend, production.branch, target, p, dry_run)),
        ("freeze", lambda p: _unfreeze(frozen, p, dry_run)),
        ("env", lambda p: _env(backend, env_plan, box, rotated, p, dry_run)),
        ("deployment", lambda p: _deployment(backend, deployment, stale, p, dry_run)),
    ]
    # The freeze part shows only where a freeze was recorded: most plans never freeze anything.
    # Likewise the stream part, only where an online cutover switched a stream.
    chosen = [(n, f) for n, f in steps if n in parts and (n != "freeze" or frozen) and (n != "stream" or streams)]
    health_url = production.health_check
    if health_url:
        checker = health or HealthChecker()
        chosen.append(("health", lambda p: _health(checker, health_url, p, dry_run)))
    report.parts = [PartReport(n) for n, _ in chosen]
    checksum = steps_checksum(production)
    record: int | None = None
    if not dry_run:
        # Recorded before the first part: a rollback that dies half-way still stops the next
        # apply from silently redoing what it undid (until the steps change or --after-rollback).
        history.ensure()
        record = history.add_rollback(target.label, [UNFINISHED], checksum, run)
    try:
        for (name, action), part in zip(chosen, report.parts, strict=True):
            log(f"rollback {name}")
            try:
                action(part)
            except (BBopsError, OSError) as exc:
                part.status, part.error = "failed", redact.scrub(str(exc)).strip()
                break
            if name == "data" and part.status == "done":
                # The restore rolled the history back too: record the rollback again at once,
                # and the undo records a later rollback may need again.
                history.ensure()
                record = history.add_rollback(target.label, ["data", UNFINISHED], checksum, run)
                for r in undo:
                    history.add_undo(r, None)
    finally:
        done = [p.name for p in report.parts if p.status == "done"]
        if record is not None:
            if done:
                history.set_rollback_parts(record, done)
            else:
                history.drop_rollback(record)  # nothing changed: nothing for apply to respect
    if not report.ok:
        failed = next(p for p in report.parts if p.status == "failed")
        raise RollbackFailed(report, f"rollback part {failed.name} failed: {failed.error}")
    return report


@dataclass(frozen=True)
class _Stream:
    name: str
    old_url: str
    new_url: str
    reverse: bool


def switched_streams(plan: Plan, new_url: str) -> list[_Stream]:
    """The plan's `switch` steps whose stream is switched on the production branch, with the old URLs.

    Read from the stream's own record on the production database (``bbops.online_streams``); the URLs
    are resolved now, so a missing ${NAME} stops the rollback before its first part.
    """
    from bbops.online import state as online_state
    from bbops.online.names import stream_name

    assert plan.production is not None
    switches = [s for s in plan.production.steps if s.kind == "switch"]
    if not switches:
        return []
    out = []
    with pg.connection(new_url, autocommit=True) as conn:
        for step in switches:
            current = online_state.load(conn, stream_name(str(step.get("stream"))))
            if current is None or current.phase != "switched":
                continue
            old = resolve_ref(step.get("source"), what=f"step {step.id} source") or ""
            redact.register_url(old)
            out.append(_Stream(current.stream, old, new_url, current.reverse))
    return out


def _streams_back(streams: list[_Stream], part: PartReport, dry_run: bool, accept_data_loss: bool) -> None:
    from bbops.online.reverse import roll_back

    for s in streams:
        if dry_run:
            how = (
                "drain its reverse stream into"
                if s.reverse
                else "WITHOUT a reverse stream (writes since are lost), make"
            )
            part.actions.append(f"stream {s.name}: {how} the old database and make it the writer again")
            continue
        report = roll_back(s.old_url, s.new_url, name=s.name, accept_data_loss=accept_data_loss)
        state = "caught up: nothing written since the switch is lost" if report.caught_up else "NOT caught up"
        part.actions.append(f"stream {s.name}: the old database is the writer again (reverse stream {state})")
        part.actions += report.notes
    part.status = "would do" if dry_run else "done"


def _freeze_plan(records: list[UndoRecord]) -> list[tuple[UndoRecord, str]]:
    """The first freeze of each database since the point (its setting before any freeze), with its URL.

    The URLs are resolved now, so a missing ${NAME} stops the rollback before its first part.
    """
    first: dict[tuple[str, str | None], UndoRecord] = {}
    for r in records:
        if r.kind == "freeze":
            first.setdefault((r.target, r.key), r)
    out = []
    for r in first.values():
        url = resolve_ref(r.key, what=f"the write freeze of {r.target} (step {r.step_id})") or ""
        redact.register_url(url)
        out.append((r, url))
    return out


def _unfreeze(frozen: list[tuple[UndoRecord, str]], part: PartReport, dry_run: bool) -> None:
    from bbops.core import freeze

    if not frozen:
        part.status = "nothing to do"
        part.actions.append("no database was frozen since the restore point")
        return
    for r, url in frozen:
        if dry_run:
            part.actions.append(f"{r.target}: take writes again (lift the freeze of step {r.step_id})")
            continue
        database, ended = freeze.unfreeze(url, r.detail)
        part.actions.append(f"{database}: takes writes again ({ended} read-only session(s) ended)")
    part.status = "would do" if dry_run else "done"


class RollbackFailed(MigrationError):
    """A part failed; carries the report of what was done and what was not."""

    def __init__(self, report: RollbackReport, message: str) -> None:
        done = [p.name for p in report.parts if p.status == "done"]
        skipped = [p.name for p in report.parts if p.status == "not attempted"]
        state = f"done: {', '.join(done) or 'nothing'}; not attempted: {', '.join(skipped) or 'nothing'}"
        super().__init__(
            f"{message} ({state})",
            hint="fix the cause, then roll back the remaining parts with --data/--env/--deployment",
        )
        self.report = report


def _data(backend: Backend, branch: str, target: _Target, part: PartReport, dry_run: bool) -> None:
    keep = restore.preserve_name(branch)
    part.actions.append(f"restore branch {branch} to {target.label}; keep the replaced state as {keep}")
    if dry_run:
        part.status = "would do"
        return
    restore.restore_data(backend, branch, target.point, keep)
    part.status = "done"


def _opened(box: SecretBox | None, record: UndoRecord) -> str:
    assert box is not None and record.sealed_value is not None
    return box.decrypt(record.sealed_value)


def _env(
    backend: Backend,
    records: list[UndoRecord],
    box: SecretBox | None,
    rotated: list[rotation.Rotated],
    part: PartReport,
    dry_run: bool,
) -> None:
    if not records:
        part.status = "nothing to do"
        part.actions.append("no env var was changed since the restore point")
        return
    unreadable = [r.key for r in records if r.state == "unreadable"]
    if unreadable:  # refuse before changing any of them
        raise MigrationError(
            f"the previous values of {', '.join(map(str, unreadable))} were sensitive and never "
            "readable; set them by hand (no env var was changed)"
        )
    put, drop = [], []
    for r in records:
        if r.state == "present":
            targets = tuple((r.env_targets or r.target).split(","))
            value = _opened(box, r)
            rekeyed = rotation.rekeyed(value, rotated)
            put.append(EnvVar(str(r.key), rekeyed or value, env_type(r.env_type or "encrypted"), targets, r.git_branch))
            part.actions.append(
                f"{r.target}: put back the previous value of {r.key}"
                + (
                    " with the password its role has now (a rotation since made the recorded one useless)"
                    if rekeyed
                    else ""
                )
            )
        else:
            drop.append(r)
            part.actions.append(f"{r.target}: delete {r.key} (it did not exist before)")
    if dry_run:
        part.status = "would do"
        return
    if put:
        backend.env.upsert_env(put)
    for r in drop:
        current = [v for v in backend.env.list_env(target=r.target) if v.key == r.key and v.git_branch == r.git_branch]
        if current:
            backend.env.delete_env(current)
    part.status = "done"


def _deployment(backend: Backend, record: UndoRecord | None, stale: list[str], part: PartReport, dry_run: bool) -> None:
    if record is None or not record.deployment_id:
        part.status = "nothing to do"
        part.actions.append("no production redeploy was recorded since the restore point")
        return
    if backend.deployments is None:
        raise MigrationError(f"the {backend.name} backend has no deployments")
    if stale:
        # Built with a password a rotation since made useless: it could not connect. A new build reads the
        # env vars as they are now (as the env part left them) instead.
        part.actions.append(
            f"redeploy production rather than bring back {record.deployment_id}: it was built with "
            f"{', '.join(stale)} holding a password rotated since"
        )
        if dry_run:
            part.status = "would do"
            return
        new = backend.deployments.redeploy(target="production")
        if new is None:
            raise MigrationError("there is no production deployment to redeploy")
        part.actions.append(f"production redeployed as {new}")
        part.status = "done"
        return
    part.actions.append(f"make {record.deployment_id} serve production again")
    if dry_run:
        part.status = "would do"
        return
    backend.deployments.rollback(record.deployment_id)
    part.status = "done"


def _health(checker: HealthChecker, url: str, part: PartReport, dry_run: bool) -> None:
    part.actions.append("check the production health URL")
    if dry_run:
        part.status = "would do"
        return
    result = checker.check(url, what="health check after rollback")
    part.actions.append(f"{result.url} answered {result.status}")
    part.status = "done"
