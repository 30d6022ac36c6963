"""The BB-PRODX plan's production steps end to end on the local backend: migrate, copy from the old
database, verify, cut over, redeploy, health check; then undo the cutover with `bbops rollback --env --deployment`."""

from __future__ import annotations

import json

import httpx
import psycopg
from click.testing import CliRunner

from bbops.cli import main
from bbops.core import freeze, pg
from bbops.core.http import Transports
from bbops.preview.seed import run_seeds
from bbops.providers.base import EnvVar
from bbops.providers.local import open_local_backend
from tests import REPO_ROOT

ROOT = REPO_ROOT
PLAN = ROOT / "plans" / "bb-prodx.yaml"
APP = ROOT / "plans" / "bb-prodx"


def old_database(make_database) -> str:
    """The old production database as `drizzle-kit push` made it (not the migrations), with the seed's rows."""
    url = make_database("oldprod")
    with pg.connection(url) as conn:
        conn.execute((ROOT / "tests" / "production" / "old_database_push.sql").read_text())
        run_seeds(conn, [APP / "seed" / "01_catalogue.sql", APP / "seed" / "02_demo_users.sql"])
        conn.commit()
    return url


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetchall()
        ]
        return {t: conn.execute(f'SELECT count(*) FROM public."{t}"').fetchone()[0] for t in tables}


def test_bb_prodx_cutover_and_its_undo(local_env, make_database, monkeypatch, tmp_path):
    old = old_database(make_database)
    old_unpooled = old + ("&" if "?" in old else "?") + "application_name=unpooled"
    # The plan's undo of the cutover points back at these (pooled for the app, direct for tools).
    monkeypatch.setenv("OLD_DATABASE_URL_POOLED", old)
    monkeypatch.setenv("OLD_DATABASE_URL", old_unpooled)
    monkeypatch.setenv("APP_HEALTH_URL", "https://bb-prodx.example/api/health")
    health_calls: list[str] = []

    def health(request: httpx.Request) -> httpx.Response:
        health_calls.append(request.url.path)
        return httpx.Response(200, json={"ok": True})

    backend = open_local_backend()
    try:
        # Before the migration: production points at the old database, served by a first deployment.
        backend.branches.create_root("main", protected=True)  # the project exists; apply makes the rest
        backend.env.upsert_env(
            [
                EnvVar("DATABASE_URL", old, "sensitive", ("production",)),
                EnvVar("DATABASE_URL_UNPOOLED", old_unpooled, "sensitive", ("production",)),
            ]
        )
        first = backend.deployments.redeploy(target="production")
    finally:
        backend.close()

    runner = CliRunner()
    wired = Transports(health=httpx.MockTransport(health))  # the health endpoint, handed to each command
    dry = runner.invoke(
        main, obj=wired, args=["production", "apply", "--plan", str(PLAN), "--dry-run", "--format", "json"]
    )
    assert dry.exit_code == 0, dry.output
    assert [s["id"] for s in json.loads(dry.stdout)["steps"]] == [
        "schema",
        "freeze-old",
        "copy-from-old",
        "verify-copy",
        "success-criteria",
        "cutover-env",
        "cutover-redeploy",
        "cutover-health",
        "rotate-password",
    ]
    # The dry run estimates the copy: the old database's size per table the copy selects, and a timed sample.
    estimate = json.loads(dry.stdout)["estimates"]["copy-from-old"]
    assert estimate["error"] is None and estimate["sample_bytes"] > 0
    assert {t["table"] for t in estimate["tables"]} == {f"public.{t}" for t in counts(old)}
    text = runner.invoke(main, obj=wired, args=["apply", "--plan", str(PLAN), "--dry-run"])
    assert text.exit_code == 0, text.output
    assert "Copy estimate for copy-from-old:" in text.stdout and "at the source; " in text.stdout
    # `bbops apply`: the infrastructure first, then the steps; the cutover's env vars are left to its step.
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    applied = runner.invoke(main, obj=wired, args=["apply", "--plan", str(PLAN), "--auto-approve"])
    monkeypatch.delenv("GITHUB_STEP_SUMMARY")
    assert applied.exit_code == 0, applied.output
    steps = {row.split(" | ")[0].strip("| `"): row for row in summary.read_text().splitlines() if row.startswith("| `")}
    # The cutover says whose job the old database's credentials are; the local backend has no role
    # passwords to rotate, and the rotation says so instead of pretending.
    assert "rotate them in the old project yourself" in steps["cutover-env"]
    rotated = steps["rotate-password"]
    assert "| rotate | applied | skipped: the local backend reaches branch main as its own role" in rotated
    assert "there is no password of neondb_owner to reset" in rotated
    assert "vercel.env.production.DATABASE_URL: left to production step cutover-env" in applied.stdout
    assert "vercel.env.production.DATABASE_READ_URL: left to production step cutover-env" in applied.stdout
    # The local backend has no read replicas: the cutover says where the read URL points instead.
    assert "DATABASE_READ_URL: no read replicas on this backend: the branch's own connection (main)" in applied.output
    assert health_calls == ["/api/health"]

    backend = open_local_backend()
    try:
        main_url = backend.branches.connection("main", database="neondb", role="neondb_owner", pooled=False).url
        dev_url = backend.branches.connection("development", database="neondb", role="neondb_owner").url
        assert counts(main_url) == counts(old) and sum(counts(old).values()) > 0
        env = {v.key: v.value for v in backend.env.list_env(target="production")}
        assert env["DATABASE_URL"] == main_url and env["DATABASE_URL_UNPOOLED"] == main_url
        # No read replicas locally: the read URL is main's own; the shadow database is development's.
        assert env["DATABASE_READ_URL"] == main_url and env["SHADOW_DATABASE_URL"] == dev_url != main_url
        cutover = backend.deployments.current_production()
        assert cutover != first
    finally:
        backend.close()

    # A second apply has nothing to do.
    again = runner.invoke(main, obj=wired, args=["apply", "--plan", str(PLAN), "--auto-approve"])
    assert again.exit_code == 0 and "nothing pending (9 applied)" in again.output
    # The cutover step's variables (the read URL too) are what the target describes: no drift.
    check = runner.invoke(main, obj=wired, args=["plan", "--check", "--plan", str(PLAN)])
    assert check.exit_code == 0, check.output

    assert freeze.is_frozen(old)  # the old database stays read-only after the cutover
    # The cutover's undo: write freeze, env and deployment; the new database keeps its data.
    monkeypatch.delenv("APP_HEALTH_URL")  # health is checked only when the URL is known
    undo = runner.invoke(
        main, obj=wired, args=["rollback", "--to", "latest", "--env", "--deployment", "--plan", str(PLAN), "--yes"]
    )
    assert undo.exit_code == 2, undo.output  # the plan refers to ${APP_HEALTH_URL} for its health check
    assert "APP_HEALTH_URL" in undo.output and "env: done" not in undo.output  # refused before any part
    monkeypatch.setenv("APP_HEALTH_URL", "https://bb-prodx.example/api/health")
    undo = runner.invoke(
        main,
        obj=wired,
        args=["rollback", "--to", "latest", "--freeze", "--env", "--deployment", "--plan", str(PLAN), "--yes"],
    )
    assert undo.exit_code == 0, undo.output
    assert "freeze: done" in undo.stdout and not freeze.is_frozen(old)
    assert "env: done" in undo.stdout and "deployment: done" in undo.stdout and "health: done" in undo.stdout
    assert "data" not in undo.stdout.split("Rollback", 1)[1].split("\n")[1]
    backend = open_local_backend()
    try:
        env = {v.key: v.value for v in backend.env.list_env(target="production")}
        # The cutover's variables point back at the old database (its reads too); the shadow stays.
        assert env == {
            "DATABASE_URL": old,
            "DATABASE_URL_UNPOOLED": old_unpooled,
            "DATABASE_READ_URL": old,
            "SHADOW_DATABASE_URL": dev_url,
        }
        assert backend.deployments.current_production() == first
        assert counts(main_url) == counts(old)  # data untouched by an env/deployment rollback
    finally:
        backend.close()

    # The next push does not redo the cutover behind the rollback's back...
    later = runner.invoke(main, obj=wired, args=["apply", "--plan", str(PLAN), "--auto-approve"])
    assert later.exit_code == 0, later.output
    assert "left to production step cutover-env" in later.stdout
    backend = open_local_backend()
    try:
        assert {v.key: v.value for v in backend.env.list_env(target="production")}["DATABASE_URL"] == old
    finally:
        backend.close()
    # ...until the operator says the rollback is dealt with.
    later = runner.invoke(main, obj=wired, args=["apply", "--plan", str(PLAN), "--auto-approve", "--after-rollback"])
    assert later.exit_code == 0, later.output
    backend = open_local_backend()
    try:
        assert {v.key: v.value for v in backend.env.list_env(target="production")}["DATABASE_URL"] == main_url
    finally:
        backend.close()
    assert old not in undo.output and old not in applied.output  # secrets never printed
