"""Constraints: validated under a lock, or built with an index under a lock."""

from __future__ import annotations

from collections.abc import Iterator

from pglast.enums import AlterTableType, ConstrType

from bbops.review.finding import Severity
from bbops.review.rules.base import Context, Hit, Node, Rule, alter_cmds, constraints_of, display, table_key

_VALIDATED = {ConstrType.CONSTR_FOREIGN: "FOREIGN KEY", ConstrType.CONSTR_CHECK: "CHECK"}


def _missing_not_valid(node: Node, ctx: Context) -> Iterator[Hit]:
    for cmd in alter_cmds(node, AlterTableType.AT_AddConstraint, AlterTableType.AT_ValidateConstraint):
        table = table_key(node.relation)
        if cmd.subtype == AlterTableType.AT_ValidateConstraint:
            if ctx.transactional and (table, cmd.name) in ctx.not_valid_here:
                yield Hit(
                    f"VALIDATE CONSTRAINT {cmd.name} in the same transaction that added it NOT VALID: "
                    "the ADD's lock is still held while it scans"
                )
            continue
        con = cmd.def_
        kind = _VALIDATED.get(con.contype)
        if kind and not con.skip_validation and not ctx.is_new(table):
            yield Hit(f"ADD CONSTRAINT {con.conname or ''} {kind} on {display(table)} validates every row under lock")


def _set_not_null(node: Node, ctx: Context) -> Iterator[Hit]:
    for cmd in alter_cmds(node, AlterTableType.AT_SetNotNull):
        table = table_key(node.relation)
        if ctx.is_new(table) or (table, cmd.name) in ctx.added_columns:
            continue
        if any(c.table == table and c.column == cmd.name and c.validated for c in ctx.checks.values()):
            continue
        yield Hit(f"ALTER COLUMN {cmd.name} SET NOT NULL on {display(table)} without a validated CHECK")


def _unique(node: Node, ctx: Context) -> Iterator[Hit]:
    kinds = {ConstrType.CONSTR_UNIQUE: "UNIQUE", ConstrType.CONSTR_PRIMARY: "PRIMARY KEY"}
    for cmd in alter_cmds(node, AlterTableType.AT_AddConstraint, AlterTableType.AT_AddColumn):
        table = table_key(node.relation)
        if ctx.is_new(table):
            continue
        if cmd.subtype == AlterTableType.AT_AddConstraint:
            con = cmd.def_
            if con.contype in kinds and not con.indexname:
                yield Hit(
                    f"ADD CONSTRAINT {con.conname or ''} {kinds[con.contype]} on {display(table)} builds its index"
                )
        else:
            for con in constraints_of(cmd.def_, *kinds):
                yield Hit(f"ADD COLUMN {cmd.def_.colname} {kinds[con.contype]} on {display(table)} builds an index")


RULES = (
    Rule(
        "constraint-missing-not-valid",
        Severity.ERROR,
        "ADD CONSTRAINT ... FOREIGN KEY/CHECK on an existing table without NOT VALID, or validated in the "
        "transaction that added it",
        "Adding a validated constraint scans the whole table while holding a lock that blocks writes (ACCESS "
        "EXCLUSIVE for CHECK; SHARE ROW EXCLUSIVE on both tables for a foreign key).",
        "ADD CONSTRAINT ... NOT VALID now (instant), then `ALTER TABLE ... VALIDATE CONSTRAINT ...` in a later "
        "migration: validation takes only a SHARE UPDATE EXCLUSIVE lock, so reads and writes go on.",
        _missing_not_valid,
    ),
    Rule(
        "adding-not-nullable-field",
        Severity.ERROR,
        "ALTER COLUMN ... SET NOT NULL without a validated CHECK (col IS NOT NULL)",
        "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock: no reads, no writes until it is done.",
        "Migration 1: ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID. Migration 2: VALIDATE CONSTRAINT c. "
        "Migration 3: SET NOT NULL (Postgres 12+ uses the valid check and skips the scan), then DROP CONSTRAINT c.",
        _set_not_null,
    ),
    Rule(
        "disallowed-unique-constraint",
        Severity.ERROR,
        "ADD UNIQUE / PRIMARY KEY on an existing table without a prebuilt index",
        "The constraint builds its unique index while holding an ACCESS EXCLUSIVE lock: no reads, no writes for "
        "the whole build.",
        "CREATE UNIQUE INDEX CONCURRENTLY idx ON t (col) in a `-- bbops:no-transaction` migration, then "
        "ALTER TABLE t ADD CONSTRAINT c UNIQUE USING INDEX idx.",
        _unique,
    ),
)
