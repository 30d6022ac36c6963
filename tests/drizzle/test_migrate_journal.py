"""Reading Drizzle folders (journal, files, hashes, chunks) and the SQL scanner; no database."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bbops.drizzle.journal import read_journal
from bbops.drizzle.statements import (
    Statement,
    code_only,
    concurrent_index_target,
    has_directive,
    line_col,
    non_transactional_reason,
    split_statements,
)
from bbops.errors import UsageError


def _folder(tmp_path: Path, files: dict[str, bytes | str], entries: list[dict] | None = None, **journal) -> Path:
    (tmp_path / "meta").mkdir(parents=True, exist_ok=True)
    if entries is None:
        entries = [
            {"idx": i, "version": "7", "when": 1_700_000_000_000 + i, "tag": tag, "breakpoints": True}
            for i, tag in enumerate(files)
        ]
    body = {"version": "7", "dialect": "postgresql", "entries": entries, **journal}
    (tmp_path / "meta" / "_journal.json").write_text(json.dumps(body))
    for tag, content in files.items():
        data = content if isinstance(content, bytes) else content.encode()
        (tmp_path / f"{tag}.sql").write_bytes(data)
    return tmp_path


def test_reads_entries_in_journal_order_with_drizzles_hash(tmp_path: Path) -> None:
    text = 'CREATE TABLE "a" ("id" int);\n--> statement-breakpoint\nCREATE TABLE "b" ("id" int);\n'
    folder = _folder(tmp_path, {"0000_first": text, "0001_second": "SELECT 1;"})
    journal = read_journal(folder)
    assert [m.tag for m in journal.migrations] == ["0000_first", "0001_second"]
    first = journal.migrations[0]
    assert first.when == 1_700_000_000_000
    assert first.hash == hashlib.sha256(text.encode()).hexdigest() == first.legacy_hash
    assert [c.sql for c in first.chunks] == ['CREATE TABLE "a" ("id" int);', 'CREATE TABLE "b" ("id" int);']
    assert [c.line for c in first.chunks] == [1, 3]
    assert [c.number for c in first.chunks] == [1, 2]


def test_crlf_files_hash_like_current_drizzle_and_still_match_the_legacy_hash(tmp_path: Path) -> None:
    raw = b"SELECT 1;\r\n--> statement-breakpoint\r\nSELECT 2;\r\n"
    m = read_journal(_folder(tmp_path, {"0000_x": raw})).migrations[0]
    assert m.hash == hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()
    assert m.legacy_hash == hashlib.sha256(raw).hexdigest()
    assert m.hashes == {m.hash, m.legacy_hash}
    assert [c.sql for c in m.chunks] == ["SELECT 1;", "SELECT 2;"]


def test_blank_chunks_are_dropped_but_line_numbers_stay_true(tmp_path: Path) -> None:
    text = "\n\nSELECT 1;\n--> statement-breakpoint\n\n--> statement-breakpoint\n\n  SELECT 2;\n"
    m = read_journal(_folder(tmp_path, {"0000_x": text})).migrations[0]
    assert [(c.number, c.line, c.sql) for c in m.chunks] == [(1, 3, "SELECT 1;"), (2, 8, "SELECT 2;")]


@pytest.mark.parametrize(
    ("files", "entries", "extra", "needle"),
    [
        ({}, [{"idx": 0, "when": 1, "tag": "0000_missing"}], {}, "no file"),
        ({"a": "x"}, [{"idx": 0, "when": "soon", "tag": "a"}], {}, "`when` must be an integer"),
        ({"a": "x"}, [{"idx": 0, "when": 1, "tag": "a"}, {"idx": 1, "when": 2, "tag": "a"}], {}, "appears twice"),
        ({"a": "x"}, [{"idx": 0, "when": 1, "tag": "../a"}], {}, "not a plain file name"),
        ({"a": "x"}, None, {"dialect": "sqlite"}, "PostgreSQL migrations only"),
        ({"a": b"\xff\xfe bad"}, None, {}, "not valid UTF-8"),
    ],
)
def test_bad_folders_are_usage_errors(tmp_path: Path, files, entries, extra, needle) -> None:
    folder = _folder(tmp_path, files, entries, **extra)
    with pytest.raises(UsageError) as info:
        read_journal(folder)
    assert needle in str(info.value)
    assert info.value.exit_code == 2


def test_missing_or_broken_journal(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no Drizzle journal"):
        read_journal(tmp_path)
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "_journal.json").write_text("{not json")
    with pytest.raises(UsageError, match="cannot read"):
        read_journal(tmp_path)


def test_find_by_tag_or_unique_prefix(tmp_path: Path) -> None:
    journal = read_journal(_folder(tmp_path, {"0000_a": "", "0001_b": "", "0010_c": ""}))
    assert journal.find("0001_b").tag == "0001_b"
    assert journal.find("0010").tag == "0010_c"
    with pytest.raises(UsageError, match="several"):
        journal.find("00")
    with pytest.raises(UsageError, match="no migration"):
        journal.find("0099")


def test_split_respects_strings_comments_and_dollar_quotes() -> None:
    sql = (
        "CREATE TABLE t (a text DEFAULT 'x;y');\n"
        "-- a comment; with a semicolon\n"
        "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n"
        "/* nested /* comment; */ still; */ SELECT E'it\\'s;', \"we;ird\";\n"
        ";\n"
    )
    parts = split_statements(Statement(1, sql, 10), 4)
    assert [p.number for p in parts] == [4, 5, 6]
    assert parts[0].sql == "CREATE TABLE t (a text DEFAULT 'x;y');"
    assert parts[1].sql.endswith("$body$ LANGUAGE sql;") and parts[1].line == 11
    assert parts[2].sql.endswith('"we;ird";') and parts[2].line == 13


def test_begin_atomic_bodies_are_not_split() -> None:
    sql = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;"
    assert [p.sql for p in split_statements(Statement(1, sql, 1), 1)] == [sql]


def test_begin_atomic_bodies_stay_whole_and_the_statements_around_them_are_split() -> None:
    fn = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;"
    sql = f"{fn}\nCREATE INDEX CONCURRENTLY i ON t (a);"
    parts = split_statements(Statement(1, sql, 5), 1)
    assert [(p.sql, p.line) for p in parts] == [(fn, 5), ("CREATE INDEX CONCURRENTLY i ON t (a);", 6)]


def test_a_chunk_the_parser_rejects_is_still_split_on_semicolons() -> None:
    sql = "SELEC 'a;b';\nCREATE INDEX CONCURRENTLY i ON t (a);"
    assert [p.sql for p in split_statements(Statement(1, sql, 1), 1)] == [
        "SELEC 'a;b';",
        "CREATE INDEX CONCURRENTLY i ON t (a);",
    ]
    assert split_statements(Statement(1, "-- only a comment; really", 1), 1) == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["SELECT", "CREATE INDEX CONCURRENTLY i ON t"]),
            st.text(alphabet="ab;'$-/*\n ", max_size=12),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_split_recovers_statements_whose_literals_hold_anything(parts) -> None:
    # Each statement carries arbitrary text inside a dollar-quoted literal; splitting must give them back.
    stmts = [f"{head} $q${body}$q$;" for head, body in parts if "$q$" not in body]
    if not stmts:
        return
    joined = "\n".join(stmts)
    assert [p.sql for p in split_statements(Statement(1, joined, 1), 1)] == stmts


def test_code_only_blanks_comments_and_literals_keeping_length() -> None:
    sql = "SELECT 'vacuum' -- vacuum\n, 1"
    masked = code_only(sql)
    assert len(masked) == len(sql) and "vacuum" not in masked and masked.count("\n") == 1


@pytest.mark.parametrize(
    ("sql", "version", "expected"),
    [
        ("CREATE INDEX CONCURRENTLY i ON t (a);", 160000, "CREATE INDEX CONCURRENTLY"),
        ("create unique index concurrently if not exists i on t(a);", 160000, "CREATE INDEX CONCURRENTLY"),
        ("DROP INDEX CONCURRENTLY IF EXISTS i;", 160000, "DROP INDEX CONCURRENTLY"),
        ("REINDEX INDEX CONCURRENTLY i;", 160000, "REINDEX CONCURRENTLY"),
        ("SELECT 1;\nVACUUM ANALYZE t;", 160000, "VACUUM"),
        ("ALTER TYPE mood ADD VALUE 'meh';", 110000, "ADD VALUE"),
        ("ALTER TYPE mood ADD VALUE 'meh';", 160000, None),
        ("COMMENT ON TABLE t IS 'run VACUUM; CREATE INDEX CONCURRENTLY later';", 160000, None),
        ("-- CREATE INDEX CONCURRENTLY is for later\nCREATE INDEX i ON t (a);", 160000, None),
        ("-- bbops:no-transaction\nUPDATE t SET a = 1;", 160000, "directive"),
        ("SELECT 1;\n-- bbops:no-transaction\n", 160000, None),  # only the leading comment lines count
    ],
)
def test_what_must_run_outside_a_transaction(sql: str, version: int, expected: str | None) -> None:
    reason = non_transactional_reason(sql, version)
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and expected in reason


def test_directive_below_a_breakpoint_comment_counts() -> None:
    assert has_directive("\n--> statement-breakpoint\n-- bbops:no-transaction\nSELECT 1;")
    assert not has_directive("SELECT 1; -- bbops:no-transaction")


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("CREATE INDEX CONCURRENTLY idx_a ON t (a)", ("idx_a", "t")),
        ('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "Idx A" ON "public"."T" (a)', ("Idx A", '"public"."T"')),
        ("create index concurrently IDX on only public.t using btree (a)", ("idx", "public.t")),
        ("CREATE INDEX CONCURRENTLY ON t (a)", None),  # unnamed: nothing to repair by name
        ("CREATE INDEX idx ON t (a)", None),
    ],
)
def test_concurrent_index_target(sql: str, expected) -> None:
    assert concurrent_index_target(sql) == expected


def test_line_col() -> None:
    sql = "SELECT 1,\n  nosuch"
    assert line_col(sql, sql.index("nosuch") + 1) == (2, 3)
    assert line_col(sql, 1) == (1, 1)


@pytest.mark.parametrize("tag", ["0000_a\x00b", "0000_line\nbreak"])
def test_nul_byte_in_journal_tag_is_a_clear_error_exit_2(tmp_path: Path, tag: str) -> None:
    from click.testing import CliRunner

    from bbops.cli import main

    folder = _folder(tmp_path, {}, entries=[{"idx": 0, "version": "7", "when": 1, "tag": tag, "breakpoints": True}])
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"
    result = CliRunner().invoke(main, ["migrate", "status", "--database-url", url, "--dir", str(folder)])
    assert result.exit_code == 2, result.output
    assert "entries[0]" in result.stderr and "control character" in result.stderr
    assert "_journal.json" in result.stderr and "Traceback" not in result.output
