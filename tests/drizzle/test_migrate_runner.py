"""``migrate_up`` / ``migrate_status`` against a real Postgres."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import psycopg
import pytest

from bbops.core.locks import advisory_lock, lock_holders, lock_id
from bbops.drizzle.execute import Target
from bbops.drizzle.runner import lock_key, migrate_status, migrate_up
from bbops.errors import DifferencesFound, LockTimeout, MigrationError, UsageError

BASE = 1_700_000_000_000
BP = "\n--> statement-breakpoint\n"


def write_folder(root: Path, migrations: list[tuple[str, str]]) -> Path:
    """A drizzle-kit style folder: meta/_journal.json plus <tag>.sql files."""
    (root / "meta").mkdir(parents=True, exist_ok=True)
    entries = []
    for i, (tag, text) in enumerate(migrations):
        (root / f"{tag}.sql").write_text(text)
        entries.append({"idx": i, "version": "7", "when": BASE + i * 1000, "tag": tag, "breakpoints": True})
    (root / "meta" / "_journal.json").write_text(
        json.dumps({"version": "7", "dialect": "postgresql", "entries": entries})
    )
    return root


THREE = [
    (
        "0000_users",
        'CREATE TABLE "users" ("id" serial PRIMARY KEY, "email" text NOT NULL);'
        + BP
        + "INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com');",
    ),
    ("0001_posts", 'CREATE TABLE "posts" ("id" serial PRIMARY KEY, "user_id" int REFERENCES users(id));'),
    ("0002_title", 'ALTER TABLE "posts" ADD COLUMN "title" text;' + BP + "CREATE INDEX posts_title ON posts (title);"),
]


def q(url: str, sql: str, params=None) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def drizzle_rows(url: str) -> list[tuple[str, int]]:
    return [(r[0], int(r[1])) for r in q(url, "SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id")]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fresh_apply_writes_drizzles_rows_and_the_bbops_log(database_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path, THREE)
    events: list[str] = []
    report = migrate_up(database_url, folder, on_event=events.append)
    assert report.tags == ["0000_users", "0001_posts", "0002_title"]
    assert report.statements_run == 5
    assert drizzle_rows(database_url) == [(sha(folder / f"{t}.sql"), BASE + i * 1000) for i, (t, _) in enumerate(THREE)]
    # Drizzle's own table definition, so drizzle-kit sees nothing unusual.
    cols = q(
        database_url,
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = 'drizzle' AND table_name = '__drizzle_migrations' ORDER BY ordinal_position",
    )
    assert cols == [("id", "integer", "NO"), ("hash", "text", "NO"), ("created_at", "bigint", "YES")]
    log = q(
        database_url,
        "SELECT tag, status, transactional, statements_done, jsonb_array_length(statements), actor, "
        "duration_ms IS NOT NULL FROM bbops.migration_log ORDER BY id",
    )
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in log] == [
        ("0000_users", "applied", True, 2, 2),
        ("0001_posts", "applied", True, 1, 1),
        ("0002_title", "applied", True, 2, 2),
    ]
    assert all(r[5] and r[6] for r in log)
    assert q(database_url, "SELECT count(*) FROM users")[0][0] == 2
    assert any("applying 0000_users" in e for e in events)


def test_rerun_is_a_no_op(database_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path, THREE)
    migrate_up(database_url, folder)
    events: list[str] = []
    again = migrate_up(database_url, folder, on_event=events.append)
    assert again.applied == () and again.statements_run == 0
    assert len(drizzle_rows(database_url)) == 3
    assert q(database_url, "SELECT count(*) FROM users")[0][0] == 2  # the INSERT did not run twice
    assert any("up to date" in e for e in events)
    status = migrate_status(database_url, folder)
    assert [s.tag for s in status.applied] == ["0000_users", "0001_posts", "0002_title"]
    assert not status.pending and not status.drift


def test_partial_history_written_by_drizzle_kit_applies_only_the_rest(database_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path, THREE)
    # What drizzle-kit leaves after applying the first two migrations.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute('CREATE TABLE "users" ("id" serial PRIMARY KEY, "email" text NOT NULL)')
        conn.execute('CREATE TABLE "posts" ("id" serial PRIMARY KEY, "user_id" int REFERENCES users(id))')
        conn.execute("CREATE SCHEMA drizzle")
        conn.execute(
            "CREATE TABLE drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)"
        )
        for i, (tag, _) in enumerate(THREE[:2]):
            conn.execute(
                "INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES (%s, %s)",
                (sha(folder / f"{tag}.sql"), BASE + i * 1000),
            )
    status = migrate_status(database_url, folder)
    assert [s.tag for s in status.pending] == ["0002_title"]
    report = migrate_up(database_url, folder)
    assert report.tags == ["0002_title"]
    assert q(database_url, "SELECT count(*) FROM users")[0][0] == 0  # 0000's INSERT was not re-run
    assert len(drizzle_rows(database_url)) == 3


def test_to_stops_after_the_named_migration(database_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path, THREE)
    assert migrate_up(database_url, folder, to="0001").tags == ["0000_users", "0001_posts"]
    assert migrate_up(database_url, folder, to="0001_posts").tags == []
    assert migrate_up(database_url, folder).tags == ["0002_title"]
    with pytest.raises(UsageError):
        migrate_up(database_url, folder, to="0042")


def test_failing_migration_in_the_middle(database_url: str, tmp_path: Path) -> None:
    broken = ("0001_broken", 'CREATE TABLE "tags" ("id" int);' + BP + "SELECT 1,\n  nosuch_column\nFROM users;")
    folder = write_folder(tmp_path, [THREE[0], broken, THREE[2]])
    with pytest.raises(MigrationError) as info:
        migrate_up(database_url, folder)
    message = str(info.value)
    assert "0001_broken" in message
    assert "statement 2 of 2" in message
    assert "line 2, column 3 of the statement" in message
    assert "0001_broken.sql line 4" in message  # where the statement's line 2 is in the file
    assert 'column "nosuch_column" does not exist' in message
    assert info.value.exit_code == 5
    # The database is at the last good migration: 0001's first statement was rolled back too.
    assert len(drizzle_rows(database_url)) == 1
    assert q(database_url, "SELECT to_regclass('tags')")[0][0] is None
    assert q(database_url, "SELECT status FROM bbops.migration_log WHERE tag = '0001_broken'") == [("failed",)]
    # The lock was released: another session can take it at once.
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_id(lock_key(Target())),)).fetchone()[0]


def test_changed_file_stops_up_unless_allowed(database_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path, THREE[:2])
    migrate_up(database_url, folder)
    write_folder(folder, THREE)  # a new migration arrives...
    (folder / "0000_users.sql").write_text(THREE[0][1] + "\n-- edited after it was applied\n")  # ...and 0000 was edited
    with pytest.raises(DifferencesFound) as info:
        migrate_up(database_url, folder)
    assert "0000_users" in str(info.value) and info.value.exit_code == 1
    assert len(drizzle_rows(database_url)) == 2  # nothing applied
    status = migrate_status(database_url, folder)
    assert [c.tag for c in status.changed] == ["0000_users"] and status.drift
    report = migrate_up(database_url, folder, allow_changed=True)
    assert report.tags == ["0002_title"]
    assert any("0000_users" in w for w in report.warnings)


def test_applied_row_missing_from_the_journal_is_drift(database_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path, THREE[:1])
    migrate_up(database_url, folder)
    q(
        database_url,
        "INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('feedface', %s) RETURNING id",
        (BASE + 500,),
    )
    status = migrate_status(database_url, folder)
    assert [(u.when, u.db_hash) for u in status.unknown] == [(BASE + 500, "feedface")]
    with pytest.raises(DifferencesFound, match="matches no journal entry"):
        migrate_up(database_url, folder)


def test_dry_run_touches_nothing(database_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path, THREE)
    report = migrate_up(database_url, folder, dry_run=True)
    assert report.dry_run and report.applied == ()
    assert [p.tag for p in report.planned] == ["0000_users", "0001_posts", "0002_title"]
    assert report.planned[0].statements[1].startswith("INSERT INTO users")
    assert q(database_url, "SELECT nspname FROM pg_namespace WHERE nspname IN ('drizzle', 'bbops')") == []
    assert q(database_url, "SELECT to_regclass('users')")[0][0] is None
    # After a partial apply, the dry run lists only what is left.
    migrate_up(database_url, folder, to="0000")
    assert [p.tag for p in migrate_up(database_url, folder, dry_run=True).planned] == ["0001_posts", "0002_title"]
    assert len(drizzle_rows(database_url)) == 1


CIC = [
    ("0000_items", "CREATE TABLE items (id int, code text);" + BP + "INSERT INTO items VALUES (1, 'a'), (2, 'a');"),
    (
        "0001_index",
        "-- bbops:no-transaction\nCREATE TABLE audit (id int);\n"
        "CREATE UNIQUE INDEX CONCURRENTLY items_code ON items (code);\n"
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "items_id" ON "public"."items" (id);',
    ),
]


def test_concurrently_migration_runs_outside_a_transaction(database_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path, [CIC[0], ("0001_plain_cic", "CREATE INDEX CONCURRENTLY items_id ON items (id);")])
    report = migrate_up(database_url, folder)
    assert [(a.tag, a.transactional) for a in report.applied] == [("0000_items", True), ("0001_plain_cic", False)]
    assert "CREATE INDEX CONCURRENTLY" in (report.applied[1].reason or "")
    assert q(database_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_id'::regclass") == [(True,)]
    assert len(drizzle_rows(database_url)) == 2


def test_failed_concurrent_build_leaves_no_row_and_the_next_run_repairs_and_resumes(
    database_url: str, tmp_path: Path
) -> None:
    folder = write_folder(tmp_path, CIC)
    with pytest.raises(MigrationError) as info:
        migrate_up(database_url, folder)
    message = str(info.value)
    assert "0001_index failed at statement 2 of 3" in message and "could not create unique index" in message
    assert "statements 1-1 ran and stay applied" in message
    # The failed build left an INVALID index and no history row for 0001.
    assert q(database_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_code'::regclass") == [(False,)]
    assert len(drizzle_rows(database_url)) == 1
    status = migrate_status(database_url, folder)
    assert status.pending[0].progress == "1/3 statements done (failed)"

    q(database_url, "UPDATE items SET code = 'b' WHERE id = 2 RETURNING id")  # fix the data
    events: list[str] = []
    report = migrate_up(database_url, folder, on_event=events.append)
    assert report.tags == ["0001_index"]
    assert report.repaired == ("items_code",)
    assert report.applied[0].skipped == 1  # CREATE TABLE audit is not run again (it would fail)
    assert report.applied[0].statements == 2
    assert any("resuming 0001_index after statement 1" in e for e in events)
    valid = q(
        database_url,
        "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = 'items'::regclass ORDER BY 1",
    )
    assert valid == [("items_code", True), ("items_id", True)]
    assert len(drizzle_rows(database_url)) == 2


def _wait_for_holder(url: str, key: str, timeout: float = 10) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        deadline = time.monotonic() + timeout
        while not lock_holders(conn, key):
            assert time.monotonic() < deadline, "the first runner never took the lock"
            time.sleep(0.02)


def test_a_concurrent_second_runner_waits_then_finds_nothing_to_do(database_url: str, tmp_path: Path) -> None:
    slow = [THREE[0], ("0001_slow", "SELECT pg_sleep(1.2);" + BP + "CREATE TABLE slow_done (id int);")]
    folder = write_folder(tmp_path, slow)
    results: dict[str, object] = {}

    def first() -> None:
        try:
            results["first"] = migrate_up(database_url, folder)
        except Exception as exc:
            results["first"] = exc

    t = threading.Thread(target=first)
    t.start()
    try:
        _wait_for_holder(database_url, lock_key(Target()))
        # A runner with a short timeout fails cleanly, naming the holder...
        with pytest.raises(LockTimeout) as info:
            migrate_up(database_url, folder, lock_timeout=0.2)
        assert "bbops migrate up" in str(info.value) and "pid " in str(info.value)
        # ...and one that waits finds everything applied by the first.
        events: list[str] = []
        second = migrate_up(database_url, folder, lock_timeout=30, on_event=events.append)
    finally:
        t.join()
    assert not isinstance(results["first"], Exception), results["first"]
    assert results["first"].tags == ["0000_users", "0001_slow"]
    assert second.tags == []
    assert any("waiting up to 30s" in e for e in events)
    assert len(drizzle_rows(database_url)) == 2


def test_lock_held_by_another_tool_times_out_with_its_name(database_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path, THREE[:1])
    with psycopg.connect(database_url, autocommit=True) as other:
        with advisory_lock(other, lock_key(Target()), purpose="apply (run 77)"):
            with pytest.raises(LockTimeout, match=r"bbops apply \(run 77\)"):
                migrate_up(database_url, folder, lock_timeout=0.1)
    # Nothing happened before the lock: not even the history table was created.
    assert q(database_url, "SELECT to_regclass('drizzle.__drizzle_migrations')")[0][0] is None


def test_out_of_order_entry_is_applied_with_a_warning(database_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path, THREE)
    journal = json.loads((folder / "meta" / "_journal.json").read_text())
    migrate_up(database_url, folder)
    # A branch merged later brings a migration generated before the newest applied one.
    (folder / "0003_late.sql").write_text("CREATE TABLE late (id int);")
    journal["entries"].append({"idx": 3, "version": "7", "when": BASE + 1500, "tag": "0003_late", "breakpoints": True})
    (folder / "meta" / "_journal.json").write_text(json.dumps(journal))
    status = migrate_status(database_url, folder)
    assert [(p.tag, p.out_of_order) for p in status.pending] == [("0003_late", True)]
    report = migrate_up(database_url, folder)
    assert report.tags == ["0003_late"]
    assert any("drizzle-kit would skip it" in w for w in report.warnings)
    assert not migrate_status(database_url, folder).pending


def test_custom_history_table_location(database_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path, THREE[:1])
    migrate_up(database_url, folder, migrations_schema="meta", migrations_table="applied")
    assert q(database_url, "SELECT count(*) FROM meta.applied")[0][0] == 1
    assert q(database_url, "SELECT to_regclass('drizzle.__drizzle_migrations')")[0][0] is None


def test_log_records_who_and_which_run(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "octo-dev")
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/shop")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    folder = write_folder(tmp_path, THREE[:1])
    migrate_up(database_url, folder)
    row = q(
        database_url,
        "SELECT actor, github_run_id, github_run_url, statements->>1, finished_at >= started_at "
        "FROM bbops.migration_log",
    )
    assert row == [
        (
            "octo-dev",
            "4242",
            "https://github.com/acme/shop/actions/runs/4242",
            "INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com');",
            True,
        )
    ]


def test_a_function_with_a_begin_atomic_body_beside_a_concurrent_index_runs_outside_a_transaction(
    database_url: str, tmp_path: Path
) -> None:
    # One chunk: the parser keeps the function body whole and still sends the CONCURRENTLY build on its own.
    folder = write_folder(
        tmp_path,
        [
            ("0000_t", "CREATE TABLE t (a int);"),
            (
                "0001_fn_and_index",
                "-- bbops:no-transaction\n"
                "CREATE FUNCTION two() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
                "CREATE INDEX CONCURRENTLY t_a_idx ON t (a);",
            ),
        ],
    )
    report = migrate_up(database_url, folder)
    assert [(a.tag, a.transactional, a.statements) for a in report.applied][1] == ("0001_fn_and_index", False, 2)
    assert q(database_url, "SELECT two(), to_regclass('t_a_idx') IS NOT NULL") == [(2, True)]
