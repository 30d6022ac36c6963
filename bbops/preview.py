"""The per-pull-request preview lifecycle: create/refresh, reset, delete, list, gc.

Everything here talks to a ``Backend`` (branches, env vars, deployments) through
the Protocols of ``bbops.providers.base``, so the same code runs on the embedded
local backend and on Neon + Vercel. Each mutation of one preview runs under a
Postgres advisory lock keyed by the preview's branch name, so two runs for the
same PR (a `synchronize` racing a `closed`) never interleave.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone

from bbops import pg
from bbops.errors import UsageError
from bbops.locks import advisory_lock
from bbops.migrate.runner import migrate_up
from bbops.plan.model import Plan, Preview, resolve_ref
from bbops.providers.base import Backend, Branch, EnvVar, env_value_matches
from bbops.scrub import scrub
from bbops.seed import run_seeds

MAX_PR = 2**31 - 1
# git check-ref-format, simplified to what Vercel accepts as a git branch.
_GIT_BRANCH = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)(?!.*@\{)(?!.*\.lock$)(?!.*/$)[^\x00-\x20~^:?*\[\\\x7f]{1,255}$")
# A branch without its env-var partner is only an orphan once it is this old: a
# create still running in another job has made the branch but not the env vars yet.
ORPHAN_GRACE = timedelta(hours=1)
LOCK_TIMEOUT = 120.0


@dataclass(frozen=True)
class PullRequest:
    number: int
    git_branch: str | None = None
    commit: str | None = None
    repo: str | None = None

    def annotations(self) -> dict[str, str]:
        out = {"pr": str(self.number)}
        for key, value in (("git_branch", self.git_branch), ("commit", self.commit), ("repo", self.repo)):
            if value:
                out[key] = value
        return out


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
    redeployed: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def check_pr(number: int) -> int:
    if not isinstance(number, int) or number < 1 or number > MAX_PR:
        raise UsageError(f"invalid pull request number {number!r}: expected a positive integer")
    return number


def check_git_branch(name: str | None) -> str | None:
    if name is None:
        return None
    if not _GIT_BRANCH.match(name):
        raise UsageError(f"invalid git branch name {name!r}")
    return name


def _policy(plan: Plan) -> Preview:
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
    url = lock_url(backend, plan)
    with pg.connection(url, autocommit=True) as conn:
        with advisory_lock(conn, f"bbops preview {name}", timeout=LOCK_TIMEOUT, purpose=f"preview {name}"):
            yield


def lock_url(backend: Backend, plan: Plan) -> str:
    # The local backend has a maintenance database for this; on Neon, the default
    # branch's direct endpoint is shared by every run and never copied from.
    admin = getattr(backend.branches, "admin_url", None)
    if admin:
        return admin() if callable(admin) else admin
    assert plan.neon is not None
    return backend.branches.connection(
        plan.neon.default_branch.name, database=plan.neon.database, role=plan.neon.role, pooled=False
    ).url


def ensure_long_lived(backend: Backend, plan: Plan, log: Callable[[str], None] = lambda _: None) -> list[str]:
    """Create missing long-lived branches; a new root gets the app's migrations and seed.

    Only the local backend can make a root branch; on Neon the project's default
    branch always exists and `bbops apply` creates the others.
    """
    assert plan.neon is not None
    made = []
    for spec in plan.neon.creation_order():
        if backend.branches.get_branch(spec.name):
            continue
        if spec.parent is None:
            create_root = getattr(backend.branches, "create_root", None)
            if create_root is None:
                raise UsageError(f"branch {spec.name} does not exist; run `bbops apply` to create the project's branches")
            create_root(spec.name, protected=spec.protected)
            _prepare_root(backend, plan, spec.name, log)
        else:
            backend.branches.create_branch(spec.name, parent=spec.parent, protected=spec.protected)
        log(f"created long-lived branch {spec.name}")
        made.append(spec.name)
    return made


def _prepare_root(backend: Backend, plan: Plan, name: str, log: Callable[[str], None]) -> None:
    assert plan.neon is not None
    url = backend.branches.connection(name, database=plan.neon.database, role=plan.neon.role, pooled=False).url
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
    policy = _policy(plan)
    assert plan.neon is not None
    number = check_pr(request.number)
    check_git_branch(request.git_branch)
    parent = parent or policy.parent
    if parent not in {b.name for b in plan.neon.branches}:
        raise UsageError(f"parent {parent!r} is not a branch of the plan ({', '.join(b.name for b in plan.neon.branches)})")
    now = now or datetime.now(timezone.utc)
    name = policy.branch_for(number)
    ensure_long_lived(backend, plan, log)
    with preview_lock(backend, plan, name):
        existing = backend.branches.get_branch(name)
        annotations = request.annotations()
        if existing:
            if existing.pr not in (None, number):
                raise UsageError(f"branch {name} belongs to PR #{existing.pr}, not #{number}")
            branch = backend.branches.update_branch(name, expires_at=_expiry(policy, now), annotations=annotations)
            log(f"reusing {name}; expiry refreshed")
        else:
            branch = backend.branches.create_branch(
                name, parent=parent, annotations=annotations, expires_at=_expiry(policy, now)
            )
            log(f"created {name} from {parent}")
        report = PreviewReport(pr=number, branch=name, parent=branch.parent or parent, created=existing is None,
                               git_branch=request.git_branch)
        _prepare(backend, plan, report, log)
        report.expires_at = branch.expires_at.isoformat() if branch.expires_at else None
    report.seconds = round(time.monotonic() - started, 3)
    return report


def reset(backend: Backend, plan: Plan, number: int, *, log: Callable[[str], None] = lambda _: None) -> PreviewReport:
    """Back to the parent's current state, then migrate, seed and scrub again."""
    started = time.monotonic()
    policy = _policy(plan)
    name = policy.branch_for(check_pr(number))
    with preview_lock(backend, plan, name):
        if not backend.branches.get_branch(name):
            raise UsageError(f"no preview for PR #{number} (branch {name}); create it first")
        branch = backend.branches.reset_branch(name)
        log(f"reset {name} to {branch.parent}")
        report = PreviewReport(pr=number, branch=name, parent=branch.parent or policy.parent, created=False,
                               git_branch=branch.annotations.get("git_branch"))
        _prepare(backend, plan, report, log)
        report.expires_at = branch.expires_at.isoformat() if branch.expires_at else None
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _prepare(backend: Backend, plan: Plan, report: PreviewReport, log: Callable[[str], None]) -> None:
    """Migrate, seed and scrub the branch, then upsert its env vars (in that order: no env before scrub)."""
    assert plan.neon is not None and plan.preview is not None
    policy = plan.preview
    direct = backend.branches.connection(report.branch, database=plan.neon.database, role=plan.neon.role, pooled=False)
    report.host, report.database = direct.host, direct.database
    if policy.migrations:
        result = migrate_up(direct.url, policy.migrations, on_event=log)
        report.migrations = [m.tag for m in result.applied]
    with pg.connection(direct.url) as conn:
        if policy.seed:
            report.seeds = run_seeds(conn, policy.seed)
        if policy.scrub:
            report.scrubbed = [str(s) for s in scrub(conn, policy.scrub)]
    report.env, report.redeployed = _hand_out_env(backend, plan, report.branch, report.git_branch)


def preview_env(backend: Backend, plan: Plan, branch: str, git_branch: str) -> list[EnvVar]:
    """The env vars the plan gives a preview deployment, with values from ``branch``."""
    assert plan.neon is not None
    target = plan.vercel.target("preview") if plan.vercel else None
    if target is None:
        return []
    out = []
    for source in target.env:
        if source.connection:
            value = backend.branches.connection(
                branch, database=plan.neon.database, role=plan.neon.role, pooled=source.connection == "pooled"
            ).url
        else:
            value = resolve_ref(source.value, what=f"vercel.targets.preview.env.{source.key}") or ""
        out.append(EnvVar(source.key, value, source.type, ("preview",), git_branch))  # type: ignore[arg-type]
    return out


def _hand_out_env(backend: Backend, plan: Plan, branch: str, git_branch: str | None) -> tuple[list[str], str | None]:
    if not git_branch:
        return [], None
    wanted = preview_env(backend, plan, branch, git_branch)
    if not wanted:
        return [], None
    current = {v.scope(): v for v in backend.env.list_env(target="preview", git_branch=git_branch)}
    changed = [
        v for v in wanted
        if (c := current.get(v.scope())) is None or c.type != v.type or not env_value_matches(backend.env, c, v.value)
    ]
    if changed:
        backend.env.upsert_env(changed)
    redeployed = None
    # Env changes reach only new deployments: redeploy the branch's preview if one was built without them.
    if changed and backend.deployments is not None:
        redeployed = backend.deployments.redeploy(target="preview", git_branch=git_branch)
    return sorted(v.key for v in wanted), redeployed


@dataclass
class DeleteReport:
    pr: int
    branch: str
    branch_deleted: bool
    env_deleted: int

    def as_dict(self) -> dict:
        return asdict(self)


def delete(backend: Backend, plan: Plan, number: int, *, git_branch: str | None = None) -> DeleteReport:
    """Delete the preview branch and its branch-scoped env vars; what is already gone is fine."""
    policy = _policy(plan)
    name = policy.branch_for(check_pr(number))
    check_git_branch(git_branch)
    with preview_lock(backend, plan, name):
        branch = backend.branches.get_branch(name)
        git_branch = git_branch or (branch.annotations.get("git_branch") if branch else None)
        deleted = backend.branches.delete_branch(name) if branch else False
        env_deleted = _delete_env(backend, plan, git_branch) if git_branch else 0
    return DeleteReport(number, name, deleted, env_deleted)


def _preview_keys(plan: Plan) -> set[str]:
    """The variables this plan hands to previews; others scoped to a git branch are not ours to touch."""
    target = plan.vercel.target("preview") if plan.vercel else None
    return {s.key for s in target.env} if target else set()


def _delete_env(backend: Backend, plan: Plan, git_branch: str) -> int:
    keys = _preview_keys(plan)
    scoped = [
        v for v in backend.env.list_env(target="preview", git_branch=git_branch)
        if v.git_branch == git_branch and v.key in keys
    ]
    return backend.env.delete_env(scoped) if scoped else 0


def is_preview(policy: Preview, branch: Branch) -> bool:
    prefix, _, suffix = policy.branch_name.partition("{pr}")
    middle = branch.name[len(prefix) : len(branch.name) - len(suffix) if suffix else None]
    return branch.name.startswith(prefix) and branch.name.endswith(suffix) and middle.isdigit()


def list_previews(backend: Backend, plan: Plan) -> list[Branch]:
    policy = _policy(plan)
    return sorted((b for b in backend.branches.list_branches() if is_preview(policy, b)), key=lambda b: b.pr or 0)


@dataclass
class GcReport:
    expired: list[str] = field(default_factory=list)
    orphan_branches: list[str] = field(default_factory=list)
    orphan_env: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def gc(backend: Backend, plan: Plan, *, dry_run: bool = False, now: datetime | None = None) -> GcReport:
    """Delete expired previews, branches whose env vars are gone, and env vars whose branch is gone."""
    now = now or datetime.now(timezone.utc)
    report = GcReport(dry_run=dry_run)
    previews = list_previews(backend, plan)
    ours = _preview_keys(plan)
    env = [v for v in backend.env.list_env(target="preview") if v.git_branch and v.key in ours]
    env_branches = {v.git_branch for v in env}
    handled = set()
    for b in previews:
        git_branch = b.annotations.get("git_branch")
        expired = b.expires_at is not None and b.expires_at <= now
        old_enough = b.created_at is None or now - b.created_at >= ORPHAN_GRACE
        orphan = bool(plan.vercel and git_branch and git_branch not in env_branches and old_enough)
        if expired or orphan:
            (report.expired if expired else report.orphan_branches).append(b.name)
            if not dry_run and b.pr:
                delete(backend, plan, b.pr, git_branch=git_branch)
        if git_branch:
            handled.add(git_branch)
    for git_branch in sorted(env_branches - handled):
        keys = sorted(v.key for v in env if v.git_branch == git_branch)
        report.orphan_env.append(f"{git_branch}: {', '.join(keys)}")
        if not dry_run:
            _delete_env(backend, plan, git_branch)
    return report
