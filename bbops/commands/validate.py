"""`bbops validate`: JSON Schema plus semantic checks over plan files, every problem at once."""

from __future__ import annotations

from pathlib import Path

import click

from bbops.commands.options import format_option
from bbops.core import console
from bbops.errors import PlanError, Problem
from bbops.github import runner as gha
from bbops.plan import display_path, plan_files, validate_file


def validate_paths(paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    files = plan_files(paths)
    problems: list[Problem] = []
    for f in files:
        problems += validate_file(f)
    return files, problems


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@format_option
def validate(paths: tuple[Path, ...], fmt: str) -> None:
    """Check plan files (default: every plan under plans/) against the schema and semantic rules.

    Exit 0 when every plan is valid, 2 when any problem is found.
    """
    files, problems = validate_paths(list(paths))
    if gha.active():
        for p in problems:
            gha.error_annotation(p.file, p.line, p.column, f"{p.field}: {p.message}" if p.field else p.message)
    if fmt == "json":
        console.emit_json(
            {
                "valid": not problems,
                "files": [display_path(f) for f in files],
                "problems": [p.as_dict() for p in problems],
            }
        )
        if problems:
            raise click.exceptions.Exit(PlanError.exit_code)
        return
    if problems:
        raise PlanError(problems)
    for f in files:
        console.say(f"ok: {display_path(f)}")


COMMANDS = [validate]
