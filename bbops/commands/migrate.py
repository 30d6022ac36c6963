"""``bbops migrate up|status``: Drizzle migration folders against a database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bbops.commands.options import format_option, output_format, plan_option
from bbops.core import console, redact
from bbops.core.report import emit, emit_annotated
from bbops.drizzle.history import DRIZZLE_SCHEMA, DRIZZLE_TABLE
from bbops.drizzle.runner import migrate_status, migrate_up
from bbops.errors import DifferencesFound
from bbops.review import gate, reporters
from bbops.review.finding import Severity, blocks_at

_LEVELS = {"off": None, "warning": Severity.WARNING, "error": Severity.ERROR}

F = TypeVar("F", bound=Callable[..., Any])


def _common(f: F) -> F:
    f = click.option(
        "--migrations-table",
        default=DRIZZLE_TABLE,
        show_default=True,
        help="Drizzle's history table (drizzle.config `migrations.table`).",
    )(f)
    f = click.option(
        "--migrations-schema",
        default=DRIZZLE_SCHEMA,
        show_default=True,
        help="Schema of Drizzle's history table (drizzle.config `migrations.schema`).",
    )(f)
    f = format_option(f)
    f = click.option(
        "--dir",
        "folder",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("drizzle"),
        show_default=True,
        help="drizzle-kit's `out` folder (holds meta/_journal.json).",
    )(f)
    f = click.option(
        "--database-url",
        envvar="DATABASE_URL",
        required=True,
        metavar="URL",
        help="Target database (default: $DATABASE_URL). Use a direct, unpooled URL.",
    )(f)
    return f


@click.group("migrate")
def migrate() -> None:
    """Apply Drizzle migrations, compatible with drizzle-kit's own history."""


@migrate.command("up")
@_common
@click.option("--to", "to", metavar="TAG", help="Stop after this migration (a tag or a unique tag prefix).")
@click.option("--dry-run", is_flag=True, help="Print the SQL that would run, in order; change nothing.")
@click.option("--allow-changed", is_flag=True, help="Apply pending migrations despite edited or unknown applied ones.")
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for another run's migration lock.",
)
@click.option(
    "--lint",
    "lint_level",
    type=click.Choice(list(_LEVELS)),
    default="off",
    show_default=True,
    help="Refuse to run when a pending migration has a lint finding at this level (unless ignored with a reason).",
)
@plan_option
def up(
    database_url: str,
    folder: Path,
    fmt: str,
    migrations_schema: str,
    migrations_table: str,
    to: str | None,
    dry_run: bool,
    allow_changed: bool,
    lock_timeout: float,
    lint_level: str,
    plan_path: Path | None,
) -> None:
    """Apply pending migrations, each in its own transaction (or none, when it needs that)."""
    redact.register_url(database_url)
    level = _LEVELS[lint_level]
    folder, ignores = gate.plan_settings(folder, plan_path) if level else (folder, ())
    report = migrate_up(
        database_url,
        folder,
        to=to,
        dry_run=dry_run,
        allow_changed=allow_changed,
        lock_timeout=lock_timeout,
        on_event=lambda text: console.say(text, stderr=True),
        migrations_schema=migrations_schema,
        migrations_table=migrations_table,
        lint=level,
        lint_ignores=ignores,
    )
    emit(report, fmt)


@migrate.command("status")
@_common
def status(database_url: str, folder: Path, fmt: str, migrations_schema: str, migrations_table: str) -> None:
    """List applied, pending, changed and unknown migrations; exit 1 on drift."""
    redact.register_url(database_url)
    result = migrate_status(
        database_url, folder, migrations_schema=migrations_schema, migrations_table=migrations_table
    )
    emit(result, fmt)
    if result.drift:
        raise DifferencesFound(f"{len(result.changed)} changed and {len(result.unknown)} unknown applied migration(s)")


@migrate.command("lint")
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="drizzle-kit's `out` folder (default: the plan's preview.migrations, else ./drizzle).",
)
@plan_option
@output_format(*(f for f in reporters.FORMATS if f not in ("text", "json")))
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "never"]),
    default="error",
    show_default=True,
    help="Exit 1 when an active finding is at this level or worse.",
)
@click.option("--database-url", metavar="URL", help="Lint only the migrations pending on this database.")
@click.option("--rules", "list_rules", is_flag=True, help="Print the rules table (markdown) and exit.")
def lint(
    folder: Path | None, plan_path: Path | None, fmt: str, fail_on: str, database_url: str | None, list_rules: bool
) -> None:
    """Check migrations with the PostgreSQL parser for statements that lock live tables or break the deployment."""
    if list_rules:
        console.say(reporters.rules_table())
        return
    if database_url:
        redact.register_url(database_url)
    report = gate.lint_request(folder, plan_path, database_url)
    emit_annotated(reporters.LintView(report), fmt)
    refused = blocks_at(list(report.findings), _LEVELS.get(fail_on))
    if refused:
        raise DifferencesFound(f"{len(refused)} lint finding(s) at --fail-on {fail_on}: {reporters.summary(report)}")


COMMANDS = [migrate]
