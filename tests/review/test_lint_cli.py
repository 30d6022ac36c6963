"""``bbops migrate lint`` and ``migrate up --lint`` through the CLI: formats, exit codes, pending-only."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from bbops.cli import main
from bbops.review.reporters import rules_table
from tests import REPO_ROOT
from tests.review.helpers import CORPUS, write_folder

SETUP = (CORPUS / "setup.sql").read_text(encoding="utf-8")
INDEX = 'CREATE INDEX "orders_user_id_idx" ON "orders" ("user_id");\n'
DROP_IGNORED = (
    '-- bbops:ignore ban-drop-column nothing reads note since v41\nALTER TABLE "orders" DROP COLUMN "note";\n'
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no plans/ here: no plan ignores
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return write_folder(tmp_path / "drizzle", [("0000_setup", SETUP), ("0001_index", INDEX)])


def test_text_names_file_line_rule_why_and_fix_and_exits_1(folder: Path):
    code, out, err = run("migrate", "lint", "--dir", str(folder))
    assert code == 1
    assert "drizzle/0001_index.sql:1: error require-concurrent-index-creation: CREATE INDEX orders_user_id_idx" in out
    assert "  why: A plain CREATE INDEX holds a SHARE lock" in out and "  fix: CREATE INDEX CONCURRENTLY" in out
    assert "lint finding(s) at --fail-on error" in err


def test_default_dir_is_drizzle_and_fail_on_never_exits_0(folder: Path):
    code, out, _ = run("migrate", "lint", "--fail-on", "never")
    assert code == 0 and "2 migrations" in out


def test_json_lists_every_finding_with_its_location(folder: Path):
    code, out, _ = run("migrate", "lint", "--dir", str(folder), "--format", "json", "--fail-on", "never")
    data = json.loads(out)
    assert code == 0 and data["errors"] >= 1 and data["migrations"] == ["0000_setup", "0001_index"]
    (f,) = [f for f in data["findings"] if f["migration"] == "0001_index" and f["severity"] == "error"]
    assert (f["rule"], f["line"], f["statement"], f["ignored"]) == ("require-concurrent-index-creation", 1, 1, None)


def test_github_format_writes_annotations_on_the_files_lines(folder: Path):
    _, out, _ = run("migrate", "lint", "--dir", str(folder), "--format", "github")
    line = next(x for x in out.splitlines() if "require-concurrent-index-creation" in x)
    assert line.startswith("::error file=drizzle/0001_index.sql,line=1,col=1,title=require-concurrent-index-creation::")
    assert "%0AFix: CREATE INDEX CONCURRENTLY" in line


def test_the_lint_action_in_a_runner_annotates_and_writes_the_job_summary(folder: Path, monkeypatch):
    from tests.fakes.github_fixtures import make_runner

    runner = make_runner(folder.parent, monkeypatch)
    code, out, _ = run("migrate", "lint", "--format", "github", "--fail-on", "error", "--dir", str(folder))
    assert code == 1 and "::error file=drizzle/0001_index.sql,line=1" in out
    summary = runner.summary.read_text()
    assert summary.startswith("### Migration lint") and "`require-concurrent-index-creation`" in summary


def test_markdown_format_is_a_table_with_ignored_findings_folded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    write_folder(tmp_path / "drizzle", [("0000_setup", SETUP), ("0001_index", INDEX), ("0002_drop", DROP_IGNORED)])
    _, out, _ = run("migrate", "lint", "--format", "markdown", "--fail-on", "never")
    assert "| ❌ | `drizzle/0001_index.sql:1` | `require-concurrent-index-creation` |" in out
    assert "ignored with a reason</summary>" in out and "nothing reads note since v41" in out


def test_pending_only_with_a_database_url(folder: Path, database_url: str):
    code, _, _ = run("migrate", "up", "--database-url", database_url, "--dir", str(folder), "--to", "0000")
    assert code == 0
    _, out, _ = run("migrate", "lint", "--dir", str(folder), "--database-url", database_url, "--format", "json")
    assert json.loads(out)["migrations"] == ["0001_index"]


def test_migrate_up_lint_error_refuses_and_applies_nothing(folder: Path, database_url: str):
    code, _, err = run("migrate", "up", "--database-url", database_url, "--dir", str(folder), "--lint", "error")
    assert code == 1
    assert "0001_index.sql:1: error require-concurrent-index-creation" in err and "nothing was applied" in err
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT to_regclass('orders')").fetchone() == (None,)


def test_migrate_up_lint_error_runs_what_is_ignored_with_a_reason(tmp_path: Path, database_url: str, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_folder(tmp_path / "drizzle", [("0000_setup", SETUP), ("0001_drop", DROP_IGNORED)])
    code, out, err = run("migrate", "up", "--database-url", database_url, "--lint", "error")
    assert code == 0, err
    assert "applied 2 migrations" in out


def test_rules_table_in_the_docs_is_current():
    doc = (REPO_ROOT / "docs" / "migration-lint.md").read_text(encoding="utf-8")
    assert rules_table() in doc
    code, out, _ = run("migrate", "lint", "--rules")
    assert code == 0 and out.strip() == rules_table()


def test_linting_the_example_apps_folder_is_fast():
    # The figure for the issue lives in bench/lint_speed.py; this only guards against a gross regression.
    started = time.monotonic()
    code, _, _ = run("migrate", "lint", "--plan", str(REPO_ROOT / "plans" / "bb-prodx.yaml"))
    assert code == 0 and time.monotonic() - started < 10
