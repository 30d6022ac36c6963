"""bbops.doctor.render: the doctor's report in text and markdown, worst finding first (no database)."""

from __future__ import annotations

from bbops.core import report
from bbops.doctor.finding import Finding, Severity
from bbops.doctor.render import DoctorView
from bbops.doctor.report import Report, Skipped

REPORT = Report(
    "localhost/app",
    170000,
    findings=[
        Finding("table.no_pk", Severity.WARNING, "public.log has no primary key", ("public.log",)),
        Finding(
            "fk.unindexed",
            Severity.ERROR,
            "orders.user_id has no index",
            ("public.orders", "public.orders.user_id"),
            fix="CREATE INDEX CONCURRENTLY orders_user_id_idx\n  ON public.orders (user_id);",
        ),
    ],
    checks=["indexes", "tables"],
    skipped=[Skipped("statements", "pg_stat_statements is not installed")],
    seconds=0.5,
)
SUMMARY = "2 finding(s) on localhost/app: 1 error(s), 1 warning(s), 0 info; 2 check(s) in 0.50 s; skipped: statements"


def test_text_puts_errors_first_with_their_fix_then_skipped_checks_and_the_summary():
    assert report.as_text(DoctorView(REPORT)).splitlines() == [
        "ERROR   fk.unindexed  public.orders, public.orders.user_id",
        "        orders.user_id has no index",
        "        fix: CREATE INDEX CONCURRENTLY orders_user_id_idx",
        "               ON public.orders (user_id);",
        "WARNING table.no_pk  public.log",
        "        public.log has no primary key",
        "SKIPPED statements: pg_stat_statements is not installed",
        SUMMARY,
    ]


def test_markdown_has_a_heading_the_summary_the_table_and_the_skipped_checks():
    text = DoctorView(REPORT).markdown()
    assert text.startswith(f"### bbops doctor: localhost/app\n\n{SUMMARY}\n\n| severity | check |")
    assert "| error | `fk.unindexed` | `public.orders`, `public.orders.user_id` |" in text
    assert text.endswith("**Skipped checks**\n- statements: pg_stat_statements is not installed\n")
    assert DoctorView(REPORT).as_dict() == REPORT.as_dict()
