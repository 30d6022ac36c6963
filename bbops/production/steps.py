"""One small executor per production step kind; each calls an existing engine.

``migrations`` -> the Drizzle runner, ``copy`` -> the copy engine, ``verify``
-> the verifier, ``env``/``redeploy`` -> the backend's providers, ``check`` ->
the health checker, ``freeze`` -> the write freeze, ``rotate`` -> the role
password reset (``rotation``), then the env and redeploy helpers. Before an ``env`` step changes a
variable, its previous value (sealed with the ``SecretBox``; "absent" when there was none) goes to
the history; before a production ``redeploy`` (a rotation's too), the deployment serving
production; before a ``freeze``, the frozen database's setting; before a ``rotate``, which branch,
role and variables it rotates (nothing undoes it: a rollback only avoids the old password). Executors
raise on failure and return one line saying what they did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg

from bbops.core import pg, pooler, redact
from bbops.drizzle.runner import migrate_up
from bbops.drizzle.statements import Statement, split_statements
from bbops.errors import MigrationError, UsageError
from bbops.infra.envvalues import branch_env, replica_notes
from bbops.plan.model import EnvSource, Plan, Production, Step, env_sources, resolve_ref
from bbops.production.health import HealthChecker
from bbops.production.history import History, UndoRecord
from bbops.production.lock import production_lock_branch
from bbops.production.pending import PendingStep
from bbops.production.secretbox import SecretBox
from bbops.providers.base import Backend, Connection, EnvVar
from bbops.providers.select import app_connection


@dataclass
class StepContext:
    backend: Backend
    plan: Plan
    history: History
    box: Callable[[], SecretBox]
    health: HealthChecker = field(default_factory=HealthChecker)
    restore_point: str | None = None
    log: Callable[[str], None] = lambda _: None

    def branch_of(self, step: Step) -> str:
        assert self.plan.production is not None
        return step.get("branch") or self.plan.production.branch

    def url(self, branch: str, *, pooled: bool = False) -> str:
        assert self.plan.neon is not None
        return app_connection(self.backend, self.plan, branch, pooled=pooled).url


def _migrations(ctx: StepContext, p: PendingStep) -> str:
    report = migrate_up(ctx.url(ctx.branch_of(p.step)), p.step.path("dir"), on_event=ctx.log)
    return f"{len(report.applied)} migration(s) applied" if report.applied else "no migration pending"


def _sql(ctx: StepContext, p: PendingStep) -> str:
    path = p.step.path("file")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MigrationError(f"cannot read {path.name}: {exc.strerror}") from None
    in_transaction = p.step.get("transaction", True)
    url = ctx.url(ctx.branch_of(p.step))
    with pg.connection(url, autocommit=not in_transaction, application_name="bbops sql step") as conn:
        if in_transaction:
            conn.execute(text)  # no parameters: sent as one simple query, all or nothing
            conn.commit()
            return f"{path.name} applied in one transaction"
        statements = split_statements(Statement(1, text, 1), 1)
        for stmt in statements:
            ctx.log(f"{path.name}:{stmt.line}: statement {stmt.number}")
            try:
                conn.execute(stmt.sql)
            except psycopg.Error as exc:
                raise MigrationError(f"{path.name} line {stmt.line}: {redact.scrub(str(exc)).strip()}") from None
    return f"{path.name}: {len(statements)} statement(s) outside a transaction"


def source_of(step: Step) -> str:
    url = resolve_ref(step.get("source"), what=f"step {step.id} source") or ""
    redact.register_url(url)
    return url


def stream_of(step: Step) -> str:
    """The online stream a `copy` with `follow` starts and a `switch` hands over (default: the copy's id)."""
    return str(step.get("stream") or step.id.replace("-", "_"))


def _copy(ctx: StepContext, p: PendingStep) -> str:
    from bbops.copy.engine import copy_database

    step = p.step
    if step.get("follow"):
        return _follow(ctx, p)
    report = copy_database(
        source_of(step),
        ctx.url(ctx.branch_of(step)),
        tables=tuple(step.get("tables") or ()),
        jobs=int(step.get("jobs", 2)),
        data_only=bool(step.get("data_only", True)),
        rebuild_indexes=bool(step.get("rebuild_indexes", False)),
        resume=p.resume,
    )
    return f"copied {report.rows} row(s){' (resumed)' if p.resume else ''}"


def _follow(ctx: StepContext, p: PendingStep) -> str:
    """Copy from a slot's snapshot, then stream; a re-run after a crash carries on (``online.follow``)."""
    from bbops.online.follow import start

    step = p.step
    report = start(
        source_of(step),
        ctx.url(ctx.branch_of(step)),
        name=stream_of(step),
        tables=tuple(step.get("tables") or ()),
        jobs=int(step.get("jobs", 2)),
        data_only=bool(step.get("data_only", True)),
        rebuild_indexes=bool(step.get("rebuild_indexes", False)),
    )
    for note in report.notes:
        ctx.log(f"copy note: {note}")
    rows = report.copy.rows if report.copy else 0
    lag = f"{report.lag.bytes} bytes behind" if report.lag and report.lag.bytes is not None else "lag unknown"
    return f"copied {rows} row(s) from the slot's snapshot; stream {report.stream} {report.phase} ({lag})"


def _switch(ctx: StepContext, p: PendingStep) -> str:
    """Freeze the source, catch up, sequences, checksums, hand over (``online.switch``)."""
    from bbops.online.switch import switch

    step = p.step
    report = switch(
        source_of(step),
        ctx.url(ctx.branch_of(step)),
        name=str(step.get("stream")),
        with_reverse=bool(step.get("reverse", False)),
        validation_days=int(step.get("validation_days", 7)),
        timeout=float(step.get("timeout_seconds", 60)),
    )
    if report.already:
        return f"stream {report.stream} was already switched"
    back = "; writes stream back to the source until " + f"{report.validation_until:%Y-%m-%d}" if report.reverse else ""
    return (
        f"switched {report.stream}: freeze to writable branch {report.freeze_seconds:.2f} s (caught up in "
        f"{report.catch_up_seconds:.2f} s, {report.sequences} sequences, "
        f"{report.verified_tables} tables verified){back}"
    )


def _verify(ctx: StepContext, p: PendingStep) -> str:
    from bbops.copy.verify import verify_databases

    step = p.step
    report = verify_databases(
        source_of(step),
        ctx.url(ctx.branch_of(step)),
        checksums=bool(step.get("checksums", True)),
        tables=tuple(step.get("tables") or ()),
        data_only=bool(step.get("data_only", False)),
    )
    if not report.ok:
        found = [f"{d.category}: {d.table}: {d.kind}: {d.detail}" for d in report.differences]
        more = f" (and {len(found) - 5} more)" if len(found) > 5 else ""
        raise MigrationError(f"verification found {len(found)} difference(s): {'; '.join(found[:5])}{more}")
    for note in report.notes:
        ctx.log(f"verify note: {note}")
    rows = sum(t.target_rows or 0 for t in report.tables)
    info = f"; {len(report.notes)} note(s)" if report.notes else ""
    return f"{len(report.tables)} table(s), {rows} row(s): data and schema match{info}"


def _env(ctx: StepContext, p: PendingStep) -> str:
    step, target = p.step, p.step.get("target")
    branch = ctx.branch_of(step)
    sources = env_sources(step.get("env") or {})
    wanted = branch_env(
        ctx.backend, ctx.plan, branch, sources, target=target, git_branch=None, what=f"step {step.id} env"
    )
    notes = replica_notes(ctx.backend, branch, sources)  # said in the step's detail
    _record_previous(ctx, step, target, wanted)
    ctx.backend.env.upsert_env(wanted)
    others = sorted({s.branch for s in sources if s.connection and s.branch and s.branch != branch})
    also = f" (and {', '.join(others)})" if others else ""
    said = f"{target}: set {', '.join(v.key for v in wanted)} from branch {branch}{also}" + "".join(
        f"; {n}" for n in notes
    )
    if step.get("undo"):  # a cutover from another database, which keeps its credentials
        said += "; the old database's role and password are unchanged: rotate them in the old project yourself"
    return said


def _record_previous(ctx: StepContext, step: Step, target: str, wanted: list[EnvVar]) -> None:
    """Each variable's value before ``wanted`` replaces it, sealed, in the history (what rollback puts back)."""
    current = {v.key: v for v in ctx.backend.env.list_env(target=target) if v.git_branch is None}
    declared = step.get("undo") or {}
    box = ctx.box()
    for var in wanted:  # every previous value is recorded before anything changes
        prev = current.get(var.key)
        state, sealed = "absent", None
        if var.key in declared:  # the plan says what rollback puts back (e.g. the old database's URL)
            undo = declared[var.key]
            value = resolve_ref(undo["value"], what=f"step {step.id} undo {var.key}") or ""
            redact.register_env_value(value, undo.get("type", "encrypted"))
            state, sealed = "present", box.encrypt(value)
            prev = EnvVar(var.key, value, undo.get("type", "encrypted"), (target,), None)
        elif prev is not None:
            # Read by id, never from the listing (Vercel lists ciphertext); None: sensitive, unreadable.
            previous = ctx.backend.env.read_value(prev)
            if previous is None:
                state = "unreadable"  # rollback will refuse and say so
                ctx.log(f"warning: the previous value of {var.key} is {prev.type} and cannot be read back")
            else:
                state, sealed = "present", box.encrypt(previous)
        ctx.history.add_undo(
            UndoRecord(
                step.id,
                "env",
                target,
                var.key,
                None,
                prev.type if prev else None,
                ",".join(prev.targets) if prev else None,
                state,
                sealed,
                None,
                datetime.now(UTC),
            ),
            ctx.restore_point,
        )


def _freeze(ctx: StepContext, p: PendingStep) -> str:
    from bbops.core import freeze

    step = p.step
    ref = step.get("database")
    url = resolve_ref(ref, what=f"step {step.id} database") or ""
    redact.register_url(url)
    warning = pooler.warning(url, f"step {step.id}")
    if warning:
        ctx.log(f"warning: {warning}")
    database, previous = freeze.current(url)
    # The undo first: a run cut short right after the freeze must still leave a way back.
    ctx.history.add_undo(
        UndoRecord(
            step.id, "freeze", database, ref, None, None, None, "freeze", None, None, datetime.now(UTC), previous
        ),
        ctx.restore_point,
    )
    result = freeze.freeze(url)
    left = (
        f"; {result.left_open} session(s) could not be ended and stay writable until they reconnect"
        if result.left_open
        else ""
    )
    return f"{database} takes no writes (new sessions read-only; {result.ended} open session(s) ended{left})"


def _redeploy(ctx: StepContext, p: PendingStep) -> str:
    return _deploy(ctx, p.step.id, p.step.get("target"))


def _deploy(ctx: StepContext, step_id: str, target: str) -> str:
    """Redeploy ``target``; the production deployment it replaces goes to the history first."""
    deployments = ctx.backend.deployments
    if deployments is None:
        raise MigrationError(f"the {ctx.backend.name} backend has no deployments to redeploy")
    if target == "production":
        before = deployments.current_production()
        ctx.history.add_undo(
            UndoRecord(
                step_id, "deployment", target, None, None, None, None, "deployment", None, before, datetime.now(UTC)
            ),
            ctx.restore_point,
        )
    new = deployments.redeploy(target=target)
    if new is None:
        raise MigrationError(f"there is no {target} deployment to redeploy")
    return f"{target} redeployed as {new}"


def _rotate(ctx: StepContext, p: PendingStep) -> str:
    """Reset the role's password, give its new connection strings to the variables that held the old ones,
    redeploy (``production.rotation``)."""
    from bbops.production import rotation

    assert ctx.plan.neon is not None
    step, target = p.step, p.step.get("target")
    branch, database = ctx.branch_of(step), ctx.plan.neon.database
    role = step.get("role") or ctx.plan.neon.role

    def connections() -> dict[rotation.Kind, Connection]:
        return rotation.role_connections(ctx.backend, branch, database=database, role=role)

    old = connections()
    used = old[rotation.DIRECT].role
    if used != role:  # the local backend reaches every branch as its server's own role
        return (
            f"skipped: the {ctx.backend.name} backend reaches branch {branch} as its own role {used}, "
            f"not as {role}: there is no password of {role} to reset; env vars and deployment unchanged"
        )
    assert ctx.plan.production is not None
    if production_lock_branch(ctx.backend, ctx.plan, ctx.plan.production.branch) == branch:
        # Neon ends the branch's sessions when the password changes: the lock's session too,
        # silently, and another apply or rollback could then start in the middle of this one.
        raise UsageError(
            f"step {step.id}: the production lock is held on branch {branch}, whose sessions a password "
            f"reset ends; nothing was changed",
            hint="add another long-lived branch to the plan's neon.branches (the lock moves there), "
            "or reset this role's password by hand",
        )
    held = rotation.holders(ctx.backend, target, _connection_keys(ctx.plan, target, branch), old)
    keys = [var.key for var, _ in held]
    # The record first: a run cut short after the reset must still keep a rollback from putting
    # the old password back.
    ctx.history.add_undo(
        UndoRecord(
            step.id,
            "rotate",
            branch,
            role,
            None,
            None,
            target,
            "rotate",
            None,
            None,
            datetime.now(UTC),
            ",".join(keys),
        ),
        ctx.restore_point,
    )
    new: dict[rotation.Kind, Connection] = {}
    # The new connection strings are read while the reset's operations run (they hold the new password).
    if not ctx.backend.branches.reset_role_password(branch, role=role, meanwhile=lambda: new.update(connections())):
        # Only a local server whose own role has the plan's role name gets here: nothing changed, and the
        # record above at most makes a rollback redeploy where it would have brought a deployment back.
        return f"skipped: the {ctx.backend.name} backend has no password of {role} on branch {branch} to reset"
    if branch == ctx.plan.production.branch and role == ctx.plan.neon.role:
        ctx.history.url = new[rotation.DIRECT].url  # the history lives there, reached as this role
    refused = rotation.prove(old[rotation.DIRECT].url, new[rotation.DIRECT].url)
    said = [f"reset the password of {role} on branch {branch}; the old one is refused ({refused})"]
    if held:
        ctx.backend.env.upsert_env([EnvVar(var.key, new[kind].url, var.type, var.targets, None) for var, kind in held])
        said.append(f"{target}: {', '.join(keys)} carry the new one")
    else:
        said.append(f"{target}: no env var held the old connection strings")
    if held and step.get("redeploy", True):
        said.append(_deploy(ctx, step.id, target))
    return "; ".join(said)


def _connection_keys(plan: Plan, target: str, branch: str) -> list[str]:
    """The variables bbops gives ``target`` from ``branch``'s connection strings (its computes' and its read
    replica's): of the target's own env, and of the plan's ``env`` steps for the target."""
    sources: list[tuple[str | None, EnvSource]] = []  # (the branch a source without `branch:` takes, source)
    spec = plan.vercel.target(target) if plan.vercel else None
    if spec is not None:
        sources += [(spec.branch, s) for s in spec.env]
    production = plan.production or Production()
    for step in production.steps:
        if step.kind == "env" and step.get("target") == target:
            own = step.get("branch") or production.branch
            sources += [(own, s) for s in env_sources(step.get("env") or {})]
    return list(dict.fromkeys(s.key for own, s in sources if s.connection and (s.branch or own) == branch))


def _check(ctx: StepContext, p: PendingStep) -> str:
    step = p.step
    said = []
    if step.get("queries"):
        said.append(_probes(ctx, step))
    if step.get("url"):
        result = ctx.health.check(
            step.get("url"),
            timeout_seconds=float(step.get("timeout_seconds", 120)),
            expect_status=step.get("expect_status"),
            what=f"step {step.id}",
        )
        said.append(f"{result.url} answered {result.status} after {result.attempts} attempt(s)")
    return "; ".join(said)


def _probes(ctx: StepContext, step: Step) -> str:
    from bbops.production import probes

    queries_file = step.path("queries_file") if step.get("queries_file") else None
    found = probes.probes_of(step.get("queries"), queries_file, what=f"step {step.id}")
    return probes.check(ctx.url(ctx.branch_of(step)), found, log=ctx.log)


def _doctor(ctx: StepContext, p: PendingStep) -> str:
    from bbops.doctor.step import doctor_step

    return doctor_step(ctx.url(ctx.branch_of(p.step)), p.step, log=ctx.log)


EXECUTORS: dict[str, Callable[[StepContext, PendingStep], str]] = {
    "migrations": _migrations,
    "sql": _sql,
    "copy": _copy,
    "verify": _verify,
    "env": _env,
    "freeze": _freeze,
    "redeploy": _redeploy,
    "check": _check,
    "doctor": _doctor,
    "switch": _switch,
    "rotate": _rotate,
}


def preflight(pending: list[PendingStep]) -> None:
    """Every ``${NAME}`` the pending steps use must be set: fail (exit 2) before the first change, not midway."""
    for p in pending:
        step = p.step
        refs = [("source", step.get("source")), ("url", step.get("url")), ("database", step.get("database"))]
        refs += [(f"env {key}", spec.get("value")) for key, spec in (step.get("env") or {}).items()]
        refs += [(f"undo {key}", spec.get("value")) for key, spec in (step.get("undo") or {}).items()]
        for what, ref in refs:
            if ref is not None:
                resolve_ref(ref, what=f"step {step.id} {what}")


def run_step(ctx: StepContext, pending: PendingStep) -> str:
    executor = EXECUTORS.get(pending.step.kind)
    if executor is None:
        raise MigrationError(f"step {pending.step.id}: unknown kind {pending.step.kind!r}")
    return executor(ctx, pending)
