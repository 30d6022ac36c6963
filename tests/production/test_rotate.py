"""The `rotate` step (credential rotation) on the fake Neon and Vercel, and what rollbacks do after one.

The fake's branches are real databases reached as a role of their own with the branch's password
(``tests.fakes.pgdb``): after a reset, the old password is refused by the server itself.
"""

from __future__ import annotations

import dataclasses
import json

import httpx
import psycopg
import pytest
from click.testing import CliRunner

from bbops.cli import main
from bbops.plan import load_plan
from bbops.production.history import RunInfo
from bbops.production.rollback import rollback
from bbops.production.run import apply_production
from bbops.providers.cloud import open_cloud_backend
from tests.production.test_production_cloud import OLD_DB_URL, Health, _history, _prod_env

ROTATE = "    - {id: rotate-password, kind: rotate, target: production}\n"


@pytest.fixture(autouse=True)
def _passwords_checked(cloud_fakes_pg):
    if not cloud_fakes_pg.neon.databases.passwords_enforced():
        pytest.skip("the test server trusts every login (BBOPS_TEST_DATABASE_URL): passwords are not checked")


def _urls(fakes) -> dict[bool, str]:
    """main's connection strings as Neon gives them now (a backend of its own: nothing cached)."""
    backend = open_cloud_backend(None, transports=fakes.transports)
    try:
        return {
            pooled: backend.branches.connection("main", database="neondb", role="neondb_owner", pooled=pooled).url
            for pooled in (True, False)
        }
    finally:
        backend.close()


def _refused(url: str) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(url, connect_timeout=5)


def _connects(url: str) -> None:
    with psycopg.connect(url, connect_timeout=5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def _serving(fakes) -> str:
    return fakes.vercel.project["targets"]["production"]["id"]


def _add_steps(shop, text: str) -> None:
    (shop / "shop.yaml").write_text((shop / "shop.yaml").read_text() + text)


def test_rotation_on_the_fake_neon_old_password_refused_env_and_deployment_carry_the_new(
    shop, cloud_fakes_pg, monkeypatch, tmp_path
):
    fakes = cloud_fakes_pg
    _add_steps(shop, ROTATE)
    old = _urls(fakes)
    _connects(old[False])
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    wired = dataclasses.replace(fakes.transports, health=httpx.MockTransport(lambda request: httpx.Response(200)))
    deployments = len(fakes.vercel.deployments)
    result = CliRunner().invoke(
        main,
        ["production", "apply", "--yes", "--backend", "cloud", "--plan", str(shop / "shop.yaml"), "--format", "json"],
        obj=wired,
    )
    assert result.exit_code == 0, result.output
    new = _urls(fakes)
    assert new[True] != old[True] and new[False] != old[False]
    # The leaked password opens nothing: the server refuses it with its own authentication error.
    _refused(old[False])
    _refused(old[True])
    _connects(new[False])
    _connects(new[True])
    # The env var carries the new connection string, and production was rebuilt with it.
    assert _prod_env(fakes)["DATABASE_URL"] == new[True]
    assert fakes.vercel.env_of(_serving(fakes))["DATABASE_URL"] == new[True]
    assert len(fakes.vercel.deployments) == deployments + 2  # the cutover's redeploy, then the rotation's
    step = next(s for s in json.loads(result.stdout)["steps"] if s["id"] == "rotate-password")
    assert step["status"] == "applied"
    assert "reset the password of neondb_owner on branch main; the old one is refused" in step["detail"]
    assert "password authentication failed" in step["detail"]
    assert "production: DATABASE_URL carry the new one; production redeployed as" in step["detail"]
    # The new password is a secret: in nothing printed or written for the run.
    password = fakes.neon.passwords[fakes.neon.by_name("main")["id"]]
    assert password in new[True]
    written = summary.read_text()
    assert "rotate-password" in written
    for text in (result.stdout, result.stderr, written):
        assert password not in text and new[True] not in text
    # The history, on the rotated branch, was reached with the new password and says so.
    assert {k: a.status for k, a in _history_now(fakes).latest_attempts().items()}["rotate-password"] == "applied"


def _history_now(fakes):
    from bbops.production.history import History

    return History(_urls(fakes)[False])


def test_a_rollback_of_cutover_and_rotation_points_back_at_the_old_database_never_the_old_password(
    shop, cloud_fakes_pg, cloud_backend_pg
):
    fakes, backend, health = cloud_fakes_pg, cloud_backend_pg, Health()
    _add_steps(shop, ROTATE)
    before = _serving(fakes)
    plan = load_plan(shop / "shop.yaml")
    apply_production(backend, plan, health=health.checker(), run=RunInfo("1", "a" * 40, "ci"))
    rotated = _urls(fakes)
    report = rollback(backend, plan, "latest", parts=("env", "deployment"), health=health.checker())
    assert [(p.name, p.status) for p in report.parts] == [("env", "done"), ("deployment", "done"), ("health", "done")]
    # The cutover's recorded values come back (the old database, whose credentials bbops never touched),
    # and so does the deployment built with them: none of it holds main's old password.
    assert _prod_env(fakes) == {"DATABASE_URL": OLD_DB_URL}
    assert _serving(fakes) == before
    # A data rollback does not un-rotate either: the branch keeps its current password (as on Neon,
    # where connection strings keep working after a restore).
    rollback(backend, plan, "latest", parts=("data",), health=health.checker())
    assert _urls(fakes) == rotated
    _connects(rotated[False])


def test_a_rollback_to_the_rotation_s_own_point_keeps_the_new_password_and_redeploys(
    shop, cloud_fakes_pg, cloud_backend_pg
):
    fakes, backend, health = cloud_fakes_pg, cloud_backend_pg, Health()
    plan = load_plan(shop / "shop.yaml")
    apply_production(backend, plan, health=health.checker(), run=RunInfo("1", "1" * 40, "ci"))
    cutover_deployment, old = _serving(fakes), _urls(fakes)
    assert _prod_env(fakes)["DATABASE_URL"] == old[True]
    # A later release rotates the password, under a restore point of its own.
    _add_steps(shop, ROTATE)
    plan = load_plan(shop / "shop.yaml")
    report = apply_production(backend, plan, health=health.checker(), run=RunInfo("2", "2" * 40, "ci"))
    assert report.restore_point == "bbops-rp-2222222" and [s.id for s in report.steps] == ["rotate-password"]
    new = _urls(fakes)
    assert fakes.vercel.env_of(cutover_deployment)["DATABASE_URL"] == old[True]  # built with the old password

    dry = rollback(backend, plan, "latest", parts=("env", "deployment"), dry_run=True, health=health.checker())
    assert [(p.name, p.status) for p in dry.parts][:2] == [("env", "nothing to do"), ("deployment", "would do")]
    assert f"rather than bring back {cutover_deployment}" in dry.parts[1].actions[0]
    report = rollback(backend, plan, "latest", parts=("env", "deployment"), health=health.checker())
    assert [(p.name, p.status) for p in report.parts] == [
        ("env", "nothing to do"),
        ("deployment", "done"),
        ("health", "done"),
    ]
    # Bringing back the cutover's deployment would serve an app that cannot connect: a new build instead.
    assert _serving(fakes) != cutover_deployment
    assert fakes.vercel.env_of(_serving(fakes))["DATABASE_URL"] == new[True]
    assert _prod_env(fakes)["DATABASE_URL"] == new[True]
    _refused(old[False])


def test_a_recorded_value_with_the_rotated_password_comes_back_with_the_current_one(
    shop, cloud_fakes_pg, cloud_backend_pg, monkeypatch
):
    fakes, backend, health = cloud_fakes_pg, cloud_backend_pg, Health()
    plan = load_plan(shop / "shop.yaml")
    apply_production(backend, plan, health=health.checker(), run=RunInfo("1", "1" * 40, "ci"))
    old = _urls(fakes)
    cutover_deployment = _serving(fakes)
    # A later release points the app elsewhere and redeploys, then rotates main's password: the env step
    # recorded main's connection string with the password that the rotation then made useless.
    monkeypatch.setenv("NEXT_DATABASE_URL", "postgresql://x:" + "y" * 12 + "@elsewhere/db")
    _add_steps(
        shop,
        "    - id: elsewhere\n      kind: env\n      target: production\n      env:\n"
        "        DATABASE_URL: {value: '${NEXT_DATABASE_URL}'}\n"
        "    - {id: elsewhere-redeploy, kind: redeploy, target: production}\n" + ROTATE,
    )
    # The target's env says the same (validation holds the last step that sets a variable to it).
    text = (shop / "shop.yaml").read_text()
    (shop / "shop.yaml").write_text(
        text.replace(
            "      env:\n        DATABASE_URL: {connection: pooled, type: encrypted}\nproduction:",
            "      env:\n        DATABASE_URL: {value: '${NEXT_DATABASE_URL}'}\nproduction:",
        )
    )
    plan = load_plan(shop / "shop.yaml")
    report = apply_production(backend, plan, health=health.checker(), run=RunInfo("2", "2" * 40, "ci"))
    rotate = next(s for s in report.steps if s.id == "rotate-password")
    assert "no env var held the old connection strings" in rotate.detail and "redeployed" not in rotate.detail
    new = _urls(fakes)

    report = rollback(backend, plan, "latest", parts=("env", "deployment"), health=health.checker())
    env_part, deployment_part = report.parts[0], report.parts[1]
    assert env_part.status == "done" and "with the password its role has now" in env_part.actions[0]
    assert _prod_env(fakes)["DATABASE_URL"] == new[True]  # main again, with a password that opens it
    # The cutover's deployment (the one serving before the release) holds the old password: not back.
    assert (
        deployment_part.status == "done"
        and f"rather than bring back {cutover_deployment}" in (deployment_part.actions[0])
    )
    assert fakes.vercel.env_of(_serving(fakes))["DATABASE_URL"] == new[True]
    _refused(old[True])


def test_a_variable_that_points_elsewhere_is_left_alone_and_an_unreadable_one_stops_before_the_reset(
    shop, cloud_fakes_pg, cloud_backend_pg
):
    fakes, backend, health = cloud_fakes_pg, cloud_backend_pg, Health()
    # Production still points at the old database (no cutover in this plan): nothing to update there.
    text = (shop / "shop.yaml").read_text()
    (shop / "shop.yaml").write_text(text[: text.index("    - id: cutover-env")] + ROTATE)
    plan = load_plan(shop / "shop.yaml")
    deployments, old = len(fakes.vercel.deployments), _urls(fakes)
    report = apply_production(backend, plan, health=health.checker(), run=RunInfo("1", "3" * 40, "ci"))
    detail = report.steps[-1].detail
    assert "no env var held the old connection strings" in detail
    assert _prod_env(fakes) == {"DATABASE_URL": OLD_DB_URL} and len(fakes.vercel.deployments) == deployments
    _refused(old[False])

    # A sensitive variable bbops did not write cannot be told about: the next rotation changes nothing.
    for env in fakes.vercel.envs.values():
        env["type"] = "sensitive"
        env.pop("comment", None)
    _add_steps(shop, "    - {id: rotate-again, kind: rotate, target: production}\n")
    current, resets = _urls(fakes), len(fakes.neon.password_resets)
    with pytest.raises(Exception, match="cannot tell whether production DATABASE_URL hold") as exc:
        apply_production(backend, load_plan(shop / "shop.yaml"), health=health.checker())
    assert exc.value.exit_code == 5
    assert len(fakes.neon.password_resets) == resets and _urls(fakes) == current
    assert _history(backend).latest_attempts()["rotate-again"].status == "failed"


def test_the_read_replica_s_connection_string_is_rotated_too_another_branch_s_is_not(
    shop, cloud_fakes_pg, cloud_backend_pg
):
    fakes, backend, health = cloud_fakes_pg, cloud_backend_pg, Health()
    text = (shop / "shop.yaml").read_text()
    text = text.replace(
        "main: {default: true, protected: true}", "main: {default: true, protected: true, read_replicas: {count: 1}}"
    ).replace(
        "        DATABASE_URL: {connection: pooled, type: encrypted}\n    - {id: cutover-redeploy",
        "        DATABASE_URL: {connection: pooled, type: encrypted}\n"
        "        DATABASE_READ_URL: {connection: pooled, endpoint: read_only, type: encrypted}\n"
        "        SHADOW_DATABASE_URL: {connection: direct, branch: development, type: encrypted}\n"
        "    - {id: cutover-redeploy",
    )
    (shop / "shop.yaml").write_text(text + ROTATE)
    fakes.neon._add_endpoint(fakes.neon.by_name("main")["id"], "read_only")  # what `bbops apply` makes
    plan = load_plan(shop / "shop.yaml")
    report = apply_production(backend, plan, health=health.checker(), run=RunInfo("1", "4" * 40, "ci"))
    assert "production: DATABASE_URL, DATABASE_READ_URL carry the new one" in report.steps[-1].detail
    env, password = _prod_env(fakes), fakes.neon.passwords[fakes.neon.by_name("main")["id"]]
    fresh = open_cloud_backend(None, transports=fakes.transports)
    try:
        replica = fresh.replicas.replica_connection("main", database="neondb", role="neondb_owner", pooled=True)
        shadow = fresh.branches.connection("development", database="neondb", role="neondb_owner", pooled=False)
    finally:
        fresh.close()
    # The replica serves the branch's roles: its connection string carries the new password too.
    assert env["DATABASE_READ_URL"] == replica.url and password in replica.url
    _connects(env["DATABASE_READ_URL"])
    # development has a password of its own (made from protected main): untouched, still working.
    assert env["SHADOW_DATABASE_URL"] == shadow.url and password not in shadow.url
    _connects(env["SHADOW_DATABASE_URL"])


def test_a_rotation_that_would_end_the_production_locks_session_is_refused_before_any_change(shop, cloud_fakes_pg):
    # One long-lived branch: the production lock can only live on main, and a reset ends main's sessions.
    plan_file = shop / "shop.yaml"
    plan_file.write_text(plan_file.read_text().replace("    development: {parent: main}\n", "") + ROTATE)
    old = _urls(cloud_fakes_pg)
    backend = open_cloud_backend(None, transports=cloud_fakes_pg.transports)
    try:
        with pytest.raises(Exception, match="production lock is held on branch main") as failed:
            apply_production(backend, load_plan(plan_file), run=RunInfo("9", "e" * 40, "ci"), health=Health().checker())
    finally:
        backend.close()
    assert "rotate-password" in str(failed.value)
    _connects(old[False])  # the password was not reset
    assert not cloud_fakes_pg.neon.password_resets
