"""Issue 12 item 16: server error details quote row values; they never reach output, history or summaries."""

from __future__ import annotations

import psycopg
from click.testing import CliRunner

from bbops.cli import main
from bbops.core.rowvalues import strip_row_values
from bbops.production.history import History
from tests.production.test_production_local import SCHEMA, SEED, write_plan

PERSON = "jane.private@personal-mail.example"


def test_item16_strip_row_values_keeps_the_message_and_drops_the_values():
    text = (
        'duplicate key value violates unique constraint "users_nickname_key"\n'
        f"DETAIL:  Key (nickname)=({PERSON}) already exists."
    )
    assert strip_row_values(text) == (
        'duplicate key value violates unique constraint "users_nickname_key"\n'
        "DETAIL:  Key (nickname)=(…) already exists."
    )
    assert PERSON not in strip_row_values(f"new row violates check\nDETAIL:  Failing row contains (7, {PERSON}).")
    assert strip_row_values(f'bad input\nCONTEXT:  COPY users, line 4, column nickname: "{PERSON}"') == (
        "bad input\nCONTEXT:  COPY users, line 4, column nickname"
    )
    fk = 'x\nDETAIL:  Key (user_id)=(42) is not present in table "users".'
    assert strip_row_values(fk) == 'x\nDETAIL:  Key (user_id)=(…) is not present in table "users".'


def test_item16_failed_step_records_no_row_values(backend, app, tmp_path, monkeypatch):
    (app / "sql" / "dupe.sql").write_text(
        "CREATE UNIQUE INDEX users_nickname_key ON users (nickname);\n"
        f"INSERT INTO users VALUES (10, 'Jane', '{PERSON}'), (11, 'Jane again', '{PERSON}');\n"
    )
    plan = write_plan(app, SCHEMA + SEED + "    - {id: dupe, kind: sql, file: sql/dupe.sql}\n")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    summary.write_text("")
    result = CliRunner().invoke(main, ["apply", "--auto-approve", "--plan", str(plan), "--backend", "local"])
    assert result.exit_code == 5, result.output
    assert "users_nickname_key" in result.output  # the message is kept
    assert PERSON not in result.output
    assert PERSON not in summary.read_text()
    url = backend.branches.connection("main", database="neondb", role="neondb_owner", pooled=False).url
    error = History(url).latest_attempts()["dupe"].error
    assert "users_nickname_key" in error and "Key (nickname)=(…)" in error and PERSON not in error
    with psycopg.connect(url) as conn:  # and the row is really not there (the step failed as a whole)
        assert conn.execute("SELECT count(*) FROM users WHERE nickname = %s", [PERSON]).fetchone()[0] == 0
