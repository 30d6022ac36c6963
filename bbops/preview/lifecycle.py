"""Creating, refreshing and resetting a PR's preview: branch, migrations, seed, scrub, env vars.

Each mutation of one preview runs under a Postgres advisory lock keyed by the
preview's branch name, so two runs for the same PR (a `synchronize` racing a
`closed`) never interleave.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bbops.core import pg
from bbops.core.locks import advisory_lock
from bbops.drizzle.runner import migrate_up
from bbops.errors import BBopsError, ProviderError, UsageError
from bbops.plan.model import Plan, Preview
from bbops.preview.anonymize import Scrubbed, scrub
from bbops.preview.env import HandedOut, connection_pooling, deploy_handed_out, hand_out_env
from bbops.preview.ownership import check_ours
from bbops.preview.request import PullRequest, check_git_branch, check_pr
from bbops.preview.scrubkey import scrub_key
from bbops.preview.seed import run_seeds
from bbops.preview.sharing import git_branch_lock, lock_branch, previews_on
from bbops.providers.base import SMALLEST_BRANCH_LIMIT, Backend, Branch, ComputeSize
from bbops.providers.select import app_connection, lock_url
from bbops.review.measure import review_migrations

LOCK_TIMEOUT = 120.0
# Annotation of a root branch whose migrations and seed files all ran (a failed seed leaves it unset).
ROOT_READY = "bbops_root_ready"
# A refresh within this much of the last one leaves the expiry as it is (one request fewer per push).
EXPIRY_STEP = timedelta(hours=1)


@dataclass
class PreviewReport:
    pr: int
    branch: str
    parent: str
    created: bool
    host: str = ""
    database: str = ""
    expires_at: str | None = None
    git_branch: str | None = None
    migrations: list[str] = field(default_factory=list)
    seeds: list[str] = field(default_factory=list)
    scrubbed: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    review: dict[str, Any] | None = None  # the measured migration review (bbops.review.measured)
    env_changed: list[str] = field(default_factory=list)
    commit: str | None = None
    # The deployment built with this preview's env vars (its database); None: none yet.
    deployment: str | None = None
    deployment_state: str | None = None
    deployment_url: str | None = None
    seconds: float = 0.0
    # Other open PRs previewed from the same git branch: they share its env vars (the newest preview's).
    git_branch_shared_with: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def policy_of(plan: Plan) -> Preview:
    if plan.preview is None:
        raise UsageError(f"{plan.file.name} has no `preview:` section")
    if plan.neon is None:
        raise UsageError(f"{plan.file.name} has no `neon:` section (database and role names)")
    return plan.preview


def _expiry(policy: Preview, now: datetime) -> datetime:
    return now + timedelta(days=policy.ttl_days)


@contextmanager
def preview_lock(backend: Backend, plan: Plan, name: str) -> Iterator[None]:
    """An advisory lock for one preview, on a database that is never a template source."""
    url = lock_url(backend, plan, lock_branch(plan))
    with pg.connection(url, autocommit=True) as conn:
        with advisory_lock(conn, f"bbops preview {name}", timeout=LOCK_TIMEOUT, purpose=f"preview {name}"):
            yield


def ensure_long_lived(backend: Backend, plan: Plan, log: Callable[[str], None] = lambda _: None) -> list[str]:
    """Create missing long-lived branches; a new root gets the app's migrations and seed.

    Only the local backend can make a root branch; on Neon the project's default
    branch always exists and `bbops apply` creates the others.
    """
    return _ensure_long_lived(backend, plan, {b.name: b for b in backend.branches.list_branches()}, log)


def _ensure_long_lived(
    backend: Backend, plan: Plan, present: Mapping[str, Branch], log: Callable[[str], None]
) -> list[str]:
    """``ensure_long_lived`` given the branch names one listing found (one lookup per command)."""
    assert plan.neon is not None
    made = []
    for spec in plan.neon.creation_order():
        existing = present.get(spec.name)
        # Only roots bbops made itself (local backend) may be half-prepared; Neon makes its own.
        unfinished_root = backend.roots is not None and spec.parent is None and existing is not None
        if existing and not (unfinished_root and existing.annotations.get(ROOT_READY) != "true"):
            continue
        if spec.parent is None:
            if backend.roots is None:
                raise UsageError(
                    f"branch {spec.name} does not exist; run `bbops apply` to create the project's branches"
                )
            if existing is None:
                backend.roots.create_root(spec.name, protected=spec.protected)
            else:
                log(f"finishing the migrations and seed of {spec.name} (an earlier run stopped half-way)")
            # Migrations and seed files are recorded one by one, so running them again finishes
            # exactly what an interrupted or failed run left; only then is the root marked ready.
            _prepare_root(backend, plan, spec.name, log)
            backend.branches.update_branch(spec.name, annotations={ROOT_READY: "true"})
            if existing is not None:
                continue
        else:
            backend.branches.create_branch(spec.name, parent=spec.parent, protected=spec.protected)
        log(f"created long-lived branch {spec.name}")
        made.append(spec.name)
    return made


def _prepare_root(backend: Backend, plan: Plan, name: str, log: Callable[[str], None]) -> None:
    assert plan.neon is not None
    url = app_connection(backend, plan, name).url
    policy = plan.preview
    if policy and policy.migrations:
        migrate_up(url, policy.migrations, on_event=log)
    if policy and policy.seed:
        with pg.connection(url) as conn:
            run_seeds(conn, policy.seed)


def create(
    backend: Backend,
    plan: Plan,
    request: PullRequest,
    *,
    parent: str | None = None,
    now: datetime | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> PreviewReport:
    """Find or create the PR's branch, migrate, seed, scrub, then hand out env vars."""
    started = time.monotonic()
    policy = policy_of(plan)
    assert plan.neon is not None
    number = check_pr(request.number)
    check_git_branch(request.git_branch)
    parent = parent or policy.parent
    if parent not in {b.name for b in plan.neon.branches}:
        raise UsageError(
            f"parent {parent!r} is not a branch of the plan ({', '.join(b.name for b in plan.neon.branches)})"
        )
    now = now or datetime.now(UTC)
    name = policy.branch_for(number)
    key = scrub_key(backend.name)  # before anything is made: a preview that cannot be scrubbed is never made
    present = {b.name: b for b in backend.branches.list_branches()}
    made = _ensure_long_lived(backend, plan, present, log)
    with preview_lock(backend, plan, name):
        annotations = request.annotations()
        listed: Sequence[Branch] | None = None
        existing: Branch | None = None
        if name in present:
            # Again, under the lock (another run may have deleted it); the whole listing also serves previews_on.
            listed = backend.branches.list_branches()
            existing = next((b for b in listed if b.name == name), None)
        created: Branch | None = None
        if existing is None:
            _check_branch_budget(backend, len(set(present) | set(made)), name)
            created, existing, listed = _make_preview(backend, policy, name, parent, annotations, now)
        new_credentials = False
        if created is not None:
            branch = created
            log(f"created {name} from {parent}")
            new_credentials = _own_password(backend, plan, name, request.git_branch, key, log)
        else:
            assert existing is not None
            check_ours(plan, existing, number)
            expiry = _expiry(policy, now)
            if existing.expires_at is not None and expiry - existing.expires_at < EXPIRY_STEP:
                branch = existing  # refreshed within the hour: no need to ask Neon again
            else:
                branch = backend.branches.update_branch(name, expires_at=expiry, annotations=annotations)
            log(f"reusing {name}; expiry refreshed")
            if _has_parents_password(backend, plan, name, branch.parent or parent):
                log(f"{name} still has its parent's password (a run stopped before giving it its own): resetting it")
                new_credentials = _own_password(backend, plan, name, request.git_branch, key, log)
        report = PreviewReport(
            pr=number,
            branch=name,
            parent=branch.parent or parent,
            created=created is not None,
            git_branch=request.git_branch,
            commit=request.commit,
        )
        _prepare_or_clean_up(
            backend, plan, report, key, log, fresh=created is not None, listed=listed, new_credentials=new_credentials
        )
        report.expires_at = branch.expires_at.isoformat() if branch.expires_at else None
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _make_preview(
    backend: Backend, policy: Preview, name: str, parent: str, annotations: Mapping[str, str], now: datetime
) -> tuple[Branch | None, Branch | None, Sequence[Branch] | None]:
    """Create the preview's branch: (the branch made, None, the listing ``previews_on`` needs, read
    while the new branch's operations run), or (None, the branch another run made first, None).

    The branch was not there before the lock, and it is not listed again under it: a branch name is
    unique in a project (Neon answers 409), so the create itself tells when another run made it in
    between; that branch is then reused, as a listing under the lock would have found it.
    """
    seen: list[list[Branch]] = []
    try:
        branch = backend.branches.create_branch(
            name,
            parent=parent,
            annotations=annotations,
            expires_at=_expiry(policy, now),
            compute=_compute(policy),
            meanwhile=lambda: seen.append(backend.branches.list_branches()),
        )
    except ProviderError as exc:
        other = backend.branches.get_branch(name) if exc.status == 409 else None
        if other is None:
            raise
        return None, other, None
    return branch, None, seen[0] if seen else None


def _compute(policy: Preview) -> ComputeSize | None:
    """The plan's ``preview.compute`` as the provider takes it (None: the project's defaults)."""
    c = policy.compute
    if c is None:
        return None
    return ComputeSize(
        c.autoscaling.min_cu if c.autoscaling else None,
        c.autoscaling.max_cu if c.autoscaling else None,
        c.suspend_timeout_seconds,
    )


def _check_branch_budget(backend: Backend, count: int, name: str) -> None:
    """Refuse, before creating anything, when the project already has as many branches as its plan allows."""
    if backend.limits is None or count < SMALLEST_BRANCH_LIMIT:
        return  # every plan allows this many: no need to ask
    limit = backend.limits.branch_limit()
    if limit is not None and count >= limit:
        raise ProviderError(
            f"cannot create {name}: the project has {count} branches and its plan allows {limit}",
            hint="delete previews no longer needed (`bbops preview gc`), let `bbops gc` prune old restore points "
            "and *-before-rollback-* branches, or raise the project's plan",
        )


def reset(backend: Backend, plan: Plan, number: int, *, log: Callable[[str], None] = lambda _: None) -> PreviewReport:
    """Back to the parent's current state, then migrate, seed and scrub again."""
    started = time.monotonic()
    policy = policy_of(plan)
    name = policy.branch_for(check_pr(number))
    key = scrub_key(backend.name)
    with preview_lock(backend, plan, name):
        existing = backend.branches.get_branch(name)
        if not existing:
            raise UsageError(f"no preview for PR #{number} (branch {name}); create it first")
        check_ours(plan, existing, number)
        branch = backend.branches.reset_branch(name)
        log(f"reset {name} to {branch.parent}")
        git_branch = branch.annotations.get("git_branch")
        new_credentials = _own_password(backend, plan, name, git_branch, key, log)
        report = PreviewReport(
            pr=number,
            branch=name,
            parent=branch.parent or policy.parent,
            created=False,
            git_branch=git_branch,
            commit=branch.annotations.get("commit"),
        )
        _prepare_or_clean_up(backend, plan, report, key, log, fresh=True, new_credentials=new_credentials)
        report.expires_at = branch.expires_at.isoformat() if branch.expires_at else None
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _has_parents_password(backend: Backend, plan: Plan, name: str, parent: str) -> bool:
    """Whether a reused preview still opens with its parent's password: a run that made it was killed
    before ``_own_password`` (a failure there deletes it). Checked when the parent is the preview lock's
    branch, whose connection string this command has already read: no request of its own."""
    if parent != lock_branch(plan):
        return False
    mine = pg.password_of(app_connection(backend, plan, name).url)
    return mine is not None and mine == pg.password_of(app_connection(backend, plan, parent).url)


def _own_password(
    backend: Backend, plan: Plan, name: str, git_branch: str | None, key: bytes, log: Callable[[str], None]
) -> bool:
    """A fresh password for the app's role, so the preview's DATABASE_URL does not open its parent.

    When the reset fails, the branch (just made, or just reset to its parent's data) is deleted:
    a later run would reuse it without a new password (a refresh does not reset it), its
    DATABASE_URL opening the parent, and it holds the parent's data unscrubbed.

    (On Neon a child of an unprotected branch keeps the parent's role password.) The connection
    strings this command goes on to use (direct for the data, and those its env vars hand out) are
    read while the reset's operations run: they hold the new password, and the wait needs no extra
    poll. True when the connection strings changed (``hand_out_env`` needs no listing to know).
    """
    assert plan.neon is not None
    pooling = {False} | (connection_pooling(plan) if git_branch else set())

    def read_connections() -> None:
        for pooled in sorted(pooling):
            app_connection(backend, plan, name, pooled=pooled)

    try:
        return backend.branches.reset_role_password(name, role=plan.neon.role, meanwhile=read_connections)
    except BaseException as exc:
        outcome = _clean_up(backend, plan, name, key, True, log)
        if isinstance(exc, BBopsError):
            exc.message = f"{exc.message} ({outcome})"
        raise


def _prepare_or_clean_up(
    backend: Backend,
    plan: Plan,
    report: PreviewReport,
    key: bytes,
    log: Callable[[str], None],
    *,
    fresh: bool,
    listed: Sequence[Branch] | None = None,
    new_credentials: bool = False,
) -> None:
    """``_prepare``; if it fails, leave nothing unscrubbed behind.

    A branch made (or reset to its parent's data) by this run may still hold the parent's
    personal data when a migration or seed fails: it is deleted. A reused preview was scrubbed
    by the run that made it; it is scrubbed again (whatever a half-run seed added), and deleted
    if even that fails.
    """
    scrubbed = [False]
    try:
        _prepare(backend, plan, report, key, log, scrubbed, listed, new_credentials)
    except BaseException as exc:
        if scrubbed[0]:
            raise  # only the env vars or the redeploy failed: the data is scrubbed, the next run retries
        outcome = _clean_up(backend, plan, report.branch, key, fresh, log)
        if isinstance(exc, BBopsError):
            exc.message = f"{exc.message} ({outcome})"
        raise


def _clean_up(backend: Backend, plan: Plan, name: str, key: bytes, fresh: bool, log: Callable[[str], None]) -> str:
    assert plan.preview is not None
    if not fresh and plan.preview.scrub:
        try:
            with pg.connection(app_connection(backend, plan, name).url) as conn:
                scrub(conn, plan.preview.scrub, key)
            log(f"scrubbed {name} again after the failure")
            return f"preview {name} kept, scrubbed"
        except BBopsError as exc:
            log(f"scrubbing {name} after the failure failed too: {exc}")
    try:
        backend.branches.delete_branch(name)
    except BBopsError as exc:
        log(f"could not delete {name}: {exc}")
        return f"the half-made preview {name} could NOT be deleted: delete it with `bbops preview delete`"
    log(f"deleted the half-made preview {name}: it may have held unscrubbed data")
    return f"the half-made preview {name} was deleted so no unscrubbed data is left"


def _prepare(
    backend: Backend,
    plan: Plan,
    report: PreviewReport,
    key: bytes,
    log: Callable[[str], None],
    scrubbed_flag: list[bool],
    listed: Sequence[Branch] | None = None,
    new_credentials: bool = False,
) -> None:
    """Migrate, scrub, seed (and scrub what the seed added), then upsert its env vars (no env before scrub).

    ``scrubbed_flag[0]`` turns true once the data is scrubbed for good (the caller's clean-up needs to know).
    ``new_credentials``: the branch's connection strings hold a password made by this command.
    """
    assert plan.neon is not None and plan.preview is not None
    policy = plan.preview
    direct = app_connection(backend, plan, report.branch)
    report.host, report.database = direct.host, direct.database
    if policy.migrations:
        # Measured while they run: durations, locks, blocked reads/writes; rows and sizes from the parent.
        result, measured = review_migrations(
            direct.url,
            policy.migrations,
            parent_url=lambda: app_connection(backend, plan, report.parent).url,
            ignores=policy.lint_ignores,
            on_event=log,
        )
        report.migrations = [m.tag for m in result.applied]
        report.review = measured.as_dict() if result.applied else None
    with pg.connection(direct.url) as conn:
        # Scrub the parent's data before a seed can fail half-way, and again after the seed.
        scrubbed = scrub(conn, policy.scrub, key) if policy.scrub else []
        if policy.seed:
            report.seeds = run_seeds(conn, policy.seed)
            if report.seeds and policy.scrub:
                scrubbed = _merge(scrubbed, scrub(conn, policy.scrub, key))
        report.scrubbed = [str(s) for s in scrubbed]
        scrubbed_flag[0] = True
        handed_out = _hand_out(backend, plan, report, log, listed, new_credentials)
        out = deploy_handed_out(backend, handed_out, conn, log=log)
    report.env, report.env_changed = out.keys, out.changed
    report.deployment, report.deployment_state, report.deployment_url = (
        out.deployment,
        out.deployment_state,
        out.deployment_url,
    )


def _merge(first: list[Scrubbed], second: list[Scrubbed]) -> list[Scrubbed]:
    """Rows scrubbed per column over both passes."""
    extra = {(s.table, s.column): s.rows for s in second}
    return [Scrubbed(s.table, s.column, s.rows + extra.get((s.table, s.column), 0)) for s in first]


def _hand_out(
    backend: Backend,
    plan: Plan,
    report: PreviewReport,
    log: Callable[[str], None],
    listed: Sequence[Branch] | None = None,
    new_credentials: bool = False,
) -> HandedOut:
    """``hand_out_env`` under the git branch's lock (gc and delete check and delete under it too)."""
    if not report.git_branch:
        return hand_out_env(backend, plan, report.branch, report.git_branch, sha=report.commit)
    with git_branch_lock(backend, plan, report.git_branch):
        others = previews_on(backend, plan, report.git_branch, besides=report.branch, listed=listed)
        report.git_branch_shared_with = sorted({b.pr for b in others if b.pr})
        if report.git_branch_shared_with:
            prs = ", ".join(f"#{n}" for n in report.git_branch_shared_with)
            log(
                f"warning: git branch {report.git_branch} is also previewed by PR {prs}; Vercel scopes env vars by "
                "git branch, so its deployments now use this preview's database"
            )
        return hand_out_env(
            backend, plan, report.branch, report.git_branch, sha=report.commit, new_credentials=new_credentials
        )
