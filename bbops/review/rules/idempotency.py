"""Statements that fail when run twice, in migrations that run outside a transaction.

A ``-- bbops:no-transaction`` migration commits statement by statement: when
statement 3 fails, 1 and 2 stay applied. bbops resumes after the last one that
succeeded, but drizzle-kit (or a person re-running the file) starts again at
the top, where a plain CREATE fails on what already exists. In a transactional
migration everything rolls back, so this rule does not apply there.
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import AlterTableType, ObjectType

from bbops.review.finding import Severity
from bbops.review.rules.base import Context, Hit, Node, Rule, alter_cmds

_DROPS = {ObjectType.OBJECT_TABLE: "DROP TABLE", ObjectType.OBJECT_INDEX: "DROP INDEX"}


def _robust(node: Node, ctx: Context) -> Iterator[Hit]:
    if ctx.transactional:
        return
    if isinstance(node, ast.IndexStmt) and not node.if_not_exists:
        yield Hit(f"CREATE INDEX {node.idxname or ''} without IF NOT EXISTS")
    elif isinstance(node, ast.CreateStmt) and not node.if_not_exists and node.relation is not None:
        yield Hit(f"CREATE TABLE {node.relation.relname} without IF NOT EXISTS")
    elif isinstance(node, ast.DropStmt) and node.removeType in _DROPS and not node.missing_ok:
        yield Hit(f"{_DROPS[node.removeType]} without IF EXISTS")
    for cmd in alter_cmds(node, AlterTableType.AT_AddColumn, AlterTableType.AT_DropColumn):
        if not cmd.missing_ok:
            what = "ADD COLUMN ... without IF NOT EXISTS" if cmd.subtype == AlterTableType.AT_AddColumn else ""
            yield Hit(what or f"DROP COLUMN {cmd.name} without IF EXISTS")


RULES = (
    Rule(
        "prefer-robust-stmts",
        Severity.WARNING,
        "In a `-- bbops:no-transaction` migration: CREATE/DROP/ADD COLUMN without IF [NOT] EXISTS",
        "Outside a transaction the statements before a failure stay applied; running the file again (drizzle-kit "
        "does, from the top) then fails on what already exists.",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS, CREATE TABLE IF NOT EXISTS, DROP ... IF EXISTS, "
        "ADD COLUMN IF NOT EXISTS.",
        _robust,
    ),
)
