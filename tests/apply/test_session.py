"""bbops.apply.session: one production lock and one read of the history per apply, on a real Postgres."""

from __future__ import annotations

from contextlib import contextmanager

import psycopg
import pytest

from bbops.apply import session as apply_session
from bbops.core.report import as_text
from bbops.errors import UsageError
from bbops.plan import load_plan
from bbops.production import run as production_run
from bbops.production.history import History, RunInfo
from bbops.providers.local import open_local_backend
from tests.production.test_production_local import SCHEMA, SEED, make_app, write_plan

RUN = RunInfo("7", "c" * 40, "ci")


@pytest.fixture
def backend(local_env):
    be = open_local_backend()
    yield be
    be.close()


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def counted(monkeypatch):
    """Counts of production locks taken and history reads, by wrapping the real functions."""
    counts = {"locks": 0, "reads": 0, "pid": 0}
    real_lock, real_read = production_run.production_lock, History.latest_attempts

    @contextmanager
    def lock(*args, **kwargs):
        counts["locks"] += 1
        with real_lock(*args, **kwargs) as session:
            counts["pid"] = session.info.backend_pid
            yield session

    def read(self):
        counts["reads"] += 1
        return real_read(self)

    monkeypatch.setattr(production_run, "production_lock", lock)
    monkeypatch.setattr(History, "latest_attempts", read)
    return counts


def test_a_first_apply_takes_the_lock_once_the_branch_exists_and_runs_every_step(backend, app, counted):
    plan = load_plan(write_plan(app, SCHEMA + SEED))
    with apply_session.prepare(backend, plan, run=RUN) as session:
        prepared = session.prepared
        assert counted["locks"] == counted["reads"] == 0  # no production branch yet: nothing to lock or read
        assert [a.address for a in prepared.pending] == ["neon.branch.main"]
        assert prepared.steps is not None and [s.status for s in prepared.steps.steps] == ["would run"] * 2
        result = session.execute()
    assert [s.status for s in result.steps.steps] == ["applied", "applied"]
    assert [a.address for a in result.applied] == ["neon.branch.main"]
    assert counted["locks"] == 1


def test_a_later_apply_reads_the_history_once_under_one_lock_for_preview_and_run(backend, app, counted):
    plan = load_plan(write_plan(app, SCHEMA))
    with apply_session.prepare(backend, plan, run=RUN) as session:
        session.execute()
    counted.update(locks=0, reads=0)
    plan = load_plan(write_plan(app, SCHEMA + SEED))
    with apply_session.prepare(backend, plan, run=RUN) as session:
        assert [s.id for s in session.prepared.steps.steps] == ["seed"]
        assert "seed" in as_text(session.prepared)
        result = session.execute()
    assert [(s.id, s.status) for s in result.steps.steps] == [("seed", "applied")]
    assert (counted["locks"], counted["reads"]) == (1, 1)


def test_a_lock_lost_between_prepare_and_execute_is_taken_again_and_the_history_read_again(backend, app, counted):
    plan = load_plan(write_plan(app, SCHEMA))
    with apply_session.prepare(backend, plan, run=RUN) as session:
        session.execute()
    plan = load_plan(write_plan(app, SCHEMA + SEED))
    counted.update(locks=0, reads=0)
    with apply_session.prepare(backend, plan, run=RUN) as session:
        # What a compute restart does to the lock's session (Neon restarts a compute whose size changes).
        with psycopg.connect(backend.admin.admin_url(), autocommit=True) as admin:
            ended = admin.execute("SELECT pg_terminate_backend(%s)", (counted["pid"],)).fetchall()
        assert ended == [(True,)]
        result = session.execute()
    assert [(s.id, s.status) for s in result.steps.steps] == [("seed", "applied")]
    assert (counted["locks"], counted["reads"]) == (2, 2)


def test_a_refusal_is_kept_for_after_the_infrastructure_plan_and_nothing_changes(backend, app, monkeypatch):
    plan = load_plan(write_plan(app, SCHEMA + "    - {id: hook, kind: check, url: '${NOT_SET_ANYWHERE}'}\n"))
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with apply_session.prepare(backend, plan, run=RUN) as session:
        assert session.prepared.refusal is not None
        assert [a.address for a in session.prepared.pending] == ["neon.branch.main"]
        with pytest.raises(UsageError):
            session.execute()
    assert backend.branches.get_branch("main") is None  # refused before the infrastructure changed
