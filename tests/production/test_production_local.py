"""Production steps and rollback on the embedded local backend, against a real Postgres."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import psycopg
import pytest
from click.testing import CliRunner

from bbops.cli import main
from bbops.errors import DifferencesFound, MigrationError, UsageError
from bbops.plan import load_plan
from bbops.production.health import HealthChecker
from bbops.production.history import History, RunInfo
from bbops.production.rollback import rollback
from bbops.production.run import apply_production
from bbops.providers.base import EnvVar
from bbops.providers.local import open_local_backend

PLAN = """\
version: 1
name: shop
neon:
  project: {{name: shop, region: aws-eu-central-1, pg_version: 16}}
  database: neondb
  role: neondb_owner
  branches:
    main: {{default: true, protected: true}}
production:
  branch: main
  steps:
{steps}
"""
SCHEMA = "    - {id: schema, kind: migrations, dir: drizzle}\n"
SEED = "    - {id: seed, kind: sql, file: sql/seed.sql}\n"
ENV = (
    "    - id: app-env\n      kind: env\n      target: production\n      env:\n"
    "        DATABASE_URL: {connection: pooled, type: encrypted}\n"
    "        FEATURE_FLAGS: {value: v2, type: plain}\n"
)
REDEPLOY = "    - {id: ship, kind: redeploy, target: production}\n"


def write_migration(folder: Path, idx: int, tag: str, sql: str) -> None:
    (folder / "meta").mkdir(parents=True, exist_ok=True)
    journal_path = folder / "meta" / "_journal.json"
    journal = (
        json.loads(journal_path.read_text())
        if journal_path.exists()
        else {"version": "7", "dialect": "postgresql", "entries": []}
    )
    journal["entries"].append(
        {"idx": idx, "version": "7", "when": 1730000000000 + idx * 1000, "tag": tag, "breakpoints": True}
    )
    journal_path.write_text(json.dumps(journal))
    (folder / f"{tag}.sql").write_text(sql)


def write_plan(folder: Path, steps: str) -> Path:
    path = folder / "shop.yaml"
    path.write_text(PLAN.format(steps=steps))
    return path


@pytest.fixture
def backend(local_env):
    be = open_local_backend()
    be.branches.create_root("main", protected=True)
    yield be
    be.close()


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


def make_app(tmp_path: Path) -> Path:
    """A tiny app: one migration making `users`, a seed, and a production env var pointing elsewhere."""
    folder = tmp_path / "app"
    write_migration(
        folder / "drizzle",
        0,
        "0000_users",
        "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, nickname text);",
    )
    (folder / "sql").mkdir()
    (folder / "sql" / "seed.sql").write_text(
        "INSERT INTO users VALUES (1, 'Ada', 'countess'), (2, 'Grace', 'amazing');"
    )
    return folder


def query(backend, sql: str) -> list[tuple]:
    url = backend.branches.connection("main", database="neondb", role="neondb_owner", pooled=False).url
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def columns(backend) -> list[str]:
    return [
        r[0]
        for r in query(
            backend,
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position",
        )
    ]


def prod_env(backend) -> dict[str, str]:
    return {v.key: v.value for v in backend.env.list_env(target="production")}


def test_destructive_migration_and_env_change_roll_back(backend, app, monkeypatch):
    old_url = "postgresql://app:" + "s" * 12 + "@old-db.example/app"
    backend.env.upsert_env([EnvVar("DATABASE_URL", old_url, "encrypted", ("production",))])
    first_deploy = backend.deployments.redeploy(target="production")

    plan = load_plan(write_plan(app, SCHEMA + SEED))
    first = apply_production(backend, plan, run=RunInfo("1", "a" * 40, "ci"))
    assert [s.status for s in first.steps] == ["applied", "applied"]
    assert first.restore_point == "bbops-rp-aaaaaaa" and first.restore_point_taken

    # The next merge: a migration dropping a column, an env change and a redeploy.
    write_migration(app / "drizzle", 1, "0001_drop_nickname", "ALTER TABLE users DROP COLUMN nickname;")
    plan = load_plan(write_plan(app, SCHEMA + SEED + ENV + REDEPLOY))
    second = apply_production(backend, plan, run=RunInfo("2", "b" * 40, "ci"))
    assert [(s.id, s.status) for s in second.steps] == [
        ("schema", "applied"),
        ("app-env", "applied"),
        ("ship", "applied"),
    ]
    assert second.restore_point == "bbops-rp-bbbbbbb"
    assert "nickname" not in columns(backend)
    assert prod_env(backend)["DATABASE_URL"] != old_url and prod_env(backend)["FEATURE_FLAGS"] == "v2"
    assert backend.deployments.current_production() != first_deploy
    # The previous value is stored sealed, never in clear.
    sealed = query(backend, "SELECT sealed_value FROM bbops.undo_records WHERE key = 'DATABASE_URL'")
    assert sealed and all(old_url not in (row[0] or "") for row in sealed)

    report = rollback(backend, plan, "latest", run=RunInfo("3", "b" * 40, "ci"))
    assert [(p.name, p.status) for p in report.parts] == [("data", "done"), ("env", "done"), ("deployment", "done")]
    assert "nickname" in columns(backend)
    assert query(backend, "SELECT id, nickname FROM users ORDER BY id") == [(1, "countess"), (2, "amazing")]
    assert prod_env(backend) == {"DATABASE_URL": old_url}  # FEATURE_FLAGS did not exist before: deleted
    assert backend.deployments.current_production() == first_deploy
    # The rolled-back state stays inspectable.
    kept = [s.name for s in backend.branches.list_snapshots() if s.name.startswith("main-before-rollback-")]
    assert len(kept) == 1

    # The next push does not silently re-run what was rolled back...
    with pytest.raises(UsageError, match="rolled back to bbops-rp-bbbbbbb"):
        apply_production(backend, plan, run=RunInfo("4", "b" * 40, "ci"))
    # ...unless told to.
    again = apply_production(backend, plan, run=RunInfo("5", "b" * 40, "ci"), after_rollback=True)
    assert [s.id for s in again.steps] == ["schema", "app-env", "ship"]
    assert "nickname" not in columns(backend)


def test_failed_step_stops_the_run_and_the_next_run_starts_there(backend, app):
    (app / "sql" / "broken.sql").write_text("UPDATE users SET name = NULL;")
    steps = SCHEMA + SEED + "    - {id: broken, kind: sql, file: sql/broken.sql}\n" + REDEPLOY
    plan = load_plan(write_plan(app, steps))
    with pytest.raises(MigrationError, match=r"step broken \(sql\) failed: .*null value") as exc:
        apply_production(backend, plan, run=RunInfo("1", None, "ci"))
    assert exc.value.exit_code == 5
    attempts = History(backend.branches.connection("main", database="d", role="r").url).latest_attempts()
    assert {k: a.status for k, a in attempts.items()} == {"schema": "applied", "seed": "applied", "broken": "failed"}
    assert "ship" not in attempts
    (app / "sql" / "broken.sql").write_text("UPDATE users SET name = upper(name);")
    plan = load_plan(write_plan(app, steps))
    report = apply_production(backend, plan, run=RunInfo("2", None, "ci"))
    assert [s.id for s in report.steps] == ["broken", "ship"]
    assert query(backend, "SELECT name FROM users ORDER BY id") == [("ADA",), ("GRACE",)]


def test_drift_of_an_applied_step_stops_before_anything_runs(backend, app):
    plan = load_plan(write_plan(app, SCHEMA + SEED))
    apply_production(backend, plan)
    (app / "sql" / "seed.sql").write_text("INSERT INTO users VALUES (3, 'Linus', NULL);")
    plan = load_plan(write_plan(app, SCHEMA + SEED + REDEPLOY))
    with pytest.raises(DifferencesFound, match="seed"):
        apply_production(backend, plan)
    assert backend.deployments.current_production() is None  # the new redeploy step did not run
    assert query(backend, "SELECT count(*) FROM users") == [(2,)]


def test_dry_run_changes_nothing(backend, app):
    plan = load_plan(write_plan(app, SCHEMA + SEED))
    report = apply_production(backend, plan, dry_run=True)
    assert [(s.id, s.status) for s in report.steps] == [("schema", "would run"), ("seed", "would run")]
    assert report.restore_point is not None and not report.restore_point_taken
    assert not History(backend.branches.connection("main", database="d", role="r").url).exists()
    assert backend.branches.list_snapshots() == []


def test_check_step_uses_the_injected_transport(backend, app, monkeypatch):
    answers = iter([503, 503, 200])
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(next(answers))

    monkeypatch.setenv("APP_HEALTH_URL", "https://shop.example/api/health")
    plan = load_plan(
        write_plan(app, SCHEMA + "    - {id: health, kind: check, url: '${APP_HEALTH_URL}', timeout_seconds: 30}\n")
    )
    sleeps: list[float] = []
    report = apply_production(backend, plan, health=HealthChecker(httpx.MockTransport(handler), sleeps.append))
    assert report.steps[-1].status == "applied" and "200" in report.steps[-1].detail
    assert seen == ["https://shop.example/api/health"] * 3 and sleeps == [1.0, 2.0]


def test_cli_apply_and_rollback_dry_run(local_env, app, monkeypatch):
    path = write_plan(app, SCHEMA + SEED)
    runner = CliRunner()
    be = open_local_backend()
    be.branches.create_root("main", protected=True)
    be.close()
    result = runner.invoke(main, ["production", "apply", "--plan", str(path), "--backend", "local", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would run" in result.output
    summary = app / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = runner.invoke(main, ["production", "apply", "--plan", str(path), "--auto-approve"])
    assert result.exit_code == 0, result.output
    assert "### Production steps\n" in summary.read_text() and "| `seed` | sql | applied |" in summary.read_text()
    assert "(dry run)" not in summary.read_text()  # the preview before the real run is not summarised
    result = runner.invoke(
        main, ["rollback", "--to", "latest", "--data", "--dry-run", "--plan", str(path), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["parts"][0]["status"] == "would do" and data["ok"] is True
    result = runner.invoke(main, ["rollback", "--to", "no-such-point", "--plan", str(path), "--yes"])
    assert result.exit_code == 2 and "no restore point 'no-such-point'" in result.output


def _production_state(backend) -> tuple[list[tuple], list[str], list[str]]:
    """Rows of the app's table on main, restore points, and the rollbacks recorded: what a rollback changes."""
    url = backend.branches.connection("main", database="d", role="r", pooled=False).url
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id, name FROM users ORDER BY 1").fetchall()
        rollbacks = [r for (r,) in conn.execute("SELECT restore_point FROM bbops.rollbacks ORDER BY 1")]
    return rows, [p.name for p in backend.restore_points.list_snapshots()], rollbacks


def test_rollback_off_a_terminal_without_yes_changes_nothing_and_exits_2(backend, app, monkeypatch):
    """Issue 12, item 3: `</dev/null` used to restore data and drop the rows written after the point."""
    plan_path = write_plan(app, SCHEMA + SEED)
    apply_production(backend, load_plan(plan_path))
    url = backend.branches.connection("main", database="d", role="r", pooled=False).url
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO users VALUES (99, 'written after the restore point')")
    before = _production_state(backend)
    runner = CliRunner()  # its stdin is not a terminal, like a CI job or `</dev/null`
    for flags in ([], ["--data"], ["--env", "--deployment"]):
        result = runner.invoke(main, ["rollback", "--to", "latest", *flags, "--plan", str(plan_path)])
        assert result.exit_code == 2, result.output
        assert "not on a terminal: pass --yes" in result.stderr
        assert _production_state(backend) == before
    # --auto-approve is the same flag as --yes, for rollback as for apply.
    done = runner.invoke(main, ["rollback", "--to", "latest", "--data", "--plan", str(plan_path), "--auto-approve"])
    assert done.exit_code == 0, done.output
    # The restore point predates the first step: with --yes the data really went back (no users table).
    assert query(backend, "SELECT to_regclass('public.users')") == [(None,)]


def test_rollback_on_a_terminal_shows_the_parts_and_asks(backend, app, monkeypatch):
    plan_path = write_plan(app, SCHEMA + SEED)
    apply_production(backend, load_plan(plan_path))
    before = _production_state(backend)
    monkeypatch.setattr("bbops.commands.options.on_terminal", lambda: True)
    result = CliRunner().invoke(main, ["rollback", "--to", "latest", "--data", "--plan", str(plan_path)], input="n\n")
    assert result.exit_code == 2 and "not confirmed: nothing was changed" in result.output
    assert "Roll back main to bbops-rp-" in result.output and "data:" in result.output
    assert _production_state(backend) == before


def test_status_shows_each_step_and_the_restore_points(local_env, app):
    path = write_plan(app, SCHEMA + SEED)
    be = open_local_backend()
    be.branches.create_root("main", protected=True)
    try:
        apply_production(be, load_plan(path), run=RunInfo("1", "9" * 40, "ci"))
    finally:
        be.close()
    (app / "sql" / "seed.sql").write_text("SELECT 1;")
    path = write_plan(app, SCHEMA + SEED + REDEPLOY)
    result = CliRunner().invoke(main, ["production", "status", "--plan", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(s["id"], s["state"]) for s in data["steps"]] == [
        ("schema", "applied"),
        ("seed", "changed since applied"),
        ("ship", "pending"),
    ]
    assert data["restore_points"] == ["bbops-rp-9999999"]


def test_two_runs_never_overlap(backend, app):
    from bbops.errors import LockTimeout
    from bbops.production.run import production_lock

    plan = load_plan(write_plan(app, SCHEMA + SEED))
    with production_lock(backend, plan, "main", "another run"), pytest.raises(LockTimeout, match="bbops another run"):
        apply_production(backend, plan, lock_timeout=0.3)
    assert apply_production(backend, plan).steps  # free again


def test_before_the_production_branch_exists(local_env, app):
    plan = load_plan(write_plan(app, SCHEMA + SEED))
    be = open_local_backend()
    try:
        report = apply_production(be, plan, dry_run=True)
        assert [(s.id, s.status) for s in report.steps] == [("schema", "would run"), ("seed", "would run")]
        with pytest.raises(UsageError, match="production branch main does not exist"):
            apply_production(be, plan)
    finally:
        be.close()


CHECK = "    - {id: health, kind: check, url: '${APP_HEALTH_URL}', timeout_seconds: 5}\n"


def _attempts(backend) -> dict[str, tuple[str, str | None]]:
    attempts = History(backend.branches.connection("main", database="d", role="r").url).latest_attempts()
    return {k: (a.status, a.error) for k, a in attempts.items()}


def test_invalid_health_url_fails_the_step_and_no_step_is_left_running(backend, app, monkeypatch):
    monkeypatch.setenv("APP_HEALTH_URL", "http://example.com:99999/")
    plan = load_plan(write_plan(app, SCHEMA + CHECK))
    with pytest.raises(MigrationError, match=r"step health \(check\) failed: .*invalid URL") as exc:
        apply_production(backend, plan)
    assert exc.value.exit_code == 5
    status, error = _attempts(backend)["health"]
    assert status == "failed" and "invalid URL" in error


def test_unexpected_error_inside_a_production_step_ends_the_attempt_as_failed(backend, app, monkeypatch):
    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("transport bug")

    monkeypatch.setenv("APP_HEALTH_URL", "https://shop.example/api/health")
    plan = load_plan(write_plan(app, SCHEMA + CHECK))
    with pytest.raises(RuntimeError, match="transport bug"):
        apply_production(backend, plan, health=HealthChecker(httpx.MockTransport(broken), lambda _: None))
    status, error = _attempts(backend)["health"]
    assert status == "failed" and "RuntimeError" in error and "transport bug" in error
    # The next run starts at the failed step again instead of waiting on a step "running" forever.
    report = apply_production(
        backend, plan, health=HealthChecker(httpx.MockTransport(lambda r: httpx.Response(200)), lambda _: None)
    )
    assert [(s.id, s.status) for s in report.steps] == [("health", "applied")]
