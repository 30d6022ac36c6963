"""Issue 12 item 8: a data rollback on Neon keeps the production lock, and is recorded before it starts.

On the fake Neon a restore drops every session of the restored branch (as Neon restarts its
compute), so a lock held on the production branch would vanish halfway through the rollback.
"""

from __future__ import annotations

import pytest

from bbops.errors import LockTimeout
from bbops.production.lock import production_lock, production_lock_url
from bbops.production.rollback import UNFINISHED, rollback
from tests.production.test_production_cloud import OLD_DB_URL, _history, _prod_env
from tests.production.test_rollback_cloud import _applied


def test_item8_production_lock_survives_the_data_restore(shop, cloud_fakes_pg, cloud_backend_pg):
    plan, health = _applied(shop, cloud_backend_pg)
    seen: dict[str, object] = {}

    def during(line: str) -> None:
        if line == "rollback data":
            seen["before"] = _history(cloud_backend_pg).outstanding_rollback()
        if line == "rollback env":  # the data restore is over: production's sessions were dropped
            seen["after"] = _history(cloud_backend_pg).outstanding_rollback()
            try:
                with production_lock(cloud_backend_pg, plan, "main", "a concurrent apply", timeout=0):
                    seen["lock"] = "taken by another run"
            except LockTimeout:
                seen["lock"] = "still held"

    restores = len(cloud_fakes_pg.neon.restores)
    report = rollback(cloud_backend_pg, plan, "latest", parts=("data", "env"), health=health.checker(), log=during)
    assert len(cloud_fakes_pg.neon.restores) == restores + 1  # the data part really restored main
    assert [(p.name, p.status) for p in report.parts] == [("data", "done"), ("env", "done"), ("health", "done")]
    assert seen["lock"] == "still held"
    # The record exists before the first part, and again right after the restore rolled the history back.
    assert seen["before"] is not None and UNFINISHED in seen["before"].parts
    assert seen["after"] is not None and seen["after"].parts == f"data,{UNFINISHED}"
    final = _history(cloud_backend_pg).outstanding_rollback()
    assert final is not None and final.parts == "data,env,health"
    assert _prod_env(cloud_fakes_pg) == {"DATABASE_URL": OLD_DB_URL}


def test_item8_lock_lives_off_the_production_branch(shop, cloud_fakes_pg, cloud_backend_pg):
    plan, _ = _applied(shop, cloud_backend_pg)
    url = production_lock_url(cloud_backend_pg, plan, "main")
    development = cloud_backend_pg.branches.connection(
        "development", database="neondb", role="neondb_owner", pooled=False
    )
    assert url == development.url


def test_item8_a_rollback_that_dies_midway_still_stops_the_next_apply(
    shop,
    cloud_fakes_pg,
    cloud_backend_pg,
):
    from bbops.errors import UsageError
    from bbops.production.history import RunInfo
    from bbops.production.run import apply_production

    plan, health = _applied(shop, cloud_backend_pg)

    def die(line: str) -> None:
        if line == "rollback env":
            raise KeyboardInterrupt  # the runner is cancelled right after the data restore

    with pytest.raises(KeyboardInterrupt):
        rollback(cloud_backend_pg, plan, "latest", health=health.checker(), log=die)
    record = _history(cloud_backend_pg).outstanding_rollback()
    assert record is not None and record.parts == "data"
    with pytest.raises(UsageError, match="rolled back to bbops-rp-"):
        apply_production(cloud_backend_pg, plan, health=health.checker(), run=RunInfo("9", "a" * 40, "ci"))
