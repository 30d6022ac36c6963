"""`bbops comment preview|plan`: the PR comment created once and updated in place."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from bbops.commands.options import backend_option, format_option, plan_option, transports
from bbops.core import console
from bbops.errors import BBopsError
from bbops.github import comment as pr_comment
from bbops.github import publish as comments

pr_option = click.option("--pr", type=int, help="Pull request number (default: from the GitHub event).")
repo_option = click.option("--repo", help="owner/name (default: the event's repository, or GITHUB_REPOSITORY).")
dry_run_option = click.option("--dry-run", is_flag=True, help="Print the comment instead of posting it.")
plan_output_option = click.option(
    "--plan-output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A file with `bbops plan --format markdown` output to include.",
)


def _done(result: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        console.emit_json(result)
    elif "deleted" in result:
        console.say(f"deleted {result['deleted']} bbops comment(s) on {result['repo']}#{result['pr']}")
    else:
        verb = "created" if result["created"] else "updated"
        console.say(f"{verb} comment {result.get('url') or result['comment_id']} on {result['repo']}#{result['pr']}")


def _skip_fork(target: comments.Target, fmt: str) -> bool:
    if not target.fork:
        return False
    message = (
        f"skipped: #{target.pr} comes from a fork ({(target.event and target.event.head_repo) or 'deleted'}); "
        "its workflow token cannot write comments"
    )
    if fmt == "json":
        console.emit_json({"pr": target.pr, "repo": target.repo, "skipped": message})
    else:
        console.say(message)
    return True


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
    if _skip_fork(target, fmt):
        return
    url = pr_comment.run_url(os.environ)
    if closed or target.closing:
        branch = (
            comments.read_report(report)["branch"] if report else comments.preview_branch_name(plan_path, target.pr)
        )
        merged = bool(target.event and target.event.merged)
        body = pr_comment.render_closed(target.pr, branch, merged=merged, run_url=url)
    else:
        if report is None:
            raise click.UsageError("--report is required unless the PR is closed")
        data = comments.read_report(report)
        extra: dict[str, Any] = {"plan_output": comments.read_text(plan_output), "run_url": url}
        if target.event:
            extra["commit"] = target.event.head_sha
        if schema_diff and data.get("parent"):
            extra.update(_schema(plan_path, backend, data["branch"], data["parent"]))
        elif schema_diff:
            extra["schema_note"] = "the report names no parent branch"
        body = pr_comment.render_preview(pr_comment.PreviewComment.from_report(data, **extra))
    if dry_run:
        console.say(body)
        return
    _done(
        comments.publish(
            target,
            pr_comment.PREVIEW_MARKER,
            body,
            delete=delete_ and (closed or target.closing),
            transports=transports(),
        ),
        fmt,
    )


def _schema(plan_path: Path | None, backend: str, branch: str, parent: str) -> dict[str, Any]:
    """The schema diff and the doctor's new findings, or notes saying why not: a comment is still worth posting."""
    close = None
    try:
        connection_for, close = comments.backend_connections(plan_path, backend, transports())
        return {"schema_changes": comments.schema_changes(connection_for, branch, parent)} | _doctor(
            connection_for, branch, parent
        )
    except (BBopsError, ImportError) as exc:
        reason = comments.describe_failure(exc)
        console.warn(f"schema diff not computed: {reason}")
        return {"schema_note": reason, "doctor_note": reason}
    finally:
        if close:
            close()


def _doctor(connection_for: comments.ConnectionFor, branch: str, parent: str) -> dict[str, Any]:
    """The doctor's findings the PR adds, or a note: a failing doctor never costs the comment its schema diff."""
    try:
        return {"doctor_findings": comments.doctor_findings(connection_for, branch, parent)}
    except BBopsError as exc:
        reason = comments.describe_failure(exc)
        console.warn(f"doctor findings not computed: {reason}")
        return {"doctor_note": reason}


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
    if _skip_fork(target, fmt):
        return
    body = pr_comment.render_plan(
        comments.read_text(plan_output) or "", changes=changes, run_url=pr_comment.run_url(os.environ)
    )
    if dry_run:
        console.say(body)
        return
    _done(comments.publish(target, pr_comment.PLAN_MARKER, body, transports=transports()), fmt)


COMMANDS = [comment_group]
