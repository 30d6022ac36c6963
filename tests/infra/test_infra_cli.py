"""`bbops plan` / `bbops apply` on the BB-PRODX plan against fake Neon and Vercel projects."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bbops.cli import main
from tests import REPO_ROOT
from tests.fakes.plugin import CloudFakes

PLAN = REPO_ROOT / "plans" / "bb-prodx.yaml"
ENV = r"/v10/projects/[^/]+/env"

# Every difference the drifted project below has from the plan, each to be listed exactly once.
EXPECTED = {
    "neon.project": "update",
    "neon.branch.main": "update",
    "neon.branch.development": "create",
    "neon.branch.main.read_replica[0]": "update",
    "neon.branch.main.read_replica[1]": "delete",
    # main's compute kept the settings it was made with (project defaults reach only new computes)
    "neon.branch.main.compute": "update",
    "vercel.env.production.DATABASE_URL": "update",
    "vercel.env.production.DATABASE_URL_UNPOOLED": "create",
    "vercel.env.production.DATABASE_READ_URL": "create",
    "vercel.env.production.SHADOW_DATABASE_URL": "create",
    "vercel.env.development.DATABASE_URL": "update",
    "vercel.env.development.DATABASE_URL_UNPOOLED": "create",
}


def run(fakes: CloudFakes, *args: str):
    return CliRunner().invoke(main, [*args, "--plan", str(PLAN), "--backend", "cloud"], obj=fakes.transports)


@pytest.fixture
def drifted(cloud_fakes: CloudFakes) -> CloudFakes:
    """A project that differs from the plan in every area."""
    neon, vercel = cloud_fakes.neon, cloud_fakes.vercel
    neon.project["pg_version"] = 17  # immutable: kept equal so that apply can succeed
    neon.by_name("main")["protected"] = False  # protection removed by hand
    neon.delete_out_of_band("development")  # deleted by hand
    main_id = neon.by_name("main")["id"]
    neon._add_endpoint(main_id, "read_only", autoscaling_limit_max_cu=8)  # wrong size
    neon._add_endpoint(main_id, "read_only")  # one replica too many
    vercel.add_env(
        "DATABASE_URL", "postgresql://old:pw_" + "o" * 12 + "@old.example/db", type="sensitive", target=["production"]
    )
    vercel.add_env(
        "DATABASE_URL", "postgresql://x:pw_" + "d" * 12 + "@dev.example/db", type="plain", target=["development"]
    )
    vercel.add_env("SENTRY_DSN", "https://dsn.example/1", type="plain", target=["production"])  # not managed
    return cloud_fakes


def test_plan_lists_each_difference_once_then_apply_converges(drifted: CloudFakes):
    result = run(drifted, "plan", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    pending = {a["address"]: a["op"] for a in data["actions"] if a["op"] != "no-op"}
    assert pending == EXPECTED
    addresses = [a["address"] for a in data["actions"]]
    assert len(addresses) == len(set(addresses))
    project = next(a for a in data["actions"] if a["address"] == "neon.project")
    fields = {c["field"]: (c["before"], c["after"]) for c in project["changes"]}
    assert fields == {
        "name": ("bb-prodx", "better-being-production"),
        "autoscaling_max_cu": (1, 4.0),
        "suspend_timeout_seconds": (0, 300),
        "history_retention_seconds": (86400, 2592000),
    }

    text = run(drifted, "plan", "--check")
    assert text.exit_code == 1
    for address in EXPECTED:
        assert text.stdout.count(f" {address}\n") == 1, address
    assert "Plan: 5 to create, 6 to update, 1 to delete" in text.stdout

    applied = run(drifted, "apply", "--auto-approve", "--no-steps")
    assert applied.exit_code == 0, applied.output
    assert "Applied 12 change(s)." in applied.stdout
    check = run(drifted, "plan", "--check")
    assert check.exit_code == 0, check.output
    assert "0 to create, 0 to update, 0 to delete" in check.stdout

    neon, vercel = drifted.neon, drifted.vercel
    assert neon.project["name"] == "better-being-production"
    assert neon.project["history_retention_seconds"] == 30 * 86400
    assert neon.by_name("main")["protected"] is True
    assert (
        len(neon.named("development")) == 1 and neon.by_name("development")["parent_id"] == neon.by_name("main")["id"]
    )
    replicas = [e for e in neon.endpoints.values() if e["type"] == "read_only"]
    assert len(replicas) == 1 and replicas[0]["autoscaling_limit_max_cu"] == 2.0
    # Every read-write compute of the plan's branches has the plan's size and suspend timeout.
    computes = [e for e in neon.endpoints.values() if e["type"] == "read_write"]
    assert {(e["autoscaling_limit_max_cu"], e["suspend_timeout_seconds"]) for e in computes} == {(4.0, 300)}
    envs = sorted((tuple(e["target"]), e["key"], e["type"]) for e in vercel.envs.values())
    assert envs == [
        (("development",), "DATABASE_URL", "encrypted"),
        (("development",), "DATABASE_URL_UNPOOLED", "encrypted"),
        (("production",), "DATABASE_READ_URL", "sensitive"),
        (("production",), "DATABASE_URL", "sensitive"),
        (("production",), "DATABASE_URL_UNPOOLED", "sensitive"),
        (("production",), "SENTRY_DSN", "plain"),
        (("production",), "SHADOW_DATABASE_URL", "encrypted"),
    ]
    prod = next(
        e for e in vercel.envs.values() if e["key"] == "DATABASE_URL_UNPOOLED" and e["target"] == ["production"]
    )
    assert neon.passwords[neon.by_name("main")["id"]] in prod["value"] and "-pooler" not in prod["value"]
    # All env changes went in one request.
    assert vercel.count("POST", ENV) == 1
    # Nothing secret reached the output.
    for out in (applied.output, text.output, result.output):
        for secret in [*drifted.tokens, *neon.passwords.values()]:
            assert secret not in out


def test_apply_after_a_failure_completes_the_rest(drifted: CloudFakes):
    drifted.vercel.fail("POST", ENV, status=500)
    failed = run(drifted, "apply", "--auto-approve", "--no-steps")
    assert failed.exit_code == 4 and "POST /v10/projects/bb-prodx/env -> 500" in failed.stderr
    # Neon changes were made before the env step failed; the second run does only what is left.
    again = run(drifted, "plan", "--format", "json")
    pending = {a["address"] for a in json.loads(again.stdout)["actions"] if a["op"] != "no-op"}
    assert pending == {a for a in EXPECTED if a.startswith("vercel.")}
    assert run(drifted, "apply", "--auto-approve", "--no-steps").exit_code == 0
    assert run(drifted, "plan", "--check").exit_code == 0
    assert len(drifted.neon.named("development")) == 1
    assert run(drifted, "apply", "--auto-approve", "--no-steps").stdout.count("Applied") == 0  # nothing left to do


def test_a_difference_that_cannot_be_applied_stops_apply_before_any_change(cloud_fakes: CloudFakes):
    cloud_fakes.neon.project["pg_version"] = 16
    shown = run(cloud_fakes, "plan")
    assert "pg_version: 16 -> 17" in shown.stdout and "cannot apply" in shown.stdout
    result = run(cloud_fakes, "apply", "--auto-approve", "--no-steps")
    assert result.exit_code == 2 and "Postgres version cannot change" in result.stderr
    assert not [r for r in cloud_fakes.neon.requests if r.method != "GET"]
    assert not [r for r in cloud_fakes.vercel.requests if r.method != "GET"]


def test_markdown_and_dry_run(drifted: CloudFakes):
    md = run(drifted, "plan", "--format", "markdown")
    assert md.exit_code == 0 and md.stdout.startswith("**Infrastructure plan:** 5 to create")
    assert "| + | `neon.branch.development` | exists | False | True |" in md.stdout
    dry = run(drifted, "apply", "--dry-run", "--no-steps")
    assert dry.exit_code == 0 and "neon.branch.development" in dry.stdout
    assert not [r for r in drifted.neon.requests if r.method != "GET"]


def test_apply_without_a_terminal_needs_auto_approve(drifted: CloudFakes):
    result = run(drifted, "apply", "--no-steps")
    assert result.exit_code == 2 and "--auto-approve" in result.stderr
