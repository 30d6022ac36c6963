"""Column types that age badly: char(n), timestamp without time zone, int keys, serial."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import ConstrType

from bbops.review.finding import Severity
from bbops.review.rules.base import Context, Hit, Node, Rule, column_defs, constraints_of, display, type_name
from bbops.review.rules.columns import SERIALS

_SMALL_INTS = {
    "int4": "integer",
    "int2": "smallint",
    "serial": "serial",
    "serial4": "serial",
    "smallserial": "smallserial",
    "serial2": "smallserial",
}


def _char(node: Node, ctx: Context) -> Iterator[Hit]:
    for table, col in column_defs(node):
        if type_name(col.typeName) == "bpchar":
            yield Hit(f"column {col.colname} of {display(table)} is char(n)")


def _timestamp(node: Node, ctx: Context) -> Iterator[Hit]:
    for table, col in column_defs(node):
        if type_name(col.typeName) == "timestamp":
            yield Hit(f"column {col.colname} of {display(table)} is timestamp without time zone")


def _primary_key_columns(node: Node) -> set[str]:
    """Columns named by a table-level PRIMARY KEY (...) of a CREATE TABLE."""
    if not isinstance(node, ast.CreateStmt):
        return set()
    out: set[str] = set()
    for elt in node.tableElts or ():
        if isinstance(elt, ast.Constraint) and elt.contype == ConstrType.CONSTR_PRIMARY:
            out |= {k.sval for k in elt.keys or ()}
    return out


def _int_key(node: Node, ctx: Context) -> Iterator[Hit]:
    table_pk = _primary_key_columns(node)
    for table, col in column_defs(node):
        kind = _SMALL_INTS.get(type_name(col.typeName))
        is_pk = col.colname in table_pk or constraints_of(col, ConstrType.CONSTR_PRIMARY)
        if kind and is_pk:
            yield Hit(f"primary key {col.colname} of {display(table)} is {kind}")


def _identity(node: Node, ctx: Context) -> Iterator[Hit]:
    for table, col in column_defs(node):
        if type_name(col.typeName) in SERIALS:
            yield Hit(f"column {col.colname} of {display(table)} is {type_name(col.typeName)}")


RULES = (
    Rule(
        "ban-char-field",
        Severity.WARNING,
        "char(n) / character(n) columns",
        "char(n) pads with spaces, compares surprisingly and is no faster than text; changing it later "
        "rewrites the table.",
        "Use text (or varchar(n), or text with a CHECK on length).",
        _char,
    ),
    Rule(
        "prefer-timestamptz",
        Severity.WARNING,
        "timestamp without time zone columns",
        "timestamp stores wall-clock time with no zone: values shift silently when the server's or the "
        "client's time zone differs; converting later rewrites the table.",
        "timestamp with time zone (Drizzle: timestamp(..., { withTimezone: true })).",
        _timestamp,
    ),
    Rule(
        "prefer-bigint-over-int",
        Severity.WARNING,
        "integer/smallint (or serial) primary keys",
        "An int4 key runs out at 2,147,483,647; widening it later rewrites the table and every referencing "
        "foreign key under ACCESS EXCLUSIVE locks.",
        "bigint (Drizzle: bigint(..., { mode: 'number' }) or bigserial / an identity column of bigint).",
        _int_key,
    ),
    Rule(
        "prefer-identity",
        Severity.WARNING,
        "serial / bigserial / smallserial columns",
        "serial is an owned sequence with a default, with odd permissions and dump/copy behaviour; the SQL "
        "standard identity column is what Postgres recommends.",
        "bigint GENERATED ALWAYS AS IDENTITY (Drizzle: .generatedAlwaysAsIdentity()).",
        _identity,
    ),
)
