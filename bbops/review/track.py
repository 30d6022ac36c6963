"""What a statement leaves behind for the statements after it (the linter's model of the database)."""

from __future__ import annotations

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, NullTestType, VariableSetKind

from bbops.review.rules.base import CheckConstraint, Context, Node, alter_cmds, table_key


def track(node: Node, ctx: Context) -> None:
    if isinstance(node, ast.CreateStmt):
        table = table_key(node.relation)
        ctx.created_tables.add(table)
        for elt in node.tableElts or ():
            for con in [elt] if isinstance(elt, ast.Constraint) else getattr(elt, "constraints", None) or ():
                _remember_check(ctx, table, con, column=getattr(elt, "colname", None))
    elif isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
        ctx.created_tables.add(table_key(node.into.rel))
    elif isinstance(node, ast.IndexStmt) and node.idxname and node.relation is not None:
        ctx.created_indexes.add(f"{node.relation.schemaname or 'public'}.{node.idxname}")
    elif isinstance(node, ast.VariableSetStmt) and node.name in ("lock_timeout", "statement_timeout"):
        setattr(ctx, node.name, node.kind == VariableSetKind.VAR_SET_VALUE)
    for cmd in alter_cmds(node):
        table = table_key(node.relation)
        if cmd.subtype == AlterTableType.AT_AddColumn:
            ctx.added_columns.add((table, cmd.def_.colname))
        elif cmd.subtype == AlterTableType.AT_AddConstraint:
            con = cmd.def_
            if con.skip_validation and con.conname:
                ctx.not_valid_here.add((table, con.conname))
            _remember_check(ctx, table, con)
        elif cmd.subtype == AlterTableType.AT_ValidateConstraint and (table, cmd.name) in ctx.checks:
            ctx.checks[(table, cmd.name)].validated = True
        elif cmd.subtype == AlterTableType.AT_DropConstraint:
            ctx.checks.pop((table, cmd.name), None)


def _remember_check(ctx: Context, table: str, con: Node, column: str | None = None) -> None:
    """Keep ``CHECK (col IS NOT NULL)``: once validated, ``SET NOT NULL`` on col needs no scan."""
    if not isinstance(con, ast.Constraint) or con.contype != ConstrType.CONSTR_CHECK:
        return
    expr = con.raw_expr
    if not (isinstance(expr, ast.NullTest) and expr.nulltesttype == NullTestType.IS_NOT_NULL):
        return
    fields = expr.arg.fields or () if isinstance(expr.arg, ast.ColumnRef) else ()
    if not fields or not isinstance(fields[-1], ast.String) or not fields[-1].sval:
        return
    column = fields[-1].sval
    name = con.conname or f"{table}.{column}.check"
    ctx.checks[(table, name)] = CheckConstraint(table, column, not con.skip_validation)
