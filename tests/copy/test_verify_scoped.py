"""verify scoped to what a data-only copy moved: an old database made by other DDL than the
migrations (other index and key names, no `drizzle` schema) verifies clean against the migrated
copy; an index or constraint missing by definition still fails; data and schema checks are apart."""

from __future__ import annotations

import json

import psycopg
import pytest
from click.testing import CliRunner

from bbops.cli import main
from bbops.copy.engine import copy_database
from bbops.copy.verify import verify_databases
from bbops.drizzle.runner import migrate_up
from bbops.preview.seed import run_seeds
from tests import REPO_ROOT

APP = REPO_ROOT / "plans" / "bb-prodx"
PUSHED = REPO_ROOT / "tests" / "production" / "old_database_push.sql"


def pushed_old_database(make_database) -> str:
    """The old database as `drizzle-kit push` made it, with the seed's rows."""
    url = make_database("pushed")
    with psycopg.connect(url) as conn:
        conn.execute(PUSHED.read_text())
        run_seeds(conn, [APP / "seed" / "01_catalogue.sql", APP / "seed" / "02_demo_users.sql"])
        conn.commit()
    return url


@pytest.fixture
def copied(make_database) -> tuple[str, str]:
    old = pushed_old_database(make_database)
    new = make_database("migrated")
    migrate_up(new, APP / "drizzle")
    copy_database(old, new, tables=("public.*",), data_only=True, jobs=2)
    return old, new


def test_a_data_only_copy_from_other_ddl_verifies_clean(copied):
    old, new = copied
    report = verify_databases(old, new, checksums=True, tables=("public.*",), data_only=True)
    assert report.ok, report.differences
    assert sum(t.target_rows or 0 for t in report.tables) > 0
    notes = "\n".join(report.notes)
    # Other names of the same definitions, and what only the migrations made, are information.
    assert "index idx_products_category is named products_category_id_idx on the target" in notes
    assert "constraint users_email_key is named users_email_unique on the target" in notes
    assert "index orders_open_created_at_idx exists only on the target" in notes

    # Unscoped, the migrations' own bookkeeping is only information for a data-only copy...
    unscoped = verify_databases(old, new, data_only=True)
    assert unscoped.ok and any("drizzle.__drizzle_migrations" in n for n in unscoped.notes)
    # ...and for a full copy (names matter) the same databases differ, in the schema only.
    strict = verify_databases(old, new, tables=("public.*",))
    assert not strict.ok and strict.of("data") == []
    assert {d.kind for d in strict.of("schema")} == {"index", "constraint"}


def test_an_index_or_key_missing_by_definition_fails(copied):
    old, new = copied
    with psycopg.connect(new, autocommit=True) as conn:
        conn.execute("DROP INDEX products_search_idx")
        conn.execute("ALTER TABLE cart DROP CONSTRAINT cart_user_id_product_id_unique")
        # Same name as the old index, but a different predicate: not the same index.
        conn.execute("DROP INDEX products_active_in_stock_idx")
        conn.execute("CREATE INDEX idx_products_active_in_stock ON products (category_id, price) WHERE is_active")
    report = verify_databases(old, new, tables=("public.*",), data_only=True)
    details = [d.detail for d in report.of("schema")]
    assert report.of("data") == []
    assert any(d.startswith("index idx_products_fts is missing on the target") for d in details)
    assert any(d.startswith("constraint cart_user_id_product_id_key is missing on the target") for d in details)
    assert any(
        d.startswith("index idx_products_active_in_stock is missing on the target") and "WHERE is_active)" in d
        for d in details
    )
    # The dropped unique key is missing twice: as a constraint and as the index behind it.
    assert any(d.startswith("index cart_user_id_product_id_key is missing on the target") for d in details)
    assert len(details) == 4


def test_cli_takes_the_selection_and_data_only(copied):
    old, new = copied
    runner = CliRunner()
    ok = runner.invoke(
        main, ["verify", "--source", old, "--target", new, "--tables", "public.*", "--data-only", "--checksums"]
    )
    assert ok.exit_code == 0, ok.output
    assert "everything matches" in ok.output and "note: public.products: index idx_products_category" in ok.output
    with psycopg.connect(new, autocommit=True) as conn:
        conn.execute("DELETE FROM wishlist WHERE id = (SELECT min(id) FROM wishlist)")
    bad = runner.invoke(
        main, ["verify", "--source", old, "--target", new, "--tables", "public.*", "--data-only", "--format", "json"]
    )
    assert bad.exit_code == 1
    data = json.loads(bad.stdout)
    assert data["data_ok"] is False and data["schema_ok"] is True
    assert [(d["table"], d["kind"], d["category"]) for d in data["differences"]] == [
        ("public.wishlist", "rows", "data")
    ]
