"""Adding and changing columns on existing tables: failures and full-table rewrites."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import AlterTableType, ConstrType

from bbops.review.finding import Severity
from bbops.review.rules.base import Context, Hit, Node, Rule, alter_cmds, constraints_of, display, table_key, type_name

# Functions Postgres marks volatile that show up as column defaults: each row gets its own value,
# so the ADD COLUMN must write every row.
VOLATILE = {
    "random",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "txid_current",
}
# Stable or immutable functions common in defaults: evaluated once, stored as the "missing" value (PG 11+).
NOT_VOLATILE = {
    "now",
    "transaction_timestamp",
    "statement_timestamp",
    "current_setting",
    "lower",
    "upper",
    "jsonb_build_object",
    "json_build_object",
    "array_fill",
}
SERIALS = {"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"}


def _volatility(expr: Node) -> tuple[str, str] | None:
    """("volatile"|"unknown", function) for the first function call in a default that may rewrite."""
    for node in _walk(expr):
        if isinstance(node, ast.FuncCall) and node.funcname:  # a call always has a name
            name = str(node.funcname[-1].sval).lower()
            if name in VOLATILE:
                return "volatile", name
            if name not in NOT_VOLATILE:
                return "unknown", name
    return None


def _walk(node: Node) -> Iterator[Node]:
    if isinstance(node, ast.Node):
        yield node
        for attr in node:
            yield from _walk(getattr(node, attr))
    elif isinstance(node, tuple):
        for item in node:
            yield from _walk(item)


def _added_on_existing(node: Node, ctx: Context) -> Iterator[tuple[str, Node]]:
    for cmd in alter_cmds(node, AlterTableType.AT_AddColumn):
        table = table_key(node.relation)
        if not ctx.is_new(table):
            yield table, cmd.def_


def _required(node: Node, ctx: Context) -> Iterator[Hit]:
    for table, col in _added_on_existing(node, ctx):
        fills = constraints_of(col, ConstrType.CONSTR_DEFAULT, ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED)
        if constraints_of(col, ConstrType.CONSTR_NOTNULL) and not fills and type_name(col.typeName) not in SERIALS:
            yield Hit(f"ADD COLUMN {col.colname} NOT NULL without a DEFAULT on {display(table)}")


def _volatile_default(node: Node, ctx: Context) -> Iterator[Hit]:
    for table, col in _added_on_existing(node, ctx):
        where = f"ADD COLUMN {col.colname} on {display(table)}"
        if type_name(col.typeName) in SERIALS:
            yield Hit(f"{where} is {type_name(col.typeName)}: nextval() fills every existing row")
        for con in constraints_of(col, ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED):
            kind = "an identity" if con.contype == ConstrType.CONSTR_IDENTITY else "a stored generated column"
            yield Hit(f"{where} is {kind}: every existing row is written")
        for con in constraints_of(col, ConstrType.CONSTR_DEFAULT):
            found = _volatility(con.raw_expr)
            if found and found[0] == "volatile":
                yield Hit(f"{where} has the volatile default {found[1]}()")
            elif found:
                yield Hit(
                    f"{where} has the default {found[1]}(), which bbops cannot tell is not volatile",
                    Severity.WARNING,
                )


def _type_change(node: Node, ctx: Context) -> Iterator[Hit]:
    for cmd in alter_cmds(node, AlterTableType.AT_AlterColumnType):
        table = table_key(node.relation)
        if ctx.is_new(table) or (table, cmd.name) in ctx.added_columns:
            continue
        yield Hit(f"ALTER COLUMN {cmd.name} TYPE {type_name(cmd.def_.typeName)} on {display(table)}")


RULES = (
    Rule(
        "adding-required-field",
        Severity.ERROR,
        "ADD COLUMN ... NOT NULL without a DEFAULT on an existing table",
        "It fails on any table that has rows (23502), i.e. in production even if the empty dev database took "
        "it; and the deployed code does not write the column yet.",
        "Add the column nullable (or with a constant DEFAULT), backfill it in batches, then make it NOT NULL "
        "through a validated CHECK (see adding-not-nullable-field).",
        _required,
    ),
    Rule(
        "adding-field-with-default",
        Severity.ERROR,
        "ADD COLUMN with a volatile DEFAULT (random(), gen_random_uuid(), clock_timestamp(), serial, identity, "
        "stored generated) on an existing table",
        "A constant default is stored once (Postgres 11+); a volatile one is computed per row, so Postgres "
        "rewrites the whole table under an ACCESS EXCLUSIVE lock: no reads, no writes until it is done.",
        "Add the column without the default (or with a constant one), set the default with ALTER COLUMN ... "
        "SET DEFAULT (affects new rows only), and backfill existing rows in batches.",
        _volatile_default,
    ),
    Rule(
        "changing-column-type",
        Severity.ERROR,
        "ALTER COLUMN ... TYPE on an existing table",
        "Most type changes rewrite the table and rebuild its indexes under an ACCESS EXCLUSIVE lock; the "
        "running deployment may also still read or write the old type.",
        "Expand/contract: add a new column of the new type, write both from the app, backfill in batches, "
        "switch reads, then drop the old column after the deploy. (varchar(n) to text or a longer varchar is "
        "metadata-only: ignore this finding with that reason.)",
        _type_change,
    ),
)
