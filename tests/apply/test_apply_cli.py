"""`bbops apply` as a person runs it: the infrastructure's plan first, then why the steps may not run."""

from __future__ import annotations

from click.testing import CliRunner

from bbops.cli import main
from tests.production.test_production_local import SCHEMA, make_app, write_plan

UNSET = "    - {id: hook, kind: check, url: '${NOT_SET_ANYWHERE}'}\n"


def test_a_dry_run_shows_the_infrastructure_then_the_refusal_and_exits_2(local_env, tmp_path, monkeypatch):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    plan = write_plan(make_app(tmp_path), SCHEMA + UNSET)
    for args in (["--dry-run"], ["--yes"]):
        result = CliRunner().invoke(main, ["apply", "--plan", str(plan), *args])
        assert result.exit_code == 2, result.output
        assert "+ create neon.branch.main" in result.stdout and "Plan: 1 to create" in result.stdout
        assert "NOT_SET_ANYWHERE" in result.stderr
        assert "Applied" not in result.stdout  # refused before the infrastructure changed


def test_apply_json_carries_the_plan_what_was_applied_and_the_steps(local_env, tmp_path):
    import json

    plan = write_plan(make_app(tmp_path), SCHEMA)
    result = CliRunner().invoke(main, ["apply", "--plan", str(plan), "--yes", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [a["address"] for a in doc["applied"]] == ["neon.branch.main"]
    assert [(s["id"], s["status"]) for s in doc["steps"]["steps"]] == [("schema", "applied")]
    assert doc["dry_run"] is False
