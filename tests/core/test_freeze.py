"""The write freeze on a real server: open sessions end, new ones cannot write (the server's own
read-only error), reads keep working, and the undo puts the database's setting back as it was."""

from __future__ import annotations

import psycopg
import pytest

from bbops.core import freeze


def _write(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO t (v) VALUES ('x')")


def test_freeze_ends_sessions_refuses_writes_and_is_undone(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id serial PRIMARY KEY, v text)")
    writer = psycopg.connect(database_url, autocommit=True)  # the app, connected before the freeze
    writer.execute("INSERT INTO t (v) VALUES ('before')")

    result = freeze.freeze(database_url)
    assert result.previous is None and result.ended >= 1 and result.left_open == 0
    assert freeze.is_frozen(database_url)
    with pytest.raises(psycopg.OperationalError):  # its session was ended: the pool reconnects...
        writer.execute("INSERT INTO t (v) VALUES ('lost?')")
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction, match="read-only transaction"):
        _write(database_url)  # ...and its next write fails loudly
    with psycopg.connect(database_url) as reader:  # reads (the copy, the verification) still work
        assert reader.execute("SELECT v FROM t").fetchall() == [("before",)]

    assert freeze.freeze(database_url).previous == "on"  # a second freeze sees the first one
    database, _ = freeze.unfreeze(database_url, None)
    assert database == result.database and not freeze.is_frozen(database_url)
    _write(database_url)


def test_unfreeze_restores_a_setting_the_database_had(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        name = conn.execute("SELECT current_database()").fetchone()[0]
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off')
    result = freeze.freeze(database_url)
    assert result.previous == "off" and freeze.is_frozen(database_url)
    freeze.unfreeze(database_url, result.previous)
    with psycopg.connect(database_url, autocommit=True) as conn:
        setting = conn.execute(
            "SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
            "WHERE d.datname = current_database() AND s.setrole = 0"
        ).fetchone()[0]
    assert setting == ["default_transaction_read_only=off"]


def test_the_session_that_freezes_keeps_writing_and_others_end(database_url):
    """The online switch's way: freeze on a session bbops goes on using (its marker, the reverse stream)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id serial PRIMARY KEY, v text)")
    app = psycopg.connect(database_url, autocommit=True)
    with psycopg.connect(database_url, autocommit=True) as ours:
        ours.execute("SET default_transaction_read_only = off")
        result = freeze.freeze_on(ours)
        assert result.ended >= 1 and freeze.frozen_on(ours)  # the app (and perhaps a session just closing)
        ours.execute("INSERT INTO t (v) VALUES ('marker')")  # bbops' own session still writes
        with pytest.raises(psycopg.OperationalError):
            app.execute("SELECT 1")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            _write(database_url)
        freeze.unfreeze_on(ours, result.previous)
        assert not freeze.frozen_on(ours)
    _write(database_url)
