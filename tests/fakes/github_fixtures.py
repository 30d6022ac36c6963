"""GitHub-runner-shaped test environments: pull_request payloads and runner files.

The payloads follow the shape of GitHub's ``pull_request`` webhook (the file
the runner writes to ``GITHUB_EVENT_PATH``): top-level ``action``, ``number``,
``pull_request`` (with ``head``/``base`` each carrying ``ref``, ``sha``,
``label`` and ``repo``), ``repository`` and ``sender``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BASE_REPO = "better-being/bb-prodx"


def _repo(full_name: str, *, fork: bool) -> dict[str, Any]:
    owner, name = full_name.split("/")
    return {
        "id": abs(hash(full_name)) % 10**9,
        "name": name,
        "full_name": full_name,
        "private": False,
        "fork": fork,
        "owner": {"login": owner, "type": "Organization"},
        "default_branch": "main",
        "html_url": f"https://github.com/{full_name}",
    }


def pull_request_payload(
    action: str,
    *,
    number: int = 42,
    head_ref: str = "feature/login",
    head_sha: str = "3f786850e387550fdab836ed7e6dc881de23001b",
    head_repo: str | None = BASE_REPO,
    merged: bool = False,
) -> dict[str, Any]:
    base = _repo(BASE_REPO, fork=False)
    head = None if head_repo is None else _repo(head_repo, fork=head_repo != BASE_REPO)
    head_owner = (head_repo or "ghost/deleted").split("/")[0]
    closed = action == "closed"
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "url": f"https://api.github.com/repos/{BASE_REPO}/pulls/{number}",
            "id": 1000 + number,
            "number": number,
            "state": "closed" if closed else "open",
            "locked": False,
            "title": "Add login page",
            "user": {"login": head_owner},
            "draft": False,
            "merged": merged,
            "merged_at": "2026-11-26T08:00:00Z" if merged else None,
            "closed_at": "2026-11-26T08:00:00Z" if closed else None,
            "head": {"label": f"{head_owner}:{head_ref}", "ref": head_ref, "sha": head_sha, "repo": head},
            "base": {
                "label": "better-being:main",
                "ref": "main",
                "sha": "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
                "repo": base,
            },
        },
        "repository": base,
        "sender": {"login": head_owner, "type": "User"},
    }


@dataclass
class Runner:
    """The files and variables a GitHub runner gives a step."""

    root: Path
    monkeypatch: pytest.MonkeyPatch

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def env_file(self) -> Path:
        return self.root / "env"

    @property
    def summary(self) -> Path:
        return self.root / "summary.md"

    def event(self, payload: dict[str, Any], name: str = "pull_request") -> Path:
        path = self.root / "event.json"
        path.write_text(json.dumps(payload), encoding="utf-8")
        self.monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))
        self.monkeypatch.setenv("GITHUB_EVENT_NAME", name)
        return path

    def outputs(self) -> dict[str, str]:
        return parse_runner_file(self.output)

    def exported(self) -> dict[str, str]:
        return parse_runner_file(self.env_file)


def parse_runner_file(path: Path) -> dict[str, str]:
    """Read a GITHUB_OUTPUT / GITHUB_ENV file the way the runner does (both forms)."""
    result: dict[str, str] = {}
    if not path.exists():
        return result
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            result[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        else:
            name, value = line.split("=", 1)
            result[name] = value
            i += 1
    return result


def make_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    root = tmp_path / "runner"
    root.mkdir()
    runner = Runner(root, monkeypatch)
    for path in (runner.output, runner.env_file, runner.summary):
        path.touch()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(runner.output))
    monkeypatch.setenv("GITHUB_ENV", str(runner.env_file))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(runner.summary))
    monkeypatch.setenv("GITHUB_REPOSITORY", BASE_REPO)
    monkeypatch.setenv("GITHUB_API_URL", "https://api.github.test")
    return runner
