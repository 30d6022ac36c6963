"""Matching a journal with Drizzle's history rows; pure, no database."""

from __future__ import annotations

from pathlib import Path

from bbops.core import report
from bbops.drizzle.compare import compare
from bbops.drizzle.history import Attempt, DrizzleRow
from bbops.drizzle.journal import Migration


def _m(tag: str, when: int, h: str | None = None) -> Migration:
    h = h or f"hash-{tag}"
    return Migration(0, tag, when, True, Path(f"{tag}.sql"), "", h, h)


M = [_m("0000_a", 100), _m("0001_b", 200), _m("0002_c", 300)]


def test_fresh_database_has_everything_pending() -> None:
    s = compare(M, [])
    assert [p.tag for p in s.pending] == ["0000_a", "0001_b", "0002_c"]
    assert not s.applied and not s.drift and not any(p.out_of_order for p in s.pending)


def test_rows_match_by_created_at_and_hash() -> None:
    rows = [DrizzleRow(1, "hash-0000_a", 100), DrizzleRow(2, "hash-0001_b", 200)]
    s = compare(M, rows)
    assert [(a.tag, a.row_id) for a in s.applied] == [("0000_a", 1), ("0001_b", 2)]
    assert [p.tag for p in s.pending] == ["0002_c"]
    assert not s.drift


def test_edited_file_is_changed_and_stray_row_is_unknown() -> None:
    rows = [DrizzleRow(1, "old-hash", 100), DrizzleRow(2, "hash-0001_b", 200), DrizzleRow(3, "gone", 250)]
    s = compare(M, rows)
    assert [(c.tag, c.db_hash, c.file_hash) for c in s.changed] == [("0000_a", "old-hash", "hash-0000_a")]
    assert [(u.row_id, u.when, u.tag) for u in s.unknown] == [(3, 250, None)]
    assert s.drift
    assert s.as_dict()["drift"] is True and s.as_dict()["unknown"][0]["row_id"] == 3


def test_an_entry_older_than_the_newest_row_is_pending_out_of_order() -> None:
    # drizzle-kit only looks at the newest created_at, so it would skip 0001_b for ever.
    rows = [DrizzleRow(1, "hash-0000_a", 100), DrizzleRow(2, "hash-0002_c", 300)]
    s = compare(M, rows)
    assert [(p.tag, p.out_of_order) for p in s.pending] == [("0001_b", True)]


def test_an_entry_whose_when_was_rewritten_is_still_applied_by_hash() -> None:
    rows = [DrizzleRow(1, "hash-0000_a", 99)]
    s = compare(M, rows)
    assert [a.tag for a in s.applied] == ["0000_a"] and not s.unknown


def test_progress_of_an_interrupted_attempt_is_shown() -> None:
    attempts = {"0001_b": Attempt(7, "0001_b", "hash-0001_b", "failed", False, 2, 5, "boom")}
    s = compare(M, [DrizzleRow(1, "hash-0000_a", 100)], attempts)
    assert s.pending[0].progress == "2/5 statements done (failed)"
    # An attempt at another version of the file says nothing about this one.
    attempts = {"0001_b": Attempt(7, "0001_b", "other", "failed", False, 2, 5, "boom")}
    assert compare(M, [], attempts).pending[1].progress is None


def test_rows_lists_journal_order_then_unknown() -> None:
    rows = [DrizzleRow(1, "x", 50), DrizzleRow(2, "hash-0001_b", 200)]
    s = compare(M, rows)
    assert [(r.tag, r.state) for r in s.rows()] == [
        ("0000_a", "pending"),
        ("0001_b", "applied"),
        ("0002_c", "pending"),
        (None, "unknown"),
    ]


def test_redacted_urls_never_show_a_password() -> None:
    from bbops.core import redact

    pw = "pw_" + "k" * 12
    assert pw not in redact.redact_url(f"postgresql://app:{pw}@db.example.com/shop")
    shown = redact.redact_url(f"host=db.example.com dbname=shop user=app password={pw}")
    assert pw not in shown and "dbname=shop" in shown
    assert redact.scrub(f"oops {pw}") == "oops ***"  # and it is now masked everywhere


def test_status_text_notes_what_the_state_does_not_say() -> None:
    rows = [DrizzleRow(1, "old-hash-0123456789", 100), DrizzleRow(3, "gone-hash-0123456789", 250)]
    s = compare(M, rows, database="postgresql://db")
    assert [r.note() for r in s.rows()] == [
        "db old-hash-012 != file hash-0000_a",
        "older than newest applied (drizzle-kit skips it)",
        "",
        "row 3, hash gone-hash-01",
    ]
    assert report.as_text(s).splitlines() == [
        "migrations on postgresql://db",
        "migration\twhen\tstate\tnote",
        "0000_a\t100\tchanged\tdb old-hash-012 != file hash-0000_a",
        "0001_b\t200\tpending\tolder than newest applied (drizzle-kit skips it)",
        "0002_c\t300\tpending\t",
        "(not in journal)\t250\tunknown\trow 3, hash gone-hash-01",
        "0 applied, 2 pending, 1 changed, 1 unknown",
    ]
