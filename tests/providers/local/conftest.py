"""A local backend on the test session's Postgres server, in a namespace of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bbops.providers.local import LocalBackend, dbops, open_local_backend


@pytest.fixture
def external_backend(pg_server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalBackend]:
    """The backend `bbops local` opens (BBOPS_LOCAL_DATABASE_URL), with branches `main` and `preview/pr-9`;
    every branch of its namespace is dropped afterwards."""
    monkeypatch.setenv("BBOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BBOPS_LOCAL_DATABASE_URL", pg_server_url)
    monkeypatch.setenv("BBOPS_LOCAL_NAMESPACE", uuid.uuid4().hex[:10])
    backend = open_local_backend()
    try:
        backend.branches.create_root("main")
        backend.branches.create_branch("preview/pr-9", parent="main", annotations={"pr": "9"})
        yield backend
    finally:
        catalog = backend.branches._catalog()
        for entry in catalog.list(kind=None):
            dbops.drop_database(catalog.conn, entry.database)
            catalog.delete(entry.name)
        backend.close()
