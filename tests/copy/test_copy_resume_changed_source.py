"""Issue 12 item 7: a copy resumed after the source changed still ends identical to the source.

Rows that moved between page ranges while the copy was stopped (an update writes a new
row version elsewhere) would be copied twice or not at all if finished chunks were trusted
blindly; the resume checks them against the source and says what it did with each table.
"""

from __future__ import annotations

import psycopg
import pytest

from bbops.copy.engine import copy_database
from bbops.copy.progress import NullProgress
from bbops.copy.verify import verify_databases
from bbops.errors import MigrationError
from tests.copy.test_copy_resume import SOURCE, _chunks_done, _kill_midway, _start_copy

# Between the runs: rows of the first (finished) pages get new versions at the end of the table
# (they would arrive twice), and after freeing space at the start, rows of the last (unfinished)
# pages get new versions there (they would be lost).
MOVE_ROWS = """
UPDATE event SET payload = payload || '{"v": 2}' WHERE id <= 400;
DELETE FROM event WHERE id BETWEEN 401 AND 1200;
VACUUM event;
UPDATE event SET at = at + interval '1 day', payload = payload || '{"moved": true}' WHERE id > 119400;
"""


def _same(source: str, target: str) -> None:
    result = verify_databases(source, target, checksums=True)
    assert result.ok, result.differences
    with psycopg.connect(source) as s, psycopg.connect(target) as t:
        q = "SELECT count(*), count(DISTINCT id), sum(id), max(id) FROM event"
        assert s.execute(q).fetchone() == t.execute(q).fetchone()


@pytest.mark.slow
def test_item7_full_copy_resumed_after_rows_moved_on_the_source(make_database):
    source, target = make_database("chsrc"), make_database("chdst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(SOURCE)
    _kill_midway(_start_copy(source, target), target, at_least=40)
    marks, vouched, rows = _chunks_done(target)
    assert marks > 0 and rows == vouched
    with psycopg.connect(source, autocommit=True) as conn:
        for statement in MOVE_ROWS.strip().splitlines():
            conn.execute(statement)
    report = copy_database(source, target, resume=True, chunk_bytes=16 * 1024)
    assert report.resumed
    said = "\n".join(report.notes)
    assert "public.event: changed on the source since the interrupted run" in said and "copying it again" in said
    _same(source, target)


@pytest.mark.slow
def test_item7_resume_keeps_finished_chunks_of_an_unchanged_source(make_database):
    source, target = make_database("chsrc"), make_database("chdst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(SOURCE)
    _kill_midway(_start_copy(source, target), target, at_least=40)
    marks, _, rows = _chunks_done(target)
    report = copy_database(source, target, resume=True, chunk_bytes=16 * 1024)
    said = "\n".join(report.notes)
    assert f"public.event: {marks} finished chunk(s) checked against the source ({rows} rows): unchanged, kept" in said
    _same(source, target)


@pytest.mark.slow
def test_item7_data_only_resume_recopies_a_changed_parent_and_its_children(make_database):
    source, target = make_database("chsrc"), make_database("chdst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(SOURCE)
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(SOURCE.split("INSERT")[0])
    proc = _start_copy(source, target, "--data-only")
    _kill_midway(proc, target, at_least=30)  # account (parent) is done before event's chunks start
    marks, _, _ = _chunks_done(target)
    assert marks > 0, "some of event's chunks were finished"
    with psycopg.connect(source, autocommit=True) as conn:  # only the parent changes
        conn.execute("UPDATE account SET email = 'changed-' || email WHERE id <= 10")
    report = copy_database(source, target, data_only=True, resume=True, chunk_bytes=16 * 1024)
    said = "\n".join(report.notes)
    assert "public.account: changed on the source" in said
    # event's finished chunks still match, but emptying account means emptying what references it.
    assert "copying again with them: public.event" in said
    _same(source, target)


class _StopAfterForeignKey(NullProgress):
    """Stops the copy right after its first foreign key was added (and recorded) on the target."""

    def step(self, message: str) -> None:
        if message.startswith("fk "):
            raise RuntimeError("stopped after a foreign key, as a crash would")


@pytest.mark.slow
def test_item7_full_copy_resumed_after_a_referenced_table_changed(make_database):
    source, target = make_database("chsrc"), make_database("chdst")
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(SOURCE)
    with pytest.raises(MigrationError, match="stopped after a foreign key"):
        copy_database(source, target, chunk_bytes=64 * 1024, progress=_StopAfterForeignKey())
    with psycopg.connect(target) as conn:  # the key exists: emptying account needs it out of the way
        assert conn.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f'").fetchone()[0] == 1
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("UPDATE account SET email = 'changed-' || email WHERE id <= 10")
    report = copy_database(source, target, resume=True, chunk_bytes=64 * 1024)
    said = "\n".join(report.notes)
    assert "public.account: changed on the source" in said
    assert "public.event:" in said and "unchanged, kept" in said
    _same(source, target)
    with psycopg.connect(target) as conn:  # the key is back, validated
        assert (
            conn.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated").fetchone()[0] == 1
        )
