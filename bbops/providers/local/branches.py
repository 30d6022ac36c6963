"""``LocalBranches``: the ``BranchProvider`` of the embedded backend.

A branch is a database on the local server, copied from its parent's database
with ``CREATE DATABASE ... TEMPLATE``; its metadata lives in the catalog.
Every change holds the branch locks of ``session.py``; restore points
(snapshot / restore) live in ``restorepoints.py``.

Rules mirror Neon's so the same plan behaves alike on both backends: protected
and default branches cannot expire, be deleted or be reset; a branch with
child branches cannot be deleted; expiry is at most 30 days ahead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from psycopg.conninfo import conninfo_to_dict

from bbops.core import pg, redact
from bbops.providers.base import (
    AdminDatabase,
    Branch,
    BranchProvider,
    ComputeSize,
    Connection,
    ProtectedBranches,
    RestorePoints,
    RootBranches,
)
from bbops.providers.local import dbops
from bbops.providers.local.catalog import Entry
from bbops.providers.local.names import database_name, validate_name
from bbops.providers.local.restorepoints import LocalRestorePoints
from bbops.providers.local.session import fail, new_id

MAX_EXPIRY = timedelta(days=30)


class LocalBranches(LocalRestorePoints, BranchProvider, RootBranches, ProtectedBranches, RestorePoints, AdminDatabase):
    """Branches as databases on one local server (see the module docstring).

    Besides branches it has root branches, protection, restore points and a
    maintenance database for locks (``admin_url``); no timestamp restore.
    """

    def list_branches(self) -> list[Branch]:
        catalog = self._catalog()
        return self._with_sizes(catalog, catalog.list("branch"))

    def get_branch(self, name: str) -> Branch | None:
        validate_name(name)
        catalog = self._catalog()
        entry = catalog.get(name)
        if entry is None or entry.kind != "branch":
            return None
        return self._with_sizes(catalog, [entry])[0]

    def database_of(self, name: str) -> str:
        """The local database holding branch (or snapshot) ``name``."""
        entry = self._catalog().get(validate_name(name))
        if entry is None:
            raise fail("get", name, 404, "no such branch")
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
        redact.register_url(url)
        params = conninfo_to_dict(url)
        host = str(params.get("host") or "localhost")
        return Connection(
            host=host,
            database=dbname,
            role=str(params.get("user") or role or "postgres"),
            pooled=pooled,
            url=url,
        )

    def reset_role_password(self, name: str, *, role: str, meanwhile: Callable[[], object] | None = None) -> bool:
        """Nothing to do: every local branch is a database reached with the local server's own role."""
        validate_name(name)
        if meanwhile is not None:
            meanwhile()
        return False

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
        compute: ComputeSize | None = None,  # the embedded server has no computes to size
        meanwhile: Callable[[], object] | None = None,  # nothing to wait for: called once the branch is made
    ) -> Branch:
        """Create ``name`` as a copy of ``parent`` (``parent=None``: an empty root branch)."""
        validate_name(name)
        if parent is not None:
            validate_name(parent, what="parent branch name")
            if parent == name:
                raise fail("create", name, 400, "a branch cannot be its own parent")
        expires_at = _check_expiry("create", name, expires_at, protected or default)
        target = database_name(name, self.namespace)
        with self._locked([name], [parent] if parent else []) as catalog:
            existing = catalog.get(name)
            conn = catalog.conn
            if existing is not None:
                if dbops.existing_databases(conn, [existing.database]):
                    raise fail("create", name, 409, "a branch or snapshot with this name already exists")
                catalog.delete(name)  # a stale row whose database was dropped by hand
            source = None
            if parent is not None:
                source = catalog.get(parent)
                if source is None:
                    raise fail("create", name, 404, f"parent branch {parent!r} does not exist")
            # A database without a row is what an interrupted create leaves: replace it.
            self._drop_leftover(catalog, target, "create", name)
            if source is None:
                dbops.create_empty(conn, target)
            else:
                dbops.copy_database(conn, source.database, target)
            entry = Entry(
                name=name,
                database=target,
                id=new_id(),
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
            made = self._with_sizes(catalog, [entry])[0]
        if meanwhile is not None:
            meanwhile()  # outside the catalog lock: it may read the catalog itself
        return made

    def create_root(
        self,
        name: str,
        *,
        protected: bool = False,
        default: bool = True,
        annotations: Mapping[str, str] | None = None,
    ) -> Branch:
        """An empty branch with no parent (the project's default branch, which Neon makes itself)."""
        return self.create_branch(name, parent=None, protected=protected, default=default, annotations=annotations)

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
                raise fail("update", name, 404, "no such branch")
            merged = dict(entry.annotations)
            merged.update({str(k): str(v) for k, v in (annotations or {}).items()})
            new_expiry = entry.expires_at
            if expires_at is not None:
                new_expiry = _check_expiry("update", name, expires_at, entry.protected or entry.is_default)
            entry = catalog.update(replace(entry, annotations=merged, expires_at=new_expiry))
            return self._with_sizes(catalog, [entry])[0]

    def set_protected(self, name: str, protected: bool) -> Branch:
        """Protect or unprotect a branch; a protected branch never expires, so its expiry is cleared."""
        validate_name(name)
        with self._locked([name]) as catalog:
            entry = catalog.get(name)
            if entry is None or entry.kind != "branch":
                raise fail("update", name, 404, "no such branch")
            expiry = None if protected else entry.expires_at
            entry = catalog.update(replace(entry, protected=protected, expires_at=expiry))
            return self._with_sizes(catalog, [entry])[0]

    def delete_branch(self, name: str) -> bool:
        """Delete a branch or snapshot; False when it was already gone."""
        validate_name(name)
        with self._locked([name]) as catalog:
            entry = catalog.get(name)
            if entry is None:
                target = database_name(name, self.namespace)
                if catalog.owner(target) is not None:
                    return False  # the name's database is another branch's: nothing of this one is left
                gone = dbops.existing_databases(catalog.conn, [target])
                dbops.drop_database(catalog.conn, target)  # an interrupted create's leftover
                return bool(gone)
            if entry.protected or entry.is_default:
                raise fail("delete", name, 422, "protected and default branches cannot be deleted")
            children = catalog.children(name)
            if children:
                raise fail("delete", name, 422, f"the branch has child branches: {', '.join(children)}")
            dbops.drop_database(catalog.conn, entry.database)
            catalog.delete(name)
            return True

    def purge(self) -> int:
        """Drop every branch and snapshot of this namespace, protected ones too; how many went.

        For throwaway namespaces (test runs); the lifecycle never calls it.
        """
        catalog = self._catalog()
        entries = catalog.list(kind=None)
        for entry in entries:
            dbops.drop_database(catalog.conn, entry.database)
            catalog.delete(entry.name)
        return len(entries)

    def reset_branch(self, name: str) -> Branch:
        """Put ``name`` back to its parent's current state, keeping its metadata and id."""
        validate_name(name)
        catalog = self._catalog()
        entry = catalog.get(name)
        if entry is None or entry.kind != "branch":
            raise fail("reset", name, 404, "no such branch")
        if entry.protected or entry.is_default:
            raise fail("reset", name, 422, "protected and default branches cannot be reset")
        if not entry.parent:
            raise fail("reset", name, 422, "a root branch has no parent to reset to")
        return self._replace_from(name, entry.parent, action="reset")


def _check_expiry(action: str, name: str, expires_at: datetime | None, permanent: bool) -> datetime | None:
    if expires_at is None:
        return None
    if permanent:
        raise fail(action, name, 422, "protected and default branches cannot expire")
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    if expires_at > datetime.now(UTC) + MAX_EXPIRY:
        raise fail(action, name, 400, "expires_at may be at most 30 days ahead")
    return expires_at
