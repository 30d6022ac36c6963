"""The one text quoting helper (``pg.quote_ident``), checked by Postgres itself."""

from __future__ import annotations

import psycopg

from bbops.core.pg import quote_ident


def test_quoted_names_round_trip_through_postgres(database_url: str) -> None:
    names = ["plain", "MixedCase", 'with "quotes"', "spaced name", "ü-nicode", "select"]
    with psycopg.connect(database_url, autocommit=True) as conn:
        for name in names:
            conn.execute(f"CREATE TABLE {quote_ident('public', name)} (x int)")
            # Postgres reads the quoted text back as exactly the name, and agrees on the quoting.
            assert conn.execute("SELECT to_regclass(%s) IS NOT NULL", (quote_ident("public", name),)).fetchone() == (
                True,
            )
            assert conn.execute("SELECT quote_ident(%s)", (name,)).fetchone()[0] in (name, quote_ident(name))
    assert quote_ident("a", "b") == '"a"."b"' and quote_ident('x"y') == '"x""y"'
