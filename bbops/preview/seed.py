"""Running seed SQL files once per database lineage.

Each applied file is recorded (name and sha256) in ``bbops.seeds`` inside the
same transaction as its statements. A branch copied from a seeded parent
inherits that record, so a preview of a seeded parent is not seeded twice.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg

from bbops.core import bookkeeping
from bbops.errors import MigrationError


def run_seeds(conn: psycopg.Connection, files: tuple[Path, ...]) -> list[str]:
    """Run each file not yet recorded; return the names that ran."""
    bookkeeping.ensure(conn)
    ran = []
    for path in files:
        name = path.name
        body = path.read_bytes()
        with conn.transaction():
            if conn.execute("select 1 from bbops.seeds where name = %s", (name,)).fetchone():
                continue
            try:
                conn.execute(body.decode("utf-8"))  # no parameters: simple query protocol, many statements
            except psycopg.Error as exc:
                raise MigrationError(f"seed {name} failed: {exc.diag.message_primary or exc}") from None
            conn.execute(
                "insert into bbops.seeds (name, sha256) values (%s, %s)", (name, hashlib.sha256(body).hexdigest())
            )
        ran.append(name)
    return ran
