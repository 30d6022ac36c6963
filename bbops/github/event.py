"""Reading the pull request a workflow run is about from GitHub's event payload.

The runner writes the full webhook payload to the file named by
``GITHUB_EVENT_PATH`` and the event's name to ``GITHUB_EVENT_NAME``. Only
``pull_request`` and ``pull_request_target`` events describe a pull request;
for any other event (push, schedule, workflow_dispatch) there is none.

A pull request comes from a fork when its head repository is not the base
repository. Comparing full names is the reliable test: ``head.repo.fork`` is
also true for a branch inside a repository that is itself a fork, and
``head.repo`` is null when the fork was deleted after the PR was opened.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bbops.errors import UsageError

PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target")


@dataclass(frozen=True)
class PullRequestContext:
    """What bbops needs to know about the pull request a run is for."""

    number: int
    action: str  # opened | reopened | synchronize | closed | ...
    head_ref: str  # the PR's git branch, e.g. "feature/login"
    head_sha: str
    base_ref: str
    repo: str  # full name of the base repository, where the PR and its comments live
    head_repo: str | None  # full name of the head repository (None if the fork is gone)
    fork: bool
    merged: bool = False
    event_name: str = "pull_request"

    @property
    def closing(self) -> bool:
        return self.action == "closed"

    def annotations(self) -> dict[str, str]:
        """The branch annotations the preview lifecycle stores (see ``Branch.annotations``)."""
        return {"pr": str(self.number), "git_branch": self.head_ref, "commit": self.head_sha, "repo": self.repo}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _get(mapping: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(mapping, Mapping):
            return None
        mapping = mapping.get(key)
    return mapping


def _require_str(payload: Mapping[str, Any], *keys: str) -> str:
    value = _get(payload, *keys)
    if not isinstance(value, str) or not value:
        raise UsageError(f"the pull request event payload has no {'.'.join(keys)}")
    return value


def parse_pull_request(payload: Mapping[str, Any], event_name: str = "pull_request") -> PullRequestContext:
    """The ``PullRequestContext`` of a pull_request webhook payload (pure: no environment)."""
    pr = payload.get("pull_request") if isinstance(payload, Mapping) else None
    if not isinstance(pr, Mapping):
        raise UsageError("the event payload has no pull_request object")
    number = pr.get("number", payload.get("number"))
    if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
        raise UsageError(f"the pull request event payload has no valid number (got {number!r})")
    base_repo = _get(pr, "base", "repo", "full_name") or _get(payload, "repository", "full_name")
    if not isinstance(base_repo, str) or "/" not in base_repo:
        raise UsageError("the pull request event payload names no base repository")
    head_repo = _get(pr, "head", "repo", "full_name")
    head_repo = head_repo if isinstance(head_repo, str) else None
    return PullRequestContext(
        number=number,
        action=str(payload.get("action") or ""),
        head_ref=_require_str(pr, "head", "ref"),
        head_sha=_require_str(pr, "head", "sha"),
        base_ref=_require_str(pr, "base", "ref"),
        repo=base_repo,
        head_repo=head_repo,
        fork=head_repo is None or head_repo.lower() != base_repo.lower(),
        merged=bool(pr.get("merged")),
        event_name=event_name,
    )


def read_event(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON payload at ``path``; a clear ``UsageError`` if it is missing or not JSON."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"GITHUB_EVENT_PATH names a file that does not exist: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read the event payload {path}: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"the event payload {path} is not a JSON object")
    return data


def pull_request_from_env(environ: Mapping[str, str] | None = None) -> PullRequestContext | None:
    """The pull request this workflow run is about, or None outside a pull request event.

    ``bbops preview create/delete`` call this when ``--pr`` is not given.
    """
    env = os.environ if environ is None else environ
    event_name = env.get("GITHUB_EVENT_NAME", "")
    path = env.get("GITHUB_EVENT_PATH")
    if event_name not in PULL_REQUEST_EVENTS or not path:
        return None
    return parse_pull_request(read_event(path), event_name)


def pull_request_for(pr: int | None, environ: Mapping[str, str] | None = None) -> tuple[int, PullRequestContext | None]:
    """The PR to work on (``--pr``, else the event's) and the event when it is about that very PR."""
    event = pull_request_from_env(environ)
    number = pr if pr is not None else (event.number if event else None)
    if number is None:
        raise UsageError("pass --pr N (or run inside a pull_request workflow)")
    return number, (event if event is not None and event.number == number else None)
