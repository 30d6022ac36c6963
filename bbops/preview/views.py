"""The preview commands' results as reports (``bbops.core.report``): text for people, json, markdown.

Each view wraps what a lifecycle function returned and says it in every format; the commands
only pick the format. The markdown of a create is the job summary of the preview workflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bbops.core.report import TextOut
from bbops.preview.cleanup import DeleteReport, GcReport
from bbops.preview.lifecycle import PreviewReport
from bbops.providers.base import Branch


def carrier(report: PreviewReport) -> str:
    """Which deployment was built with the preview's env vars (its database), for people."""
    if report.deployment is None:
        return "none yet (a re-run redeploys once Vercel has built the head commit)" if report.env else "-"
    where = f" {report.deployment_url}" if report.deployment_url else ""
    state = f" ({report.deployment_state})" if report.deployment_state else ""
    return f"`{report.deployment}`{where}{state}"


@dataclass(frozen=True)
class CreateView:
    report: PreviewReport

    def as_dict(self) -> dict[str, Any]:
        return self.report.as_dict()

    def write_text(self, out: TextOut) -> None:
        r = self.report
        out.line(f"preview {r.branch} {'created' if r.created else 'refreshed'} for PR #{r.pr} (from {r.parent})")
        out.line(f"  host:       {r.host}")
        out.line(f"  database:   {r.database}")
        out.line(f"  expires:    {r.expires_at or 'never'}")
        out.line(f"  migrations: {', '.join(r.migrations) or 'none pending'}")
        if r.review:
            out.line(f"  review:     {r.review['verdict']['level']}: {r.review['verdict']['text']}")
        out.line(f"  seeds:      {', '.join(r.seeds) or 'none (already seeded)'}")
        out.line(f"  scrubbed:   {', '.join(r.scrubbed) or 'nothing'}")
        scope = f" (git branch {r.git_branch})" if r.git_branch else " (no git branch given: none set)"
        out.line(f"  env vars:   {', '.join(r.env) or 'none'}{scope}")
        out.line(f"  deployment: {carrier(r)}")
        out.line(f"  took:       {r.seconds:.2f}s")

    def markdown(self) -> str:
        r = self.report
        rows = "\n".join(
            f"| {k} | {v} |"
            for k, v in (
                ("branch", f"`{r.branch}` from `{r.parent}`"),
                ("host", r.host),
                ("migrations", ", ".join(r.migrations) or "none pending"),
                ("seeds", ", ".join(r.seeds) or "none"),
                ("scrubbed", ", ".join(r.scrubbed) or "nothing"),
                ("env vars", ", ".join(r.env) or "none"),
                ("deployment with this database", carrier(r)),
                ("expires", r.expires_at or "never"),
            )
        )
        return f"### Preview for PR #{r.pr}\n\n| | |\n|---|---|\n{rows}\n"


@dataclass(frozen=True)
class ResetView:
    report: PreviewReport

    def as_dict(self) -> dict[str, Any]:
        return self.report.as_dict()

    def write_text(self, out: TextOut) -> None:
        r = self.report
        out.line(
            f"preview {r.branch} reset to {r.parent}; migrations: "
            f"{', '.join(r.migrations) or 'none pending'}; scrubbed: {', '.join(r.scrubbed) or 'nothing'}"
        )


@dataclass(frozen=True)
class DeleteView:
    report: DeleteReport

    def as_dict(self) -> dict[str, Any]:
        return self.report.as_dict()

    def write_text(self, out: TextOut) -> None:
        r = self.report
        state = "deleted" if r.branch_deleted else "already gone"
        out.line(f"preview {r.branch}: branch {state}; {r.env_deleted} env var(s) deleted")
        if r.env_kept_for:
            prs = ", ".join(f"#{n}" for n in r.env_kept_for)
            out.line(f"env vars kept: PR {prs} previews the same git branch (they now point at its database)")


def age(then: datetime | None, now: datetime) -> str:
    if then is None:
        return "-"
    seconds = int((now - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if abs(seconds) >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def size(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


@dataclass(frozen=True)
class ListView:
    branches: Sequence[Branch]
    now: datetime

    def as_dict(self) -> list[dict[str, Any]]:
        return [
            {
                "pr": b.pr,
                "branch": b.name,
                "git_branch": b.annotations.get("git_branch"),
                "parent": b.parent,
                "created_at": b.created_at.isoformat() if b.created_at else None,
                "expires_at": b.expires_at.isoformat() if b.expires_at else None,
                "size_bytes": b.size_bytes,
            }
            for b in self.branches
        ]

    def write_text(self, out: TextOut) -> None:
        if not self.branches:
            out.line("no previews")
            return
        now = self.now
        out.table(
            ["PR", "branch", "git branch", "age", "expires in", "size"],
            [
                (
                    b.pr,
                    b.name,
                    b.annotations.get("git_branch", "-"),
                    age(b.created_at, now),
                    age(now, b.expires_at) if b.expires_at else "never",
                    size(b.size_bytes),
                )
                for b in self.branches
            ],
        )


@dataclass(frozen=True)
class GcView:
    report: GcReport

    def as_dict(self) -> dict[str, Any]:
        return self.report.as_dict()

    def write_text(self, out: TextOut) -> None:
        r = self.report
        verb = "would delete" if r.dry_run else "deleted"
        found = (
            ("expired", r.expired),
            ("orphan branch", r.orphan_branches),
            ("orphan env vars", r.orphan_env),
            ("past retention", r.pruned),
            ("streams ended", r.streams_ended),
        )
        for label, items in found:
            for item in items:
                out.line(f"{verb} {label}: {item}")
        if not any(items for _, items in found):
            out.line("nothing to clean up")
