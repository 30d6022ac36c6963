"""`bbops validate`: JSON Schema plus semantic checks over plan files, every problem at once."""

from __future__ import annotations

from pathlib import Path

import click

from bbops.commands.options import format_option
from bbops.core import report
from bbops.errors import PlanError
from bbops.plan.validation import validate_plans


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@format_option
def validate(paths: tuple[Path, ...], fmt: str) -> None:
    """Check plan files (default: every plan under plans/) against the schema and semantic rules.

    Exit 0 when every plan is valid, 2 when any problem is found.
    """
    result = validate_plans(list(paths))
    report.annotate(result)  # in Actions: an ::error annotation on each problem's line
    report.emit(result, fmt)
    if not result.valid:
        # The problems' text form is the error the CLI prints (stderr); json has said them already.
        raise PlanError(list(result.problems)) if fmt == "text" else click.exceptions.Exit(PlanError.exit_code)


COMMANDS = [validate]
