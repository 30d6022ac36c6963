"""``bbops migrate up|status`` through the CLI: exit codes, JSON, and no password in any output."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from click.testing import CliRunner

from bbops.cli import main

BP = "\n--> statement-breakpoint\n"


def write_folder(root: Path, migrations: list[tuple[str, str]]) -> Path:
    (root / "meta").mkdir(parents=True, exist_ok=True)
    entries = []
    for i, (tag, text) in enumerate(migrations):
        (root / f"{tag}.sql").write_text(text)
        entries.append({"idx": i, "version": "7", "when": 1_700_000_000_000 + i, "tag": tag, "breakpoints": True})
    (root / "meta" / "_journal.json").write_text(
        json.dumps({"version": "7", "dialect": "postgresql", "entries": entries})
    )
    return root


GOOD = [
    ("0000_a", "CREATE TABLE a (id int);" + BP + "CREATE TABLE b (id int);"),
    ("0001_c", "CREATE TABLE c (id int);"),
]


@pytest.fixture
def secret_url(database_url: str) -> tuple[str, str]:
    """The test database's URL with a password in it (the local server trusts socket logins)."""
    password = "pw_" + "s3cr3t" * 3
    parts = urlsplit(database_url)
    user = parts.username or "postgres"
    host = parts.hostname or ""
    netloc = f"{user}:{password}@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl(), password


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_up_then_status_as_json(secret_url: tuple[str, str], tmp_path: Path) -> None:
    url, password = secret_url
    folder = write_folder(tmp_path, GOOD)
    result = run("migrate", "up", "--database-url", url, "--dir", str(folder), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["applied_tags"] == ["0000_a", "0001_c"] and data["statements_run"] == 3
    assert password not in result.output and "***" in data["database"]

    result = run("migrate", "status", "--dir", str(folder), "--format", "json", env={"DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [a["tag"] for a in data["applied"]] == ["0000_a", "0001_c"] and data["pending"] == []
    assert data["drift"] is False and password not in result.output

    result = run("migrate", "status", "--dir", str(folder), "--database-url", url)
    assert result.exit_code == 0 and "2 applied, 0 pending" in result.stdout and password not in result.output


def test_dry_run_prints_the_sql_in_order(secret_url: tuple[str, str], tmp_path: Path) -> None:
    url, password = secret_url
    folder = write_folder(tmp_path, GOOD)
    result = run("migrate", "up", "--dry-run", "--database-url", url, "--dir", str(folder))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("CREATE TABLE a") < out.index("CREATE TABLE b") < out.index("CREATE TABLE c")
    assert "2 migration(s) would run" in out and password not in result.output
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('a')").fetchone()[0] is None


def test_exit_codes(secret_url: tuple[str, str], tmp_path: Path) -> None:
    url, password = secret_url
    folder = write_folder(tmp_path / "good", GOOD)
    assert run("migrate", "up", "--database-url", url, "--dir", str(folder)).exit_code == 0

    # Drift: an applied file was edited -> 1 for both status and up.
    (folder / "0000_a.sql").write_text("CREATE TABLE a (id bigint);")
    status = run("migrate", "status", "--database-url", url, "--dir", str(folder))
    assert status.exit_code == 1 and "changed" in status.stdout
    up = run("migrate", "up", "--database-url", url, "--dir", str(folder))
    assert up.exit_code == 1 and "0000_a" in up.stderr and "--allow-changed" in up.stderr

    # A failing statement -> 5, naming the migration and the statement.
    bad = write_folder(tmp_path / "bad", [("0000_bad", "CREATE TABLE x (id int);" + BP + "CREATE TABLE x (id int);")])
    # (its own history table, so the drift above does not stop it first)
    up = run("migrate", "up", "--database-url", url, "--dir", str(bad), "--migrations-table", "other_history")
    assert up.exit_code == 5
    assert "0000_bad failed at statement 2 of 2" in up.stderr and "already exists" in up.stderr
    assert password not in up.output

    # Bad usage -> 2: no journal, unknown --to.
    assert run("migrate", "up", "--database-url", url, "--dir", str(tmp_path / "nowhere")).exit_code == 2
    to = run("migrate", "up", "--database-url", url, "--dir", str(folder), "--to", "9999", "--allow-changed")
    assert to.exit_code == 2 and "9999" in to.stderr


def test_unreachable_database_is_a_provider_failure_without_the_password(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, GOOD)
    password = "pw_" + "n0pe" * 4
    url = f"postgresql://someone:{password}@127.0.0.1:1/nodb?connect_timeout=2"
    result = run("migrate", "up", "--database-url", url, "--dir", str(folder))
    assert result.exit_code == 4
    assert password not in result.output and "cannot connect" in result.stderr


@pytest.mark.parametrize("param", ["password", "sslpassword"])
def test_password_in_query_string_is_redacted_from_migrate_status_errors(tmp_path: Path, param: str) -> None:
    folder = write_folder(tmp_path, GOOD)
    password = "pw_" + "qu3ry" * 4
    url = f"postgresql://someone@127.0.0.1:1/nodb?connect_timeout=2&{param}={password}"
    result = run("migrate", "status", "--database-url", url, "--dir", str(folder))
    assert result.exit_code == 4 and "cannot connect" in result.stderr
    assert password not in result.output and f"{param}=***" in result.stderr
