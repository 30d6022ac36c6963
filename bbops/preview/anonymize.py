"""Replacing personal data in a preview branch with deterministic fakes.

A fake is derived from the original value (md5 inside the server), so the same
input always gives the same fake: joins on scrubbed values still line up, and a
refreshed preview scrubs to the same result. Values that already have the fake
form are left alone, which makes scrubbing idempotent.

A rule naming an exact column that does not exist is an error, not a silent
no-op: a typo in a scrub rule would otherwise hand out real personal data.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

import psycopg
from psycopg import sql

from bbops.errors import MigrationError
from bbops.plan.model import ScrubRule

# kind -> (SQL expression of the fake built from {col}, regex a fake matches)
_FAKES: dict[str, tuple[str, str | None]] = {
    "email": ("'user-' || left(md5({col}::text), 12) || '@example.invalid'", r"^user-[0-9a-f]{12}@example\.invalid$"),
    "name": ("'Person ' || upper(left(md5({col}::text), 6))", r"^Person [0-9A-F]{6}$"),
    "phone": (
        "'+1555' || lpad((('x' || left(md5({col}::text), 7))::bit(28)::int % 10000000)::text, 7, '0')",
        r"^\+1555[0-9]{7}$",
    ),
    "text": ("'redacted-' || left(md5({col}::text), 12)", r"^redacted-[0-9a-f]{12}$"),
    # Real tokens are often hex digests already, so a hash has no recognisable fake form: always re-hash.
    "hash": ("encode(sha256(convert_to({col}::text, 'UTF8')), 'hex')", None),
    "null": ("NULL", None),
}


@dataclass(frozen=True)
class Scrubbed:
    table: str
    column: str
    rows: int

    def __str__(self) -> str:
        return f"{self.table}.{self.column} ({self.rows} rows)"


def _split(table: str) -> tuple[str, str]:
    schema, _, name = table.rpartition(".")
    return schema or "public", name


def _columns(conn: psycopg.Connection, schema: str, table: str) -> dict[str, str]:
    rows = conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = %s and table_name = %s and is_generated = 'NEVER'",
        (schema, table),
    ).fetchall()
    return dict(rows)


def matching_columns(rule: ScrubRule, columns: dict[str, str]) -> list[str]:
    if any(ch in rule.column for ch in "*?["):
        return sorted(c for c in columns if fnmatch.fnmatchcase(c, rule.column))
    return [rule.column] if rule.column in columns else []


def scrub_statement(schema: str, table: str, column: str, kind: str) -> sql.Composed:
    """The UPDATE that replaces ``column`` with fakes of ``kind`` where it is not one already."""
    expr, fake_form = _FAKES[kind]
    col = sql.Identifier(column)
    value = sql.SQL(expr).format(col=col)
    where = sql.SQL("{col} IS NOT NULL").format(col=col)
    if fake_form:
        where += sql.SQL(" AND {col}::text !~ {form}").format(col=col, form=sql.Literal(fake_form))
    return sql.SQL("UPDATE {tbl} SET {col} = {value} WHERE {where}").format(
        tbl=sql.Identifier(schema, table), col=col, value=value, where=where
    )


def scrub(conn: psycopg.Connection, rules: tuple[ScrubRule, ...]) -> list[Scrubbed]:
    """Apply every rule in one transaction; all or nothing."""
    done: list[Scrubbed] = []
    with conn.transaction():
        for rule in rules:
            schema, table = _split(rule.table)
            columns = _columns(conn, schema, table)
            targets = matching_columns(rule, columns)
            if not targets and not any(ch in rule.column for ch in "*?["):
                raise MigrationError(
                    f"scrub rule {rule.table}.{rule.column} matches no column: "
                    "fix the rule, or the preview would keep real personal data"
                )
            for column in targets:
                try:
                    cur = conn.execute(scrub_statement(schema, table, column, rule.with_))
                except psycopg.Error as exc:
                    raise MigrationError(
                        f"scrub of {rule.table}.{column} failed: {exc.diag.message_primary or exc}"
                    ) from None
                done.append(Scrubbed(f"{schema}.{table}" if schema != "public" else table, column, cur.rowcount))
    return done
