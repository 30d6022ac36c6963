"""Index builds and drops: the plain forms block writes for the whole build."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import ObjectType

from bbops.review.finding import Severity
from bbops.review.rules.base import Context, Hit, Node, Rule, display, table_key


def _index_creation(node: Node, ctx: Context) -> Iterator[Hit]:
    if isinstance(node, ast.IndexStmt) and not node.concurrent:
        table = table_key(node.relation)
        if not ctx.is_new(table):
            yield Hit(f"CREATE INDEX {node.idxname or ''} on {display(table)} without CONCURRENTLY")


def _dropped_indexes(node: Node) -> list[str]:
    if isinstance(node, ast.DropStmt) and node.removeType == ObjectType.OBJECT_INDEX:
        return [".".join(p.sval for p in obj) for obj in node.objects or ()]
    return []


def _index_deletion(node: Node, ctx: Context) -> Iterator[Hit]:
    for name in _dropped_indexes(node):
        if not node.concurrent:
            key = name if "." in name else f"public.{name}"
            if key not in ctx.created_indexes:
                yield Hit(f"DROP INDEX {name} without CONCURRENTLY")


def _concurrently_in_transaction(node: Node, ctx: Context) -> Iterator[Hit]:
    if not ctx.transactional:
        return
    if isinstance(node, ast.IndexStmt) and node.concurrent:
        yield Hit(f"CREATE INDEX CONCURRENTLY {node.idxname or ''} in a migration that runs in a transaction")
    elif _dropped_indexes(node) and node.concurrent:
        yield Hit("DROP INDEX CONCURRENTLY in a migration that runs in a transaction")


RULES = (
    Rule(
        "require-concurrent-index-creation",
        Severity.ERROR,
        "CREATE INDEX on an existing table without CONCURRENTLY",
        "A plain CREATE INDEX holds a SHARE lock for the whole build: every INSERT, UPDATE and DELETE on the "
        "table waits until the index is built (minutes on a big table).",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ..., in its own migration that starts with `-- bbops:no-transaction`.",
        _index_creation,
    ),
    Rule(
        "require-concurrent-index-deletion",
        Severity.ERROR,
        "DROP INDEX without CONCURRENTLY",
        "A plain DROP INDEX takes an ACCESS EXCLUSIVE lock on the table: reads and writes wait, and queue "
        "behind any long query already using the table.",
        "DROP INDEX CONCURRENTLY IF EXISTS ..., in a migration that starts with `-- bbops:no-transaction`.",
        _index_deletion,
    ),
    Rule(
        "ban-concurrent-index-creation-in-transaction",
        Severity.ERROR,
        "CREATE/DROP INDEX CONCURRENTLY in a migration that runs in a transaction",
        "Drizzle runs each migration in one transaction, where CONCURRENTLY fails (SQLSTATE 25001). bbops "
        "would run such a file statement by statement, so the other statements lose their all-or-nothing "
        "guarantee without the file saying so.",
        "Put the concurrent index statements in their own migration whose first line is `-- bbops:no-transaction`.",
        _concurrently_in_transaction,
    ),
)
