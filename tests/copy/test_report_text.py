"""What `bbops copy` and `bbops verify` print for people: CopyReport and VerifyReport as text (no database)."""

from __future__ import annotations

from bbops.copy.engine import CopyReport, TableReport
from bbops.copy.verify import Difference, TableCheck, VerifyReport
from bbops.core.report import as_text


def test_copy_report_lists_tables_notes_and_a_total():
    report = CopyReport(
        "full",
        tables=[TableReport("public.orders", 1234567, 52_000_000, 3, 4.25), TableReport("public.users", 2, 8192, 1, 0)],
        post_data=4,
        sequences=2,
        seconds=5.04,
        notes=["public.orders changed since its chunks were copied: copied again"],
    )
    assert as_text(report).splitlines() == [
        "table\trows\tsize\tchunks\tseconds",
        "public.orders\t1,234,567\t52.0 MB\t3\t4.2",
        "public.users\t2\t0.0 MB\t1\t0.0",
        "note: public.orders changed since its chunks were copied: copied again",
        "copied 1,234,569 rows in 2 tables, 4 indexes/keys, 2 sequences, in 5.0s",
    ]
    report.resumed = True
    assert as_text(report).splitlines()[-1].startswith("resumed and finished 1,234,569 rows")


def test_verify_report_without_checksums_has_no_checksum_column():
    report = VerifyReport(tables=[TableCheck("public.users", 3, 3)], seconds=0.25)
    assert as_text(report).splitlines() == [
        "table\tsource rows\ttarget rows\tstatus",
        "public.users\t3\t3\tok",
        "verified 1 tables: everything matches (0.2s)",
    ]


def test_verify_report_says_each_checksum_and_every_difference_data_first():
    report = VerifyReport(
        tables=[
            TableCheck("public.a", 1000, 1000, "x", "x"),
            TableCheck("public.b", 2, 2, "x", "y"),
            TableCheck("public.c", 2, None, "x", None),
        ],
        differences=[
            Difference("public.a_idx", "index", "missing on target"),
            Difference("public.b", "checksum", "content differs"),
        ],
        notes=["public.c: no primary key"],
        checksums=True,
    )
    assert as_text(report).splitlines() == [
        "table\tsource rows\ttarget rows\tchecksum\tstatus",
        "public.a\t1,000\t1,000\tmatch\tok",
        "public.b\t2\t2\tDIFFERS\tcontent differs",
        "public.c\t2\t-\t-\tmissing on target",
        "note: public.c: no primary key",
        "DIFFERENCE (data) public.b: checksum: content differs",
        "DIFFERENCE (schema) public.a_idx: index: missing on target",
    ]
