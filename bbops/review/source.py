"""A migration file as the linter sees it: parsed statements with their lines, and its directives.

The PostgreSQL parser (pglast wraps libpg_query, the server's own grammar)
gives each statement's character offset, so every finding points at the line
the statement starts on. Directives are read from the scanner's comment tokens,
so ``-- bbops:ignore`` inside a string literal is not a directive.

Older drizzle-kit releases wrap each foreign key in ``DO $$ BEGIN ALTER TABLE
... EXCEPTION WHEN duplicate_object THEN null; END $$``. The body of a PL/pgSQL
``DO`` block is parsed too (libpg_query's PL/pgSQL parser), and its static SQL
statements are checked like the file's own, at their own lines.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Any

import pglast
from pglast import ast, parser
from pglast.parser import ParseError

from bbops.drizzle.journal import Migration
from bbops.drizzle.statements import has_directive

_IGNORE = re.compile(r"^--+\s*bbops:ignore\b(?P<rest>.*)$", re.I)


@dataclass(frozen=True)
class Parsed:
    """One statement: its 1-based number in the file, where it starts, its text and its parse tree."""

    number: int
    line: int
    column: int
    sql: str
    node: Any  # a pglast.ast node (pglast ships no type stubs)


@dataclass(frozen=True)
class Directive:
    """``-- bbops:ignore rule-id reason``: ``reason`` is empty when the author gave none."""

    rule: str
    reason: str
    line: int


@dataclass(frozen=True)
class SyntaxProblem:
    message: str
    line: int
    column: int


@dataclass(frozen=True)
class Source:
    migration: Migration
    transactional: bool  # Drizzle runs the file in one transaction unless it says -- bbops:no-transaction
    statements: tuple[Parsed, ...]
    directives: tuple[Directive, ...]
    syntax: SyntaxProblem | None  # the file does not parse; no statement was checked


class Lines:
    """Character offset to 1-based (line, column)."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def at(self, offset: int) -> tuple[int, int]:
        n = bisect.bisect_right(self._starts, max(offset, 0))
        return n, offset - self._starts[n - 1] + 1


def read_source(migration: Migration) -> Source:
    text = migration.text
    lines = Lines(text)
    transactional = not has_directive(text)
    try:
        raw = parser.parse_sql(text)
    except ParseError as exc:
        # pglast raises ParseError(message, 0-based character offset).
        offset = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
        line, col = lines.at(offset)
        problem = SyntaxProblem(str(exc.args[0]) if exc.args else str(exc), line, col)
        return Source(migration, transactional, (), _directives(text, lines), problem)
    statements: list[Parsed] = []
    for n, rs in enumerate(raw, 1):
        start = rs.stmt_location or 0
        end = start + rs.stmt_len if rs.stmt_len else len(text)
        line, col = lines.at(start)
        parsed = Parsed(n, line, col, text[start:end].strip(), rs.stmt)
        statements += _do_block(parsed, lines) if isinstance(rs.stmt, ast.DoStmt) else [parsed]
    return Source(migration, transactional, tuple(statements), _directives(text, lines), None)


def _do_block(do: Parsed, lines: Lines) -> list[Parsed]:
    """The static SQL statements inside a PL/pgSQL DO block, each at its line; the block itself otherwise."""
    args = {a.defname: a for a in do.node.args or ()}
    body, language = args.get("as"), args.get("language")
    if body is None or (language is not None and str(language.arg.sval).lower() != "plpgsql"):
        return [do]
    code = str(body.arg.sval)
    tag = "$bbops_do$"
    if tag in code:
        return [do]
    try:
        tree = pglast.parse_plpgsql(f"CREATE FUNCTION bbops_do() RETURNS void LANGUAGE plpgsql AS {tag}{code}{tag}")
    except (ParseError, ValueError):
        return [do]
    first = lines.at(body.arg_location or 0)[0]  # PL/pgSQL counts lines from the one the body starts on
    out = []
    for lineno, query in _static_sql(tree):
        try:
            nodes = parser.parse_sql(query)
        except ParseError:
            continue
        for rs in nodes:
            out.append(Parsed(do.number, first + lineno - 1, 1, query, rs.stmt))
    return out or [do]


def _static_sql(tree: Any) -> list[tuple[int, str]]:
    """(lineno, query) of every ``PLpgSQL_stmt_execsql`` in libpg_query's JSON tree of a function."""
    found: list[tuple[int, str]] = []
    if isinstance(tree, dict):
        stmt = tree.get("PLpgSQL_stmt_execsql")
        if isinstance(stmt, dict):
            query = stmt.get("sqlstmt", {}).get("PLpgSQL_expr", {}).get("query")
            if isinstance(query, str):
                found.append((int(stmt.get("lineno", 1)), query))
        for value in tree.values():
            found += _static_sql(value)
    elif isinstance(tree, list):
        for item in tree:
            found += _static_sql(item)
    return found


def _directives(text: str, lines: Lines) -> tuple[Directive, ...]:
    try:
        tokens = parser.scan(text)
    except ParseError:
        return ()
    out = []
    for tok in tokens:
        if tok.name != "SQL_COMMENT":
            continue
        m = _IGNORE.match(text[tok.start : tok.end + 1].strip())
        if not m:
            continue
        rule, _, reason = m.group("rest").strip().partition(" ")
        out.append(Directive(rule.strip(), reason.strip(" :-\t"), lines.at(tok.start)[0]))
    return tuple(out)
