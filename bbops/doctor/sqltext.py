"""Small helpers shared by the checks: quoting names in fix SQL, and which schemas are the user's."""

from __future__ import annotations

from bbops.core.pg import quote_ident

# The one quoting helper under the name the checks use.
ident = quote_ident

# Relations in these schemas belong to Postgres (or to extensions' own catalogs), not to the app.
USER_RELATION = """
    n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                    AND d.objid = {rel}.oid AND d.deptype = 'e')
"""


def user_relation(alias: str) -> str:
    """A WHERE fragment: ``alias`` (a pg_class row joined to pg_namespace ``n``) is the app's, not an extension's."""
    return USER_RELATION.format(rel=alias)


def qualified(schema: str, name: str) -> str:
    return quote_ident(schema, name)


def dotted(*parts: str) -> str:
    """The readable object name used in findings: ``public.orders.user_id``."""
    return ".".join(parts)


def index_name(table: str, columns: list[str], suffix: str = "idx") -> str:
    """A name in the style drizzle-kit and most migrations use, cut to Postgres' 63 bytes."""
    return "_".join([table, *columns, suffix])[:63]
