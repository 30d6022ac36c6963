"""`bbops plan` / `bbops apply` on the embedded local backend: branches and env vars (no settings or replicas)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bbops.cli import main
from bbops.providers.local import open_local_backend
from tests import REPO_ROOT

PLAN = REPO_ROOT / "plans" / "bb-prodx.yaml"


def run(*args: str):
    return CliRunner().invoke(main, [*args, "--plan", str(PLAN), "--backend", "local"])


def test_local_plan_apply_converges(local_env):
    first = run("plan", "--format", "json")
    assert first.exit_code == 0, first.output
    pending = {a["address"]: a["op"] for a in json.loads(first.stdout)["actions"] if a["op"] != "no-op"}
    assert pending == {
        "neon.branch.main": "create",
        "neon.branch.development": "create",
        "vercel.env.production.DATABASE_URL": "create",
        "vercel.env.production.DATABASE_URL_UNPOOLED": "create",
        "vercel.env.production.DATABASE_READ_URL": "create",
        "vercel.env.production.SHADOW_DATABASE_URL": "create",
        "vercel.env.development.DATABASE_URL": "create",
        "vercel.env.development.DATABASE_URL_UNPOOLED": "create",
    }
    assert run("plan", "--check").exit_code == 1
    applied = run("apply", "--auto-approve", "--no-steps")
    assert applied.exit_code == 0, applied.output
    assert run("plan", "--check").exit_code == 0
    backend = open_local_backend()
    try:
        main_branch = backend.branches.get_branch("main")
        assert main_branch.protected and main_branch.default
        assert backend.branches.get_branch("development").parent == "main"
        env = {(v.targets, v.key) for v in backend.env.list_env()}
        assert (("production",), "DATABASE_URL") in env and (("development",), "DATABASE_URL_UNPOOLED") in env
    finally:
        backend.close()


def test_apply_refuses_before_changing_anything_when_a_step_cannot_run(local_env, monkeypatch):
    # The copy step needs ${OLD_DATABASE_URL}: without it, not even the infrastructure part may run,
    # or a merge would leave production half-applied (branches made, steps not started).
    for name in ("OLD_DATABASE_URL", "OLD_DATABASE_URL_POOLED", "APP_HEALTH_URL"):
        monkeypatch.delenv(name, raising=False)
    result = run("apply", "--auto-approve")
    assert result.exit_code == 2, result.output
    assert "OLD_DATABASE_URL" in result.output
    backend = open_local_backend()
    try:
        assert backend.branches.list_branches() == []
        assert backend.env.list_env() == []
    finally:
        backend.close()
