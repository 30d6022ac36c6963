"""An `env` step and its target wired to a read replica and to another long-lived branch, applied on the
cloud fakes (branches as real databases): the infrastructure leaves the step's variables to it, sets the
rest, and `plan --check` is clean afterwards."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from bbops.cli import main
from tests.fakes.plugin import CloudFakes

PLAN = """\
version: 1
name: shop
neon:
  project: {name: shop, region: aws-eu-central-1, pg_version: 16}
  database: neondb
  role: neondb_owner
  branches:
    main: {default: true, protected: true, read_replicas: {count: 1}}
    development: {parent: main}
vercel:
  project: bb-prodx
  targets:
    production:
      branch: main
      env:
        DATABASE_URL: {connection: pooled, type: encrypted}
        DATABASE_READ_URL: {connection: pooled, endpoint: read_only, type: encrypted}
        SHADOW_DATABASE_URL: {connection: direct, branch: development, type: encrypted}
production:
  branch: main
  steps:
    - id: cutover-env
      kind: env
      target: production
      env:
        DATABASE_URL: {connection: pooled, type: encrypted}
        DATABASE_READ_URL: {connection: pooled, endpoint: read_only, type: encrypted}
"""
OLD_DB_URL = "postgresql://app:" + "o" * 14 + "@old-db.example/app"


@pytest.fixture
def shop(tmp_path, monkeypatch, cloud_fakes_pg: CloudFakes):
    (tmp_path / "shop.yaml").write_text(PLAN)
    monkeypatch.setenv("BBOPS_STATE_KEY", Fernet.generate_key().decode())
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_SHA"):
        monkeypatch.delenv(name, raising=False)
    cloud_fakes_pg.vercel.add_env("DATABASE_URL", OLD_DB_URL, type="encrypted", target=["production"])
    return tmp_path / "shop.yaml"


def run(fakes: CloudFakes, plan, *args: str):
    return CliRunner().invoke(main, [*args, "--plan", str(plan), "--backend", "cloud"], obj=fakes.transports)


def test_the_step_sets_the_replica_url_and_plan_check_is_clean_after(shop, cloud_fakes_pg: CloudFakes):
    neon, vercel = cloud_fakes_pg.neon, cloud_fakes_pg.vercel
    applied = run(cloud_fakes_pg, shop, "apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert "vercel.env.production.DATABASE_READ_URL: left to production step cutover-env" in applied.stdout
    assert "SHADOW_DATABASE_URL: left to" not in applied.stdout  # not the step's: set by the infrastructure
    assert "production: set DATABASE_URL, DATABASE_READ_URL from branch main" in applied.output

    (replica,) = [e for e in neon.endpoints.values() if e["type"] == "read_only"]
    assert replica["branch_id"] == neon.by_name("main")["id"]
    env = {e["key"]: e["value"] for e in vercel.envs.values() if e["target"] == ["production"]}
    # The fake tells a replica's URL (same database here) by the endpoint in its application_name.
    assert env["DATABASE_READ_URL"].endswith(f"application_name={replica['id']}")
    assert "application_name" not in env["DATABASE_URL"] and env["DATABASE_URL"] != OLD_DB_URL
    development = neon.databases.url(neon.by_name("development")["id"], "neondb", "neondb_owner", False)
    assert env["SHADOW_DATABASE_URL"] == development

    check = run(cloud_fakes_pg, shop, "plan", "--check", "--format", "json")
    assert check.exit_code == 0, check.output
    assert all(a["op"] == "no-op" for a in json.loads(check.stdout)["actions"])
    for out in (applied.output, check.output):
        assert env["DATABASE_READ_URL"] not in out and OLD_DB_URL not in out
