"""Restore points of the local backend (``RestorePoints``): ``snapshot`` and ``restore``.

A snapshot is a template copy of a branch under another name, kept in the
catalog with kind ``snapshot`` so it is never listed among branches (or
previews). ``restore`` swaps a branch's database for a copy of a snapshot
(or any branch), optionally keeping the replaced state under a new name, the
way Neon's restore with ``preserve_under_name`` does. The copy is made first,
so a failed copy leaves the branch untouched.
"""

from __future__ import annotations

from collections.abc import Mapping

import psycopg

from bbops.providers.base import Branch
from bbops.providers.local import dbops
from bbops.providers.local.catalog import Entry
from bbops.providers.local.names import database_name, short_hash, validate_name
from bbops.providers.local.session import CatalogSession, fail, new_id


class LocalRestorePoints(CatalogSession):
    def list_snapshots(self) -> list[Branch]:
        """Restore points (``snapshot`` and ``restore(preserve_under_name=...)``), never listed as branches."""
        catalog = self._catalog()
        return self._with_sizes(catalog, catalog.list("snapshot"))

    def get_snapshot(self, name: str) -> Branch | None:
        validate_name(name, what="snapshot name")
        catalog = self._catalog()
        entry = catalog.get(name)
        if entry is None or entry.kind != "snapshot":
            return None
        return self._with_sizes(catalog, [entry])[0]

    def _replace_from(self, name: str, source_name: str, *, action: str, preserve: str | None = None) -> Branch:
        """Swap ``name``'s database for a copy of ``source_name``'s (optionally keeping the old one).

        The swap is two renames: the current database moves aside (to the
        preserved name, or to a scratch name dropped afterwards), then the new
        copy moves in. If anything fails in between, the old database is put
        back; if the process dies in between, the next operation on the branch
        finishes the swap first (``_recover``).
        """
        with self._locked([name, preserve or ""], [source_name]) as catalog:
            conn = catalog.conn
            entry, source = catalog.get(name), catalog.get(source_name)
            if entry is None:
                raise fail(action, name, 404, "no such branch")
            if source is None:
                raise fail(action, name, 404, f"{source_name!r} does not exist")
            if preserve and catalog.get(preserve) is not None:
                raise fail(action, name, 409, f"{preserve!r} already exists")
            incoming, outgoing = self._scratch_names(name)
            self._recover(conn, entry.database, incoming, outgoing)
            # Copy first: if the copy fails, the branch is untouched.
            dbops.copy_database(conn, source.database, incoming)
            aside = database_name(preserve, self.namespace) if preserve else outgoing
            if preserve:
                self._drop_leftover(catalog, aside, action, name)  # a leftover without a catalog row
                # The row goes in before the rename: a crash then leaves a row without
                # a database (harmless, deletable), never a database nobody knows of.
                catalog.insert(
                    Entry(
                        name=preserve,
                        database=aside,
                        id=new_id(),
                        kind="snapshot",
                        parent=name,
                        annotations={"preserved_from": name, "replaced_by": source_name},
                    )
                )
            moved = False
            try:
                dbops.rename_database(conn, entry.database, aside)
                moved = True
                dbops.rename_database(conn, incoming, entry.database)
            except BaseException:
                if moved:
                    dbops.rename_database(conn, aside, entry.database)
                if preserve:
                    catalog.delete(preserve)
                dbops.drop_database(conn, incoming)
                raise
            if not preserve:
                dbops.drop_database(conn, outgoing)
            return self._with_sizes(catalog, [entry])[0]

    def _scratch_names(self, name: str) -> tuple[str, str]:
        # Named after the branch: under its exclusive lock nobody else uses them,
        # so leftovers of an interrupted run can be recognised and dealt with.
        tag = short_hash(f"{self.namespace}:{name}", 16)
        return f"bbnew_{tag}", f"bbold_{tag}"

    def _recover(self, conn: psycopg.Connection, database: str, incoming: str, outgoing: str) -> None:
        """Finish a swap that a dead process left half done, so the branch has its database again."""
        present = dbops.existing_databases(conn, [database, incoming, outgoing])
        if database not in present:
            if incoming in present:
                dbops.rename_database(conn, incoming, database)  # the new copy was complete
            elif outgoing in present:
                dbops.rename_database(conn, outgoing, database)  # put the old state back
        dbops.drop_database(conn, incoming)
        dbops.drop_database(conn, outgoing)

    # -- restore points -------------------------------------------------------------------

    def snapshot(self, name: str, as_name: str, *, annotations: Mapping[str, str] | None = None) -> Branch:
        """Copy branch ``name`` as restore point ``as_name`` (listed by ``list_snapshots``, not as a branch)."""
        validate_name(name)
        validate_name(as_name, what="snapshot name")
        target = database_name(as_name, self.namespace)
        with self._locked([as_name], [name]) as catalog:
            source = catalog.get(name)
            if source is None:
                raise fail("snapshot", name, 404, "no such branch")
            if catalog.get(as_name) is not None:
                raise fail("snapshot", name, 409, f"{as_name!r} already exists")
            self._drop_leftover(catalog, target, "snapshot", name)
            dbops.copy_database(catalog.conn, source.database, target)
            entry = Entry(
                name=as_name,
                database=target,
                id=new_id(),
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
                raise fail("restore", name, 400, "preserve_under_name must be a new name")
        if from_snapshot == name:
            raise fail("restore", name, 400, "a branch cannot be restored from itself")
        return self._replace_from(name, from_snapshot, action="restore", preserve=preserve_under_name)
