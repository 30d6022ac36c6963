"""``verify_databases``: did every row arrive, unchanged, and is the target whole?

Checks, each reported as a ``Difference`` naming the table and what differs:
row counts per table; with ``checksums``, a content checksum per table; rows of
the target whose foreign key points at nothing (orphans), for every key;
indexes and constraints missing, different, INVALID or NOT VALID on the
target; sequences behind the maximum of the column they feed.

Data checks (rows, checksums, orphans, sequences, lost tables and columns)
are kept apart from schema checks (indexes, constraints, extra tables). With
``data_only`` (the target's schema came from its own migrations, the copy only
moved rows) a name that differs and an object the copy did not touch are
information (``notes``), not differences; indexes and constraints are matched by
definition either way, and one missing by definition is a difference.

The checksum is computed inside each server (no rows cross the network) and
does not depend on row order. Per row, a 64-bit hash of the row
(``hash_record_extended`` over the columns in name order, so column order
does not matter); per table, the row count, the exact sum of the hashes
(numeric: no overflow, no wrap-around) and their xor. Columns whose hash is not
the same in every database (enums hash their OID; json and geometric types
have no hash) are hashed as text, with both sessions set to ``TimeZone=UTC``,
``DateStyle=ISO``, ``extra_float_digits=3``, ``bytea_output=hex`` so equal
values print equally. Why this is safe: one changed row goes unnoticed only if
its new hash equals its old one (2**-64, about 5e-20); any set of random
changes must make the exact sum come back to the same integer *and* the xor
come back too, which is no likelier. A 32-bit sum of hashes, by contrast, lets
about one random change in four billion through, and wraps around so that
many changes can cancel: across many tables and runs, plausible. (None of this
defends against someone crafting collisions on purpose.) Servers
before 14 lack ``hash_record_extended``: there the row text goes through
``md5`` and its two 64-bit halves are summed, with the same argument at
2**-128. Both sides are read from exported snapshots, so each is one
consistent instant even while tables are checked in parallel.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from bbops.copy import verify_catalog as vc
from bbops.copy.catalog import (
    Table,
    list_tables,
    matches,
    prepare_session,
    select_tables,
)
from bbops.core import pg, pooler
from bbops.core.pg import quote_ident
from bbops.core.report import TextOut


@dataclass(frozen=True)
class Difference:
    table: str
    kind: str  # rows | checksum | missing-table | extra-table | column | orphans | index | constraint | sequence
    detail: str

    @property
    def category(self) -> str:
        """``data`` (did every row arrive, consistent) or ``schema`` (is the target's structure the source's)."""
        return "schema" if self.kind in SCHEMA_KINDS else "data"

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "kind": self.kind, "category": self.category, "detail": self.detail}


SCHEMA_KINDS = frozenset({"extra-table", "index", "constraint"})


@dataclass
class TableCheck:
    table: str
    source_rows: int | None = None
    target_rows: int | None = None
    source_checksum: str | None = None
    target_checksum: str | None = None

    @property
    def status(self) -> str:
        if self.source_rows is None:
            return "extra on target"
        if self.target_rows is None:
            return "missing on target"
        if self.source_rows != self.target_rows:
            return "row count differs"
        if self.source_checksum != self.target_checksum:
            return "content differs"
        return "ok"

    @property
    def checksum_state(self) -> str:
        """``match``, ``DIFFERS``, or ``-`` when a side has no checksum."""
        if self.source_checksum and self.source_checksum == self.target_checksum:
            return "match"
        return "-" if self.source_checksum is None or self.target_checksum is None else "DIFFERS"


@dataclass
class VerifyReport:
    tables: list[TableCheck] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checksums: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.differences

    def of(self, category: str) -> list[Difference]:
        return [d for d in self.differences if d.category == category]

    @property
    def rows(self) -> dict[str, int | None]:
        return {t.table: t.target_rows for t in self.tables}

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "data_ok": not self.of("data"),
            "schema_ok": not self.of("schema"),
            "checksums": self.checksums,
            "seconds": self.seconds,
            "tables": [
                {
                    "table": t.table,
                    "source_rows": t.source_rows,
                    "target_rows": t.target_rows,
                    "source_checksum": t.source_checksum,
                    "target_checksum": t.target_checksum,
                    "status": t.status,
                }
                for t in self.tables
            ],
            "differences": [d.as_dict() for d in self.differences],
            "notes": self.notes,
        }

    def write_text(self, out: TextOut) -> None:
        """Each table's rows (and checksum), the notes, every difference; or that everything matches."""
        columns = ["table", "source rows", "target rows"] + (["checksum"] if self.checksums else []) + ["status"]
        rows = []
        for t in self.tables:
            row = [t.table, _n(t.source_rows), _n(t.target_rows)]
            if self.checksums:
                row.append(t.checksum_state)
            rows.append([*row, t.status])
        out.table(columns, rows)
        for note in self.notes:
            out.line(f"note: {note}")
        for category in ("data", "schema"):
            for diff in self.of(category):
                out.line(f"DIFFERENCE ({category}) {diff.table}: {diff.kind}: {diff.detail}")
        if self.ok:
            out.line(f"verified {len(self.tables)} tables: everything matches ({self.seconds:.1f}s)")


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def checksum_sql(table: Table, columns: Sequence[str], *, hashed: bool = True) -> str:
    """count(*) and two order-independent 64-bit-hash sums over ``columns`` (canonical order).

    ``hashed`` (both servers >= 14): one 64-bit ``hash_record_extended`` per row
    (casting to text only the columns whose hash is not portable), summed exactly
    and xor-ed. Otherwise ``md5`` of the row text, split into two summed 64-bit halves.
    """
    by_name = {c.name: c for c in table.columns}
    parts = []
    for name in columns:
        col = by_name[name]
        ref = f"t.{quote_ident(name)}"
        parts.append(ref if (hashed and col.hash_safe) else f"{ref}::text")
    row = "ROW(" + ", ".join(parts) + ")" if parts else "ROW(0)"
    if hashed:
        # OFFSET 0 keeps the subquery unflattened, so each row is hashed once, not per aggregate.
        return (
            "SELECT count(*), coalesce(sum(h), 0), coalesce(bit_xor(h), 0)"
            f" FROM (SELECT hash_record_extended({row}, 0) AS h FROM ONLY {table.qualified} t OFFSET 0) s"
        )
    return (
        "SELECT count(*), coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint), 0),"
        " coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint), 0)"
        f" FROM (SELECT md5({row}::text) AS h FROM ONLY {table.qualified} t) s"
    )


Task = tuple[str, str]  # (key, sql returning one row)


def _run_side(
    url: str, snapshot: str, tasks: list[Task], jobs: int, out: dict[str, tuple[Any, ...]], errors: list[BaseException]
) -> None:
    """Run ``tasks`` on ``jobs`` connections that share ``snapshot``."""
    todo: queue.Queue[Task] = queue.Queue()
    for task in tasks:
        todo.put(task)

    def work() -> None:
        try:
            with pg.connection(url) as conn:
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                conn.read_only = True
                conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                prepare_session(conn)
                while not errors:
                    try:
                        key, sql = todo.get_nowait()
                    except queue.Empty:
                        return
                    out[key] = pg.one(conn.execute(sql), f"verify {key}")
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(max(1, min(jobs, len(tasks))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _open(url: str) -> tuple[psycopg.Connection, str]:
    conn = pg.connect(url)
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    prepare_session(conn)
    return conn, pg.scalar(conn, "SELECT pg_export_snapshot()", kind=str)


def verify_databases(
    source_url: str,
    target_url: str,
    *,
    checksums: bool = False,
    tables: Sequence[str] = (),
    jobs: int = 2,
    data_only: bool = False,
) -> VerifyReport:
    pooler.refuse(source_url, "verify --source")  # exported snapshots do not survive the pooler
    pooler.refuse(target_url, "verify --target")
    started = time.monotonic()
    report = VerifyReport(checksums=checksums)
    source, source_snap = _open(source_url)
    target, target_snap = _open(target_url)
    try:
        src_tables = {t.qualified: t for t in select_tables(list_tables(source), tables)}
        tgt_tables = {t.qualified: t for t in list_tables(target) if not tables or any(matches(t, p) for p in tables)}
        common = [n for n in src_tables if n in tgt_tables]
        for name in src_tables:
            if name not in tgt_tables:
                report.differences.append(Difference(name, "missing-table", "table is missing on the target"))
        for name in tgt_tables:
            if name not in src_tables:
                if data_only:  # made by the target's own migrations; the copy did not touch it
                    report.notes.append(f"{name}: exists only on the target (not copied, not compared)")
                else:
                    report.differences.append(Difference(name, "extra-table", "table exists only on the target"))

        # hash_record_extended arrived in Postgres 14.
        hashed = min(source.info.server_version, target.info.server_version) >= 140000
        src_tasks: list[Task] = []
        tgt_tasks: list[Task] = []
        for name in sorted(src_tables, key=lambda n: -src_tables[n].bytes):
            s = src_tables[name]
            cols = {c.name for c in s.columns}
            t = tgt_tables.get(name)
            if t is not None:
                t_cols = {c.name for c in t.columns}
                lost = sorted(cols - t_cols)
                if lost:
                    report.differences.append(
                        Difference(name, "column", f"column(s) missing on the target: {', '.join(lost)}")
                    )
                if t_cols - cols:
                    report.notes.append(
                        f"{name}: target-only column(s) not compared: {', '.join(sorted(t_cols - cols))}"
                    )
                cols &= t_cols
                # A column must be compared the same way on both sides.
                portable = {c.name for c in s.columns if c.hash_safe} & {c.name for c in t.columns if c.hash_safe}
                s = _with_hash_safety(s, portable)
                t = _with_hash_safety(t, portable)
                tgt_tasks.append(
                    (name, checksum_sql(t, sorted(cols), hashed=hashed) if checksums else _count_sql(name))
                )
            src_tasks.append((name, checksum_sql(s, sorted(cols), hashed=hashed) if checksums else _count_sql(name)))
        for name in tgt_tables:
            if name not in src_tables:
                tgt_tasks.append((name, _count_sql(name)))
        # Orphans and sequences are target-only questions; they share the target's workers.
        # The target's keys and the source's (a key lost on the way must not hide its orphans).
        orphan_checks = list(
            {
                label: (table, label, q)
                for table, label, q in vc.orphan_queries(target, set(tgt_tables))
                + vc.orphan_queries(source, set(tgt_tables) & set(src_tables))
            }.values()
        )
        sequence_checks = vc.sequence_queries(target, set(tgt_tables))
        tgt_tasks += [(f"orphans {i}", q) for i, (_, _, q) in enumerate(orphan_checks)]
        tgt_tasks += [(f"sequence {i}", q) for i, (_, _, q) in enumerate(sequence_checks)]

        src_out: dict[str, tuple[Any, ...]] = {}
        tgt_out: dict[str, tuple[Any, ...]] = {}
        errors: list[BaseException] = []
        sides = [
            threading.Thread(target=_run_side, args=(source_url, source_snap, src_tasks, jobs, src_out, errors)),
            threading.Thread(target=_run_side, args=(target_url, target_snap, tgt_tasks, jobs, tgt_out, errors)),
        ]
        for side in sides:
            side.start()
        # Catalog comparisons are quick; they run while the servers count.
        for table, kind, detail, failure in vc.compare_indexes(
            source, target, common, names_matter=not data_only
        ) + vc.compare_constraints(source, target, common, names_matter=not data_only):
            if failure:
                report.differences.append(Difference(table, kind, detail))
            else:
                report.notes.append(f"{table}: {detail}")
        for side in sides:
            side.join()
        if errors:
            raise errors[0]

        for name in sorted(set(src_tables) | set(tgt_tables)):
            check = TableCheck(name)
            if name in src_out:
                check.source_rows, check.source_checksum = _unpack(src_out[name], checksums)
            if name in tgt_out:
                check.target_rows, check.target_checksum = _unpack(tgt_out[name], checksums and name in src_tables)
            report.tables.append(check)
            if name in src_out and name in tgt_out:
                if check.source_rows != check.target_rows:
                    report.differences.append(
                        Difference(
                            name, "rows", f"{check.source_rows} rows on the source, {check.target_rows} on the target"
                        )
                    )
                elif checksums and check.source_checksum != check.target_checksum:
                    report.differences.append(
                        Difference(
                            name,
                            "checksum",
                            "same row count but different content (a changed value, or a row "
                            "missing and another extra)",
                        )
                    )
        for i, (table, label, _) in enumerate(orphan_checks):
            count = tgt_out[f"orphans {i}"][0]
            if count:
                report.differences.append(Difference(table, "orphans", f"{count} row(s) violate {label}"))
        for i, (table, label, _) in enumerate(sequence_checks):
            last, called, top = tgt_out[f"sequence {i}"]
            if top is not None and (top > last or (top == last and not called)):
                report.differences.append(
                    Difference(
                        table,
                        "sequence",
                        f"{label} would hand out {last + 1 if called else last}, but the column already holds {top}",
                    )
                )
    finally:
        source.close()
        target.close()
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _unpack(row: tuple[Any, ...], checksums: bool) -> tuple[int, str | None]:
    if checksums:
        return int(row[0]), f"{row[0]}:{row[1]}:{row[2]}"
    return int(row[0]), None


def _with_hash_safety(table: Table, portable: set[str]) -> Table:
    from dataclasses import replace

    return replace(table, columns=[replace(c, hash_safe=c.name in portable) for c in table.columns])


def _count_sql(table: str) -> str:
    return f"SELECT count(*) FROM ONLY {table}"
