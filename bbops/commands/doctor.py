"""``bbops doctor``: a read-only health report of a database (see bbops/doctor)."""

from __future__ import annotations

from pathlib import Path

import click

from bbops.commands.options import backend_option, output_format, plan_option, transports
from bbops.core.report import emit_rich
from bbops.errors import DifferencesFound, UsageError


@click.command("doctor")
@click.option("--database-url", envvar="DATABASE_URL", metavar="URL", help="The database (default: $DATABASE_URL).")
@click.option("--branch", metavar="NAME", help="Instead of a URL: the app's database on this branch of the plan.")
@click.option("--compare", "compare_url", metavar="URL", help="Check version, extension and setting parity with it.")
@click.option(
    "--queries",
    type=click.Path(path_type=Path, dir_okay=False),
    help="SQL file of the app's queries to EXPLAIN (default: the plan's check steps' `queries:` with --branch).",
)
@output_format("markdown")
@click.option(
    "--fail-on",
    type=click.Choice(["warning", "error"]),
    help="Exit 1 when a finding is at least this severe.",
)
@click.option(
    "--session-seconds",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Report queries running, or transactions idle, for longer than this.",
)
@plan_option
@backend_option
def doctor(
    database_url: str | None,
    branch: str | None,
    compare_url: str | None,
    queries: Path | None,
    fmt: str,
    fail_on: str | None,
    session_seconds: float,
    plan_path: Path | None,
    backend: str,
) -> None:
    """Report what slows or endangers the database: indexes, keys, bloat, vacuum, limits, sessions, queries.

    Read-only and safe on production. Exit 1 with --fail-on when a finding is that severe.
    """
    from bbops.doctor import Limits, Severity, run_doctor
    from bbops.doctor.progress import NoProgress, default_progress
    from bbops.doctor.render import DoctorView, summary
    from bbops.doctor.target import resolve_target

    source = click.get_current_context().get_parameter_source("database_url")
    if branch and database_url and source is click.core.ParameterSource.COMMANDLINE:
        raise UsageError("pass --database-url or --branch, not both")
    url, probes = resolve_target(database_url, branch, queries, plan_path, backend, transports() if branch else None)
    report = run_doctor(
        url,
        limits=Limits(session_seconds=session_seconds),
        probes=probes,
        compare_url=compare_url,
        progress=default_progress() if fmt == "text" else NoProgress(),
    )
    emit_rich(DoctorView(report), fmt)
    failing = report.failing(Severity(fail_on) if fail_on else None)
    if failing:
        raise DifferencesFound(f"{len(failing)} finding(s) at or above {fail_on}: {summary(report)}")


COMMANDS = [doctor]
