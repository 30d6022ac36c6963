"""The lint runner: ignores (file and plan), syntax errors, the model carried across files, BB-PRODX."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bbops.plan import load_plan
from bbops.plan.model import LintIgnore
from bbops.review.finding import Severity
from bbops.review.lint import lint_folder
from bbops.review.rules import RULES
from tests import REPO_ROOT
from tests.review.helpers import CORPUS, write_folder

SETUP = (CORPUS / "setup.sql").read_text(encoding="utf-8")
BB_PLAN = REPO_ROOT / "plans" / "bb-prodx.yaml"
BB_DRIZZLE = REPO_ROOT / "plans" / "bb-prodx" / "drizzle"
TIMEOUTS = "SET LOCAL lock_timeout = '1s';\nSET LOCAL statement_timeout = '5s';\n"
DROP = TIMEOUTS + 'ALTER TABLE "orders" DROP COLUMN "note";\n'


def lint(tmp_path: Path, *case: str, ignores=()):
    folder = write_folder(tmp_path, [("0000_setup", SETUP)] + [(f"{i + 1:04d}_case", s) for i, s in enumerate(case)])
    return lint_folder(folder, ignores=ignores, only={f"{i + 1:04d}_case" for i in range(len(case))})


def test_ignore_with_a_reason_silences_the_rule_for_the_file(tmp_path: Path):
    report = lint(tmp_path, "-- bbops:ignore ban-drop-column the app stopped reading note in v41\n" + DROP)
    (finding,) = report.findings
    assert finding.rule == "ban-drop-column" and finding.line == 4 and not finding.active
    assert finding.ignored == "the app stopped reading note in v41"
    assert report.count(Severity.ERROR) == 0


def test_ignore_without_a_reason_is_itself_an_error_and_does_not_apply(tmp_path: Path):
    report = lint(tmp_path, "SELECT 1;\n-- bbops:ignore ban-drop-column\n" + DROP)
    assert {(f.rule, f.line) for f in report.active} == {("invalid-ignore", 2), ("ban-drop-column", 5)}
    assert "gives no reason" in report.active[0].message


def test_ignore_of_an_unknown_rule_is_reported(tmp_path: Path):
    report = lint(tmp_path, "-- bbops:ignore ban-drop-colum typo in the id\n" + DROP)
    assert {(f.rule, f.line) for f in report.active} == {("invalid-ignore", 1), ("ban-drop-column", 4)}


def test_a_directive_inside_a_string_is_not_a_directive(tmp_path: Path):
    report = lint(tmp_path, "SELECT '\n-- bbops:ignore ban-drop-column not a comment\n';\n" + DROP)
    assert [f.rule for f in report.active] == ["ban-drop-column"]


def test_plan_ignores_apply_to_their_migration_only(tmp_path: Path):
    ignore = LintIgnore("ban-drop-column", "contract step after the v41 deploy", "0001")
    report = lint(tmp_path, DROP, DROP.replace('"note"', '"legacy_code"'), ignores=[ignore])
    assert [(f.migration, f.active) for f in report.findings] == [("0001_case", False), ("0002_case", True)]
    assert report.findings[0].ignored == "contract step after the v41 deploy (plan)"


def test_a_file_the_parser_rejects_is_an_error_at_its_line(tmp_path: Path):
    report = lint(tmp_path, "SELECT 1;\n--> statement-breakpoint\nALTER TABEL orders ADD COLUMN x int;\n")
    (finding,) = report.active
    assert (finding.rule, finding.line, finding.column) == ("syntax-error", 3, 7)
    assert "TABEL" in finding.message


def test_lines_count_from_the_file_start_across_breakpoints_and_comments(tmp_path: Path):
    sql = "-- a comment with é\nSELECT 1;--> statement-breakpoint\n\n/* block\ncomment */\nTRUNCATE orders CASCADE;\n"
    (finding,) = [f for f in lint(tmp_path, sql).active if f.rule == "ban-truncate-cascade"]
    assert (finding.line, finding.statement) == (6, 2)


def test_a_check_validated_in_an_earlier_migration_makes_set_not_null_safe(tmp_path: Path):
    t = "SET LOCAL lock_timeout = '1s';\nSET LOCAL statement_timeout = '5s';\n"
    add = t + 'ALTER TABLE orders ADD CONSTRAINT note_nn CHECK ("note" IS NOT NULL) NOT VALID;\n'
    validate = t + "ALTER TABLE orders VALIDATE CONSTRAINT note_nn;\n"
    set_nn = t + "ALTER TABLE orders ALTER COLUMN note SET NOT NULL;\n"
    assert lint(tmp_path / "a", add, validate, set_nn).active == []
    # Not validated yet: the scan happens under ACCESS EXCLUSIVE.
    (finding,) = lint(tmp_path / "b", add, set_nn).active
    assert (finding.rule, finding.migration, finding.line) == ("adding-not-nullable-field", "0002_case", 3)


def test_statements_on_a_table_created_in_the_same_file_are_fine(tmp_path: Path):
    sql = (
        'CREATE TABLE "coupons" ("id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY, "code" text);\n'
        'CREATE INDEX "coupons_code_idx" ON "coupons" ("code");\n'
        'ALTER TABLE "coupons" ADD CONSTRAINT "coupons_code_unique" UNIQUE ("code");\n'
        'ALTER TABLE "coupons" ALTER COLUMN "code" SET NOT NULL;\n'
        'ALTER TABLE "coupons" ADD COLUMN "uid" uuid DEFAULT gen_random_uuid() NOT NULL;\n'
    )
    assert lint(tmp_path, sql).active == []


def test_bb_prodx_lints_clean_with_the_plans_justified_ignores():
    plan = load_plan(BB_PLAN)
    assert plan.preview is not None and plan.preview.migrations == BB_DRIZZLE.resolve()
    report = lint_folder(BB_DRIZZLE, ignores=plan.preview.lint_ignores)
    assert report.active == [], [f"{f.location} {f.rule}" for f in report.active]
    assert report.statements > 50 and all(f.ignored for f in report.findings)
    # The ignores are scoped: without them the old files do have findings.
    assert lint_folder(BB_DRIZZLE).count(Severity.ERROR) > 0


def test_a_new_concurrent_index_migration_on_bb_prodx_lints_clean(tmp_path: Path):
    """What a new index on a live BB-PRODX table looks like (no-transaction, CONCURRENTLY)."""
    folder = shutil.copytree(BB_DRIZZLE, tmp_path / "drizzle")
    journal = json.loads((folder / "meta" / "_journal.json").read_text(encoding="utf-8"))
    tag = "0099_reviews_user_idx"
    journal["entries"].append({"idx": 99, "version": "7", "when": 1_900_000_000_000, "tag": tag, "breakpoints": True})
    (folder / "meta" / "_journal.json").write_text(json.dumps(journal), encoding="utf-8")
    (folder / f"{tag}.sql").write_text(
        "-- bbops:no-transaction\n"
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "reviews_user_id_idx" ON "reviews" USING btree ("user_id");'
        "--> statement-breakpoint\n"
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_user_created_idx" ON "orders" ("user_id", "created_at");\n',
        encoding="utf-8",
    )
    report = lint_folder(folder, ignores=load_plan(BB_PLAN).preview.lint_ignores, only={tag})
    assert report.findings == () and report.statements == 2


def test_plan_schema_lists_exactly_the_rules():
    schema = json.loads((REPO_ROOT / "bbops" / "schema" / "plan.schema.json").read_text(encoding="utf-8"))
    ignore = schema["properties"]["preview"]["properties"]["lint"]["properties"]["ignore"]
    assert ignore["items"]["properties"]["rule"]["enum"] == [r.id for r in RULES]


def test_statements_inside_drizzles_do_blocks_are_checked_at_their_lines(tmp_path: Path):
    """Older drizzle-kit wraps foreign keys in DO blocks; the PL/pgSQL parser finds the ALTER inside."""
    sql = (
        TIMEOUTS + "--> statement-breakpoint\n"
        "DO $$ BEGIN\n"
        ' ALTER TABLE "orders" ADD CONSTRAINT "orders_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "users"("id");\n'
        "EXCEPTION\n"
        " WHEN duplicate_object THEN null;\n"
        "END $$;\n"
    )
    (finding,) = lint(tmp_path / "a", sql).active
    assert (finding.rule, finding.line, finding.statement) == ("constraint-missing-not-valid", 5, 3)
    safe = sql.replace('("id");', '("id") NOT VALID;')
    assert lint(tmp_path / "b", safe).active == []
    # Dynamic SQL (EXECUTE '...') and other languages are not guessed at.
    dynamic = TIMEOUTS + "DO $$ BEGIN EXECUTE 'TRUNCATE orders CASCADE'; END $$;\n"
    assert lint(tmp_path / "c", dynamic).active == []
