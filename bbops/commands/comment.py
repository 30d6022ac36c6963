"""`bbops comment preview|plan`: the PR comment created once and updated in place."""

from __future__ import annotations

from pathlib import Path

import click

from bbops.commands.options import backend_option, format_option, plan_option, transports
from bbops.core.report import emit
from bbops.github import publish as comments

pr_option = click.option("--pr", type=int, help="Pull request number (default: from the GitHub event).")
repo_option = click.option("--repo", help="owner/name (default: the event's repository, or GITHUB_REPOSITORY).")
dry_run_option = click.option("--dry-run", is_flag=True, help="Print the comment instead of posting it.")
plan_output_option = click.option(
    "--plan-output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A file with `bbops plan --format markdown` output to include.",
)


@click.group("comment")
def comment_group() -> None:
    """Keep bbops' comment on a pull request up to date (needs GITHUB_TOKEN)."""


@comment_group.command("preview")
@pr_option
@repo_option
@click.option(
    "--report",
    type=click.Path(path_type=Path, dir_okay=False),
    help="JSON from `bbops preview create --format json` (branch, migrations run, ...).",
)
@plan_output_option
@click.option(
    "--schema-diff/--no-schema-diff",
    default=True,
    show_default=True,
    help="Compare the preview's schema, and the doctor's findings, with its parent's.",
)
@click.option("--closed", is_flag=True, help="Mark the comment closed (default when the event closes the PR).")
@click.option("--delete", "delete_", is_flag=True, help="With --closed: delete the comment instead.")
@plan_option
@backend_option
@dry_run_option
@format_option
def preview_cmd(
    pr: int | None,
    repo: str | None,
    report: Path | None,
    plan_output: Path | None,
    schema_diff: bool,
    closed: bool,
    delete_: bool,
    plan_path: Path | None,
    backend: str,
    dry_run: bool,
    fmt: str,
) -> None:
    """Create or update the PR's preview comment: branch, migrations run, schema diff, plan."""
    target = comments.resolve_target(pr, repo)
    if report is None and not (closed or target.closing or target.fork):
        raise click.UsageError("--report is required unless the PR is closed")
    result = comments.comment_preview(
        target,
        report=report,
        plan_output=plan_output,
        schema_diff=schema_diff,
        closed=closed,
        delete=delete_,
        plan_path=plan_path,
        backend=backend,
        dry_run=dry_run,
        transports=transports(),
    )
    emit(result, fmt)


@comment_group.command("plan")
@pr_option
@repo_option
@plan_output_option
@click.option("--changes/--no-changes", default=None, help="Whether the plan has changes (from `bbops plan --check`).")
@dry_run_option
@format_option
def plan_cmd(
    pr: int | None, repo: str | None, plan_output: Path | None, changes: bool | None, dry_run: bool, fmt: str
) -> None:
    """Create or update the PR's plan comment with `bbops plan` output."""
    if plan_output is None:
        raise click.UsageError("--plan-output is required")
    target = comments.resolve_target(pr, repo)
    result = comments.comment_plan(
        target, plan_output=plan_output, changes=changes, dry_run=dry_run, transports=transports()
    )
    emit(result, fmt)


COMMANDS = [comment_group]
