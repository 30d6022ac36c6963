"""Validation of the cutover's plan fields: connection strings never in NEXT_PUBLIC_* variables,
check steps with probes, freeze steps, on_failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from bbops.plan import load_plan, validate_file
from tests.plan_samples import MINIMAL


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    return [p.render() for p in validate_file(path)]


def test_a_connection_string_in_a_next_public_variable_is_refused(tmp_path):
    text = MINIMAL.replace(
        "        DATABASE_URL: {connection: pooled, type: sensitive}",
        "        DATABASE_URL: {connection: pooled, type: sensitive}\n"
        "        NEXT_PUBLIC_DATABASE_URL: {connection: pooled, type: sensitive}\n"
        "        NEXT_PUBLIC_SITE_URL: {value: 'https://shop.example'}",
        1,
    )
    problems = _problems(tmp_path, text)
    assert len(problems) == 1, problems
    assert "NEXT_PUBLIC_DATABASE_URL" in problems[0] and "every browser" in problems[0]
    line = text.splitlines().index("        NEXT_PUBLIC_DATABASE_URL: {connection: pooled, type: sensitive}") + 1
    assert f"plan.yaml:{line}:" in problems[0]  # the line of the offending variable


@pytest.mark.parametrize(
    ("steps", "expect"),
    [
        ("- {id: c, kind: check, queries: [{name: q, sql: 'SELECT 1', p95_ms: 100}]}", None),
        ("- {id: c, kind: check}", "missing required field `url`"),
        ("- {id: c, kind: check, queries: [{name: q, sql: 'SELECT 1'}]}", "missing required field `p95_ms`"),
        ("- {id: c, kind: check, queries_file: nope.sql, queries: [{name: q, p95_ms: 5}]}", "file not found"),
        ("- {id: f, kind: freeze, database: 'postgres://u@h/db'}", "must be a `${NAME}` reference"),
        ("- {id: f, kind: freeze, database: '${OLD_DATABASE_URL}', on_failure: rollback}", None),
        (
            "- {id: e, kind: env, target: production, env: {NEXT_PUBLIC_DB: {connection: direct}}}",
            "would ship a database connection string",
        ),
    ],
)
def test_cutover_step_fields(tmp_path, steps, expect):
    problems = _problems(tmp_path, MINIMAL + "production:\n  on_failure: rollback\n  steps:\n    " + steps + "\n")
    if expect is None:
        assert problems == []
        plan = load_plan(tmp_path / "plan.yaml")
        assert plan.production is not None and plan.production.on_failure == "rollback"
    else:
        assert any(expect in p for p in problems), problems
