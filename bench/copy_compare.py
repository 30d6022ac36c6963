"""Benchmark: bbops copy against pgcopydb clone and pg_dump | psql, same data, same server.

    python bench/copy_compare.py                # small (scale 0.05), about a minute
    python bench/copy_compare.py --scale 1      # 200k users, 1M orders, ~3M order items
    python bench/copy_compare.py --url postgresql://...   # use an existing server instead

It starts a throwaway PostgreSQL 15 server (see ``pgserver15``), generates the
BB-PRODX-shaped dataset (``dataset``), then copies it with each tool into a
fresh empty database of the same server, verifies every result with
``bbops verify --checksums`` and prints wall times, ratios and peak memory.
Tools run in turns (bbops, pgcopydb, pg_dump|psql, then again for each
``--rounds``), with a CHECKPOINT before each, so background noise on a shared
machine hits them alike; the best and the median of the rounds are shown.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dataset
from pgserver15 import Server

BBOPS = [sys.executable, "-m", "bbops"]


def run_timed(cmd: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) of the child (its largest process), and its stderr."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}):\n{err[-3000:]}")
    return wall, usage.ru_maxrss, err


def recreate(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def checkpoint(admin: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def tool_commands(src: str, dst: str, workdir: str) -> dict[str, list[str] | str]:
    pg_bin = os.environ.get("BENCH_CLIENT_BIN", "/usr/bin")
    return {
        "bbops copy": [*BBOPS, "copy", "--source", src, "--target", dst, "--jobs", "2"],
        "pgcopydb clone": [
            "pgcopydb",
            "clone",
            "--source",
            src,
            "--target",
            dst,
            "--table-jobs",
            "2",
            "--index-jobs",
            "2",
            "--dir",
            workdir,
            "--notice",
        ],
        "pg_dump | psql": f"set -o pipefail; {pg_bin}/pg_dump '{src}' | {pg_bin}/psql -q -X -v ON_ERROR_STOP=1 '{dst}'",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=0.05, help="1.0 = 200k users, 1M orders, 3M order items")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--pg-bin", default="/usr/lib/postgresql/15/bin")
    ap.add_argument("--url", help="an existing server's admin URL (no server is started)")
    ap.add_argument("--tools", default="bbops copy,pgcopydb clone,pg_dump | psql")
    args = ap.parse_args()
    wanted = [t.strip() for t in args.tools.split(",")]
    if "pgcopydb clone" in wanted and not shutil.which("pgcopydb"):
        raise SystemExit("pgcopydb not found: apt-get install -y pgcopydb (or --tools without it)")

    server = None if args.url else Server(args.pg_bin)
    admin = args.url or server.start()

    def url(db: str) -> str:
        return admin.rsplit("/", 1)[0] + "/" + db

    try:
        recreate(admin, "bench_src")
        t0 = time.monotonic()
        counts = dataset.generate(url("bench_src"), args.scale)
        with psycopg.connect(url("bench_src")) as conn:
            size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
            version = conn.execute("SHOW server_version").fetchone()[0]
        print(f"source: PostgreSQL {version}, {size}, rows {counts} (generated in {time.monotonic() - t0:.0f}s)")

        results: dict[str, list[tuple[float, int, float]]] = {t: [] for t in wanted}
        for round_no in range(1, args.rounds + 1):
            for tool in wanted:
                target = "bench_dst"
                recreate(admin, target)
                checkpoint(admin)
                with tempfile.TemporaryDirectory(prefix="bench-pgcopydb-") as workdir:
                    cmd = tool_commands(url("bench_src"), url(target), workdir)[tool]
                    wall, rss, _ = run_timed(["bash", "-c", cmd] if isinstance(cmd, str) else cmd)
                vwall, _, _ = run_timed(
                    [*BBOPS, "verify", "--checksums", "--source", url("bench_src"), "--target", url(target)]
                )
                results[tool].append((wall, rss, vwall))
                print(
                    f"round {round_no}: {tool:15s} {wall:6.2f}s  (verify --checksums {vwall:5.2f}s, "
                    f"peak RSS {rss / 1024:.0f} MiB)",
                    flush=True,
                )

        print()
        base = results.get("bbops copy")
        header = (
            f"{'tool':16s} {'best s':>8s} {'median s':>9s} {'bbops/tool best':>16s} "
            f"{'bbops/tool median':>18s} {'verify s':>9s} {'peak RSS':>9s}"
        )
        print(header)
        print("-" * len(header))
        for tool, runs in results.items():
            walls = [r[0] for r in runs]
            best, med = min(walls), statistics.median(walls)
            ratio = f"{min(r[0] for r in base) / best:.2f}x" if base else "-"
            ratio_med = f"{statistics.median(r[0] for r in base) / med:.2f}x" if base else "-"
            print(
                f"{tool:16s} {best:8.2f} {med:9.2f} {ratio:>16s} {ratio_med:>18s} {min(r[2] for r in runs):9.2f} "
                f"{max(r[1] for r in runs) / 1024:7.0f}Mi"
            )
        if base:
            copy_best = min(r[0] for r in base)
            verify_best = min(r[2] for r in base)
            print(f"\nbbops verify --checksums / bbops copy = {verify_best / copy_best:.2f}")
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
