"""The schema half of a full copy: pre-data from ``pg_dump``, post-data from the catalogs.

Pre-data (schemas, extensions, types, functions, tables with their defaults,
identity and generated columns and CHECKs, sequences, views) comes from
``pg_dump --schema-only --section=pre-data``, run with the copy's exported
snapshot so schema and rows describe the same instant. Rebuilding all of that
from the catalogs would mean re-implementing pg_dump's dependency sorting for
every object kind; pg_dump already does it right. Its major version must be at
least the source server's, so we look in ``BBOPS_PG_DUMP``, ``PATH``, the
distribution folders (``/usr/lib/postgresql/*/bin``, ``/usr/pgsql-*/bin``) and
the ``pgserver`` package's bundled binaries, and pick the oldest one new enough
(a newer pg_dump may emit settings an older target rejects).

Post-data comes from the catalogs (``pg_get_indexdef``, ``pg_get_constraintdef``,
``pg_get_triggerdef``...) so that every index is its own job: indexes build in
parallel, a primary key or unique constraint is built as a plain ``CREATE
UNIQUE INDEX`` (a SHARE lock, concurrent with the table's other index builds)
and attached with ``ADD CONSTRAINT ... USING INDEX`` (instant), and foreign keys
are added ``NOT VALID`` and then validated, which takes locks that let several
validations of keys to the same parent run at once.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bbops.core import pg, redact
from bbops.core.pg import quote_ident
from bbops.errors import MigrationError, UsageError

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")
# pg_dump >= 17.6/16.10/15.14 wraps scripts in psql-only meta-commands; we run the SQL ourselves.
_META = re.compile(r"^\\(restrict|unrestrict)\b.*$", re.MULTILINE)


def _candidates() -> list[str]:
    found: list[str] = []
    explicit = os.environ.get("BBOPS_PG_DUMP")
    if explicit:
        found.append(explicit)
    on_path = shutil.which("pg_dump")
    if on_path:
        found.append(on_path)
    found += sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))
    found += sorted(glob.glob("/usr/pgsql-*/bin/pg_dump"))
    # The bundled binaries of the embedded server; found without importing it (its import is noisy).
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.submodule_search_locations:
        bundled = os.path.join(next(iter(spec.submodule_search_locations)), "pginstall", "bin", "pg_dump")
        if os.path.exists(bundled):
            found.append(bundled)
    return list(dict.fromkeys(found))


def pg_dump_version(path: str) -> int | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(out)
    return int(match.group(1)) if match else None


def find_pg_dump(server_major: int) -> str:
    """The oldest pg_dump whose major version is >= ``server_major``."""
    versions = [(v, p) for p in _candidates() if (v := pg_dump_version(p)) is not None]
    usable = sorted((v, p) for v, p in versions if v >= server_major)
    if not usable:
        seen = ", ".join(f"{p} ({v})" for v, p in versions) or "none"
        raise UsageError(
            f"a full copy needs pg_dump {server_major} or newer for the schema; found: {seen}",
            hint=f"install postgresql-client-{server_major}, set BBOPS_PG_DUMP, "
            "or create the schema first and pass --data-only",
        )
    return usable[0][1]


def dump_pre_data(source_url: str, snapshot: str | None, server_major: int) -> str:
    """The source's pre-data schema as one SQL script (no owners, no grants)."""
    pg_dump = find_pg_dump(server_major)
    params = conninfo_to_dict(source_url)
    env = dict(os.environ)
    password = params.pop("password", None)
    if password:
        # Never on the command line, where `ps` shows it.
        env["PGPASSWORD"] = str(password)
    cmd = [
        pg_dump,
        "--schema-only",
        "--section=pre-data",
        "--no-owner",
        "--no-privileges",
        "--no-publications",
        "--no-subscriptions",
        "--exclude-schema=bbops",
        f"--dbname={make_conninfo('', **params)}",
    ]
    if snapshot:
        cmd.append(f"--snapshot={snapshot}")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise MigrationError(f"pg_dump of the source schema failed: {redact.scrub(proc.stderr.strip())}")
    return _META.sub("", proc.stdout)


def load_pre_data(conn: psycopg.Connection, script: str) -> None:
    """Run the pre-data script on ``conn`` inside the caller's transaction."""
    try:
        conn.execute(script)  # no parameters: psycopg sends it as one simple query
    except psycopg.Error as exc:
        raise MigrationError(f"creating the schema on the target failed: {redact.scrub(str(exc)).strip()}") from None


@dataclass(frozen=True)
class PostItem:
    """One post-data object. ``kind``: index | attach | fk | other. ``key`` is unique per database."""

    kind: str
    key: str
    table: str
    sql: str
    drop_sql: str = ""
    parent: str | None = None  # the referenced table of a foreign key
    validate: bool = False  # a foreign key to validate after adding it NOT VALID
    name: str = ""  # the constraint's name (unquoted), for foreign keys


_INDEXES = """
SELECT ci.relname, i.indrelid::regclass::text, pg_get_indexdef(i.indexrelid),
       con.conname, con.contype, con.condeferrable, con.condeferred, pg_get_constraintdef(con.oid),
       n.nspname, i.indrelid::regclass::text
FROM pg_index i
JOIN pg_class ci ON ci.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = ci.relnamespace
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
     AND con.contype IN ('p', 'u', 'x')
WHERE i.indrelid = ANY(%s)
  -- an index of a partition attached to its parent's index is created by the parent's
  AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
ORDER BY 2, 1
"""

_CONSTRAINTS = """
SELECT con.conname, con.conrelid::regclass::text, con.contype, pg_get_constraintdef(con.oid),
       con.convalidated, con.confrelid::regclass::text
FROM pg_constraint con
WHERE con.conrelid = ANY(%s) AND con.conparentid = 0
  AND (con.contype = 'f' OR (con.contype = 'c' AND NOT con.convalidated))
ORDER BY 2, 1
"""


def post_data_items(
    conn: psycopg.Connection, table_oids: Sequence[int], *, fk_oids: Sequence[int] | None = None
) -> list[PostItem]:
    """Indexes, key constraints, foreign keys and other post-data objects of ``table_oids``.

    ``fk_oids`` (default: ``table_oids``) are the tables whose foreign keys are
    included; a foreign key is included when its referencing table is listed.
    """
    items: list[PostItem] = []
    oids = list(table_oids)
    for idx, table, indexdef, conname, contype, deferrable, deferred, condef, schema, _ in conn.execute(
        _INDEXES, [oids]
    ).fetchall():
        index_key = f"{quote_ident(schema)}.{quote_ident(idx)}"
        drop_index = f"DROP INDEX IF EXISTS {index_key}"
        if contype == "x":
            # Exclusion constraints cannot adopt an existing index: built by ADD CONSTRAINT.
            items.append(
                PostItem(
                    "index",
                    f"constraint {table} {conname}",
                    table,
                    f"ALTER TABLE {table} ADD CONSTRAINT {quote_ident(conname)} {condef}",
                    f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {quote_ident(conname)}",
                )
            )
            continue
        items.append(PostItem("index", index_key, table, indexdef, drop_index))
        if contype in ("p", "u"):
            kind = "PRIMARY KEY" if contype == "p" else "UNIQUE"
            timing = ""
            if deferrable:
                timing = " DEFERRABLE INITIALLY DEFERRED" if deferred else " DEFERRABLE"
            items.append(
                PostItem(
                    "attach",
                    f"constraint {table} {conname}",
                    table,
                    f"ALTER TABLE {table} ADD CONSTRAINT {quote_ident(conname)} {kind} "
                    f"USING INDEX {quote_ident(idx)}{timing}",
                    f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {quote_ident(conname)}",
                )
            )
    fk_tables = list(fk_oids) if fk_oids is not None else oids
    for conname, table, contype, condef, validated, parent in conn.execute(_CONSTRAINTS, [fk_tables]).fetchall():
        add = f"ALTER TABLE {table} ADD CONSTRAINT {quote_ident(conname)} {condef}"
        if validated:
            add += " NOT VALID"
        items.append(
            PostItem(
                "fk" if contype == "f" else "other",
                f"constraint {table} {conname}",
                table,
                add,
                f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {quote_ident(conname)}",
                parent=parent if contype == "f" else None,
                validate=bool(validated),
                name=conname,
            )
        )
    return items


_OTHER = """
SELECT 'trigger ' || t.tgrelid::regclass || ' ' || t.tgname, t.tgrelid::regclass::text,
       pg_get_triggerdef(t.oid) || ';' ||
       CASE t.tgenabled
         WHEN 'D' THEN format(' ALTER TABLE %%s DISABLE TRIGGER %%I;', t.tgrelid::regclass, t.tgname)
         WHEN 'R' THEN format(' ALTER TABLE %%s ENABLE REPLICA TRIGGER %%I;', t.tgrelid::regclass, t.tgname)
         WHEN 'A' THEN format(' ALTER TABLE %%s ENABLE ALWAYS TRIGGER %%I;', t.tgrelid::regclass, t.tgname)
         ELSE '' END
FROM pg_trigger t WHERE t.tgrelid = ANY(%(oids)s) AND NOT t.tgisinternal AND t.tgparentid = 0
UNION ALL
SELECT 'rule ' || r.ev_class::regclass || ' ' || r.rulename, r.ev_class::regclass::text, pg_get_ruledef(r.oid)
FROM pg_rewrite r WHERE r.ev_class = ANY(%(oids)s) AND r.rulename <> '_RETURN'
UNION ALL
SELECT 'rls ' || c.oid::regclass, c.oid::regclass::text,
       format('ALTER TABLE %%s ENABLE ROW LEVEL SECURITY;', c.oid::regclass) ||
       CASE WHEN c.relforcerowsecurity
            THEN format(' ALTER TABLE %%s FORCE ROW LEVEL SECURITY;', c.oid::regclass) ELSE '' END
FROM pg_class c WHERE c.oid = ANY(%(oids)s) AND c.relrowsecurity
UNION ALL
SELECT 'policy ' || p.polrelid::regclass || ' ' || p.polname, p.polrelid::regclass::text,
       format('CREATE POLICY %%I ON %%s AS %%s FOR %%s TO %%s', p.polname, p.polrelid::regclass,
              CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
              CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                            WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
              CASE WHEN p.polroles = '{0}' THEN 'PUBLIC'
                   ELSE (SELECT string_agg(quote_ident(rolname), ', ') FROM pg_roles WHERE oid = ANY(p.polroles)) END)
       || coalesce(' USING (' || pg_get_expr(p.polqual, p.polrelid) || ')', '')
       || coalesce(' WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')', '')
FROM pg_policy p WHERE p.polrelid = ANY(%(oids)s)
UNION ALL
SELECT 'statistics ' || s.stxnamespace::regnamespace || '.' || quote_ident(s.stxname), s.stxrelid::regclass::text,
       pg_get_statisticsobjdef(s.oid)
FROM pg_statistic_ext s WHERE s.stxrelid = ANY(%(oids)s)
"""


def other_post_data(conn: psycopg.Connection, table_oids: Sequence[int]) -> list[PostItem]:
    """Triggers, rules, row-level security and policies, extended statistics."""
    rows = conn.execute(_OTHER, {"oids": list(table_oids)}).fetchall()
    return [PostItem("other", key, table, sql) for key, table, sql in rows]


def materialized_views(conn: psycopg.Connection) -> list[str]:
    """Populated materialized views of the source (pre-data creates them empty)."""
    rows = conn.execute(
        """SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind = 'm' AND c.relispopulated AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'bbops')
           ORDER BY 1"""
    ).fetchall()
    return [r[0] for r in rows]


_SEQUENCES = """
SELECT c.oid::regclass::text, s.last_value
FROM pg_sequences s
JOIN pg_namespace n ON n.nspname = s.schemaname
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.sequencename
WHERE s.schemaname NOT IN ('pg_catalog', 'information_schema', 'bbops')
  AND (%(all)s OR EXISTS (SELECT 1 FROM pg_depend d
                          WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                            AND d.refclassid = 'pg_class'::regclass AND d.refobjid = ANY(%(oids)s)
                            AND d.deptype IN ('a', 'i')))
ORDER BY 1
"""


def sequence_values(conn: psycopg.Connection, table_oids: Sequence[int] | None = None) -> dict[str, int | None]:
    """Last values of the sequences (all, or those owned by ``table_oids``); None if never used."""
    rows = conn.execute(_SEQUENCES, {"all": table_oids is None, "oids": list(table_oids or [])}).fetchall()
    return {name: (int(v) if v is not None else None) for name, v in rows}


def set_sequences(conn: psycopg.Connection, values: dict[str, int | None]) -> int:
    """Move the target's sequences to the source's values; returns how many were set."""
    done = 0
    for name, value in values.items():
        if value is None:
            continue  # never used on the source: the target's fresh sequence already matches
        if not pg.scalar(conn, "SELECT to_regclass(%s) IS NOT NULL", [name], kind=bool):
            continue
        conn.execute("SELECT setval(%s::regclass, %s, true)", [name, value])
        done += 1
    return done
