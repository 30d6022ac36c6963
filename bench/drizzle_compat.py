#!/usr/bin/env python3
"""Check that bbops and the real drizzle-kit agree on what is applied. Not part of the test suite.

Installs drizzle-kit, drizzle-orm and pg with npm into a temporary folder
(needs network access to the npm registry and node >= 18), starts a throwaway
Postgres with pgserver, and shows:

  1. after ``bbops migrate up`` of the example app, ``drizzle-kit migrate`` applies nothing;
  2. after ``drizzle-kit migrate`` on a fresh database, ``bbops migrate status`` shows nothing
     pending and no drift, and ``bbops migrate up`` has nothing to do;
  3. (for the record) why bbops exists: drizzle-kit cannot run a migration that holds
     ``CREATE INDEX CONCURRENTLY``, while bbops can, after drizzle-kit applied the rest.

Usage:  python bench/drizzle_compat.py [--dir plans/bb-prodx/drizzle] [--bbops PATH] [--keep]
Exits 0 when every expectation holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bbops.drizzle.journal import read_journal  # noqa: E402 - importable only after the sys.path line
from bbops.drizzle.statements import non_transactional_reason  # noqa: E402 - importable only after the sys.path line

PACKAGES = ["drizzle-kit", "drizzle-orm", "pg"]
failures: list[str] = []
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def check(ok: bool, what: str) -> None:
    print(f"  [{'ok' if ok else 'FAIL'}] {what}")
    if not ok:
        failures.append(what)


def sh(cmd: list[str], cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    shown = " ".join(cmd)
    print(f"$ {shown}")
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    for line in (r.stdout + r.stderr).strip().splitlines():
        # drizzle-kit draws a spinner: drop the escape codes and keep only its last frame.
        line = re.split(r"(?=\[[^\]]\] )", _ANSI.sub("", line))[-1]
        print(f"    {line}")
    print(f"    (exit {r.returncode})")
    return r


def npm_install(work: Path) -> dict[str, str]:
    (work / "package.json").write_text(json.dumps({"name": "bbops-drizzle-compat", "private": True}))
    r = sh(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *PACKAGES], cwd=work)
    if r.returncode != 0:
        sys.exit("npm install failed")
    versions = {}
    for p in PACKAGES:
        versions[p] = json.loads((work / "node_modules" / p / "package.json").read_text())["version"]
    return versions


def drizzle_kit(work: Path, url: str, folder: Path) -> subprocess.CompletedProcess:
    config = work / "drizzle.config.ts"
    config.write_text(
        "export default {\n"
        "  dialect: 'postgresql',\n"
        f"  out: {json.dumps(str(folder))},\n"
        f"  dbCredentials: {{ url: {json.dumps(url)} }},\n"
        "};\n"
    )
    return sh([str(work / "node_modules" / ".bin" / "drizzle-kit"), "migrate", "--config", str(config)], cwd=work)


def rows(url: str) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('drizzle.__drizzle_migrations')").fetchone()[0] is None:
            return []
        return conn.execute("SELECT id, hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id").fetchall()


def tables(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]


def bbops(exe: str, *args: str) -> subprocess.CompletedProcess:
    return sh([exe, *args])


def make_db(admin: str, name: str) -> str:
    from bbops.core.pg import with_database

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(admin, name)


def transactional_prefix(folder: Path, dest: Path, server_version: int) -> list[str]:
    """Copy the folder keeping only the leading migrations drizzle-kit can run (in a transaction)."""
    journal = json.loads((folder / "meta" / "_journal.json").read_text())
    keep = []
    for m in read_journal(folder).migrations:
        if non_transactional_reason(m.text, server_version):
            break
        keep.append(m.tag)
    (dest / "meta").mkdir(parents=True)
    journal["entries"] = [e for e in journal["entries"] if e["tag"] in keep]
    (dest / "meta" / "_journal.json").write_text(json.dumps(journal, indent=2))
    for tag in keep:
        shutil.copyfile(folder / f"{tag}.sql", dest / f"{tag}.sql")
    return keep


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=ROOT / "plans" / "bb-prodx" / "drizzle")
    ap.add_argument("--bbops", default=shutil.which("bbops") or str(Path(sys.executable).parent / "bbops"))
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    folder = args.dir.resolve()
    work = Path(tempfile.mkdtemp(prefix="bbops-drizzle-compat-"))
    import pgserver

    server = pgserver.get_server(work / "pgdata", cleanup_mode="stop")
    try:
        admin = server.get_uri()
        with psycopg.connect(admin) as c:
            version = c.info.server_version
        print(f"== npm install {' '.join(PACKAGES)}")
        versions = npm_install(work)
        print(f"   versions: {versions}; Postgres {version}; folder {folder}")
        tags = [m.tag for m in read_journal(folder).migrations]

        print("\n== 1. bbops migrate up, then drizzle-kit migrate")
        url = make_db(admin, "after_bbops")
        r = bbops(args.bbops, "migrate", "up", "--database-url", url, "--dir", str(folder))
        check(r.returncode == 0, "bbops migrate up succeeded")
        before, n_tables = rows(url), tables(url)
        bbops_rows = [(h, int(c)) for _, h, c in before]
        check(len(before) == len(tags), f"bbops wrote {len(tags)} rows in drizzle.__drizzle_migrations")
        r = drizzle_kit(work, url, folder)
        check(r.returncode == 0, "drizzle-kit migrate succeeded")
        check(rows(url) == before, "drizzle-kit migrate added no row (applied nothing)")
        check(tables(url) == n_tables, "drizzle-kit migrate changed no table")

        print("\n== 2. drizzle-kit migrate on a fresh database, then bbops migrate status / up")
        prefix_dir = work / "drizzle-transactional"
        keep = transactional_prefix(folder, prefix_dir, version)
        print(f"   drizzle-kit gets the migrations it can run in a transaction: {keep}")
        url = make_db(admin, "after_drizzle_kit")
        r = drizzle_kit(work, url, prefix_dir)
        check(r.returncode == 0, "drizzle-kit migrate succeeded")
        kit_rows = [(h, int(c)) for _, h, c in rows(url)]
        check(kit_rows == bbops_rows[: len(keep)], "drizzle-kit wrote the very (hash, created_at) rows bbops writes")
        r = bbops(args.bbops, "migrate", "status", "--database-url", url, "--dir", str(prefix_dir), "--format", "json")
        status = json.loads(r.stdout) if r.returncode in (0, 1) else {}
        check(r.returncode == 0, "bbops migrate status exits 0 (no drift)")
        check(
            status.get("pending") == [] and status.get("changed") == [] and status.get("unknown") == [],
            "bbops sees nothing pending, changed or unknown",
        )
        check(
            [a["tag"] for a in status.get("applied", [])] == keep, "bbops sees every drizzle-kit migration as applied"
        )
        r = bbops(args.bbops, "migrate", "up", "--database-url", url, "--dir", str(prefix_dir), "--format", "json")
        check(r.returncode == 0 and json.loads(r.stdout)["applied_tags"] == [], "bbops migrate up has nothing to do")

        rest = tags[len(keep) :]
        if rest:
            print("\n== 3. the rest (outside a transaction): drizzle-kit cannot, bbops can")
            scratch = make_db(admin, "drizzle_kit_full")
            r = drizzle_kit(work, scratch, folder)
            print(f"   drizzle-kit on the full folder, fresh database: exit {r.returncode}, {len(rows(scratch))} rows")
            r = bbops(args.bbops, "migrate", "up", "--database-url", url, "--dir", str(folder), "--format", "json")
            applied = json.loads(r.stdout)["applied_tags"] if r.returncode == 0 else None
            check(applied == rest, f"bbops applies only {rest} on top of drizzle-kit's history")
            before = rows(url)
            r = drizzle_kit(work, url, folder)
            check(r.returncode == 0 and rows(url) == before, "drizzle-kit then applies nothing")
    finally:
        server.cleanup()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'ALL CHECKS PASSED' if not failures else f'{len(failures)} CHECK(S) FAILED: ' + '; '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    sys.exit(main())
