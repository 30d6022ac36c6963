"""``LocalBranches``: the ``BranchProvider`` of the embedded backend.

A branch is a database on the local server, copied from its parent's database
with ``CREATE DATABASE ... TEMPLATE``; its metadata lives in the catalog.
Mutations of one branch are serialised across processes by session advisory
locks held on the catalog connection: exclusive on the branch being changed,
shared on the branch being copied from (so a parent is never reset or deleted
mid-copy, while many copies of one parent may run at once). Locks are always
taken in name order, so two operations can never wait on each other in a cycle.

Rules mirror Neon's so the same plan behaves alike on both backends: protected
and default branches cannot expire, be deleted or be reset; a branch with
child branches cannot be deleted; expiry is at most 30 days ahead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import psycopg
from psycopg import errors
from psycopg.conninfo import conninfo_to_dict

from bbops import pg, secrets
from bbops.errors import LockTimeout, ProviderError
from bbops.providers.base import Branch, Connection
from bbops.providers.local import dbops
from bbops.providers.local.catalog import Catalog, Entry, ensure_schema
from bbops.providers.local.names import CATALOG_DATABASE, database_name, validate_name, validate_namespace
from bbops.providers.local.server import LocalServer

MAX_EXPIRY = timedelta(days=30)


def _fail(action: str, name: str, status: int, message: str, hint: str | None = None) -> ProviderError:
    # Shaped like the cloud's errors ("create branch 'x' -> 409: ...") so callers can treat both alike.
    return ProviderError(message, method=action, path=f"branch {name!r}", status=status, hint=hint)


class LocalBranches:
    """Branches as databases on one local server (see the module docstring)."""

    def __init__(self, server: LocalServer, *, namespace: str = "", lock_timeout: float = 60.0) -> None:
        self.server = server
        self.namespace = validate_namespace(namespace)
        self.lock_timeout = lock_timeout
        self._admin_url: str | None = None
        self._conn: psycopg.Connection | None = None

    # -- connections ----------------------------------------------------------------------

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
        if self._conn is None or self._conn.closed:
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
        conn.execute(f"SET lock_timeout = '{int(self.lock_timeout * 1000)}ms'")
        try:
            for name in sorted(wanted):
                fn = "pg_advisory_lock" if wanted[name] else "pg_advisory_lock_shared"
                try:
                    conn.execute(f"SELECT {fn}(hashtextextended(%s, 0))", (self._lock_key(name),))
                except errors.LockNotAvailable:
                    raise LockTimeout(
                        f"another bbops process has been changing branch {name!r} for over "
                        f"{self.lock_timeout:.0f} s"
                    ) from None
                taken.append((name, wanted[name]))
            yield catalog
        finally:
            for name, excl in reversed(taken):
                fn = "pg_advisory_unlock" if excl else "pg_advisory_unlock_shared"
                conn.execute(f"SELECT {fn}(hashtextextended(%s, 0))", (self._lock_key(name),))
            conn.execute("RESET lock_timeout")

    def _lock_key(self, name: str) -> str:
        return f"bbops-local-branch:{self.namespace}:{name}"

    # -- reading --------------------------------------------------------------------------

    def _with_sizes(self, catalog: Catalog, entries: list[Entry]) -> list[Branch]:
        sizes = catalog.sizes([e.database for e in entries])
        return [e.to_branch(sizes.get(e.database)) for e in entries]

    def list_branches(self) -> list[Branch]:
        catalog = self._catalog()
        return self._with_sizes(catalog, catalog.list("branch"))

    def list_snapshots(self) -> list[Branch]:
        """Restore points (``snapshot`` and ``restore(preserve_under_name=...)``), never listed as branches."""
        catalog = self._catalog()
        return self._with_sizes(catalog, catalog.list("snapshot"))

    def get_branch(self, name: str) -> Branch | None:
        validate_name(name)
        catalog = self._catalog()
        entry = catalog.get(name)
        if entry is None or entry.kind != "branch":
            return None
        return self._with_sizes(catalog, [entry])[0]

    def get_snapshot(self, name: str) -> Branch | None:
        validate_name(name, what="snapshot name")
        catalog = self._catalog()
        entry = catalog.get(name)
        if entry is None or entry.kind != "snapshot":
            return None
        return self._with_sizes(catalog, [entry])[0]

    def database_of(self, name: str) -> str:
        """The local database holding branch (or snapshot) ``name``."""
        entry = self._catalog().get(validate_name(name))
        if entry is None:
            raise _fail("get", name, 404, "no such branch")
        return entry.database

    def connection(self, name: str, *, database: str = "", role: str = "", pooled: bool = True) -> Connection:
        """Where branch ``name`` answers.

        The local server has no pooler and one superuser: pooled and direct
        give the same URL (with the right ``pooled`` flag), the plan's database
        name maps onto the branch's own database, and ``role`` reports the role
        actually used (the server's), whatever was asked.
        """
        dbname = self.database_of(name)
        url = pg.with_database(self.admin_url(), dbname)
        secrets.register_url(url)
        params = conninfo_to_dict(url)
        host = str(params.get("host") or "localhost")
        return Connection(
            host=host,
            database=dbname,
            role=str(params.get("user") or role or "postgres"),
            pooled=pooled,
            url=url,
        )

    # -- changing -------------------------------------------------------------------------

    def create_branch(
        self,
        name: str,
        *,
        parent: str | None,
        annotations: Mapping[str, str] | None = None,
        expires_at: datetime | None = None,
        protected: bool = False,
        default: bool = False,
    ) -> Branch:
        """Create ``name`` as a copy of ``parent`` (``parent=None``: an empty root branch)."""
        validate_name(name)
        if parent is not None:
            validate_name(parent, what="parent branch name")
            if parent == name:
                raise _fail("create", name, 400, "a branch cannot be its own parent")
        expires_at = _check_expiry("create", name, expires_at, protected or default)
        target = database_name(name, self.namespace)
        with self._locked([name], [parent] if parent else []) as catalog:
            existing = catalog.get(name)
            conn = catalog.conn
            if existing is not None:
                if dbops.existing_databases(conn, [existing.database]):
                    raise _fail("create", name, 409, "a branch or snapshot with this name already exists")
                catalog.delete(name)  # a stale row whose database was dropped by hand
            source = None
            if parent is not None:
                source = catalog.get(parent)
                if source is None:
                    raise _fail("create", name, 404, f"parent branch {parent!r} does not exist")
            # A database without a row is what an interrupted create leaves: replace it.
            dbops.drop_database(conn, target)
            if source is None:
                dbops.create_empty(conn, target)
            else:
                dbops.copy_database(conn, source.database, target)
            entry = Entry(
                name=name,
                database=target,
                id=f"br-local-{uuid.uuid4().hex[:12]}",
                parent=parent,
                expires_at=expires_at,
                protected=protected,
                is_default=default,
                annotations={str(k): str(v) for k, v in (annotations or {}).items()},
            )
            try:
                entry = catalog.insert(entry)
            except BaseException:
                dbops.drop_database(conn, target)
                raise
            return self._with_sizes(catalog, [entry])[0]

    def update_branch(
        self,
        name: str,
        *,
        expires_at: datetime | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> Branch:
        validate_name(name)
        with self._locked([name]) as catalog:
            entry = catalog.get(name)
            if entry is None:
                raise _fail("update", name, 404, "no such branch")
            merged = dict(entry.annotations)
            merged.update({str(k): str(v) for k, v in (annotations or {}).items()})
            new_expiry = entry.expires_at
            if expires_at is not None:
                new_expiry = _check_expiry("update", name, expires_at, entry.protected or entry.is_default)
            entry = catalog.update(replace(entry, annotations=merged, expires_at=new_expiry))
            return self._with_sizes(catalog, [entry])[0]

    def delete_branch(self, name: str) -> bool:
        """Delete a branch or snapshot; False when it was already gone."""
        validate_name(name)
        with self._locked([name]) as catalog:
            entry = catalog.get(name)
            if entry is None:
                target = database_name(name, self.namespace)
                gone = dbops.existing_databases(catalog.conn, [target])
                dbops.drop_database(catalog.conn, target)  # an interrupted create's leftover
                return bool(gone)
            if entry.protected or entry.is_default:
                raise _fail("delete", name, 422, "protected and default branches cannot be deleted")
            children = catalog.children(name)
            if children:
                raise _fail("delete", name, 422, f"the branch has child branches: {', '.join(children)}")
            dbops.drop_database(catalog.conn, entry.database)
            catalog.delete(name)
            return True

    def reset_branch(self, name: str) -> Branch:
        """Put ``name`` back to its parent's current state, keeping its metadata and id."""
        validate_name(name)
        catalog = self._catalog()
        entry = catalog.get(name)
        if entry is None or entry.kind != "branch":
            raise _fail("reset", name, 404, "no such branch")
        if entry.protected or entry.is_default:
            raise _fail("reset", name, 422, "protected and default branches cannot be reset")
        if not entry.parent:
            raise _fail("reset", name, 422, "a root branch has no parent to reset to")
        return self._replace_from(name, entry.parent, action="reset")

    def _replace_from(self, name: str, source_name: str, *, action: str, preserve: str | None = None) -> Branch:
        """Swap ``name``'s database for a copy of ``source_name``'s (optionally keeping the old one)."""
        with self._locked([name, preserve or ""], [source_name]) as catalog:
            conn = catalog.conn
            entry, source = catalog.get(name), catalog.get(source_name)
            if entry is None:
                raise _fail(action, name, 404, "no such branch")
            if source is None:
                raise _fail(action, name, 404, f"{source_name!r} does not exist")
            if preserve and catalog.get(preserve) is not None:
                raise _fail(action, name, 409, f"{preserve!r} already exists")
            # Copy first: if the copy fails, the branch is untouched.
            scratch = f"bbtmp_{uuid.uuid4().hex[:16]}"
            dbops.copy_database(conn, source.database, scratch)
            try:
                if preserve:
                    kept = database_name(preserve, self.namespace)
                    dbops.drop_database(conn, kept)
                    dbops.rename_database(conn, entry.database, kept)
                    catalog.insert(
                        Entry(
                            name=preserve,
                            database=kept,
                            id=f"br-local-{uuid.uuid4().hex[:12]}",
                            kind="snapshot",
                            parent=name,
                            annotations={"preserved_from": name, "replaced_by": source_name},
                        )
                    )
                else:
                    dbops.drop_database(conn, entry.database)
                dbops.rename_database(conn, scratch, entry.database)
            except BaseException:
                dbops.drop_database(conn, scratch)
                raise
            return self._with_sizes(catalog, [entry])[0]

    # -- restore points -------------------------------------------------------------------

    def snapshot(self, name: str, as_name: str, *, annotations: Mapping[str, str] | None = None) -> Branch:
        """Copy branch ``name`` as restore point ``as_name`` (listed by ``list_snapshots``, not as a branch)."""
        validate_name(name)
        validate_name(as_name, what="snapshot name")
        target = database_name(as_name, self.namespace)
        with self._locked([as_name], [name]) as catalog:
            source = catalog.get(name)
            if source is None:
                raise _fail("snapshot", name, 404, "no such branch")
            if catalog.get(as_name) is not None:
                raise _fail("snapshot", name, 409, f"{as_name!r} already exists")
            dbops.drop_database(catalog.conn, target)
            dbops.copy_database(catalog.conn, source.database, target)
            entry = Entry(
                name=as_name,
                database=target,
                id=f"br-local-{uuid.uuid4().hex[:12]}",
                kind="snapshot",
                parent=name,
                annotations={"snapshot_of": name, **{str(k): str(v) for k, v in (annotations or {}).items()}},
            )
            try:
                entry = catalog.insert(entry)
            except BaseException:
                dbops.drop_database(catalog.conn, target)
                raise
            return self._with_sizes(catalog, [entry])[0]

    def restore(self, name: str, from_snapshot: str, *, preserve_under_name: str | None = None) -> Branch:
        """Put ``from_snapshot``'s data into ``name`` (same name, id, metadata).

        With ``preserve_under_name`` the state being replaced is kept as a
        snapshot of that name, for inspection or to restore back to. The
        snapshot itself stays, so a restore can be repeated.
        """
        validate_name(name)
        validate_name(from_snapshot, what="snapshot name")
        if preserve_under_name is not None:
            validate_name(preserve_under_name, what="preserve_under_name")
            if preserve_under_name in (name, from_snapshot):
                raise _fail("restore", name, 400, "preserve_under_name must be a new name")
        if from_snapshot == name:
            raise _fail("restore", name, 400, "a branch cannot be restored from itself")
        return self._replace_from(name, from_snapshot, action="restore", preserve=preserve_under_name)


def _check_expiry(action: str, name: str, expires_at: datetime | None, permanent: bool) -> datetime | None:
    if expires_at is None:
        return None
    if permanent:
        raise _fail(action, name, 422, "protected and default branches cannot expire")
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=timezone.utc)
    if expires_at > datetime.now(timezone.utc) + MAX_EXPIRY:
        raise _fail(action, name, 400, "expires_at may be at most 30 days ahead")
    return expires_at
