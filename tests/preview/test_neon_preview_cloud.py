"""The preview lifecycle, unchanged, on the cloud backend (fake Neon with real databases, fake Vercel)."""

from __future__ import annotations

import psycopg
import pytest

from bbops import preview
from bbops.plan import load_plan
from tests import REPO_ROOT
from tests.fakes.plugin import CloudFakes

PLAN = REPO_ROOT / "plans" / "bb-prodx.yaml"
BRANCHES = r"/api/v2/projects/[^/]+/branches"


@pytest.fixture(autouse=True)
def _no_runner(monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)


def test_create_and_delete_a_preview_through_failures(cloud_backend_pg, cloud_fakes_pg: CloudFakes):
    plan = load_plan(PLAN)
    neon, vercel = cloud_fakes_pg.neon, cloud_fakes_pg.vercel
    neon.fail("POST", BRANCHES, kind="drop_after")  # the branch is made, the reply lost
    neon.fail("GET", BRANCHES, status=429, headers={"Retry-After": "1"})
    report = preview.create(cloud_backend_pg, plan, preview.PullRequest(9, "feature/cart", "abc123", "bb/app"))
    assert report.branch == "preview/pr-9" and len(neon.named("preview/pr-9")) == 1
    url = cloud_backend_pg.branches.connection("preview/pr-9", database="neondb", role="neondb_owner", pooled=False).url
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from products").fetchone()[0] > 0
    scoped = [e for e in vercel.envs.values() if e.get("gitBranch") == "feature/cart"]
    assert sorted(e["key"] for e in scoped) == ["DATABASE_URL", "DATABASE_URL_UNPOOLED"]
    # Creating again refreshes: still one branch, still two vars, nothing rewritten.
    posts = vercel.count("POST", r"/v10/projects/[^/]+/env")
    preview.create(cloud_backend_pg, plan, preview.PullRequest(9, "feature/cart", "def456", "bb/app"))
    assert vercel.count("POST", r"/v10/projects/[^/]+/env") == posts
    assert len(neon.named("preview/pr-9")) == 1
    assert len([e for e in vercel.envs.values() if e.get("gitBranch") == "feature/cart"]) == 2

    neon.delete_out_of_band("preview/pr-9")  # someone deleted it in the console
    preview.delete(cloud_backend_pg, plan, 9, git_branch="feature/cart")
    assert not neon.named("preview/pr-9")
    assert not [e for e in vercel.envs.values() if e.get("gitBranch") == "feature/cart"]  # no leaked env var
