"""The markdown of bbops' pull request comments (pure functions, no I/O).

One comment per PR and purpose, found again by a hidden marker on its first
line, so each run updates it in place instead of adding to the thread:
``<!-- bbops:preview -->`` for the preview database, ``<!-- bbops:plan -->``
for the plan of a PR that changes ``plans/``.

Every body is scrubbed of registered secrets before it leaves bbops, and cut
to GitHub's limit for a comment body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bbops.core import redact
from bbops.doctor.finding import Finding
from bbops.doctor.render import markdown_findings
from bbops.github.schemadiff import SchemaChange, render_markdown
from bbops.review.timeline import render_review

PREVIEW_MARKER = "<!-- bbops:preview -->"
PLAN_MARKER = "<!-- bbops:plan -->"
MAX_BODY = 65_000  # GitHub rejects comment bodies over 65,536 characters; keep a margin


@dataclass(frozen=True)
class PreviewComment:
    """What the preview comment shows. Built from ``bbops preview create --format json``."""

    pr: int
    branch: str
    parent: str | None = None
    git_branch: str | None = None
    commit: str | None = None
    created: bool | None = None
    host: str | None = None
    database: str | None = None
    expires_at: str | None = None
    migrations: Sequence[str] = ()
    seeds: Sequence[str] = ()
    env: Sequence[str] = ()
    schema_changes: Sequence[SchemaChange] | None = None  # None: not computed
    schema_note: str | None = None  # why the diff is missing, when it is
    doctor_findings: Sequence[Finding] | None = None  # new against the parent; None: not computed
    doctor_note: str | None = None  # why they are missing, when they are
    plan_output: str | None = None
    run_url: str | None = None
    review: Mapping[str, Any] | None = None  # the preview report's measured migration review

    @classmethod
    def from_report(cls, report: Mapping[str, Any], **extra: Any) -> PreviewComment:
        """From the preview report's JSON; unknown keys are ignored, missing ones stay empty."""

        def strings(key: str) -> tuple[str, ...]:
            value = report.get(key) or ()
            return tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else ()

        def text(key: str) -> str | None:
            value = report.get(key)
            return str(value) if value not in (None, "") else None

        created = report.get("created")
        review = report.get("review")
        comment = cls(
            pr=int(report["pr"]),
            branch=str(report["branch"]),
            parent=text("parent"),
            git_branch=text("git_branch"),
            commit=text("commit"),
            created=created if isinstance(created, bool) else None,
            host=text("host"),
            database=text("database"),
            expires_at=text("expires_at"),
            migrations=strings("migrations"),
            seeds=strings("seeds"),
            env=strings("env"),
            review=review if isinstance(review, dict) else None,
        )
        return replace(comment, **extra)


def _finish(marker: str, parts: list[str]) -> str:
    body = redact.scrub("\n".join([marker, *parts]).rstrip() + "\n")
    if len(body) > MAX_BODY:
        note = "\n\n_(cut: the full output is in the workflow run's job summary)_\n"
        body = body[: MAX_BODY - len(note)] + note
    return body


def _details(summary: str, content: str) -> list[str]:
    return ["<details>", f"<summary>{summary}</summary>", "", content, "", "</details>"]


def _list(items: Sequence[str], empty: str) -> str:
    return "\n".join(f"- `{item}`" for item in items) if items else empty


def render_preview(c: PreviewComment) -> str:
    """The comment for an open PR: where its database is and what was done to it."""
    state = "created" if c.created else "refreshed" if c.created is False else "ready"
    parts = [f"### Preview database {state} for #{c.pr}", ""]
    rows = [("Branch", f"`{c.branch}`")]
    if c.parent:
        rows.append(("Parent", f"`{c.parent}`"))
    if c.git_branch:
        rows.append(("Git branch", f"`{c.git_branch}`"))
    if c.commit:
        rows.append(("Commit", f"`{c.commit[:12]}`"))
    if c.host:
        rows.append(("Host", f"`{c.host}`" + (f" / `{c.database}`" if c.database else "")))
    if c.expires_at:
        rows.append(("Expires", c.expires_at))
    if c.env:
        rows.append(("Env vars", ", ".join(f"`{k}`" for k in c.env) + " (scoped to the git branch)"))
    parts += ["| | |", "| --- | --- |", *[f"| {k} | {v} |" for k, v in rows], ""]

    parts.append(f"**Migrations run** ({len(c.migrations)})")
    parts += [_list(c.migrations, "_none: the branch was already up to date_"), ""]
    if c.review:
        parts += render_review(c.review, c.parent)
    if c.seeds:
        parts += [f"**Seed files** ({len(c.seeds)})", _list(c.seeds, ""), ""]

    if c.doctor_findings is not None or c.doctor_note:
        parts.append("**Database health** (`bbops doctor`: findings new against the parent)")
        if c.doctor_findings is None:
            parts.append(f"_not computed: {c.doctor_note}_")
        else:
            parts.append(markdown_findings(c.doctor_findings) if c.doctor_findings else "_nothing new_")
        parts.append("")
    parts.append("**Schema against the parent**")
    if c.schema_changes is None:
        parts.append(f"_not computed{': ' + c.schema_note if c.schema_note else ''}_")
    else:
        n = len(c.schema_changes)
        parts += _details(f"{n} change(s)", render_markdown(list(c.schema_changes))) if n else [render_markdown([])]
    parts.append("")
    if c.plan_output and c.plan_output.strip():
        parts += ["**`bbops plan`** (this PR changes `plans/`)", *_details("plan output", c.plan_output.strip()), ""]
    if c.run_url:
        parts.append(f"<sub>Updated by bbops in [this run]({c.run_url}).</sub>")
    return _finish(PREVIEW_MARKER, parts)


def render_closed(pr: int, branch: str | None, *, merged: bool = False, run_url: str | None = None) -> str:
    """The comment once the PR is closed and its preview deleted."""
    how = "merged" if merged else "closed"
    parts = [
        f"### Preview database for #{pr}: deleted",
        "",
        f"The pull request was {how}; "
        + (f"branch `{branch}` and its env vars were deleted." if branch else "its preview was deleted."),
    ]
    if run_url:
        parts += ["", f"<sub>Updated by bbops in [this run]({run_url}).</sub>"]
    return _finish(PREVIEW_MARKER, parts)


def render_plan(plan_output: str, *, changes: bool | None = None, run_url: str | None = None) -> str:
    """The comment that shows ``bbops plan`` for a PR touching ``plans/``."""
    head = {True: "changes to apply on merge", False: "no changes", None: "plan"}[changes]
    parts = [f"### `bbops plan`: {head}", "", plan_output.strip() or "_empty plan output_", ""]
    if run_url:
        parts.append(f"<sub>Updated by bbops in [this run]({run_url}).</sub>")
    return _finish(PLAN_MARKER, parts)


def run_url(environ: Mapping[str, str]) -> str | None:
    """The link to the current workflow run, from the runner's default variables."""
    server, repo, run = (environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


__all__ = [
    "PLAN_MARKER",
    "PREVIEW_MARKER",
    "PreviewComment",
    "render_closed",
    "render_plan",
    "render_preview",
    "run_url",
]
