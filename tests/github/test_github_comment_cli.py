"""`bbops comment preview|plan` driven the way the workflow steps run them."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bbops.cli import main
from bbops.core.http import Transports
from bbops.github.comment import PLAN_MARKER, PREVIEW_MARKER
from tests.fakes.github import API, FakeGitHub
from tests.fakes.github_fixtures import BASE_REPO, make_runner, pull_request_payload

TOKEN = "ghs_" + "c" * 36


@pytest.fixture
def runner(tmp_path, monkeypatch):
    for name in ("NEON_API_KEY", "VERCEL_TOKEN", "DATABASE_URL", "GH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    r = make_runner(tmp_path, monkeypatch)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", API)
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.test")
    monkeypatch.setenv("GITHUB_RUN_ID", "777")
    return r


@pytest.fixture
def fake():
    return FakeGitHub(token=TOKEN, per_page_max=3)


def _report(tmp_path, **changes) -> str:
    report = {
        "pr": 42,
        "branch": "preview/pr-42",
        "parent": "development",
        "created": True,
        "host": "127.0.0.1",
        "database": "bb_preview_pr_42",
        "git_branch": "feature/login",
        "migrations": ["0000_init", "0001_indexes"],
        "seeds": [],
        "env": ["DATABASE_URL"],
        "expires_at": "2026-12-03T07:00:00+00:00",
    }
    report.update(changes)
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    return str(path)


def invoke(fake: FakeGitHub | None, *args: str):
    """Run bbops with GitHub's HTTP going to ``fake`` (None: nowhere reachable is needed)."""
    wired = Transports(github=fake.transport(), sleep=lambda _: None) if fake else None
    return CliRunner().invoke(main, list(args), catch_exceptions=False, obj=wired)


def test_opened_then_synchronize_updates_one_comment(runner, fake, tmp_path, capsys):
    for i in range(4):  # earlier discussion: the bot's comment lands on a later page
        fake.seed(BASE_REPO, 42, f"review {i}")
    runner.event(pull_request_payload("opened"))
    result = invoke(fake, "comment", "preview", "--report", _report(tmp_path), "--no-schema-diff")
    assert result.exit_code == 0, result.output
    assert "created comment https://github.test/" in result.stdout
    outputs = runner.outputs()
    first_id = outputs["comment-id"]
    assert outputs["comment-url"].endswith(f"#issuecomment-{first_id}")
    summary = runner.summary.read_text()
    assert "### Preview database created for #42" in summary and "- `0001_indexes`" in summary
    assert f"::add-mask::{TOKEN}" in result.stderr  # the token is masked before anything else

    runner.output.write_text("")
    runner.event(pull_request_payload("synchronize", head_sha="d" * 40))
    result = invoke(
        fake, "comment", "preview", "--report", _report(tmp_path, created=False, migrations=[]), "--no-schema-diff"
    )
    assert result.exit_code == 0, result.output
    assert "updated comment" in result.stdout
    assert runner.outputs()["comment-id"] == first_id
    marked = [c for c in fake.on(BASE_REPO, 42) if c["body"].startswith(PREVIEW_MARKER)]
    assert len(marked) == 1
    assert "refreshed" in marked[0]["body"] and "`dddddddddddd`" in marked[0]["body"]
    assert TOKEN not in json.dumps(fake.comments) + summary + result.output


def test_closed_marks_the_comment_and_delete_removes_it(runner, fake, tmp_path):
    runner.event(pull_request_payload("opened"))
    assert invoke(fake, "comment", "preview", "--report", _report(tmp_path), "--no-schema-diff").exit_code == 0
    runner.event(pull_request_payload("closed", merged=True))
    result = invoke(fake, "comment", "preview", "--report", _report(tmp_path))
    assert result.exit_code == 0, result.output
    (comment,) = fake.on(BASE_REPO, 42)
    assert "deleted" in comment["body"] and "merged" in comment["body"]
    result = invoke(fake, "comment", "preview", "--delete", "--format", "json")
    assert json.loads(result.stdout)["deleted"] == 1
    assert fake.on(BASE_REPO, 42) == []


def test_fork_pr_is_skipped_with_a_message(runner, fake, tmp_path):
    runner.event(pull_request_payload("opened", head_repo="stranger/bb-prodx"))
    result = invoke(fake, "comment", "preview", "--report", _report(tmp_path))
    assert result.exit_code == 0
    assert "skipped: #42 comes from a fork (stranger/bb-prodx)" in result.stdout
    assert fake.requests == [] and runner.outputs() == {}


def test_plan_comment(runner, fake, tmp_path):
    runner.event(pull_request_payload("synchronize"))
    plan = tmp_path / "plan.md"
    plan.write_text("| action | resource |\n| --- | --- |\n| update | neon project |\n")
    result = invoke(fake, "comment", "plan", "--plan-output", str(plan), "--changes")
    assert result.exit_code == 0, result.output
    (comment,) = fake.on(BASE_REPO, 42)
    assert comment["body"].startswith(PLAN_MARKER) and "| update | neon project |" in comment["body"]
    assert "changes to apply on merge" in comment["body"]
    assert "actions/runs/777" in comment["body"]


def test_dry_run_needs_no_token(runner, tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    result = invoke(
        None, "comment", "preview", "--pr", "42", "--report", _report(tmp_path), "--no-schema-diff", "--dry-run"
    )
    assert result.exit_code == 0
    assert result.stdout.startswith(PREVIEW_MARKER)


def test_forbidden_is_a_provider_failure_with_a_hint(runner, fake, tmp_path):
    runner.event(pull_request_payload("opened"))
    fake.fail("POST", ".*", status=403, message="Resource not accessible by integration")
    result = invoke(fake, "comment", "preview", "--report", _report(tmp_path), "--no-schema-diff")
    assert result.exit_code == 4
    assert "403" in result.stderr and "pull-requests: write" in result.stderr


def test_no_token_is_a_usage_error(runner, fake, tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN")
    result = invoke(fake, "comment", "preview", "--pr", "42", "--report", _report(tmp_path), "--no-schema-diff")
    assert result.exit_code == 2 and "GITHUB_TOKEN" in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["comment", "preview", "--report", "x.json"], "--pr N"),  # no event, no --pr
        (["comment", "preview", "--pr", "0", "--report", "x.json"], "invalid pull request number"),
        (["comment", "preview", "--pr", "3", "--repo", "nope", "--report", "x.json"], "owner/name"),
        (["comment", "preview", "--pr", "3", "--report", "missing.json"], "does not exist"),
    ],
)
def test_bad_input_exits_2(runner, fake, args, needle, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.json").write_text("{}")
    result = invoke(fake, *args)
    assert result.exit_code == 2, result.output
    assert needle in result.stderr


def test_not_a_report(runner, fake, tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"hello": 1}))
    result = invoke(fake, "comment", "preview", "--pr", "5", "--report", str(path))
    assert result.exit_code == 2 and "not a preview report" in result.stderr
