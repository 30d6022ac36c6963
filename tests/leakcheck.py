"""A suite-wide check that no fake credential ever reaches what the CLI prints or writes.

The fakes register every token and password they hand out (``remember``). Every
``CliRunner.invoke`` in the suite is recorded: its stdout and stderr, and the
GitHub runner files it wrote to (outputs and step summaries; not ``GITHUB_ENV``,
whose whole point is to carry a masked secret to later steps). PR comment bodies
the GitHub fake stores are recorded too (``record``). When the session ends, any
recorded text holding a remembered secret fails the run, naming where it leaked.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

FAKE_SECRETS: set[str] = set()
RECORDED: list[tuple[str, str]] = []
_RUNNER_FILES = ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")


def remember(secret: str) -> str:
    if secret and len(secret) >= 8:
        FAKE_SECRETS.add(secret)
    return secret


def record(where: str, text: str) -> None:
    if text:
        RECORDED.append((where, text))


def leaks(recorded: list[tuple[str, str]] | None = None, secrets_: set[str] | None = None) -> list[str]:
    found = []
    for where, text in RECORDED if recorded is None else recorded:
        for secret in FAKE_SECRETS if secrets_ is None else secrets_:
            if secret in text:
                found.append(f"{where}: holds a fake secret ending in ...{secret[-4:]}")
    return found


_original_invoke = CliRunner.invoke


def _recording_invoke(self, cli, args=None, *a, **kw):
    env = {**os.environ, **(kw.get("env") or {}), **(self.env or {})}
    files = {name: Path(env[name]) for name in _RUNNER_FILES if env.get(name)}
    result = _original_invoke(self, cli, args, *a, **kw)
    label = "bbops " + " ".join(str(x) for x in (args or []))[:80]
    record(f"{label} (stdout)", result.stdout)
    # ValueError: stderr is mixed into stdout in this runner.
    with contextlib.suppress(ValueError):
        # `::add-mask::SECRET` is how the runner learns what to hide; it never shows the line.
        record(
            f"{label} (stderr)",
            "\n".join(line for line in result.stderr.splitlines() if not line.startswith("::add-mask::")),
        )
    for name, path in files.items():
        if path.is_file():
            record(f"{label} ({name})", path.read_text(errors="replace"))
    return result


def pytest_configure(config: pytest.Config) -> None:
    # method-assign: patching the class on purpose, so every CliRunner in the run records what it printed.
    CliRunner.invoke = _recording_invoke  # type: ignore[method-assign]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    found = leaks()
    if found:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter:
            reporter.write_line("SECRET LEAK CHECK FAILED:", red=True)
            for line in found[:50]:
                reporter.write_line(f"  {line}", red=True)
        session.exitstatus = 1
