"""What a preview's schema has that its parent's has not: a catalog snapshot and a pure diff.

The PR comment shows reviewers the effect of a PR's migrations as the database
sees it (tables, columns with their types, indexes, constraints), not as the
SQL files say it. ``snapshot`` reads the catalogs of one database;
``diff_schemas`` compares two snapshots without touching a server, so it is
tested in memory as well as against real databases.

Bookkeeping schemas (Drizzle's ``drizzle``, bbops' own ``bbops``) are left
out: their tables differ between branches for reasons reviewers don't care about.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from bbops.core import pg

IGNORED_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast", "drizzle", "bbops")


@dataclass(frozen=True)
class SchemaSnapshot:
    """Each object name mapped to the definition that identifies a change to it."""

    tables: frozenset[str] = frozenset()
    columns: dict[str, str] = field(default_factory=dict)  # "s.t.col" -> "type not null default ..."
    indexes: dict[str, str] = field(default_factory=dict)  # "s.idx" -> CREATE INDEX ...
    constraints: dict[str, str] = field(default_factory=dict)  # "s.t.name" -> definition


@dataclass(frozen=True)
class SchemaChange:
    change: str  # added | removed | changed
    kind: str  # table | column | index | constraint
    name: str
    before: str | None = None
    after: str | None = None

    def render(self) -> str:
        sign = {"added": "+", "removed": "-", "changed": "~"}[self.change]
        if self.change == "changed":
            return f"{sign} {self.kind} {self.name}: {self.before} -> {self.after}"
        detail = self.after if self.change == "added" else self.before
        return f"{sign} {self.kind} {self.name}" + (f": {detail}" if detail and self.kind != "table" else "")

    def as_dict(self) -> dict[str, str | None]:
        return {"change": self.change, "kind": self.kind, "name": self.name, "before": self.before, "after": self.after}


_TABLES = """
SELECT n.nspname || '.' || c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm') AND NOT (n.nspname = ANY(%(ignored)s)) AND n.nspname NOT LIKE 'pg_temp%%'
"""
_COLUMNS = """
SELECT n.nspname || '.' || c.relname || '.' || a.attname,
       format_type(a.atttypid, a.atttypmod)
         || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
         || COALESCE(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped
  AND NOT (n.nspname = ANY(%(ignored)s)) AND n.nspname NOT LIKE 'pg_temp%%'
"""
_INDEXES = """
SELECT schemaname || '.' || indexname, indexdef FROM pg_indexes
WHERE NOT (schemaname = ANY(%(ignored)s))
"""
_CONSTRAINTS = """
SELECT n.nspname || '.' || c.relname || '.' || k.conname, pg_get_constraintdef(k.oid)
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT (n.nspname = ANY(%(ignored)s))
"""


def snapshot(url: str) -> SchemaSnapshot:
    """Read the user-visible schema of the database at ``url``."""
    params = {"ignored": list(IGNORED_SCHEMAS)}
    with pg.connection(url, autocommit=True) as conn:
        tables = frozenset(r[0] for r in conn.execute(_TABLES, params))
        columns = dict(conn.execute(_COLUMNS, params).fetchall())
        indexes = dict(conn.execute(_INDEXES, params).fetchall())
        constraints = dict(conn.execute(_CONSTRAINTS, params).fetchall())
    return SchemaSnapshot(tables, columns, indexes, constraints)


def _diff_map(kind: str, before: dict[str, str], after: dict[str, str], skip: AbstractSet[str]) -> list[SchemaChange]:
    changes = []
    for name in sorted(before.keys() | after.keys()):
        if any(name.startswith(prefix + ".") for prefix in skip):
            continue  # covered by its table being added or removed
        old, new = before.get(name), after.get(name)
        if old is None:
            changes.append(SchemaChange("added", kind, name, after=new))
        elif new is None:
            changes.append(SchemaChange("removed", kind, name, before=old))
        elif old != new:
            changes.append(SchemaChange("changed", kind, name, before=old, after=new))
    return changes


def diff_schemas(parent: SchemaSnapshot, child: SchemaSnapshot) -> list[SchemaChange]:
    """Changes that turn ``parent`` into ``child``: tables first, then columns, indexes, constraints."""
    added = child.tables - parent.tables
    removed = parent.tables - child.tables
    changes = [SchemaChange("added", "table", t) for t in sorted(added)]
    changes += [SchemaChange("removed", "table", t) for t in sorted(removed)]
    whole = added | removed
    changes += _diff_map("column", parent.columns, child.columns, whole)
    # Index names are schema-qualified only, so they can't be tied to a table by prefix:
    # indexes of an added or removed table are still listed, which is what a reviewer wants to see.
    changes += _diff_map("index", parent.indexes, child.indexes, set())
    changes += _diff_map("constraint", parent.constraints, child.constraints, whole)
    return changes


def render_markdown(changes: list[SchemaChange], *, limit: int = 200) -> str:
    """A ```diff block (green for added, red for removed) or a plain 'no changes' line."""
    if not changes:
        return "No schema changes against the parent."
    lines = [c.render() for c in changes[:limit]]
    if len(changes) > limit:
        lines.append(f"... and {len(changes) - limit} more")
    # ``~`` lines have no diff colour; prefix them so they still stand out.
    body = "\n".join(("! " + line[2:]) if line.startswith("~ ") else line for line in lines)
    return f"```diff\n{body}\n```"
