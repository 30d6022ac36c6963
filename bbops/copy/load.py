"""Getting the target ready before rows flow: the checks, the schema, the keys set aside.

``prepare_full`` creates the schema (or finds it from an interrupted run);
``prepare_data_only`` checks the existing schema and, when foreign keys would
get in the way (cycles, or ``--rebuild-indexes``), records and drops them so
they can be rebuilt after the load. Both refuse, with the table names, to
write into tables that already hold rows unless told to (``--truncate`` or
``--resume``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from bbops.copy import state as copy_state
from bbops.copy.catalog import Table, foreign_keys, list_tables, nonempty
from bbops.copy.order import ForeignKey, explain, load_order
from bbops.copy.progress import ProgressSink
from bbops.copy.schema import (
    PostItem,
    dump_pre_data,
    load_pre_data,
    other_post_data,
    post_data_items,
)
from bbops.core.pg import quote_ident
from bbops.errors import UsageError


@dataclass
class LoadSetup:
    items: list[PostItem]  # post-data objects to create after the rows
    restore: bool  # the items were dropped by us and are tracked in bbops.copy_dropped
    columns: dict[str, tuple[list[str], bool]]  # per table: quoted columns, binary format?
    parents: dict[str, set[str]] = field(default_factory=dict)  # tables to load first
    whole_tables: set[str] = field(default_factory=set)  # never split into ranges
    freeze: bool = False
    resumed: bool = False
    notes: list[str] = field(default_factory=list)


def _listing(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _interrupted(resume: bool, has_state: bool, allow_truncate: bool) -> None:
    if has_state and not resume:
        how = "--resume to continue it" + (" or --truncate to start over" if allow_truncate else "")
        raise UsageError(f"an interrupted copy left its progress in schema bbops on the target: pass {how}")


def prepare_full(
    source: psycopg.Connection,
    target: psycopg.Connection,
    source_url: str,
    snapshot: str,
    major: int,
    source_tables: list[Table],
    chosen: list[Table],
    fks: list[ForeignKey],
    *,
    resume: bool,
    truncate: bool,
    progress: ProgressSink,
) -> LoadSetup:
    if truncate:
        raise UsageError(
            "--truncate applies to --data-only; a full copy needs a target without the tables",
            hint="to start a full copy over, drop and recreate the target database",
        )
    partitioned = [t.qualified for t in source_tables if t.kind == "p"]
    if partitioned:
        raise UsageError(
            f"a full copy of partitioned tables is not supported ({_listing(partitioned)})",
            hint="create the schema on the target first, then copy with --data-only",
        )
    has_state = copy_state.exists(target)
    _interrupted(resume, has_state, allow_truncate=False)
    names = {t.qualified for t in chosen}
    outside = sorted({f"{fk.child} -> {fk.parent}" for fk in fks if fk.child in names and fk.parent not in names})
    if outside:
        raise UsageError(f"the selected tables reference tables left out of --tables: {_listing(outside)}")
    resumed = resume and has_state
    if not resumed:
        existing = sorted(
            {t.qualified for t in list_tables(target, include_partitioned=True)} & {t.qualified for t in source_tables}
        )
        if existing:
            raise UsageError(
                f"the target already has tables a full copy would create: {_listing(existing)}",
                hint="pass --data-only to load rows into an existing schema",
            )
        progress.step("creating the schema (pre-data) on the target")
        script = dump_pre_data(source_url, snapshot, major)
        with target.transaction():
            copy_state.ensure(target)
            load_pre_data(target, script)
            copy_state.mark(target, "schema pre-data")
    # Materialized views get their indexes too (built empty; REFRESH at the end fills them).
    views = [
        r[0]
        for r in source.execute(
            "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'm'"
            " AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'bbops')"
        ).fetchall()
    ]
    oids = [t.oid for t in source_tables] + views
    items = post_data_items(source, oids) + other_post_data(source, oids)
    columns = {
        t.qualified: ([quote_ident(c.name) for c in t.copy_columns], all(c.binary_safe for c in t.copy_columns))
        for t in chosen
    }
    return LoadSetup(items=items, restore=False, columns=columns, freeze=True, resumed=resumed)


def _columns_for(source: Table, target: Table) -> tuple[list[str], bool]:
    wanted = {c.name: c for c in target.columns}
    missing = [c.name for c in source.copy_columns if c.name not in wanted]
    if missing:
        raise UsageError(
            f"{target.qualified} on the target lacks column(s) the source has: {', '.join(missing)}",
            hint="apply the schema migrations to the target first",
        )
    # A column the target generates is computed there; sending it would be refused.
    cols = [c for c in source.copy_columns if not wanted[c.name].generated]
    binary = all(c.binary_safe and wanted[c.name].binary_safe and c.type == wanted[c.name].type for c in cols)
    return [quote_ident(c.name) for c in cols], binary


def prepare_data_only(
    source: psycopg.Connection,
    target: psycopg.Connection,
    chosen: list[Table],
    fks: list[ForeignKey],
    *,
    resume: bool,
    truncate: bool,
    rebuild: bool,
    progress: ProgressSink,
) -> LoadSetup:
    target_tables = {t.qualified: t for t in list_tables(target, include_partitioned=True)}
    missing = [t.qualified for t in chosen if t.qualified not in target_tables]
    if missing:
        raise UsageError(
            f"the target lacks table(s): {_listing(missing)}",
            hint="apply the schema migrations to the target first, or copy without --data-only",
        )
    columns = {t.qualified: _columns_for(t, target_tables[t.qualified]) for t in chosen}
    names = [t.qualified for t in chosen]
    has_state = copy_state.exists(target)
    _interrupted(resume or truncate, has_state, allow_truncate=True)
    if truncate:
        try:
            with target.transaction():
                if has_state:
                    copy_state.forget_all_chunks(target)
                if names:
                    # Never CASCADE: that would silently empty tables nobody asked to copy.
                    target.execute("TRUNCATE " + ", ".join(names))
        except psycopg.errors.FeatureNotSupported as exc:
            detail = exc.diag.message_detail or str(exc)
            raise UsageError(
                f"cannot empty {_listing(names)}: {detail}", hint="include the referencing tables in --tables"
            ) from None
    elif not (resume and has_state):
        busy = nonempty(target, names)
        if busy:
            why = "nothing was recorded to resume from and " if resume else ""
            raise UsageError(
                f"{why}target table(s) already hold rows: {_listing(busy)}", hint="pass --truncate to empty them first"
            )
    copy_state.ensure(target)

    chosen_oids = [target_tables[n].oid for n in names]
    all_oids = [t.oid for t in target_tables.values()]
    setup = LoadSetup(items=[], restore=True, columns=columns, resumed=resume and has_state)
    if rebuild:
        current = [
            i
            for i in post_data_items(target, chosen_oids, fk_oids=all_oids)
            if (i.kind in ("index", "attach") and i.table in names)
            or (i.kind == "fk" and (i.table in names or i.parent in names))
        ]
        # Keys first (they need the unique indexes), then constraints, then plain indexes.
        _set_aside(target, sorted(current, key=lambda i: {"fk": 0, "attach": 1, "index": 2}[i.kind]), progress)
    else:
        plan = load_order(names, foreign_keys(target))
        setup.parents = plan.parents
        setup.whole_tables = set(plan.self_referencing)
        setup.notes = explain(plan)
        for line in setup.notes:
            progress.step(line)
        deferred = {(fk.child, fk.name) for fk in plan.deferred}
        cycle_keys = [
            i
            for i in post_data_items(target, [], fk_oids=chosen_oids)
            if i.kind == "fk" and (i.table, i.name) in deferred
        ]
        _set_aside(target, cycle_keys, progress)
    setup.items = [
        PostItem(kind, key, table, sql, parent=parent, validate=validate, name=name)
        for key, kind, table, parent, sql, validate, name in copy_state.dropped(target)
    ]
    return setup


def _set_aside(target: psycopg.Connection, items: list[PostItem], progress: ProgressSink) -> None:
    """Drop ``items``, each recorded (with how to recreate it) in the same transaction."""
    for item in items:
        with target.transaction():
            copy_state.record_dropped(
                target,
                item.key,
                item.kind,
                item.table,
                item.sql,
                parent=item.parent,
                validate=item.validate,
                name=item.name,
            )
            target.execute(item.drop_sql)
    if items:
        progress.step(f"set aside {len(items)} index(es)/key(s) on the target until the rows are in")
