"""The one module that speaks GitHub's runner protocol (workflow commands, outputs, summaries)."""

from __future__ import annotations

import os
import sys

from bbops import secrets


def active() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def add_mask(value: str) -> None:
    """Ask the runner to mask ``value`` in every log line from now on."""
    for line in value.splitlines() or [value]:
        if line.strip():
            sys.stdout.write(f"::add-mask::{_escape_data(line)}\n")
    sys.stdout.flush()


_installed = False


def install() -> None:
    """Hook the runner protocol into bbops when running inside GitHub Actions."""
    global _installed
    if _installed or not active():
        return
    _installed = True
    secrets.on_register(add_mask)


def error_annotation(file: str, line: int, col: int, message: str) -> None:
    """An ``::error`` annotation the runner attaches to ``file:line`` in the PR's diff."""
    sys.stdout.write(
        f"::error file={_escape_property(file)},line={line},col={col}::{_escape_data(secrets.scrub(message))}\n"
    )
    sys.stdout.flush()


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")
