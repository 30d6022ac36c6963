"""Drops, renames and cascading truncates: breaking for the deployment that is running.

While a migration runs, the code of the previous deploy is still serving
traffic (and keeps serving it until the new deploy is promoted). Dropping or
renaming something that code reads breaks it, and SQL alone cannot tell
whether it does: these findings are marked ``breaking`` and say how to split
the change into expand (now) and contract (after the deploy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pglast import ast
from pglast.enums import AlterTableType, DropBehavior, ObjectType

from bbops.review.finding import Severity
from bbops.review.rules.base import Context, Hit, Node, Rule, alter_cmds, display, table_key

_BREAKING = "Breaking for the running deployment: the code deployed now still reads the old name. "


def _rename(kind: ObjectType) -> Callable[[Node, Context], Iterator[Hit]]:
    def check(node: Node, ctx: Context) -> Iterator[Hit]:
        if isinstance(node, ast.RenameStmt) and node.renameType == kind and node.relation is not None:
            table = table_key(node.relation)
            if ctx.is_new(table):
                return
            old = f"{display(table)}.{node.subname}" if kind == ObjectType.OBJECT_COLUMN else display(table)
            yield Hit(f"RENAME {old} TO {node.newname}")

    return check


def _drop_column(node: Node, ctx: Context) -> Iterator[Hit]:
    for cmd in alter_cmds(node, AlterTableType.AT_DropColumn):
        table = table_key(node.relation)
        if not ctx.is_new(table) and (table, cmd.name) not in ctx.added_columns:
            yield Hit(f"DROP COLUMN {cmd.name} of {display(table)}")


def _drop_table(node: Node, ctx: Context) -> Iterator[Hit]:
    if isinstance(node, ast.DropStmt) and node.removeType == ObjectType.OBJECT_TABLE:
        for obj in node.objects or ():
            names = [p.sval for p in obj]
            key = ".".join(names) if len(names) > 1 else f"public.{names[0]}"
            if not ctx.is_new(key):
                yield Hit(f"DROP TABLE {display(key)}")


def _drop_database(node: Node, ctx: Context) -> Iterator[Hit]:
    if isinstance(node, ast.DropdbStmt):
        yield Hit(f"DROP DATABASE {node.dbname}")


def _truncate_cascade(node: Node, ctx: Context) -> Iterator[Hit]:
    if isinstance(node, ast.TruncateStmt) and node.behavior == DropBehavior.DROP_CASCADE:
        yield Hit(f"TRUNCATE {', '.join(rv.relname for rv in node.relations or ())} CASCADE")


_SPLIT = (
    "Expand/contract: {expand}; deploy the code that no longer uses {thing}; then {contract} in a later "
    "migration, after the deploy."
)

RULES = (
    Rule(
        "renaming-column",
        Severity.ERROR,
        "ALTER TABLE ... RENAME COLUMN",
        _BREAKING + "Every query using the old column name fails from the moment the migration commits.",
        _SPLIT.format(
            expand="add the new column and write both (or a trigger), backfill",
            thing="the old name",
            contract="drop the old column",
        ),
        _rename(ObjectType.OBJECT_COLUMN),
        breaking=True,
    ),
    Rule(
        "renaming-table",
        Severity.ERROR,
        "ALTER TABLE ... RENAME TO",
        _BREAKING + "Every query using the old table name fails from the moment the migration commits.",
        _SPLIT.format(
            expand="create the new table (or rename and leave a view with the old name)",
            thing="the old name",
            contract="drop the view or the old table",
        ),
        _rename(ObjectType.OBJECT_TABLE),
        breaking=True,
    ),
    Rule(
        "ban-drop-column",
        Severity.ERROR,
        "ALTER TABLE ... DROP COLUMN",
        _BREAKING.replace("the old name", "the column") + "Its queries fail (and its data is gone) as soon as "
        "the migration commits.",
        _SPLIT.format(expand="stop reading and writing the column in the code", thing="it", contract="drop it"),
        _drop_column,
        breaking=True,
    ),
    Rule(
        "ban-drop-table",
        Severity.ERROR,
        "DROP TABLE",
        _BREAKING.replace("the old name", "the table") + "Its queries fail and the data is gone; the ACCESS "
        "EXCLUSIVE lock also waits behind every running query on the table.",
        _SPLIT.format(expand="remove every use of the table from the code", thing="it", contract="drop it"),
        _drop_table,
        breaking=True,
    ),
    Rule(
        "ban-drop-database",
        Severity.ERROR,
        "DROP DATABASE",
        "Drops every table the application uses; no migration should do this.",
        "Drop databases by hand, outside migrations (bbops: the plan's branches and databases).",
        _drop_database,
        breaking=True,
    ),
    Rule(
        "ban-truncate-cascade",
        Severity.ERROR,
        "TRUNCATE ... CASCADE",
        "CASCADE also empties every table that references these through a foreign key, recursively: more "
        "data than the statement names, under ACCESS EXCLUSIVE locks.",
        "TRUNCATE the tables you mean, named explicitly, or DELETE in batches.",
        _truncate_cascade,
    ),
)
