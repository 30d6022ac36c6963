"""The catalog connection and the cross-process branch locks shared by local branch operations.

Mutations of one branch are serialised across processes by session advisory
locks held on the catalog connection: exclusive on the branch being changed,
shared on the branch being copied from (so a parent is never reset or deleted
mid-copy, while many copies of one parent may run at once). Locks are always
taken in name order, so two operations can never wait on each other in a cycle.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psycopg
from psycopg import errors

from bbops.core import pg
from bbops.errors import LockTimeout, ProviderError
from bbops.providers.base import Branch
from bbops.providers.local import dbops
from bbops.providers.local.catalog import Catalog, Entry, ensure_schema
from bbops.providers.local.names import CATALOG_DATABASE, validate_namespace
from bbops.providers.local.server import LocalServer


def fail(action: str, name: str, status: int, message: str, hint: str | None = None) -> ProviderError:
    """An error shaped like the cloud's ("create branch 'x' -> 409: ...") so callers treat both alike."""
    return ProviderError(message, method=action, path=f"branch {name!r}", status=status, hint=hint)


def new_id() -> str:
    return f"br-local-{uuid.uuid4().hex[:12]}"


class CatalogSession:
    """One server, one namespace, one lazily opened catalog connection."""

    def __init__(self, server: LocalServer, *, namespace: str = "", lock_timeout: float = 60.0) -> None:
        self.server = server
        self.namespace = validate_namespace(namespace)
        self.lock_timeout = lock_timeout
        self._admin_url: str | None = None
        self._conn: psycopg.Connection | None = None

    def admin_url(self) -> str:
        """URL of the server's maintenance database, starting the embedded server if needed."""
        if self._admin_url is None:
            self._admin_url = self.server.ensure_running()
        return self._admin_url

    def admin_connection(self) -> psycopg.Connection:
        """A new autocommit connection to the maintenance database (the caller closes it).

        The preview lifecycle holds its advisory locks on such a connection:
        advisory locks are per database, so every holder must use this one.
        """
        return pg.connect(self.admin_url(), autocommit=True, application_name="bbops admin")

    def _catalog(self) -> Catalog:
        if self._conn is None or self._conn.closed or self._conn.broken:  # e.g. the server was restarted
            url = pg.with_database(self.admin_url(), CATALOG_DATABASE)
            try:
                conn = psycopg.connect(url, autocommit=True, connect_timeout=10, application_name="bbops catalog")
            except psycopg.OperationalError:
                self._create_catalog_database()
                conn = pg.connect(url, autocommit=True, application_name="bbops catalog")
            ensure_schema(conn)
            self._conn = conn
        return Catalog(self._conn, self.namespace)

    def _create_catalog_database(self) -> None:
        with self.admin_connection() as admin:
            try:
                dbops.create_empty(admin, CATALOG_DATABASE)
            except ProviderError:
                pass  # another process created it first
            except errors.UniqueViolation:
                pass  # the same race, caught one step earlier inside Postgres

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def _locked(self, exclusive: Sequence[str], shared: Sequence[str] = ()) -> Iterator[Catalog]:
        """Hold the branch locks (see module docstring) and yield the catalog."""
        catalog = self._catalog()
        conn = catalog.conn
        wanted = {n: False for n in shared if n}
        wanted.update({n: True for n in exclusive if n})
        taken: list[tuple[str, bool]] = []
        try:
            # The timeout covers waiting for the locks only, not the work done under them.
            conn.execute(f"SET lock_timeout = '{int(self.lock_timeout * 1000)}ms'")
            try:
                for name in sorted(wanted):
                    fn = "pg_advisory_lock" if wanted[name] else "pg_advisory_lock_shared"
                    try:
                        conn.execute(f"SELECT {fn}(hashtextextended(%s, 0))", (self._lock_key(name),))
                    except errors.LockNotAvailable:
                        raise LockTimeout(
                            f"another bbops process has been changing branch {name!r} "
                            f"for over {self.lock_timeout:.0f} s"
                        ) from None
                    taken.append((name, wanted[name]))
            finally:
                conn.execute("RESET lock_timeout")
            yield catalog
        finally:
            self._unlock(conn, taken)

    def _unlock(self, conn: psycopg.Connection, taken: list[tuple[str, bool]]) -> None:
        if conn.closed or conn.broken:
            return  # the session is gone, and its locks with it; don't hide the original error
        for name, excl in reversed(taken):
            fn = "pg_advisory_unlock" if excl else "pg_advisory_unlock_shared"
            try:
                conn.execute(f"SELECT {fn}(hashtextextended(%s, 0))", (self._lock_key(name),))
            except psycopg.Error:
                return

    def _drop_leftover(self, catalog: Catalog, database: str, action: str, name: str) -> None:
        """Drop ``database`` as the leftover of an interrupted run, unless a catalog row owns it.

        Database names are derived from branch names; should two rows ever map to one name,
        the one that exists keeps its data and the new one is refused.
        """
        owner = catalog.owner(database)
        if owner is not None:
            namespace, other = owner
            where = f" in namespace {namespace!r}" if namespace != self.namespace else ""
            raise fail(action, name, 409, f"its database {database} already holds branch {other!r}{where}")
        dbops.drop_database(catalog.conn, database)

    def _lock_key(self, name: str) -> str:
        return f"bbops-local-branch:{self.namespace}:{name}"

    def _with_sizes(self, catalog: Catalog, entries: list[Entry]) -> list[Branch]:
        sizes = catalog.sizes([e.database for e in entries])
        return [e.to_branch(sizes.get(e.database)) for e in entries]
