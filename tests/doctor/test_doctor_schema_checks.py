"""Schema problems built on a real Postgres, each found by its id, and none on the clean database."""

from __future__ import annotations

import psycopg
import pytest

from bbops.doctor import Severity
from bbops.doctor.session import read_only_session
from tests.doctor.conftest import by_id, doctor, problems, sql


def test_clean_database_has_no_problem(clean_url: str) -> None:
    report = doctor(clean_url)
    assert problems(report) == set(), [f.message for f in report.findings]
    assert report.skipped == [] and len(report.checks) >= 17
    assert {f.objects[0] for f in by_id(report, "size.table")} == {"public.parent", "public.child"}
    # The embedded server has no pg_stat_statements: the report says how to enable it on Neon.
    (missing,) = by_id(report, "statements.unavailable")
    assert "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" in (missing.fix or "")


def test_the_session_cannot_write(clean_url: str) -> None:
    with read_only_session(clean_url) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "5s"
        assert conn.execute("SHOW lock_timeout").fetchone()[0] == "1s"
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TABLE nope (x int)")


def test_unindexed_foreign_key(clean_url: str) -> None:
    sql(clean_url, "DROP INDEX child_parent_id_idx")
    (found,) = by_id(doctor(clean_url), "fk.unindexed")
    assert found.objects == ("public.child.parent_id", "public.parent")
    assert found.evidence["on_delete"] == "CASCADE" and found.evidence["referenced_rows"] == 200
    assert int(found.evidence["referenced_bytes"] or 0) > 0 and found.severity is Severity.WARNING
    assert (
        found.fix == 'CREATE INDEX CONCURRENTLY IF NOT EXISTS "child_parent_id_idx" ON "public"."child" ("parent_id");'
    )
    # The fix, applied, makes the finding go away.
    sql(clean_url, found.fix.replace(" CONCURRENTLY", ""))
    assert by_id(doctor(clean_url), "fk.unindexed") == []


def test_partial_index_does_not_cover_a_foreign_key(clean_url: str) -> None:
    sql(
        clean_url,
        "DROP INDEX child_parent_id_idx",
        "CREATE INDEX child_some ON child (parent_id) WHERE note IS NOT NULL",
    )
    assert [f.objects[0] for f in by_id(doctor(clean_url), "fk.unindexed")] == ["public.child.parent_id"]


def test_duplicate_and_redundant_indexes(clean_url: str) -> None:
    sql(
        clean_url,
        "CREATE INDEX child_parent_again ON child (parent_id)",
        "CREATE INDEX child_note ON child (note)",
        "CREATE INDEX child_note_parent ON child (note, parent_id)",
        "CREATE INDEX child_parent_desc ON child (parent_id DESC)",  # another order: not a duplicate
    )
    report = doctor(clean_url)
    (dup,) = by_id(report, "index.duplicate")
    assert dup.objects == ("public.child_parent_again", "public.child_parent_id_idx")
    assert dup.fix == 'DROP INDEX CONCURRENTLY IF EXISTS "public"."child_parent_again";'
    (redundant,) = by_id(report, "index.redundant")
    assert redundant.objects == ("public.child_note", "public.child_note_parent")


def test_unused_index_until_a_query_uses_it(clean_url: str) -> None:
    sql(clean_url, "CREATE INDEX child_note_idx ON child (note)")
    (unused,) = by_id(doctor(clean_url), "index.unused")
    assert unused.objects == ("public.child_note_idx",) and int(unused.evidence["bytes"] or 0) > 0
    with psycopg.connect(clean_url, autocommit=True) as conn:
        conn.execute("SELECT * FROM child WHERE note = 'x'").fetchall()
        conn.execute("SELECT pg_stat_force_next_flush()")
    assert by_id(doctor(clean_url), "index.unused") == []


def test_invalid_index_left_by_a_failed_concurrent_build(clean_url: str) -> None:
    sql(clean_url, "INSERT INTO child (parent_id, note) VALUES (1, 'same'), (2, 'same')")
    with pytest.raises(psycopg.errors.UniqueViolation):
        sql(clean_url, "CREATE UNIQUE INDEX CONCURRENTLY child_note_key ON child (note)")
    (invalid,) = by_id(doctor(clean_url), "index.invalid")
    assert invalid.objects == ("public.child_note_key",) and invalid.severity is Severity.ERROR
    assert invalid.fix and invalid.fix.startswith('DROP INDEX CONCURRENTLY IF EXISTS "public"."child_note_key";')
    assert "CREATE UNIQUE INDEX CONCURRENTLY child_note_key ON public.child" in invalid.fix


def test_table_without_primary_key(clean_url: str) -> None:
    sql(
        clean_url,
        "CREATE TABLE events (at timestamptz NOT NULL, body text)",
        "CREATE TABLE tokens (token text NOT NULL, owner text)",
        "CREATE UNIQUE INDEX tokens_token_key ON tokens (token)",
    )
    found = {f.objects[0]: f for f in by_id(doctor(clean_url), "table.no_primary_key")}
    assert set(found) == {"public.events", "public.tokens"}
    assert found["public.tokens"].fix == 'ALTER TABLE "public"."tokens" ADD PRIMARY KEY USING INDEX "tokens_token_key";'
    assert "GENERATED ALWAYS AS IDENTITY PRIMARY KEY" in (found["public.events"].fix or "")


def test_sequence_near_its_max(clean_url: str) -> None:
    sql(clean_url, "CREATE TABLE tickets (id serial PRIMARY KEY)", "SELECT setval('tickets_id_seq', 1900000000)")
    (seq,) = by_id(doctor(clean_url), "sequence.near_max")
    assert seq.objects == ("public.tickets_id_seq", "public.tickets.id")
    assert seq.severity is Severity.WARNING and seq.evidence["max_value"] == 2_147_483_647
    assert 'ALTER COLUMN "id" TYPE bigint' in (seq.fix or "")
    sql(clean_url, "SELECT setval('tickets_id_seq', 2100000000)")
    assert by_id(doctor(clean_url), "sequence.near_max")[0].severity is Severity.ERROR
    # A bigint identity far from its end is fine, however large the number.
    sql(clean_url, "SELECT setval('parent_id_seq', 5000000000)")
    assert [f.objects[0] for f in by_id(doctor(clean_url), "sequence.near_max")] == ["public.tickets_id_seq"]


def test_schema_scope_runs_only_the_checks_a_branch_comparison_needs(clean_url: str) -> None:
    report = doctor(clean_url, scope="schema")
    assert report.checks == [
        "foreign keys",
        "duplicate indexes",
        "invalid indexes",
        "primary keys",
        "sequences",
        "row-level security",
        "security definer functions",
    ]


def test_row_level_security_half_set_up(clean_url: str) -> None:
    sql(
        clean_url,
        "CREATE POLICY own_rows ON child USING (note = current_user)",  # a policy, but RLS is off: not applied
        "ALTER TABLE parent ENABLE ROW LEVEL SECURITY",  # RLS on, no policy: only the owner sees rows
    )
    report = doctor(clean_url)
    (off,) = by_id(report, "rls.disabled_with_policies")
    assert off.objects == ("public.child",) and off.fix == 'ALTER TABLE "public"."child" ENABLE ROW LEVEL SECURITY;'
    assert [f.objects for f in by_id(report, "rls.enabled_without_policy")] == [("public.parent",)]
    sql(clean_url, off.fix, "CREATE POLICY all_rows ON parent USING (true)")
    assert problems(doctor(clean_url)) == set()


def test_security_definer_function_without_search_path(clean_url: str) -> None:
    sql(
        clean_url,
        "CREATE FUNCTION parent_count() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS 'SELECT count(*) FROM parent'",
        "CREATE FUNCTION safe_count() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp "
        "AS 'SELECT count(*) FROM parent'",
    )
    (found,) = by_id(doctor(clean_url), "function.definer_search_path")
    assert found.objects == ("public.parent_count",)
    sql(clean_url, found.fix or "")
    assert by_id(doctor(clean_url), "function.definer_search_path") == []
