"""The production step ``kind: doctor`` on the local backend: it fails the run at ``fail_on``, and only then."""

from __future__ import annotations

from pathlib import Path

import pytest

from bbops.errors import MigrationError
from bbops.plan import load_plan
from bbops.production.history import RunInfo
from bbops.production.run import apply_production
from bbops.providers.local import open_local_backend
from tests.production.test_production_local import SCHEMA, write_migration, write_plan


@pytest.fixture
def backend(local_env):
    be = open_local_backend()
    be.branches.create_root("main", protected=True)
    yield be
    be.close()


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """An app whose orders reference users without an index: a warning, not an error."""
    folder = tmp_path / "app"
    write_migration(
        folder / "drizzle",
        0,
        "0000_shop",
        "CREATE TABLE users (id int PRIMARY KEY);"
        "CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users (id) ON DELETE CASCADE);",
    )
    (folder / "queries.sql").write_text("-- name: orders-of\nSELECT * FROM orders WHERE user_id = 1;\n")
    return folder


def test_doctor_step_fails_at_its_level(backend, app: Path) -> None:
    step = "    - {id: health, kind: doctor, fail_on: warning, queries: queries.sql}\n"
    plan = load_plan(write_plan(app, SCHEMA + step))
    with pytest.raises(MigrationError, match=r"step health \(doctor\) failed: .*fk\.unindexed public\.orders\.user_id"):
        apply_production(backend, plan, run=RunInfo("1", None, "ci"))


def test_doctor_step_passes_below_its_level(backend, app: Path) -> None:
    plan = load_plan(write_plan(app, SCHEMA + "    - {id: health, kind: doctor}\n"))
    report = apply_production(backend, plan, run=RunInfo("1", None, "ci"))
    (health,) = [s for s in report.steps if s.id == "health"]
    assert health.status == "applied" and "1 warning(s)" in health.detail and "0 error(s)" in health.detail


def test_doctor_step_in_the_plan_schema(tmp_path: Path, app: Path) -> None:
    from bbops.errors import PlanError

    with pytest.raises(PlanError, match="fail_on"):
        load_plan(write_plan(app, SCHEMA + "    - {id: health, kind: doctor, fail_on: info}\n"))
    with pytest.raises(PlanError, match="queries"):
        load_plan(write_plan(app, SCHEMA + "    - {id: health, kind: doctor, queries: missing.sql}\n"))


def test_cli_examines_a_branch_of_the_plan(backend, app: Path) -> None:
    import json

    from click.testing import CliRunner

    from bbops.cli import main

    plan_path = write_plan(app, SCHEMA)
    apply_production(backend, load_plan(plan_path), run=RunInfo("1", None, "ci"))
    args = ["doctor", "--plan", str(plan_path), "--backend", "local", "--format", "json"]
    result = CliRunner().invoke(main, [*args, "--branch", "main", "--queries", str(app / "queries.sql")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [f["objects"][0] for f in data["findings"] if f["id"] == "fk.unindexed"] == ["public.orders.user_id"]
    assert "bbops" not in {o.split(".")[0] for f in data["findings"] if f["id"] != "size.table" for o in f["objects"]}
    missing = CliRunner().invoke(main, [*args, "--branch", "nope"])
    assert missing.exit_code == 2 and "branch 'nope' does not exist" in missing.output
