"""Lock-taking statements without lock_timeout / statement_timeout.

A DDL statement that waits for its lock queues every later query on the table
behind it, so one long-running report turns a 10 ms ALTER into minutes of
blocked traffic. ``lock_timeout`` bounds that wait; ``statement_timeout`` bounds
the time the lock is held. Concurrent index builds take a lock that no read or
write waits for, so they do not need them.
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import ObjectType

from bbops.review.finding import Severity
from bbops.review.rules.base import Context, Hit, Node, Rule, display, table_key


def blocking_target(node: Node, ctx: Context) -> str | None:
    """The existing table a statement locks against reads or writes, if any."""
    if isinstance(node, ast.AlterTableStmt | ast.TruncateStmt | ast.RenameStmt | ast.IndexStmt):
        if isinstance(node, ast.IndexStmt) and node.concurrent:
            return None
        rels = node.relations if isinstance(node, ast.TruncateStmt) else [node.relation]
        for rv in rels or ():
            if rv is not None and not ctx.is_new(table_key(rv)):
                return table_key(rv)
    dropped = (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_INDEX)
    if isinstance(node, ast.DropStmt) and not node.concurrent and node.removeType in dropped:
        names = [".".join(p.sval for p in obj) for obj in node.objects or ()]
        fresh = ctx.created_tables | ctx.created_indexes
        left = [n for n in names if (n if "." in n else f"public.{n}") not in fresh]
        return left[0] if left else None
    return None


def _timeouts(node: Node, ctx: Context) -> Iterator[Hit]:
    if ctx.timeouts_reported:
        return
    table = blocking_target(node, ctx)
    missing = [name for name in ("lock_timeout", "statement_timeout") if not getattr(ctx, name)]
    if table and missing:
        ctx.timeouts_reported = True  # once per file: the fix is one pair of SETs at its top
        yield Hit(f"locks {display(table)} with no {' and no '.join(missing)} set before it")


RULES = (
    Rule(
        "require-timeout-settings",
        Severity.WARNING,
        "A statement that locks an existing table with no lock_timeout / statement_timeout set before it",
        "Waiting for its lock, the statement queues every later read and write on the table behind it; without "
        "statement_timeout a slow statement holds the lock for as long as it runs.",
        "Start the migration with `SET lock_timeout = '2s';` and `SET statement_timeout = '30s';` (SET LOCAL in "
        "a transactional migration) and retry the deploy if it times out.",
        _timeouts,
    ),
)
