"""A preview deployment is always built with its database, on a Vercel whose builds take time.

The stand-in: Vercel's Git integration starts building a pushed commit at once (20 s),
a redeploy takes 3 s, and a build reads the env vars when it starts. Time is the fakes'
clock, moved by bbops' own waits, so these tests take no wall time for it.
"""

from __future__ import annotations

import pytest

from bbops import preview
from bbops.plan import load_plan
from bbops.providers.vercel import VercelProject
from tests import REPO_ROOT
from tests.fakes.plugin import CloudFakes

PLAN = REPO_ROOT / "plans" / "bb-prodx.yaml"
DEPLOY = "/v13/deployments"
SHA1, SHA2 = "1" * 40, "2" * 40


@pytest.fixture(autouse=True)
def _no_runner(monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)


def _preview_value(fakes: CloudFakes, git_branch: str) -> str:
    return next(e["value"] for e in fakes.vercel.envs.values() if e.get("gitBranch") == git_branch)


def test_the_first_preview_of_a_pr_is_built_with_its_database(cloud_backend_pg, cloud_fakes_pg: CloudFakes):
    plan, vercel = load_plan(PLAN), cloud_fakes_pg.vercel
    vercel.build_seconds, vercel.redeploy_seconds = 20.0, 3.0
    git_build = vercel.git_push("feature/cart", SHA1)  # PR opened: the Git build starts before the database exists
    logged: list[str] = []
    report = preview.create(
        cloud_backend_pg, plan, preview.PullRequest(9, "feature/cart", SHA1, "bb/app"), log=logged.append
    )
    # The Git build read the env before bbops set it: bbops waited for it, then redeployed the head commit.
    assert "DATABASE_URL" not in vercel.env_of(git_build["uid"])
    assert vercel.count("POST", DEPLOY) == 1 and vercel.requests[-1].body["deploymentId"] == git_build["uid"]
    assert any("to finish building" in line for line in logged)  # progress while waiting
    assert report.deployment and report.deployment != git_build["uid"]
    cloud_fakes_pg.sleep(3)  # the redeploy finishes
    serving = vercel.serving("feature/cart")
    assert serving["uid"] == report.deployment and serving["meta"]["githubCommitSha"] == SHA1
    assert vercel.env_of(serving["uid"])["DATABASE_URL"] == _preview_value(cloud_fakes_pg, "feature/cart")

    # A re-run with nothing changed creates no deployment (and asks Vercel nothing about deployments).
    before = len(vercel.requests)
    again = preview.create(cloud_backend_pg, plan, preview.PullRequest(9, "feature/cart", SHA1, "bb/app"))
    assert again.deployment == report.deployment and again.env_changed == []
    assert not [r for r in vercel.requests[before:] if "deployments" in r.path]

    # A second push: its Git build starts after the env was set, so it carries the database; no redeploy.
    second = vercel.git_push("feature/cart", SHA2)
    pushed = preview.create(cloud_backend_pg, plan, preview.PullRequest(9, "feature/cart", SHA2, "bb/app"))
    assert pushed.deployment == second["uid"] and vercel.count("POST", DEPLOY) == 1
    cloud_fakes_pg.sleep(20)
    serving = vercel.serving("feature/cart")
    assert serving["meta"]["githubCommitSha"] == SHA2
    assert vercel.env_of(serving["uid"])["DATABASE_URL"] == _preview_value(cloud_fakes_pg, "feature/cart")


def test_an_older_commit_is_never_redeployed_over_the_head(cloud_backend_pg, cloud_fakes_pg: CloudFakes):
    plan, vercel = load_plan(PLAN), cloud_fakes_pg.vercel
    old = vercel.add_deployment(target=None, branch="feature/old", sha=SHA1)  # READY, before the env existed
    vercel.git_push("feature/old", SHA2)  # the head is still building
    report = preview.create(cloud_backend_pg, plan, preview.PullRequest(10, "feature/old", SHA2, "bb/app"))
    sources = [r.body["deploymentId"] for r in vercel.requests if r.method == "POST" and r.path == DEPLOY]
    assert old["uid"] not in sources and len(sources) == 1
    made = next(d for d in vercel.deployments if d["uid"] == report.deployment)
    assert made["meta"]["githubCommitSha"] == SHA2


def test_no_deployment_of_the_head_within_the_wait_records_nothing_and_a_rerun_retries(
    cloud_backend_pg, cloud_fakes_pg: CloudFakes, monkeypatch
):
    plan, vercel = load_plan(PLAN), cloud_fakes_pg.vercel
    monkeypatch.setattr(VercelProject, "appear_seconds", 60.0)
    request = preview.PullRequest(11, "feature/late", SHA1, "bb/app")
    report = preview.create(cloud_backend_pg, plan, request)  # Vercel never started a build (yet)
    assert report.deployment is None and vercel.count("POST", DEPLOY) == 0
    assert 60 <= sum(cloud_fakes_pg.sleeps) <= 60 + VercelProject.poll_max  # bounded
    build = vercel.git_push("feature/late", SHA1)  # the build came late (and after the env change)
    again = preview.create(cloud_backend_pg, plan, request)
    assert again.deployment == build["uid"] and vercel.count("POST", DEPLOY) == 0
