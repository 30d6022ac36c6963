"""The composite actions run the way a GitHub runner runs them.

Each test takes an action's bbops step from its ``action.yml``, fills its
``env:`` from the inputs (as the runner evaluates ``${{ inputs.x }}``), and
runs the script with ``bash -eo pipefail`` in a runner-shaped environment:
a real ``pull_request`` payload at ``GITHUB_EVENT_PATH``, fresh
``GITHUB_OUTPUT``/``GITHUB_ENV``/``GITHUB_STEP_SUMMARY`` files, and what a
step exports to ``GITHUB_ENV`` handed to the later steps of the job. bbops runs
as a subprocess on the local backend (a namespace of the test server); GitHub
is the stateful fake, served over HTTP on localhost.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests import REPO_ROOT
from tests.conftest import purge_local_backend
from tests.fakes.github import FakeGitHub, serve
from tests.fakes.github_fixtures import BASE_REPO, parse_runner_file, pull_request_payload

ROOT = REPO_ROOT
BIN = Path(sys.executable).parent
TOKEN = "ghs_" + "e" * 36
EXPR = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")

pytestmark = pytest.mark.slow


@dataclass
class Job:
    """One job on a fake runner: the workspace, the runner's files, env handed between steps."""

    workspace: Path
    temp: Path
    base_env: dict[str, str]
    exported: dict[str, str] = field(default_factory=dict)
    event_path: Path | None = None

    def event(self, payload: dict) -> None:
        self.event_path = self.temp / "event.json"
        self.event_path.write_text(json.dumps(payload))

    def run(
        self, name: str, caller_env: dict[str, str] | None = None, **inputs: str
    ) -> tuple[subprocess.CompletedProcess, dict[str, str], str]:
        """Run action ``name``'s bbops step; returns (process, outputs, summary).

        ``caller_env`` is the ``env:`` of the workflow step that uses the action (its secrets).
        """
        spec = yaml.safe_load((ROOT / "actions" / name / "action.yml").read_text())
        declared = spec.get("inputs", {})
        unknown = set(inputs) - {k.replace("-", "_") for k in declared}
        assert not unknown, f"{name} has no inputs {unknown}"
        github = {"github.token": TOKEN}
        values = {k: str(inputs.get(k.replace("-", "_"), v.get("default", ""))) for k, v in declared.items()}
        values = {k: EXPR.sub(lambda m: github[m.group(1)], v) for k, v in values.items()}  # defaults may use github.*
        context = {f"inputs.{k}": v for k, v in values.items()} | github
        step = spec["runs"]["steps"][-1]
        step_env = {k: EXPR.sub(lambda m: context[m.group(1)], str(v)) for k, v in (step.get("env") or {}).items()}
        files = {
            n: self.temp / f"{n.lower()}-{uuid.uuid4().hex[:6]}"
            for n in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY")
        }
        for path in files.values():
            path.touch()
        env = {
            **self.base_env,
            **self.exported,
            **{k: str(v) for k, v in files.items()},
            "GITHUB_EVENT_PATH": str(self.event_path or ""),
            "GITHUB_EVENT_NAME": "pull_request" if self.event_path else "workflow_dispatch",
            "GITHUB_ACTION_PATH": str(ROOT / "actions" / name),
            **(caller_env or {}),
            **step_env,
        }
        workdir = self.workspace / EXPR.sub(lambda m: context[m.group(1)], step.get("working-directory", "."))
        process = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        self.exported.update(parse_runner_file(files["GITHUB_ENV"]))
        return process, parse_runner_file(files["GITHUB_OUTPUT"]), files["GITHUB_STEP_SUMMARY"].read_text()


@pytest.fixture
def job(tmp_path, pg_server_url, monkeypatch) -> Job:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    shutil.copytree(ROOT / "plans", workspace / "plans")  # what actions/checkout would bring
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    local = {
        "BBOPS_LOCAL_DATABASE_URL": pg_server_url,
        "BBOPS_LOCAL_NAMESPACE": "e" + uuid.uuid4().hex[:6],
        "BBOPS_HOME": str(tmp_path / "state"),
    }
    for key, value in local.items():  # for the clean-up below, in this process
        monkeypatch.setenv(key, value)
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "RUNNER_", "NEON_", "VERCEL_", "BBOPS_"))
        and k not in ("DATABASE_URL", "GH_TOKEN")
    }
    base = {
        **keep,
        **local,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": BASE_REPO,
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_SERVER_URL": "https://github.test",
        "GITHUB_RUN_ID": "4242",
        "RUNNER_TEMP": str(temp),
    }
    yield Job(workspace, temp, base)
    purge_local_backend()


@pytest.fixture
def github(job):
    fake = FakeGitHub(token=TOKEN, per_page_max=2)
    with serve(fake) as url:
        job.base_env["GITHUB_API_URL"] = url
        yield fake


def add_migration(workspace: Path, tag: str, sql: str) -> None:
    """What a PR's new commit does: one more Drizzle migration in the journal."""
    folder = workspace / "plans" / "bb-prodx" / "drizzle"
    journal = json.loads((folder / "meta" / "_journal.json").read_text())
    last = journal["entries"][-1]
    journal["entries"].append({**last, "idx": last["idx"] + 1, "when": last["when"] + 1000, "tag": tag})
    (folder / "meta" / "_journal.json").write_text(json.dumps(journal, indent=2))
    (folder / f"{tag}.sql").write_text(sql)


def marked(github: FakeGitHub, number: int) -> list[dict]:
    return [c for c in github.on(BASE_REPO, number) if c["body"].startswith("<!-- bbops:preview -->")]


def test_preview_lifecycle_as_preview_yml_runs_it(job, github):
    pr = 900 + uuid.uuid4().int % 99
    for i in range(3):  # reviewers talked first: the bot's comment is on a later page
        github.seed(BASE_REPO, pr, f"review {i}")

    # opened: create the preview, then comment
    job.event(pull_request_payload("opened", number=pr, head_ref="feature/nickname"))
    create, outputs, summary = job.run("preview-create", backend="local")
    assert create.returncode == 0, create.stderr
    assert outputs["branch"] == f"preview/pr-{pr}" and outputs["created"] == "true"
    assert outputs["git-branch"] == "feature/nickname"
    report_path = outputs["report"]
    report = json.loads(Path(report_path).read_text())
    assert report["branch"] == f"preview/pr-{pr}" and report["parent"] == "development"
    url = job.exported["DATABASE_URL"]  # handed to later steps, masked first, never an output
    assert f"::add-mask::{url}" in create.stderr
    assert url not in create.stdout + json.dumps(outputs) + summary + Path(outputs["report"]).read_text()
    assert f"Preview for PR #{pr}" in summary

    comment, outputs, summary = job.run("comment", kind="preview", report=report_path, backend="local")
    assert comment.returncode == 0, comment.stderr
    (first,) = marked(github, pr)
    assert outputs["comment-id"] == str(first["id"])
    assert f"Preview database created for #{pr}" in first["body"]
    assert "No schema changes against the parent." in first["body"]
    assert "actions/runs/4242" in first["body"] and "Preview database created" in summary

    # synchronize: the PR's new commit adds a migration; the preview is refreshed, the comment edited
    add_migration(job.workspace, "0004_user_nickname", 'ALTER TABLE "users" ADD COLUMN "nickname" text;')
    job.event(pull_request_payload("synchronize", number=pr, head_ref="feature/nickname", head_sha="f" * 40))
    create, outputs, _ = job.run("preview-create", backend="local")
    assert create.returncode == 0, create.stderr
    assert outputs["created"] == "false" and outputs["migrations"] == "0004_user_nickname"
    comment, outputs, _ = job.run("comment", kind="preview", report=report_path, backend="local")
    assert comment.returncode == 0, comment.stderr
    (second,) = marked(github, pr)
    assert second["id"] == first["id"]
    assert "refreshed" in second["body"] and "- `0004_user_nickname`" in second["body"]
    assert "+ column public.users.nickname: text" in second["body"]
    assert "`ffffffffffff`" in second["body"]

    # closed: delete the preview, mark the comment closed
    job.event(pull_request_payload("closed", number=pr, head_ref="feature/nickname", merged=True))
    delete, _, _ = job.run("preview-delete", backend="local")
    assert delete.returncode == 0, delete.stderr
    again, _, _ = job.run("preview-delete", backend="local")  # a re-run finds it gone and succeeds
    assert again.returncode == 0, again.stderr
    comment, _, _ = job.run("comment", kind="preview", closed="true")
    assert comment.returncode == 0, comment.stderr
    (last,) = marked(github, pr)
    assert last["id"] == first["id"] and "merged" in last["body"]
    assert f"branch `preview/pr-{pr}` and its env vars were deleted" in last["body"]  # named from the plan
    assert len(github.on(BASE_REPO, pr)) == 4

    from bbops.providers.local import open_local_backend

    backend = open_local_backend()
    try:
        assert backend.branches.get_branch(f"preview/pr-{pr}") is None
        assert backend.env.list_env(git_branch="feature/nickname") == []
    finally:
        backend.close()
    # Only GITHUB_ENV (the hand-over to later steps) may hold the connection string.
    written = [p for p in job.temp.iterdir() if p.is_file() and not p.name.startswith("github_env")]
    everything = json.dumps(github.comments) + "".join(p.read_text() for p in written)
    assert TOKEN not in everything
    assert url not in everything


def test_fork_pull_request_gets_a_skip_message(job, github, tmp_path):
    job.event(pull_request_payload("opened", number=77, head_repo="stranger/bb-prodx"))
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"pr": 77, "branch": "preview/pr-77"}))
    comment, outputs, _ = job.run("comment", kind="preview", report=str(report))
    assert comment.returncode == 0
    assert "comes from a fork" in comment.stdout and outputs == {}
    assert github.requests == []


def test_validate_action_annotates_problems(job):
    ok, _, _ = job.run("validate")
    assert ok.returncode == 0, ok.stderr
    bad = job.workspace / "plans" / "broken.yaml"
    bad.write_text("version: 1\nneon:\n  project: {name: x, region: nowhere}\n")
    failed, _, _ = job.run("validate", paths="plans/broken.yaml")
    assert failed.returncode == 2
    assert "::error file=plans/broken.yaml,line=" in failed.stdout + failed.stderr


def test_plan_comment_as_plan_yml_runs_it(job, github, tmp_path):
    job.event(pull_request_payload("synchronize", number=55))
    plan_md = tmp_path / "plan.md"
    plan_md.write_text("| action | what |\n| --- | --- |\n| create | branch development |\n")
    comment, outputs, summary = job.run("comment", kind="plan", plan_output=str(plan_md), changes="true")
    assert comment.returncode == 0, comment.stderr
    (posted,) = github.on(BASE_REPO, 55)
    assert posted["body"].startswith("<!-- bbops:plan -->") and "| create | branch development |" in posted["body"]
    assert outputs["comment-id"] == str(posted["id"]) and "changes to apply on merge" in summary


def test_comment_action_rejects_an_unknown_kind(job):
    result, _, _ = job.run("comment", kind="weather")
    assert result.returncode == 2 and "kind must be preview or plan" in result.stdout


def test_plan_yml_flow_on_the_local_backend(job, github):
    job.event(pull_request_payload("synchronize", number=56))
    validated, _, _ = job.run("validate")
    assert validated.returncode == 0, validated.stderr
    planned, outputs, summary = job.run("plan", backend="local")
    assert planned.returncode == 0, planned.stderr
    assert outputs["changes"] == "true"  # a fresh local backend lacks the plan's long-lived branches
    report = Path(outputs["report"]).read_text()
    assert report.strip() and report.strip() in summary
    comment, _, _ = job.run("comment", kind="plan", plan_output=outputs["report"], changes=outputs["changes"])
    assert comment.returncode == 0, comment.stderr
    (posted,) = github.on(BASE_REPO, 56)
    assert posted["body"].startswith("<!-- bbops:plan -->") and report.strip().splitlines()[0] in posted["body"]
    assert "changes to apply on merge" in posted["body"]
    # gc.yml's drift job fails on the same difference
    drift, _, _ = job.run("plan", backend="local", fail_on_changes="true")
    assert drift.returncode == 1 and "::error title=Drift::" in drift.stdout


def test_migrate_and_verify_actions(job, make_database):
    target = make_database("e2e")
    folder = "plans/bb-prodx/drizzle"
    dry, _, _ = job.run("migrate", caller_env={"DATABASE_URL": target}, dir=folder, dry_run="true")
    assert dry.returncode == 0, dry.stderr
    assert "CREATE TABLE" in dry.stdout
    up, _, _ = job.run("migrate", caller_env={"DATABASE_URL": target}, dir=folder)
    assert up.returncode == 0, up.stderr
    again, _, _ = job.run("migrate", caller_env={"DATABASE_URL": target}, dir=folder)
    assert again.returncode == 0, again.stderr
    missing, _, _ = job.run("migrate", dir=folder)
    assert missing.returncode == 2 and "set DATABASE_URL" in missing.stdout

    import psycopg

    name = psycopg.conninfo.conninfo_to_dict(target)["dbname"]
    copy = make_database("e2e", template=name)
    same, _, _ = job.run("verify", caller_env={"OLD_DATABASE_URL": target, "DATABASE_URL": copy})
    assert same.returncode == 0, same.stdout + same.stderr
    with psycopg.connect(copy, autocommit=True) as conn:
        conn.execute("INSERT INTO categories (name, slug) VALUES ('Extra', 'extra')")
    differs, _, _ = job.run("verify", caller_env={"OLD_DATABASE_URL": target, "DATABASE_URL": copy})
    assert differs.returncode == 1, differs.stdout + differs.stderr
    assert "categories" in differs.stdout


def test_gc_and_apply_dry_runs_on_the_local_backend(job, make_database):
    # A preview makes the long-lived branches of the plan on first use.
    created, _, _ = job.run("preview-create", backend="local", pr="31", git_branch="feature/gc", export_env="")
    assert created.returncode == 0, created.stderr
    gc, _, _ = job.run("preview-gc", backend="local", dry_run="true")
    assert gc.returncode == 0, gc.stderr
    # apply.yml hands the old database's URLs to the steps from secrets (the copy's source, the cutover's undo)
    old = make_database("old")
    applied, _, _ = job.run(
        "apply",
        caller_env={
            "OLD_DATABASE_URL": old,
            "OLD_DATABASE_URL_POOLED": old,
            "APP_HEALTH_URL": "http://127.0.0.1:9/api/health",
        },
        backend="local",
        dry_run="true",
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "+ create vercel.env.production.DATABASE_URL" in applied.stdout
