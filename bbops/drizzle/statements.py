"""Reading SQL text just well enough to split it and to spot what can't run in a transaction.

Drizzle runs each ``--> statement-breakpoint`` chunk as one query, and inside a
transaction a chunk holding several statements is fine. Outside a transaction
it is not: Postgres runs a multi-statement query in an implicit transaction,
where ``CREATE INDEX CONCURRENTLY`` refuses to run. So migrations that must run
outside a transaction are split further into statements by PostgreSQL's own
parser (pglast). A small scanner that knows comments (nested ``/* */``), quoted
strings, ``E''`` strings, quoted identifiers and dollar quotes blanks out
comments and literals: for spotting what cannot run in a transaction, and for
splitting a chunk the parser rejects.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pglast
from pglast.parser import ParseError

NO_TRANSACTION_DIRECTIVE = "bbops:no-transaction"

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)?\$")


@dataclass(frozen=True)
class Statement:
    """One query as bbops sends it: its number within the migration and where it starts in the file."""

    number: int  # 1-based, in the order bbops runs them
    sql: str
    line: int  # 1-based line of the .sql file where the statement starts


def _segments(text: str) -> Iterator[tuple[str, int, int]]:
    """Yield ``(kind, start, end)`` covering ``text``; kind is code, comment or literal."""
    i, n, code_start = 0, len(text), 0
    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "-" and nxt == "-":
            end = text.find("\n", i)
            end = n if end < 0 else end
            kind = "comment"
        elif c == "/" and nxt == "*":
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            end, kind = j, "comment"
        elif c == "'":
            # E'...' strings allow backslash escapes; standard strings only double the quote.
            backslash = i > 0 and text[i - 1] in "eE" and (i < 2 or not (text[i - 2].isalnum() or text[i - 2] == "_"))
            end, kind = _quoted_end(text, i, "'", backslash), "literal"
        elif c == '"':
            end, kind = _quoted_end(text, i, '"', False), "literal"
        elif c == "$" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = _DOLLAR_TAG.match(text, i)
            if not m:
                i += 1
                continue
            close = text.find(m.group(0), m.end())
            end, kind = (n if close < 0 else close + len(m.group(0))), "literal"
        else:
            i += 1
            continue
        if code_start < i:
            yield "code", code_start, i
        yield kind, i, end
        i = code_start = end
    if code_start < n:
        yield "code", code_start, n


def _quoted_end(text: str, start: int, quote: str, backslash: bool) -> int:
    j, n = start + 1, len(text)
    while j < n:
        ch = text[j]
        if backslash and ch == "\\":
            j += 2
            continue
        if ch == quote:
            if j + 1 < n and text[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    return n


def code_only(text: str, *, keep_literals: bool = False) -> str:
    """``text`` with comments (and literals unless kept) blanked out; same length, newlines kept."""
    out = []
    for kind, start, end in _segments(text):
        piece = text[start:end]
        keep = kind == "code" or (keep_literals and kind == "literal")
        out.append(piece if keep else re.sub(r"[^\n]", " ", piece))
    return "".join(out)


def split_statements(stmt: Statement, first_number: int) -> list[Statement]:
    """Split one chunk into the statements it holds; numbers continue from ``first_number``.

    PostgreSQL's own parser (pglast) finds where each statement ends, so a
    SQL-standard function body (``BEGIN ATOMIC ... END``) stays whole while the
    statements around it are still split. A chunk the parser rejects is split
    on top-level semicolons by the scanner below instead, so it still reaches
    the server, whose error then names the line. (pglast's lexer-only split is
    not used for that: it drops a statement that starts with an unknown word.)
    Each piece keeps the comments before it and its own semicolon.
    """
    try:
        slices = pglast.split(stmt.sql, with_parser=True, only_slices=True)
    except ParseError:
        return _split_on_semicolons(stmt, first_number)
    ends = []
    for piece in slices:
        rest = stmt.sql[piece.stop :]
        semicolon = rest.lstrip().startswith(";")
        ends.append(piece.stop + (len(rest) - len(rest.lstrip()) + 1 if semicolon else 0))
    return _pieces(stmt, first_number, list(zip([0, *ends], ends, strict=False)))


def _split_on_semicolons(stmt: Statement, first_number: int) -> list[Statement]:
    masked = code_only(stmt.sql)
    bounds: list[tuple[int, int]] = []
    start = 0
    for pos, ch in enumerate(masked):
        if ch == ";":
            bounds.append((start, pos + 1))
            start = pos + 1
    bounds.append((start, len(stmt.sql)))
    return _pieces(stmt, first_number, [(s, e) for s, e in bounds if masked[s:e].strip(" \t\r\n;")])


def _pieces(stmt: Statement, first_number: int, bounds: list[tuple[int, int]]) -> list[Statement]:
    out: list[Statement] = []
    for s, e in bounds:
        raw = stmt.sql[s:e]
        lead = len(raw) - len(raw.lstrip())
        line = stmt.line + stmt.sql.count("\n", 0, s + lead)
        out.append(Statement(first_number + len(out), raw.strip(), line))
    return out


def has_directive(text: str) -> bool:
    """True when the file's leading comment lines carry ``-- bbops:no-transaction``."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            return False
        if stripped.lstrip("-> ").lower().startswith(NO_TRANSACTION_DIRECTIVE):
            return True
    return False


# Commands Postgres refuses inside a transaction block (checked on comment- and literal-free text).
_NON_TX = [
    (re.compile(r"\bcreate\s+(unique\s+)?index\s+concurrently\b", re.I), "CREATE INDEX CONCURRENTLY"),
    (re.compile(r"\bdrop\s+index\s+concurrently\b", re.I), "DROP INDEX CONCURRENTLY"),
    (re.compile(r"\breindex\b[^;]*\bconcurrently\b", re.I), "REINDEX CONCURRENTLY"),
    (re.compile(r"\bdetach\s+partition\b[^;]*\bconcurrently\b", re.I), "DETACH PARTITION CONCURRENTLY"),
    (re.compile(r"(^|;)\s*vacuum\b", re.I), "VACUUM"),
    (re.compile(r"(^|;)\s*(create|drop)\s+database\b", re.I), "CREATE/DROP DATABASE"),
    (re.compile(r"(^|;)\s*alter\s+system\b", re.I), "ALTER SYSTEM"),
]
_ADD_VALUE = re.compile(r"\balter\s+type\b[^;]*\badd\s+value\b", re.I)


def non_transactional_reason(text: str, server_version: int) -> str | None:
    """Why this migration must run outside a transaction, or None if it can run inside one."""
    if has_directive(text):
        return f"-- {NO_TRANSACTION_DIRECTIVE} directive"
    code = code_only(text)
    for pattern, name in _NON_TX:
        if pattern.search(code):
            return f"contains {name}"
    # Before Postgres 12, ALTER TYPE ... ADD VALUE could not run in a transaction block.
    if server_version and server_version < 120000 and _ADD_VALUE.search(code):
        return "contains ALTER TYPE ... ADD VALUE (server older than 12)"
    return None


_CIC = re.compile(
    r"^\s*create\s+(?:unique\s+)?index\s+concurrently\s+(?:if\s+not\s+exists\s+)?"
    r"(?P<name>\"(?:[^\"]|\"\")+\"|[A-Za-z_][\w$]*)\s+on\s+(?:only\s+)?"
    r"(?P<table>(?:\"(?:[^\"]|\"\")+\"|[A-Za-z_][\w$]*)(?:\s*\.\s*(?:\"(?:[^\"]|\"\")+\"|[A-Za-z_][\w$]*))?)",
    re.I,
)


def concurrent_index_target(sql: str) -> tuple[str, str] | None:
    """For ``CREATE INDEX CONCURRENTLY name ON table``: (index name unquoted, table as written)."""
    m = _CIC.match(code_only(sql, keep_literals=True))
    if not m:
        return None
    name = m.group("name")
    name = name[1:-1].replace('""', '"') if name.startswith('"') else name.lower()
    return name, re.sub(r"\s+", "", sql[m.start("table") : m.end("table")])


def line_col(sql: str, position: int) -> tuple[int, int]:
    """1-based line and column in ``sql`` of the server's 1-based character ``position``."""
    before = sql[: max(position - 1, 0)]
    line = before.count("\n") + 1
    col = len(before) - (before.rfind("\n") + 1) + 1
    return line, col
