"""Replacing personal data in a preview branch with deterministic fakes.

A fake is derived from the original value by an HMAC-SHA256 under the
project's scrub key (``bbops.preview.scrubkey``; previews never see it), so the
same input always gives the same fake -- joins on scrubbed values still line
up, and a refreshed preview scrubs to the same result -- while a fake cannot be
matched to a guessed original (as an unsalted md5 could). Values that already
have the fake form are left alone, which makes scrubbing idempotent.

The HMAC is computed inside the server from Postgres' own ``sha256`` (no
extension needed): the key's inner and outer pads are computed here and sent as
bound parameters, never as text in the statement.

A rule naming an exact column that does not exist is an error, not a silent
no-op: a typo in a scrub rule would otherwise hand out real personal data.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass

import psycopg
from psycopg import sql

from bbops.errors import MigrationError
from bbops.plan.model import ScrubRule

# HMAC-SHA256 (RFC 2104) of the column's text, as hex, with the pads as parameters.
_MAC = "encode(sha256(%(opad)s::bytea || sha256(%(ipad)s::bytea || convert_to({col}::text, 'UTF8'))), 'hex')"
# kind -> (SQL expression of the fake built from {mac}, regex a fake matches)
_FAKES: dict[str, tuple[str, str | None]] = {
    "email": ("'user-' || left({mac}, 12) || '@example.invalid'", r"^user-[0-9a-f]{12}@example\.invalid$"),
    "name": ("'Person ' || upper(left({mac}, 6))", r"^Person [0-9A-F]{6}$"),
    "phone": (
        "'+1555' || lpad((('x' || left({mac}, 7))::bit(28)::int % 10000000)::text, 7, '0')",
        r"^\+1555[0-9]{7}$",
    ),
    "text": ("'redacted-' || left({mac}, 12)", r"^redacted-[0-9a-f]{12}$"),
    # Real tokens are often hex digests already, so a hash has no recognisable fake form: always re-hash.
    "hash": ("{mac}", None),
    "null": ("NULL", None),
}
_BLOCK = 64  # SHA-256's block size


def hmac_pads(key: bytes) -> dict[str, bytes]:
    """The inner and outer HMAC-SHA256 pads of ``key`` (RFC 2104), the statement's parameters."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return {"ipad": bytes(b ^ 0x36 for b in key), "opad": bytes(b ^ 0x5C for b in key)}


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
    value = sql.SQL(expr.replace("%", "%%").replace("{mac}", _MAC)).format(col=col)
    where = sql.SQL("{col} IS NOT NULL").format(col=col)
    if fake_form:
        where += sql.SQL(" AND {col}::text !~ {form}").format(col=col, form=sql.Literal(fake_form))
    return sql.SQL("UPDATE {tbl} SET {col} = {value} WHERE {where}").format(
        tbl=sql.Identifier(schema, table), col=col, value=value, where=where
    )


def scrub(conn: psycopg.Connection, rules: tuple[ScrubRule, ...], key: bytes) -> list[Scrubbed]:
    """Apply every rule in one transaction, fakes keyed by ``key``; all or nothing."""
    params = hmac_pads(key)
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
                    statement = scrub_statement(schema, table, column, rule.with_)
                    cur = conn.execute(statement, params if "{mac}" in _FAKES[rule.with_][0] else None)
                except psycopg.Error as exc:
                    raise MigrationError(
                        f"scrub of {rule.table}.{column} failed: {exc.diag.message_primary or exc}"
                    ) from None
                done.append(Scrubbed(f"{schema}.{table}" if schema != "public" else table, column, cur.rowcount))
    return done
