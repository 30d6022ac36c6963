"""verify catches a changed value, a missing row, an extra row, an orphan, and more; exit codes."""

from __future__ import annotations

import json

import psycopg
import pytest
from click.testing import CliRunner

from bbops.cli import main
from bbops.copy.verify import verify_databases

SCHEMA = """
CREATE TYPE tier AS ENUM ('free', 'pro');
CREATE TABLE customer (id serial PRIMARY KEY, email text NOT NULL, tier tier NOT NULL, tags tier[],
                       joined timestamptz NOT NULL, meta json);
CREATE TABLE invoice (id bigserial PRIMARY KEY, customer_id integer NOT NULL REFERENCES customer (id),
                      amount numeric(10, 2) NOT NULL, paid boolean NOT NULL DEFAULT false);
CREATE INDEX invoice_customer_idx ON invoice (customer_id);
"""
ROWS = """
INSERT INTO customer (email, tier, tags, joined, meta)
SELECT 'c' || i || '@example.com', CASE WHEN i % 3 = 0 THEN 'pro' ELSE 'free' END::tier, ARRAY['free']::tier[],
       timestamptz '2024-01-01' + i * interval '1 day', '{"a": 1}' FROM generate_series(1, 200) i;
INSERT INTO invoice (customer_id, amount, paid) SELECT 1 + i % 200, i * 1.5, i % 2 = 0 FROM generate_series(1, 1000) i;
"""


@pytest.fixture
def pair(make_database) -> tuple[str, str]:
    """Two databases holding the same rows (each built independently, not copied)."""
    urls = make_database("vsrc"), make_database("vdst")
    for url in urls:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA)
            conn.execute(ROWS)
    return urls


def _on_target(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def _kinds(report) -> set[tuple[str, str]]:
    return {(d.table, d.kind) for d in report.differences}


def test_identical_databases_verify_clean(pair):
    report = verify_databases(*pair, checksums=True)
    assert report.ok and report.differences == []
    assert report.rows == {"public.customer": 200, "public.invoice": 1000}
    assert all(t.source_checksum == t.target_checksum and t.source_checksum for t in report.tables)


def test_a_changed_value_is_caught_by_the_checksum_only(pair):
    source, target = pair
    _on_target(target, "UPDATE invoice SET amount = amount + 0.01 WHERE id = 500")
    assert verify_databases(source, target).ok  # counts alone cannot see it
    report = verify_databases(source, target, checksums=True)
    assert _kinds(report) == {("public.invoice", "checksum")}


def test_a_changed_enum_and_timestamp_are_caught(pair):
    source, target = pair
    _on_target(target, "UPDATE customer SET tier = 'pro' WHERE id = 1")
    report = verify_databases(source, target, checksums=True)
    assert _kinds(report) == {("public.customer", "checksum")}
    _on_target(target, "UPDATE customer SET tier = 'free' WHERE id = 1")
    _on_target(target, "UPDATE customer SET joined = joined + interval '1 microsecond' WHERE id = 7")
    assert _kinds(verify_databases(source, target, checksums=True)) == {("public.customer", "checksum")}


def test_a_missing_and_an_extra_row(pair):
    source, target = pair
    _on_target(target, "DELETE FROM invoice WHERE id = 10")
    report = verify_databases(source, target, checksums=True)
    assert _kinds(report) == {("public.invoice", "rows")}
    assert "1000 rows on the source, 999 on the target" in report.differences[0].detail
    # One row missing and another extra: same count, different content.
    # (Its explicit id also leaves the sequence behind, which verify reports as well.)
    _on_target(target, "INSERT INTO invoice (id, customer_id, amount) VALUES (5000, 1, 1)")
    assert _kinds(verify_databases(source, target, checksums=True)) == {
        ("public.invoice", "checksum"),
        ("public.invoice", "sequence"),
    }


def test_an_orphan_behind_a_disabled_key(pair):
    source, target = pair
    # Triggers off (as a careless restore would do): the key exists but is not enforced.
    _on_target(
        target, "SET session_replication_role = replica; INSERT INTO invoice (customer_id, amount) VALUES (999, 1)"
    )
    report = verify_databases(source, target)
    orphans = [d for d in report.differences if d.kind == "orphans"]
    assert orphans and orphans[0].table == "public.invoice"
    assert "1 row(s) violate foreign key invoice_customer_id_fkey" in orphans[0].detail


def test_an_orphan_after_its_key_was_dropped(pair):
    source, target = pair
    _on_target(
        target, "ALTER TABLE invoice DROP CONSTRAINT invoice_customer_id_fkey; DELETE FROM customer WHERE id = 3"
    )
    kinds = _kinds(verify_databases(source, target))
    assert ("public.invoice", "orphans") in kinds  # the source's key still finds them
    assert ("public.invoice", "constraint") in kinds
    assert ("public.customer", "rows") in kinds


def test_indexes_constraints_sequences_and_tables(pair):
    source, target = pair
    _on_target(
        target,
        """
        DROP INDEX invoice_customer_idx;
        ALTER TABLE invoice DROP CONSTRAINT invoice_customer_id_fkey;
        ALTER TABLE invoice ADD CONSTRAINT invoice_customer_id_fkey FOREIGN KEY (customer_id)
            REFERENCES customer (id) NOT VALID;
        SELECT setval('customer_id_seq', 150);
        CREATE TABLE stray (id int);
    """,
    )
    report = verify_databases(source, target)
    details = " | ".join(d.detail for d in report.differences)
    assert "index invoice_customer_idx is missing on the target" in details
    assert "constraint invoice_customer_id_fkey is NOT VALID on the target" in details
    assert "would hand out 151, but the column already holds 200" in details
    assert ("public.stray", "extra-table") in _kinds(report)


def test_cli_exit_codes_and_json(pair):
    source, target = pair
    runner = CliRunner()
    ok = runner.invoke(main, ["verify", "--source", source, "--target", target, "--checksums"])
    assert ok.exit_code == 0, ok.output
    assert "everything matches" in ok.output
    _on_target(
        target, "DELETE FROM customer WHERE id = 200 AND NOT EXISTS (SELECT 1 FROM invoice WHERE customer_id = 200)"
    )
    _on_target(target, "UPDATE customer SET email = 'changed@example.com' WHERE id = 2")
    bad = runner.invoke(main, ["verify", "--source", source, "--target", target, "--checksums", "--format", "json"])
    assert bad.exit_code == 1
    data = json.loads(bad.stdout)
    assert data["ok"] is False
    assert {"table": "public.customer", "kind": "checksum"}.items() <= data["differences"][0].items()
