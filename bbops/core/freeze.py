"""The write freeze: make a database refuse writes for a cutover, and undo it.

``freeze`` sets ``default_transaction_read_only = on`` on the database (``ALTER
DATABASE``), so every new session starts read-only, then ends the sessions that
are open (they were started writable). The app's next write fails with the
server's own error (``cannot execute INSERT in a read-only transaction``,
SQLSTATE 25006): loud, never a silent loss. Reads keep working, so the copy and
the verification read from the frozen database.

What it does not stop, by design of Postgres (say so to whoever plans a cutover):

- a session may ``SET default_transaction_read_only = off`` or ``SET
  transaction_read_only = off`` and write: the freeze stops the app, not a
  determined client;
- a session bbops cannot end (one of a superuser, when bbops connects as an
  ordinary owner) stays writable until it reconnects; ``freeze`` counts these
  and the step's detail names the count;
- per-role settings (``ALTER ROLE ... SET default_transaction_read_only = off``)
  win over the database's one.

``unfreeze`` puts the setting back as it was before (``RESET`` when the database
had none). Both need the database owner (or a superuser).

Two callers, one implementation: the production ``freeze`` step (by URL, recording the
previous setting for ``bbops rollback``) and the online switch and its rollback (on a session
bbops keeps using afterwards: ``freeze_on``/``unfreeze_on`` take that session, which stays
writable because it set ``default_transaction_read_only = off`` for itself and is never
among the sessions ended).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import psycopg
from psycopg import sql

from bbops.core import pg, redact
from bbops.errors import MigrationError

SETTING = "default_transaction_read_only"

_PREVIOUS = """
SELECT (SELECT split_part(c, '=', 2) FROM unnest(s.setconfig) c WHERE c LIKE 'default\\_transaction\\_read\\_only=%')
FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
WHERE d.datname = current_database() AND s.setrole = 0
"""

_OTHERS = """
SELECT pid FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
"""


@dataclass(frozen=True)
class FreezeResult:
    database: str
    previous: str | None  # the database's own setting before the freeze (None: it had none)
    ended: int  # open sessions ended
    left_open: int  # sessions bbops could not end (they stay writable until they reconnect)


def _session(url: str) -> psycopg.Connection:
    conn = pg.connect(url, autocommit=True, application_name="bbops freeze")
    # This session must be able to write the setting even when the database is already frozen.
    conn.execute("SET default_transaction_read_only = off")
    return conn


def current(url: str) -> tuple[str, str | None]:
    """The database's name and its own ``default_transaction_read_only`` setting (None: none): what an undo restores."""
    try:
        with pg.connection(url, autocommit=True, application_name="bbops freeze") as conn:
            database = pg.scalar(conn, "SELECT current_database()", kind=str)
            row = conn.execute(_PREVIOUS).fetchone()
    except psycopg.Error as exc:
        raise MigrationError(f"cannot read the database's settings: {redact.scrub(str(exc)).strip()}") from None
    return database, (str(row[0]) if row and row[0] is not None else None)


def _terminate(conn: psycopg.Connection, pid: int) -> bool:
    """End a session and (Postgres 14+) wait until it is gone: a write it was committing is then
    either committed before the copy's snapshot or not at all."""
    if conn.info.server_version >= 140000:
        return pg.scalar(conn, "SELECT pg_terminate_backend(%s, 5000)", (pid,), kind=bool)
    return pg.scalar(conn, "SELECT pg_terminate_backend(%s)", (pid,), kind=bool)


def _still_there(conn: psycopg.Connection, pid: int) -> bool:
    return pg.scalar(conn, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %s)", (pid,), kind=bool)


def freeze_on(conn: psycopg.Connection) -> FreezeResult:
    """Freeze ``conn``'s database and end every other session on it; ``conn`` itself stays usable."""
    database = pg.scalar(conn, "SELECT current_database()", kind=str)
    row = conn.execute(_PREVIOUS).fetchone()
    previous = str(row[0]) if row and row[0] is not None else None
    conn.execute(sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(pg.ident(database)))
    ended, left = 0, 0
    for (pid,) in conn.execute(_OTHERS).fetchall():
        try:
            if _terminate(conn, pid):
                ended += 1
            elif _still_there(conn, pid):  # not one that was closing anyway
                left += 1
        except psycopg.errors.InsufficientPrivilege:
            left += 1
    return FreezeResult(database, previous, ended, left)


def unfreeze_on(conn: psycopg.Connection, previous: str | None = None) -> int:
    """Put ``conn``'s database setting back (``previous``; None: ``RESET``) and end the sessions
    opened during the freeze (they started read-only and would stay so); returns that count."""
    name = pg.ident(pg.scalar(conn, "SELECT current_database()", kind=str))
    if previous is None:
        conn.execute(sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only").format(name))
    else:
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = {}").format(name, sql.Literal(previous))
        )
    ended = 0
    for (pid,) in conn.execute(_OTHERS).fetchall():
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            ended += _terminate(conn, pid)
    return ended


def frozen_on(conn: psycopg.Connection) -> bool:
    """Whether ``conn``'s database has the freeze's setting (its own, not a role's)."""
    row = conn.execute(_PREVIOUS).fetchone()
    return bool(row and row[0] == "on")


def freeze(url: str) -> FreezeResult:
    """Make new sessions on ``url``'s database read-only and end the open ones, then prove it."""
    try:
        with _session(url) as conn:
            result = freeze_on(conn)
    except psycopg.Error as exc:
        raise MigrationError(f"cannot freeze writes: {redact.scrub(str(exc)).strip()}") from None
    database = result.database
    # Prove it: a fresh session starts read-only.
    with pg.connection(url, autocommit=True, application_name="bbops freeze check") as check:
        if pg.scalar(check, "SHOW default_transaction_read_only", kind=str) != "on":
            raise MigrationError(f"the freeze of {database} did not take: new sessions are still writable")
    return result


def unfreeze(url: str, previous: str | None) -> tuple[str, int]:
    """Put the database's setting back as it was before ``freeze``, then end the sessions opened
    during the freeze (they started read-only and would stay so). Returns the database and that count."""
    try:
        with _session(url) as conn:
            database = pg.scalar(conn, "SELECT current_database()", kind=str)
            ended = unfreeze_on(conn, previous)
    except psycopg.Error as exc:
        raise MigrationError(f"cannot lift the write freeze: {redact.scrub(str(exc)).strip()}") from None
    return database, ended


def is_frozen(url: str) -> bool:
    with pg.connection(url, autocommit=True, application_name="bbops freeze check") as conn:
        return pg.scalar(conn, "SHOW default_transaction_read_only", kind=str) == "on"
