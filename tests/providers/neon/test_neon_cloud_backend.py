"""The cloud backend fixture: Neon branches backed by real databases, wired through ``open_backend``."""

from __future__ import annotations

import psycopg

from bbops.providers.base import Backend
from bbops.providers.select import open_backend


def test_branches_are_real_databases_made_from_their_parent(cloud_backend_pg: Backend):
    be = cloud_backend_pg
    dev = be.branches.connection("development", database="neondb", role="neondb_owner", pooled=False)
    with psycopg.connect(dev.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE products (id int primary key, name text)")
        conn.execute("INSERT INTO products VALUES (1, 'tea')")
    be.branches.create_branch("preview/pr-1", parent="development", annotations={"pr": "1"})
    preview = be.branches.connection("preview/pr-1", database="neondb", role="neondb_owner")
    with psycopg.connect(preview.url, autocommit=True) as conn:
        assert conn.execute("SELECT name FROM products").fetchall() == [("tea",)]
        conn.execute("INSERT INTO products VALUES (2, 'honey')")
    # Reset puts the branch back to its parent's state.
    be.branches.reset_branch("preview/pr-1")
    preview = be.branches.connection("preview/pr-1", database="neondb", role="neondb_owner")
    with psycopg.connect(preview.url) as conn:
        assert conn.execute("SELECT count(*) FROM products").fetchone() == (1,)
    assert be.branches.delete_branch("preview/pr-1") is True


def test_open_backend_cloud_uses_the_fakes(cloud_fakes):
    be = open_backend("cloud", _plan_stub(), cloud_fakes.transports)
    try:
        assert be.name == "cloud"
        # What the cloud backend declares it can do (``Backend``'s capability fields).
        assert be.roots is None and be.admin is None
        assert be.infra is be.branches and be.restore_points is be.branches and be.timestamp_restore is be.branches
        assert {b.name for b in be.branches.list_branches()} == {"main", "development"}
        assert be.deployments.current_production() == cloud_fakes.vercel.project["targets"]["production"]["id"]
    finally:
        be.close()


def _plan_stub():
    from pathlib import Path

    from bbops.plan.model import Plan

    return Plan(file=Path("plans/x.yaml"), name="x")
