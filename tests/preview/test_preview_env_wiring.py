"""A preview's env sources that take a shared long-lived branch's connection (`branch:`) or its read
replica's (`endpoint: read_only`), and what they cost the preview create path in Neon requests."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from bbops import preview
from bbops.core import redact
from bbops.plan import load_plan
from bbops.preview.env import connection_pooling, hand_out_env, preview_env
from tests import REPO_ROOT
from tests.fakes.plugin import CloudFakes

PLAN = REPO_ROOT / "plans" / "bb-prodx.yaml"
ENDPOINTS = r"/api/v2/projects/[^/]+/endpoints"

SHADOW = {"connection": "direct", "branch": "development", "type": "encrypted"}
DEV_READ = {"connection": "pooled", "branch": "development", "endpoint": "read_only", "type": "encrypted"}


@pytest.fixture(autouse=True)
def _no_runner(monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)


def plan_with(tmp_path: Path, *, drop: tuple[str, ...] = (), **preview_env_sources: dict) -> Path:
    """The BB-PRODX plan with more preview env vars (and a read replica on development for them)."""
    data = yaml.safe_load(PLAN.read_text())
    data["vercel"]["targets"]["preview"]["env"].update(preview_env_sources)
    for key in drop:
        del data["vercel"]["targets"]["preview"]["env"][key]
    data["neon"]["branches"]["development"]["read_replicas"] = {"count": 1}
    (tmp_path / "bb-prodx").symlink_to(PLAN.parent / "bb-prodx")
    path = tmp_path / "bb-prodx.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def host(endpoint: dict, pooled: bool) -> str:
    return endpoint["host"].replace(endpoint["id"], endpoint["id"] + "-pooler") if pooled else endpoint["host"]


def test_a_preview_takes_the_shared_branch_and_its_replica(tmp_path, cloud_backend, cloud_fakes: CloudFakes):
    neon = cloud_fakes.neon
    plan = load_plan(plan_with(tmp_path, SHADOW_DATABASE_URL=SHADOW, DEV_READ_URL=DEV_READ))
    dev = neon.by_name("development")
    replica = neon._add_endpoint(dev["id"], "read_only")
    mine = neon.add_branch("preview/pr-5", parent="development")
    env = {v.key: v for v in preview_env(cloud_backend, plan, "preview/pr-5", "feature/x")}
    assert set(env) == {"DATABASE_URL", "DATABASE_URL_UNPOOLED", "SHADOW_DATABASE_URL", "DEV_READ_URL"}
    assert all(v.git_branch == "feature/x" and v.targets == ("preview",) for v in env.values())
    own = next(e for e in neon.endpoints.values() if e["branch_id"] == mine["id"])
    dev_rw = next(e for e in neon.endpoints.values() if e["branch_id"] == dev["id"] and e["type"] == "read_write")
    assert urlsplit(env["DATABASE_URL"].value).hostname == host(own, pooled=True)  # its own branch, as before
    assert urlsplit(env["SHADOW_DATABASE_URL"].value).hostname == host(dev_rw, pooled=False)
    assert urlsplit(env["DEV_READ_URL"].value).hostname == host(replica, pooled=True)
    # Credentials by origin: every connection string is registered as a secret.
    for key in ("SHADOW_DATABASE_URL", "DEV_READ_URL"):
        assert redact.scrub(f"x {env[key].value} y") == "x *** y"


def test_the_preview_create_path_lists_endpoints_only_for_a_replica_source(
    tmp_path, cloud_backend_pg, cloud_fakes_pg: CloudFakes
):
    neon, vercel = cloud_fakes_pg.neon, cloud_fakes_pg.vercel
    # The shipped plan and a shared branch's connection: no endpoint listing (issue 11 counts requests).
    preview.create(cloud_backend_pg, load_plan(PLAN), preview.PullRequest(3, "feature/a", "a" * 40, "bb/app"))
    shadow_plan = load_plan(plan_with(tmp_path, SHADOW_DATABASE_URL=SHADOW))
    preview.create(cloud_backend_pg, shadow_plan, preview.PullRequest(4, "feature/b", "b" * 40, "bb/app"))
    assert neon.count("GET", ENDPOINTS) == 0
    scoped = {e["key"]: e["value"] for e in vercel.envs.values() if e.get("gitBranch") == "feature/b"}
    development = cloud_backend_pg.branches.connection("development", database="neondb", role="neondb_owner").url
    assert scoped["SHADOW_DATABASE_URL"] == development != scoped["DATABASE_URL_UNPOOLED"]


def test_a_replica_source_costs_one_listing(tmp_path, cloud_backend_pg, cloud_fakes_pg: CloudFakes):
    neon = cloud_fakes_pg.neon
    neon._add_endpoint(neon.by_name("development")["id"], "read_only")
    (tmp_path / "p").mkdir()
    plan = load_plan(
        plan_with(tmp_path / "p", DEV_READ_URL=DEV_READ, DEV_READ_DIRECT={**DEV_READ, "connection": "direct"})
    )
    preview.create(cloud_backend_pg, plan, preview.PullRequest(6, "feature/c", "c" * 40, "bb/app"))
    assert neon.count("GET", ENDPOINTS) == 1
    scoped = {e["key"] for e in cloud_fakes_pg.vercel.envs.values() if e.get("gitBranch") == "feature/c"}
    assert {"DEV_READ_URL", "DEV_READ_DIRECT"} <= scoped


def test_a_new_password_of_the_preview_leaves_the_shared_branchs_variable_as_it_is(
    tmp_path, cloud_backend, cloud_fakes: CloudFakes
):
    plan = load_plan(plan_with(tmp_path, SHADOW_DATABASE_URL=SHADOW))
    cloud_fakes.neon.add_branch("preview/pr-7", parent="development")
    first = hand_out_env(cloud_backend, plan, "preview/pr-7", "feature/s")
    assert first.changed == ["DATABASE_URL", "DATABASE_URL_UNPOOLED", "SHADOW_DATABASE_URL"]
    cloud_backend.branches.reset_role_password("preview/pr-7", role="neondb_owner")
    # The preview's own connection strings changed; development's did not, so it is compared, not rewritten.
    again = hand_out_env(cloud_backend, plan, "preview/pr-7", "feature/s", new_credentials=True)
    assert again.changed == ["DATABASE_URL", "DATABASE_URL_UNPOOLED"]


def test_the_connection_strings_read_ahead_are_the_previews_own(tmp_path):
    # Read while the password reset's operations run: only those of the preview's own branch.
    plan = load_plan(plan_with(tmp_path, drop=("DATABASE_URL_UNPOOLED",), SHADOW_DATABASE_URL=SHADOW))
    assert connection_pooling(plan) == {True}
