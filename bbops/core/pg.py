"""Connecting to Postgres: one place that knows how bbops opens a connection.

Connection URLs are secrets: they are registered with ``bbops.core.redact`` before
use, and errors mention only the redacted form.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.abc import Params, QueryNoTemplate
from psycopg.rows import Row

from bbops.core import redact
from bbops.errors import BBopsError, ProviderError, UsageError

APPLICATION_NAME = "bbops"

T = TypeVar("T")


def connect(url: str, *, autocommit: bool = False, connect_timeout: int = 10, **kwargs: Any) -> psycopg.Connection:
    """Open a connection, turning failures into a ``ProviderError`` that never shows the password."""
    if not url:
        raise UsageError("no database URL given (pass --database-url or set DATABASE_URL)")
    redact.register_url(url)
    try:
        return psycopg.connect(
            url,
            autocommit=autocommit,
            connect_timeout=connect_timeout,
            application_name=kwargs.pop("application_name", APPLICATION_NAME),
            **kwargs,
        )
    except psycopg.OperationalError as exc:
        raise ProviderError(f"cannot connect to {redact.redact_url(url)}: {redact.scrub(str(exc)).strip()}") from None
    except psycopg.ProgrammingError as exc:
        raise UsageError(f"invalid database URL {redact.redact_url(url)}: {redact.scrub(str(exc)).strip()}") from None


@contextmanager
def connection(url: str, **kwargs: Any) -> Iterator[psycopg.Connection]:
    conn = connect(url, **kwargs)
    try:
        yield conn
    finally:
        conn.close()


def quote_ident(*names: str) -> str:
    """Names as SQL text, each double-quoted the way Postgres quotes one (``"a""b"``), joined by dots.

    For SQL that is kept or shown as text (a copy's recorded DDL, a fix to paste);
    SQL sent with parameters uses ``ident`` (``psycopg.sql.Identifier``) instead.
    """
    return ".".join('"' + name.replace('"', '""') + '"' for name in names)


def ident(*names: str) -> sql.Identifier:
    """A safely quoted (optionally qualified) identifier."""
    return sql.Identifier(*names)


def with_database(url: str, dbname: str) -> str:
    """The same server and credentials, another database (works for URLs and key=value DSNs)."""
    from urllib.parse import quote, urlsplit

    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    if url.startswith(("postgres://", "postgresql://")):
        return urlsplit(url)._replace(path="/" + quote(dbname, safe="")).geturl()
    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo("", **params)


def same_but_password(a: str, b: str) -> bool:
    """Whether libpq reads ``a`` and ``b`` as the same connection (server, database, user, options), their
    passwords aside: the same credentials before and after a password change. False for what it cannot read."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        left, right = conninfo_to_dict(a), conninfo_to_dict(b)
    except psycopg.ProgrammingError:
        return False
    left.pop("password", None)
    right.pop("password", None)
    return left == right


def password_of(url: str) -> str | None:
    """The password in a connection string (None: none, or not a connection string)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.ProgrammingError:
        return None
    return str(password) if password else None


def one(cursor: psycopg.Cursor[Row], what: str) -> Row:
    """The next row of a query that always returns one (``INSERT ... RETURNING``, an aggregate).

    No row is a bug in the query (``what`` names it), reported as such instead of a ``TypeError`` on ``None``.
    """
    row = cursor.fetchone()
    if row is None:
        raise BBopsError(f"{what}: the query returned no row where one was expected")
    return row


def scalar(conn: psycopg.Connection, query: QueryNoTemplate, params: Params | None = None, *, kind: type[T]) -> T:
    """The one value of a query that always returns one row (``SELECT count(*)``, ``... IS NOT NULL``).

    No row, or a value that is not a ``kind``, is a bug in the query, reported as such.
    """
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise BBopsError(f"query returned no row where one was expected: {_first_line(query)}")
    value = row[0]
    if not isinstance(value, kind):
        raise BBopsError(f"query returned {type(value).__name__}, expected {kind.__name__}: {_first_line(query)}")
    return value


def _first_line(query: QueryNoTemplate) -> str:
    text = query if isinstance(query, str) else repr(query)
    return text.strip().splitlines()[0][:120] if text.strip() else "<empty query>"
