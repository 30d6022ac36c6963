"""bbops.github.publish: `bbops comment preview|plan` as functions, with GitHub faked (no CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bbops.core.http import Transports
from bbops.core.report import as_text
from bbops.github.comment import PLAN_MARKER, PREVIEW_MARKER
from bbops.github.event import PullRequestContext
from bbops.github.publish import Drafted, Published, Skipped, Target, comment_plan, comment_preview
from tests.fakes.github import API, FakeGitHub
from tests.fakes.github_fixtures import BASE_REPO

TOKEN = "ghs_" + "p" * 36
RUN = {"GITHUB_SERVER_URL": "https://github.test", "GITHUB_REPOSITORY": BASE_REPO, "GITHUB_RUN_ID": "9"}


def _event(action: str = "opened", *, fork: bool = False, merged: bool = False) -> PullRequestContext:
    head = "stranger/bb-prodx" if fork else BASE_REPO
    return PullRequestContext(42, action, "feature/x", "e" * 40, "main", BASE_REPO, head, fork, merged)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", API)
    return FakeGitHub(token=TOKEN)


def _wired(fake: FakeGitHub) -> Transports:
    return Transports(github=fake.transport(), sleep=lambda _: None)


def _report(tmp_path: Path, **changes: object) -> Path:
    data = {"pr": 42, "branch": "preview/pr-42", "parent": "development", "created": True, "migrations": ["0001_a"]}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(data | changes))
    return path


def test_a_forks_pr_is_skipped_before_anything_is_read_or_sent(fake: FakeGitHub):
    target = Target(BASE_REPO, 42, _event(fork=True))
    result = comment_preview(target, report=Path("missing.json"), transports=_wired(fake))
    assert isinstance(result, Skipped) and fake.requests == []
    assert as_text(result) == (
        "skipped: #42 comes from a fork (stranger/bb-prodx); its workflow token cannot write comments"
    )
    assert result.as_dict() == {"pr": 42, "repo": BASE_REPO, "skipped": as_text(result)}
    assert isinstance(comment_plan(target, plan_output=Path("missing.md"), transports=_wired(fake)), Skipped)


def test_a_dry_run_drafts_the_body_and_sends_nothing(fake: FakeGitHub, tmp_path: Path):
    target = Target(BASE_REPO, 42, _event())
    result = comment_preview(
        target, report=_report(tmp_path), schema_diff=False, dry_run=True, transports=_wired(fake), environ=RUN
    )
    assert isinstance(result, Drafted) and fake.requests == []
    assert as_text(result) == result.body and result.body.startswith(PREVIEW_MARKER)
    assert "`eeeeeeeeeeee`" in result.body and "actions/runs/9" in result.body
    assert result.as_dict()["body"] == result.body


def test_the_comment_is_created_then_updated_and_deleted_once_the_pr_closes(fake: FakeGitHub, tmp_path: Path):
    target = Target(BASE_REPO, 42, _event())
    first = comment_preview(target, report=_report(tmp_path), schema_diff=False, transports=_wired(fake))
    assert isinstance(first, Published) and as_text(first).startswith("created comment https://")
    again = comment_preview(target, report=_report(tmp_path), schema_diff=False, transports=_wired(fake))
    assert (
        as_text(again).startswith("updated comment") and again.as_dict()["comment_id"] == first.as_dict()["comment_id"]
    )

    closed = Target(BASE_REPO, 42, _event("closed", merged=True))
    marked = comment_preview(closed, report=None, plan_path=tmp_path / "none.yaml", transports=_wired(fake))
    (comment,) = fake.on(BASE_REPO, 42)
    assert "merged" in comment["body"] and as_text(marked).startswith("updated comment")
    gone = comment_preview(closed, report=_report(tmp_path), delete=True, transports=_wired(fake))
    assert as_text(gone) == f"deleted 1 bbops comment(s) on {BASE_REPO}#42" and fake.on(BASE_REPO, 42) == []


def test_an_open_pr_needs_the_preview_report(fake: FakeGitHub):
    from bbops.errors import UsageError

    with pytest.raises(UsageError, match="--report is required"):
        comment_preview(Target(BASE_REPO, 42, _event()), report=None, transports=_wired(fake))


def test_a_schema_diff_that_cannot_be_computed_becomes_a_note(
    fake: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    target = Target(BASE_REPO, 42, None)
    result = comment_preview(
        target, report=_report(tmp_path), plan_path=tmp_path / "none.yaml", dry_run=True, transports=_wired(fake)
    )
    assert isinstance(result, Drafted) and "none.yaml" in result.body
    assert "warning: schema diff not computed:" in capsys.readouterr().err
    no_parent = comment_preview(target, report=_report(tmp_path, parent=None), dry_run=True, transports=_wired(fake))
    assert isinstance(no_parent, Drafted) and "the report names no parent branch" in no_parent.body


def test_the_plan_comment_carries_the_plan_output(fake: FakeGitHub, tmp_path: Path):
    plan = tmp_path / "plan.md"
    plan.write_text("| action | resource |\n| --- | --- |\n| create | branch dev |\n")
    result = comment_plan(Target(BASE_REPO, 42, None), plan_output=plan, changes=False, transports=_wired(fake))
    assert isinstance(result, Published) and as_text(result).startswith("created comment")
    (comment,) = fake.on(BASE_REPO, 42)
    assert comment["body"].startswith(PLAN_MARKER) and "| create | branch dev |" in comment["body"]
    assert "no changes" in comment["body"]
