"""Shared fixtures: a real Postgres for the whole session, fresh databases per test.

The server is ``BBOPS_TEST_DATABASE_URL`` when set, otherwise an embedded
Postgres (pgserver) started here in a temporary folder and stopped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from bbops.core import redact
from bbops.core.pg import with_database
from tests.fakes.pgdb import HBA_LINES

# Fixtures for the cloud backend on stateful Neon/Vercel fakes (cloud_backend, cloud_fakes, ..._pg).
pytest_plugins = ["tests.leakcheck", "tests.fakes.plugin"]


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """Admin URL of a real Postgres server for this test session."""
    external = os.environ.get("BBOPS_TEST_DATABASE_URL")
    if external:
        yield external
        return
    import shutil
    import tempfile

    import pgserver

    # Not under pytest's basetemp: pytest prunes old basetemp folders, and another
    # pytest session starting meanwhile would delete this server's data directory.
    datadir = tempfile.mkdtemp(prefix="bbops-test-pg-")
    server = pgserver.get_server(datadir, cleanup_mode="stop")
    # Follow mode (logical replication) needs wal_level = logical, which takes a restart. A
    # throwaway server need not survive a power cut: without fsync, CREATE/DROP DATABASE (a few
    # hundred per session) stop waiting on the disk.
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET wal_level = logical")
        conn.execute("ALTER SYSTEM SET fsync = off")
    # The fake Neon's branch roles log in with their password; every other role keeps trust.
    hba = Path(datadir) / "pg_hba.conf"
    hba.write_text(HBA_LINES + hba.read_text())
    server.cleanup()
    server = pgserver.get_server(datadir, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(datadir, ignore_errors=True)


@pytest.fixture(scope="session")
def make_database(pg_server_url: str) -> Iterator[Callable[..., str]]:
    """Factory: ``make_database(prefix="t")`` creates an empty database and returns its URL."""
    created: list[str] = []

    def make(prefix: str = "t", template: str | None = None) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            conn.execute(stmt)
        created.append(name)
        return with_database(pg_server_url, name)

    yield make
    if not os.environ.get("BBOPS_TEST_DATABASE_URL"):
        return  # the embedded server and its data directory go at the end of the session anyway
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        for name in created:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def database_url(make_database: Callable[..., str]) -> str:
    """URL of a fresh, empty database for one test."""
    return make_database()


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    """Each test starts with no registered secrets or listeners."""
    redact.clear()
    yield
    redact.clear()


def purge_local_backend() -> None:
    """Drop every database of the local backend's current namespace (``BBOPS_LOCAL_NAMESPACE``)."""
    from bbops.providers.local import open_local_backend

    backend = open_local_backend()
    try:
        backend.branches.purge()
    finally:
        backend.close()


@pytest.fixture
def local_env(pg_server_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """A local backend of its own: a namespace on the session's server and a state folder.

    Yields the state folder. Runner variables that would change what commands do
    are removed; every database of the namespace is dropped afterwards.
    """
    monkeypatch.setenv("BBOPS_LOCAL_DATABASE_URL", pg_server_url)
    monkeypatch.setenv("BBOPS_LOCAL_NAMESPACE", "t" + uuid.uuid4().hex[:8])
    monkeypatch.setenv("BBOPS_HOME", str(tmp_path / "state"))
    for name in (
        "GITHUB_ACTIONS",
        "GITHUB_EVENT_PATH",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_OUTPUT",
        "GITHUB_ENV",
        "GITHUB_SHA",
        "BBOPS_STATE_KEY",
        "BBOPS_BACKEND",
    ):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path / "state"
    purge_local_backend()
