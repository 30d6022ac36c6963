"""Benchmark: how long ``bbops doctor`` takes on the BB-PRODX-sized dataset (budget: 5 s).

    python bench/doctor_time.py                 # small (scale 0.05), well under a minute
    python bench/doctor_time.py --scale 1       # 200k users, 1M orders, ~3M order items (~450 MB)
    python bench/doctor_time.py --url postgresql://...   # an existing, already generated database

It starts a throwaway PostgreSQL 15 server with ``pg_stat_statements``
preloaded (see ``pgserver15``), generates the dataset (``dataset``), runs a
short storefront workload so the statistics views have something to say,
then times the whole command (process start to exit, every check, the
storefront's probe queries EXPLAINed) over ``--rounds`` runs and prints the
wall times beside the budget, with the findings per check id.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dataset
from pgserver15 import Server

BUDGET_S = 5.0
# The storefront's hot queries on the dataset's schema (bench/dataset.py), as `--queries` reads them.
PROBES = """
-- name: product-search
SELECT id, name FROM products
WHERE to_tsvector('english', name || ' ' || coalesce(description, '')) @@ plainto_tsquery('english', 'calming blend')
LIMIT 24;
-- name: products-by-category
SELECT id, name, price FROM products WHERE category_id = 3 ORDER BY price LIMIT 24;
-- name: order-history
SELECT id, status, total FROM orders WHERE user_id = md5('u42')::uuid ORDER BY created_at DESC LIMIT 20;
-- name: recent-orders
SELECT id, status, total FROM orders ORDER BY created_at DESC LIMIT 50;
-- name: order-lines
SELECT product_id, quantity FROM order_items WHERE order_id = md5('o42')::uuid;
-- name: wishlist-by-product
SELECT user_id FROM wishlist WHERE product_id = 7;
"""


def workload(url: str, rounds: int = 200) -> None:
    """Each probe with varying constants, so pg_stat_statements has normalised statements to rank."""
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(rounds):
            conn.execute("SELECT id FROM products WHERE category_id = %s ORDER BY price LIMIT 24", (1 + i % 12,))
            conn.execute(
                "SELECT id FROM orders WHERE user_id = md5('u' || %s)::uuid ORDER BY created_at DESC LIMIT 20", (i,)
            )
            conn.execute("SELECT product_id FROM order_items WHERE order_id = md5('o' || %s)::uuid", (i,))
            if i % 20 == 0:
                conn.execute("SELECT user_id FROM wishlist WHERE product_id = %s", (1 + i,))


def time_doctor(url: str, probes: Path) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "bbops", "doctor", "--database-url", url, "--queries", str(probes), "--format", "json"]
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"bbops doctor failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, json.loads(proc.stdout)


def time_startup() -> float:
    """The same interpreter starting bbops and printing its version: the floor under any command's wall time."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "bbops", "--version"], capture_output=True, check=True)
    return time.monotonic() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--url", help="an existing database with the dataset (skips server and generation)")
    ap.add_argument("--pg-bin", default="/usr/lib/postgresql/15/bin")
    args = ap.parse_args()

    server = None
    url = args.url
    if url is None:
        server = Server(args.pg_bin, extra={"shared_preload_libraries": "pg_stat_statements"})
        admin = server.start()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE shop")
        url = server.url("shop")
        started = time.monotonic()
        counts = dataset.generate(url, args.scale)
        print(f"generated scale {args.scale} in {time.monotonic() - started:.0f}s: {counts}")
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
        workload(url)
        with tempfile.TemporaryDirectory() as tmp:
            probes = Path(tmp) / "queries.sql"
            probes.write_text(PROBES)
            runs, starts = [], []
            for _ in range(args.rounds):  # in turns, so background load hits both alike
                runs.append(time_doctor(url, probes))
                starts.append(time_startup())
        walls = [w for w, _ in runs]
        report = runs[-1][1]
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"\nbbops doctor on {size} ({report['server_version']}), {args.rounds} run(s), load average {load}:")
        print(f"{'':24}{'best':>8}{'median':>8}{'budget':>8}{'ratio':>8}")
        best, median = min(walls), statistics.median(walls)
        print(f"{'command wall time (s)':24}{best:8.2f}{median:8.2f}{BUDGET_S:8.1f}{median / BUDGET_S:8.2f}")
        best_s, median_s = min(starts), statistics.median(starts)
        print(f"{'bbops --version (s)':24}{best_s:8.2f}{median_s:8.2f}{BUDGET_S:8.1f}{median_s / BUDGET_S:8.2f}")
        checks = [r[1]["seconds"] for r in runs]
        best_c, median_c = min(checks), statistics.median(checks)
        print(f"{'checks alone (s)':24}{best_c:8.2f}{median_c:8.2f}{BUDGET_S:8.1f}{median_c / BUDGET_S:8.2f}")
        print(f"\nfindings: {report['counts']}; skipped: {[s['check'] for s in report['skipped']] or 'none'}")
        for check_id, n in sorted(Counter(f["id"] for f in report["findings"]).items()):
            print(f"  {check_id:30} {n}")
        if median > BUDGET_S:
            raise SystemExit(f"over budget: median {median:.2f}s > {BUDGET_S}s")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
