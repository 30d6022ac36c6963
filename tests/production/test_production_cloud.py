"""Production steps and rollback on the cloud backend: stateful Neon/Vercel fakes, branches as real databases."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import psycopg
import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from bbops.cli import main
from bbops.drizzle.runner import migrate_up
from bbops.errors import DifferencesFound, MigrationError, UsageError
from bbops.plan import load_plan
from bbops.production.health import HealthChecker
from bbops.production.history import History, RunInfo
from bbops.production.rollback import RollbackFailed, rollback
from bbops.production.run import apply_production
from tests.production.test_production_local import write_migration

PLAN = """\
version: 1
name: shop
neon:
  project: {name: shop, region: aws-eu-central-1, pg_version: 16}
  database: neondb
  role: neondb_owner
  branches:
    main: {default: true, protected: true}
    development: {parent: main}
vercel:
  project: bb-prodx
  targets:
    production:
      branch: main
      env:
        DATABASE_URL: {connection: pooled, type: encrypted}
production:
  branch: main
  health_check: ${APP_HEALTH_URL}
  steps:
    - {id: schema, kind: migrations, dir: drizzle}
    - {id: seed, kind: sql, file: sql/seed.sql}
    - {id: copy-from-old, kind: copy, source: '${OLD_DATABASE_URL}', data_only: true, jobs: 1, tables: [users]}
    - {id: verify-copy, kind: verify, source: '${VERIFY_SOURCE_URL}', checksums: true}
    - id: cutover-env
      kind: env
      target: production
      env:
        DATABASE_URL: {connection: pooled, type: encrypted}
    - {id: cutover-redeploy, kind: redeploy, target: production}
    - {id: cutover-health, kind: check, url: '${APP_HEALTH_URL}', timeout_seconds: 5}
"""
ORDER = ["schema", "seed", "copy-from-old", "verify-copy", "cutover-env", "cutover-redeploy", "cutover-health"]
OLD_DB_URL = "postgresql://app:" + "o" * 14 + "@old-db.example/app"


class Health:
    """A health endpoint (MockTransport) and a clock that only moves when the checker sleeps."""

    def __init__(self) -> None:
        self.status = 200
        self.now = 0.0
        self.calls = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return httpx.Response(self.status)

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def checker(self) -> HealthChecker:
        return HealthChecker(httpx.MockTransport(self.handler), self.sleep, lambda: self.now)


@pytest.fixture
def shop(tmp_path, make_database, monkeypatch, cloud_fakes_pg):
    folder = tmp_path / "shop"
    write_migration(
        folder / "drizzle",
        0,
        "0000_users",
        "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, nickname text);\n"
        "--> statement-breakpoint\nCREATE TABLE products (id int PRIMARY KEY, title text NOT NULL);",
    )
    (folder / "sql").mkdir()
    (folder / "sql" / "seed.sql").write_text("INSERT INTO products VALUES (1, 'tea'), (2, 'honey');")
    (folder / "shop.yaml").write_text(PLAN)
    # The old database: the same app (same Drizzle history), its catalogue, and the users to move.
    old = make_database("old")
    migrate_up(old, folder / "drizzle")
    with psycopg.connect(old, autocommit=True) as conn:
        conn.execute("INSERT INTO products VALUES (1, 'tea'), (2, 'honey')")
        conn.execute("INSERT INTO users SELECT g, 'user ' || g, NULL FROM generate_series(1, 50) g")
    monkeypatch.setenv("OLD_DATABASE_URL", old)
    monkeypatch.setenv("VERIFY_SOURCE_URL", old)
    monkeypatch.setenv("APP_HEALTH_URL", "https://shop.example/api/health")
    monkeypatch.setenv("BBOPS_STATE_KEY", Fernet.generate_key().decode())
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_SHA"):
        monkeypatch.delenv(name, raising=False)
    cloud_fakes_pg.vercel.add_env("DATABASE_URL", OLD_DB_URL, type="encrypted", target=["production"])
    return folder


def _history(backend) -> History:
    return History(backend.branches.connection("main", database="neondb", role="neondb_owner", pooled=False).url)


def _statuses(backend) -> dict[str, str]:
    return {k: a.status for k, a in _history(backend).latest_attempts().items()}


def _prod_env(fakes) -> dict[str, str]:
    return {e["key"]: e["value"] for e in fakes.vercel.envs.values() if "production" in e["target"]}


def _break(kind: str, fakes, shop: Path, health: Health, monkeypatch, make_database) -> None:
    if kind == "migrations":
        write_migration(shop / "drizzle", 1, "0001_bad", "ALTER TABLE no_such_table ADD COLUMN x int;")
    elif kind == "sql":
        (shop / "sql" / "seed.sql").write_text("INSERT INTO products VALUES (1, 'tea'), (1, 'again');")
    elif kind == "copy":
        monkeypatch.setenv("OLD_DATABASE_URL", make_database("empty") + "_gone")
    elif kind == "verify":
        other = make_database("other")
        with psycopg.connect(other, autocommit=True) as conn:
            conn.execute("CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, nickname text)")
            conn.execute("CREATE TABLE products (id int PRIMARY KEY, title text NOT NULL)")
            conn.execute("INSERT INTO users VALUES (1, 'someone else', NULL)")
        monkeypatch.setenv("VERIFY_SOURCE_URL", other)
    elif kind == "env":
        fakes.vercel.fail_keys = {"DATABASE_URL": "a conflicting variable exists"}
    elif kind == "redeploy":
        fakes.vercel.fail("POST", r"/v13/deployments", status=500)
    elif kind == "check":
        health.status = 503


def _fix(kind: str, shop: Path, health: Health, monkeypatch) -> None:
    if kind == "migrations":
        (shop / "drizzle" / "0001_bad.sql").write_text("ALTER TABLE users ADD COLUMN x int;")
        import os

        migrate_up(os.environ["OLD_DATABASE_URL"], shop / "drizzle")  # the old app got the same migration
    elif kind == "sql":
        (shop / "sql" / "seed.sql").write_text("INSERT INTO products VALUES (1, 'tea'), (2, 'honey');")
    elif kind == "copy":
        import os

        monkeypatch.setenv("OLD_DATABASE_URL", os.environ["VERIFY_SOURCE_URL"])
    elif kind == "verify":
        import os

        monkeypatch.setenv("VERIFY_SOURCE_URL", os.environ["OLD_DATABASE_URL"])
    elif kind == "check":
        health.status = 200


STEP_OF = {
    "migrations": "schema",
    "sql": "seed",
    "copy": "copy-from-old",
    "verify": "verify-copy",
    "env": "cutover-env",
    "redeploy": "cutover-redeploy",
    "check": "cutover-health",
}


@pytest.mark.parametrize("kind", list(STEP_OF))
def test_a_failure_in_each_step_kind_stops_the_run_and_the_next_run_resumes_there(
    kind, shop, cloud_fakes_pg, cloud_backend_pg, monkeypatch, make_database
):
    fakes, backend, health = cloud_fakes_pg, cloud_backend_pg, Health()
    _break(kind, fakes, shop, health, monkeypatch, make_database)
    plan = load_plan(shop / "shop.yaml")
    step = STEP_OF[kind]
    with pytest.raises(MigrationError, match=rf"step {step} \({kind}\) failed") as exc:
        apply_production(backend, plan, health=health.checker(), run=RunInfo("1", "c" * 40, "ci"))
    assert exc.value.exit_code == 5
    at = ORDER.index(step)
    statuses = _statuses(backend)
    assert statuses == {**dict.fromkeys(ORDER[:at], "applied"), step: "failed"}
    assert _history(backend).latest_attempts()[step].error  # why it failed is recorded
    if at < ORDER.index("cutover-env"):
        assert _prod_env(fakes)["DATABASE_URL"] == OLD_DB_URL  # nothing after the failed step ran

    _fix(kind, shop, health, monkeypatch)
    plan = load_plan(shop / "shop.yaml")
    report = apply_production(backend, plan, health=health.checker(), run=RunInfo("2", "c" * 40, "ci"))
    assert [s.id for s in report.steps] == ORDER[at:]
    assert all(s.status == "applied" for s in report.steps)
    if kind != "check":  # the same commit's point is reused, not retaken over half-applied state
        assert report.restore_point == "bbops-rp-ccccccc" and not report.restore_point_taken
    else:  # only a check is left: nothing changes, no restore point needed
        assert report.restore_point is None
    if kind == "copy":
        assert "(resumed)" in report.steps[0].detail
    assert set(_statuses(backend).values()) == {"applied"}
    assert _prod_env(fakes)["DATABASE_URL"] != OLD_DB_URL


def test_drift_of_an_applied_step_stops_before_anything_runs(shop, cloud_fakes_pg, cloud_backend_pg):
    health = Health()
    plan = load_plan(shop / "shop.yaml")
    apply_production(cloud_backend_pg, plan, health=health.checker())
    text = (shop / "shop.yaml").read_text().replace("timeout_seconds: 5", "timeout_seconds: 9")
    text += "    - {id: later, kind: redeploy, target: production}\n"
    (shop / "shop.yaml").write_text(text)
    deployments = len(cloud_fakes_pg.vercel.deployments)
    with pytest.raises(DifferencesFound, match="cutover-health") as exc:
        apply_production(cloud_backend_pg, load_plan(shop / "shop.yaml"), health=health.checker())
    assert exc.value.exit_code == 1
    assert len(cloud_fakes_pg.vercel.deployments) == deployments and "later" not in _statuses(cloud_backend_pg)


def test_cloud_needs_the_state_key_before_changing_anything(shop, cloud_fakes_pg, cloud_backend_pg, monkeypatch):
    monkeypatch.delenv("BBOPS_STATE_KEY")
    with pytest.raises(UsageError, match="BBOPS_STATE_KEY is not set"):
        apply_production(cloud_backend_pg, load_plan(shop / "shop.yaml"), health=Health().checker())
    assert not _history(cloud_backend_pg).exists()
    assert [b["name"] for b in cloud_fakes_pg.neon.branches.values()] == ["main", "development"]


def test_rollback_whose_first_part_fails_attempts_nothing_else(shop, cloud_fakes_pg, cloud_backend_pg):
    fakes, backend, health = cloud_fakes_pg, cloud_backend_pg, Health()
    before = fakes.vercel.project["targets"]["production"]["id"]
    plan = load_plan(shop / "shop.yaml")
    apply_production(backend, plan, health=health.checker(), run=RunInfo("1", "d" * 40, "ci"))
    after_env, after_deploy = _prod_env(fakes), fakes.vercel.project["targets"]["production"]["id"]
    assert after_deploy != before
    fakes.neon.fail("POST", r".*/branches/[a-z0-9-]+/restore", status=500)
    with pytest.raises(RollbackFailed) as exc:
        rollback(backend, plan, "latest", health=health.checker())
    report = exc.value.report
    assert [(p.name, p.status) for p in report.parts] == [
        ("data", "failed"),
        ("env", "not attempted"),
        ("deployment", "not attempted"),
        ("health", "not attempted"),
    ]
    assert "done: nothing; not attempted: env, deployment, health" in str(exc.value)
    assert exc.value.exit_code == 5
    # Exactly as the report says: nothing changed.
    assert _prod_env(fakes) == after_env
    assert fakes.vercel.project["targets"]["production"]["id"] == after_deploy
    assert _history(backend).outstanding_rollback() is None
    assert health.calls == 1  # only the apply's check step; the rollback never got to its health check


def test_rollback_on_neon_restores_data_env_and_deployment(shop, cloud_fakes_pg, cloud_backend_pg):
    fakes, backend, health = cloud_fakes_pg, cloud_backend_pg, Health()
    before = fakes.vercel.project["targets"]["production"]["id"]
    plan = load_plan(shop / "shop.yaml")
    apply_production(backend, plan, health=health.checker(), run=RunInfo("1", "e" * 40, "ci"))
    assert "bbops-rp-eeeeeee" in {b["name"] for b in fakes.neon.branches.values()}
    report = rollback(backend, plan, "bbops-rp-eeeeeee", health=health.checker())
    assert [(p.name, p.status) for p in report.parts] == [
        ("data", "done"),
        ("env", "done"),
        ("deployment", "done"),
        ("health", "done"),
    ]
    restore = fakes.neon.restores[-1]
    assert restore["source_branch_id"] == fakes.neon.by_name("bbops-rp-eeeeeee")["id"]
    assert restore["preserve_under_name"].startswith("main-before-rollback-")
    assert _prod_env(fakes) == {"DATABASE_URL": OLD_DB_URL}
    assert fakes.vercel.project["targets"]["production"]["id"] == before
    # The data is as before the first step: no users table; the history knows the rollback.
    url = backend.branches.connection("main", database="neondb", role="neondb_owner", pooled=False).url
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('public.users')").fetchone() == (None,)
    assert _history(backend).outstanding_rollback().restore_point == "bbops-rp-eeeeeee"


def test_rollback_cli_reports_the_state_when_a_part_fails(shop, cloud_fakes_pg, cloud_backend_pg, monkeypatch):
    plan = load_plan(shop / "shop.yaml")
    apply_production(cloud_backend_pg, plan, health=Health().checker(), run=RunInfo("1", "f" * 40, "ci"))
    cloud_fakes_pg.vercel.fail_keys = {"DATABASE_URL": "quota exceeded"}
    result = CliRunner().invoke(
        main,
        [
            "rollback",
            "--yes",
            "--to",
            "latest",
            "--env",
            "--deployment",
            "--backend",
            "cloud",
            "--plan",
            str(shop / "shop.yaml"),
            "--format",
            "json",
        ],
        obj=cloud_fakes_pg.transports,
    )
    assert result.exit_code == 5, result.output
    data = json.loads(result.stdout)
    assert [(p["name"], p["status"]) for p in data["parts"]] == [
        ("env", "failed"),
        ("deployment", "not attempted"),
        ("health", "not attempted"),
    ]
    assert "quota exceeded" in data["parts"][0]["error"] and data["ok"] is False
    assert "not attempted: deployment, health" in result.stderr
