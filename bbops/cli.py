"""The ``bbops`` command line: parsing and error mapping only.

Each area's commands live in ``bbops.commands.<area>`` and call typed functions
that do the work. Every ``BBopsError`` becomes its exit code and one clear
message on stderr; anything else is a bug (exit 3) reported without a
traceback unless ``BBOPS_DEBUG`` is set.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from bbops import __version__
from bbops.core import console, redact
from bbops.errors import BBopsError, Interrupted

# Command name -> the module that defines it (as a click command or group named so).
# Modules are imported only when their command runs, so `bbops preview ...` does not
# pay for importing the copy engine or the HTTP clients.
COMMANDS = {
    "validate": "bbops.commands.validate",
    "migrate": "bbops.commands.migrate",
    "preview": "bbops.commands.preview",
    "local": "bbops.commands.local",
    "comment": "bbops.commands.comment",
    "plan": "bbops.commands.infra",
    "apply": "bbops.commands.apply",
    "copy": "bbops.commands.copy",
    "verify": "bbops.commands.copy",
    "rollback": "bbops.commands.production",
    "production": "bbops.commands.production",
    "stream": "bbops.commands.stream",
    "doctor": "bbops.commands.doctor",
}


class BBopsGroup(click.Group):
    """A click group that loads commands lazily and maps bbops errors to exit codes in one place."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module = COMMANDS.get(name)
        if module is None:
            return None
        found = [c for c in importlib.import_module(module).COMMANDS if c.name == name]
        return found[0] if found else None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BBopsError as exc:
            _report(exc)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            console.error("interrupted")
            ctx.exit(Interrupted.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
            if os.environ.get("BBOPS_DEBUG"):
                raise
            console.error(
                f"internal error ({type(exc).__name__}): {redact.scrub(str(exc))}\n"
                "This is a bug in bbops; set BBOPS_DEBUG=1 for the traceback."
            )
            ctx.exit(3)


def _report(exc: BBopsError) -> None:
    from bbops.errors import PlanError

    if isinstance(exc, PlanError):
        for problem in exc.problems:
            console.say(problem.render(), stderr=True)
        console.error(f"{len(exc.problems)} problem(s) found")
    else:
        console.error(str(exc))
    if exc.hint:
        console.say(f"hint: {exc.hint}", stderr=True)


@click.group(cls=BBopsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="bbops")
def main() -> None:
    """GitOps for Postgres on Neon with apps on Vercel.

    Exit codes: 0 ok, 1 differences found, 2 bad usage or invalid plan,
    3 bug, 4 provider failure, 5 migration or step failure, 130 interrupted.
    """
    from bbops.github import runner as gha

    gha.install()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
