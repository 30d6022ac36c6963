"""`bbops rollback` details on the cloud fakes: timestamps, dry runs, sensitive values, repeated rollbacks."""

from __future__ import annotations

import pytest

from bbops.errors import UsageError
from bbops.plan import load_plan
from bbops.production.history import RunInfo
from bbops.production.rollback import RollbackFailed, rollback
from bbops.production.run import apply_production
from tests.production.test_production_cloud import OLD_DB_URL, Health, _history, _prod_env


def _applied(shop, backend, commit: str = "a" * 40):
    health = Health()
    plan = load_plan(shop / "shop.yaml")
    apply_production(backend, plan, health=health.checker(), run=RunInfo("1", commit, "ci"))
    return plan, health


def test_dry_run_says_what_each_part_would_do_and_changes_nothing(shop, cloud_fakes_pg, cloud_backend_pg):
    plan, health = _applied(shop, cloud_backend_pg)
    env, deployment = _prod_env(cloud_fakes_pg), cloud_fakes_pg.vercel.project["targets"]["production"]["id"]
    restores = len(cloud_fakes_pg.neon.restores)
    report = rollback(cloud_backend_pg, plan, "latest", dry_run=True, health=health.checker())
    assert [(p.name, p.status) for p in report.parts] == [
        ("data", "would do"),
        ("env", "would do"),
        ("deployment", "would do"),
        ("health", "would do"),
    ]
    assert any("put back the previous value of DATABASE_URL" in a for a in report.parts[1].actions)
    assert _prod_env(cloud_fakes_pg) == env
    assert cloud_fakes_pg.vercel.project["targets"]["production"]["id"] == deployment
    assert len(cloud_fakes_pg.neon.restores) == restores and _history(cloud_backend_pg).outstanding_rollback() is None
    assert OLD_DB_URL not in repr(report.as_dict())  # values never in the report


def test_timestamp_rollback_uses_neon_history(shop, cloud_fakes_pg, cloud_backend_pg):
    plan, health = _applied(shop, cloud_backend_pg)
    report = rollback(cloud_backend_pg, plan, "2020-01-01T00:00:00Z", parts=("data", "env"), health=health.checker())
    assert [(p.name, p.status) for p in report.parts] == [("data", "done"), ("env", "done"), ("health", "done")]
    body = cloud_fakes_pg.neon.restores[-1]
    main_id = cloud_fakes_pg.neon.by_name("main")["id"]
    assert body["source_branch_id"] == main_id and body["source_timestamp"] == "2020-01-01T00:00:00Z"
    assert body["preserve_under_name"].startswith("main-before-rollback-")
    # Every env change recorded since that moment is undone.
    assert _prod_env(cloud_fakes_pg) == {"DATABASE_URL": OLD_DB_URL}


def test_local_backend_refuses_a_timestamp(local_env, tmp_path):
    from bbops.providers.local import open_local_backend
    from tests.production.test_production_local import SCHEMA, SEED, write_migration, write_plan

    app = tmp_path / "app"
    write_migration(app / "drizzle", 0, "0000_t", "CREATE TABLE t (id int);")
    (app / "sql").mkdir()
    (app / "sql" / "seed.sql").write_text("INSERT INTO t VALUES (1);")
    plan = load_plan(write_plan(app, SCHEMA + SEED))
    backend = open_local_backend()
    try:
        backend.branches.create_root("main", protected=True)
        apply_production(backend, plan)
        with pytest.raises(UsageError, match="cannot restore to a timestamp"):
            rollback(backend, plan, "2026-01-01T00:00:00Z", parts=("data",))
    finally:
        backend.close()


def test_sensitive_previous_values_are_refused_before_changing_any(shop, cloud_fakes_pg, cloud_backend_pg):
    for env in list(cloud_fakes_pg.vercel.envs.values()):
        env["type"] = "sensitive"  # Vercel never returns these values
    plan, health = _applied(shop, cloud_backend_pg)
    after = {e["key"]: e["value"] for e in cloud_fakes_pg.vercel.envs.values()}
    with pytest.raises(RollbackFailed) as exc:
        rollback(cloud_backend_pg, plan, "latest", parts=("env", "deployment"), health=health.checker())
    env_part = exc.value.report.parts[0]
    assert env_part.status == "failed" and "DATABASE_URL" in env_part.error and "set them by hand" in env_part.error
    assert exc.value.report.parts[1].status == "not attempted"
    assert {e["key"]: e["value"] for e in cloud_fakes_pg.vercel.envs.values()} == after


def test_a_declared_undo_restores_sensitive_values_without_reading_them(
    shop,
    cloud_fakes_pg,
    cloud_backend_pg,
    monkeypatch,
):
    for env in list(cloud_fakes_pg.vercel.envs.values()):
        env["type"] = "sensitive"  # Vercel never returns these values
    plan_file = shop / "shop.yaml"
    plan_file.write_text(
        plan_file.read_text().replace(
            "        DATABASE_URL: {connection: pooled, type: encrypted}\n    - {id: cutover-redeploy",
            "        DATABASE_URL: {connection: pooled, type: encrypted}\n"
            "      undo:\n        DATABASE_URL: {value: '${OLD_DATABASE_URL_POOLED}', type: sensitive}\n"
            "    - {id: cutover-redeploy",
        )
    )
    pooled = OLD_DB_URL.replace("old-db", "old-db-pooler")
    monkeypatch.setenv("OLD_DATABASE_URL_POOLED", pooled)
    plan, health = _applied(shop, cloud_backend_pg)
    assert _prod_env(cloud_fakes_pg) != {"DATABASE_URL": pooled}
    report = rollback(cloud_backend_pg, plan, "latest", parts=("env", "deployment"), health=health.checker())
    assert [(p.name, p.status) for p in report.parts] == [("env", "done"), ("deployment", "done"), ("health", "done")]
    assert _prod_env(cloud_fakes_pg) == {"DATABASE_URL": pooled}
    restored = [
        e for e in cloud_fakes_pg.vercel.envs.values() if e["key"] == "DATABASE_URL" and "production" in e["target"]
    ]
    assert [e["type"] for e in restored] == ["sensitive"]


def test_an_undo_for_a_variable_the_step_does_not_set_is_a_plan_error(shop):
    from bbops.plan import validate_file

    plan_file = shop / "shop.yaml"
    plan_file.write_text(
        plan_file.read_text().replace(
            "        DATABASE_URL: {connection: pooled, type: encrypted}\n    - {id: cutover-redeploy",
            "        DATABASE_URL: {connection: pooled, type: encrypted}\n"
            "      undo:\n        REDIS_URL: {value: '${OLD_REDIS_URL}'}\n    - {id: cutover-redeploy",
        )
    )
    problems = validate_file(plan_file)
    assert [p.field for p in problems] == ["production.steps[4].undo.REDIS_URL"]
    assert "not one of the variables this step sets" in problems[0].message


def test_an_older_point_undoes_every_later_change_and_a_data_rollback_keeps_the_records(
    shop, cloud_fakes_pg, cloud_backend_pg, monkeypatch
):
    monkeypatch.setenv("NEXT_DATABASE_URL", "postgresql://x:" + "y" * 12 + "@elsewhere/db")
    plan, health = _applied(shop, cloud_backend_pg, "1" * 40)
    first_cutover = _prod_env(cloud_fakes_pg)["DATABASE_URL"]
    # A later release changes the env again (a new step), under its own restore point.
    text = (shop / "shop.yaml").read_text() + (
        "    - id: flags\n      kind: env\n      target: production\n      env:\n"
        "        DATABASE_URL: {value: '${NEXT_DATABASE_URL}'}\n"
    )
    # The target's env says the same (validation holds the last step that sets a variable to it).
    text = text.replace(
        "      env:\n        DATABASE_URL: {connection: pooled, type: encrypted}\nproduction:",
        "      env:\n        DATABASE_URL: {value: '${NEXT_DATABASE_URL}'}\nproduction:",
    )
    (shop / "shop.yaml").write_text(text)
    plan = load_plan(shop / "shop.yaml")
    report = apply_production(cloud_backend_pg, plan, health=health.checker(), run=RunInfo("2", "2" * 40, "ci"))
    assert report.restore_point == "bbops-rp-2222222"
    # Back to the newest point: only the last change is undone.
    rollback(cloud_backend_pg, plan, "latest", parts=("data", "env"), health=health.checker())
    assert _prod_env(cloud_fakes_pg)["DATABASE_URL"] == first_cutover
    # Back to the first point: the value before the first change, although the data restore above
    # rolled back the history tables that recorded it.
    rollback(cloud_backend_pg, plan, "bbops-rp-1111111", parts=("env",), health=health.checker())
    assert _prod_env(cloud_fakes_pg)["DATABASE_URL"] == OLD_DB_URL


def test_unknown_point_and_no_history(shop, cloud_fakes_pg, cloud_backend_pg):
    plan = load_plan(shop / "shop.yaml")
    with pytest.raises(UsageError, match="no production history"):
        rollback(cloud_backend_pg, plan, "latest")
    _applied(shop, cloud_backend_pg)
    with pytest.raises(UsageError, match="no restore point 'bbops-rp-0000000'"):
        rollback(cloud_backend_pg, plan, "bbops-rp-0000000")


def test_after_a_data_rollback_on_neon_the_plan_holds_and_apply_after_rollback_redoes_the_cutover(
    shop,
    cloud_fakes_pg,
    cloud_backend_pg,
):
    import dataclasses

    import httpx
    from click.testing import CliRunner

    from bbops.cli import main
    from bbops.infra.apply import plan_infra

    plan, health = _applied(shop, cloud_backend_pg, "c" * 40)
    cutover = _prod_env(cloud_fakes_pg)["DATABASE_URL"]
    rollback(cloud_backend_pg, plan, "latest", health=health.checker())
    neon = cloud_fakes_pg.neon
    # Neon moved main's children under the preserved state (the fake does what the API reference says).
    assert neon.branches[neon.by_name("development")["parent_id"]]["name"].startswith("main-before-rollback-")
    assert _prod_env(cloud_fakes_pg) == {"DATABASE_URL": OLD_DB_URL}
    actions = plan_infra(cloud_backend_pg, plan)
    assert not [a.address for a in actions if a.blocked]
    assert next(a for a in actions if a.address == "neon.branch.development").op == "no-op"
    args = ["--backend", "cloud", "--plan", str(shop / "shop.yaml")]
    wired = dataclasses.replace(
        cloud_fakes_pg.transports, health=httpx.MockTransport(lambda request: httpx.Response(200))
    )
    checked = CliRunner().invoke(main, obj=wired, args=["plan", "--check", *args])
    assert checked.exit_code in (0, 1) and "cannot change" not in checked.output, checked.output
    applied = CliRunner().invoke(main, obj=wired, args=["apply", "--after-rollback", "--auto-approve", *args])
    assert applied.exit_code == 0, applied.output
    assert _prod_env(cloud_fakes_pg)["DATABASE_URL"] == cutover  # the cutover is done again
