"""A small healthy schema every doctor test starts from: each test then breaks one thing."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from bbops.doctor import Finding, Limits, Report, run_doctor

CLEAN = """
CREATE TABLE parent (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);
CREATE TABLE child (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id bigint NOT NULL REFERENCES parent (id) ON DELETE CASCADE,
    note text
);
CREATE INDEX child_parent_id_idx ON child (parent_id);
INSERT INTO parent (name) SELECT 'p' || i FROM generate_series(1, 200) i;
INSERT INTO child (parent_id, note) SELECT 1 + i % 200, md5(i::text) FROM generate_series(1, 2000) i;
ANALYZE;
"""

# Facts rather than problems: present on any database.
FACTS = {"size.table", "statements.unavailable"}


@pytest.fixture
def clean_url(make_database: Callable[..., str]) -> str:
    url = make_database("doc")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(CLEAN)
    return url


def sql(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for stmt in statements:
            conn.execute(stmt)


def doctor(url: str, **kwargs: object) -> Report:
    # arg-type: the tests pass run_doctor's own keyword arguments through untyped.
    return run_doctor(url, limits=kwargs.pop("limits", Limits()), **kwargs)  # type: ignore[arg-type]


def by_id(report: Report, check_id: str) -> list[Finding]:
    return [f for f in report.findings if f.id == check_id]


def problems(report: Report) -> set[str]:
    return {f.id for f in report.findings} - FACTS
