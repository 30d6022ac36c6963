#!/usr/bin/env python3
"""How long `bbops preview create` takes on the embedded local backend once the server is warm.

Runs the real CLI (as a user or a workflow step would, process start-up included)
for several new PRs and for refreshes of an existing one, then does the same job
the way a team without branching does it locally (`pg_dump` of the parent piped
into `psql` in a new database), on the same server and data, and prints medians
side by side.

    python bench/preview_create.py [--runs 7]

Issue target: a new preview in under 3 s once the embedded server is warm.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bbops(*args: str, env: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bbops", *args], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout) if "--format" in args else {}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bbops-bench-"))
    env = {**os.environ, "BBOPS_HOME": str(home), "BBOPS_BACKEND": "local"}
    env.pop("BBOPS_LOCAL_DATABASE_URL", None)
    try:
        cold = timed(
            lambda: bbops("preview", "create", "--pr", "1", "--git-branch", "bench/warm", "--format", "json", env=env)
        )
        new, inside, refresh, delete = [], [], [], []
        for i in range(args.runs):
            pr = str(100 + i)
            create = partial(
                bbops, "preview", "create", "--pr", pr, "--git-branch", f"bench/{pr}", "--format", "json", env=env
            )
            start = time.perf_counter()
            result = create()
            new.append(time.perf_counter() - start)
            inside.append(result["seconds"])
            refresh.append(timed(create))
            delete.append(timed(partial(bbops, "preview", "delete", "--pr", pr, env=env)))
        peer = peer_dump_restore(home, env, args.runs)
        print(
            f"bbops preview create, embedded backend, {args.runs} runs "
            f"(first run incl. server start + main/development bootstrap: {cold:.2f} s)"
        )
        print(f"{'what':<48}{'median s':>10}{'max s':>10}")
        rows = [
            ("bbops preview create (new PR, CLI wall)", new),
            ("  of which inside the command", inside),
            ("bbops preview create (refresh, CLI wall)", refresh),
            ("bbops preview delete (CLI wall)", delete),
            ("peer: pg_dump parent | psql new db (no migrate/scrub/env)", peer),
        ]
        for label, values in rows:
            print(f"{label:<48}{statistics.median(values):>10.2f}{max(values):>10.2f}")
        print(f"ratio new preview / pg_dump|psql copy: {statistics.median(new) / statistics.median(peer):.2f}x")
        print(f"target: median new preview < 3 s -> {'met' if statistics.median(new) < 3 else 'NOT met'}")
    finally:
        subprocess.run([sys.executable, "-m", "bbops", "local", "stop"], env=env, cwd=ROOT, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def peer_dump_restore(home: Path, env: dict, runs: int) -> list[float]:
    """Copy the parent database the classic way, with the server's own pg_dump and psql."""
    import pgserver
    import psycopg

    from bbops.providers.local import open_local_backend

    backend = open_local_backend(home)
    try:
        parent = backend.branches.connection("development", database="neondb", role="neondb_owner", pooled=False)
        admin = backend.branches.admin_url()
    finally:
        backend.close()
    bindir = Path(pgserver.__file__).parent / "pginstall" / "bin"
    times = []
    for i in range(runs):
        name = f"bench_peer_{i}"
        target = parent.url.replace(f"/{parent.database}", f"/{name}", 1)

        def copy(name: str, target: str) -> None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'create database "{name}"')
            dump = subprocess.Popen([bindir / "pg_dump", "--no-owner", parent.url], stdout=subprocess.PIPE)
            subprocess.run([bindir / "psql", "-q", "-o", "/dev/null", target], stdin=dump.stdout, check=True)
            dump.wait()

        times.append(timed(partial(copy, name, target)))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database "{name}"')
    return times


if __name__ == "__main__":
    main()
