"""The BB-PRODX example app (plans/bb-prodx): its Drizzle migrations and seeds on a real Postgres.

The migrations go through bbops' own runner (``migrate_up``): the journal
names the files in order, each is split on ``--> statement-breakpoint``, and
the file headed ``-- bbops:no-transaction`` runs statement by statement
outside a transaction (``CREATE INDEX CONCURRENTLY`` refuses to run in one).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bbops.drizzle.runner import migrate_up

APP = Path(__file__).resolve().parent.parent / "plans" / "bb-prodx"
DRIZZLE = APP / "drizzle"
SEEDS = sorted((APP / "seed").glob("*.sql"))
BREAKPOINT = "--> statement-breakpoint"

TABLES = {
    "users",
    "user_sessions",
    "accounts",
    "sessions",
    "verification_tokens",
    "categories",
    "subcategories",
    "products",
    "product_benefits",
    "product_ingredients",
    "product_tags",
    "product_sizes",
    "orders",
    "order_items",
    "cart",
    "wishlist",
    "reviews",
    "review_votes",
    "instagram_posts",
}

# (table, column) -> referenced table; every one must be a real FK constraint.
FOREIGN_KEYS = {
    ("user_sessions", "user_id"): "users",
    ("accounts", "user_id"): "users",
    ("sessions", "user_id"): "users",
    ("subcategories", "category_id"): "categories",
    ("products", "category_id"): "categories",
    ("products", "subcategory_id"): "subcategories",
    ("product_benefits", "product_id"): "products",
    ("product_ingredients", "product_id"): "products",
    ("product_tags", "product_id"): "products",
    ("product_sizes", "product_id"): "products",
    ("orders", "user_id"): "users",
    ("order_items", "order_id"): "orders",
    ("order_items", "product_id"): "products",
    ("order_items", "product_size_id"): "product_sizes",
    ("cart", "user_id"): "users",
    ("cart", "product_id"): "products",
    ("cart", "product_size_id"): "product_sizes",
    ("wishlist", "user_id"): "users",
    ("wishlist", "product_id"): "products",
    ("reviews", "product_id"): "products",
    ("reviews", "user_id"): "users",
    ("review_votes", "review_id"): "reviews",
    ("review_votes", "user_id"): "users",
    ("instagram_posts", "product_id"): "products",
}

# index name -> (table, a fragment its definition must contain)
INDEXES = {
    "products_category_id_idx": ("products", "(category_id)"),
    "products_subcategory_id_idx": ("products", "(subcategory_id)"),
    "products_featured_idx": ("products", "(featured)"),
    "products_search_idx": ("products", "USING gin (to_tsvector('english'"),
    "orders_created_at_idx": ("orders", "(created_at DESC NULLS LAST)"),
    "products_featured_created_at_idx": ("products", "(created_at DESC) WHERE (featured = true)"),
    "products_search_text_idx": ("products", "USING gin (to_tsvector('english'::regconfig, (((COALESCE(name"),
    "orders_user_id_idx": ("orders", "(user_id)"),
    "orders_status_idx": ("orders", "(status)"),
    "orders_created_at_desc_idx": ("orders", "(created_at DESC)"),
    "reviews_product_id_idx": ("reviews", "(product_id)"),
    "reviews_rating_idx": ("reviews", "(rating)"),
    "order_items_product_id_idx": ("order_items", "(product_id)"),
    "order_items_order_id_idx": ("order_items", "(order_id)"),
    "orders_open_created_at_idx": ("orders", "WHERE (status = ANY"),
    "products_active_in_stock_idx": ("products", "WHERE (is_active AND (stock > 0))"),
    # 0003: an index for each foreign key that had none (what `bbops doctor` reported)
    **{
        f"{table}_{column}_idx": (table, f"({column})")
        for table, column in [
            ("user_sessions", "user_id"),
            ("accounts", "user_id"),
            ("sessions", "user_id"),
            ("product_benefits", "product_id"),
            ("product_ingredients", "product_id"),
            ("order_items", "product_size_id"),
            ("cart", "product_id"),
            ("cart", "product_size_id"),
            ("wishlist", "product_id"),
            ("reviews", "user_id"),
            ("review_votes", "user_id"),
            ("instagram_posts", "product_id"),
        ]
    },
}
# The migrations that run outside a transaction (CONCURRENTLY index builds).
NO_TRANSACTION = ["0002_concurrent_order_indexes", "0003_doctor_indexes"]


def journal() -> list[dict]:
    return json.loads((DRIZZLE / "meta" / "_journal.json").read_text(encoding="utf-8"))["entries"]


def chunks(text: str) -> list[str]:
    return [c.strip() for c in text.split(BREAKPOINT) if c.strip()]


def apply_raw(url: str) -> None:
    """Every chunk of every file, ignoring any history: what a lost history table would cause."""
    for entry in journal():
        text = (DRIZZLE / f"{entry['tag']}.sql").read_text(encoding="utf-8")
        no_tx = text.startswith("-- bbops:no-transaction")
        with psycopg.connect(url, autocommit=no_tx) as conn:
            for chunk in chunks(text):
                conn.execute(chunk)


def apply_seeds(url: str) -> None:
    with psycopg.connect(url) as conn:
        for path in SEEDS:
            conn.execute(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def app_url(make_database) -> Iterator[str]:
    """One database migrated and seeded for the whole module (the checks only read)."""
    url = make_database("bbapp")
    report = migrate_up(url, DRIZZLE)
    assert report.tags == [e["tag"] for e in journal()]
    # Only the CONCURRENTLY file runs outside a transaction; the runner must agree with the directive.
    assert [a.tag for a in report.applied if not a.transactional] == NO_TRANSACTION
    apply_seeds(url)
    return url


@pytest.fixture
def conn(app_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(app_url) as c:
        yield c


def test_journal_matches_the_files_in_drizzle_kit_format() -> None:
    meta = json.loads((DRIZZLE / "meta" / "_journal.json").read_text(encoding="utf-8"))
    assert meta["version"] == "7" and meta["dialect"] == "postgresql"
    entries = meta["entries"]
    assert len(entries) >= 4
    assert [e["idx"] for e in entries] == list(range(len(entries)))
    whens = [e["when"] for e in entries]
    assert whens == sorted(whens) and len(set(whens)) == len(whens), "drizzle applies by `when`: it must increase"
    for e in entries:
        assert e["tag"].startswith(f"{e['idx']:04d}_") and e["breakpoints"] is True and e["version"] == "7"
        assert (DRIZZLE / f"{e['tag']}.sql").is_file()
    on_disk = {p.stem for p in DRIZZLE.glob("*.sql")}
    assert on_disk == {e["tag"] for e in entries}, "every .sql file is in the journal and vice versa"
    # Only the CONCURRENTLY migrations opt out of a transaction, and they are all CONCURRENTLY index builds.
    texts = {e["tag"]: (DRIZZLE / f"{e['tag']}.sql").read_text(encoding="utf-8") for e in entries}
    no_tx = [tag for tag, t in texts.items() if t.startswith("-- bbops:no-transaction\n")]
    assert no_tx == NO_TRANSACTION
    for tag in no_tx:
        concurrent = chunks(texts[tag])
        assert len(concurrent) >= 2
        assert all("CREATE INDEX CONCURRENTLY IF NOT EXISTS" in c and c.count(";") == 1 for c in concurrent), tag


def test_exactly_the_nineteen_tables(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    ).fetchall()
    assert {r[0] for r in rows} == TABLES
    no_pk = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind = 'r' "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')"
    ).fetchall()
    assert no_pk == []


def test_every_expected_foreign_key_and_no_orphans(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        """SELECT con.conname, src.relname, a.attname, dst.relname, da.attname
           FROM pg_constraint con
           JOIN pg_class src ON src.oid = con.conrelid
           JOIN pg_class dst ON dst.oid = con.confrelid
           JOIN pg_namespace n ON n.oid = src.relnamespace
           JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
           JOIN pg_attribute da ON da.attrelid = con.confrelid AND da.attnum = con.confkey[1]
           WHERE con.contype = 'f' AND n.nspname = 'public' AND con.convalidated"""
    ).fetchall()
    found = {(r[1], r[2]): r[3] for r in rows}
    assert found == FOREIGN_KEYS
    for name, table, column, ref, ref_column in rows:
        orphans = conn.execute(
            f'SELECT count(*) FROM "{table}" c WHERE c."{column}" IS NOT NULL '
            f'AND NOT EXISTS (SELECT 1 FROM "{ref}" p WHERE p."{ref_column}" = c."{column}")'
        ).fetchone()[0]
        assert orphans == 0, f"{name}: {orphans} orphan rows"


def test_performance_indexes_exist_and_are_valid(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        """SELECT c.relname, t.relname, i.indisvalid, i.indisready, pg_get_indexdef(i.indexrelid)
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"""
    ).fetchall()
    by_name = {r[0]: r for r in rows}
    for name, (table, fragment) in INDEXES.items():
        assert name in by_name, f"missing index {name}"
        _, on, valid, ready, definition = by_name[name]
        assert on == table and valid and ready, definition
        assert fragment in definition, definition
    assert all(r[2] for r in rows), "no index is left invalid"


def test_indexes_serve_the_storefront_queries(conn: psycopg.Connection) -> None:
    # The seeded tables are tiny, so the planner would rather scan them: forbid that to see the indexes are usable.
    conn.execute("SET enable_seqscan = off")
    search = (
        "SELECT slug FROM products WHERE "
        "to_tsvector('english', coalesce(name, '') || ' ' || coalesce(description, '')) "
        "@@ plainto_tsquery('english', %s)"
    )
    assert search.split(" WHERE ")[1].split(" @@")[0] in (APP / "queries.sql").read_text(), "the probe's expression"
    plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + search, ("sleep",)).fetchall())
    assert "products_search_text_idx" in plan, plan
    slugs = {r[0] for r in conn.execute(search, ("magnesium",))}
    assert {"magnesium-glycinate", "magnesium-body-butter"} <= slugs
    for query, index in (
        ("SELECT id FROM orders ORDER BY created_at DESC LIMIT 5", "orders_created_at_desc_idx"),
        (
            "SELECT id FROM products WHERE featured = true ORDER BY created_at DESC LIMIT 8",
            "products_featured_created_at_idx",
        ),
    ):
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + query).fetchall())
        assert index in plan and "Sort" not in plan, plan


def test_seeds_fill_every_table_consistently(conn: psycopg.Connection) -> None:
    counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in sorted(TABLES)}
    assert all(n > 0 for n in counts.values()), counts
    assert counts["products"] >= 20
    # An order's total is its items plus shipping.
    mismatched = conn.execute(
        """SELECT o.id FROM orders o JOIN order_items i ON i.order_id = o.id
           GROUP BY o.id, o.subtotal, o.shipping, o.total
           HAVING sum(i.quantity * i.unit_price) <> o.subtotal OR o.subtotal + o.shipping <> o.total"""
    ).fetchall()
    assert mismatched == []
    # A line's size belongs to the line's product.
    for table in ("order_items", "cart"):
        wrong = conn.execute(
            f'SELECT count(*) FROM "{table}" x JOIN product_sizes s ON s.id = x.product_size_id '
            "WHERE s.product_id <> x.product_id"
        ).fetchone()[0]
        assert wrong == 0, table


def test_sequences_continue_after_the_seeded_ids(conn: psycopg.Connection) -> None:
    """The app's next insert must not collide with an explicit seeded id."""
    serials = conn.execute(
        """SELECT c.table_name FROM information_schema.columns c
           WHERE c.table_schema = 'public' AND c.column_name = 'id' AND c.column_default LIKE 'nextval(%%'"""
    ).fetchall()
    assert len(serials) >= 10
    for (table,) in serials:
        with conn.transaction(force_rollback=True):
            top = conn.execute(f'SELECT max(id) FROM "{table}"').fetchone()[0]
            nxt = conn.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", (f'"{table}"',)).fetchone()[0]
            assert nxt > top, table


def test_drizzle_history_records_each_file(conn: psycopg.Connection) -> None:
    """drizzle-kit reads this table to decide what is applied: one row per file, sha256 and `when`."""
    rows = conn.execute('SELECT hash, created_at FROM drizzle."__drizzle_migrations" ORDER BY id').fetchall()
    expected = [(hashlib.sha256((DRIZZLE / f"{e['tag']}.sql").read_bytes()).hexdigest(), e["when"]) for e in journal()]
    assert [(h, int(w)) for h, w in rows] == expected


def test_seeds_and_migrations_run_again_without_harm(make_database) -> None:
    """Both are written to be re-runnable: IF NOT EXISTS / duplicate_object guards and ON CONFLICT DO NOTHING."""
    url = make_database("bbapp2")
    migrate_up(url, DRIZZLE)
    apply_seeds(url)
    with psycopg.connect(url) as c:
        before = {t: c.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in sorted(TABLES)}
    assert migrate_up(url, DRIZZLE).tags == []
    apply_raw(url)  # as if the history were lost: every statement is guarded
    apply_seeds(url)
    with psycopg.connect(url) as c:
        after = {t: c.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in sorted(TABLES)}
        # Scrubbable personal data is present for previews to replace.
        assert c.execute("SELECT count(*) FROM accounts WHERE access_token IS NOT NULL").fetchone()[0] > 0
    assert after == before


def test_no_credential_shaped_values_in_the_seeds() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in SEEDS)
    for marker in ("npg_", "napi_", "postgres://", "postgresql://", "ya29.", "ghp_", "gho_", "$2b$", "$2a$"):
        assert marker not in text, marker
