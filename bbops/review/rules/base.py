"""What a rule is, what it sees, and the parse-tree helpers the rule families share.

A rule looks at one statement at a time, with a ``Context`` that knows what the
migrations before it (and the statements before it in the same file) did:
tables created in this file are new and empty, so locking them costs nothing;
a ``CHECK (col IS NOT NULL)`` validated earlier lets ``SET NOT NULL`` skip its
scan. The runner updates the context after each statement (``track``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pglast import ast
from pglast.enums import AlterTableType, ConstrType

from bbops.review.finding import Severity

Node = Any  # pglast.ast nodes carry no type stubs


@dataclass(frozen=True)
class Hit:
    """A rule's verdict on one statement: what it does; ``severity`` overrides the rule's when set."""

    message: str
    severity: Severity | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    what: str  # one line for the rules table
    why: str
    fix: str
    check: Callable[[Node, Context], Iterator[Hit]] = field(repr=False)
    breaking: bool = False


@dataclass
class CheckConstraint:
    table: str
    column: str  # the column a ``CHECK (column IS NOT NULL)`` covers
    validated: bool


@dataclass
class Context:
    """What the linter knows when it reaches a statement."""

    tag: str
    transactional: bool
    created_tables: set[str] = field(default_factory=set)  # new in this file: empty, unseen by the app
    created_indexes: set[str] = field(default_factory=set)
    added_columns: set[tuple[str, str]] = field(default_factory=set)
    not_valid_here: set[tuple[str, str]] = field(default_factory=set)  # (table, constraint) added NOT VALID here
    lock_timeout: bool = False
    statement_timeout: bool = False
    timeouts_reported: bool = False
    checks: dict[tuple[str, str], CheckConstraint] = field(default_factory=dict)  # across the folder

    def is_new(self, table: str) -> bool:
        return table in self.created_tables

    def for_next_file(self, tag: str, transactional: bool) -> Context:
        """A fresh file: only what the database keeps (validated checks) carries over."""
        return Context(tag, transactional, checks=self.checks)


def table_key(rv: Node) -> str:
    """``schema.table`` for a RangeVar; no schema means public (Drizzle's default)."""
    return f"{rv.schemaname or 'public'}.{rv.relname}"


def display(key: str) -> str:
    return key.removeprefix("public.")


def alter_cmds(node: Node, *subtypes: AlterTableType) -> Iterator[Node]:
    """The commands of an ``ALTER TABLE`` of the given subtypes."""
    if isinstance(node, ast.AlterTableStmt):
        for cmd in node.cmds or ():
            if not subtypes or cmd.subtype in subtypes:
                yield cmd


def type_name(tn: Node) -> str:
    """The type's last name as Postgres stores it: ``int4``, ``bpchar``, ``timestamp``, ``serial``."""
    return str(tn.names[-1].sval) if tn is not None and tn.names else ""


def constraints_of(column: Node, *kinds: ConstrType) -> list[Node]:
    return [c for c in column.constraints or () if c.contype in kinds]


def column_defs(node: Node) -> Iterator[tuple[str, Node]]:
    """Every column definition a statement makes: (table key, ColumnDef)."""
    if isinstance(node, ast.CreateStmt):
        for elt in node.tableElts or ():
            if isinstance(elt, ast.ColumnDef):
                yield table_key(node.relation), elt
    for cmd in alter_cmds(node, AlterTableType.AT_AddColumn):
        yield table_key(node.relation), cmd.def_


def sql_name(node: Node) -> str:
    """A readable rendering of a small expression (a function name, a literal)."""
    if isinstance(node, ast.FuncCall):
        return ".".join(n.sval for n in node.funcname or ()) + "()"
    if isinstance(node, ast.TypeCast):
        return sql_name(node.arg)
    return type(node).__name__
