"""bbops.production.status: each step's state from the history, on a real Postgres."""

from __future__ import annotations

import pytest

from bbops.core.report import as_text
from bbops.errors import UsageError
from bbops.plan import load_plan
from bbops.production.history import RunInfo
from bbops.production.run import apply_production
from bbops.production.status import production_status
from bbops.providers.local import open_local_backend
from tests.production.test_production_local import SCHEMA, SEED, make_app, write_plan


@pytest.fixture
def backend(local_env):
    be = open_local_backend()
    be.branches.create_root("main", protected=True)
    yield be
    be.close()


def test_applied_pending_and_changed_steps_with_the_restore_point(backend, tmp_path):
    app = make_app(tmp_path)
    apply_production(backend, load_plan(write_plan(app, SCHEMA + SEED)), run=RunInfo("1", "d" * 40, "ci"))
    (app / "sql" / "seed.sql").write_text("INSERT INTO users VALUES (3, 'Edsger', NULL);")  # an applied step changed
    plan = load_plan(write_plan(app, SCHEMA + SEED + "    - {id: later, kind: sql, file: sql/seed.sql}\n"))
    status = production_status(backend, plan)
    assert [(s["id"], s["state"]) for s in status.steps] == [
        ("schema", "applied"),
        ("seed", "changed since applied"),
        ("later", "pending"),
    ]
    assert status.restore_points == ["bbops-rp-ddddddd"] and status.streams == []
    text = as_text(status)
    assert text.splitlines()[0] == "step\tkind\tstate\tfinished\terror"
    assert text.splitlines()[-1] == "Restore points: bbops-rp-ddddddd"


def test_a_plan_without_production_steps_is_a_usage_error(backend, tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "version: 1\nname: x\nneon:\n  project: {name: x, region: aws-eu-central-1, pg_version: 16}\n"
        "  database: neondb\n  role: neondb_owner\n  branches:\n    main: {default: true}\n"
    )
    with pytest.raises(UsageError, match="no production steps"):
        production_status(backend, load_plan(path))
