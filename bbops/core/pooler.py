"""Neon's connection pooler (PgBouncer, transaction mode) and the tools that must not go through it.

A pooled Neon URL names the endpoint with ``-pooler`` (``ep-x-123-pooler.eu-central-1.aws.neon.tech``).
Through it, session state does not survive a transaction: ``SET`` of a session, advisory locks,
exported snapshots shared by several connections, ``LISTEN``. The copy and the verification rely
on exported snapshots and session settings, so they refuse a pooled URL; the migration runner
(session advisory lock) and the freeze (ending sessions sees only the pooler's server connections)
warn. Neon's own pooler settings are left as they are.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from psycopg.conninfo import conninfo_to_dict

from bbops.errors import UsageError


def host(url: str) -> str:
    if url.startswith(("postgres://", "postgresql://")):
        return urlsplit(url).hostname or ""
    try:
        return str(conninfo_to_dict(url).get("host") or "")
    except Exception:  # not a conninfo either: the connection itself will say so
        return ""


def is_pooled(url: str) -> bool:
    first = host(url).split(".", 1)[0]
    return first.endswith("-pooler")


def warning(url: str, what: str) -> str | None:
    if not is_pooled(url):
        return None
    return f"{what}: the URL goes through Neon's connection pooler (-pooler); use the direct (unpooled) URL"


def refuse(url: str, what: str) -> None:
    if is_pooled(url):
        raise UsageError(
            f"{what}: the URL goes through Neon's connection pooler (-pooler), which breaks session state "
            "(exported snapshots, session settings)",
            hint="use the direct URL: the same host without -pooler (e.g. DATABASE_URL_UNPOOLED)",
        )
