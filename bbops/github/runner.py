"""The one module that speaks GitHub's runner protocol (workflow commands, outputs, summaries).

Workflow commands (``::add-mask::``, ``::error ...::``, ``::group::``) go to
stderr: the runner reads commands from both streams, and keeping them off
stdout leaves ``--format json`` output parseable when a step captures it.

Files the runner hands us (``GITHUB_OUTPUT``, ``GITHUB_ENV``,
``GITHUB_STEP_SUMMARY``) are appended to with the multi-line
``name<<DELIMITER`` form and a random delimiter, so a value can never end the
block early and smuggle in another variable. Outside Actions (the variable is
unset) every writer is a no-op that returns False.
"""

from __future__ import annotations

import os
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bbops.core import redact
from bbops.errors import BBopsError, UsageError
from bbops.github.event import PullRequestContext, parse_pull_request, pull_request_from_env, read_event

__all__ = [
    "PullRequestContext",
    "active",
    "add_mask",
    "annotate",
    "append_summary",
    "error_annotation",
    "export_env",
    "group",
    "install",
    "parse_pull_request",
    "pull_request_from_env",
    "read_event",
    "set_output",
]

# Secrets that reach bbops through the environment; masked as soon as the CLI starts.
SECRET_ENV = ("NEON_API_KEY", "VERCEL_TOKEN", "GITHUB_TOKEN", "GH_TOKEN")
SECRET_URL_ENV = ("DATABASE_URL", "DATABASE_URL_UNPOOLED", "OLD_DATABASE_URL", "BBOPS_LOCAL_DATABASE_URL")

_OUTPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def active() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _command(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def add_mask(value: str) -> None:
    """Ask the runner to mask ``value`` in every log line from now on."""
    # The runner masks line by line, so a multi-line secret is masked per line.
    for line in value.splitlines() or [value]:
        if line.strip():
            _command(f"::add-mask::{_escape_data(line)}")


def install() -> None:
    """Hook the runner protocol into bbops; safe to call once per CLI invocation.

    Registers the secrets bbops may read from the environment, and inside
    GitHub Actions masks every secret, known now or registered later, before
    anything else is printed. ``redact.on_register`` ignores a listener that
    is already registered, so repeated invocations in one process (tests) add
    no duplicate masks, and a ``redact.clear()`` between them is undone here.
    """
    if active():
        redact.on_register(add_mask)
    for name in SECRET_ENV:
        redact.register(os.environ.get(name))
    for name in SECRET_URL_ENV:
        redact.register_url(os.environ.get(name))


def _runner_file(variable: str) -> Path | None:
    path = os.environ.get(variable)
    return Path(path) if path else None


def _append_block(path: Path, name: str, value: str) -> None:
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    # A uuid4 colliding with the value is impossible in practice; check anyway, it costs nothing.
    if delimiter in value:  # pragma: no cover
        raise BBopsError("output value contains the generated delimiter")
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def set_output(name: str, value: str | int | bool) -> bool:
    """Set step output ``name`` (multi-line safe). Refuses values holding a secret.

    GitHub silently drops job outputs that contain a masked value, and step
    outputs end up in logs and other jobs: a secret never belongs there. Hand
    connection strings on with ``export_env`` (masked) instead.
    """
    if not _OUTPUT_NAME.match(name):
        raise UsageError(f"invalid GitHub output name {name!r}")
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if redact.scrub(text) != text:
        raise BBopsError(
            f"refusing to write output {name!r}: its value contains a secret "
            "(pass secrets to later steps with a masked environment variable)"
        )
    path = _runner_file("GITHUB_OUTPUT")
    if path is None:
        return False
    _append_block(path, name, text)
    return True


def export_env(name: str, value: str, *, mask: bool = True) -> bool:
    """Make ``name=value`` visible to the later steps of this job, masking the value first."""
    if not _ENV_NAME.match(name) or name.upper().startswith("GITHUB_") or name.upper() == "NODE_OPTIONS":
        raise UsageError(f"cannot export environment variable {name!r} to later steps")
    if mask:
        redact.register(value)
        if active():
            add_mask(value)  # also for values too short for the registry, and before the file is written
    path = _runner_file("GITHUB_ENV")
    if path is None:
        return False
    _append_block(path, name, value)
    return True


def append_summary(markdown: str) -> bool:
    """Append markdown (scrubbed of secrets) to this step's job summary."""
    path = _runner_file("GITHUB_STEP_SUMMARY")
    if path is None:
        return False
    text = redact.scrub(markdown)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text if text.endswith("\n") else text + "\n")
    return True


def annotate(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    title: str | None = None,
) -> bool:
    """Emit an ``::error``/``::warning``/``::notice`` annotation (only inside Actions)."""
    text = annotation_line(level, message, file=file, line=line, col=col, title=title)
    if not active():
        return False
    _command(text)
    return True


def annotation_line(
    level: str,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    col: int | None = None,
    title: str | None = None,
) -> str:
    """The ``::error file=...,line=...::message`` workflow command, escaped and scrubbed."""
    if level not in ("error", "warning", "notice"):
        raise ValueError(f"unknown annotation level {level!r}")
    props = []
    for key, val in (("file", file), ("line", line), ("col", col), ("title", title)):
        if val is not None and val != "":
            props.append(f"{key}={_escape_property(redact.scrub(str(val)))}")
    head = f"::{level} {','.join(props)}" if props else f"::{level}"
    return f"{head}::{_escape_data(redact.scrub(message))}"


def error_annotation(
    file: str | None, line: int | None, col: int | None, message: str, *, title: str | None = None
) -> bool:
    """An error annotation on ``file:line:col`` shown in the PR's diff and the run summary."""
    return annotate("error", message, file=file, line=line, col=col, title=title)


@contextmanager
def group(title: str) -> Iterator[None]:
    """Fold everything printed inside into one collapsible log group (inside Actions)."""
    if not active():
        yield
        return
    _command(f"::group::{_escape_data(redact.scrub(title))}")
    try:
        yield
    finally:
        _command("::endgroup::")
