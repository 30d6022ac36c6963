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


def test_the_preview_lock_never_touches_the_production_branch(cloud_backend_pg, cloud_fakes_pg: CloudFakes):
    # Locking on production would wake its compute for every preview and fail under its IP allowlist.
    neon = cloud_fakes_pg.neon
    preview.create(cloud_backend_pg, load_plan(PLAN), preview.PullRequest(12, "feature/lock", "c" * 40, "bb/app"))
    asked = [r.params.get("branch_id") for r in neon.requests if r.path.endswith("/connection_uri")]
    assert asked and neon.by_name("main")["id"] not in asked and None not in asked
    assert neon.by_name("development")["id"] in asked


def test_a_full_project_is_refused_before_anything_is_created(cloud_backend_pg, cloud_fakes_pg: CloudFakes):
    from bbops.errors import ProviderError

    neon, vercel = cloud_fakes_pg.neon, cloud_fakes_pg.vercel
    for n in range(8):  # main, development and eight more: the free plan's 10
        neon.add_branch(f"bbops-rp-{n:07d}", parent="main", endpoint=False)
    with pytest.raises(ProviderError) as err:
        preview.create(cloud_backend_pg, load_plan(PLAN), preview.PullRequest(13, "feature/full", "d" * 40, "bb/app"))
    assert "10 branches" in str(err.value) and "allows 10" in str(err.value) and err.value.exit_code == 4
    assert "bbops gc" in (err.value.hint or "")
    assert neon.count("POST", BRANCHES) == 0 and not vercel.count("POST", r"/v10/projects/[^/]+/env")


def _plan_with_preview_compute(tmp_path, compute: str):
    text = PLAN.read_text().replace("bb-prodx/", f"{PLAN.parent}/bb-prodx/")
    text = text.replace("  ttl_days: 7\n", "  ttl_days: 7\n" + compute)
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return path


def test_previews_get_the_plans_preview_compute(cloud_backend_pg, cloud_fakes_pg: CloudFakes, tmp_path):
    path = _plan_with_preview_compute(
        tmp_path, "  compute:\n    autoscaling: {min_cu: 0.25, max_cu: 0.5}\n    suspend_timeout_seconds: 120\n"
    )
    preview.create(cloud_backend_pg, load_plan(path), preview.PullRequest(14, "feature/small", "e" * 40, "bb/app"))
    neon = cloud_fakes_pg.neon
    branch_id = neon.by_name("preview/pr-14")["id"]
    (compute,) = [e for e in neon.endpoints.values() if e["branch_id"] == branch_id]
    assert (compute["autoscaling_limit_min_cu"], compute["autoscaling_limit_max_cu"]) == (0.25, 0.5)
    assert compute["suspend_timeout_seconds"] == 120


def test_a_preview_compute_range_upside_down_names_the_field(tmp_path):
    from bbops.plan import validate_file

    path = _plan_with_preview_compute(tmp_path, "  compute:\n    autoscaling: {min_cu: 2, max_cu: 1}\n")
    problems = validate_file(path)
    assert [p.field for p in problems] == ["preview.compute.autoscaling.min_cu"]
    assert "above max_cu" in problems[0].message and problems[0].line
