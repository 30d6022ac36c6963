"""`bbops preview create|delete|list|gc|reset`: the per-PR lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click

from bbops import preview
from bbops.commands.options import backend_option, format_option, plan_option, transports
from bbops.core import console
from bbops.core.report import emit
from bbops.errors import UsageError
from bbops.github import runner as gha
from bbops.github.event import pull_request_for
from bbops.plan.model import Plan
from bbops.preview.policy import with_base_policy
from bbops.preview.views import CreateView, DeleteView, GcView, ListView, ResetView
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
    gha.append_summary(CreateView(report).markdown())


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
    emit(CreateView(report), fmt)


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
    emit(DeleteView(report), fmt)


@preview_group.command("list")
@plan_option
@backend_option
@format_option
def list_cmd(plan_path: Path | None, backend: str, fmt: str) -> None:
    """Every preview with its PR, git branch, age, expiry and size."""
    with plan_and_backend(plan_path, backend, transports()) as (plan, be):
        branches = preview.list_previews(be, plan)
    emit(ListView(branches, datetime.now(UTC)), fmt)


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
    emit(GcView(report), fmt)


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
    emit(ResetView(report), fmt)


COMMANDS = [preview_group]
