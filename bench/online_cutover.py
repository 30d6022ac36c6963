"""Benchmark: the online cutover's downtime beside the freeze-first cutover's, same data, same writer.

    python bench/online_cutover.py               # scale 0.05 of the BB-PRODX-shaped data
    python bench/online_cutover.py --scale 0.2

Starts a throwaway PostgreSQL 15 server with wal_level = logical (see ``pgserver15``), generates the
dataset (``dataset``) into an old database, and runs a writer process that commits an insert and an
update every few milliseconds for the whole run, logging the id of every committed insert. Then:

- online: ``bbops copy --follow`` (copy from a slot's snapshot, then streaming), a few seconds of
  streaming, ``bbops stream switch``; downtime = the freeze to a writable target, as the switch measures;
- freeze-first: the old database frozen, ``bbops copy`` + ``bbops verify --checksums`` into a fresh
  target; downtime = the freeze to the end of verification.

After each, every id the writer logged as committed must be on the target (lost writes are counted
and fail the run); writes refused by the freeze are errors to the writer, and counted.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import subprocess
import sys
import time
from multiprocessing.synchronize import Event
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dataset
import pgserver15

BBOPS = [sys.executable, "-m", "bbops"]


def writer(url: str, log: str, stop: Event, every: float) -> None:
    """The app: a review inserted and a product's stock changed per tick; committed ids to ``log``."""
    refused = 0
    conn = None
    with open(log, "w") as out:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                if conn is None:
                    conn = psycopg.connect(url, autocommit=True)
                row = conn.execute(
                    "INSERT INTO reviews (product_id, user_id, rating, body)"
                    " SELECT id, (SELECT id FROM users LIMIT 1), 5, 'bench' FROM products WHERE id = 1 + %s %% 20"
                    " RETURNING id",
                    [n],
                ).fetchone()
                out.write(f"{row[0]}\n")
                out.flush()
                conn.execute("UPDATE products SET stock = stock + 1 WHERE id = 1 + %s %% 20", [n])
            except psycopg.Error:
                refused += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)
            time.sleep(every)
    Path(log + ".refused").write_text(str(refused))


class Writer:
    def __init__(self, url: str, log: Path, every: float) -> None:
        self.log = log
        self.stop_event = mp.Event()
        self.proc = mp.Process(target=writer, args=(url, str(log), self.stop_event, every))
        self.proc.start()

    def stop(self) -> tuple[list[int], int]:
        self.stop_event.set()
        self.proc.join(30)
        ids = [int(x) for x in self.log.read_text().split()]
        refused = int(Path(str(self.log) + ".refused").read_text())
        return ids, refused


def bbops(*args: str) -> dict:
    proc = subprocess.run([*BBOPS, *args, "--format", "json"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bbops {' '.join(args[:2])} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


def missing(url: str, ids: list[int]) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM reviews WHERE id = ANY(%s)", [ids]).fetchone()
    return len(ids) - row[0]


def recreate(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def online(server: pgserver15.Server, old: str, tmp: Path, every: float, stream_seconds: float) -> dict:
    new = server.url("new_online")
    recreate(server.url("postgres"), "new_online")
    w = Writer(old, tmp / "online.log", every)
    time.sleep(1)
    started = time.monotonic()
    bbops("copy", "--follow", "--source", old, "--target", new)
    copied = time.monotonic() - started
    time.sleep(stream_seconds)
    switched = bbops("stream", "switch", "--source", old, "--target", new)
    time.sleep(1)
    ids, refused = w.stop()
    return {
        "downtime": switched["freeze_seconds"],
        "catch_up": switched["catch_up_seconds"],
        "copy": copied,
        "committed": len(ids),
        "refused": refused,
        "lost": missing(new, ids),
    }


def freeze_first(server: pgserver15.Server, old: str, tmp: Path, every: float) -> dict:
    new = server.url("new_frozen")
    recreate(server.url("postgres"), "new_frozen")
    with psycopg.connect(old, autocommit=True) as conn:  # the online run left the old database frozen
        conn.execute("SET default_transaction_read_only = off")
        conn.execute("ALTER DATABASE old RESET default_transaction_read_only")
    w = Writer(old, tmp / "frozen.log", every)
    time.sleep(1)
    started = time.monotonic()
    with psycopg.connect(old, autocommit=True) as conn:
        conn.execute("ALTER DATABASE old SET default_transaction_read_only = on")
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = 'old' AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
    bbops("copy", "--source", old, "--target", new)
    bbops("verify", "--checksums", "--source", old, "--target", new)
    downtime = time.monotonic() - started
    time.sleep(1)
    ids, refused = w.stop()
    return {"downtime": downtime, "committed": len(ids), "refused": refused, "lost": missing(new, ids)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--pg-bin", default="/usr/lib/postgresql/15/bin")
    parser.add_argument("--every", type=float, default=0.005, help="seconds between the writer's commits")
    parser.add_argument("--stream-seconds", type=float, default=3.0, help="streaming before the switch")
    args = parser.parse_args()

    pgserver15.SETTINGS["wal_level"] = "logical"
    server = pgserver15.Server(args.pg_bin)
    admin = server.start()
    tmp = server.dir
    try:
        recreate(admin, "old")
        old = server.url("old")
        counts = dataset.generate(old, args.scale)
        print(f"data: scale {args.scale}, {sum(counts.values()):,} rows in {len(counts)} tables")
        a = online(server, old, tmp, args.every, args.stream_seconds)
        b = freeze_first(server, old, tmp, args.every)
    finally:
        server.stop()
    print(f"{'cutover':14s} {'downtime s':>11s} {'committed':>10s} {'refused':>8s} {'lost':>5s}")
    for name, r in (("online", a), ("freeze-first", b)):
        print(f"{name:14s} {r['downtime']:11.2f} {r['committed']:10d} {r['refused']:8d} {r['lost']:5d}")
    print(
        f"online: initial copy {a['copy']:.1f} s while writes went on; catch-up after the freeze {a['catch_up']:.2f} s"
    )
    print(f"downtime ratio freeze-first / online: {b['downtime'] / a['downtime']:.1f}x")
    if a["lost"] or b["lost"]:
        raise SystemExit("committed writes were lost")


if __name__ == "__main__":
    main()
