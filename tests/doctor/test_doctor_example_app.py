"""The BB-PRODX example app: doctor names its 12 unindexed foreign keys and its unusable search index before
migration 0003, and none of them after."""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from bbops.doctor import run_doctor
from bbops.doctor.probes import read_probes
from bbops.drizzle.runner import migrate_up
from tests.test_example_app import APP, DRIZZLE, apply_seeds

UNINDEXED = {
    "public.user_sessions.user_id",
    "public.accounts.user_id",
    "public.sessions.user_id",
    "public.product_benefits.product_id",
    "public.product_ingredients.product_id",
    "public.order_items.product_size_id",
    "public.cart.product_id",
    "public.cart.product_size_id",
    "public.wishlist.product_id",
    "public.reviews.user_id",
    "public.review_votes.user_id",
    "public.instagram_posts.product_id",
}


def test_example_app_before_and_after_the_index_migration(make_database: Callable[..., str]) -> None:
    url = make_database("bbdoc")
    migrate_up(url, DRIZZLE, to="0002_concurrent_order_indexes")
    apply_seeds(url)
    with psycopg.connect(url, autocommit=True) as conn:  # enough products for a scan of them to matter
        conn.execute(
            "INSERT INTO products (name, slug, description, price, category_id) "
            "SELECT 'Tonic ' || i, 'tonic-' || i, 'a calming tonic ' || md5(i::text), 12.5, 1 "
            "FROM generate_series(1, 20000) i"
        )
        conn.execute("ANALYZE")
    probes = read_probes(APP / "queries.sql")
    assert {p.name for p in probes} >= {"product-search", "featured-products", "order-history"}

    before = run_doctor(url, probes=probes)
    fks = [f for f in before.findings if f.id == "fk.unindexed"]
    assert {f.objects[0] for f in fks} == UNINDEXED and len(fks) == 12
    cascades = {f.objects[0] for f in fks if f.evidence["on_delete"] == "CASCADE"}
    assert "public.cart.product_id" in cascades and "public.instagram_posts.product_id" not in cascades
    scans = {f.objects for f in before.findings if f.id == "query.seq_scan"}
    assert ("probe:product-search", "public.products") in scans

    migrate_up(url, DRIZZLE)
    after = run_doctor(url, probes=probes)
    assert [f for f in after.findings if f.id in ("fk.unindexed", "query.seq_scan", "query.failed")] == []
