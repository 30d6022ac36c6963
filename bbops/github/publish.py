"""Publishing bbops' PR comments: resolve the PR, build the body, upsert it, mirror it to the job summary.

``bbops comment preview|plan`` call ``comment_preview`` / ``comment_plan`` and print what they
return (``Skipped``, ``Drafted`` or ``Published``, each a ``bbops.core.report`` report); the
preview lifecycle may call ``publish`` directly too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bbops.core import console, redact
from bbops.core.http import NETWORK, Transports
from bbops.core.report import TextOut
from bbops.doctor.finding import Finding
from bbops.errors import BBopsError, UsageError
from bbops.github import comment as pr_comment
from bbops.github import runner as gha
from bbops.github.event import PullRequestContext, pull_request_for
from bbops.github.rest import GitHub, check_repo
from bbops.github.schemadiff import SchemaChange, diff_schemas, snapshot


@dataclass(frozen=True)
class Target:
    """Which PR a comment goes to, and what the event says about it."""

    repo: str
    pr: int
    event: PullRequestContext | None  # the event's PR when it is this PR

    @property
    def fork(self) -> bool:
        return bool(self.event and self.event.fork)

    @property
    def closing(self) -> bool:
        return bool(self.event and self.event.closing)


def resolve_target(pr: int | None, repo: str | None, environ: Mapping[str, str] | None = None) -> Target:
    """The PR from the options, completed from the event payload and ``GITHUB_REPOSITORY``."""
    env = os.environ if environ is None else environ
    number, same = pull_request_for(pr, env)
    if number < 1:
        raise UsageError(f"invalid pull request number {number}")
    repo = repo or (same.repo if same else None) or env.get("GITHUB_REPOSITORY")
    return Target(check_repo(repo), number, same)


def read_report(path: Path) -> dict[str, Any]:
    """The JSON written by ``bbops preview create --format json``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"preview report {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read the preview report {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("branch"), str) or not isinstance(data.get("pr"), int):
        raise UsageError(f"{path} is not a preview report (expected an object with 'pr' and 'branch')")
    return data


def read_text(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


ConnectionFor = Callable[[str], str]


def schema_changes(connection_for: ConnectionFor, branch: str, parent: str) -> list[SchemaChange]:
    """The preview's schema against its parent's; ``connection_for(branch)`` gives a URL."""
    return diff_schemas(snapshot(connection_for(parent)), snapshot(connection_for(branch)))


def doctor_findings(connection_for: ConnectionFor, branch: str, parent: str) -> list[Finding]:
    """The doctor's schema findings on the preview that its parent does not have (a PR's new unindexed FK)."""
    from bbops.doctor import new_findings, run_doctor

    mine = run_doctor(connection_for(branch), scope="schema")
    return new_findings(mine.findings, run_doctor(connection_for(parent), scope="schema").findings)


def preview_branch_name(plan_path: Path | None, pr: int) -> str | None:
    """The preview branch the plan names for ``pr``, or None when the plan can't tell."""
    from bbops.plan import default_plan_path, load_plan

    try:
        plan = load_plan(plan_path or default_plan_path())
    except BBopsError:
        return None
    return plan.preview.branch_for(pr) if plan.preview else None


def backend_connections(
    plan_path: Path | None, backend: str, transports: Transports = NETWORK
) -> tuple[ConnectionFor, Callable[[], None]]:
    """A ``connection_for`` over the plan's backend (direct connections), and its closer."""
    from bbops.plan import default_plan_path, load_plan
    from bbops.providers.select import open_backend

    plan = load_plan(plan_path or default_plan_path())
    if plan.neon is None:
        raise UsageError("the plan has no neon section: no branches to compare")
    be = open_backend(backend, plan, transports)
    neon = plan.neon

    def connection_for(name: str) -> str:
        url = be.branches.connection(name, database=neon.database, role=neon.role, pooled=False).url
        redact.register_url(url)
        return url

    return connection_for, be.close


def publish(
    target: Target,
    marker: str,
    body: str,
    *,
    github: GitHub | None = None,
    delete: bool = False,
    transports: Transports = NETWORK,
) -> dict[str, Any]:
    """Upsert (or delete) the marked comment and mirror the body to the job summary and outputs.

    Without ``github``, a client from the environment is made (HTTP via ``transports.github``).
    """
    client = github or GitHub.from_env(transport=transports.github, sleep=transports.sleep)
    try:
        if delete:
            removed = client.delete_marked(target.repo, target.pr, marker)
            result: dict[str, Any] = {"pr": target.pr, "repo": target.repo, "deleted": removed}
        else:
            comment, created = client.upsert_marked(target.repo, target.pr, marker, body)
            result = {
                "pr": target.pr,
                "repo": target.repo,
                "comment_id": comment.id,
                "url": comment.html_url,
                "created": created,
            }
    finally:
        if github is None:
            client.close()
    if not delete:
        gha.append_summary(body)
        gha.set_output("comment-id", str(result["comment_id"]))
        if result.get("url"):
            gha.set_output("comment-url", result["url"])
    return result


def describe_failure(exc: BaseException) -> str:
    """A one-line reason for a missing schema diff, safe to show in a comment."""
    text = exc.message if isinstance(exc, BBopsError) else f"{type(exc).__name__}: {exc}"
    return redact.scrub(text).splitlines()[0][:300] if text else type(exc).__name__


@dataclass(frozen=True)
class Skipped:
    """A fork's PR: its workflow token cannot write comments, so nothing is posted."""

    target: Target

    @property
    def message(self) -> str:
        t = self.target
        head = (t.event and t.event.head_repo) or "deleted"
        return f"skipped: #{t.pr} comes from a fork ({head}); its workflow token cannot write comments"

    def as_dict(self) -> dict[str, Any]:
        return {"pr": self.target.pr, "repo": self.target.repo, "skipped": self.message}

    def write_text(self, out: TextOut) -> None:
        out.line(self.message)


@dataclass(frozen=True)
class Drafted:
    """``--dry-run``: the body that would be posted."""

    target: Target
    body: str

    def as_dict(self) -> dict[str, Any]:
        return {"pr": self.target.pr, "repo": self.target.repo, "dry_run": True, "body": self.body}

    def write_text(self, out: TextOut) -> None:
        out.line(self.body)


@dataclass(frozen=True)
class Published:
    """What ``publish`` did: the comment created, updated, or the marked ones deleted."""

    result: Mapping[str, Any]

    def as_dict(self) -> Mapping[str, Any]:
        return self.result

    def write_text(self, out: TextOut) -> None:
        r = self.result
        if "deleted" in r:
            out.line(f"deleted {r['deleted']} bbops comment(s) on {r['repo']}#{r['pr']}")
        else:
            verb = "created" if r["created"] else "updated"
            out.line(f"{verb} comment {r.get('url') or r['comment_id']} on {r['repo']}#{r['pr']}")


Outcome = Skipped | Drafted | Published


def _post(
    target: Target, marker: str, body: str, *, dry_run: bool, delete: bool = False, transports: Transports
) -> Drafted | Published:
    if dry_run:
        return Drafted(target, body)
    return Published(publish(target, marker, body, delete=delete, transports=transports))


def comment_preview(
    target: Target,
    *,
    report: Path | None,
    plan_output: Path | None = None,
    schema_diff: bool = True,
    closed: bool = False,
    delete: bool = False,
    plan_path: Path | None = None,
    backend: str = "local",
    dry_run: bool = False,
    transports: Transports = NETWORK,
    environ: Mapping[str, str] | None = None,
) -> Outcome:
    """Create or update the PR's preview comment (branch, migrations, schema diff, doctor findings, plan);
    once the PR is closed (``closed`` or the event says so), mark it closed, or ``delete`` it."""
    if target.fork:
        return Skipped(target)
    url = pr_comment.run_url(os.environ if environ is None else environ)
    if closed or target.closing:
        branch = read_report(report)["branch"] if report else preview_branch_name(plan_path, target.pr)
        merged = bool(target.event and target.event.merged)
        body = pr_comment.render_closed(target.pr, branch, merged=merged, run_url=url)
        return _post(target, pr_comment.PREVIEW_MARKER, body, dry_run=dry_run, delete=delete, transports=transports)
    if report is None:
        raise UsageError("--report is required unless the PR is closed")
    data = read_report(report)
    extra: dict[str, Any] = {"plan_output": read_text(plan_output), "run_url": url}
    if target.event:
        extra["commit"] = target.event.head_sha
    if schema_diff and data.get("parent"):
        extra.update(_schema(plan_path, backend, data["branch"], data["parent"], transports))
    elif schema_diff:
        extra["schema_note"] = "the report names no parent branch"
    body = pr_comment.render_preview(pr_comment.PreviewComment.from_report(data, **extra))
    return _post(target, pr_comment.PREVIEW_MARKER, body, dry_run=dry_run, transports=transports)


def _schema(plan_path: Path | None, backend: str, branch: str, parent: str, transports: Transports) -> dict[str, Any]:
    """The schema diff and the doctor's new findings, or notes saying why not: a comment is still worth posting."""
    close = None
    try:
        connection_for, close = backend_connections(plan_path, backend, transports)
        return {"schema_changes": schema_changes(connection_for, branch, parent)} | _doctor(
            connection_for, branch, parent
        )
    except (BBopsError, ImportError) as exc:
        reason = describe_failure(exc)
        console.warn(f"schema diff not computed: {reason}")
        return {"schema_note": reason, "doctor_note": reason}
    finally:
        if close:
            close()


def _doctor(connection_for: ConnectionFor, branch: str, parent: str) -> dict[str, Any]:
    """The doctor's findings the PR adds, or a note: a failing doctor never costs the comment its schema diff."""
    try:
        return {"doctor_findings": doctor_findings(connection_for, branch, parent)}
    except BBopsError as exc:
        reason = describe_failure(exc)
        console.warn(f"doctor findings not computed: {reason}")
        return {"doctor_note": reason}


def comment_plan(
    target: Target,
    *,
    plan_output: Path,
    changes: bool | None = None,
    dry_run: bool = False,
    transports: Transports = NETWORK,
    environ: Mapping[str, str] | None = None,
) -> Outcome:
    """Create or update the PR's plan comment with ``bbops plan --format markdown`` output."""
    if target.fork:
        return Skipped(target)
    run = pr_comment.run_url(os.environ if environ is None else environ)
    body = pr_comment.render_plan(read_text(plan_output) or "", changes=changes, run_url=run)
    return _post(target, pr_comment.PLAN_MARKER, body, dry_run=dry_run, transports=transports)
