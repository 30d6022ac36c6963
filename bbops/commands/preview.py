"""`bbops preview create|delete|list|gc|reset`: the per-PR lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click

from bbops import preview
from bbops.commands.options import backend_option, format_option, plan_option, transports
from bbops.core import console
from bbops.errors import UsageError
from bbops.github import runner as gha
from bbops.github.event import pull_request_for
from bbops.plan.model import Plan
from bbops.preview.policy import with_base_policy
from bbops.providers.select import app_connection, plan_and_backend


def _pull_request(pr: int | None, git_branch: str | None) -> preview.PullRequest:
    """The PR from the options, completed from the GitHub event payload when running in Actions."""
    number, same = pull_request_for(pr)
    return preview.PullRequest(
        number=number,
        git_branch=git_branch or (same.head_ref if same else None),
        commit=same.head_sha if same else None,
        repo=same.repo if same else None,
    )


policy_option = click.option(
    "--policy-from",
    "policy_from",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Take the preview parent, seed files and scrub rules from this plan (the base branch's), not --plan's.",
)


def _carrier(report: preview.PreviewReport) -> str:
    """Which deployment was built with the preview's env vars (its database), for people."""
    if report.deployment is None:
        return "none yet (a re-run redeploys once Vercel has built the head commit)" if report.env else "-"
    where = f" {report.deployment_url}" if report.deployment_url else ""
    state = f" ({report.deployment_state})" if report.deployment_state else ""
    return f"`{report.deployment}`{where}{state}"


def _runner_outputs(report: preview.PreviewReport) -> None:
    """Step outputs and a job summary; never a connection string (GitHub drops outputs holding secrets)."""
    if not gha.active():
        return
    for name, value in (
        ("branch", report.branch),
        ("host", report.host),
        ("database", report.database),
        ("created", report.created),
        ("expires-at", report.expires_at or ""),
        ("migrations", ",".join(report.migrations)),
        ("git-branch", report.git_branch or ""),
        ("deployment", report.deployment or ""),
        ("deployment-url", report.deployment_url or ""),
    ):
        gha.set_output(name, value)
    rows = "\n".join(
        f"| {k} | {v} |"
        for k, v in (
            ("branch", f"`{report.branch}` from `{report.parent}`"),
            ("host", report.host),
            ("migrations", ", ".join(report.migrations) or "none pending"),
            ("seeds", ", ".join(report.seeds) or "none"),
            ("scrubbed", ", ".join(report.scrubbed) or "nothing"),
            ("env vars", ", ".join(report.env) or "none"),
            ("deployment with this database", _carrier(report)),
            ("expires", report.expires_at or "never"),
        )
    )
    gha.append_summary(f"### Preview for PR #{report.pr}\n\n| | |\n|---|---|\n{rows}\n")


def _log(fmt: str) -> Callable[[str], None]:
    # Progress goes to stderr in every format: with --format json (the preview-create action) stdout
    # carries only the report, and a wait for a Vercel build must still show in the job's log.
    return lambda line: console.say(line, stderr=True)


def _policy(plan: Plan, policy_from: Path | None, fmt: str) -> Plan:
    if policy_from is None:
        return plan
    _log(fmt)(f"preview policy (parent, seed files, scrub rules) from {policy_from}")
    return with_base_policy(plan, policy_from)


@click.group("preview")
def preview_group() -> None:
    """Per-pull-request database branches and their env vars."""


@preview_group.command("create")
@click.option("--pr", type=int, help="Pull request number (default: from the GitHub event).")
@click.option("--git-branch", help="The PR's git branch; env vars are scoped to it (default: from the event).")
@click.option("--parent", help="Branch to copy from (default: the plan's preview parent).")
@click.option(
    "--export-env",
    "export_env",
    metavar="NAME",
    help="In GitHub Actions, hand the direct connection string to later steps as masked env var NAME.",
)
@policy_option
@plan_option
@backend_option
@format_option
def create_cmd(
    pr: int | None,
    git_branch: str | None,
    parent: str | None,
    export_env: str | None,
    policy_from: Path | None,
    plan_path: Path | None,
    backend: str,
    fmt: str,
) -> None:
    """Create or refresh the PR's preview: branch, migrations, seed, scrub, env vars."""
    if parent and policy_from:
        raise UsageError("--parent and --policy-from contradict each other: the base branch's plan names the parent")
    request = _pull_request(pr, git_branch)
    with plan_and_backend(plan_path, backend, transports()) as (plan, be):
        plan = _policy(plan, policy_from, fmt)
        report = preview.create(be, plan, request, parent=parent, log=_log(fmt))
        if export_env:
            assert plan.neon is not None
            url = app_connection(be, plan, report.branch).url
            gha.export_env(export_env, url)
    _runner_outputs(report)
    if fmt == "json":
        console.emit_json(report.as_dict())
        return
    verb = "created" if report.created else "refreshed"
    console.say(f"preview {report.branch} {verb} for PR #{report.pr} (from {report.parent})")
    console.say(f"  host:       {report.host}")
    console.say(f"  database:   {report.database}")
    console.say(f"  expires:    {report.expires_at or 'never'}")
    console.say(f"  migrations: {', '.join(report.migrations) or 'none pending'}")
    if report.review:
        console.say(f"  review:     {report.review['verdict']['level']}: {report.review['verdict']['text']}")
    console.say(f"  seeds:      {', '.join(report.seeds) or 'none (already seeded)'}")
    console.say(f"  scrubbed:   {', '.join(report.scrubbed) or 'nothing'}")
    scope = f" (git branch {report.git_branch})" if report.git_branch else " (no git branch given: none set)"
    console.say(f"  env vars:   {', '.join(report.env) or 'none'}{scope}")
    console.say(f"  deployment: {_carrier(report)}")
    console.say(f"  took:       {report.seconds:.2f}s")


@preview_group.command("delete")
@click.option("--pr", type=int, help="Pull request number (default: from the GitHub event).")
@click.option("--git-branch", help="The PR's git branch (default: from the event or the branch's annotations).")
@plan_option
@backend_option
@format_option
def delete_cmd(pr: int | None, git_branch: str | None, plan_path: Path | None, backend: str, fmt: str) -> None:
    """Delete the PR's preview branch and its branch-scoped env vars (gone already is fine)."""
    request = _pull_request(pr, git_branch)
    with plan_and_backend(plan_path, backend, transports()) as (plan, be):
        report = preview.delete(be, plan, request.number, git_branch=request.git_branch)
    if fmt == "json":
        console.emit_json(report.as_dict())
        return
    state = "deleted" if report.branch_deleted else "already gone"
    console.say(f"preview {report.branch}: branch {state}; {report.env_deleted} env var(s) deleted")
    if report.env_kept_for:
        prs = ", ".join(f"#{n}" for n in report.env_kept_for)
        console.say(f"env vars kept: PR {prs} previews the same git branch (they now point at its database)")


def _age(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "-"
    seconds = int((now - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(seconds) >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _size(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


@preview_group.command("list")
@plan_option
@backend_option
@format_option
def list_cmd(plan_path: Path | None, backend: str, fmt: str) -> None:
    """Every preview with its PR, git branch, age, expiry and size."""
    with plan_and_backend(plan_path, backend, transports()) as (plan, be):
        branches = preview.list_previews(be, plan)
    now = datetime.now(UTC)
    if fmt == "json":
        console.emit_json(
            [
                {
                    "pr": b.pr,
                    "branch": b.name,
                    "git_branch": b.annotations.get("git_branch"),
                    "parent": b.parent,
                    "created_at": b.created_at.isoformat() if b.created_at else None,
                    "expires_at": b.expires_at.isoformat() if b.expires_at else None,
                    "size_bytes": b.size_bytes,
                }
                for b in branches
            ]
        )
        return
    if not branches:
        console.say("no previews")
        return
    console.table(
        ["PR", "branch", "git branch", "age", "expires in", "size"],
        [
            (
                b.pr,
                b.name,
                b.annotations.get("git_branch", "-"),
                _age(b.created_at, now),
                _age(now, b.expires_at) if b.expires_at else "never",
                _size(b.size_bytes),
            )
            for b in branches
        ],
    )


@preview_group.command("gc")
@click.option("--dry-run", is_flag=True, help="Only say what would be deleted.")
@plan_option
@backend_option
@format_option
def gc_cmd(dry_run: bool, plan_path: Path | None, backend: str, fmt: str) -> None:
    """Delete expired previews, orphans (a branch without env vars, env vars without a branch), and
    restore points and rolled-back states past the plan's ``production.retention``."""
    with plan_and_backend(plan_path, backend, transports()) as (plan, be):
        report = preview.gc(be, plan, dry_run=dry_run)
    if fmt == "json":
        console.emit_json(report.as_dict())
        return
    verb = "would delete" if dry_run else "deleted"
    for label, items in (
        ("expired", report.expired),
        ("orphan branch", report.orphan_branches),
        ("orphan env vars", report.orphan_env),
        ("past retention", report.pruned),
        ("streams ended", report.streams_ended),
    ):
        for item in items:
            console.say(f"{verb} {label}: {item}")
    if not (report.expired or report.orphan_branches or report.orphan_env or report.pruned or report.streams_ended):
        console.say("nothing to clean up")


@preview_group.command("reset")
@click.option("--pr", type=int, required=True, help="Pull request number.")
@policy_option
@plan_option
@backend_option
@format_option
def reset_cmd(pr: int, policy_from: Path | None, plan_path: Path | None, backend: str, fmt: str) -> None:
    """Put the preview back to its parent's current state, then migrate, seed and scrub again."""
    with plan_and_backend(plan_path, backend, transports()) as (plan, be):
        plan = _policy(plan, policy_from, fmt)
        report = preview.reset(be, plan, pr, log=_log(fmt))
    if fmt == "json":
        console.emit_json(report.as_dict())
        return
    console.say(
        f"preview {report.branch} reset to {report.parent}; migrations: "
        f"{', '.join(report.migrations) or 'none pending'}; scrubbed: {', '.join(report.scrubbed) or 'nothing'}"
    )


COMMANDS = [preview_group]
