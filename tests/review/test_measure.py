"""The measured review on a real Postgres: a 200k-row table, blocking migrations and their safe rewrites."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from bbops.review.measure import review_migrations
from tests.review.helpers import write_folder

ROWS = 200_000
BP = "--> statement-breakpoint\n"


@pytest.fixture
def shop(database_url: str) -> str:
    """``orders`` with 200k rows, as the parent's data would be on the preview."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE orders (id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY, user_id bigint NOT NULL,"
            " note text, payload text NOT NULL)"
        )
        conn.execute(
            "INSERT INTO orders (user_id, note, payload) "
            "SELECT g %% 5000, 'n' || g, repeat(md5(g::text), 4) FROM generate_series(1, %s) g",
            (ROWS,),
        )
        conn.execute("ANALYZE orders")
    return database_url


def by_tag(measured) -> dict[str, dict]:
    return {m["tag"]: m for m in measured.migrations}


@pytest.mark.slow
def test_plain_index_and_set_not_null_block_writes_and_are_reported_with_the_row_count(shop: str, tmp_path: Path):
    folder = write_folder(
        tmp_path,
        [
            ("0001_index", 'CREATE INDEX "orders_user_id_idx" ON "orders" ("user_id", "payload");\n'),
            ("0002_not_null", 'ALTER TABLE "orders" ALTER COLUMN "note" SET NOT NULL;\n'),
        ],
    )
    report, measured = review_migrations(shop, folder, parent_url=shop)
    assert report.tags == ["0001_index", "0002_not_null"]
    m = by_tag(measured)
    assert m["0001_index"]["writes_blocked_s"] > 0 and m["0001_index"]["table"] == "public.orders"
    assert m["0002_not_null"]["writes_blocked_s"] > 0 and m["0002_not_null"]["reads_blocked_s"] > 0
    index, not_null = measured.statements
    assert ("public.orders", "SHARE") in index.locks and index.reads_blocked_s == 0
    assert ("public.orders", "ACCESS EXCLUSIVE") in not_null.locks
    assert measured.tables["public.orders"].rows == ROWS and measured.tables["public.orders"].exact
    assert {f.rule for f in measured.findings} >= {"require-concurrent-index-creation", "adding-not-nullable-field"}
    level, text = measured.verdict()
    assert level in ("review", "blocking") and f"{ROWS:,} rows" in text and "writes" in text
    spans = {(s.kind, s.label) for s in measured.spans}
    assert ("lock", "SHARE") in spans and ("writes", "blocked") in spans


@pytest.mark.slow
def test_concurrent_and_not_valid_rewrites_measure_no_blocked_writes(shop: str, tmp_path: Path):
    folder = write_folder(
        tmp_path,
        [
            (
                "0001_index",
                "-- bbops:no-transaction\n"
                'CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_user_id_idx" ON "orders" ("user_id", "payload");\n',
            ),
            ("0002_check", 'ALTER TABLE "orders" ADD CONSTRAINT "note_nn" CHECK ("note" IS NOT NULL) NOT VALID;\n'),
            ("0003_validate", 'ALTER TABLE "orders" VALIDATE CONSTRAINT "note_nn";\n'),
            ("0004_not_null", 'ALTER TABLE "orders" ALTER COLUMN "note" SET NOT NULL;\n' + BP
             + 'ALTER TABLE "orders" DROP CONSTRAINT "note_nn";\n'),
        ],
    )  # fmt: skip
    _, measured = review_migrations(shop, folder, parent_url=shop)
    m = by_tag(measured)
    assert len(m) == 4
    # CONCURRENTLY and VALIDATE take SHARE UPDATE EXCLUSIVE, which no read or write waits for: exactly 0.
    assert m["0001_index"]["writes_blocked_s"] == 0 and m["0003_validate"]["writes_blocked_s"] == 0
    # NOT VALID and SET NOT NULL over a validated check still take ACCESS EXCLUSIVE, but without a scan: only
    # for their own short transaction (milliseconds; bounded here loosely for a shared, loaded CI machine).
    for tag in ("0002_check", "0004_not_null"):
        assert m[tag]["writes_blocked_s"] <= m[tag]["duration_s"] + 0.05 and m[tag]["writes_blocked_s"] < 0.5, m[tag]
    index, check, validate, *_ = measured.statements
    assert ("public.orders", "ACCESS EXCLUSIVE") in check.locks
    assert ("public.orders", "SHARE UPDATE EXCLUSIVE") in index.locks
    assert ("public.orders", "SHARE UPDATE EXCLUSIVE") in validate.locks
    assert measured.verdict()[0] in ("ok", "review")  # "review" only if the machine stalled a metadata change
