"""Which folder and ignores a lint uses, and ``migrate up --lint``: refuse findings before running anything."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from bbops.drizzle.journal import Journal
from bbops.errors import BBopsError, DifferencesFound
from bbops.plan.model import LintIgnore
from bbops.review.finding import Finding, Severity, blocks_at
from bbops.review.lint import LintReport, lint_folder, lint_migrations

DEFAULT_DIR = Path("drizzle")


class LintRefused(DifferencesFound):
    """``migrate up --lint``: a pending migration has an active finding at the refused level."""


def plan_settings(folder: Path | None, plan_path: Path | None) -> tuple[Path, tuple[LintIgnore, ...]]:
    """The folder to lint and the plan's ignores for it.

    An explicit ``--plan`` must load. Without one, the repository's one plan is
    used when it exists and its ``preview.migrations`` is this folder (or no
    folder was given); otherwise there are no plan ignores.
    """
    from bbops.plan import default_plan_path, load_plan

    if plan_path is not None:
        plan = load_plan(plan_path)
    else:
        try:
            plan = load_plan(default_plan_path())
        except BBopsError:
            return folder or DEFAULT_DIR, ()
    preview = plan.preview
    if preview is None or preview.migrations is None:
        return folder or DEFAULT_DIR, ()
    if folder is None or folder.resolve() == preview.migrations:
        return preview.migrations, preview.lint_ignores
    return folder, ()


def check_pending(
    journal: Journal, tags: Collection[str], level: Severity | None, ignores: Sequence[LintIgnore] = ()
) -> list[Finding]:
    """Raise ``LintRefused`` when a migration about to run has an active finding at ``level`` or worse."""
    if level is None or not tags:
        return []
    findings, _, _ = lint_migrations(journal.migrations, ignores=ignores, only=set(tags))
    refused = blocks_at(findings, level)
    if refused:
        listed = "\n  ".join(f"{f.location}: {f.severity} {f.rule}: {f.message}" for f in refused)
        raise LintRefused(
            f"migrate up --lint {level}: {len(refused)} finding(s) in pending migrations, nothing was applied:\n"
            f"  {listed}",
            hint="fix the migration (`bbops migrate lint` shows the safe rewrite), or add "
            "`-- bbops:ignore <rule-id> <reason>` to the file when it is safe",
        )
    return findings


def lint_request(folder: Path | None, plan_path: Path | None, database_url: str | None = None) -> LintReport:
    """``bbops migrate lint``: the folder (and the plan's ignores), every migration or the pending ones."""
    from bbops.drizzle.runner import migrate_status

    folder, ignores = plan_settings(folder, plan_path)
    only = None
    if database_url:
        only = {s.tag for s in migrate_status(database_url, folder).pending if s.tag}
    return lint_folder(folder, ignores=ignores, only=only)
