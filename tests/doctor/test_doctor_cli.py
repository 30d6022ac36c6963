"""``bbops doctor``: formats, the documented json schema, --fail-on exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from bbops.cli import main
from tests import REPO_ROOT
from tests.doctor.conftest import sql

SCHEMA = json.loads((REPO_ROOT / "bbops" / "schema" / "doctor.schema.json").read_text())


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["doctor", *args])
    return result.exit_code, result.output


def test_json_output_follows_the_documented_schema(clean_url: str) -> None:
    sql(clean_url, "DROP INDEX child_parent_id_idx", "CREATE TABLE events (at timestamptz)")
    code, out = run("--database-url", clean_url, "--format", "json")
    assert code == 0, out
    data = json.loads(out)
    jsonschema.validate(data, SCHEMA)
    assert {"fk.unindexed", "table.no_primary_key"} <= {f["id"] for f in data["findings"]}
    assert data["counts"]["warning"] >= 2 and data["schema_version"] == 1


def test_fail_on_sets_the_exit_code(clean_url: str) -> None:
    assert run("--database-url", clean_url, "--fail-on", "warning")[0] == 0
    sql(clean_url, "DROP INDEX child_parent_id_idx")
    code, out = run("--database-url", clean_url, "--fail-on", "warning")
    assert code == 1 and "fk.unindexed" in out and "at or above warning" in out
    assert run("--database-url", clean_url, "--fail-on", "error")[0] == 0
    assert run("--database-url", clean_url)[0] == 0


def test_text_and_markdown(clean_url: str) -> None:
    sql(clean_url, "DROP INDEX child_parent_id_idx")
    code, out = run("--database-url", clean_url)
    assert code == 0 and "WARNING fk.unindexed  public.child.parent_id, public.parent" in out
    assert 'fix: CREATE INDEX CONCURRENTLY IF NOT EXISTS "child_parent_id_idx"' in out
    code, out = run("--database-url", clean_url, "--format", "markdown")
    assert code == 0 and "| warning | `fk.unindexed` | `public.child.parent_id`, `public.parent` |" in out
    assert "```sql" in out


def test_queries_file_and_bad_input(clean_url: str, tmp_path: Path) -> None:
    probes = tmp_path / "q.sql"
    probes.write_text("-- name: by-note\nSELECT * FROM child WHERE note = 'x';\nSELECT * FROM nowhere;\n")
    code, out = run("--database-url", clean_url, "--queries", str(probes), "--format", "json")
    assert code == 0, out
    found = {f["id"]: f for f in json.loads(out)["findings"] if f["id"].startswith("query.")}
    assert "q.sql:3" in found["query.failed"]["message"] and "nowhere" in found["query.failed"]["message"]
    assert "query.seq_scan" not in found  # 2,000 rows is below the large-table limit
    code, out = run("--database-url", clean_url, "--queries", str(tmp_path / "missing.sql"))
    assert code == 2
    code, out = run("--database-url", "")
    assert code == 2 and "no database given" in out


def test_probes_from_plan_steps_in_either_shape() -> None:
    from bbops.doctor.probes import probes_from_steps

    probes = probes_from_steps(
        iter(
            [
                ("cutover-health", {"search": {"sql": "SELECT 1;", "p95_ms": 50}, "list": "SELECT 2"}),
                ("other", [{"name": "by-user", "query": "SELECT 3"}, "SELECT 4", {"p95_ms": 9}]),
            ]
        )
    )
    assert [(p.name, p.sql, p.source) for p in probes] == [
        ("search", "SELECT 1", "step cutover-health"),
        ("list", "SELECT 2", "step cutover-health"),
        ("by-user", "SELECT 3", "step other"),
        ("1", "SELECT 4", "step other"),
    ]
