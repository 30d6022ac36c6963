"""Who a preview is for: the pull request, validated before anything is touched."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bbops.errors import UsageError

MAX_PR = 2**31 - 1
# git check-ref-format, simplified to what Vercel accepts as a git branch.
_GIT_BRANCH = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)(?!.*@\{)(?!.*\.lock$)(?!.*/$)[^\x00-\x20~^:?*\[\\\x7f]{1,255}$")


@dataclass(frozen=True)
class PullRequest:
    number: int
    git_branch: str | None = None
    commit: str | None = None
    repo: str | None = None

    def annotations(self) -> dict[str, str]:
        out = {"pr": str(self.number)}
        for key, value in (("git_branch", self.git_branch), ("commit", self.commit), ("repo", self.repo)):
            if value:
                out[key] = value
        return out


def check_pr(number: int) -> int:
    if not isinstance(number, int) or number < 1 or number > MAX_PR:
        raise UsageError(f"invalid pull request number {number!r}: expected a positive integer")
    return number


def check_git_branch(name: str | None) -> str | None:
    if name is None:
        return None
    if not _GIT_BRANCH.match(name):
        raise UsageError(f"invalid git branch name {name!r}")
    return name
