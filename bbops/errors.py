"""One exception root for everything bbops reports to a user.

Each subclass carries the process exit code the CLI returns for it. Only
``bbops.cli`` catches these; everything else raises and lets them travel.

Exit codes (documented in the README):

    0   ok
    1   a check found differences (drift, verification mismatch, plan --check)
    2   bad usage or an invalid plan
    3   an unexpected bug in bbops
    4   a provider (Neon, Vercel, GitHub) or the local backend failed
    5   a migration, copy or production step failed
    130 interrupted
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class BBopsError(Exception):
    """Root of every error bbops reports; ``exit_code`` is what the CLI returns."""

    exit_code: int = 3

    def __init__(self, message: str = "", *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class DifferencesFound(BBopsError):
    """A check ran fine and found differences (drift, a verification mismatch)."""

    exit_code = 1


class UsageError(BBopsError):
    """The user asked for something that cannot work as asked."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One finding about a plan file, located in the YAML it came from."""

    file: str
    line: int
    column: int
    field: str
    message: str

    def render(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.field or '<root>'}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": self.message,
        }


class PlanError(UsageError):
    """A plan file is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0].render() if self.problems else "invalid plan"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(first + more)


class ProviderError(BBopsError):
    """A call to Neon, Vercel, GitHub or the local backend failed.

    The message names the method, path, status and the service's own message, and
    never a token or a password: callers build it from redacted parts only.
    """

    exit_code = 4

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        parts = [p for p in (method, path) if p]
        where = " ".join(parts)
        if status is not None:
            where = f"{where} -> {status}" if where else str(status)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)


class MigrationError(BBopsError):
    """A migration, copy or production step failed; the target is left consistent."""

    exit_code = 5


class LockTimeout(MigrationError):
    """Another run holds the lock we need and did not release it in time."""


class Interrupted(BBopsError):
    exit_code = 130
