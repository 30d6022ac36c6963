"""`bbops plan` / `bbops apply` of env vars wired to another long-lived branch (the shadow database from
`development`) and to a read replica (main's `read_only` endpoint), on the cloud fakes and locally."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from bbops.cli import main
from bbops.plan import load_plan
from bbops.providers.local import open_local_backend
from tests import REPO_ROOT
from tests.fakes.plugin import CloudFakes

PLAN = REPO_ROOT / "plans" / "bb-prodx.yaml"


@pytest.fixture
def cloud(cloud_fakes: CloudFakes) -> CloudFakes:
    """The fakes of a project made with the plan's Postgres version (immutable, so apply can succeed)."""
    cloud_fakes.neon.project["pg_version"] = 17
    return cloud_fakes


def run(fakes: CloudFakes | None, *args: str):
    backend = "cloud" if fakes else "local"
    return CliRunner().invoke(
        main, [*args, "--plan", str(PLAN), "--backend", backend], obj=fakes.transports if fakes else None
    )


def production_env(fakes: CloudFakes) -> dict[str, str]:
    return {e["key"]: e["value"] for e in fakes.vercel.envs.values() if e["target"] == ["production"]}


def replicas(fakes: CloudFakes, branch: str) -> list[dict]:
    branch_id = fakes.neon.by_name(branch)["id"]
    found = [e for e in fakes.neon.endpoints.values() if e["branch_id"] == branch_id and e["type"] == "read_only"]
    return sorted(found, key=lambda e: e["id"])


def primary(fakes: CloudFakes, branch: str) -> dict:
    branch_id = fakes.neon.by_name(branch)["id"]
    return next(e for e in fakes.neon.endpoints.values() if e["branch_id"] == branch_id and e["type"] == "read_write")


def test_shadow_and_read_urls_are_planned_applied_and_then_clean(cloud: CloudFakes):
    neon = cloud.neon
    shown = run(cloud, "plan", "--format", "json")
    assert shown.exit_code == 0, shown.output
    actions = {a["address"]: a for a in json.loads(shown.stdout)["actions"]}
    assert actions["neon.branch.main.read_replica[0]"]["op"] == "create"  # not there yet: made before the env
    read = actions["vercel.env.production.DATABASE_READ_URL"]
    shadow = actions["vercel.env.production.SHADOW_DATABASE_URL"]
    assert read["op"] == shadow["op"] == "create"
    assert {c["field"]: c["after"] for c in read["changes"]} == {
        "exists": True,
        "type": "sensitive",
        "value": "connection of main (pooled, read replica)",
    }
    assert {c["field"]: c["after"] for c in shadow["changes"]}["value"] == "connection of development (direct)"

    applied = run(cloud, "apply", "--auto-approve", "--no-steps")
    assert applied.exit_code == 0, applied.output
    env = production_env(cloud)
    (replica,) = replicas(cloud, "main")
    read_url, shadow_url = urlsplit(env["DATABASE_READ_URL"]), urlsplit(env["SHADOW_DATABASE_URL"])
    # The read replica's own host, through its pooler (`-pooler` after the endpoint id), with main's password.
    assert read_url.hostname == replica["host"].replace(replica["id"], replica["id"] + "-pooler")
    assert read_url.password == neon.passwords[neon.by_name("main")["id"]]
    assert read_url.hostname != urlsplit(env["DATABASE_URL"]).hostname
    # development's primary, direct, with development's own password (its parent is protected).
    assert shadow_url.hostname == primary(cloud, "development")["host"]
    assert shadow_url.password == neon.passwords[neon.by_name("development")["id"]] != read_url.password
    # The replica's URL came from one endpoint listing and Neon's connection_uri for that endpoint.
    asked = [r.params for r in neon.requests if r.method == "GET" and r.path.endswith("/connection_uri")]
    assert any(p.get("endpoint_id") == replica["id"] and p.get("pooled") == "true" for p in asked)

    before = len(neon.requests)
    check = run(cloud, "plan", "--check")
    assert check.exit_code == 0, check.output
    made = neon.requests[before:]
    # One endpoint listing per command, shared by the replica settings and the read URL.
    assert sum(1 for r in made if r.method == "GET" and r.path.endswith("/endpoints")) == 1
    uris = [
        (r.params.get("branch_id"), r.params.get("endpoint_id"), r.params.get("pooled"))
        for r in made
        if r.path.endswith("/connection_uri")
    ]
    assert len(uris) == len(set(uris))  # each connection string asked for once
    for out in (shown.output, applied.output, check.output):
        assert read_url.password not in out and shadow_url.password not in out


def test_a_replaced_read_replica_shows_as_drift_and_apply_repoints_the_read_url(cloud: CloudFakes):
    assert run(cloud, "apply", "--auto-approve", "--no-steps").exit_code == 0
    neon = cloud.neon
    (old,) = replicas(cloud, "main")
    # Someone replaced the replica in the console: same branch, a new endpoint and host.
    del neon.endpoints[old["id"]]
    new = neon._add_endpoint(neon.by_name("main")["id"], "read_only", autoscaling_limit_max_cu=2)

    check = run(cloud, "plan", "--check")
    assert check.exit_code == 1, check.output
    assert "~ update vercel.env.production.DATABASE_READ_URL" in check.stdout
    assert "value: *** -> connection of main (pooled, read replica)" in check.stdout
    assert "DATABASE_URL\n" not in check.stdout and "SHADOW_DATABASE_URL" not in check.stdout

    assert run(cloud, "apply", "--auto-approve", "--no-steps").exit_code == 0
    assert urlsplit(production_env(cloud)["DATABASE_READ_URL"]).hostname == new["host"].replace(
        new["id"], new["id"] + "-pooler"
    )
    assert run(cloud, "plan", "--check").exit_code == 0


def test_with_two_replicas_the_read_url_is_the_first_one_kept(cloud: CloudFakes):
    # Two replicas where the plan wants one: apply deletes the second (by id), the URL takes the first.
    neon = cloud.neon
    main_id = neon.by_name("main")["id"]
    first = neon._add_endpoint(main_id, "read_only", autoscaling_limit_max_cu=2)
    neon._add_endpoint(main_id, "read_only", autoscaling_limit_max_cu=2)
    applied = run(cloud, "apply", "--auto-approve", "--no-steps")
    assert applied.exit_code == 0, applied.output
    assert [e["id"] for e in replicas(cloud, "main")] == [first["id"]]
    assert first["id"] + "-pooler" in production_env(cloud)["DATABASE_READ_URL"]
    assert run(cloud, "plan", "--check").exit_code == 0


def test_locally_the_read_url_is_mains_own_and_the_output_says_so(local_env):
    shown = run(None, "plan")
    assert shown.exit_code == 0, shown.output
    assert (
        "value: (none) -> connection of main (pooled, read replica; "
        "no read replicas on this backend: the branch's own connection)" in shown.stdout
    )
    assert "value: (none) -> connection of development (direct)" in shown.stdout
    applied = run(None, "apply", "--auto-approve", "--no-steps")
    assert applied.exit_code == 0, applied.output
    assert (
        "create vercel.env.production.DATABASE_READ_URL (no read replicas on this backend: the branch's own connection)"
        in applied.stderr
    )
    check = run(None, "plan", "--check")
    assert check.exit_code == 0, check.output
    plan = load_plan(PLAN)
    backend = open_local_backend()
    try:
        urls = {
            name: backend.branches.connection(name, database=plan.neon.database, role=plan.neon.role).url
            for name in ("main", "development")
        }
        env = {v.key: v.value for v in backend.env.list_env(target="production")}
    finally:
        backend.close()
    assert env["DATABASE_READ_URL"] == urls["main"] == env["DATABASE_URL"]
    assert env["SHADOW_DATABASE_URL"] == urls["development"] != urls["main"]
