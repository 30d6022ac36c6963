"""bbops.core.pg: the one-row helpers fail with a clear message instead of a TypeError on None."""

from __future__ import annotations

import pytest

from bbops.core import pg
from bbops.errors import BBopsError


def test_scalar_returns_the_one_value_typed(database_url: str) -> None:
    with pg.connection(database_url, autocommit=True) as conn:
        assert pg.scalar(conn, "SELECT count(*) FROM generate_series(1, 3)", kind=int) == 3
        assert pg.scalar(conn, "SELECT to_regclass(%s) IS NOT NULL", ["pg_class"], kind=bool) is True
        assert pg.scalar(conn, "SELECT current_database()", kind=str) == conn.info.dbname


def test_scalar_without_a_row_names_the_query(database_url: str) -> None:
    with pg.connection(database_url, autocommit=True) as conn:
        with pytest.raises(BBopsError, match="no row where one was expected: SELECT 1 WHERE false") as exc:
            pg.scalar(conn, "SELECT 1 WHERE false", kind=int)
    assert exc.value.exit_code == 3  # a bug in bbops' query, not the user's doing


def test_scalar_of_another_type_names_both(database_url: str) -> None:
    with pg.connection(database_url, autocommit=True) as conn:
        with pytest.raises(BBopsError, match="returned NoneType, expected int: SELECT NULL::int"):
            pg.scalar(conn, "SELECT NULL::int", kind=int)


def test_one_returns_the_row_or_says_what_had_none(database_url: str) -> None:
    with pg.connection(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY, name text)")
        assert pg.one(conn.execute("INSERT INTO t (name) VALUES ('a') RETURNING id, name"), "insert a") == (1, "a")
        with pytest.raises(BBopsError, match=r"^find b: the query returned no row"):
            pg.one(conn.execute("SELECT id FROM t WHERE name = 'b'"), "find b")
