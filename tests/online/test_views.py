"""What `bbops stream ...` and `bbops copy --follow|--abort` print for people (no database)."""

from __future__ import annotations

from bbops.copy.engine import CopyReport
from bbops.core.report import as_text
from bbops.online.follow import FollowReport
from bbops.online.reverse import RollbackReport
from bbops.online.stream import Lag
from bbops.online.switch import SwitchReport
from bbops.online.views import Dropped, StreamStatusView


def test_follow_start_prints_the_copy_then_the_stream_and_its_lag():
    report = FollowReport("copy", "streaming", ["public.a", "public.b"], CopyReport("full"), Lag(2048, 0.5), ["n"])
    lines = as_text(report).splitlines()
    assert lines[-2:] == ["note: n", "stream copy: streaming (2 tables; 2,048 bytes, 0.5 s behind)"]
    assert lines[0] == "table\trows\tsize\tchunks\tseconds"  # the copy's own report first
    assert as_text(FollowReport("copy", "copying")) == "stream copy: copying (0 tables; lag unknown)"


def test_switch_says_how_long_the_freeze_lasted_or_that_it_had_happened():
    report = SwitchReport("copy", sessions_ended=2, catch_up_seconds=0.5, sequences=3, verified_tables=4)
    report.freeze_seconds, report.reverse = 1.25, True
    assert as_text(report) == (
        "switched copy: source frozen (2 sessions ended), caught up in 0.50 s, 3 sequences moved, 4 tables "
        "verified; freeze to writable target: 1.25 s; reverse stream running"
    )
    assert as_text(SwitchReport("copy", already=True)) == "stream copy was already switched"


def test_back_says_whether_the_reverse_stream_had_caught_up():
    assert as_text(RollbackReport("copy", reverse=True, caught_up=True, sequences=2, notes=["x"])) == (
        "note: x\nback on the old database: reverse stream caught up, 2 sequences moved"
    )
    assert "reverse stream NOT caught up" in as_text(RollbackReport("copy", reverse=False, caught_up=False))


def test_status_lists_the_objects_on_both_sides():
    data = {
        "stream": "copy",
        "phase": "streaming",
        "lag": {"bytes": 0, "seconds": 0.1},
        "objects": [{"database": "source", "kind": "slot", "name": "bbops_copy", "active": True, "retained_bytes": 8}],
    }
    view = StreamStatusView(data)
    assert view.as_dict() is data
    assert as_text(view).splitlines() == [
        "stream copy: streaming",
        "lag: {'bytes': 0, 'seconds': 0.1}",
        "database\tkind\tname\tactive\tWAL retained",
        "source\tslot\tbbops_copy\tTrue\t8",
    ]


def test_dropped_names_what_went_or_why_nothing_did():
    assert as_text(Dropped(["bbops_a", "bbops_b"], "n/a")) == "dropped: bbops_a, bbops_b"
    assert as_text(Dropped([], "no validation period is over")) == "dropped: nothing (no validation period is over)"
    assert Dropped([], "x").as_dict() == {"dropped": []}
