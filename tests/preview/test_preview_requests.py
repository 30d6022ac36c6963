"""Issue 11's request budget, on the fakes: a new preview in at most 12 requests, a refresh with nothing
changed in at most 6 (Neon and Vercel together, without faults; ``bench/preview_requests.py`` prints
the same counts). Each command gets its own backend, as each CLI run does: nothing is remembered
between them. Safety comes first: the counts are only worth something while the preview still gets
its own password, the operations are waited for and nothing is refused."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from bbops import preview
from bbops.plan import load_plan
from bbops.plan.model import Plan
from bbops.providers.cloud import open_cloud_backend
from tests import REPO_ROOT
from tests.fakes.base import Seen
from tests.fakes.plugin import CloudFakes

PLAN = REPO_ROOT / "plans" / "bb-prodx.yaml"
CREATE_BUDGET, REFRESH_BUDGET = 12, 6  # issue 11, without faults
SHA = "a" * 40


@pytest.fixture(autouse=True)
def _no_runner(monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)


def _kind(r: Seen) -> str:
    """``GET connection_uri``, ``POST branches/{branch}/roles/neondb_owner/reset_password``, ``GET /v6/deployments``."""
    if "/api/v2/" not in r.path:
        return f"{r.method} {r.path}"
    path = r.path.split("/projects/")[-1].partition("/")[2]
    path = re.sub(r"\bbr-[a-z0-9-]+", "{branch}", path)
    return f"{r.method} {re.sub(r'[0-9a-f]{8}-[0-9a-f-]{27}', '{operation}', path)}"


def _command(fakes: CloudFakes, plan: Plan, pr: int, git_branch: str, sha: str) -> tuple[list[Seen], object]:
    """One ``preview create`` with a backend of its own; the requests both fakes answered, in order."""
    before = len(fakes.neon.requests), len(fakes.vercel.requests)
    backend = open_cloud_backend(None, transports=fakes.transports)
    try:
        report = preview.create(backend, plan, preview.PullRequest(pr, git_branch, sha, "bb/app"))
    finally:
        backend.close()
    seen = fakes.neon.requests[before[0] :] + fakes.vercel.requests[before[1] :]
    return sorted(seen, key=lambda r: r.seq), report


def _within(seen: list[Seen], budget: int, waiting: Callable[[Seen], bool] = lambda r: False) -> None:
    counted = [r for r in seen if not waiting(r)]
    kinds = ", ".join(f"{n}x {k}" for k, n in sorted(Counter(_kind(r) for r in counted).items()))
    assert len(counted) <= budget, f"{len(counted)} requests, budget {budget}: {kinds}"
    assert all(r.status is not None and r.status < 400 for r in seen), [(_kind(r), r.status) for r in seen]


def _own_password(fakes: CloudFakes, branch: str, parent: str) -> None:
    neon = fakes.neon
    assert neon.passwords[neon.by_name(branch)["id"]] != neon.passwords[neon.by_name(parent)["id"]]
    assert not neon.running()  # every operation was waited for


def test_a_new_preview_and_a_refresh_stay_within_the_request_budget(cloud_fakes_pg: CloudFakes):
    fakes, plan = cloud_fakes_pg, load_plan(PLAN)
    fakes.vercel.git_push("feature/budget", SHA)
    fakes.clock.advance(30)  # the Git build is done: it is redeployed with the new env

    seen, report = _command(fakes, plan, 21, "feature/budget", SHA)
    _within(seen, CREATE_BUDGET)
    assert report.created and report.deployment and report.env_changed == ["DATABASE_URL", "DATABASE_URL_UNPOOLED"]
    _own_password(fakes, report.branch, report.parent)
    kinds = Counter(_kind(r) for r in seen)
    assert kinds["POST branches/{branch}/roles/neondb_owner/reset_password"] == 1
    assert kinds["POST /v13/deployments"] == 1

    seen, again = _command(fakes, plan, 21, "feature/budget", SHA)
    _within(seen, REFRESH_BUDGET)
    assert not again.created and again.env_changed == [] and again.deployment == report.deployment
    assert not [r for r in seen if r.method != "GET"]  # nothing changed, nothing written


def test_a_new_preview_while_the_git_build_runs_stays_within_the_budget(cloud_fakes_pg: CloudFakes):
    fakes = cloud_fakes_pg
    fakes.vercel.git_push("feature/building", SHA)  # 20 s to go: bbops waits for it, then redeploys

    seen, report = _command(fakes, load_plan(PLAN), 22, "feature/building", SHA)
    deployment_reads = [r for r in seen if r.method == "GET" and "/deployments" in r.path]
    # The waiting polls are bounded by time, not by this budget: every deployment lookup after the first.
    _within(seen, CREATE_BUDGET, waiting=lambda r: r in deployment_reads[1:])
    assert len(deployment_reads) > 1 and report.deployment
    _own_password(fakes, report.branch, report.parent)


def test_a_preview_made_by_another_run_after_the_listing_is_reused_not_doubled(cloud_fakes_pg: CloudFakes, monkeypatch):
    # The preview was not there when this run listed the branches; another run made it before this one
    # got the lock. The create is not preceded by a second listing: Neon's 409 tells, and it is reused.
    fakes, plan = cloud_fakes_pg, load_plan(PLAN)
    backend = open_cloud_backend(None, transports=fakes.transports)
    listing = backend.branches.list_branches

    def then_another_run() -> list:
        found = listing()
        if not fakes.neon.named("preview/pr-23"):
            fakes.neon.add_branch(
                "preview/pr-23", parent="development", annotations={"pr": "23", "git_branch": "feature/race"}
            )
            other = open_cloud_backend(None, transports=fakes.transports)  # the other run gives it its password
            try:
                other.branches.reset_role_password("preview/pr-23", role="neondb_owner")
            finally:
                other.close()
        return found

    monkeypatch.setattr(backend.branches, "list_branches", then_another_run)
    try:
        report = preview.create(backend, plan, preview.PullRequest(23, "feature/race", SHA, "bb/app"))
    finally:
        backend.close()
    assert not report.created and len(fakes.neon.named("preview/pr-23")) == 1
    assert fakes.neon.count("POST", r"/api/v2/projects/[^/]+/branches", status=409) == 1
    assert len(fakes.neon.password_resets) == 1  # the other run's: a reused preview with its own password keeps it


def _plan_with_a_literal_preview_var(tmp_path: Path) -> Path:
    text = PLAN.read_text().replace("bb-prodx/", f"{PLAN.parent}/bb-prodx/")
    last = "        DATABASE_URL_UNPOOLED: {connection: direct, type: encrypted}\n\npreview:"
    assert last in text
    literal = "        PREVIEW: {value: 'yes', type: plain}\n"
    path = tmp_path / "plan.yaml"
    path.write_text(text.replace(last, last.replace("\n\n", "\n" + literal + "\n")))
    return path


def test_the_env_listing_is_skipped_only_when_every_variable_holds_the_new_password(
    cloud_fakes_pg: CloudFakes, tmp_path: Path
):
    fakes = cloud_fakes_pg
    env_list = r"/v10/projects/[^/]+/env"
    seen, report = _command(fakes, load_plan(PLAN), 24, "feature/env", SHA)
    # Both variables are connection strings holding the password made just now: none can be stored yet.
    assert not [r for r in seen if r.method == "GET" and re.fullmatch(env_list, r.path)]
    assert report.env_changed == ["DATABASE_URL", "DATABASE_URL_UNPOOLED"]

    # A literal variable may already hold its value (here: another PR of the same git branch wrote it).
    plan = load_plan(_plan_with_a_literal_preview_var(tmp_path))
    _command(fakes, plan, 25, "feature/literal", SHA)
    seen, report = _command(fakes, plan, 26, "feature/literal", SHA)
    assert [r for r in seen if r.method == "GET" and re.fullmatch(env_list, r.path)]
    assert report.created and report.env_changed == ["DATABASE_URL", "DATABASE_URL_UNPOOLED"]  # PREVIEW kept
