"""Security lints from Supabase's splinter that apply to any Postgres: row-level security left half set up,
and ``SECURITY DEFINER`` functions that resolve names through the caller's ``search_path``."""

from __future__ import annotations

from bbops.doctor.context import Context
from bbops.doctor.finding import Finding, Severity
from bbops.doctor.sqltext import dotted, ident, qualified, user_relation

_RLS = f"""
SELECT n.nspname AS schema, c.relname AS table, c.relrowsecurity AS enabled,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND {user_relation("c")}
  AND (c.relrowsecurity OR EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))
ORDER BY n.nspname, c.relname
"""


def row_level_security(ctx: Context) -> list[Finding]:
    """Policies on a table without RLS do nothing (``rls.disabled_with_policies``); RLS without a policy
    hides every row from everyone but the owner (``rls.enabled_without_policy``)."""
    out = []
    for r in ctx.rows(_RLS):
        table = qualified(r["schema"], r["table"])
        if r["policies"] and not r["enabled"]:
            out.append(
                Finding(
                    "rls.disabled_with_policies",
                    Severity.ERROR,
                    f"table {r['schema']}.{r['table']} has {r['policies']} row-level security policies, "
                    "but row-level security is off: the policies are not applied",
                    (dotted(r["schema"], r["table"]),),
                    {"policies": r["policies"]},
                    f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;",
                )
            )
        elif r["enabled"] and not r["policies"]:
            out.append(
                Finding(
                    "rls.enabled_without_policy",
                    Severity.INFO,
                    f"table {r['schema']}.{r['table']} has row-level security on and no policy: "
                    "only its owner and superusers see its rows",
                    (dotted(r["schema"], r["table"]),),
                    {"policies": 0},
                )
            )
    return out


_DEFINERS = """
SELECT n.nspname AS schema, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS args
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) c WHERE c LIKE 'search_path=%')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                  AND d.deptype = 'e')
ORDER BY n.nspname, p.proname
"""


def definer_search_path(ctx: Context) -> list[Finding]:
    """A SECURITY DEFINER function without its own search_path runs the caller's objects with its owner's rights."""
    return [
        Finding(
            "function.definer_search_path",
            Severity.WARNING,
            f"SECURITY DEFINER function {r['schema']}.{r['name']}({r['args']}) has no fixed search_path: "
            "a caller can shadow the names it uses and run code with its owner's privileges",
            (dotted(r["schema"], r["name"]),),
            {"arguments": r["args"]},
            # The PostgreSQL manual's advice for SECURITY DEFINER: trusted schemas first, pg_temp last.
            f"ALTER FUNCTION {qualified(r['schema'], r['name'])}({r['args']}) "
            f"SET search_path = {ident(r['schema'])}, pg_temp;",
        )
        for r in ctx.rows(_DEFINERS)
    ]
