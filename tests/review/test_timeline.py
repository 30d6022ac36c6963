"""The Migration review section rendered from a preview report's ``review`` object (pure)."""

from __future__ import annotations

from bbops.review.measured import merge, mode_name, overlap
from bbops.review.timeline import render_review

REVIEW = {
    "verdict": {"level": "blocking", "text": "0003_idx blocked writes on orders (1,000,000 rows) for 4.2 s"},
    "findings": [
        {
            "rule": "require-concurrent-index-creation", "severity": "error", "file": "drizzle/0003_idx.sql",
            "line": 2, "column": 1, "migration": "0003_idx", "statement": 1, "message": "CREATE INDEX i on orders",
            "why": "w", "fix": "CREATE INDEX CONCURRENTLY", "breaking": False, "ignored": None,
        }
    ],
    "statements": [
        {
            "migration": "0003_idx", "number": 1, "line": 2, "sql": "-- note\nCREATE INDEX i ON orders (a);",
            "start_s": 0.0, "duration_s": 4.25, "locks": [{"table": "public.orders", "mode": "SHARE"}],
            "reads_blocked_s": 0.0, "writes_blocked_s": 4.2,
        }
    ],
    "spans": [
        {"kind": "lock", "migration": "0003_idx", "table": "public.orders", "label": "SHARE", "start_s": 0.01,
         "end_s": 4.26},
        {"kind": "writes", "migration": "0003_idx", "table": "public.orders", "label": "blocked", "start_s": 0.02,
         "end_s": 4.22},
    ],
    "tables": {"public.orders": {"table": "public.orders", "rows": 1_000_000, "bytes": 150 * 1024**2, "exact": True}},
    "notes": [],
}  # fmt: skip


def test_section_has_verdict_findings_measured_table_and_gantt():
    text = "\n".join(render_review(REVIEW, "development"))
    assert "**❌ blocks traffic**: 0003_idx blocked writes on orders (1,000,000 rows) for 4.2 s" in text
    assert "| ❌ | `drizzle/0003_idx.sql:2` | `require-concurrent-index-creation` |" in text
    assert (
        "| 0003_idx | 2 | `CREATE INDEX i ON orders (a);` | 4.2 s | SHARE on orders "
        "| orders: 1,000,000 rows, 150.0 MB | 0 s | **4.2 s** |"
    ) in text
    assert "a copy of `development`'s data" in text
    gantt = text[text.index("```mermaid") :]
    assert "dateFormat x" in gantt and "section 0003_idx" in gantt
    assert "SHARE on orders :active, 10, 4260" in gantt and "writes blocked on orders :crit, 20, 4220" in gantt


def test_no_statement_no_table():
    text = "\n".join(render_review({"verdict": {"level": "ok", "text": "no migration ran"}}))
    assert "_no migration ran on this update_" in text and "mermaid" not in text


def test_lock_modes_and_interval_arithmetic():
    assert mode_name("AccessExclusiveLock") == "ACCESS EXCLUSIVE"
    assert mode_name("ShareUpdateExclusiveLock") == "SHARE UPDATE EXCLUSIVE"
    assert merge([(3, 4), (0, 1), (1.01, 2)], gap=0.02) == [(0, 2), (3, 4)]
    assert overlap([(0, 2), (3, 4)], (1, 3.5)) == 1.5
